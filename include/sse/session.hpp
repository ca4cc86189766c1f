// session<Stream>: one subscriber's event stream over any Asio async stream
// (TCP, or TLS through ssl.hpp): the response head, a bounded queue of shared frames
// (detail/session_queue.hpp) drained with coalesced, gathered writes
// (detail/flusher.hpp), heartbeats, and the overflow policy.
// sse::upgrade turns a connection whose request someone else parsed into one.
#ifndef SSE_SESSION_HPP
#define SSE_SESSION_HPP

#include <sse/error.hpp>
#include <sse/field.hpp>
#include <sse/frame.hpp>
#include <sse/http.hpp>
#include <sse/log.hpp>
#include <sse/provider.hpp>
#include <sse/detail/flusher.hpp>
#include <sse/detail/session_queue.hpp>

#include <asio/buffer.hpp>
#include <asio/dispatch.hpp>
#include <asio/execution/context.hpp>
#include <asio/post.hpp>
#include <asio/query.hpp>
#include <asio/socket_base.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace sse {

/// What a session does when its queue would exceed its byte budget.
enum class overflow_policy {
    close,       ///< end the stream (the client reconnects and can replay), with a log line
    drop_oldest, ///< drop the oldest queued frames to make room
};

/// Counters that sessions update; share one between many sessions (a
/// server does) to watch them all.
struct session_counters {
    std::atomic<std::int64_t> sessions{0};       ///< live sessions
    /// Bytes queued or being written, all sessions. A session reports its
    /// queue when it takes a batch to write, when a write completes, when it
    /// drops frames and whenever its queue has moved by 16 KiB since the last
    /// report, so the sum lags by less than 16 KiB per session and is exact
    /// for idle ones (one shared atomic per frame would cost more than the
    /// rest of queuing it).
    std::atomic<std::int64_t> queued_bytes{0};
    std::atomic<std::uint64_t> frames_written{0}; ///< frames written, heartbeats included
    std::atomic<std::uint64_t> writes{0};         ///< write calls (frames_written / writes: the batching)
    std::atomic<std::uint64_t> bytes_written{0}; ///< bytes written, response heads included
    std::atomic<std::uint64_t> overflows{0};      ///< sessions closed by the overflow policy
    std::atomic<std::uint64_t> dropped_frames{0}; ///< frames dropped by drop_oldest
    std::atomic<std::uint64_t> heartbeats{0}; ///< heartbeat comments queued
};

/// Configuration of a session.
struct session_options {
    /// A comment is sent when nothing was written for this long; zero: never.
    std::chrono::milliseconds heartbeat{15000};
    /// The most bytes queued or being written before the overflow policy applies.
    std::size_t max_queue_bytes = 4 * 1024 * 1024;
    /// What happens past max_queue_bytes: close the stream (default) or drop the oldest frames.
    overflow_policy on_overflow = overflow_policy::close;
    /// If at least 1 ms, a `retry:` hint follows the response head.
    std::chrono::milliseconds retry{0};
    /// Extra response headers (e.g. CORS).
    std::vector<header> headers{};
    /// How long a graceful close may wait for the queue to drain.
    std::chrono::milliseconds close_timeout{5000};
    /// Write coalescing: a stream with frames to write joins its
    /// io_context's write line, which writes one stream per turn of the
    /// executor, so what is published meanwhile (and while a write is in
    /// flight) goes into the stream's next write. This bounds the time
    /// other handlers may run while the stream waits in line, beyond as long
    /// as the writes ahead of it take (each counted at most 100 µs): under
    /// load coalescing at most about doubles a stream's wait. Past it, the
    /// line writes without yielding. Zero: write as soon as the first frame
    /// is queued (no line; also what happens off an io_context).
    std::chrono::microseconds max_write_delay{1000};
    /// If not zero, the socket's kernel send buffer (SO_SNDBUF). The kernel's
    /// buffer is memory per connection too, and a smaller one lets the queue
    /// budget notice a stalled client sooner. Zero: the system's default.
    std::size_t send_buffer_bytes = 0;
    /// Where the session logs (e.g. an overflow); empty: nowhere.
    logger log{};
    /// Counters to update, shared with other sessions; empty: none.
    std::shared_ptr<session_counters> counters{};
};

