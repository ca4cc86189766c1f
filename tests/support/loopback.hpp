// Loopback helpers for the server tests: a server whose io_context runs on
// background threads for one test, a tiny test client over a real TCP socket
// on 127.0.0.1 whose every connect, write and read has a deadline (a
// non-blocking socket and poll(2)), a few bytes of HTTP response parsing, and
// bounded waiting for observable conditions.
//
//   sse_test::running_server<sse::server> srv(sse::joe(), options);
//   srv->on_request(...);                       // before start()
//   srv.start();                                // listen on 127.0.0.1:0, run on a thread
//   sse_test::test_client c(srv.port());
//   c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
//   REQUIRE(c.read_until("\r\n\r\n"));          // false at the deadline (default 5 s)
//   REQUIRE(sse_test::eventually([&] { return srv->stats().sessions == 1; }));
#ifndef SSE_TESTS_SUPPORT_LOOPBACK_HPP
#define SSE_TESTS_SUPPORT_LOOPBACK_HPP

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

namespace sse_test {

using test_clock = std::chrono::steady_clock;

/// Checks `condition` about every millisecond until it holds (true) or
/// `timeout` has passed (false). Each step is bounded; nothing waits on a
/// fixed delay for something to have happened.
template <class Condition>
bool eventually(Condition&& condition, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto until = test_clock::now() + timeout;
    for (;;) {
        if (condition()) return true;
        if (test_clock::now() >= until) return condition();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

/// A server of type Server (sse::server, sse::basic_server<P>) on its own
/// io_context, run by `threads` background threads from start() until stop()
/// or destruction (which stop the io_context and join the threads).
template <class Server>
class running_server {
public:
    template <class... Args>
    explicit running_server(Args&&... args) : server_(ioc_, std::forward<Args>(args)...) {}

    running_server(const running_server&) = delete;
    running_server& operator=(const running_server&) = delete;

    ~running_server() { stop(); }

    /// Listens on 127.0.0.1 (any free port) and runs the io_context.
    void start(int threads = 1) {
        server_.listen({asio::ip::make_address("127.0.0.1"), 0});
        for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
    }

    /// Stops the io_context and joins its threads (idempotent).
    void stop() {
        work_.reset();
        ioc_.stop();
        for (std::thread& t : threads_)
            if (t.joinable()) t.join();
        threads_.clear();
    }

    Server& operator*() noexcept { return server_; }
    Server* operator->() noexcept { return &server_; }
    asio::io_context& context() noexcept { return ioc_; }
    unsigned short port() const { return server_.local_endpoint().port(); }

private:
    asio::io_context ioc_;
    Server server_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
    std::vector<std::thread> threads_;
};

/// Runs an io_context on a thread until it runs out of work (or `limit`).
/// join() waits for that; destruction (e.g. after a failed REQUIRE) stops the
/// io_context first, so it never waits long.
class io_thread {
public:
    explicit io_thread(asio::io_context& ioc, std::chrono::milliseconds limit = std::chrono::seconds(20))
        : ioc_(ioc), thread_([&ioc, limit] { ioc.run_for(limit); }) {}
    io_thread(const io_thread&) = delete;
    io_thread& operator=(const io_thread&) = delete;
    ~io_thread() {
        if (thread_.joinable()) {
            ioc_.stop();
            thread_.join();
        }
    }
    void join() { thread_.join(); }

private:
    asio::io_context& ioc_;
    std::thread thread_;
};

/// A blocking client on one TCP connection to 127.0.0.1 whose operations all
/// give up at a deadline. What it reads accumulates in `received`.
class test_client {
public:
    /// What a read ended with.
    enum class status { data, timeout, closed };

    /// Connects to 127.0.0.1:port. `receive_buffer` > 0 sets SO_RCVBUF before
    /// connecting (a small one makes a client that never reads stall its
    /// server quickly). Check connected() (or error) afterwards.
    explicit test_client(unsigned short port, int receive_buffer = 0,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5))
        : socket_(ioc_) {
        connect(port, receive_buffer, timeout);
    }

    test_client(const test_client&) = delete;
    test_client& operator=(const test_client&) = delete;

    bool connected() const noexcept { return connected_; }

    /// Writes all of `bytes`; false on an error or at the deadline.
    bool send(std::string_view bytes, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        const auto until = test_clock::now() + timeout;
        while (!bytes.empty()) {
            std::error_code ec;
            const std::size_t n = socket_.write_some(asio::buffer(bytes.data(), bytes.size()), ec);
            if (ec == asio::error::would_block || ec == asio::error::try_again) {
                if (!wait_for(POLLOUT, until)) return false;
                continue;
            }
            if (ec) {
                error = ec;
                return false;
            }
            bytes.remove_prefix(n);
        }
        return true;
    }

    /// Reads once: whatever is available within `timeout`, appended to
    /// `received`. `closed` when the peer closed (eof) or reset the connection.
    status read_some(std::chrono::milliseconds timeout) { return read_some_until(test_clock::now() + timeout); }

    /// Reads until `received` holds `want` at or after `from` (true), or the
    /// connection closed or the deadline passed without it (false).
    bool read_until(std::string_view want, std::chrono::milliseconds timeout = std::chrono::seconds(5),
                    std::size_t from = 0) {
        const auto until = test_clock::now() + timeout;
        while (received.find(want, std::min(from, received.size())) == std::string::npos) {
            if (closed_ || test_clock::now() >= until) return false;
            read_some_until(until);
        }
        return true;
    }

    /// Reads until `received` holds at least `size` bytes.
    bool read_at_least(std::size_t size, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        const auto until = test_clock::now() + timeout;
        while (received.size() < size) {
            if (closed_ || test_clock::now() >= until) return false;
            read_some_until(until);
        }
        return true;
    }

    /// Reads (keeping the bytes) until the peer closes or resets the
    /// connection (true), or the deadline (false).
    bool read_until_closed(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        const auto until = test_clock::now() + timeout;
        while (!closed_) {
            if (test_clock::now() >= until) return false;
            read_some_until(until);
        }
        return true;
    }

    /// Reads everything that arrives during `duration` (a bounded
    /// observation: "nothing arrives within 400 ms"). Returns the bytes read.
    std::string read_for(std::chrono::milliseconds duration) {
        const std::size_t before = received.size();
        const auto until = test_clock::now() + duration;
        while (!closed_ && test_clock::now() < until) read_some_until(until);
        return received.substr(before);
    }

    /// Reads one HTTP/1.1 response with a Content-Length body from the start
    /// of `received` and removes it from there. Empty if none arrived in time.
    std::string read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        if (!read_until("\r\n\r\n", timeout)) return {};
        const std::size_t head_end = received.find("\r\n\r\n") + 4;
        const std::string_view head = std::string_view(received).substr(0, head_end);
        const std::size_t at = head.find("\r\nContent-Length: ");
        std::size_t length = 0;
        if (at != std::string_view::npos) length = std::strtoul(received.c_str() + at + 18, nullptr, 10);
        if (!read_at_least(head_end + length, timeout)) return {};
        std::string r = received.substr(0, head_end + length);
        received.erase(0, head_end + length);
        return r;
    }

    /// Whether the peer closed or reset the connection (seen by a read).
    bool closed() const noexcept { return closed_; }
    /// Whether it was a reset (ECONNRESET), not an orderly eof.
    bool was_reset() const noexcept { return reset_; }

    /// Closes the connection in an orderly way (FIN).
    void close() {
        std::error_code ignored;
        socket_.close(ignored);
    }

    /// Closes with SO_LINGER 0: the peer sees a reset (RST), not an eof.
    void reset() {
        std::error_code ignored;
        socket_.set_option(asio::socket_base::linger(true, 0), ignored);
        socket_.close(ignored);
    }

    asio::ip::tcp::socket& socket() noexcept { return socket_; }

    std::string received;
    std::error_code error;

private:
    void connect(unsigned short port, int receive_buffer, std::chrono::milliseconds timeout) {
        const auto until = test_clock::now() + timeout;
        socket_.open(asio::ip::tcp::v4(), error);
        if (error) return;
        if (receive_buffer > 0) socket_.set_option(asio::socket_base::receive_buffer_size(receive_buffer), error);
        socket_.non_blocking(true, error);
        if (error) return;
        const asio::ip::tcp::endpoint to(asio::ip::make_address("127.0.0.1"), port);
        // Asio's connect waits without a deadline even on a non-blocking
        // socket: connect(2) and poll(2) instead.
        if (::connect(socket_.native_handle(), to.data(), static_cast<socklen_t>(to.size())) != 0) {
            if (errno != EINPROGRESS) {
                error = std::error_code(errno, std::system_category());
                return;
            }
            if (!wait_for(POLLOUT, until)) {
                error = asio::error::timed_out;
                return;
            }
            int so_error = 0;
            socklen_t len = sizeof so_error;
            ::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_ERROR, &so_error, &len);
            if (so_error != 0) {
                error = std::error_code(so_error, std::system_category());
                return;
            }
        }
        connected_ = true;
    }

