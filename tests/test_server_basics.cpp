// The server over real loopback sockets: the head before any event, a
// user-defined replayer plugged into the server, limits, and the client
// reading what the server publishes.
#include "sse_test.hpp"
#include "support/vector_replayer.hpp"

#include <sse/client.hpp>
#include <sse/replayer.hpp>
#include <sse/server.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <algorithm>
#include <future>
#include <sys/resource.h>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

using sse_test::vector_replayer; // tests/support/vector_replayer.hpp

// Runs a server's io_context on a thread for the test's lifetime.
template <class Server>
struct running {
    asio::io_context ioc;
    Server server;
    std::thread thread;

    template <class... Args>
    explicit running(Args&&... args) : server(ioc, std::forward<Args>(args)...) {}
    void start() {
        server.listen({asio::ip::make_address("127.0.0.1"), 0});
        thread = std::thread([this] { ioc.run(); });
    }
    ~running() {
        ioc.stop();
        if (thread.joinable()) thread.join();
    }
    unsigned short port() const { return server.local_endpoint().port(); }
};

// A blocking client socket whose reads give up after a deadline.
struct raw_client {
    asio::io_context ioc;
    asio::ip::tcp::socket s{ioc};
    std::string got;

    explicit raw_client(unsigned short port) { s.connect({asio::ip::make_address("127.0.0.1"), port}); }
    void send(std::string_view bytes) { asio::write(s, asio::buffer(bytes)); }

    // Reads until `want` appears in what was received (true) or the deadline (false).
    bool read_until(std::string_view want, std::chrono::milliseconds deadline = 5s) {
        const auto until = std::chrono::steady_clock::now() + deadline;
        char buf[4096];
        while (got.find(want) == std::string::npos) {
            if (std::chrono::steady_clock::now() > until) return false;
            bool done = false, failed = false;
            s.async_read_some(asio::buffer(buf), [&](std::error_code ec, std::size_t n) {
                done = true;
                if (ec) failed = true;
                got.append(buf, n);
            });
            ioc.restart();
            ioc.run_for(100ms);
            if (!done) {
                s.cancel();
                ioc.restart();
                ioc.run(); // let the cancelled read finish
            } else if (failed) {
                return got.find(want) != std::string::npos;
            }
        }
        return true;
    }
};

} // namespace

