// Line and field helpers shared by message::parse and the stream parser.
#ifndef SSE_DETAIL_LINE_HPP
#define SSE_DETAIL_LINE_HPP

#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

namespace sse::detail {

/// Splits a complete text into lines ended by CRLF, LF or CR.
class line_splitter {
public:
    enum result { line, unterminated, none };

    explicit line_splitter(std::string_view text) noexcept : text_(text) {}

    /// The next line without its terminator: `line` if it was terminated,
    /// `unterminated` for a last line without terminator, `none` at the end.
    result next(std::string_view& out) noexcept {
        if (pos_ >= text_.size()) return none;
        const std::size_t eol = text_.find_first_of("\r\n", pos_);
        if (eol == std::string_view::npos) {
            out = text_.substr(pos_);
            pos_ = text_.size();
            return unterminated;
        }
        out = text_.substr(pos_, eol - pos_);
        pos_ = eol + ((text_[eol] == '\r' && eol + 1 < text_.size() && text_[eol + 1] == '\n') ? 2 : 1);
        return line;
    }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

/// A non-empty line split into name and value (WHATWG "process the field").
struct field {
    bool is_comment;        // the line starts with ':'
    std::string_view name;  // before the first ':' (the whole line if none)
    std::string_view value; // after the first ':', one leading space removed
};

inline field split_field(std::string_view line) noexcept {
    const void* c = line.empty() ? nullptr : std::memchr(line.data(), ':', line.size());
    if (c == nullptr) return {false, line, {}};
    const std::size_t colon = static_cast<std::size_t>(static_cast<const char*>(c) - line.data());
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    return {colon == 0, line.substr(0, colon), value};
}

/// Like split_field for a line that is not a comment, but looks for the colon
/// only where a known field name could end: a name longer than five bytes
/// is unknown anyway, so long lines cost no scan.
inline field split_known_field(std::string_view line) noexcept {
    const std::size_t n = line.size() < 6 ? line.size() : 6;
    for (std::size_t i = 0; i < n; ++i)
        if (line[i] == ':') {
            std::string_view value = line.substr(i + 1);
            if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            return {false, line.substr(0, i), value};
        }
    if (line.size() <= 5) return {false, line, {}};
    return {false, {}, {}}; // a name of six bytes or more: not a field we know
}

enum class field_name : unsigned char { unknown, data, event, id, retry };

/// Field names are case-sensitive and never trimmed.
inline field_name classify(std::string_view name) noexcept {
    switch (name.size()) {
    case 2: return (name[0] == 'i' && name[1] == 'd') ? field_name::id : field_name::unknown;
    case 4: return std::memcmp(name.data(), "data", 4) == 0 ? field_name::data : field_name::unknown;
    case 5:
        if (std::memcmp(name.data(), "event", 5) == 0) return field_name::event;
        if (std::memcmp(name.data(), "retry", 5) == 0) return field_name::retry;
        return field_name::unknown;
    default: return field_name::unknown;
    }
}

/// A retry value: one or more ASCII digits that fit in the milliseconds
/// type; anything else (sign, space, empty, overflow) is invalid.
inline std::optional<std::chrono::milliseconds> parse_retry(std::string_view v) noexcept {
    if (v.empty()) return std::nullopt;
    using rep = std::chrono::milliseconds::rep;
    rep n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return std::nullopt;
        const rep d = c - '0';
        if (n > (std::numeric_limits<rep>::max() - d) / 10) return std::nullopt;
        n = n * 10 + d;
    }
    return std::chrono::milliseconds(n);
}

} // namespace sse::detail

#endif
