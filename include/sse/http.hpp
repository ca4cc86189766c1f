// The small HTTP vocabulary the server, sessions and client share: a parsed
// request, a plain response, and header helpers. Not a general HTTP library.
#ifndef SSE_HTTP_HPP
#define SSE_HTTP_HPP

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sse {

/// One header line. Names compare case-insensitively.
struct header {
    std::string name; ///< e.g. "Content-Type"
    std::string value; ///< as sent
};

namespace detail {
inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

inline int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// Decodes %XX escapes and '+' (as a space) of a query component.
inline std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out.push_back(' ');
        } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}
} // namespace detail

/// The first value of header `name` in `headers`, or an empty view.
inline std::string_view find_header(const std::vector<header>& headers, std::string_view name) noexcept {
    for (const header& h : headers)
        if (detail::iequals(h.name, name)) return h.value;
    return {};
}

/// An HTTP request as the server parsed it (or as a framework hands it to
/// sse::upgrade).
struct request {
    std::string method = "GET"; ///< e.g. "GET", "POST"
    std::string target = "/"; ///< path and query, as sent
    unsigned version = 11;    ///< 10 or 11
    std::vector<header> headers; ///< in the order received
    std::string body; ///< the whole body (the server limits its size)

    /// The first value of a header, or an empty view.
    std::string_view header_value(std::string_view name) const noexcept { return find_header(headers, name); }

    /// Whether the header is present (even with an empty value).
    bool has_header(std::string_view name) const noexcept {
        for (const header& h : headers)
            if (detail::iequals(h.name, name)) return true;
        return false;
    }

    /// The target without its query.
    std::string_view path() const noexcept {
        const std::string_view t = target;
        return t.substr(0, t.find('?'));
    }

    /// Every value of query parameter `name`, decoded, in order.
    std::vector<std::string> query_values(std::string_view name) const {
        std::vector<std::string> out;
        const std::string_view t = target;
        const std::size_t q = t.find('?');
        if (q == std::string_view::npos) return out;
        std::string_view rest = t.substr(q + 1);
        while (!rest.empty()) {
            const std::size_t amp = rest.find('&');
            const std::string_view pair = rest.substr(0, amp);
            const std::size_t eq = pair.find('=');
            if (detail::percent_decode(pair.substr(0, eq)) == name)
                out.push_back(eq == std::string_view::npos ? std::string() : detail::percent_decode(pair.substr(eq + 1)));
            if (amp == std::string_view::npos) break;
            rest.remove_prefix(amp + 1);
        }
        return out;
    }

    /// The first value of query parameter `name`, if present.
    std::string query_value(std::string_view name, std::string fallback = {}) const {
        auto v = query_values(name);
        return v.empty() ? std::move(fallback) : std::move(v.front());
    }
};

/// A plain (non-stream) HTTP response.
struct response {
    unsigned status = 200; ///< the HTTP status
    std::vector<header> headers; ///< the server adds Content-Length and Connection
    std::string body; ///< sent with a Content-Length (not for HEAD, 1xx, 204, 304)

    /// 200 OK, without headers or body.
    response() = default;
    /// A status and a body with its Content-Type (none if `content_type` is empty).
    response(unsigned s, std::string b = {}, std::string content_type = "text/plain; charset=utf-8")
        : status(s), body(std::move(b)) {
        if (!content_type.empty()) headers.push_back({"Content-Type", std::move(content_type)});
    }
};

namespace detail {
inline const char* reason_phrase(unsigned status) noexcept {
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

/// Serializes a plain response with Content-Length. 1xx, 204 and 304
/// responses have neither a body nor a Content-Length (RFC 9110 8.6, RFC 9112 6.3).
inline std::string serialize(const response& r, bool keep_alive) {
    const bool bodiless = (r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304;
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason_phrase(r.status) + "\r\n";
    for (const header& h : r.headers) {
        out += h.name;
        out += ": ";
        out += h.value;
        out += "\r\n";
    }
    if (!bodiless) out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    if (!bodiless) out += r.body;
    return out;
}
} // namespace detail

} // namespace sse

#endif