TEST_CASE("server basics: the head arrives before any event is published") {
    running<sse::server> srv;
    srv.start();
    raw_client c(srv.port());
    c.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(c.read_until("\r\n\r\n"));
    CHECK(c.got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(c.got.find("Content-Type: text/event-stream\r\n") != std::string::npos);
    CHECK(c.got.find("Cache-Control: no-cache\r\n") != std::string::npos);
    CHECK(c.got.find("X-Accel-Buffering: no\r\n") != std::string::npos);
    sse::message m;
    m.append_data("hello");
    srv.server.publish(m);
    REQUIRE(c.read_until("data: hello\n\n"));
}

TEST_CASE("server basics: a user-defined replayer plugged into the server replays after Last-Event-ID") {
    running<sse::server> srv{sse::joe(vector_replayer())};
    srv.start();
    for (int i = 1; i <= 3; ++i) {
        sse::message m;
        m.id = sse::event_id(std::to_string(i));
        m.append_data("m" + std::to_string(i));
        srv.server.publish(m);
    }
    raw_client c(srv.port());
    c.send("GET / HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\r\n\r\n");
    REQUIRE(c.read_until("id: 3\ndata: m3\n\n"));
    CHECK(c.got.find("id: 2\ndata: m2\n\n") != std::string::npos);
    CHECK(c.got.find("data: m1\n") == std::string::npos);
    CHECK(srv.server.provider().stats().replayed == 2);
}

TEST_CASE("server basics: limits answer precisely") {
    sse::server_options o;
    o.max_head_bytes = 1024;
    running<sse::server> srv{sse::joe(), o};
    srv.start();
    {
        raw_client c(srv.port());
        c.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
        REQUIRE(c.read_until("\r\n\r\n"));
        CHECK(c.got.rfind("HTTP/1.1 431 ", 0) == 0);
    }
    {
        raw_client c(srv.port());
        c.send("garbage\r\n\r\n");
        REQUIRE(c.read_until("\r\n\r\n"));
        CHECK(c.got.rfind("HTTP/1.1 400 ", 0) == 0);
    }
    CHECK(srv.server.stats().rejected_head_too_large == 1);
    CHECK(srv.server.stats().rejected_bad_request == 1);
}

TEST_CASE("server basics: the client reads what the server publishes, and resumes with Last-Event-ID") {
    sse::server_options o;
    o.session.heartbeat = 0ms; // silence, so the client's idle timeout cuts the stream
    running<sse::server> srv{sse::joe(sse::finite_replayer(100, {.auto_ids = true})), o};
    srv.start();
    auto publish = [&](int n) {
        for (int i = 0; i < n; ++i) {
            sse::message m;
            m.append_data("x");
            srv.server.publish(m);
        }
    };
    asio::io_context ioc;
    sse::request req;
    req.target = "http://127.0.0.1:" + std::to_string(srv.port()) + "/";
    sse::client cfg;
    cfg.backoff.initial_interval = 10ms;
    cfg.idle_timeout = 300ms;
    int retries = 0;
    cfg.on_retry = [&](std::error_code ec, std::chrono::milliseconds) {
        CHECK(ec == sse::error::timeout);
        if (++retries == 1) publish(2); // while the client is away
    };
    sse::connection conn(ioc.get_executor(), req, cfg);
    std::vector<std::string> ids;
    conn.subscribe_messages([&](const sse::event_view& ev) {
        ids.emplace_back(ev.last_event_id);
        if (ids.size() == 4) conn.cancel();
    });
    std::error_code result;
    bool done = false;
    conn.async_run([&](std::error_code ec) {
        result = ec;
        done = true;
    });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (srv.server.stats().sessions < 1 && std::chrono::steady_clock::now() < deadline) ioc.run_for(10ms);
    publish(2);
    while (!done && std::chrono::steady_clock::now() < deadline) ioc.run_for(10ms);
    REQUIRE(done);
    CHECK(result == asio::error::operation_aborted);
    CHECK(ids == std::vector<std::string>{"0", "1", "2", "3"});
    CHECK(retries == 1);
    CHECK(srv.server.provider().stats().replayed == 2);
    CHECK(conn.last_event_id() == "3");
}

TEST_CASE("server basics: 200 readers get everything in order while one that never reads is closed at its budget") {
    rlimit nofile{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &nofile) == 0);
    if (nofile.rlim_cur < 2048) {
        nofile.rlim_cur = std::min<rlim_t>(nofile.rlim_max, 2048);
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &nofile) == 0);
    }
    sse::server_options o;
    o.session.max_queue_bytes = 64 * 1024;
    o.session.send_buffer_bytes = 16 * 1024; // so the stuck client's kernel buffer fills fast
    o.session.heartbeat = 0ms;
    running<sse::server> srv{sse::joe(), o};
    srv.start();
    constexpr int readers = 200, messages = 3000;
    std::vector<std::unique_ptr<raw_client>> clients;
    for (int i = 0; i < readers + 1; ++i) {
        clients.push_back(std::make_unique<raw_client>(srv.port()));
        if (i == readers) clients.back()->s.set_option(asio::socket_base::receive_buffer_size(4096));
        clients.back()->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    for (int i = 0; i < readers; ++i) REQUIRE(clients[static_cast<std::size_t>(i)]->read_until("\r\n\r\n"));
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (srv.server.stats().sessions < readers + 1 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    REQUIRE(srv.server.stats().sessions == readers + 1);

    const std::string pad(90, 'p');
    std::int64_t max_queued = 0;
    for (int i = 0; i < messages; ++i) {
        sse::message m;
        m.append_data(std::to_string(i) + " " + pad);
        srv.server.publish(m);
        if (i % 100 == 99) { // the readers keep reading; the stuck one never does
            for (int r = 0; r < readers; ++r)
                REQUIRE(clients[static_cast<std::size_t>(r)]->read_until(std::to_string(i) + " ", 10s));
            max_queued = std::max(max_queued, srv.server.stats().queued_bytes);
        }
    }
    for (int r = 0; r < readers; ++r) {
        raw_client& c = *clients[static_cast<std::size_t>(r)];
        REQUIRE(c.read_until(std::to_string(messages - 1) + " "));
        std::size_t at = 0; // every message, in order
        for (int i = 0; i < messages; ++i) {
            at = c.got.find("data: " + std::to_string(i) + " ", at);
            REQUIRE(at != std::string::npos);
        }
    }
    CHECK(srv.server.stats().overflows == 1);
    CHECK(max_queued <= static_cast<std::int64_t>((readers + 1) * o.session.max_queue_bytes));
    while (srv.server.stats().sessions > readers && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    CHECK(srv.server.stats().sessions == readers);
    CHECK(srv.server.provider().stats().subscribers == static_cast<std::size_t>(readers));
}

TEST_CASE("server basics: a thousand slowloris heads are closed at the timeout while a stream is served") {
    // 1,000 client sockets and the server's 1,000 need more than the usual 1,024 descriptors.
    rlimit nofile{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &nofile) == 0);
    constexpr std::size_t slow_count = 1000;
    if (nofile.rlim_cur < 3 * slow_count) {
        nofile.rlim_cur = std::min<rlim_t>(nofile.rlim_max, 3 * slow_count);
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &nofile) == 0);
    }
    REQUIRE(nofile.rlim_cur >= 2 * slow_count + 64);

    sse::server_options o;
    o.head_timeout = 300ms;
    running<sse::server> srv{sse::joe(), o};
    srv.start();
    asio::io_context ioc;
    std::vector<asio::ip::tcp::socket> slow;
    const std::string half = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    for (std::size_t i = 0; i < slow_count; ++i) {
        slow.emplace_back(ioc);
        slow.back().connect({asio::ip::make_address("127.0.0.1"), srv.port()});
        asio::write(slow.back(), asio::buffer(half));
    }
    raw_client ok(srv.port());
    ok.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(ok.read_until("\r\n\r\n"));
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    // (timed_out counts before the connection is released: wait for both)
    while ((srv.server.stats().timed_out < slow_count || srv.server.stats().connections > 1) &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
    CHECK(srv.server.stats().timed_out == slow_count);
    CHECK(srv.server.stats().connections == 1); // only the stream is left
    // The stream still works.
    sse::message m;
    m.append_data("still here");
    srv.server.publish(m);
    CHECK(ok.read_until("data: still here\n\n"));
}

