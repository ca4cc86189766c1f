#ifndef SSE_IMPL_PARSER_IPP
#define SSE_IMPL_PARSER_IPP

#include <sse/detail/line.hpp>
#include <sse/parser.hpp>

#include <cstring>
#include <string>

namespace sse {

namespace detail {
// Finds line ends in one buffer. The first 256 bytes of a line are scanned
// inline (most lines end there); beyond, memchr (the C library's, tuned for
// the machine) looks for LF, and for CR once per buffer unless CRs occur:
// every byte is scanned at most once for each however the lines are cut, so
// long lines stay linear.
class eol_finder {
public:
    eol_finder(const char* begin, const char* end) noexcept : begin_(begin), end_(end) {}

    /// The first CR or LF at or after `from`, or end.
    SSE_ALWAYS_INLINE const char* find(const char* from) noexcept {
        if (SSE_UNLIKELY(end_ - from < inline_span)) return find_eol(begin_, from, end_);
        for (const char* const stop = from + inline_span; from < stop; from += 64)
            if (const char* e = find_eol64(from)) return e;
        return find_long(from);
    }

private:
    static constexpr std::ptrdiff_t inline_span = 256; // a multiple of 64

    SSE_NOINLINE const char* find_long(const char* from) noexcept {
        if (next_cr_ == nullptr || next_cr_ < from) {
            const void* c = std::memchr(from, '\r', static_cast<std::size_t>(end_ - from));
            next_cr_ = c ? static_cast<const char*>(c) : end_;
        }
        const void* lf = std::memchr(from, '\n', static_cast<std::size_t>(next_cr_ - from));
        return lf ? static_cast<const char*>(lf) : next_cr_;
    }

