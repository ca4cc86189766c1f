// The session's write path over loopback sockets (sse::upgrade, no server):
// write coalescing through the io_context's write line (detail/flusher.hpp),
// max_write_delay (0: each write at once; the bound on the time other
// handlers run while a stream waits), order and completeness across many
// streams, a slow reader beside fast ones, and a stream that closes or
// aborts while its coalesced write waits in line.
//
// Publishers here are like demo_server's: one message per posted handler.
// Nothing asserts on timing: the delay test's handlers take *at least* a
// given time (a lower bound is deterministic), and counts are loose bounds.
#include "sse_test.hpp"
#include "support/accepted.hpp"
#include "support/loopback.hpp"
#include "support/streams.hpp"

#include <sse/joe.hpp>
#include <sse/session.hpp>

#include <asio/post.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using sse_test::accepted_connection;
using sse_test::eventually;
using sse_test::text;

// Streams on one io_context (the write line is per io_context), all subscribed to one joe.
struct streams {
    asio::io_context ioc;
    asio::ip::tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
    std::vector<std::unique_ptr<sse_test::test_client>> clients;
    std::vector<std::shared_ptr<sse::session<asio::ip::tcp::socket>>> sessions;
    std::shared_ptr<sse::session_counters> counters = std::make_shared<sse::session_counters>();
    sse::joe joe;

    streams(int n, sse::session_options so, int receive_buffer = 0) {
        so.heartbeat = 0ms;
        so.counters = counters;
        for (int i = 0; i < n; ++i) {
            clients.push_back(std::make_unique<sse_test::test_client>(acceptor.local_endpoint().port(), receive_buffer));
            REQUIRE(clients.back()->connected());
            asio::ip::tcp::socket s(ioc);
            acceptor.accept(s);
            sessions.push_back(sse::upgrade(std::move(s), sse::request{}, joe, {std::string(sse::default_topic)}, so));
        }
        // The heads go out before anything is published.
        ioc.restart();
        for (int round = 0; round < 1000 && counters->bytes_written == 0; ++round) ioc.poll();
        for (auto& c : clients) REQUIRE(c->read_until("\r\n\r\n"));
    }
};

// Every event `data: 0` .. `data: n-1` (its first line), in order, and n events in all.
bool all_in_order(const std::string& received, int n) {
    std::size_t at = 0;
    for (int i = 0; i < n; ++i) {
        const std::string want = "data: " + std::to_string(i) + "\n";
        const std::size_t found = received.find(want, at);
        if (found == std::string::npos) return false;
        at = found + want.size();
    }
    int events = 0;
    for (std::size_t k = received.find("\n\n"); k != std::string::npos; k = received.find("\n\n", k + 2)) ++events;
    return events == n;
}

// Publishes n messages, one per posted handler; each handler first spins for `spin` (at least).
struct publisher {
    sse::joe& joe;
    asio::io_context& ioc;
    int n;
    std::chrono::microseconds spin{0};
    std::size_t pad = 0; // a second data line of this many bytes
    std::function<void(int)> step = [this](int i) {
        if (i == n) return;
        if (spin.count() > 0) {
            const auto until = std::chrono::steady_clock::now() + spin;
            while (std::chrono::steady_clock::now() < until) {
            }
        }
        joe.publish(text(pad ? std::to_string(i) + "\n" + std::string(pad, 'x') : std::to_string(i)));
        asio::post(ioc, [this, i] { step(i + 1); });
    };
    void start() {
        asio::post(ioc, [this] { step(0); });
    }
};

// Runs `s`'s io_context on a thread while every client reads all n events; then stops it.
void deliver(streams& s, publisher& p, int n) {
    p.start();
    std::thread io([&] { s.ioc.run_for(60s); });
    // The whole last event, to its blank line: all_in_order counts the events' ends.
    const std::string last =
        "data: " + std::to_string(n - 1) + "\n" + (p.pad ? "data: " + std::string(p.pad, 'x') + "\n" : "") + "\n";
    for (auto& c : s.clients) CHECK(c->read_until(last, 30s));
    // (the last write's completion, which counts it, may run after its bytes arrived)
    CHECK(eventually([&] { return s.counters->frames_written == std::uint64_t(n) * s.clients.size(); }));
    s.ioc.stop();
    io.join();
    for (auto& c : s.clients) CHECK(all_in_order(c->received, n));
}

} // namespace

TEST_CASE("session: one message per handler to many streams is coalesced: few writes, every event once, in order") {
    constexpr int n = 400;
    sse::session_options so;
    so.max_write_delay = std::chrono::hours(1); // the line's structure alone, not the machine's speed
    streams s(32, so);
    publisher p{s.joe, s.ioc, n};
    deliver(s, p, n);
    const auto frames = s.counters->frames_written.load(), writes = s.counters->writes.load();
    INFO("frames " << frames << ", writes " << writes);
    CHECK(writes * 8 <= frames); // the write line lets the publisher run between two writes of a stream
    CHECK(s.counters->queued_bytes == 0);
}

