// Line and field helpers shared by message::parse and the stream parser:
// finding line ends, splitting a text into lines, telling a field.
#ifndef SSE_DETAIL_LINE_HPP
#define SSE_DETAIL_LINE_HPP

#include <bit>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

// SSE2 is part of x86-64 (and of 32-bit x86 when the compiler targets it).
// Anywhere else (or with SSE_NO_SIMD) the portable word-at-a-time scan is used.
#if !defined(SSE_NO_SIMD) && (defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2))
#include <emmintrin.h>
#define SSE_DETAIL_EOL_SSE2 1
#endif

namespace sse::detail {

/// The first CR or LF in [p, end), or end: one word (8 bytes) at a time, for
/// any target. Exact: each byte is tested for equality, no false positives.
inline const char* find_eol_portable(const char* p, const char* end) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull, low7 = 0x7F7F7F7F7F7F7F7Full;
    // 0x80 in every byte of w that is zero, and nowhere else (no borrow across bytes).
    const auto zero_bytes = [](std::uint64_t w) noexcept { return ~(((w & low7) + low7) | w | low7); };
    while (end - p >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        const std::uint64_t hits = zero_bytes(w ^ (ones * '\n')) | zero_bytes(w ^ (ones * '\r'));
        if (hits != 0) {
            if constexpr (std::endian::native == std::endian::little) return p + std::countr_zero(hits) / 8;
            else if constexpr (std::endian::native == std::endian::big) return p + std::countl_zero(hits) / 8;
            else break; // (mixed endianness: let the byte loop find it)
        }
        p += 8;
    }
    for (; p < end; ++p)
        if (*p == '\n' || *p == '\r') return p;
    return end;
}

#if defined(SSE_DETAIL_EOL_SSE2)
/// A mask of the CR and LF bytes among the 16 at p (bit i: p[i]).
inline unsigned eol_mask16(const char* p) noexcept {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hits = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\r')));
    return static_cast<unsigned>(_mm_movemask_epi8(hits));
}
#endif

/// The first CR or LF among the 64 bytes at p (all readable), or nullptr.
/// Lines in event streams are mostly short: inline, this costs less than a
/// call to memchr, let alone one for each of the two bytes.
inline const char* find_eol64(const char* p) noexcept {
#if defined(SSE_DETAIL_EOL_SSE2)
    if (const unsigned m = eol_mask16(p)) return p + std::countr_zero(m); // ids, types, short data
    const std::uint64_t m = eol_mask16(p + 16) | eol_mask16(p + 32) << 16 |
                            static_cast<std::uint64_t>(eol_mask16(p + 48)) << 32;
    return m != 0 ? p + 16 + std::countr_zero(m) : nullptr;
#else
    const char* e = find_eol_portable(p, p + 64);
    return e != p + 64 ? e : nullptr;
#endif
}

/// The first CR or LF in [p, end), or end. The bytes from `begin` (<= p) to
/// p must be readable too: the last few bytes are tested in one step by
/// reading from before p when there is room.
inline const char* find_eol(const char* begin, const char* p, const char* end) noexcept {
    for (; end - p >= 64; p += 64)
        if (const char* e = find_eol64(p)) return e;
#if defined(SSE_DETAIL_EOL_SSE2)
    for (; end - p >= 16; p += 16)
        if (const unsigned m = eol_mask16(p)) return p + std::countr_zero(m);
    if (p == end) return end;
    if (end - begin >= 16) { // the last 16 bytes, less those before p
        const unsigned m = eol_mask16(end - 16) >> (16 - (end - p));
        return m != 0 ? p + std::countr_zero(m) : end;
    }
#else
    (void)begin;
#endif
    return find_eol_portable(p, end);
}

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

enum class field_name : unsigned char { unknown, data, event, id, retry };

// The field a line that is not a comment names, told from its first bytes
// (names are case-sensitive, never trimmed, and end at the first colon), and
// its value: after the colon, one leading space removed; empty without colon.
template <std::size_t K>
inline field_name named_field(std::string_view line, const char (&name)[K], field_name f,
                              std::string_view& value) noexcept {
    constexpr std::size_t k = K - 1;
    if (line.size() < k || std::memcmp(line.data(), name, k) != 0) return field_name::unknown;
    if (line.size() == k) {
        value = {};
        return f;
    }
    if (line[k] != ':') return field_name::unknown;
    const std::size_t skip = k + 1 + (line.size() > k + 1 && line[k + 1] == ' '); // one leading space goes
    value = std::string_view(line.data() + skip, line.size() - skip);
    return f;
}

// The one field splitter, for the stream parser and message::parse alike.
// `line` is not empty and not a comment.
inline field_name known_field(std::string_view line, std::string_view& value) noexcept {
    switch (line.front()) {
    case 'd': return named_field(line, "data", field_name::data, value);
    case 'i': return named_field(line, "id", field_name::id, value);
    case 'e': return named_field(line, "event", field_name::event, value);
    case 'r': return named_field(line, "retry", field_name::retry, value);
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
