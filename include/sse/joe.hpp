// joe: the default, in-process provider. Publishing serializes a message
// once and only enqueues it into each subscriber's sink, so one slow
// subscriber never holds up the others or the publisher.
#ifndef SSE_JOE_HPP
#define SSE_JOE_HPP

#include <sse/detail/publish.hpp>
#include <sse/error.hpp>
#include <sse/message.hpp>
#include <sse/provider.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sse {

namespace detail {

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

class any_replayer {
public:
    virtual ~any_replayer() = default;
    virtual frame put(const message& m, topic_list topics, std::error_code& ec) = 0;
    virtual replay_result replay(const subscription& sub, std::error_code& ec) = 0;
};

template <class R>
class replayer_model final : public any_replayer {
public:
    explicit replayer_model(R r) : r_(std::move(r)) {}
    frame put(const message& m, topic_list topics, std::error_code& ec) override { return r_.put(m, topics, ec); }
    replay_result replay(const subscription& sub, std::error_code& ec) override { return r_.replay(sub, ec); }

private:
    R r_;
};

// Everything joe shares with its subscription handles, behind one mutex.
struct joe_state {
    struct subscriber;
    using topic_map = std::unordered_map<std::string, std::vector<subscriber*>, string_hash, std::equal_to<>>;
    struct slot {
        topic_map::value_type* topic; // the topic's entry (stable: the map is node-based)
        std::size_t index;            // this subscriber's position in the topic's list
    };
    struct subscriber {
        std::shared_ptr<sink> out;
        std::vector<slot> slots;
        std::uint64_t id = 0;
        std::uint64_t seen = 0; // the last publish that reached it (no duplicates across topics)
    };

    std::mutex mutex;
    bool closed = false;
    topic_map topics;
    std::unordered_map<std::uint64_t, std::unique_ptr<subscriber>> subscribers;
    std::unique_ptr<any_replayer> history;
    std::uint64_t next_id = 1;
    std::uint64_t publish_seq = 0;
    provider_stats counters;
    std::vector<std::uint64_t> dropped; // scratch for one publish

    void remove(std::uint64_t id) {
        const auto it = subscribers.find(id);
        if (it == subscribers.end()) return;
        subscriber* s = it->second.get();
        for (const slot& sl : s->slots) {
            std::vector<subscriber*>& list = sl.topic->second;
            subscriber* moved = list.back();
            list[sl.index] = moved;
            for (slot& other : moved->slots)
                if (other.topic == sl.topic) other.index = sl.index;
            list.pop_back();
            if (list.empty()) topics.erase(topics.find(sl.topic->first));
        }
        subscribers.erase(it);
    }
};

} // namespace detail

/// The in-process provider (go-sse's Joe). Thread-safe: publish, subscribe
/// and cancel from any thread. Each subscriber sees messages in publish
/// order; subscribing with a last event id replays the history and joins the
/// live stream in one atomic step, so nothing is missed or repeated.
///
///     sse::joe joe{sse::finite_replayer(1000, {.auto_ids = true})};
///     auto handle = joe.subscribe({.client = my_sink});
///     joe.publish(msg);                  // the default topic
///     joe.publish(msg, "news");          // one topic
///     joe.publish(msg, {"news", "ads"}); // each subscriber gets it once
class joe : public detail::publishing<joe> {
public:
    /// Removes the subscription when destroyed or cancelled.
    class subscription_handle {
    public:
        /// A handle that holds no subscription.
        subscription_handle() noexcept = default;
        /// Takes over o's subscription.
        subscription_handle(subscription_handle&& o) noexcept
            : state_(std::move(o.state_)), id_(std::exchange(o.id_, 0)) {}
        /// Cancels the subscription held, then takes over o's.
        subscription_handle& operator=(subscription_handle&& o) noexcept {
            if (this != &o) {
                cancel();
                state_ = std::move(o.state_);
                id_ = std::exchange(o.id_, 0);
            }
            return *this;
        }
        /// Unsubscribes.
        ~subscription_handle() { cancel(); }