    const char* begin_;
    const char* end_;
    const char* next_cr_ = nullptr; // next CR at or after the last long search, or end
};

// Whether a line of n > 4 bytes at p starts with "data:" (one compare, no call).
inline bool starts_with_data_colon(const char* p) noexcept {
    return std::memcmp(p, "data", 4) == 0 && p[4] == ':';
}

// Whether [p, p + n) holds no NUL (an id holding one is ignored).
inline bool no_nul(const char* p, std::size_t n) noexcept {
    if (n > 16) return std::memchr(p, '\0', n) == nullptr;
    for (std::size_t i = 0; i < n; ++i)
        if (p[i] == '\0') return false;
    return true;
}
} // namespace detail

inline void parser::feed_impl(std::string_view bytes, detail::event_callback_ref on_event, std::error_code& ec) {
    if (failure_) {
        ec = failure_;
        return;
    }
    if (ec) ec.clear(); // (clear() calls system_category(): not per feed)
    if (bytes.empty()) return; // (and its data() may be null, which memcpy must not see)
    const char* p = bytes.data();
    const char* const end = p + bytes.size();
    feed_end_ = end;

    if (SSE_UNLIKELY(!bom_done_)) {
        static constexpr char bom[] = "\xEF\xBB\xBF";
        while (p < end && bom_seen_ < 3 && *p == bom[bom_seen_]) {
            ++bom_seen_;
            ++p;
        }
        if (bom_seen_ == 3) {
            bom_done_ = true;
        } else if (p == end) {
            return; // maybe a BOM cut short: decide on the next bytes
        } else {
            bom_done_ = true;
            if (bom_seen_ > 0) { // not a BOM: those bytes begin the first line
                line_.assign(bom, bom_seen_);
                partial_size_ = bom_seen_;
                partial_ = partial_line::held;
            }
        }
    }
    if (skip_lf_ && p < end) {
        skip_lf_ = false;
        if (*p == '\n') ++p;
    }

    // Whatever happens (an exception from a callback included), the event
    // must not keep pointing into the caller's bytes after this call.
    struct own_data_on_exit {
        parser& self;
        ~own_data_on_exit() {
            if (self.data_in_view_) {
                const std::string_view v = self.data_view_;
                self.data_.assign(v.data(), v.size(), self.readable(v, true));
                self.data_in_view_ = false;
            }
        }
    } own_data{*this};

    auto after_eol = [&](const char* eol) {
        const char* next = eol + 1;
        if (*eol == '\r') {
            if (next < end) {
                if (*next == '\n') ++next;
            } else {
                skip_lf_ = true;
            }
        }
        return next;
    };

    detail::eol_finder eols(bytes.data(), end);
    if (partial_ != partial_line::none && p < end) { // finish the line the previous feed left open
        const char* eol = eols.find(p);
        if (!continue_line(p, eol, eol == end, on_event)) {
            ec = failure_;
            return;
        }
        if (eol == end) return;
        p = after_eol(eol);
    }

    while (p < end) {
        if (*p == '\n' || *p == '\r') { // a blank line (most events end with one): no search needed
            dispatch(on_event);
            p = after_eol(p);
            continue;
        }
        const char* eol;
        if (end - p > 5 && detail::starts_with_data_colon(p)) { // most lines: handled here, without a call
            // (Told before the search for its end: how long it is depends on what it is.)
            const char* v = p + 5;
            if (*v == ' ') ++v;
            eol = eols.find(v);
            if (SSE_UNLIKELY(eol == end)) {
                if (!fits_partial(static_cast<std::size_t>(end - p), false)) {
                    ec = failure_;
                    return;
                }
                keep_partial(p, end);
                break;
            }
            if (SSE_UNLIKELY(!count_field_line(static_cast<std::size_t>(eol - p)))) {
                ec = failure_;
                return;
            }
            add_data(v, eol, true);
        } else {
            eol = eols.find(p);
            if (SSE_UNLIKELY(eol == end)) {
                if (!fits_partial(static_cast<std::size_t>(end - p), *p == ':')) {
                    ec = failure_;
                    return;
                }
                keep_partial(p, end);
                break;
            }
            const std::string_view line(p, static_cast<std::size_t>(eol - p));
            if (*p != ':' ? !process_field(line, true) : (process_line(line, true, on_event), bool(failure_))) {
                ec = failure_;
                return;
            }
        }
        p = after_eol(eol);
    }
}

// Whether the unterminated line may grow by `more` bytes. A comment does not
// count toward its event, but it is held whole until its line ends, so it
// alone is limited (process_line checks the same bound, so the outcome does
// not depend on where the input was cut).
inline bool parser::fits_partial(std::size_t more, bool comment) {
    const std::size_t counted = comment ? 0 : event_size_;
    if (counted + partial_size_ + more <= options_.max_event_size) return true;
    failure_ = error::event_too_large;
    return false;
}

// A field line of `size` bytes (without its line break) ended.
inline SSE_ALWAYS_INLINE bool parser::count_field_line(std::size_t size) {
    event_size_ += size + 1;
    if (event_size_ <= options_.max_event_size) return true;
    failure_ = error::event_too_large;
    return false;
}

// How to keep the start [from, from + n) of a line a feed ends in (n > 0):
// a data value streams into data_, so a long line cut into many feeds is
// copied once; an unknown field is only counted; anything else (a comment, a
// field whose value is needed whole, a start too short to tell like "dat" or
// "data:") is held.
inline parser::partial_line parser::partial_kind(const char* from, std::size_t n) const noexcept {
    if (n > 5 && detail::starts_with_data_colon(from)) return partial_line::data; // (n > 5: the space is known)
    if (*from == ':') return partial_line::held;
    // Told: a colon was seen, or the start is longer than any known name.
    const bool told = n > 5 || std::memchr(from, ':', n) != nullptr;
    std::string_view value;
    return told && detail::known_field(std::string_view(from, n), value) == detail::field_name::unknown
               ? partial_line::skipped
               : partial_line::held;
}

// Keeps [from, to), the start of a line the feed ends in (size already checked).
inline void parser::keep_partial(const char* from, const char* to) {
    const std::size_t n = static_cast<std::size_t>(to - from);
    partial_size_ = n;
    partial_ = partial_kind(from, n);
    if (partial_ == partial_line::data) {
        const char* v = from + 5;
        if (*v == ' ') ++v;
        add_data(v, to, false);
    } else if (partial_ == partial_line::held) {
        line_.assign(from, n);
    }
}

// Continues the unterminated line with [from, to), which ends it unless `cut`.
inline bool parser::continue_line(const char* from, const char* to, bool cut, detail::event_callback_ref& on_event) {
    const std::size_t more = static_cast<std::size_t>(to - from);
    if (!fits_partial(more, partial_ == partial_line::held && line_.data()[0] == ':')) return false;
    switch (partial_) {
    case partial_line::held:
        line_.append(from, more);
        partial_size_ = line_.size();
        if (cut) {
            // Maybe the line can be told now ("dat" became "data: x"): stream it from here on.
            if (line_.size() > 5 && line_.data()[0] != ':') {
                partial_ = partial_kind(line_.data(), line_.size());
                if (partial_ == partial_line::data) {
                    const char* v = line_.data() + 5;
                    if (*v == ' ') ++v;
                    add_data(v, line_.data() + line_.size(), false);
                }
                if (partial_ != partial_line::held) line_.clear();
            }
            return true;
        }
        {
            partial_ = partial_line::none;
            partial_size_ = 0;
            struct clear_on_exit {
                detail::byte_buffer& b;
                ~clear_on_exit() { b.clear(); }
            } clear_line{line_};
            process_line(line_.view(), false, on_event);
        }
        return !failure_;
    case partial_line::data:
        data_.append(from, more);
        partial_size_ += more;
        if (cut) return true;
        partial_ = partial_line::none;
        return count_field_line(std::exchange(partial_size_, 0));
    case partial_line::skipped:
        partial_size_ += more;
        if (cut) return true;
        partial_ = partial_line::none;
        return count_field_line(std::exchange(partial_size_, 0));
    case partial_line::none: break;
    }
    return true;
}

// A data line's value: the first stays in the caller's bytes when they are
// `stable` (in the buffer being fed, until feed_end_); the second and later
// are joined by LF.
inline SSE_ALWAYS_INLINE void parser::add_data(const char* from, const char* to, bool stable) {
    const std::size_t n = static_cast<std::size_t>(to - from);
    if (!has_data_) {
        has_data_ = true;
        if (stable) {
            data_view_ = std::string_view(from, n);
            data_in_view_ = true;
        } else {
            data_.assign(from, n);
        }
        return;
    }
    if (data_in_view_) { // (the view is in the buffer being fed)
        data_.assign(data_view_.data(), data_view_.size(), readable(data_view_, true));
        data_in_view_ = false;
    }
    data_.append('\n', from, n, stable && n != 0 ? static_cast<std::size_t>(feed_end_ - from) : n);
}

inline void parser::process_line(std::string_view line, bool stable, detail::event_callback_ref& on_event) {
    if (line.empty()) {
        dispatch(on_event);
        return;
    }
    if (line.front() == ':') {
        if (line.size() > options_.max_event_size) {
            failure_ = error::event_too_large;
            return;
        }
        if (on_comment_) {
            std::string_view text = line.substr(1);
            if (!text.empty() && text.front() == ' ') text.remove_prefix(1);
            on_comment_(text);
        }
        return;
    }
    process_field(line, stable);
}

// How many bytes from a value's start may be read: to the end of the buffer
// being fed if the value is in it, else only the value (an empty one may
// have no pointer at all).
inline SSE_ALWAYS_INLINE std::size_t parser::readable(std::string_view value, bool stable) const noexcept {
    return stable && !value.empty() ? static_cast<std::size_t>(feed_end_ - value.data()) : value.size();
}

// A line that is not blank and not a comment: a field. False if it makes the event too large.
inline SSE_ALWAYS_INLINE bool parser::process_field(std::string_view line, bool stable) {
    if (SSE_UNLIKELY(!count_field_line(line.size()))) return false;
    std::string_view value;
    switch (detail::known_field(line, value)) {
    case detail::field_name::data: add_data(value.data(), value.data() + value.size(), stable); break;
    case detail::field_name::event: type_.assign(value.data(), value.size(), readable(value, stable)); break;
    case detail::field_name::id:
        if (detail::no_nul(value.data(), value.size())) {
            ids_[committed_id_ ^ 1u].assign(value.data(), value.size(), readable(value, stable));
            id_pending_ = 1;
        }
        break;
    case detail::field_name::retry:
        if (const auto ms = detail::parse_retry(value)) retry_ = *ms;
        break;
    case detail::field_name::unknown: break;
    }
    return true;
}

inline void parser::dispatch(detail::event_callback_ref& on_event) {
    committed_id_ ^= id_pending_; // (commits a pending id without a copy, or a branch)
    id_set_ |= id_pending_;
    id_pending_ = 0;
    event_size_ = 0;
    if (!has_data_) {
        type_.clear();
        return;
    }
    struct clear_on_exit {
        parser& self;
        ~clear_on_exit() {
            self.data_.clear();
            self.has_data_ = false;
            self.data_in_view_ = false;
            self.type_.clear();
        }
    } clear_event{*this};
    // (Selects, not branches: which way they go differs from event to event.)
    std::string_view type = type_.view(), data = data_.view();
    if (type.empty()) type = "message";
    if (data_in_view_) data = data_view_;
    const event_view ev{type, data, ids_[committed_id_].view()};
    on_event(ev);
}

inline bool parser::finish() noexcept {
    const bool dropped = has_data_ || partial_ != partial_line::none || !type_.empty() || id_pending_ ||
                         event_size_ > 0 || (!bom_done_ && bom_seen_ > 0);
    line_.clear();
    partial_ = partial_line::none;
    partial_size_ = 0;
    data_.clear();
    data_view_ = {};
    has_data_ = false;
    data_in_view_ = false;
    type_.clear();
    event_size_ = 0;
    id_pending_ = 0; // an id of an event that never ended is not committed
    skip_lf_ = false;
    bom_seen_ = 0;
    bom_done_ = false;
    failure_.clear();
    return dropped;
}

inline void parser::reset() noexcept {
    finish();
    ids_[0].clear();
    ids_[1].clear();
    committed_id_ = 0;
    id_set_ = 0;
    retry_.reset();
}

inline void parser::throw_failure(std::error_code ec) const {
    if (ec == error::event_too_large)
        detail::throw_error(ec, "sse::parser: an event exceeds max_event_size (" +
                                    std::to_string(options_.max_event_size) + " bytes)");
    detail::throw_error(ec, "sse::parser");
}

} // namespace sse

#endif
