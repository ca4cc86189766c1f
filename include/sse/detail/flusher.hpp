// detail::flusher: the write line of one io_context. Sessions that have
// frames to write queue up in it once; a single posted handler writes them
// in turn, one session per turn of the executor, so that a publisher that
// publishes one message per handler publishes again between two writes and
// each session's next write carries what arrived meanwhile. The time other
// handlers run while a session waits is bounded: by its max_write_delay, plus
// as long as the writes ahead of it in line take (so under load coalescing at
// most doubles a session's wait, and the other handlers get at most half the
// time); past it, the line writes without yielding.
#ifndef SSE_DETAIL_FLUSHER_HPP
#define SSE_DETAIL_FLUSHER_HPP

#include <asio/execution_context.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>

namespace sse::detail {

/// What the flusher writes: a session with queued frames.
class flushable {
public:
    virtual ~flushable() = default;
    /// Starts writing what is queued (called from the flusher's handler;
    /// the session dispatches to its own executor).
    virtual void flush() noexcept = 0;
};

/// One per io_context (an Asio service): the line of sessions waiting to write.
class flusher final : public asio::execution_context::service {
public:
    inline static asio::execution_context::id id; // the service's key
    using clock = std::chrono::steady_clock;

    explicit flusher(asio::io_context& ioc) : asio::execution_context::service(ioc), ioc_(ioc) {}

    /// Queues `f` at the end of the line (any thread). It is written once
    /// it reaches the front, or without further yielding once other handlers
    /// ran, while it waited, for `max_delay` plus the time that the writes
    /// ahead of it are expected to take.
    void enqueue(std::shared_ptr<flushable> f, std::chrono::nanoseconds max_delay) {
        bool post = false;
        {
            std::lock_guard lock(mutex_);
            const auto ahead = static_cast<std::int64_t>(line_.size()) * write_ns_;
            line_.push_back(entry{std::move(f), yielded_ + max_delay.count() + ahead});
            post = !scheduled_;
            scheduled_ = true;
        }
        if (post) asio::post(ioc_.get_executor(), [this] { run(); });
    }

    /// Sessions waiting (for tests and metrics).
    std::size_t waiting() const {
        std::lock_guard lock(mutex_);
        return line_.size();
    }

    /// How many times the line let other handlers run (for tests).
    std::uint64_t yields() const {
        std::lock_guard lock(mutex_);
        return yield_count_;
    }

private:
    struct entry {
        std::shared_ptr<flushable> session;
        std::int64_t deadline; // in yielded_ time: write without yielding from then on
    };

    // One turn: the session at the front, and every one after it that is
    // already past its delay bound; then the turn goes back to the executor.
    void run() {
        const auto start = clock::now();
        std::deque<entry> now;
        {
            std::lock_guard lock(mutex_);
            if (resumed_) { // others ran since the last turn: that is the waiting sessions' added delay
                yielded_ += std::chrono::duration_cast<std::chrono::nanoseconds>(start - last_turn_end_).count();
                ++yield_count_;
            }
            do {
                now.push_back(std::move(line_.front()));
                line_.pop_front();
            } while (!line_.empty() && line_.front().deadline <= yielded_);
        }
        for (entry& e : now) e.session->flush();
        const auto n = static_cast<std::int64_t>(now.size());
        now.clear(); // release outside the lock
        const auto end = clock::now();
        bool again = false;
        {
            std::lock_guard lock(mutex_);
            // What one write costs, smoothed (1/8 of each new turn's): the budget of those behind.
            // A turn preempted by the system is not a write's cost: one counts for 100 µs at most.
            const auto each = std::min<std::int64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count() / n, max_write_ns);
            write_ns_ += (each - write_ns_) / 8;
            again = !line_.empty();
            scheduled_ = again;
            resumed_ = again;
            last_turn_end_ = end;
        }
        if (again) asio::post(ioc_.get_executor(), [this] { run(); });
    }

    void shutdown() override {
        std::deque<entry> gone;
        std::lock_guard lock(mutex_);
        gone.swap(line_);
    }

    static constexpr std::int64_t max_write_ns = 100'000;

    asio::io_context& ioc_;
    mutable std::mutex mutex_;
    std::deque<entry> line_;
    std::int64_t yielded_ = 0; // ns that other handlers ran between turns, since ever
    std::uint64_t yield_count_ = 0;
    std::int64_t write_ns_ = 10'000; // one session's write, smoothed (from a typical system call's cost)
    clock::time_point last_turn_end_{};
    bool scheduled_ = false; // a turn is posted
    bool resumed_ = false;   // the posted turn continues the line (its wait is a yield)
};

} // namespace sse::detail

#endif
