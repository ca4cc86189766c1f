// The client and the server with C++20 coroutines: a server publishes three
// events, and a client reads them with co_await conn.async_run(...).
#include <sse/client.hpp>
#include <sse/server.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <cstdio>
#include <string>

asio::awaitable<void> publish_three(sse::server& server) {
    // Joe has no history here, so wait until the client has subscribed: an event published before
    // would not reach it.
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (server.provider().stats().subscribers == 0) {
        t.expires_after(std::chrono::milliseconds(10));
        co_await t.async_wait(asio::use_awaitable);
    }
    for (int i = 1; i <= 3; ++i) {
        sse::message m;
        m.id = sse::event_id(std::to_string(i));
        m.append_data("event number " + std::to_string(i));
        server.publish(m);
    }
}

asio::awaitable<void> read_three(unsigned short port) {
    sse::request req;
    req.target = "http://127.0.0.1:" + std::to_string(port) + "/";
    sse::connection conn(co_await asio::this_coro::executor, req);
    int seen = 0;
    conn.subscribe_messages([&](const sse::event_view& ev) {
        std::printf("got #%.*s: %.*s\n", (int)ev.last_event_id.size(), ev.last_event_id.data(), (int)ev.data.size(),
                    ev.data.data());
        if (++seen == 3) conn.cancel();
    });
    try {
        co_await conn.async_run(asio::use_awaitable);
    } catch (const std::system_error& e) {
        std::printf("client stopped: %s\n", e.code() == asio::error::operation_aborted ? "after three events" : e.what());
    }
}

int main() {
    asio::io_context ioc;
    sse::server server(ioc);
    server.listen({asio::ip::make_address("127.0.0.1"), 0});
    const unsigned short port = server.local_endpoint().port();

    asio::co_spawn(ioc, read_three(port), [&](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
        server.async_shutdown([](std::error_code) {});
    });
    asio::co_spawn(ioc, publish_three(server), asio::detached);
    ioc.run();
}
