// Just enough URL handling: the one URL splitter (split_url), which redis://
// URLs share; http and https URLs for the client; and the Location of a
// redirect resolved against the URL that answered it.
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

/// The parts of `scheme://[userinfo@]host[:port][/path][?query][#fragment]`,
/// as views into the string: the one URL splitter, which http(s) URLs
/// (parse_url) and redis:// URLs (parse_redis_url) share.
struct url_parts {
    std::string_view scheme;   ///< as written: compare with iequals
    std::string_view userinfo; ///< empty if there is none (see has_userinfo)
    bool has_userinfo = false;
    std::string_view host; ///< without brackets for IPv6 literals
    std::string_view port; ///< digits, or empty for the scheme's default
    std::string_view rest; ///< from the first '/' or '?' on, without the fragment
};

/// Splits an absolute URL. False (invalid) for no scheme, no host, white
/// space or a second '@', an unclosed IPv6 bracket, a port that is not 1 to
/// 5 digits.
inline bool split_url(std::string_view s, url_parts& out) noexcept {
    out = {};
    const std::size_t colon = s.find("://");
    if (colon == std::string_view::npos || colon == 0) return false;
    out.scheme = s.substr(0, colon);
    s.remove_prefix(colon + 3);
    if (const std::size_t hash = s.find('#'); hash != std::string_view::npos) s = s.substr(0, hash);
    const std::size_t slash = s.find_first_of("/?");
    std::string_view authority = s.substr(0, slash);
    out.rest = slash == std::string_view::npos ? std::string_view() : s.substr(slash);
    if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
        out.has_userinfo = true;
        out.userinfo = authority.substr(0, at);
        authority.remove_prefix(at + 1);
    }
    if (authority.empty() || authority.find('@') != std::string_view::npos ||
        authority.find_first_of(" \t\r\n") != std::string_view::npos ||
        out.rest.find_first_of(" \t\r\n") != std::string_view::npos)
        return false;
    if (!split_host_port(authority, out.host, out.port)) return false;
    if (out.port.size() > 5) return false;
    for (char c : out.port)
        if (c < '0' || c > '9') return false;
    return true;
}

/// Parses an absolute http:// or https:// URL (the fragment is dropped).
/// User info is an error unless `allow_userinfo` (proxy URLs carry their
/// credentials so). Error: sse::error::invalid_url.
inline url parse_url(std::string_view s, std::error_code& ec, bool allow_userinfo = false) {
    ec.clear();
    url_parts parts;
    if (!split_url(s, parts) || (parts.has_userinfo && !allow_userinfo)) {
        ec = error::invalid_url;
        return {};
    }
    url u;
    if (iequals(parts.scheme, "https")) {
        u.tls = true;
    } else if (!iequals(parts.scheme, "http")) {
        ec = error::invalid_url;
        return {};
    }
    u.userinfo.assign(parts.userinfo);
    u.host.assign(parts.host);
    u.port = parts.port.empty() ? (u.tls ? "443" : "80") : std::string(parts.port);
    const std::string_view rest = parts.rest;
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
