#ifndef SSE_IMPL_MESSAGE_IPP
#define SSE_IMPL_MESSAGE_IPP

#include <sse/detail/line.hpp>
#include <sse/message.hpp>

#include <charconv>
#include <cstring>

namespace sse {

inline void message::append_lines(line_kind kind, std::string_view chunk) {
    detail::line_splitter lines(chunk);
    std::string_view line;
    while (lines.next(line) != detail::line_splitter::none) push_line(kind, line);
}

inline std::string message::data() const {
    std::string out;
    bool first = true;
    for (std::size_t i = 0; i < lines_.size(); ++i) {
        if (lines_[i].kind != line_kind::data) continue;
        if (!first) out.push_back('\n');
        first = false;
        out.append(text_, lines_[i].offset, lines_[i].size);
    }
    return out;
}

namespace detail {
inline constexpr std::string_view id_prefix = "id: ";
inline constexpr std::string_view event_prefix = "event: ";
inline constexpr std::string_view retry_prefix = "retry: ";
inline constexpr std::string_view data_prefix = "data: ";
inline constexpr std::string_view comment_prefix = ": ";

inline char* put(char* p, std::string_view s) noexcept {
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    return p + s.size();
}

inline std::size_t decimal_digits(unsigned long long v) noexcept {
    std::size_t n = 1;
    while (v >= 10) {
        v /= 10;
        ++n;
    }
    return n;
}
} // namespace detail

inline std::size_t message::serialized_size() const noexcept {
    std::size_t n = 0;
    if (id.is_set()) n += detail::id_prefix.size() + id.view().size() + 1;
    if (type.is_set()) n += detail::event_prefix.size() + type.view().size() + 1;
    if (retry.count() >= 1)
        n += detail::retry_prefix.size() + detail::decimal_digits(static_cast<unsigned long long>(retry.count())) + 1;
    // Each line's prefix and LF, plus every line's text (stored back to back).
    for (const entry& e : lines_)
        n += (e.kind == line_kind::data ? detail::data_prefix.size() : detail::comment_prefix.size()) + 1;
    n += text_.size();
    return n == 0 ? 0 : n + 1;
}

inline std::size_t message::write_to(char* out) const noexcept {
    char* p = out;
    if (id.is_set()) {
        p = detail::put(p, detail::id_prefix);
        p = detail::put(p, id.view());
        *p++ = '\n';
    }
    if (type.is_set()) {
        p = detail::put(p, detail::event_prefix);
        p = detail::put(p, type.view());
        *p++ = '\n';
    }
    if (retry.count() >= 1) {
        p = detail::put(p, detail::retry_prefix);
        p = std::to_chars(p, p + 20, static_cast<unsigned long long>(retry.count())).ptr;
        *p++ = '\n';
    }
    const char* text = text_.data();
    for (const entry& e : lines_) {
        p = detail::put(p, e.kind == line_kind::data ? detail::data_prefix : detail::comment_prefix);
        p = detail::put(p, std::string_view(text + e.offset, e.size));
        *p++ = '\n';
    }
    if (p != out) *p++ = '\n';
    return static_cast<std::size_t>(p - out);
}

inline void message::write_to(std::string& out) const {
    const std::size_t n = serialized_size();
    if (n == 0) return;
    const std::size_t old = out.size();
    out.resize(old + n);
    write_to(out.data() + old);
}

namespace detail {
// A comment line's text: after the colon, one leading space removed.
inline std::string_view comment_text(std::string_view line) noexcept {
    line.remove_prefix(1);
    if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    return line;
}
} // namespace detail

inline message message::parse(std::string_view text, std::error_code& ec) {
    ec.clear();
    message m;
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    detail::line_splitter lines(text);
    std::string_view line;
    bool started = false;
    while (true) {
        const auto got = lines.next(line);
        if (got == detail::line_splitter::none) return m; // ran out after a terminated line
        if (got == detail::line_splitter::unterminated) {
            ec = error::unexpected_end;
            return message{};
        }
        if (line.empty()) {
            if (started) return m; // the blank line that ends the message
            continue;              // blank lines before the message separate nothing
        }
        started = true;
        if (line.front() == ':') {
            m.push_line(line_kind::comment, detail::comment_text(line));
            continue;
        }
        std::string_view value;
        switch (detail::known_field(line, value)) {
        case detail::field_name::data: m.push_line(line_kind::data, value); break;
        case detail::field_name::event: m.type = event_type(value); break;
        case detail::field_name::id:
            if (value.find('\0') == std::string_view::npos) m.id = event_id(value);
            break;
        case detail::field_name::retry: {
            const auto ms = detail::parse_retry(value);
            if (!ms) {
                ec = error::invalid_retry;
                return message{};
            }
            m.retry = *ms;
            break;
        }
        case detail::field_name::unknown: break;
        }
    }
}

inline message message::parse(std::string_view text) {
    std::error_code ec;
    message m = parse(text, ec);
    if (ec) {
        std::string what = "sse::message::parse";
        if (ec == error::invalid_retry) {
            // Name the offending value (after the BOM parse skipped, if any).
            if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
            detail::line_splitter lines(text);
            std::string_view line;
            std::string_view value;
            while (lines.next(line) == detail::line_splitter::line) {
                if (!line.empty() && line.front() != ':' &&
                    detail::known_field(line, value) == detail::field_name::retry && !detail::parse_retry(value)) {
                    what += ": retry value \"" + std::string(value.substr(0, 64)) + "\"";
                    break;
                }
            }
        }
        detail::throw_error(ec, what);
    }
    return m;
}

} // namespace sse

#endif