namespace detail {

class handle_base {
public:
    virtual ~handle_base() = default;
    virtual void cancel() noexcept = 0;
};

template <class H>
class handle_model final : public handle_base {
public:
    explicit handle_model(H h) : h_(std::move(h)) {}
    void cancel() noexcept override { h_.cancel(); }

private:
    H h_;
};

inline std::string stream_head(const session_options& o) {
    std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "X-Accel-Buffering: no\r\nConnection: close\r\n";
    for (const header& h : o.headers) {
        head += h.name;
        head += ": ";
        head += h.value;
        head += "\r\n";
    }
    head += "\r\n";
    if (o.retry.count() >= 1) head += "retry: " + std::to_string(o.retry.count()) + "\n\n";
    return head;
}

inline const frame& heartbeat_frame() {
    static const frame f = frame::from_bytes(":\n\n");
    return f;
}

// Writes at most this many buffers at once (Asio gathers up to 64 per
// system call); more, smaller frames are copied into one buffer of at most
// max_copy bytes instead, so a backlog costs a bounded copy per write, not a
// copy of the whole backlog.
inline constexpr std::size_t max_gather = 64;
inline constexpr std::size_t max_copy = 256 * 1024;

// The write line of the io_context behind `ex` (a strand's too); null off an io_context.
template <class Executor>
flusher* flusher_of(const Executor& ex) {
    using io_executor = asio::io_context::executor_type;
    if constexpr (std::is_same_v<Executor, io_executor>) {
        return &asio::use_service<flusher>(asio::query(ex, asio::execution::context));
    } else if constexpr (requires { ex.template target<io_executor>(); }) {
        const io_executor* e = ex.template target<io_executor>();
        return e ? flusher_of(*e) : nullptr;
    } else if constexpr (requires { ex.get_inner_executor(); }) {
        return flusher_of(ex.get_inner_executor());
    } else {
        return nullptr;
    }
}

} // namespace detail

/// One client's event stream. Create it with std::make_shared (or through
/// sse::upgrade / the server), then start() it. Thread-safe: the provider
/// calls send() from any thread; everything else runs on the stream's
/// executor (use a strand when several threads run the io_context).
template <class Stream>
class session final : public sink,
                      public detail::flushable,
                      public std::enable_shared_from_this<session<Stream>> {
public:
    /// The stream's executor, on which the session runs.
    using executor_type = typename Stream::executor_type;

    /// A session over an open stream whose request was read; start() it.
    explicit session(Stream stream, session_options options = {})
        : counters_(options.counters),
          queue_(options.max_queue_bytes, options.on_overflow == overflow_policy::drop_oldest,
                 counters_ ? &counters_->queued_bytes : nullptr),
          stream_(std::move(stream)), options_(std::move(options)), timer_(stream_.get_executor()),
          flusher_(options_.max_write_delay.count() > 0 ? detail::flusher_of(stream_.get_executor()) : nullptr) {
        if (options_.counters) options_.counters->sessions.fetch_add(1, std::memory_order_relaxed);
        if (options_.send_buffer_bytes > 0) {
            std::error_code ignored; // a best effort: the kernel may round or cap it
            stream_.lowest_layer().set_option(
                asio::socket_base::send_buffer_size(static_cast<int>(options_.send_buffer_bytes)), ignored);
        }
    }

    /// Takes itself out of the shared counters (sessions; its queue, its queued bytes).
    ~session() override {
        if (options_.counters) options_.counters->sessions.fetch_sub(1, std::memory_order_relaxed);
    }

    session(const session&) = delete;
    session& operator=(const session&) = delete;

    /// The stream's executor.
    executor_type get_executor() noexcept { return stream_.get_executor(); }

    /// Called once when the stream has ended, with the reason (empty for a
    /// graceful close).
    void on_end(std::function<void(std::error_code)> f) { on_end_ = std::move(f); }

    /// Subscribes to `p` (replaying after `last_event_id` if set), then sends
    /// the response head at once and streams. On error nothing was written:
    /// answer the request in another way.
    template <provider P>
    void start(P& p, event_id last_event_id, std::vector<std::string> topics, std::error_code& ec) {
        queue_.hold(); // frames only queue until the head is out
        auto handle = p.subscribe(subscription{this->shared_from_this(), std::move(last_event_id), std::move(topics)}, ec);
        if (ec) return;
        {
            std::unique_lock lock(handle_mutex_);
            if (queue_.is_open()) {
                handle_ = std::make_unique<detail::handle_model<decltype(handle)>>(std::move(handle));
            } else {
                lock.unlock();
                handle.cancel();
            }
        }
        asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->write_head(); });
    }

    template <provider P>
    /// Like start(p, last_event_id, topics, ec), but throws std::system_error.
    void start(P& p, event_id last_event_id = {}, std::vector<std::string> topics = {std::string(default_topic)}) {
        std::error_code ec;
        start(p, std::move(last_event_id), std::move(topics), ec);
        if (ec) detail::throw_error(ec, "sse::session::start");
    }

    /// Queues a frame (from any thread; never waits).
    delivery send(const frame& f) noexcept override { return send_batch(std::span<const frame>(&f, 1)); }

    /// Queues frames in order, under one lock (from any thread; never waits).
    /// The overflow policy applies frame by frame, as to consecutive sends.
    delivery send_batch(std::span<const frame> frames) noexcept override {
        const detail::session_queue::push_result r = queue_.push(frames);
        count(&session_counters::dropped_frames, r.dropped);
        if (r.closed_now) {
            count(&session_counters::overflows, 1);
            log(log_level::warning, "sse: session closed: queue over its budget of " +
                                        std::to_string(options_.max_queue_bytes) + " bytes");
            post_abort(error::queue_overflow);
        }
        if (r.wake) schedule_write();
        return r.result;
    }

    /// Ends the stream gracefully: no more frames are taken, what is queued
    /// is written (within options.close_timeout), then the connection
    /// closes. Called by the provider at shutdown; callable from any thread.
    void close(std::error_code reason = {}) noexcept override {
        if (!queue_.begin_close()) return;
        try {
            asio::post(stream_.get_executor(), [self = this->shared_from_this(), reason] { self->begin_close(reason); });
        } catch (...) {
        }
    }

    /// Ends the stream now, dropping what is queued. Any thread.
    void abort() noexcept { post_abort(asio::error::operation_aborted); }

    /// Bytes queued or being written.
    std::size_t queued_bytes() const { return queue_.bytes(); }

    /// Not yet ended (it may be closing).
    bool is_open() const { return queue_.is_open(); }

    /// Open and not closing.
    bool accepting() const { return queue_.accepting(); }

    /// The underlying stream (e.g. to read its remote endpoint).
    Stream& stream() noexcept { return stream_; }

