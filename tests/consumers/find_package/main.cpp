// A consumer's first program: parse an event, serialize a message, and — to prove that Asio and
// llhttp come with sse::sse — run an sse::server on 127.0.0.1:0, connect to it, publish one
// message and read it back off the socket. Prints "sse X.Y.Z: ... OK" and exits 0, or says what
// went wrong and exits 1. Built by tests/consumers/find_package and tests/consumers/fetchcontent.
#include <sse/server.hpp>
#include <sse/sse.hpp>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <system_error>
#include <vector>

// A consumer's own (older) Asio code keeps compiling: sse::sse imposes no Asio macros on it.
#ifdef ASIO_NO_DEPRECATED
#error "sse::sse must not define ASIO_NO_DEPRECATED for its consumers"
#endif

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "consumer: FAILED: %s\n", what);
        ++failures;
    }
}

} // namespace

int main() {
    // 1. The parser, fed in two pieces cut inside a line.
    sse::parser parser;
    std::vector<sse::event> events;
    auto keep = [&](const sse::event_view& ev) { events.emplace_back(ev); };
    parser.feed("id: 7\nevent: greeting\ndata: hel", keep);
    parser.feed("lo\ndata: world\n\n", keep);
    expect(events.size() == 1, "the parser dispatches one event");
    if (!events.empty()) {
        expect(events[0].type == "greeting", "the event's type");
        expect(events[0].data == "hello\nworld", "the event's data");
        expect(events[0].last_event_id == "7", "the event's id");
    }

    // 2. A message, serialized.
    sse::message m;
    m.id = sse::event_id("1");
    m.type = sse::event_type("tick");
    m.append_data("a\nb");
    const std::string wire = m.to_string();
    expect(wire == "id: 1\nevent: tick\ndata: a\ndata: b\n\n", "message::to_string");

    // 3. A server (Asio + llhttp) on a free port; one client connects, the message is published
    //    once the response head has arrived (the subscription exists then) and read back.
    asio::io_context ioc;
    sse::server server(ioc);
    server.listen({asio::ip::make_address("127.0.0.1"), 0});
    const unsigned short port = server.local_endpoint().port();
    expect(port != 0, "the server listens on a port");

    asio::ip::tcp::socket client(ioc);
    asio::steady_timer watchdog(ioc, std::chrono::seconds(10));
    std::string received;
    const std::string request = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
    bool streamed = false;

    const auto finish = [&] {
        watchdog.cancel();
        std::error_code ignored;
        client.close(ignored);
        server.async_shutdown([](std::error_code) {});
    };
    watchdog.async_wait([&](std::error_code ec) {
        if (ec) return;
        expect(false, "the event arrives within 10 s");
        finish();
    });
    client.async_connect({asio::ip::make_address("127.0.0.1"), port}, [&](std::error_code ec) {
        if (ec) {
            expect(false, "connect to the server");
            return finish();
        }
        asio::async_write(client, asio::buffer(request), [&](std::error_code ec, std::size_t) {
            if (ec) {
                expect(false, "send the request");
                return finish();
            }
            asio::async_read_until(client, asio::dynamic_buffer(received), "\r\n\r\n", [&](std::error_code ec, std::size_t) {
                if (ec) {
                    expect(false, "read the response head");
                    return finish();
                }
                expect(received.rfind("HTTP/1.1 200", 0) == 0, "status 200");
                expect(received.find("text/event-stream") != std::string::npos, "Content-Type text/event-stream");
                server.publish(m);
                asio::async_read_until(client, asio::dynamic_buffer(received), wire, [&](std::error_code ec, std::size_t) {
                    expect(!ec, "read the published event");
                    streamed = !ec;
                    finish();
                });
            });
        });
    });
    ioc.run();
    expect(streamed, "the published message reaches the client");

    if (failures != 0) return 1;
    std::printf("sse %d.%d.%d: parser, message, server on 127.0.0.1:%u: OK\n", SSE_VERSION_MAJOR, SSE_VERSION_MINOR,
                SSE_VERSION_PATCH, static_cast<unsigned>(port));
    return 0;
}