    // Waits until the socket is ready for `events` (true) or the deadline (false).
    bool wait_for(short events, test_clock::time_point until) {
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - test_clock::now());
            if (left.count() < 0) return false;
            pollfd p{socket_.native_handle(), events, 0};
            const int r = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
            if (r > 0) return true;
            if (r < 0 && errno != EINTR) return false;
            if (r == 0 && test_clock::now() >= until) return false;
        }
    }

    status read_some_until(test_clock::time_point until) {
        if (closed_) return status::closed;
        if (!wait_for(POLLIN, until)) return status::timeout;
        char buf[65536];
        std::error_code ec;
        const std::size_t n = socket_.read_some(asio::buffer(buf), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) return status::timeout;
        if (ec) {
            closed_ = true;
            reset_ = ec != asio::error::eof;
            if (reset_) error = ec;
            return status::closed;
        }
        received.append(buf, n);
        return status::data;
    }

    asio::io_context ioc_; // the socket needs one; nothing runs on it
    asio::ip::tcp::socket socket_;
    bool connected_ = false;
    bool closed_ = false;
    bool reset_ = false;
};

/// The head of an HTTP response (up to and including the blank line).
inline std::string_view response_head(std::string_view r) {
    const std::size_t end = r.find("\r\n\r\n");
    return end == std::string_view::npos ? std::string_view() : r.substr(0, end + 4);
}

/// What follows the head of an HTTP response.
inline std::string_view response_body(std::string_view r) {
    const std::size_t end = r.find("\r\n\r\n");
    return end == std::string_view::npos ? std::string_view() : r.substr(end + 4);
}

/// Whether the head holds the header line "name: value" exactly.
inline bool has_header_line(std::string_view r, std::string_view line) {
    const std::string_view head = response_head(r);
    std::size_t at = head.find("\r\n");
    while (at != std::string_view::npos && at + 2 < head.size()) {
        const std::size_t next = head.find("\r\n", at + 2);
        if (head.substr(at + 2, next - at - 2) == line) return true;
        at = next;
    }
    return false;
}

} // namespace sse_test

#endif
