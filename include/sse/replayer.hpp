// Replayers: in-memory message histories that let a reconnecting client
// catch up from its Last-Event-ID. finite_replayer keeps the last N
// messages, valid_replayer those younger than a TTL; both are also bounded by
// total bytes, can assign ids themselves, and say so when a client asks for
// history they no longer have (a "gap").
#ifndef SSE_REPLAYER_HPP
#define SSE_REPLAYER_HPP

#include <sse/error.hpp>
#include <sse/field.hpp>
#include <sse/frame.hpp>
#include <sse/message.hpp>
#include <sse/provider.hpp>

#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace sse {

/// Configuration shared by the replayers.
struct replayer_options {
    /// Assign ids (first_id, first_id + 1, ...) to published messages, which
    /// must then have none. Without it, every published message must have an id.
    bool auto_ids = false;
    /// The first automatic id. Unset (the default): the microseconds since
    /// the epoch when the replayer is made, which is restart-safe. A history
    /// lives in one process, so after a restart clients come back with ids
    /// of the old one: when each process starts above every id an earlier
    /// one gave out (true of the default while publishing fewer than a
    /// million messages a second), an old id is older than the new history,
    /// which then reports a gap and replays everything it holds, instead of
    /// mistaking the old id for one of its own. Set it (e.g. 0, as go-sse)
    /// for ids that are the same in every run. The largest id is 2^64 - 2;
    /// a put past it fails with sse::error::invalid_argument.
    std::optional<std::uint64_t> first_id{};
    /// The most bytes of serialized messages kept; the oldest go first.
    std::size_t max_bytes = 64 * 1024 * 1024;
    /// When set, a subscriber whose Last-Event-ID is unknown or older than
    /// the history first receives an event of this type whose data is the id
    /// it asked for, then whatever the history still has after it. Unset (the
    /// default, as in go-sse): nothing tells the subscriber.
    event_type gap_event{};
};

/// The microseconds since the epoch now: the default first automatic id,
/// above every id an earlier process gave out (see replayer_options::first_id).
inline std::uint64_t time_based_first_id() noexcept {
    const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count();
    return us > 0 ? static_cast<std::uint64_t>(us) : 0;
}

namespace detail {

/// The event that tells a subscriber it may have missed messages (see
/// replayer_options::gap_event): of type `type`, its data the id it asked
/// for (a lone empty line when it asked for none).
inline frame gap_frame(const event_type& type, std::string_view asked) {
    message gap;
    gap.type = type;
    gap.append_data(asked.empty() ? std::string_view("\n") : asked);
    return frame(gap);
}

// The history both replayers share: a queue of frames with their ids and
// topics, oldest first, trimmed from the front.
class history {
public:
    using time_point = std::chrono::steady_clock::time_point;

    explicit history(replayer_options options)
        : options_(std::move(options)), next_id_(options_.first_id ? *options_.first_id : time_based_first_id()) {}

    frame put(const message& m, topic_list topics, time_point expiry, std::error_code& ec) {
        if (topics.empty()) {
            ec = error::no_topic;
            return {};
        }
        entry e;
        if (options_.auto_ids) {
            if (m.id.is_set()) {
                ec = error::id_already_set;
                return {};
            }
            if (next_id_ == std::numeric_limits<std::uint64_t>::max()) {
                ec = error::invalid_argument; // out of ids: wrapping would break their order
                return {};
            }
            char digits[24];
            const auto end = std::to_chars(digits, digits + sizeof digits, next_id_).ptr;
            message with_id = m;
            with_id.id = event_id(std::string_view(digits, static_cast<std::size_t>(end - digits)));
            e.bytes = frame(with_id);
            e.id = with_id.id.str();
            e.seq = next_id_++;
        } else {
            if (!m.id.is_set()) {
                ec = error::no_id;
                return {};
            }
            e.bytes = frame(m);
            e.id = m.id.str();
        }
        ec.clear();
        e.topics.assign(topics.begin(), topics.end());
        e.expiry = expiry;
        frame f = e.bytes;
        bytes_ += f.size();
        entries_.push_back(std::move(e));
        while (bytes_ > options_.max_bytes && !entries_.empty()) pop_oldest();
        return f;
    }

    // Sends what comes after sub.last_event_id; entries with expiry <= now
    // are gone for the subscriber (and make a gap if it needed them).
    replay_result replay(const subscription& sub, time_point now, std::error_code& ec) {
        ec.clear();
        replay_result result;
        if (!sub.last_event_id.is_set() || !sub.client) return result;

        std::size_t start = entries_.size(); // where the subscriber's history resumes
        if (options_.auto_ids) {
            std::uint64_t last = 0;
            const std::string_view v = sub.last_event_id.view();
            const auto [ptr, err] = std::from_chars(v.data(), v.data() + v.size(), last);
            if (err != std::errc() || ptr != v.data() + v.size() || last >= next_id_) {
                result.gap = true; // not an id this replayer gave out
            } else if (entries_.empty()) {
                result.gap = last + 1 < next_id_; // e.g. an id of an earlier process
            } else {
                const std::uint64_t oldest = entries_.front().seq;
                if (last + 1 < oldest) {
                    result.gap = true; // evicted: send what is still here
                    start = 0;
                } else {
                    start = static_cast<std::size_t>(last + 1 - oldest);
                }
            }
        } else {
            result.gap = true;
            for (std::size_t i = 0; i < entries_.size(); ++i) {
                if (entries_[i].id == sub.last_event_id.view()) { // the oldest match wins
                    start = i + 1;
                    result.gap = false;
                    break;
                }
            }
        }
        // Expired messages the subscriber has not seen are missed too. They
        // are always the oldest, so skipping them keeps the order.
        while (start < entries_.size() && entries_[start].expiry <= now) {
            result.gap = true;
            ++start;
        }

        if (result.gap && options_.gap_event.is_set()) {
            if (!deliver(sub, gap_frame(options_.gap_event, sub.last_event_id.view()), ec)) return result;
        }
        for (std::size_t i = start; i < entries_.size(); ++i) {
            const entry& e = entries_[i];
            if (!shares_topic(e, sub)) continue;
            if (!deliver(sub, e.bytes, ec)) return result;
            ++result.replayed;
        }
        return result;
    }

