// The contract test service (tests/contract/service.cpp) as LaunchDarkly's harness drives it,
// without the harness: its REST endpoints, and one stream from a local peer (the library's own
// server) whose event and comment come back as callbacks, before and after a restart.
// The full suite is run by hand (tests/contract/README.md).
#include "sse_test.hpp"
#include "support/loopback.hpp"
#include "support/node_peer.hpp"

#include <sse/server.hpp>

#include <asio/io_context.hpp>

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

// The harness's side: a stream for the client, and the callback endpoint, on one server.
struct harness_side {
    asio::io_context ioc;
    sse::server server{ioc, sse::joe()};
    std::thread thread;
    std::mutex mutex;
    std::vector<std::string> callbacks; // "<path> <body>"
    std::vector<sse::request> streams;

    harness_side() {
        server.on_request([this](const sse::request& r) -> sse::request_decision {
            std::lock_guard lock(mutex);
            if (r.path().rfind("/callback/", 0) == 0) {
                callbacks.push_back(std::string(r.path()) + " " + r.body);
                return sse::response(202, "", "");
            }
            streams.push_back(r);
            return sse::stream_accept{};
        });
        server.listen({asio::ip::make_address("127.0.0.1"), 0});
        thread = std::thread([this] { ioc.run(); });
    }
    ~harness_side() {
        ioc.stop();
        thread.join();
    }
    unsigned short port() const { return server.local_endpoint().port(); }
    std::vector<std::string> seen() {
        std::lock_guard lock(mutex);
        return callbacks;
    }
    std::size_t stream_count() {
        std::lock_guard lock(mutex);
        return streams.size();
    }
    std::string stream_header(std::size_t i, std::string_view name) {
        std::lock_guard lock(mutex);
        return std::string(streams.at(i).header_value(name));
    }
};

} // namespace

TEST_CASE("contract service: REST endpoints, and one stream's event and comment as callbacks", "[contract]") {
    auto service = sse_test::start_peer({SSE_CONTRACT_SERVICE_EXECUTABLE, "--port", "0"});
    const unsigned short svc = service.port();
    harness_side h;

    // Status: every capability the client has.
    const auto status = sse_test::http_fetch(svc, "GET", "/");
    CHECK(status.status == 200);
    for (const char* cap : {"\"comments\"", "\"bom\"", "\"headers\"", "\"last-event-id\"", "\"post\"", "\"report\"",
                            "\"read-timeout\"", "\"restart\"", "\"event-type-listeners\"",
                            "\"server-directed-shutdown-request\""})
        CHECK_THAT(status.body, SSE_CONTAINS(cap));

    // Bad creation requests.
    CHECK(sse_test::http_fetch(svc, "POST", "/", "{not json").status == 400);
    CHECK(sse_test::http_fetch(svc, "POST", "/", R"({"callbackUrl":"http://127.0.0.1:1/"})").status == 400);
    CHECK(sse_test::http_fetch(svc, "POST", "/streams/99", R"({"command":"restart"})").status == 404);
    CHECK(sse_test::http_fetch(svc, "DELETE", "/streams/99").status == 404);

    // A client on the local peer's stream.
    const std::string base = "http://127.0.0.1:" + std::to_string(h.port());
    const auto created = sse_test::http_fetch(
        svc, "POST", "/",
        R"({"streamUrl":")" + base + R"(/stream","callbackUrl":")" + base +
            R"(/callback/1","tag":"smoke","initialDelayMs":0,"lastEventId":"start","headers":{"x-smoke":"yes"}})");
    REQUIRE(created.status == 201);
    const std::size_t at = created.head.find("Location: http://127.0.0.1:" + std::to_string(svc) + "/streams/");
    REQUIRE(at != std::string::npos);
    const std::string instance = created.head.substr(created.head.find("/streams/", at)).substr(0, 10);
    CHECK(instance == "/streams/1");
    REQUIRE(sse_test::eventually([&] { return h.server.stats().sessions == 1; }));
    CHECK(h.stream_header(0, "Last-Event-ID") == "start");
    CHECK(h.stream_header(0, "x-smoke") == "yes");
    CHECK(h.stream_header(0, "Accept") == "text/event-stream");

    CHECK(sse_test::http_fetch(svc, "POST", instance, R"({"command":"listen","listen":{"type":"greeting"}})").status == 204);
    CHECK(sse_test::http_fetch(svc, "POST", instance, R"({"command":"fly"})").status == 400);

    sse::message comment;
    comment.append_comment("still here");
    h.server.publish(comment);
    sse::message greeting;
    greeting.id = sse::event_id("7");
    greeting.type = sse::event_type("greeting");
    greeting.append_data("hello \"world\"\nline 2");
    h.server.publish(greeting);
    REQUIRE(sse_test::eventually([&] { return h.seen().size() == 2; }));
    CHECK(h.seen() == std::vector<std::string>{
                          "/callback/1/1 {\"kind\":\"comment\",\"comment\":\"still here\"}",
                          "/callback/1/2 {\"kind\":\"event\",\"event\":{\"type\":\"greeting\",\"data\":\"hello "
                          "\\\"world\\\"\\u000aline 2\",\"id\":\"7\"}}"});

    // Restart: a new connection with the stream's id, and no error callback.
    CHECK(sse_test::http_fetch(svc, "POST", instance, R"({"command":"restart"})").status == 204);
    REQUIRE(sse_test::eventually([&] { return h.stream_count() == 2 && h.server.stats().sessions == 1; }));
    CHECK(h.stream_header(1, "Last-Event-ID") == "7");
    sse::message after;
    after.append_data("after");
    h.server.publish(after);
    REQUIRE(sse_test::eventually([&] { return h.seen().size() == 3; }));
    CHECK(h.seen()[2] == R"(/callback/1/3 {"kind":"event","event":{"type":"message","data":"after","id":"7"}})");

    // Closing it, then the service.
    CHECK(sse_test::http_fetch(svc, "DELETE", instance).status == 204);
    CHECK(sse_test::http_fetch(svc, "DELETE", instance).status == 404);
    CHECK(sse_test::eventually([&] { return h.server.stats().sessions == 0; }));
    CHECK(sse_test::http_fetch(svc, "DELETE", "/").status == 204);
    CHECK(!service.read_line(5000ms)); // it exits: its stdout ends
}
