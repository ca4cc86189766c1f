// A raw HTTP/1.1 peer for the client's tests, when exact bytes matter (a server that never
// answers, ids and comments just so, a proxy's replies): see scripted_server.
#ifndef SSE_TESTS_SUPPORT_SCRIPTED_PEER_HPP
#define SSE_TESTS_SUPPORT_SCRIPTED_PEER_HPP

#include <sse/http.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sse_test {

// A raw HTTP/1.1 peer on 127.0.0.1, on a thread of its own, for exact bytes: the n-th connection
// gets script[n] (the last entry again for later ones) after its request head, which is recorded;
// then the peer closes, unless the entry holds the connection open (until the peer is destroyed).
struct scripted_server {
    struct reply {
        std::string bytes;  // written after the request head
        bool hold = false;  // keep the connection open after writing
    };

    // A 200 text/event-stream head with `body`, ended by closing (no length).
    static reply stream(std::string body, bool hold = false) {
        return {"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n" + std::move(body),
                hold};
    }

    asio::io_context ioc;
    asio::ip::tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
    std::vector<reply> script;
    std::mutex mutex;
    std::vector<std::string> heads;
    std::vector<std::shared_ptr<asio::ip::tcp::socket>> held;
    std::thread thread;

    explicit scripted_server(std::vector<reply> s) : script(std::move(s)) {
        asio::co_spawn(ioc, accept_loop(), asio::detached);
        thread = std::thread([this] { ioc.run(); });
    }
    ~scripted_server() {
        ioc.stop();
        thread.join();
    }

    unsigned short port() const { return acceptor.local_endpoint().port(); }
    std::string url(std::string_view path = "/") const {
        return "http://127.0.0.1:" + std::to_string(port()) + std::string(path);
    }

    std::vector<std::string> requests() {
        std::lock_guard lock(mutex);
        return heads;
    }
    std::size_t count() {
        std::lock_guard lock(mutex);
        return heads.size();
    }
    // Header `name` of the i-th request head, if present (names compared without case).
    std::optional<std::string> header(std::size_t i, std::string_view name) {
        const std::vector<std::string> all = requests();
        if (i >= all.size()) return std::nullopt;
        std::string_view h = all[i];
        for (std::size_t at = h.find("\r\n"); at != std::string_view::npos && at + 2 < h.size();) {
            const std::size_t end = h.find("\r\n", at + 2);
            const std::string_view line = h.substr(at + 2, end - at - 2);
            at = end;
            const std::size_t colon = line.find(':');
            if (colon == std::string_view::npos || !sse::detail::iequals(line.substr(0, colon), name)) continue;
            std::string_view v = line.substr(colon + 1);
            while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
            return std::string(v);
        }
        return std::nullopt;
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto sock = std::make_shared<asio::ip::tcp::socket>(co_await acceptor.async_accept(asio::use_awaitable));
            asio::co_spawn(ioc, serve(std::move(sock)), asio::detached);
        }
    }
    asio::awaitable<void> serve(std::shared_ptr<asio::ip::tcp::socket> sock) {
        std::string in;
        char chunk[4096];
        while (in.find("\r\n\r\n") == std::string::npos && in.size() < 65536)
            in.append(chunk, co_await sock->async_read_some(asio::buffer(chunk), asio::use_awaitable));
        std::size_t n;
        {
            std::lock_guard lock(mutex);
            n = heads.size();
            heads.push_back(in.substr(0, in.find("\r\n\r\n") + 2));
        }
        const reply& r = script[std::min(n, script.size() - 1)];
        if (!r.bytes.empty()) co_await asio::async_write(*sock, asio::buffer(r.bytes), asio::use_awaitable);
        if (r.hold) {
            held.push_back(std::move(sock));
            co_return;
        }
        std::error_code ignored;
        sock->shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    }
};

} // namespace sse_test

#endif
