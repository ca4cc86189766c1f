// redis_link: one hiredis async connection driven by Asio on a strand (no
// second event loop, no thread). POSIX only: hiredis hands over a file
// descriptor, which Asio watches with posix::stream_descriptor.
#ifndef SSE_DETAIL_REDIS_LINK_HPP
#define SSE_DETAIL_REDIS_LINK_HPP

#include <sse/error.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/strand.hpp>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace sse::detail {

// One hiredis async context driven by Asio: its socket is watched through a
// stream_descriptor (hiredis reads and writes it itself), on one strand, so
// there is no second event loop and no thread. Everything but construction
// runs on the strand.
class redis_link : public std::enable_shared_from_this<redis_link> {
public:
    using strand_type = asio::strand<asio::any_io_executor>;
    using reply_handler = std::function<void(redisReply*)>; // nullptr: no reply (the link broke or closed)

    explicit redis_link(strand_type strand) : strand_(strand), fd_(strand) {}

    redis_link(const redis_link&) = delete;
    redis_link& operator=(const redis_link&) = delete;

    ~redis_link() { detach(); }

    /// Frees the context, safely even from inside one of its callbacks
    /// (hiredis then frees it when the callback returns): it is cut loose
    /// from this object first, and its socket let go of. Pending replies
    /// are dropped without a word.
    void detach() noexcept {
        quiet_ = true;
        if (ac_ == nullptr) return;
        std::error_code ignored;
        fd_.cancel(ignored);
        (void)fd_.release(); // hiredis closes it
        ac_->data = nullptr;
        ac_->ev = {};
        ac_->onConnect = nullptr;
        ac_->onDisconnect = nullptr;
        redisAsyncContext* a = std::exchange(ac_, nullptr);
        redisAsyncFree(a);
    }

    /// Connects; `connected(ec)` once it is (or failed), then `lost(ec)` if a
    /// connected link breaks (not after close()). Both are posted.
    void connect(const std::string& host, unsigned short port, std::function<void(std::error_code)> connected,
                 std::function<void(std::error_code)> lost) {
        connected_cb_ = std::move(connected);
        lost_cb_ = std::move(lost);
        ac_ = redisAsyncConnect(host.c_str(), port);
        if (ac_ == nullptr || ac_->err) {
            if (ac_ != nullptr) {
                reason_ = ac_->errstr;
                redisAsyncFree(ac_);
                ac_ = nullptr;
            }
            return notify_connected(error::provider_unavailable);
        }
        ac_->data = this;
        ac_->ev.data = this;
        ac_->ev.addRead = &add_read;
        ac_->ev.delRead = &del_read;
        ac_->ev.addWrite = &add_write;
        ac_->ev.delWrite = &del_write;
        ac_->ev.cleanup = &cleanup;
        std::error_code ec;
        fd_.assign(ac_->c.fd, ec);
        if (ec) {
            reason_ = ec.message();
            close();
            return notify_connected(error::provider_unavailable);
        }
        redisAsyncSetConnectCallback(ac_, &on_connect);
        redisAsyncSetDisconnectCallback(ac_, &on_disconnect);
    }

    /// Sends a command (pipelined behind those already sent); `on_reply` gets
    /// the reply, or nullptr if none will come. False if the link is down.
    bool command(const std::vector<std::string_view>& args, reply_handler on_reply) {
        if (ac_ == nullptr || closing_) return false;
        argv_.clear();
        lens_.clear();
        for (std::string_view a : args) {
            argv_.push_back(a.data());
            lens_.push_back(a.size());
        }
        auto* h = new reply_handler(std::move(on_reply));
        if (redisAsyncCommandArgv(ac_, &on_reply_cb, h, static_cast<int>(argv_.size()), argv_.data(), lens_.data()) !=
            REDIS_OK) {
            delete h;
            return false;
        }
        if (in_flight_++ == 0) last_reply_ = std::chrono::steady_clock::now();
        return true;
    }

    /// Frees the context now: pending replies get nullptr; `lost` is not called.
    void close() {
        closing_ = true;
        lost_cb_ = nullptr;
        if (ac_ != nullptr) {
            redisAsyncContext* a = ac_;
            redisAsyncFree(a); // calls cleanup, which clears ac_
            ac_ = nullptr;
        }
    }

