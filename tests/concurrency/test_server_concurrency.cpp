// The server on an io_context run by 4 threads, publishers on 2 more, and
// reconnecting clients: run under ThreadSanitizer by the test command.
#include "sse_test.hpp"

#include <sse/client.hpp>
#include <sse/replayer.hpp>
#include <sse/server.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("server concurrency: 4 io threads, 2 publishers, clients cut and resuming; every client sees every id once, in order") {
    constexpr int publishers = 2, per_publisher = 400, clients = 8;
    constexpr int total = publishers * per_publisher;

    asio::io_context server_ioc(4);
    sse::server_options o;
    o.session.heartbeat = 0ms;
    sse::server server(server_ioc, sse::joe(sse::finite_replayer(total + 10, {.auto_ids = true})), o);
    server.listen({asio::ip::make_address("127.0.0.1"), 0});
    auto work = asio::make_work_guard(server_ioc);
    std::vector<std::thread> io;
    for (int i = 0; i < 4; ++i) io.emplace_back([&] { server_ioc.run(); });

    // The clients: one io_context thread; each cuts its own stream once, half-way,
    // by a short idle timeout, and must resume without a gap.
    asio::io_context client_ioc;
    struct seen {
        std::mutex m;
        std::vector<long> ids;
        std::atomic<bool> done{false};
    };
    std::vector<std::unique_ptr<seen>> got;
    std::vector<std::unique_ptr<sse::connection>> conns;
    std::atomic<int> connected{0};
    for (int c = 0; c < clients; ++c) {
        got.push_back(std::make_unique<seen>());
        sse::request req;
        req.target = "http://127.0.0.1:" + std::to_string(server.local_endpoint().port()) + "/";
        sse::client cfg;
        cfg.backoff.initial_interval = 5ms;
        cfg.backoff.max_retries = 20;
        cfg.idle_timeout = 200ms; // publishing pauses half-way: every client reconnects then
        conns.push_back(std::make_unique<sse::connection>(client_ioc.get_executor(), req, cfg));
        seen* g = got.back().get();
        sse::connection* conn = conns.back().get();
        conn->subscribe_messages([g, conn](const sse::event_view& ev) {
            std::lock_guard lock(g->m);
            g->ids.push_back(std::stol(std::string(ev.last_event_id)));
            if (g->ids.size() == static_cast<std::size_t>(total)) conn->cancel();
        });
        conn->async_run([g](std::error_code) { g->done = true; });
    }
    std::thread client_thread([&] { client_ioc.run_for(60s); });

    const auto deadline = std::chrono::steady_clock::now() + 30s;
    auto wait_for = [&](auto condition) {
        while (!condition() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
        return condition();
    };
    REQUIRE(wait_for([&] { return server.stats().sessions == clients; }));

    auto publish_half = [&](int from, int count) {
        std::vector<std::thread> pubs;
        for (int p = 0; p < publishers; ++p)
            pubs.emplace_back([&, p] {
                for (int i = from; i < from + count; ++i) {
                    sse::message m;
                    m.append_data(std::to_string(p) + ":" + std::to_string(i));
                    server.publish(m);
                }
            });
        for (auto& t : pubs) t.join();
    };
    publish_half(0, per_publisher / 2);
    // Wait until every client has been cut by its idle timeout and is back.
    REQUIRE(wait_for([&] { return server.stats().accepted >= static_cast<std::uint64_t>(2 * clients); }));
    REQUIRE(wait_for([&] { return server.stats().sessions == clients; }));
    publish_half(per_publisher / 2, per_publisher / 2);

    REQUIRE(wait_for([&] {
        for (auto& g : got)
            if (!g->done) return false;
        return true;
    }));
    for (auto& g : got) {
        std::lock_guard lock(g->m);
        REQUIRE(g->ids.size() == static_cast<std::size_t>(total));
        for (int i = 0; i < total; ++i) REQUIRE(g->ids[static_cast<std::size_t>(i)] == i);
    }

    std::promise<std::error_code> down;
    server.async_shutdown([&](std::error_code ec) { down.set_value(ec); });
    REQUIRE(down.get_future().wait_for(10s) == std::future_status::ready);
    work.reset();
    for (auto& t : io) t.join();
    client_ioc.stop();
    client_thread.join();
    CHECK(server.provider().stats().gaps == 0); // every resume found its Last-Event-ID
}
