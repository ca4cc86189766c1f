// queue_sink: a bounded, thread-safe in-process sink. Subscribe one to a
// provider and take the frames from any thread: useful in tests, in
// benchmarks, and to consume events inside the same process.
#ifndef SSE_QUEUE_SINK_HPP
#define SSE_QUEUE_SINK_HPP

#include <sse/provider.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <system_error>
#include <utility>
#include <vector>

namespace sse {

/// A sink that queues frames up to a byte budget. Past the budget it
/// reports `delivery::overflowed` (once) and accepts nothing more.
class queue_sink final : public sink {
public:
    /// The default budget, 4 MiB (as session_options::max_queue_bytes).
    static constexpr std::size_t default_max_bytes = 4 * 1024 * 1024;

    /// A sink that queues at most `max_bytes` of frames.
    explicit queue_sink(std::size_t max_bytes = default_max_bytes) : max_bytes_(max_bytes) {}

    /// Queues `f`, or answers overflowed (past the budget) or closed.
    delivery send(const frame& f) noexcept override {
        std::unique_lock lock(mutex_);
        if (closed_) return delivery::closed;
        if (overflowed_) return delivery::overflowed;
        if (bytes_ + f.size() > max_bytes_) {
            overflowed_ = true;
            lock.unlock();
            ready_.notify_all();
            return delivery::overflowed;
        }
        const bool was_empty = frames_.empty();
        try {
            frames_.push_back(f);
        } catch (...) {
            overflowed_ = true; // out of memory counts as over budget
            return delivery::overflowed;
        }
        bytes_ += f.size();
        lock.unlock();
        if (was_empty) ready_.notify_all();
        return delivery::accepted;
    }

    /// The provider ends the subscription: wakes take_for, keeps `reason`.
    void close(std::error_code reason) noexcept override {
        {
            std::lock_guard lock(mutex_);
            closed_ = true;
            reason_ = reason;
        }
        ready_.notify_all();
    }

    /// Takes every queued frame without waiting.
    std::vector<frame> take() {
        std::vector<frame> out;
        std::lock_guard lock(mutex_);
        out.swap(frames_);
        bytes_ = 0;
        return out;
    }

    /// Waits up to `timeout` for a frame (or for close/overflow), then takes
    /// every queued frame; empty on timeout.
    template <class Rep, class Period>
    std::vector<frame> take_for(std::chrono::duration<Rep, Period> timeout) {
        std::vector<frame> out;
        std::unique_lock lock(mutex_);
        ready_.wait_for(lock, timeout, [&] { return !frames_.empty() || closed_ || overflowed_; });
        out.swap(frames_);
        bytes_ = 0;
        return out;
    }

    /// Bytes queued now.
    std::size_t queued_bytes() const {
        std::lock_guard lock(mutex_);
        return bytes_;
    }

    /// Whether the budget was exceeded.
    bool overflowed() const {
        std::lock_guard lock(mutex_);
        return overflowed_;
    }

    /// Whether the provider closed the subscription, and why.
    bool closed() const {
        std::lock_guard lock(mutex_);
        return closed_;
    }
    /// Why the provider closed it (e.g. sse::error::provider_closed).
    std::error_code close_reason() const {
        std::lock_guard lock(mutex_);
        return reason_;
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::vector<frame> frames_;
    std::size_t bytes_ = 0;
    const std::size_t max_bytes_;
    bool overflowed_ = false;
    bool closed_ = false;
    std::error_code reason_;
};

} // namespace sse

#endif
