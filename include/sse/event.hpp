// What a reader of an event stream receives: event_view (borrowed, valid
// during a callback) and event (owning).
#ifndef SSE_EVENT_HPP
#define SSE_EVENT_HPP

#include <string>
#include <string_view>

namespace sse {

/// One dispatched event, borrowing the parser's buffers: valid only during
/// the callback it is passed to. Copy it into an `event` to keep it.
struct event_view {
    /// The event type; "message" when the stream named none.
    std::string_view type = "message";
    /// The data lines joined by LF (no trailing LF).
    std::string_view data;
    /// The stream's last event id when this event was dispatched (it persists
    /// across events until the server sends another `id:`).
    std::string_view last_event_id;
};

/// One event that owns its strings.
struct event {
    std::string type = "message"; ///< "message" when the stream named none
    std::string data; ///< the data lines joined by LF
    std::string last_event_id; ///< the stream's last event id when the event was dispatched

    /// An event of type "message" without data.
    event() = default;
    /// An event with this type, data and last event id.
    event(std::string t, std::string d, std::string id = {})
        : type(std::move(t)), data(std::move(d)), last_event_id(std::move(id)) {}
    /// Copies a borrowed event, to keep it past its callback.
    explicit event(const event_view& v) : type(v.type), data(v.data), last_event_id(v.last_event_id) {}

    /// Copies `v` in, reusing this event's string capacity.
    event& operator=(const event_view& v) {
        type.assign(v.type);
        data.assign(v.data);
        last_event_id.assign(v.last_event_id);
        return *this;
    }

    /// A borrowed view of this event.
    event_view view() const noexcept { return {type, data, last_event_id}; }
    /// The same as view().
    operator event_view() const noexcept { return view(); }

    friend bool operator==(const event&, const event&) = default;
};

} // namespace sse

#endif
