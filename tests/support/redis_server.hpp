// A real redis-server for one test: started on a free loopback port without
// persistence, killed or restarted on the same port when a test says so, and
// always stopped at the end (RAII). A few synchronous commands (hiredis'
// blocking API) let a test look at what is stored.
//
//   SSE_TEST_NEED_REDIS();                 // fails (or skips, SSE_TEST_WITHOUT=redis-server) without it
//   sse_test::redis_server redis;          // started, answering PING
//   redis.command({"XLEN", "{sse}:topic:"});
//   redis.kill();                          // SIGKILL: its data is gone
//   redis.restart();                       // same port, empty
#ifndef SSE_TESTS_SUPPORT_REDIS_SERVER_HPP
#define SSE_TESTS_SUPPORT_REDIS_SERVER_HPP

#include "support/node_peer.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

namespace sse_test {

/// The redis-server found at configure time (SSE_REDIS_SERVER_EXECUTABLE), if it is still there.
inline std::string redis_server_executable() {
#ifdef SSE_REDIS_SERVER_EXECUTABLE
    const std::string path = SSE_REDIS_SERVER_EXECUTABLE;
    if (!path.empty() && ::access(path.c_str(), X_OK) == 0) return path;
#endif
    return {};
}

/// A port on 127.0.0.1 that was free a moment ago.
inline unsigned short free_loopback_port() {
    asio::io_context ioc;
    asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

/// One redis-server process on 127.0.0.1.
class redis_server {
public:
    /// Starts on a free port (another one if that was taken meanwhile).
    redis_server() {
        for (int attempt = 0; attempt < 5; ++attempt) {
            port_ = free_loopback_port();
            if (try_start()) return;
        }
        throw std::runtime_error("redis-server did not start (5 ports tried)");
    }

    redis_server(const redis_server&) = delete;
    redis_server& operator=(const redis_server&) = delete;

    unsigned short port() const noexcept { return port_; }

    /// SIGKILL: gone at once, with everything it held (no persistence).
    void kill() { process_.kill_now(); }

    /// Starts again on the same port, empty.
    void restart() {
        process_.kill_now();
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!try_start()) {
            if (std::chrono::steady_clock::now() > until) throw std::runtime_error("redis-server did not restart");
            std::this_thread::sleep_for(std::chrono::milliseconds(20)); // the port may still be held: retry
        }
    }

    /// One command on a new blocking connection; the reply as text (a
    /// string, status or error as is, an integer in decimal, an array as its
    /// element count). Throws if Redis cannot be reached.
    std::string command(const std::vector<std::string>& args) const {
        const std::unique_ptr<redisContext, void (*)(redisContext*)> c(connect(), &redisFree);
        if (c == nullptr || c->err) throw std::runtime_error("cannot connect to redis on port " + std::to_string(port_));
        std::vector<const char*> argv;
        std::vector<std::size_t> lens;
        for (const std::string& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        auto* r = static_cast<redisReply*>(
            redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data()));
        if (r == nullptr) throw std::runtime_error("redis: no reply");
        std::string out;
        switch (r->type) {
        case REDIS_REPLY_INTEGER: out = std::to_string(r->integer); break;
        case REDIS_REPLY_ARRAY: out = std::to_string(r->elements); break;
        case REDIS_REPLY_NIL: out = "(nil)"; break;
        default: out.assign(r->str, r->len); break;
        }
        freeReplyObject(r);
        return out;
    }

    /// Whether it answers PING.
    bool ping() const {
        try {
            return command({"PING"}) == "PONG";
        } catch (const std::exception&) {
            return false;
        }
    }

private:
    redisContext* connect() const {
        const timeval timeout{2, 0};
        return redisConnectWithTimeout("127.0.0.1", port_, timeout);
    }

    bool try_start() {
        const std::string exe = redis_server_executable();
        if (exe.empty()) throw std::runtime_error("redis-server is not installed");
        process_ = child_process({exe, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes", "--dir",
                                  "/tmp", "--logfile", "/dev/null", "--databases", "4"},
                                 /*die_with_parent=*/true);
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < until) {
            if (ping()) return true;
            int status = 0;
            if (::waitpid(process_.pid(), &status, WNOHANG) == process_.pid()) return false; // it exited: port taken?
            std::this_thread::sleep_for(std::chrono::milliseconds(5)); // polling start-up, bounded above
        }
        return false;
    }

    unsigned short port_ = 0;
    child_process process_;
};

} // namespace sse_test

/// Fails the test if redis-server is not installed, or skips the rest of it if SSE_TEST_WITHOUT
/// names redis-server.
#define SSE_TEST_NEED_REDIS()                                                                       \
    do {                                                                                            \
        if (::sse_test::redis_server_executable().empty())                                         \
            SSE_SKIP("redis-server", "redis-server was not found at configure time: install it "   \
                                     "(Debian: redis-server) and re-run CMake to run this test");  \
    } while (false)

#endif
