// What flows from a provider to a subscriber: frame (one message serialized
// once, its bytes shared by every subscriber), sink (where a provider
// delivers: usually a session's bounded queue) and delivery (what a sink
// answers). The provider side (concepts, subscription, topics) is provider.hpp.
#ifndef SSE_FRAME_HPP
#define SSE_FRAME_HPP

#include <sse/error.hpp>
#include <sse/message.hpp>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#if defined(SSE_TEST_HOOKS)
#include <atomic>
#include <cstdint>
#endif

namespace sse {

#if defined(SSE_TEST_HOOKS)
namespace detail {
/// Messages serialized into frames in this process. Only with SSE_TEST_HOOKS
/// (sse's own tests define it, to check the serialize-once rule): otherwise
/// a serialization costs no shared counter.
inline std::atomic<std::uint64_t> frame_serializations{0};
} // namespace detail
#endif

/// The serialized bytes of one message, immutable and shared: a message
/// published to any number of subscribers is serialized once, and every
/// subscriber's queue holds a reference to the same bytes.
class frame {
public:
    /// An empty frame.
    frame() noexcept = default;

    /// Serializes `m` (once).
    explicit frame(const message& m) : bytes_(make(m)) {}

    /// Wraps bytes that are already a serialized event stream fragment
    /// (e.g. a heartbeat comment). They are sent as they are.
    static frame from_bytes(std::string bytes) {
        frame f;
        f.bytes_ = std::make_shared<const std::string>(std::move(bytes));
        return f;
    }

    /// The serialized bytes (empty for an empty frame); data() and size() are the same.
    std::string_view bytes() const noexcept { return bytes_ ? std::string_view(*bytes_) : std::string_view(); }
    const char* data() const noexcept { return bytes_ ? bytes_->data() : nullptr; }
    std::size_t size() const noexcept { return bytes_ ? bytes_->size() : 0; }
    bool empty() const noexcept { return size() == 0; }

    /// Whether two frames share the same bytes (not just equal ones).
    bool same_bytes(const frame& other) const noexcept { return bytes_ == other.bytes_; }

private:
    static std::shared_ptr<const std::string> make(const message& m) {
#if defined(SSE_TEST_HOOKS)
        detail::frame_serializations.fetch_add(1, std::memory_order_relaxed);
#endif
        auto s = std::make_shared<std::string>();
        m.write_to(*s);
        return s;
    }

    std::shared_ptr<const std::string> bytes_;
};

/// What a sink answers to a delivery.
enum class delivery {
    accepted,   ///< queued (or deliberately dropped by the sink's own policy)
    overflowed, ///< the sink's queue is over its budget: the provider drops the subscription
    closed,     ///< the sink is gone: the provider drops the subscription
};

/// Where a provider delivers frames for one subscriber: usually a session's
/// bounded queue. Implementations must be thread-safe, and `send` must
/// return at once (enqueue only, never wait on the network) and must not
/// call back into the provider.
class sink {
public:
    /// Sinks are owned through std::shared_ptr<sink>.
    virtual ~sink() = default;

    /// Queues `f` for the subscriber.
    virtual delivery send(const frame& f) noexcept = 0;

    /// Queues `frames`, in order, as consecutive sends would; on anything
    /// but accepted the rest is not sent. Providers call it when they have
    /// several frames at once (joe::publish_batch); a sink overrides it to
    /// take its lock and touch its queue once per batch instead of per frame.
    virtual delivery send_batch(std::span<const frame> frames) noexcept {
        for (const frame& f : frames)
            if (const delivery d = send(f); d != delivery::accepted) return d;
        return delivery::accepted;
    }

    /// The provider ends the subscription (e.g. sse::error::provider_closed
    /// at shutdown). Called at most once, never while a send is running.
    virtual void close(std::error_code reason) noexcept = 0;
};

namespace detail {

/// A refused delivery as an error (none for accepted): queue_overflow, or
/// connection_aborted for a sink that is gone.
inline std::error_code delivery_error(delivery d) noexcept {
    switch (d) {
    case delivery::accepted: return {};
    case delivery::overflowed: return error::queue_overflow;
    case delivery::closed: break;
    }
    return std::make_error_code(std::errc::connection_aborted);
}

} // namespace detail

} // namespace sse

#endif