    bool up() const noexcept { return ac_ != nullptr && connected_ && !closing_; }
    /// Commands sent and not answered yet.
    std::size_t in_flight() const noexcept { return in_flight_; }
    /// When the last reply came (or, with nothing in flight before, when the first command went).
    std::chrono::steady_clock::time_point last_reply() const noexcept { return last_reply_; }
    /// What hiredis said when it failed.
    const std::string& reason() const noexcept { return reason_; }

private:
    static redis_link& self(void* p) noexcept { return *static_cast<redis_link*>(p); }

    static void add_read(void* p) {
        redis_link& l = self(p);
        l.want_read_ = true;
        l.arm_read();
    }
    static void del_read(void* p) { self(p).want_read_ = false; }
    static void add_write(void* p) {
        redis_link& l = self(p);
        l.want_write_ = true;
        l.arm_write();
    }
    static void del_write(void* p) { self(p).want_write_ = false; }
    // hiredis is done with the socket (it closes it itself): let go of it.
    static void cleanup(void* p) {
        redis_link& l = self(p);
        l.want_read_ = l.want_write_ = false;
        l.ac_ = nullptr;
        std::error_code ignored;
        l.fd_.cancel(ignored);
        (void)l.fd_.release();
    }

    static void on_connect(const redisAsyncContext* c, int status) {
        redis_link& l = self(c->data);
        if (status == REDIS_OK) {
            l.connected_ = true;
            l.notify_connected({});
        } else {
            l.reason_ = c->errstr != nullptr ? c->errstr : "connect failed";
            l.notify_connected(error::provider_unavailable); // hiredis frees the context next
        }
    }

    static void on_disconnect(const redisAsyncContext* c, int status) {
        redis_link& l = self(c->data);
        if (status != REDIS_OK && c->errstr != nullptr) l.reason_ = c->errstr;
        l.connected_ = false;
        if (l.lost_cb_ && !l.quiet_) {
            auto f = std::move(l.lost_cb_);
            asio::post(l.strand_, [f = std::move(f)] { f(error::provider_unavailable); });
        }
    }

    static void on_reply_cb(redisAsyncContext* c, void* reply, void* privdata) {
        std::unique_ptr<reply_handler> h(static_cast<reply_handler*>(privdata));
        if (c->data == nullptr) return; // the link is gone (see ~redis_link)
        redis_link& l = self(c->data);
        if (l.in_flight_ > 0) --l.in_flight_;
        l.last_reply_ = std::chrono::steady_clock::now();
        if (l.quiet_) return;
        (*h)(static_cast<redisReply*>(reply));
    }

    void notify_connected(std::error_code ec) {
        if (!connected_cb_ || quiet_) return;
        auto f = std::move(connected_cb_);
        asio::post(strand_, [f = std::move(f), ec] { f(ec); });
    }

    void arm_read() {
        if (reading_ || ac_ == nullptr) return;
        reading_ = true;
        fd_.async_wait(asio::posix::stream_descriptor::wait_read, [self = shared_from_this()](std::error_code ec) {
            self->reading_ = false;
            if (ec || self->ac_ == nullptr || !self->want_read_) return;
            redisAsyncHandleRead(self->ac_); // may free the context (cleanup clears ac_)
            if (self->ac_ != nullptr && self->want_read_) self->arm_read();
        });
    }

    void arm_write() {
        if (writing_ || ac_ == nullptr) return;
        writing_ = true;
        fd_.async_wait(asio::posix::stream_descriptor::wait_write, [self = shared_from_this()](std::error_code ec) {
            self->writing_ = false;
            if (ec || self->ac_ == nullptr || !self->want_write_) return;
            redisAsyncHandleWrite(self->ac_);
            if (self->ac_ != nullptr && self->want_write_) self->arm_write();
        });
    }

    strand_type strand_;
    asio::posix::stream_descriptor fd_;
    redisAsyncContext* ac_ = nullptr;
    bool want_read_ = false, want_write_ = false;
    bool reading_ = false, writing_ = false;
    bool connected_ = false;
    bool closing_ = false;
    bool quiet_ = false; // being destroyed: replies and notifications go nowhere
    std::size_t in_flight_ = 0;
    std::chrono::steady_clock::time_point last_reply_{};
    std::string reason_;
    std::function<void(std::error_code)> connected_cb_;
    std::function<void(std::error_code)> lost_cb_;
    std::vector<const char*> argv_;
    std::vector<std::size_t> lens_;
};

} // namespace sse::detail

#endif