        /// Unsubscribes (no effect if already done, or if joe is gone).
        void cancel() noexcept {
            if (id_ == 0) return;
            if (const auto state = state_.lock()) {
                std::lock_guard lock(state->mutex);
                state->remove(id_);
            }
            id_ = 0;
            state_.reset();
        }

        /// Whether this handle still holds a subscription it did not cancel
        /// (joe may have dropped it since, e.g. on overflow).
        explicit operator bool() const noexcept { return id_ != 0; }

    private:
        friend class joe;
        subscription_handle(std::weak_ptr<detail::joe_state> s, std::uint64_t id) : state_(std::move(s)), id_(id) {}
        std::weak_ptr<detail::joe_state> state_;
        std::uint64_t id_ = 0;
    };

    /// A joe without history.
    joe() : state_(std::make_shared<detail::joe_state>()) {}

    /// A joe that keeps history in `r` (e.g. finite_replayer, valid_replayer
    /// or a user-defined replayer).
    template <replayer R>
    explicit joe(R r) : joe() {
        state_->history = std::make_unique<detail::replayer_model<R>>(std::move(r));
    }

    /// Takes over o's subscribers and history; the moved-from joe is closed.
    joe(joe&&) noexcept = default;
    /// Shuts this joe down, then takes over o's subscribers and history.
    joe& operator=(joe&& o) noexcept {
        if (this != &o) {
            shutdown();
            state_ = std::move(o.state_);
        }
        return *this;
    }

    /// Shuts down: live sinks are closed.
    ~joe() { shutdown(); }

    /// Publishes `m` to every subscriber of any of `topics`, each once.
    /// Errors: no_topic (empty `topics`), provider_closed; a replayer's put
    /// error (no_id, id_already_set) is reported too, but live subscribers
    /// still receive the message, as in go-sse.
    void publish(const message& m, topic_list topics, std::error_code& ec) {
        if (!can_publish(topics, ec)) return;
        detail::joe_state& st = *state_;
        frame f;
        // Without history, serialize before taking the lock; a replayer
        // assigns the id, so with one the message is serialized under it.
        if (!has_history()) f = frame(m);
        std::lock_guard lock(st.mutex);
        if (st.closed) {
            ec = error::provider_closed;
            return;
        }
        if (st.history) f = recorded(st, m, topics, ec);
        ++st.counters.published;
        fan_out(st, std::span<const frame>(&f, 1), topics);
    }

    /// The other forms: publish(m[, ec]) to the default topic, publish(m,
    /// "room"[, ec]), publish(m, {"news", "ads"}[, ec]), publish(m, any range
    /// of strings[, ec]), publish(m, topics) (see detail::publishing).
    using detail::publishing<joe>::publish;

    /// Publishes `ms`, in order, to every subscriber of any of `topics`, as
    /// consecutive publish calls would, but under one lock and handing each
    /// subscriber's sink the whole batch at once (sink::send_batch): with
    /// many subscribers a burst costs one visit per subscriber, not one per
    /// message. Errors as publish; on a replayer's put error every message
    /// still goes out and the first error is reported.
    void publish_batch(std::span<const message> ms, topic_list topics, std::error_code& ec) {
        if (!can_publish(topics, ec) || ms.empty()) return;
        detail::joe_state& st = *state_;
        std::vector<frame> frames;
        frames.reserve(ms.size());
        if (!has_history())
            for (const message& m : ms) frames.emplace_back(m); // serialize outside the lock
        std::lock_guard lock(st.mutex);
        if (st.closed) {
            ec = error::provider_closed;
            return;
        }
        if (st.history) {
            for (const message& m : ms) {
                std::error_code put_ec;
                frames.push_back(recorded(st, m, topics, put_ec));
                if (put_ec && !ec) ec = put_ec;
            }
        }
        st.counters.published += ms.size();
        fan_out(st, frames, topics);
    }
    /// Publishes a batch to the default topic.
    void publish_batch(std::span<const message> ms, std::error_code& ec) {
        const std::string_view t = default_topic;
        publish_batch(ms, topic_list(&t, 1), ec);
    }
    /// Publishes a batch to the listed topics.
    void publish_batch(std::span<const message> ms, std::initializer_list<std::string_view> topics, std::error_code& ec) {
        publish_batch(ms, topic_list(topics.begin(), topics.size()), ec);
    }
    /// The throwing forms of publish_batch.
    void publish_batch(std::span<const message> ms) {
        std::error_code ec;
        publish_batch(ms, ec);
        throw_if(ec, "sse::joe::publish_batch");
    }
    void publish_batch(std::span<const message> ms, topic_list topics) {
        std::error_code ec;
        publish_batch(ms, topics, ec);
        throw_if(ec, "sse::joe::publish_batch");
    }
    void publish_batch(std::span<const message> ms, std::initializer_list<std::string_view> topics) {
        publish_batch(ms, topic_list(topics.begin(), topics.size()));
    }

