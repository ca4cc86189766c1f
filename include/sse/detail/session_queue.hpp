// detail::session_queue: a session's queue of shared frames, thread-safe and
// byte-budgeted, with its overflow policy. Producers (providers, any thread)
// push; the session's writer takes everything queued as one batch. Kept apart
// from the socket so that it can be tested, and reasoned about, alone.
#ifndef SSE_DETAIL_SESSION_QUEUE_HPP
#define SSE_DETAIL_SESSION_QUEUE_HPP

#include <sse/provider.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <span>
#include <vector>

namespace sse::detail {

/// The frames queued for one subscriber, and the writer's state. All
/// members are thread-safe. Bytes count from push to written(): queued plus
/// in flight stay within the budget.
class session_queue {
public:
    /// What push() did.
    struct push_result {
        delivery result = delivery::accepted;
        bool wake = false;          ///< the queue was idle: the writer must be scheduled now
        std::uint64_t dropped = 0;  ///< frames dropped (drop_oldest, or one over the budget alone)
        bool closed_now = false;    ///< this push closed the queue (overflow_policy::close)
    };

    /// What take() found.
    enum class take_result {
        batch,  ///< frames were moved out: write them, then call written()
        idle,   ///< nothing queued: the writer is no longer scheduled
        closed, ///< the queue was closed: write nothing
    };

    /// A queue of at most `max_bytes` queued-or-writing bytes; past it, a
    /// push drops the oldest frames (`drop_oldest`) or closes the queue.
    /// `reported`, if set, is kept within report_step bytes of the bytes
    /// queued here (a shared sum over many queues).
    session_queue(std::size_t max_bytes, bool drop_oldest, std::atomic<std::int64_t>* reported = nullptr) noexcept
        : max_bytes_(max_bytes), reported_(reported), drop_oldest_(drop_oldest) {}

    ~session_queue() {
        if (reported_) reported_->fetch_sub(reported_bytes_, std::memory_order_relaxed);
    }

    session_queue(const session_queue&) = delete;
    session_queue& operator=(const session_queue&) = delete;

    /// Queues frames in order (empty ones are skipped). The policy applies
    /// frame by frame. Never waits on the writer.
    push_result push(std::span<const frame> frames) noexcept {
        push_result r;
        std::lock_guard lock(mutex_);
        if (closed_ || closing_) {
            r.result = delivery::closed;
            return r;
        }
        bool queued = false;
        for (const frame& f : frames) {
            if (f.empty()) continue;
            if (pending_bytes_ + in_flight_bytes_ + f.size() > max_bytes_) {
                if (!drop_oldest_) {
                    closed_ = true;
                    r.closed_now = true;
                    r.result = delivery::overflowed;
                    break;
                }
                if (in_flight_bytes_ + f.size() > max_bytes_) {
                    ++r.dropped; // no room even with an empty queue: the new frame goes alone
                    continue;
                }
                while (head_ < pending_.size() && pending_bytes_ + in_flight_bytes_ + f.size() > max_bytes_) {
                    frame& old = pending_[head_++];
                    pending_bytes_ -= old.size();
                    old = frame();
                    ++r.dropped;
                }
                // Give the dropped slots back now and then: while a write is stalled, take() does not run.
                if (head_ >= 64 && 2 * head_ >= pending_.size()) {
                    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(head_));
                    head_ = 0;
                }
            }
            try {
                pending_.push_back(f);
            } catch (...) {
                r.result = delivery::overflowed;
                break;
            }
            pending_bytes_ += f.size();
            queued = true;
        }
        r.wake = queued && !scheduled_ && !closed_;
        scheduled_ = scheduled_ || r.wake;
        const auto unreported = static_cast<std::int64_t>(pending_bytes_ + in_flight_bytes_) - reported_bytes_;
        if (r.wake || r.dropped > 0 || r.result != delivery::accepted || unreported >= report_step ||
            unreported <= -report_step)
            report();
        return r;
    }

    /// Marks the writer scheduled without queuing (e.g. while a response
    /// head goes out first): pushes then only queue.
    void hold() noexcept {
        std::lock_guard lock(mutex_);
        scheduled_ = true;
    }

