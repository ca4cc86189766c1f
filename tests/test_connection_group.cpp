// Lifetime of asynchronous client connections: sse::async_run(shared_ptr)
// owns a connection until its run completes, and connection_group stops many
// together and completes once each run's handler has returned (issue 20).
#include "sse_test.hpp"
#include "support/loopback.hpp"
#include "support/streams.hpp"

#include <sse/client.hpp>
#include <sse/connection_group.hpp>
#include <sse/server.hpp>

#include <asio/error.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/strand.hpp>
#include <asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

namespace {

using sse_test::eventually;
using sse_test::quiet;
using sse_test::running_server;

sse::request stream_request(unsigned short port) {
    sse::request req;
    req.target = "http://127.0.0.1:" + std::to_string(port) + "/";
    return req;
}

sse::client no_retries() {
    sse::client cfg;
    cfg.backoff.max_retries = -1; // the server's end is the end
    return cfg;
}

} // namespace

TEST_CASE("sse::async_run(shared_ptr): a connection left in a scope keeps running until its stream ends",
          "[client][lifetime]") {
    running_server<sse::server> srv(sse::joe(), quiet());
    srv.start();
    asio::io_context ioc;
    const auto work = asio::make_work_guard(ioc);
    std::mutex mutex;
    std::vector<std::string> got;
    std::promise<std::error_code> done;
    {
        auto conn = std::make_shared<sse::connection>(ioc.get_executor(), stream_request(srv.port()), no_retries());
        conn->subscribe_messages([&](const sse::event_view& ev) {
            std::lock_guard lock(mutex);
            got.emplace_back(ev.data);
        });
        sse::async_run(conn, [&](std::error_code ec) { done.set_value(ec); });
    } // the only pointer the test had is gone
    sse_test::io_thread client(ioc);
    REQUIRE(eventually([&] { return srv->stats().sessions == 1; }));
    srv->publish(sse::message("one"));
    srv->publish(sse::message("two"));
    REQUIRE(eventually([&] {
        std::lock_guard lock(mutex);
        return got.size() == 2;
    }));
    std::future<void> shut = srv->async_shutdown(asio::use_future);
    auto result = done.get_future();
    REQUIRE(result.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(!result.get()); // a clean end with retries off, not operation_aborted
    CHECK(got == std::vector<std::string>{"one", "two"});
    REQUIRE(shut.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
}

TEST_CASE("sse::async_run(shared_ptr) takes any completion token and keeps the handler's executor",
          "[client][lifetime]") {
    running_server<sse::server> srv(sse::joe(), quiet());
    srv.start();
    asio::io_context ioc;
    const auto work = asio::make_work_guard(ioc);
    auto strand = asio::make_strand(ioc);
    auto conn = std::make_shared<sse::connection>(ioc.get_executor(), stream_request(srv.port()), no_retries());
    std::promise<bool> on_strand;
    sse::async_run(conn, asio::bind_executor(strand, [&](std::error_code) {
                       on_strand.set_value(strand.running_in_this_thread());
                   }));
    auto second = std::make_shared<sse::connection>(ioc.get_executor(), stream_request(srv.port()), no_retries());
    std::future<void> f = sse::async_run(second, asio::use_future);
    second.reset(); // owned by the run
    sse_test::io_thread client(ioc);
    REQUIRE(eventually([&] { return srv->stats().sessions == 2; }));
    conn->cancel();
    auto s = on_strand.get_future();
    REQUIRE(s.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(s.get());
    std::future<void> shut = srv->async_shutdown(asio::use_future);
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK_NOTHROW(f.get());
    REQUIRE(shut.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
}

TEST_CASE("connection_group: async_stop cancels every run and completes after their handlers returned",
          "[client][lifetime]") {
    running_server<sse::server> srv(sse::joe(), quiet());
    srv.start();
    asio::io_context ioc;
    const auto work = asio::make_work_guard(ioc);
    sse::connection_group group;
    std::atomic<int> handled{0};
    std::mutex mutex;
    std::vector<std::error_code> results;
    constexpr int runs = 3;
    for (int i = 0; i < runs; ++i) {
        auto conn = std::make_shared<sse::connection>(ioc.get_executor(), stream_request(srv.port()));
        group.async_run(conn, [&](std::error_code ec) {
            std::lock_guard lock(mutex);
            results.push_back(ec);
            ++handled; // what a relay does here: publish the answer's last words
        });
    }
    CHECK(group.size() == runs);
    sse_test::io_thread client(ioc);
    REQUIRE(eventually([&] { return srv->stats().sessions == runs; }));

    std::promise<int> stopped; // how many handlers had returned when async_stop completed
    group.async_stop([&](std::error_code ec) {
        CHECK(!ec);
        stopped.set_value(handled.load());
    });
    auto s = stopped.get_future();
    REQUIRE(s.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(s.get() == runs);
    CHECK(group.size() == 0);
    {
        std::lock_guard lock(mutex);
        CHECK(results == std::vector<std::error_code>(runs, asio::error::operation_aborted));
    }

    // Stopped: a run started now is cancelled at once, and a second stop completes at once.
    auto late = std::make_shared<sse::connection>(ioc.get_executor(), stream_request(srv.port()));
    std::promise<std::error_code> late_done;
    group.async_run(late, [&](std::error_code ec) { late_done.set_value(ec); });
    auto l = late_done.get_future();
    REQUIRE(l.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(l.get() == asio::error::operation_aborted);
    std::promise<void> again;
    group.async_stop([&](std::error_code) { again.set_value(); });
    CHECK(again.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready);
}

TEST_CASE("connection_group: async_stop of an empty group completes at once", "[client][lifetime]") {
    asio::io_context ioc;
    sse::connection_group group;
    bool done = false;
    group.async_stop(asio::bind_executor(ioc, [&](std::error_code ec) { done = !ec; }));
    CHECK(!done); // dispatched on the handler's executor, which is not running here
    ioc.run();
    CHECK(done);
}