    /// Sends `f`, bytes already serialized (and holding their id, if any), to
    /// every subscriber of any of `topics`, each once and in order with
    /// everything else published, without recording it in the history. For
    /// providers built on joe (redis_provider relays what any node published
    /// this way). Errors: no_topic, provider_closed.
    void deliver(const frame& f, topic_list topics, std::error_code& ec) {
        if (!can_publish(topics, ec)) return;
        detail::joe_state& st = *state_;
        std::lock_guard lock(st.mutex);
        if (st.closed) {
            ec = error::provider_closed;
            return;
        }
        fan_out(st, std::span<const frame>(&f, 1), topics);
    }
    void deliver(const frame& f, std::initializer_list<std::string_view> topics, std::error_code& ec) {
        deliver(f, topic_list(topics.begin(), topics.size()), ec);
    }

    /// Adds a subscriber. With a last event id and a replayer, the history
    /// after that id is sent to the sink first, atomically with joining.
    /// Errors: invalid_argument (no client), no_topic, provider_closed, and
    /// the replayer's errors (e.g. queue_overflow), in which case the
    /// subscriber is not added.
    subscription_handle subscribe(subscription sub, std::error_code& ec) {
        ec.clear();
        if (!sub.client) {
            ec = error::invalid_argument;
            return {};
        }
        if (sub.topics.empty()) {
            ec = error::no_topic;
            return {};
        }
        if (!state_) {
            ec = error::provider_closed;
            return {};
        }
        detail::joe_state& st = *state_;
        auto s = std::make_unique<detail::joe_state::subscriber>();
        s->out = sub.client;
        std::lock_guard lock(st.mutex);
        if (st.closed) {
            ec = error::provider_closed;
            return {};
        }
        if (st.history && sub.last_event_id.is_set()) {
            const replay_result r = st.history->replay(sub, ec);
            st.counters.replayed += r.replayed;
            if (r.gap) ++st.counters.gaps;
            if (ec) {
                if (ec == error::queue_overflow) ++st.counters.overflows;
                return {};
            }
        }
        for (const std::string& t : sub.topics) {
            auto it = st.topics.find(std::string_view(t));
            if (it == st.topics.end()) it = st.topics.emplace(t, std::vector<detail::joe_state::subscriber*>()).first;
            else if (std::any_of(s->slots.begin(), s->slots.end(), [&](const detail::joe_state::slot& sl) { return sl.topic == &*it; }))
                continue; // topic listed twice (look in its own few slots, not in the topic's long list)
            s->slots.push_back({&*it, it->second.size()});
            it->second.push_back(s.get());
        }
        const std::uint64_t id = st.next_id++;
        s->id = id;
        st.subscribers.emplace(id, std::move(s));
        return subscription_handle(state_, id);
    }

    /// Like subscribe(sub, ec), but throws std::system_error.
    subscription_handle subscribe(subscription sub) {
        std::error_code ec;
        subscription_handle h = subscribe(std::move(sub), ec);
        throw_if(ec, "sse::joe::subscribe");
        return h;
    }

