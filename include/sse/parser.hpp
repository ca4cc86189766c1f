// parser: an incremental parser for text/event-stream, exactly as WHATWG
// HTML "Interpreting an event stream" says. Feed it bytes cut anywhere.
#ifndef SSE_PARSER_HPP
#define SSE_PARSER_HPP

#include <sse/detail/byte_buffer.hpp>
#include <sse/detail/config.hpp>
#include <sse/error.hpp>
#include <sse/event.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace sse {

/// Configuration of a parser.
struct parser_options {
    /// The largest event accepted, in bytes: the sum of its field lines
    /// (name, colon, value, line break; comments and the final blank line are
    /// not counted, but a single comment line may not be longer than this
    /// either). A larger event fails with sse::error::event_too_large.
    /// The default, 8 MiB, fits base64 images in LLM streams.
    std::size_t max_event_size = 8 * 1024 * 1024;
};

namespace detail {
/// A non-owning reference to an event callback: one indirect call per event.
struct event_callback_ref {
    void* object;
    void (*call)(void*, const event_view&);

    template <class F>
    static event_callback_ref to(F& f) noexcept { // F may be const: the cast back restores it
        return {const_cast<void*>(static_cast<const void*>(std::addressof(f))),
                [](void* o, const event_view& ev) { (*static_cast<F*>(o))(ev); }};
    }
    void operator()(const event_view& ev) const { call(object, ev); }
};
} // namespace detail

/// Parses an event stream incrementally.
///
/// Follows the WHATWG algorithm exactly: lines end at CRLF, LF or CR (also
/// when cut between CR and LF); one BOM is skipped at the very start; a line
/// without colon is a field with an empty value; one leading space of a value
/// is removed; unknown and wrongly cased fields are ignored; an `id` holding
/// NUL is ignored; the last event id persists across events and an empty
/// `id` resets it; `retry` counts only if all ASCII digits; a blank line
/// dispatches an event only if some `data` was seen; the type defaults to
/// "message". Bytes are passed through as they are (no UTF-8 decoding).
///
///     sse::parser p;
///     p.feed(bytes, [](const sse::event_view& ev) { use(ev.type, ev.data); });
class parser {
public:
    /// The default parser_options::max_event_size, 8 MiB.
    static constexpr std::size_t default_max_event_size = 8 * 1024 * 1024;

    /// A parser with the default options.
    parser() = default;
    /// A parser with these options.
    explicit parser(parser_options options) : options_(options) {}

    /// Parses `bytes`, calling `on_event(const event_view&)` for every event
    /// completed by them. On error (sse::error::event_too_large) `ec` is set
    /// and the parser stays failed until reset(). If `on_event` throws, the
    /// exception propagates and the rest of `bytes` is not parsed.
    template <class OnEvent>
    void feed(std::string_view bytes, OnEvent&& on_event, std::error_code& ec) {
        feed_impl(bytes, detail::event_callback_ref::to(on_event), ec);
    }

    /// Like feed(bytes, on_event, ec), but throws std::system_error, whose
    /// message names the limit that was exceeded.
    template <class OnEvent>
    void feed(std::string_view bytes, OnEvent&& on_event) {
        std::error_code ec;
        feed_impl(bytes, detail::event_callback_ref::to(on_event), ec);
        if (ec) throw_failure(ec);
    }

    /// Called with the text of every comment line (`: text`, one leading space
    /// removed), e.g. to see heartbeats. Empty function: comments are dropped.
    void on_comment(std::function<void(std::string_view)> handler) { on_comment_ = std::move(handler); }

    /// The last valid `retry:` seen, if any: the stream's reconnection time.
    std::optional<std::chrono::milliseconds> reconnection_time() const noexcept { return retry_; }

    /// The stream's last event id (committed at each blank line, as the spec
    /// says; an `id:` of an event not yet ended is not in it).
    std::string_view last_event_id() const noexcept { return ids_[committed_id_].view(); }

    /// Whether the stream has set its last event id: some `id` field was
    /// committed, an empty one included. Tells "reset to empty" from "never
    /// set", so a client knows when the stream's id replaces one it was given.
    bool has_last_event_id() const noexcept { return id_set_ != 0; }

    /// The stream ended: drops the incomplete event (per the spec, never
    /// dispatched) and gets ready for a new stream, where a BOM may come
    /// again. The last event id and reconnection time are kept, as an
    /// EventSource keeps them across reconnections. Returns whether anything
    /// incomplete was dropped. Clears a failure.
    bool finish() noexcept;

    /// Back to the state of a new parser with the same options.
    void reset() noexcept;

    /// The error that stopped the parser, if any.
    std::error_code failure() const noexcept { return failure_; }

    /// The options it was made with.
    const parser_options& options() const noexcept { return options_; }

private:
    // How the unterminated line at the end of the last feed is kept.
    enum class partial_line : unsigned char {
        none,    // the last feed ended at a line's start
        held,    // in line_, whole: a comment, an event/id/retry field, or too short to tell
        data,    // a data field: its value goes straight into data_ as it arrives
        skipped, // an unknown field: only its size is kept
    };

    void feed_impl(std::string_view bytes, detail::event_callback_ref on_event, std::error_code& ec);
    bool continue_line(const char* from, const char* to, bool cut, detail::event_callback_ref& on_event);
    partial_line partial_kind(const char* from, std::size_t n) const noexcept;
    void keep_partial(const char* from, const char* to);
    void process_line(std::string_view line, bool stable, detail::event_callback_ref& on_event);
    bool process_field(std::string_view line, bool stable);
    void add_data(const char* from, const char* to, bool stable);
    std::size_t readable(std::string_view value, bool stable) const noexcept;
    bool count_field_line(std::size_t size);
    bool fits_partial(std::size_t more, bool comment);
    void dispatch(detail::event_callback_ref& on_event);
    [[noreturn]] void throw_failure(std::error_code ec) const;

    parser_options options_;
    std::function<void(std::string_view)> on_comment_;

    // Input state.
    detail::byte_buffer line_;     // the unterminated line, when partial_ is held
    std::size_t partial_size_ = 0; // bytes of the unterminated line so far (whatever partial_ is)
    partial_line partial_ = partial_line::none;
    unsigned char bom_seen_ = 0; // BOM bytes matched at the stream's start (0..3)
    bool bom_done_ = false;      // past the place where a BOM may be
    bool skip_lf_ = false;       // the previous feed ended with CR: a leading LF ends nothing
    std::error_code failure_;
    const char* feed_end_ = nullptr; // the end of the bytes being fed (only read during feed)

    // Event state.
    detail::byte_buffer data_;   // data lines joined by LF
    std::string_view data_view_; // the only data line, still in the caller's bytes (no copy)
    bool has_data_ = false;      // the spec's "data buffer is not empty"
    bool data_in_view_ = false;  // data_view_ holds the data, not data_
    detail::byte_buffer type_;          // empty: "message"
    // The spec's last event ID string is ids_[committed_id_]; its last event ID
    // buffer, when it differs (an id: line since the last blank line), the other.
    detail::byte_buffer ids_[2];
    unsigned char committed_id_ = 0; // 0 or 1
    unsigned char id_pending_ = 0;   // 1: ids_[committed_id_ ^ 1] is the buffer, to commit
    unsigned char id_set_ = 0;       // 1: some id was committed (has_last_event_id)
    std::size_t event_size_ = 0; // bytes of the current event's field lines
    std::optional<std::chrono::milliseconds> retry_;
};

} // namespace sse

#include <sse/impl/parser.ipp>

#endif