TEST_CASE("session: max_write_delay = 0 writes as soon as the first frame is queued") {
    constexpr int n = 300;
    sse::session_options so;
    so.max_write_delay = 0us;
    streams s(1, so);
    publisher p{s.joe, s.ioc, n};
    deliver(s, p, n);
    INFO("frames " << s.counters->frames_written << ", writes " << s.counters->writes);
    CHECK(s.counters->writes * 10 >= s.counters->frames_written * 9); // about one frame a write
}

TEST_CASE("session: max_write_delay bounds how long other handlers run while a stream waits in line") {
    // Each publishing handler takes at least 5 ms. With a 1 µs bound every stream waiting in
    // line is past it after one such handler (its budget is 1 µs plus at most 100 µs for each
    // write ahead of it, 15 here), so the line writes all of them in one turn: a write per stream
    // per message, about. With an hour, the line yields after each write.
    constexpr int n = 30;
    auto run = [](std::chrono::microseconds delay) {
        sse::session_options so;
        so.max_write_delay = delay;
        streams s(16, so);
        publisher p{s.joe, s.ioc, n, 5000us};
        deliver(s, p, n);
        return std::pair{s.counters->frames_written.load(), s.counters->writes.load()};
    };
    const auto [tight_frames, tight_writes] = run(1us);
    const auto [loose_frames, loose_writes] = run(std::chrono::hours(1));
    INFO("1 µs: " << tight_frames << " frames in " << tight_writes << " writes; 1 h: " << loose_frames << " in " << loose_writes);
    CHECK(tight_writes * 3 >= tight_frames);
    CHECK(loose_writes * 4 <= loose_frames);
}

TEST_CASE("session: a slow reader beside fast ones: the fast ones get everything, the slow one too once it reads, memory bounded") {
    constexpr int n = 2000; // about 2 MB, in 1 KiB events
    sse::session_options so;
    so.send_buffer_bytes = 16 * 1024;
    streams s(4, so, 16 * 1024);
    publisher p{s.joe, s.ioc, n, 0us, 1000};
    p.start();
    std::thread io([&] { s.ioc.run_for(60s); });
    // Clients 0-2 read; client 3 does not, until they have everything. (The whole last event:
    // reading only up to its first line left its end unread now and then.)
    const std::string last = "data: " + std::to_string(n - 1) + "\ndata: " + std::string(1000, 'x') + "\n\n";
    for (int i = 0; i < 3; ++i) CHECK(s.clients[static_cast<std::size_t>(i)]->read_until(last, 30s));
    const std::size_t backlog = s.sessions[3]->queued_bytes();
    CHECK(backlog > 0);                      // it really is behind...
    CHECK(backlog <= so.max_queue_bytes);    // ... within its budget
    CHECK(s.sessions[3]->is_open());
    CHECK(s.clients[3]->read_until(last, 30s));
    CHECK(eventually([&] { return s.counters->queued_bytes == 0; }));
    s.ioc.stop();
    io.join();
    for (auto& c : s.clients) CHECK(all_in_order(c->received, n));
}

TEST_CASE("session: a stream closed while its coalesced write waits in line writes it, then ends; aborted, it drops it") {
    sse::session_options so;
    streams s(3, so);
    std::vector<std::error_code> ends(3, asio::error::would_block); // read after the io thread is joined
    std::atomic<int> ended{0};
    for (std::size_t i = 0; i < 3; ++i)
        s.sessions[i]->on_end([&ends, &ended, i](std::error_code ec) {
            ends[i] = ec;
            ended.fetch_add(1);
        });
    // The io_context does not run: every stream queues the frames and waits in the write line.
    for (int i = 0; i < 5; ++i) s.joe.publish(text(std::to_string(i)));
    s.sessions[1]->close();
    s.sessions[2]->abort();
    std::thread io([&] { s.ioc.run_for(60s); });
    CHECK(s.clients[0]->read_until("data: 4\n\n"));
    CHECK(s.clients[1]->read_until_closed());
    CHECK(s.clients[2]->read_until_closed());
    CHECK(eventually([&] { return ended.load() == 2; }));
    s.ioc.stop();
    io.join();
    CHECK(all_in_order(s.clients[0]->received, 5));
    CHECK(all_in_order(s.clients[1]->received, 5)); // everything queued, then the end
    CHECK(s.clients[2]->received.find("data: ") == std::string::npos);
    CHECK(ends[0] == asio::error::would_block); // still streaming
    CHECK(!ends[1]);                            // graceful
    CHECK(ends[2] == asio::error::operation_aborted);
    CHECK(s.sessions[0]->is_open());
}