    // Drops expired messages from the front.
    void remove_expired(time_point now) {
        while (!entries_.empty() && entries_.front().expiry <= now) pop_oldest();
    }

    void trim_to(std::size_t count) {
        while (entries_.size() > count) pop_oldest();
    }

    std::size_t size() const noexcept { return entries_.size(); }
    std::size_t bytes() const noexcept { return bytes_; }
    bool empty() const noexcept { return entries_.empty(); }
    const replayer_options& options() const noexcept { return options_; }

private:
    struct entry {
        frame bytes;
        std::string id;
        std::uint64_t seq = 0; // the automatic id, when ids are automatic
        std::vector<std::string> topics;
        time_point expiry;
    };

    static bool shares_topic(const entry& e, const subscription& sub) noexcept {
        for (const std::string& t : e.topics)
            for (const std::string& s : sub.topics)
                if (t == s) return true;
        return false;
    }

    static bool deliver(const subscription& sub, const frame& f, std::error_code& ec) {
        ec = delivery_error(sub.client->send(f));
        return !ec;
    }

    void pop_oldest() {
        bytes_ -= entries_.front().bytes.size();
        entries_.pop_front();
    }

    replayer_options options_;
    std::deque<entry> entries_;
    std::size_t bytes_ = 0;
    std::uint64_t next_id_ = 0;
};

} // namespace detail

/// Keeps the last `count` messages (and at most options.max_bytes of them).
class finite_replayer {
public:
    /// Throws std::system_error (sse::error::invalid_argument) if count is 0.
    explicit finite_replayer(std::size_t count, replayer_options options = {})
        : history_(std::move(options)), count_(count) {
        if (count == 0) detail::throw_error(error::invalid_argument, "sse::finite_replayer: count must be at least 1");
    }

    /// Stores `m`; returns its frame (with the assigned id when ids are
    /// automatic). Errors: no_topic, no_id, id_already_set.
    frame put(const message& m, topic_list topics, std::error_code& ec) {
        frame f = history_.put(m, topics, never(), ec);
        history_.trim_to(count_);
        return f;
    }

    /// Sends the subscriber what it missed (see replayer_options::gap_event).
    /// Errors: queue_overflow if the subscriber's sink overflowed.
    replay_result replay(const subscription& sub, std::error_code& ec) {
        return history_.replay(sub, detail::history::time_point::min(), ec); // nothing expires
    }

    /// Messages kept now, and their serialized bytes.
    std::size_t size() const noexcept { return history_.size(); }
    std::size_t bytes() const noexcept { return history_.bytes(); }

private:
    static detail::history::time_point never() noexcept { return detail::history::time_point::max(); }

    detail::history history_;
    std::size_t count_;
};

/// Keeps messages for `ttl` after they were published (and at most
/// options.max_bytes of them). Expired messages are never replayed; they
/// are removed every gc_interval (ttl / 4 by default) when messages are put,
/// or by calling remove_expired().
class valid_replayer {
public:
    /// The clock of the time to live.
    using clock = std::chrono::steady_clock;

    /// Throws std::system_error (sse::error::invalid_argument) if ttl <= 0.
    /// `now` replaces the clock (for tests).
    explicit valid_replayer(clock::duration ttl, replayer_options options = {},
                            std::function<clock::time_point()> now = {})
        : history_(std::move(options)), ttl_(ttl), gc_interval_(ttl / 4), now_(std::move(now)) {
        if (ttl <= clock::duration::zero())
            detail::throw_error(error::invalid_argument, "sse::valid_replayer: ttl must be positive");
        if (!now_) now_ = [] { return clock::now(); };
        last_gc_ = now_();
    }

    /// Stores `m` until ttl from now; returns its frame (with the assigned id when ids are
    /// automatic). Removes expired messages first when gc_interval has passed.
    /// Errors: no_topic, no_id, id_already_set.
    frame put(const message& m, topic_list topics, std::error_code& ec) {
        const clock::time_point now = now_();
        if (gc_interval_ > clock::duration::zero() && now - last_gc_ >= gc_interval_) remove_expired(now);
        return history_.put(m, topics, now + ttl_, ec);
    }

    /// Sends the subscriber what it missed and has not expired; a missed expired message is
    /// a gap. Errors: queue_overflow if the subscriber's sink overflowed.
    replay_result replay(const subscription& sub, std::error_code& ec) { return history_.replay(sub, now_(), ec); }

    /// Removes expired messages now.
    void remove_expired() { remove_expired(now_()); }

    /// How often put() removes expired messages; zero: only remove_expired() does.
    void set_gc_interval(clock::duration d) noexcept { gc_interval_ = d; }

    /// Messages kept now (expired ones until removed), and their serialized bytes.
    std::size_t size() const noexcept { return history_.size(); }
    std::size_t bytes() const noexcept { return history_.bytes(); }

private:
    void remove_expired(clock::time_point now) {
        history_.remove_expired(now);
        last_gc_ = now;
    }

    detail::history history_;
    clock::duration ttl_;
    clock::duration gc_interval_;
    std::function<clock::time_point()> now_;
    clock::time_point last_gc_;
};

static_assert(replayer<finite_replayer>);
static_assert(replayer<valid_replayer>);

} // namespace sse

#endif