private:
    // The queue woke up, or a write completed with more queued: the write
    // line writes it in turn (or, with no line, a posted handler at once).
    void schedule_write() noexcept {
        try {
            if (flusher_) return flusher_->enqueue(this->shared_from_this(), options_.max_write_delay);
            asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->write_pending(); });
        } catch (...) { // out of memory: nothing will write this stream again
            post_abort(std::make_error_code(std::errc::not_enough_memory));
        }
    }

    // The write line's turn for this stream.
    void flush() noexcept override {
        try {
            asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->write_pending(); });
        } catch (...) {
        }
    }

    void write_head() {
        if (!is_open()) return;
        head_ = detail::stream_head(options_);
        asio::async_write(stream_, asio::buffer(head_), [self = this->shared_from_this()](std::error_code ec, std::size_t n) {
            std::string().swap(self->head_); // (assigning an empty string would keep the buffer)
            if (ec) return self->do_abort(ec);
            self->count(&session_counters::bytes_written, n);
            self->read_until_closed();
            self->arm_heartbeat();
            self->write_pending();
        });
    }

    // Writes the batch taken from the queue: in one gathered write when it
    // is at most max_gather frames, else in chunks of 64 frames or max_copy
    // bytes. What is queued meanwhile waits for the next batch.
    void write_pending() {
        if (write_at_ == writing_.size()) { // the batch is out: take the next one
            writing_.clear();
            write_at_ = 0;
            switch (queue_.take(writing_)) {
            case detail::session_queue::take_result::closed:
                return;
            case detail::session_queue::take_result::idle:
                if (writing_.capacity() > detail::session_queue::idle_capacity) std::vector<frame>().swap(writing_);
                if (buffers_.capacity() > detail::session_queue::idle_capacity) std::vector<asio::const_buffer>().swap(buffers_);
                // Swapped, not assigned: libstdc++'s move-assignment from a short (empty) string
                // keeps the old buffer, so every stream that once copied a backlog held up to
                // max_copy for the rest of its life.
                std::string().swap(scratch_);
                if (close_requested_) finish_close();
                return;
            case detail::session_queue::take_result::batch:
                break;
            }
        }
        buffers_.clear();
        chunk_frames_ = 0;
        chunk_bytes_ = 0;
        const std::size_t left = writing_.size() - write_at_;
        std::size_t first_bytes = 0; // of the next max_gather frames
        for (std::size_t i = 0; i < std::min(left, detail::max_gather); ++i) first_bytes += writing_[write_at_ + i].size();
        if (left <= detail::max_gather || first_bytes >= detail::max_copy) {
            chunk_frames_ = std::min(left, detail::max_gather);
            chunk_bytes_ = first_bytes;
            for (std::size_t i = 0; i < chunk_frames_; ++i) {
                const frame& f = writing_[write_at_ + i];
                buffers_.emplace_back(f.data(), f.size());
            }
        } else { // many small frames: copy the first max_gather and as many more as fit
            chunk_frames_ = detail::max_gather;
            chunk_bytes_ = first_bytes;
            for (std::size_t i = write_at_ + chunk_frames_; i < writing_.size(); ++i) {
                const std::size_t n = writing_[i].size();
                if (chunk_bytes_ + n > detail::max_copy) break;
                chunk_bytes_ += n;
                ++chunk_frames_;
            }
            // Exactly what is copied: reserving max_copy each time would map and
            // unmap a quarter megabyte (glibc's mmap threshold) per write.
            scratch_.clear();
            scratch_.reserve(chunk_bytes_);
            for (std::size_t i = write_at_; i < write_at_ + chunk_frames_; ++i) scratch_.append(writing_[i].bytes());
            buffers_.emplace_back(scratch_.data(), scratch_.size());
        }
        // A span, not the vector: the operation copies its buffer sequence.
        asio::async_write(stream_, std::span<const asio::const_buffer>(buffers_),
                          [self = this->shared_from_this()](std::error_code ec, std::size_t n) { self->on_written(ec, n); });
    }

    void on_written(std::error_code ec, std::size_t n) {
        const std::size_t frames = chunk_frames_;
        // A heartbeat alone is not traffic: the next one is due a whole interval after it.
        const bool only_heartbeat = frames == 1 && writing_[write_at_].same_bytes(detail::heartbeat_frame());
        for (std::size_t i = write_at_; i < write_at_ + frames; ++i) writing_[i] = frame(); // let go of the bytes now
        write_at_ += frames;
        queue_.written(chunk_bytes_);
        if (ec) return do_abort(ec);
        count(&session_counters::writes, 1);
        count(&session_counters::frames_written, frames);
        count(&session_counters::bytes_written, n);
        if (!only_heartbeat) wrote_since_tick_ = true;
        // The rest of a backlog goes on at once; what arrived during the write waits for its
        // turn in the write line, so that it gathers what the publishers add meanwhile.
        if (write_at_ == writing_.size() && flusher_ && !close_requested_ && queue_.has_pending()) return schedule_write();
        write_pending();
    }

    // The client sends nothing after its request; a read completes only when
    // it goes away (or misbehaves), and then the session ends at once.
    void read_until_closed() {
        stream_.async_read_some(asio::buffer(read_buf_), [self = this->shared_from_this()](std::error_code ec, std::size_t) {
            if (ec) return self->do_abort(ec == asio::error::eof ? std::error_code() : ec);
            self->read_until_closed();
        });
    }

    void arm_heartbeat() {
        // Not once closing: the timer then measures the close timeout.
        if (options_.heartbeat.count() <= 0 || !accepting()) return;
        timer_.expires_after(options_.heartbeat);
        timer_.async_wait([weak = this->weak_from_this()](std::error_code ec) {
            const auto self = weak.lock();
            if (ec || !self || !self->accepting()) return;
            if (!self->wrote_since_tick_ && self->send(detail::heartbeat_frame()) == delivery::accepted)
                self->count(&session_counters::heartbeats, 1);
            self->wrote_since_tick_ = false;
            self->arm_heartbeat();
        });
    }

    void begin_close(std::error_code reason) {
        close_reason_ = reason;
        close_requested_ = true;
        cancel_subscription();
        timer_.cancel();
        timer_.expires_after(options_.close_timeout);
        timer_.async_wait([weak = this->weak_from_this()](std::error_code ec) {
            if (ec) return;
            if (const auto self = weak.lock()) self->do_abort(error::timeout);
        });
        if (queue_.idle()) finish_close(); // else the writer finishes when it finds the queue empty
    }

    // Everything queued was written: half-close, so the client sees the end
    // of the stream after the last byte, then close.
    void finish_close() {
        std::error_code ignored;
        stream_.lowest_layer().shutdown(asio::socket_base::shutdown_send, ignored);
        do_abort(close_reason_);
    }

    void post_abort(std::error_code reason) noexcept {
        try {
            asio::post(stream_.get_executor(), [self = this->shared_from_this(), reason] { self->do_abort(reason); });
        } catch (...) {
        }
    }

    void do_abort(std::error_code reason) {
        queue_.close();
        cancel_subscription();
        if (ended_) return;
        ended_ = true;
        timer_.cancel();
        std::error_code ignored;
        stream_.lowest_layer().close(ignored);
        if (on_end_) {
            auto f = std::move(on_end_);
            f(reason);
        }
    }

    void cancel_subscription() {
        std::unique_ptr<detail::handle_base> h;
        {
            std::lock_guard lock(handle_mutex_);
            h = std::move(handle_);
        }
        if (h) h->cancel();
    }

    void count(std::atomic<std::uint64_t> session_counters::*counter, std::uint64_t n) noexcept {
        if (n > 0 && options_.counters) (options_.counters.get()->*counter).fetch_add(n, std::memory_order_relaxed);
    }
    void log(log_level level, const std::string& text) noexcept { detail::log_to(options_.log, level, text); }

    // First, next to the vtable that send() goes through: with many streams, what one
    // publish touches per stream is a cache miss or two.
    std::shared_ptr<session_counters> counters_; // options_.counters, outliving queue_
    detail::session_queue queue_;                // shared with send() callers; thread-safe

    Stream stream_;
    session_options options_;
    asio::steady_timer timer_;
    detail::flusher* const flusher_; // the io_context's write line; null: write at once
    std::mutex handle_mutex_;
    std::unique_ptr<detail::handle_base> handle_; // the subscription, under handle_mutex_

    // Used on the executor only.
    std::vector<frame> writing_;       // the batch being written...
    std::size_t write_at_ = 0;         // ... from this frame on
    std::size_t chunk_frames_ = 0;     // the frames and bytes of the write under way
    std::size_t chunk_bytes_ = 0;
    std::vector<asio::const_buffer> buffers_;
    std::string scratch_;
    std::string head_;
    std::array<char, 64> read_buf_{};
    bool wrote_since_tick_ = false;
    bool close_requested_ = false;
    bool ended_ = false;
    std::error_code close_reason_;
    std::function<void(std::error_code)> on_end_;
};

