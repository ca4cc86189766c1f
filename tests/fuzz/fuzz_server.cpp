// Raw bytes into the server over a loopback socket: whatever arrives, the
// server answers with an HTTP response (or closes), never crashes or hangs,
// and frees every connection.
#include "loopback.hpp"

#include <sse/server.hpp>

#include <asio/io_context.hpp>
#include <asio/executor_work_guard.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <thread>

namespace {

struct fixture {
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
    sse::server server;
    std::thread runner;

    static sse::server_options options() {
        sse::server_options o;
        o.max_head_bytes = 2048;
        o.max_body_bytes = 4096;
        o.head_timeout = std::chrono::milliseconds(300);
        o.keep_alive_timeout = std::chrono::milliseconds(300);
        o.session.heartbeat = std::chrono::milliseconds(0);
        return o;
    }

    fixture() : server(ioc, sse::joe(), options()) {
        server.on_request([](const sse::request& r) -> sse::request_decision {
            if (r.path() == "/events") return sse::stream_accept{r.query_values("topic")};
            return sse::response(r.path() == "/" ? 200 : 404, r.body);
        });
        server.listen({asio::ip::make_address("127.0.0.1"), 0});
        runner = std::thread([this] { ioc.run(); });
    }
};

fixture& f() {
    static fixture* x = new fixture(); // lives for the whole run
    return *x;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    fixture& fx = f();
    const int fd = fuzz::connect_to(fx.server.local_endpoint().port());
    fuzz::write_all(fd, std::string_view(reinterpret_cast<const char*>(bytes), size));
    ::shutdown(fd, SHUT_WR);
    // A stream stays open (nothing is published): read what comes, bounded.
    const std::string out = fuzz::read_all(fd, 1 << 20);
    ::close(fd);
    if (!out.empty() && out.rfind("HTTP/1.1 ", 0) != 0) std::abort();
    // Every connection is freed soon after the client is gone.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (fx.server.stats().connections > 0) {
        if (std::chrono::steady_clock::now() > deadline) std::abort();
        std::this_thread::yield();
    }
    return 0;
}