    /// The writer's turn: moves every queued frame into `into` (which must
    /// be empty) and counts their bytes in flight; or, if nothing is queued,
    /// unschedules the writer (the next push wakes it).
    take_result take(std::vector<frame>& into) {
        std::lock_guard lock(mutex_);
        if (closed_) return take_result::closed;
        if (head_ == pending_.size()) {
            // Idle: give back what a burst grew, so that an idle stream costs little memory.
            if (pending_.capacity() > idle_capacity) std::vector<frame>().swap(pending_);
            pending_.clear();
            head_ = 0;
            scheduled_ = false;
            return take_result::idle;
        }
        if (head_ == 0) {
            into.swap(pending_); // the two vectors trade buffers: no copy, no allocation
        } else {
            into.assign(std::make_move_iterator(pending_.begin() + static_cast<std::ptrdiff_t>(head_)),
                        std::make_move_iterator(pending_.end()));
        }
        pending_.clear();
        head_ = 0;
        in_flight_bytes_ += pending_bytes_;
        pending_bytes_ = 0;
        report();
        return take_result::batch;
    }

    /// `bytes` taken earlier left the queue (written, or dropped by a failed write).
    void written(std::size_t bytes) noexcept {
        std::lock_guard lock(mutex_);
        in_flight_bytes_ -= bytes;
        report();
    }

    /// Whether frames are queued (not counting those in flight).
    bool has_pending() const {
        std::lock_guard lock(mutex_);
        return head_ != pending_.size();
    }

    /// Takes no more frames; what is queued may still be taken. Returns
    /// false if it was already closing or closed.
    bool begin_close() noexcept {
        std::lock_guard lock(mutex_);
        if (closed_ || closing_) return false;
        closing_ = true;
        return true;
    }

    /// Whether the writer is idle (nothing queued, nothing scheduled).
    bool idle() const {
        std::lock_guard lock(mutex_);
        return !scheduled_;
    }

    /// Closes the queue and drops what is queued (not what is in flight).
    void close() noexcept {
        std::lock_guard lock(mutex_);
        closed_ = true;
        pending_.clear();
        head_ = 0;
        pending_bytes_ = 0;
        report();
    }

    /// Bytes queued or in flight.
    std::size_t bytes() const {
        std::lock_guard lock(mutex_);
        return pending_bytes_ + in_flight_bytes_;
    }
    /// Frames queued (not in flight).
    std::size_t frames() const {
        std::lock_guard lock(mutex_);
        return pending_.size() - head_;
    }
    /// Not closed (it may be closing).
    bool is_open() const {
        std::lock_guard lock(mutex_);
        return !closed_;
    }
    /// Neither closed nor closing.
    bool accepting() const {
        std::lock_guard lock(mutex_);
        return !closed_ && !closing_;
    }
    /// The most queued-or-writing bytes.
    std::size_t max_bytes() const noexcept { return max_bytes_; }

    /// A queue that moved by this much since its last report reports again.
    static constexpr std::int64_t report_step = 16 * 1024;
    /// An idle queue keeps at most this many slots.
    static constexpr std::size_t idle_capacity = 16;

private:
    // Under mutex_: brings *reported_ up to date with this queue.
    void report() noexcept {
        const auto now = static_cast<std::int64_t>(pending_bytes_ + in_flight_bytes_);
        if (reported_ && now != reported_bytes_) reported_->fetch_add(now - reported_bytes_, std::memory_order_relaxed);
        reported_bytes_ = now;
    }

    // What a push touches, together: with many streams a push is a cache miss or two.
    mutable std::mutex mutex_;
    std::vector<frame> pending_;
    std::size_t head_ = 0; // frames before it were dropped (drop_oldest)
    std::size_t pending_bytes_ = 0;
    std::size_t in_flight_bytes_ = 0;
    const std::size_t max_bytes_;
    std::int64_t reported_bytes_ = 0;
    std::atomic<std::int64_t>* const reported_;
    const bool drop_oldest_;
    bool scheduled_ = false; // the writer has been woken and not gone idle since
    bool closing_ = false;
    bool closed_ = false;
};

} // namespace sse::detail

#endif
