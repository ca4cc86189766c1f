// Which HTTP proxy a client request goes through, as Go's net/http chooses it
// (so go-sse's users get the same): an explicit proxy URL, or HTTP_PROXY /
// HTTPS_PROXY / NO_PROXY (and their lower-case forms) from the environment;
// and the pieces of the proxy protocol: the CONNECT request, Basic credentials.
#ifndef SSE_DETAIL_PROXY_HPP
#define SSE_DETAIL_PROXY_HPP

#include <sse/detail/url.hpp>
#include <sse/error.hpp>

#include <asio/ip/address.hpp>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace sse::detail {

/// The proxy settings of the environment, read once.
struct proxy_environment {
    std::string http_proxy;  ///< HTTP_PROXY or http_proxy (ignored in a CGI request: "httpoxy")
    std::string https_proxy; ///< HTTPS_PROXY or https_proxy
    std::string no_proxy;    ///< NO_PROXY or no_proxy

    static proxy_environment read() {
        auto get = [](const char* upper, const char* lower) {
            const char* v = std::getenv(upper);
            if (v == nullptr || *v == '\0') v = std::getenv(lower);
            return std::string(v ? v : "");
        };
        proxy_environment e;
        e.http_proxy = get("HTTP_PROXY", "http_proxy");
        e.https_proxy = get("HTTPS_PROXY", "https_proxy");
        e.no_proxy = get("NO_PROXY", "no_proxy");
        if (const char* cgi = std::getenv("REQUEST_METHOD"); cgi && *cgi) e.http_proxy.clear(); // (as Go does)
        return e;
    }
};

inline std::string to_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

/// Parses a proxy URL: http://[user:password@]host[:port][/], or host[:port]
/// alone (http assumed, as Go and curl do). Other schemes (https, socks5)
/// are not supported: sse::error::invalid_url.
inline url parse_proxy_url(std::string_view s, std::error_code& ec) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    std::string full;
    if (s.find("://") == std::string_view::npos) full = "http://" + std::string(s);
    else if (iequals_prefix(s, "http://")) full.assign(s);
    else {
        ec = error::invalid_url;
        return {};
    }
    url u = parse_url(full, ec, true);
    if (!ec && u.target != "/") ec = error::invalid_url; // a proxy has no path
    return ec ? url{} : u;
}

/// Whether NO_PROXY's list (comma or space separated) exempts `target`, with
/// Go's rules: "*" exempts all; an IP address or CIDR range matches the
/// host's address; "example.com" matches it and its subdomains,
/// ".example.com" and "*.example.com" only the subdomains; any entry may end
/// with ":port" to match that port only.
inline bool no_proxy_matches(std::string_view list, const url& target) {
    const std::string host = to_lower(target.host);
    std::error_code aec;
    const asio::ip::address host_ip = asio::ip::make_address(host, aec);
    const bool host_is_ip = !aec;
    while (!list.empty()) {
        const std::size_t cut = list.find_first_of(", ");
        std::string entry = to_lower(list.substr(0, cut));
        list.remove_prefix(cut == std::string_view::npos ? list.size() : cut + 1);
        if (entry.empty()) continue;
        if (entry == "*") return true;
        // A CIDR range or an IP address (v6 may be bracketed, with a port after).
        if (const std::size_t slash = entry.find('/'); slash != std::string::npos) {
            std::error_code nec;
            const asio::ip::address net = asio::ip::make_address(entry.substr(0, slash), nec);
            const int bits = std::atoi(entry.c_str() + slash + 1);
            if (nec || !host_is_ip || net.is_v4() != host_ip.is_v4()) continue;
            const auto a = net.is_v4() ? std::string(reinterpret_cast<const char*>(net.to_v4().to_bytes().data()), 4)
                                       : std::string(reinterpret_cast<const char*>(net.to_v6().to_bytes().data()), 16);
            const auto b = host_ip.is_v4()
                               ? std::string(reinterpret_cast<const char*>(host_ip.to_v4().to_bytes().data()), 4)
                               : std::string(reinterpret_cast<const char*>(host_ip.to_v6().to_bytes().data()), 16);
            if (bits < 0 || static_cast<std::size_t>(bits) > a.size() * 8) continue;
            bool same = true;
            for (int i = 0; i < bits && same; ++i) {
                const unsigned mask = 0x80u >> (i % 8);
                same = (static_cast<unsigned char>(a[static_cast<std::size_t>(i / 8)]) & mask) ==
                       (static_cast<unsigned char>(b[static_cast<std::size_t>(i / 8)]) & mask);
            }
            if (same) return true;
            continue;
        }
        std::string name = entry, port;
        if (name.front() == '[') { // [v6]:port
            const std::size_t close = name.find(']');
            if (close == std::string::npos) continue;
            if (close + 1 < name.size() && name[close + 1] == ':') port = name.substr(close + 2);
            name = name.substr(1, close - 1);
        } else if (std::count(name.begin(), name.end(), ':') == 1) {
            port = name.substr(name.find(':') + 1);
            name.resize(name.find(':'));
        }
        if (!port.empty() && port != target.port) continue;
        std::error_code iec;
        const asio::ip::address ip = asio::ip::make_address(name, iec);
        if (!iec) {
            if (host_is_ip && ip == host_ip) return true;
            continue;
        }
        if (name.substr(0, 2) == "*.") name.erase(0, 1);
        if (name.front() == '.') { // subdomains only
            if (host.size() > name.size() && host.compare(host.size() - name.size(), name.size(), name) == 0) return true;
            continue;
        }
        if (host == name) return true;
        if (host.size() > name.size() && host.compare(host.size() - name.size(), name.size(), name) == 0 &&
            host[host.size() - name.size() - 1] == '.')
            return true;
    }
    return false;
}