    /// Stops: later calls fail with provider_closed and every live sink is
    /// closed with provider_closed. `ec` is provider_closed if it already was.
    void shutdown(std::error_code& ec) {
        ec.clear();
        if (!state_ || !end_subscriptions(error::provider_closed, true)) ec = error::provider_closed;
    }

    /// Ends every current subscription, closing each live sink with
    /// `reason`; joe stays open for new subscribers. For providers built on
    /// joe that lose track of their source and want their clients to come
    /// back and replay.
    void close_subscribers(std::error_code reason) {
        if (state_) end_subscriptions(reason, false);
    }

    /// Like shutdown(ec); a second call does nothing.
    void shutdown() {
        std::error_code ignored;
        shutdown(ignored);
    }

    /// A snapshot of the counters.
    provider_stats stats() const {
        if (!state_) return {};
        std::lock_guard lock(state_->mutex);
        provider_stats s = state_->counters;
        s.subscribers = state_->subscribers.size();
        return s;
    }

private:
    friend class detail::publishing<joe>;
    static constexpr const char* publish_what = "sse::joe::publish";

    bool has_history() const noexcept { return state_->history != nullptr; }

    // Drops every subscription and closes its sink with `reason` (outside the
    // lock); with `close_joe`, also closes joe. False if joe was closed already.
    bool end_subscriptions(std::error_code reason, bool close_joe) {
        std::vector<std::shared_ptr<sink>> sinks;
        {
            std::lock_guard lock(state_->mutex);
            if (close_joe) {
                if (state_->closed) return false;
                state_->closed = true;
            }
            sinks.reserve(state_->subscribers.size());
            for (auto& [id, s] : state_->subscribers) sinks.push_back(std::move(s->out));
            state_->subscribers.clear();
            state_->topics.clear();
        }
        for (const auto& s : sinks) s->close(reason);
        return true;
    }

    // The checks before the lock: topics given, not moved from.
    bool can_publish(topic_list topics, std::error_code& ec) const noexcept {
        ec.clear();
        if (topics.empty()) ec = error::no_topic;
        else if (!state_) ec = error::provider_closed;
        return !ec;
    }

    static void throw_if(std::error_code ec, const char* what) {
        if (ec) detail::throw_error(ec, what);
    }

    // `m` put in the history: its frame there (with its id), or on a put
    // error `m` serialized as it is (live subscribers still get it) and the
    // error in `ec`; under st.mutex.
    static frame recorded(detail::joe_state& st, const message& m, topic_list topics, std::error_code& ec) {
        frame f = st.history->put(m, topics, ec);
        if (ec) return frame(m);
        return f;
    }

    // Queues `f` (one frame or a batch) to each subscriber of any of `topics`
    // once; under st.mutex.
    static void fan_out(detail::joe_state& st, std::span<const frame> f, topic_list topics) {
        const std::uint64_t seq = ++st.publish_seq;
        if (topics.size() == 1) {
            if (const auto it = st.topics.find(topics[0]); it != st.topics.end())
                for (detail::joe_state::subscriber* s : it->second) deliver_one(st, *s, f);
        } else {
            for (std::string_view t : topics) {
                const auto it = st.topics.find(t);
                if (it == st.topics.end()) continue;
                for (detail::joe_state::subscriber* s : it->second) {
                    if (s->seen == seq) continue;
                    s->seen = seq;
                    deliver_one(st, *s, f);
                }
            }
        }
        for (std::uint64_t id : st.dropped) st.remove(id);
        st.dropped.clear();
    }

    static void deliver_one(detail::joe_state& st, detail::joe_state::subscriber& s, std::span<const frame> f) {
        switch (f.size() == 1 ? s.out->send(f[0]) : s.out->send_batch(f)) {
        case delivery::accepted: st.counters.delivered += f.size(); return;
        case delivery::overflowed: ++st.counters.overflows; break;
        case delivery::closed: break;
        }
        st.dropped.push_back(s.id); // removed after the loop, which must not see the lists change
    }

    std::shared_ptr<detail::joe_state> state_;
};

static_assert(provider<joe>);

} // namespace sse

#endif