TEST_CASE("server basics: shutdown sends the final event, ends every stream, and completes even with a stuck client") {
    sse::server_options o;
    o.session.heartbeat = 0ms;
    running<sse::server> srv{sse::joe(), o};
    srv.start();
    raw_client reader(srv.port()), stuck(srv.port());
    reader.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    stuck.s.set_option(asio::socket_base::receive_buffer_size(4096));
    stuck.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(reader.read_until("\r\n\r\n"));
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (srv.server.stats().sessions < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    sse::message big;
    big.append_data(std::string(512 * 1024, 'b')); // more than the stuck client's socket takes
    srv.server.publish(big);
    REQUIRE(reader.read_until(std::string(1000, 'b')));

    sse::shutdown_options how;
    how.final_message.emplace();
    how.final_message->type = sse::event_type("close");
    how.final_message->append_data("bye");
    how.deadline = 500ms;
    std::promise<std::error_code> done;
    srv.server.async_shutdown(how, [&](std::error_code ec) { done.set_value(ec); });
    auto f = done.get_future();
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    const std::error_code ec = f.get();
    CHECK((!ec || ec == sse::error::timeout)); // the stuck stream may have to be cut
    REQUIRE(reader.read_until("event: close\ndata: bye\n\n"));
    std::error_code pub;
    srv.server.publish(big, pub);
    CHECK(pub == sse::error::provider_closed);
    CHECK(srv.server.stats().connections == 0);
}