/// The Last-Event-ID of a request: its first value, unset if absent, empty
/// or invalid (a line break or NUL).
inline event_id last_event_id_of(const request& req) {
    const std::string_view v = req.header_value("Last-Event-ID");
    if (v.empty()) return {};
    std::error_code ec;
    return event_id::make(v, ec);
}

/// Turns an accepted connection whose request was parsed elsewhere (by any
/// HTTP framework) into a running session on `topics` of provider `p`.
/// The request's Last-Event-ID drives replay.
template <class Stream, provider P>
std::shared_ptr<session<Stream>> upgrade(Stream stream, const request& req, P& p, std::vector<std::string> topics,
                                         session_options options, std::error_code& ec) {
    auto s = std::make_shared<session<Stream>>(std::move(stream), std::move(options));
    s->start(p, last_event_id_of(req), std::move(topics), ec);
    if (ec) return nullptr;
    return s;
}

/// Like upgrade(..., ec), but throws std::system_error.
template <class Stream, provider P>
std::shared_ptr<session<Stream>> upgrade(Stream stream, const request& req, P& p,
                                         std::vector<std::string> topics = {std::string(default_topic)},
                                         session_options options = {}) {
    std::error_code ec;
    auto s = upgrade(std::move(stream), req, p, std::move(topics), std::move(options), ec);
    if (ec) detail::throw_error(ec, "sse::upgrade");
    return s;
}

} // namespace sse

#endif