/// The proxy for a request to `target` per `env`, if any. Like Go, never
/// for "localhost" or a loopback address (a proxy could not reach them).
/// An unparsable proxy variable is an error (sse::error::invalid_url).
inline std::optional<url> proxy_from(const proxy_environment& env, const url& target, std::error_code& ec) {
    ec.clear();
    const std::string& value = target.tls ? env.https_proxy : env.http_proxy;
    if (value.empty()) return std::nullopt;
    const std::string host = to_lower(target.host);
    if (host == "localhost" || (host.size() > 10 && host.compare(host.size() - 10, 10, ".localhost") == 0))
        return std::nullopt;
    std::error_code aec;
    if (const asio::ip::address ip = asio::ip::make_address(host, aec); !aec && ip.is_loopback()) return std::nullopt;
    if (no_proxy_matches(env.no_proxy, target)) return std::nullopt;
    url p = parse_proxy_url(value, ec);
    if (ec) return std::nullopt;
    return p;
}

inline std::string base64(std::string_view in) {
    static constexpr char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 |
                           static_cast<unsigned char>(in[i + 2]);
        out += digits[v >> 18];
        out += digits[(v >> 12) & 63];
        out += digits[(v >> 6) & 63];
        out += digits[v & 63];
    }
    if (i < in.size()) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
        out += digits[v >> 18];
        out += digits[(v >> 12) & 63];
        out += i + 1 < in.size() ? digits[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

/// The Proxy-Authorization value for a proxy URL's user info ("Basic ...",
/// user and password percent-decoded), or empty without user info.
inline std::string proxy_authorization(const url& proxy) {
    if (proxy.userinfo.empty()) return {};
    std::string plain;
    for (std::size_t i = 0; i < proxy.userinfo.size(); ++i) {
        const char c = proxy.userinfo[i];
        auto hex = [](char h) -> int {
            if (h >= '0' && h <= '9') return h - '0';
            if (h >= 'a' && h <= 'f') return h - 'a' + 10;
            if (h >= 'A' && h <= 'F') return h - 'A' + 10;
            return -1;
        };
        if (c == '%' && i + 2 < proxy.userinfo.size() && hex(proxy.userinfo[i + 1]) >= 0 && hex(proxy.userinfo[i + 2]) >= 0) {
            plain += static_cast<char>(hex(proxy.userinfo[i + 1]) * 16 + hex(proxy.userinfo[i + 2]));
            i += 2;
        } else {
            plain += c;
        }
    }
    if (plain.find(':') == std::string::npos) plain += ':';
    return "Basic " + base64(plain);
}

/// The CONNECT request that opens a tunnel to `target` (always with its port).
inline std::string connect_request(const url& target, const std::string& authorization) {
    const std::string authority =
        (target.host.find(':') != std::string::npos ? "[" + target.host + "]" : target.host) + ":" + target.port;
    std::string out = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
    if (!authorization.empty()) out += "Proxy-Authorization: " + authorization + "\r\n";
    out += "\r\n";
    return out;
}

} // namespace sse::detail

#endif
