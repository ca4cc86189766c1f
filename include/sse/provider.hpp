// What a provider is: the `provider` and `replayer` concepts that users
// implement to plug in their own, the subscription a subscriber hands in,
// topics, and the counters every provider reports. What flows through one
// (frame, sink, delivery) is in frame.hpp.
#ifndef SSE_PROVIDER_HPP
#define SSE_PROVIDER_HPP

#include <sse/field.hpp>
#include <sse/frame.hpp>
#include <sse/message.hpp>

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

/// Counters a provider reports (joe's, and each Redis node's local fan-out).
struct provider_stats {
    std::size_t subscribers = 0;   ///< live subscriptions
    std::uint64_t published = 0;   ///< messages published
    std::uint64_t delivered = 0;   ///< frames queued to subscribers live
    std::uint64_t overflows = 0;   ///< subscriptions dropped because their sink overflowed
    std::uint64_t replayed = 0;    ///< frames sent from the replayer's history
    std::uint64_t gaps = 0;        ///< subscribers whose Last-Event-ID the history could not reach
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
