// Just enough URL handling for the client (http and https URLs, and the
// Location of a redirect resolved against the URL that answered it) and the
// authority part (host, port, [IPv6]) that redis:// URLs share with them.
#ifndef SSE_DETAIL_URL_HPP
#define SSE_DETAIL_URL_HPP

#include <sse/error.hpp>
#include <sse/http.hpp>

#include <string>
#include <string_view>
#include <system_error>

namespace sse::detail {

struct url {
    bool tls = false;
    std::string host;   ///< without brackets for IPv6 literals
    std::string port;   ///< always set ("80"/"443" by default)
    std::string target; ///< path and query, at least "/"
    std::string userinfo; ///< "user:password" as written (percent-encoded), proxy URLs only

    /// The Host header value.
    std::string authority() const {
        std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
        if ((tls && port != "443") || (!tls && port != "80")) h += ":" + port;
        return h;
    }
    std::string to_string() const { return (tls ? "https://" : "http://") + authority() + target; }
};

// Whether `s` starts with `prefix`, ASCII case-insensitively.
inline bool iequals_prefix(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

/// Splits `host[:port]` or `[v6 address][:port]` (brackets dropped). False
/// for no host, an unclosed bracket, or a colon with no port after it; the
/// port's digits are the caller's to check.
inline bool split_host_port(std::string_view authority, std::string_view& host, std::string_view& port) noexcept {
    host = authority;
    port = {};
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return false;
        host = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return false;
            port = after.substr(1);
        }
    } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    return !host.empty() && !(authority.back() == ':' && port.empty()); // "host:" has no port
}

/// Parses an absolute http:// or https:// URL (the fragment is dropped).
/// User info is an error unless `allow_userinfo` (proxy URLs carry their
/// credentials so). Error: sse::error::invalid_url.
inline url parse_url(std::string_view s, std::error_code& ec, bool allow_userinfo = false) {
    ec.clear();
    url u;
    if (iequals_prefix(s, "https://")) {
        u.tls = true;
        s.remove_prefix(8);
    } else if (iequals_prefix(s, "http://")) {
        s.remove_prefix(7);
    } else {
        ec = error::invalid_url;
        return {};
    }
    if (const std::size_t hash = s.find('#'); hash != std::string_view::npos) s = s.substr(0, hash);
    const std::size_t slash = s.find_first_of("/?");
    std::string_view authority = s.substr(0, slash);
    std::string_view rest = slash == std::string_view::npos ? std::string_view() : s.substr(slash);
    if (const std::size_t at = authority.rfind('@'); allow_userinfo && at != std::string_view::npos) {
        u.userinfo.assign(authority.substr(0, at));
        authority.remove_prefix(at + 1);
    }
    if (authority.empty() || authority.find('@') != std::string_view::npos ||
        authority.find_first_of(" \t\r\n") != std::string_view::npos || rest.find_first_of(" \t\r\n") != std::string_view::npos) {
        ec = error::invalid_url;
        return {};
    }
    std::string_view host, port;
    if (!split_host_port(authority, host, port)) {
        ec = error::invalid_url;
        return {};
    }
    for (char c : port)
        if (c < '0' || c > '9' || port.size() > 5) {
            ec = error::invalid_url;
            return {};
        }
    u.host.assign(host);
    u.port = port.empty() ? (u.tls ? "443" : "80") : std::string(port);
    u.target = rest.empty() ? "/" : (rest.front() == '?' ? "/" + std::string(rest) : std::string(rest));
    return u;
}

/// Where a redirect's Location points, from `base` (absolute URLs,
/// scheme-relative "//host/...", absolute paths and relative paths).
inline url resolve_location(const url& base, std::string_view location, std::error_code& ec) {
    ec.clear();
    if (iequals_prefix(location, "http://") || iequals_prefix(location, "https://")) return parse_url(location, ec);
    if (location.substr(0, 2) == "//") return parse_url(std::string(base.tls ? "https:" : "http:") + std::string(location), ec);
    if (location.empty() || location.find_first_of(" \t\r\n") != std::string_view::npos) {
        ec = error::invalid_url;
        return {};
    }
    url u = base;
    if (location.front() == '/') {
        u.target.assign(location);
    } else {
        std::string dir = base.target.substr(0, base.target.find('?'));
        dir = dir.substr(0, dir.rfind('/') + 1);
        u.target = dir + std::string(location);
    }
    if (const std::size_t hash = u.target.find('#'); hash != std::string::npos) u.target.resize(hash);
    return u;
}

} // namespace sse::detail

#endif
