// What flows between publishers, providers and subscribers: frame (one
// serialized message, shared by every subscriber), sink (where a provider
// delivers), subscription, and the `provider` and `replayer` concepts that
// users implement to plug in their own.
#ifndef SSE_PROVIDER_HPP
#define SSE_PROVIDER_HPP

#include <sse/detail/config.hpp>
#include <sse/error.hpp>
#include <sse/field.hpp>
#include <sse/message.hpp>

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace sse {

/// The topic used when none is given.
inline constexpr std::string_view default_topic = "";

/// A list of topic names, borrowed for the duration of a call.
using topic_list = std::span<const std::string_view>;

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

    /// How many messages were serialized into frames in this process so far;
    /// lets tests and metrics check the serialize-once rule.
    static std::uint64_t serialization_count() noexcept { return counter().load(std::memory_order_relaxed); }

private:
    static std::atomic<std::uint64_t>& counter() noexcept {
        static std::atomic<std::uint64_t> n{0};
        return n;
    }
    static std::shared_ptr<const std::string> make(const message& m) {
        counter().fetch_add(1, std::memory_order_relaxed);
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

/// One subscriber's request to a provider.
struct subscription {
    /// Where messages go. Required.
    std::shared_ptr<sink> client;
    /// The client's Last-Event-ID: if set, the provider replays what came after it.
    event_id last_event_id{};
    /// The topics to receive; must not be empty. Defaults to the default topic.
    std::vector<std::string> topics{std::string(default_topic)};
};

/// What a replayer did for one subscriber.
struct replay_result {
    /// Messages sent from the history.
    std::size_t replayed = 0;
    /// The last event id was unknown, or the history no longer reaches back
    /// to it: the subscriber may have missed messages.
    bool gap = false;
};

/// A message history for a provider (go-sse's Replayer).
///
/// `put` stores a message published to `topics` and returns its frame (with
/// the id the replayer assigned, if it assigns ids). `replay` sends to
/// `sub.client` everything stored after `sub.last_event_id` that is on one of
/// `sub.topics`, in order, and reports gaps. Providers serialize calls to a
/// replayer; it need not be thread-safe.
template <class R>
concept replayer = requires(R& r, const message& m, topic_list topics, const subscription& sub, std::error_code& ec) {
    { r.put(m, topics, ec) } -> std::same_as<frame>;        // store; the frame has the id given, if any
    { r.replay(sub, ec) } -> std::same_as<replay_result>;  // send what came after sub.last_event_id
};

/// A publish/subscribe engine a server can run on (go-sse's Provider).
///
/// Thread-safe. `publish` delivers to the subscribers of any of `topics`
/// (each at most once) and fails with sse::error::no_topic for no topics;
/// `subscribe` returns a handle that unsubscribes when destroyed or
/// cancelled; after `shutdown` every operation fails with
/// sse::error::provider_closed and every live sink is closed.
template <class P>
concept provider = requires(P& p, const message& m, topic_list topics, subscription sub, std::error_code& ec) {
    { p.publish(m, topics, ec) } -> std::same_as<void>;  // to each subscriber of any of the topics, once
    { p.subscribe(std::move(sub), ec) } -> std::movable; // a handle: destroying it unsubscribes,
    { p.subscribe(std::move(sub), ec).cancel() };        // and so does cancel()
    { p.shutdown() } -> std::same_as<void>;              // then everything fails with provider_closed
};

} // namespace sse

#endif
