// The request hook chooses where a new stream starts (stream_accept::
// last_event_id): e.g. from `?since=` for a page opened mid-answer, whose
// EventSource sends no Last-Event-ID on its first connection.
#include "sse_test.hpp"
#include "support/loopback.hpp"
#include "support/streams.hpp"

#include <sse/field.hpp>
#include <sse/http.hpp>
#include <sse/joe.hpp>
#include <sse/message.hpp>
#include <sse/replayer.hpp>
#include <sse/server.hpp>

#include <string>
#include <string_view>

namespace {

using sse_test::open_stream;
using sse_test::quiet;
using sse_test::running_server;

std::string frames(int from, int to) {
    std::string s;
    for (int i = from; i < to; ++i) s += "id: " + std::to_string(i) + "\ndata: m" + std::to_string(i) + "\n\n";
    return s;
}

} // namespace

TEST_CASE("server: the request hook chooses where a stream starts", "[server][replay]") {
    running_server<sse::server> srv(sse::joe(sse::finite_replayer(100, {.auto_ids = true, .first_id = 0})), quiet());
    srv->on_request([](const sse::request& req) -> sse::request_decision {
        sse::stream_accept a;
        const std::string since = req.query_value("since", "");
        if (req.path() == "/since" && !since.empty() && req.header_value("Last-Event-ID").empty())
            a.last_event_id = sse::event_id(since); // the page's own choice, unless the client resumes
        else if (req.path() == "/always" && !since.empty())
            a.last_event_id = sse::event_id(since); // the hook overrides the client
        else if (req.path() == "/live")
            a.last_event_id = sse::event_id(); // no replay, whatever the client says
        return a;
    });
    srv.start();
    for (int i = 0; i < 5; ++i) srv->publish(sse_test::text("m" + std::to_string(i)));

    // Connects, reads exactly the history frames [from, 5), then gets the live message 5.
    auto check = [&](std::string_view target, std::string_view headers, int from) {
        auto c = open_stream(srv.port(), target, headers);
        if (from < 5) REQUIRE(c->read_at_least(frames(from, 5).size()));
        srv->publish(sse_test::text("m5"));
        REQUIRE(c->read_until("id: 5\ndata: m5\n\n"));
        CHECK(c->received == frames(from, 6));
    };

    SECTION("?since=1 without Last-Event-ID: replayed from 2") {
        check("/since?since=1", "", 2);
        CHECK(srv->provider().stats().replayed == 3);
    }
    SECTION("?since=1 with the client's Last-Event-ID: 3 (a reconnect): the client's id wins in this hook") {
        check("/since?since=1", "Last-Event-ID: 3\r\n", 4);
        CHECK(srv->provider().stats().replayed == 1);
    }
    SECTION("a hook that always decides overrides the client's Last-Event-ID") {
        check("/always?since=0", "Last-Event-ID: 3\r\n", 1);
    }
    SECTION("an unset id: the stream starts live although the client sent an id") {
        check("/live", "Last-Event-ID: 0\r\n", 5);
        CHECK(srv->provider().stats().replayed == 0);
    }
    SECTION("the hook leaves it unset: the client's Last-Event-ID decides, as before") {
        check("/other", "Last-Event-ID: 2\r\n", 3);
    }
}
