// The server over real loopback sockets: the head before any event, a
// user-defined replayer plugged into the server, limits, and the client
// reading what the server publishes.
#include "sse_test.hpp"

#include <sse/client.hpp>
#include <sse/replayer.hpp>
#include <sse/server.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <future>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

// A replayer written against the concept only: keeps everything, manual ids.
class vector_replayer {
public:
    sse::frame put(const sse::message& m, sse::topic_list topics, std::error_code& ec) {
        if (topics.empty()) {
            ec = sse::error::no_topic;
            return {};
        }
        if (!m.id.is_set()) {
            ec = sse::error::no_id;
            return {};
        }
        ec.clear();
        stored_.push_back({m.id.str(), sse::frame(m)});
        return stored_.back().second;
    }
    sse::replay_result replay(const sse::subscription& sub, std::error_code& ec) {
        ec.clear();
        sse::replay_result r;
        bool after = false;
        for (const auto& [id, f] : stored_) {
            if (after) {
                sub.client->send(f);
                ++r.replayed;
            }
            after = after || id == sub.last_event_id.view();
        }
        r.gap = !after;
        return r;
    }

private:
    std::vector<std::pair<std::string, sse::frame>> stored_;
};
static_assert(sse::replayer<vector_replayer>);

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
