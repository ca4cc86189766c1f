#ifndef SSE_IMPL_PARSER_IPP
#define SSE_IMPL_PARSER_IPP

#include <sse/detail/line.hpp>
#include <sse/parser.hpp>

#include <cstring>
#include <string>

namespace sse {

namespace detail {
// Finds line ends in one buffer, scanning every byte at most once for CR and
// once for LF however the lines are cut (no rescans, so long lines stay linear).
class eol_finder {
public:
    explicit eol_finder(const char* end) noexcept : end_(end) {}

    /// The first CR or LF at or after `from`, or end.
    const char* find(const char* from) noexcept {
        if (next_cr_ < from) {
            const void* c = std::memchr(from, '\r', static_cast<std::size_t>(end_ - from));
            next_cr_ = c ? static_cast<const char*>(c) : end_;
        }
        const void* lf = std::memchr(from, '\n', static_cast<std::size_t>(next_cr_ - from));
        return lf ? static_cast<const char*>(lf) : next_cr_;
    }

private:
    const char* end_;
    const char* next_cr_ = nullptr; // next CR at or after the last search, or end
};
} // namespace detail

SSE_DECL void parser::feed_impl(std::string_view bytes, detail::event_callback_ref on_event, std::error_code& ec) {
    if (failure_) {
        ec = failure_;
        return;
    }
    ec.clear();
    if (bytes.empty()) return; // (and its data() may be null, which memchr must not see)
    const char* p = bytes.data();
    const char* const end = p + bytes.size();

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
            line_.assign(bom, bom_seen_); // not a BOM: those bytes begin the first line
            bom_done_ = true;
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
                self.data_.assign(self.data_view_);
                self.data_in_view_ = false;
            }
        }
    } own_data{*this};

    detail::eol_finder eols(end);
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

    if (!line_.empty()) { // finish the line the previous feed left open
        const char* eol = eols.find(p);
        if (fail_if_over(p, eol)) {
            ec = failure_;
            return;
        }
        line_.append(p, eol);
        if (eol == end) return;
        struct clear_on_exit {
            std::string& s;
            ~clear_on_exit() { s.clear(); }
        } clear_line{line_};
        process_line(line_, false, on_event);
        if (failure_) {
            ec = failure_;
            return;
        }
        p = after_eol(eol);
    }

    while (p < end) {
        if (*p == '\n' || *p == '\r') { // a blank line (most events end with one): no search needed
            dispatch(on_event);
            p = after_eol(p);
            continue;
        }
        const char* eol = eols.find(p);
        if (eol == end) {
            if (fail_if_over(p, end)) {
                ec = failure_;
                return;
            }
            line_.assign(p, end);
            break;
        }
        process_line(std::string_view(p, static_cast<std::size_t>(eol - p)), true, on_event);
        if (SSE_UNLIKELY(bool(failure_))) {
            ec = failure_;
            return;
        }
        p = after_eol(eol);
    }
}

// Whether the unterminated line (line_, then [from, to)) is already too big.
// A comment does not count toward its event, but it is held whole until its
// line ends, so it alone is limited (process_line checks the same bound, so
// the outcome does not depend on where the input was cut).
SSE_DECL bool parser::fail_if_over(const char* from, const char* to) {
    const bool comment = (line_.empty() ? *from : line_.front()) == ':';
    const std::size_t counted = comment ? 0 : event_size_;
    if (counted + line_.size() + static_cast<std::size_t>(to - from) <= options_.max_event_size) return false;
    failure_ = error::event_too_large;
    return true;
}

SSE_DECL void parser::process_line(std::string_view line, bool stable, detail::event_callback_ref& on_event) {
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
    event_size_ += line.size() + 1;
    if (event_size_ > options_.max_event_size) {
        failure_ = error::event_too_large;
        return;
    }
    const detail::field f = detail::split_known_field(line);
    switch (detail::classify(f.name)) {
    case detail::field_name::data:
        if (!has_data_) {
            has_data_ = true;
            if (stable) {
                data_view_ = f.value;
                data_in_view_ = true;
            } else {
                data_.assign(f.value);
            }
        } else {
            if (data_in_view_) {
                data_.assign(data_view_);
                data_in_view_ = false;
            }
            data_.push_back('\n');
            data_.append(f.value);
        }
        break;
    case detail::field_name::event: type_.assign(f.value); break;
    case detail::field_name::id:
        if (f.value.find('\0') == std::string_view::npos) { // (an empty value may have no data pointer)
            id_buffer_.assign(f.value);
            id_pending_ = true;
        }
        break;
    case detail::field_name::retry:
        if (const auto ms = detail::parse_retry(f.value)) retry_ = *ms;
        break;
    case detail::field_name::unknown: break;
    }
}

SSE_DECL void parser::dispatch(detail::event_callback_ref& on_event) {
    if (id_pending_) {
        last_event_id_ = id_buffer_;
        id_pending_ = false;
    }
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
    const event_view ev{type_.empty() ? std::string_view("message") : std::string_view(type_),
                        data_in_view_ ? data_view_ : std::string_view(data_), last_event_id_};
    on_event(ev);
}

SSE_DECL bool parser::finish() noexcept {
    const bool dropped = has_data_ || !line_.empty() || !type_.empty() || id_pending_ || event_size_ > 0 ||
                         (!bom_done_ && bom_seen_ > 0);
    line_.clear();
    data_.clear();
    data_view_ = {};
    has_data_ = false;
    data_in_view_ = false;
    type_.clear();
    event_size_ = 0;
    if (id_pending_) { // an id of an event that never ended is not committed
        id_buffer_ = last_event_id_;
        id_pending_ = false;
    }
    skip_lf_ = false;
    bom_seen_ = 0;
    bom_done_ = false;
    failure_.clear();
    return dropped;
}

SSE_DECL void parser::reset() noexcept {
    finish();
    id_buffer_.clear();
    last_event_id_.clear();
    retry_.reset();
}

SSE_DECL void parser::throw_failure(std::error_code ec) const {
    if (ec == error::event_too_large)
        detail::throw_error(ec, "sse::parser: an event exceeds max_event_size (" +
                                    std::to_string(options_.max_event_size) + " bytes)");
    detail::throw_error(ec, "sse::parser");
}

} // namespace sse

#endif
