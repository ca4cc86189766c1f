// The server and its sessions over real loopback sockets, seen from a raw
// client (tests/support/loopback.hpp): the response head before any event,
// exact bytes and topics, replay after Last-Event-ID (a finite_replayer and a
// replayer written here), plain responses with keep-alive and pipelining,
// every limit, clients that vanish or never read (both overflow policies),
// heartbeats, graceful shutdown, and sse::upgrade without the server.
//
// Every read has a deadline; waiting for a condition is bounded polling of
// what the server reports (stats(), provider().stats()).
#include "sse_test.hpp"
#include "support/accepted.hpp"
#include "support/loopback.hpp"
#include "support/streams.hpp"

#include <sse/error.hpp>
#include <sse/http.hpp>
#include <sse/joe.hpp>
#include <sse/message.hpp>
#include <sse/provider.hpp>
#include <sse/replayer.hpp>
#include <sse/server.hpp>
#include <sse/session.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using sse_test::eventually;
using sse_test::has_header_line;
using sse_test::running_server;
using sse_test::test_client;
using sse_test::test_clock;
using sse_test::bulk_frame;
using sse_test::bulk_frame_size;
using sse_test::bulk_message;
using sse_test::bulk_reader;
using sse_test::get;
using sse_test::open_stream;
using sse_test::queue_sampler;
using sse_test::quiet;
using sse_test::text;

using sse_test::accepted_connection;

} // namespace

// ------------------------------------------------------------------------------- the head

TEST_CASE("server: the response head is sent at once, before anything is published, then the retry hint") {
    sse::server_options o = quiet();
    o.session.retry = 1500ms;
    running_server<sse::server> srv(sse::joe(), o);
    srv->on_request([](const sse::request&) -> sse::request_decision {
        sse::stream_accept accept;
        accept.headers.push_back({"Access-Control-Allow-Origin", "*"});
        accept.headers.push_back({"X-Stream", "yes"});
        return accept;
    });
    srv.start();

    test_client c(srv.port());
    REQUIRE(c.connected());
    REQUIRE(c.send(get("/events")));
    REQUIRE(c.read_until("\r\n\r\n"));
    REQUIRE(c.read_until("\r\n\r\nretry: 1500\n\n"));
    CHECK(srv->provider().stats().published == 0); // nothing published: the head went out by itself

    const std::string head(sse_test::response_head(c.received));
    CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(has_header_line(head, "Content-Type: text/event-stream"));
    CHECK(has_header_line(head, "Cache-Control: no-cache"));
    CHECK(has_header_line(head, "X-Accel-Buffering: no"));
    CHECK(has_header_line(head, "Connection: close")); // the body ends when the connection does
    CHECK(has_header_line(head, "Access-Control-Allow-Origin: *"));
    CHECK(has_header_line(head, "X-Stream: yes"));
    CHECK(head.find("Content-Length") == std::string::npos);
    CHECK(head.find("Transfer-Encoding") == std::string::npos);
    CHECK(c.received == head + "retry: 1500\n\n"); // and nothing else yet

    sse::message m;
    m.id = sse::event_id("7");
    m.type = sse::event_type("greeting");
    m.append_data("hello\nworld");
    srv->publish(m);
    const std::string event = "id: 7\nevent: greeting\ndata: hello\ndata: world\n\n";
    REQUIRE(c.read_at_least(head.size() + 13 + event.size()));
    CHECK(c.received == head + "retry: 1500\n\n" + event);
}

// ------------------------------------------------------------------------------- topics

TEST_CASE("server: a publish reaches exactly its topics' subscribers, as the exact bytes, each once") {
    sse::server_options o = quiet();
    o.one_thread = GENERATE(false, true); // a strand per connection, or the server's executor
    CAPTURE(o.one_thread);
    running_server<sse::server> srv(sse::joe(), o);
    srv->on_request([](const sse::request& r) -> sse::request_decision {
        return sse::stream_accept{r.query_values("topic")}; // none: the default topic
    });
    srv.start();
    auto ab = open_stream(srv.port(), "/events?topic=a&topic=b");
    auto plain = open_stream(srv.port(), "/events");
    auto slash = open_stream(srv.port(), "/events?topic=x%2Fy");
    REQUIRE(srv->provider().stats().subscribers == 3); // a head means a subscription

    srv->publish(text("to c"), {"c"}); // no one
    srv->publish(text("to a"), {"a"});
    srv->publish(text("to the default topic"));
    srv->publish(text("to a and b"), {"a", "b"}); // once, not twice
    srv->publish(text("to b"), {"b"});
    srv->publish(text("to c and the default"), {"c", ""});
    srv->publish(text("to x/y"), {"x/y"});
    // Last for everyone: each stream is in publish order, so once this arrived
    // nothing published before it can still come.
    srv->publish(text("the end"), {"a", "", "x/y"});

    const std::string want_ab = "data: to a\n\ndata: to a and b\n\ndata: to b\n\ndata: the end\n\n";
    const std::string want_plain = "data: to the default topic\n\ndata: to c and the default\n\ndata: the end\n\n";
    const std::string want_slash = "data: to x/y\n\ndata: the end\n\n";
    REQUIRE(ab->read_until("data: the end\n\n"));
    REQUIRE(plain->read_until("data: the end\n\n"));
    REQUIRE(slash->read_until("data: the end\n\n"));
    CHECK(ab->received == want_ab);
    CHECK(plain->received == want_plain);
    CHECK(slash->received == want_slash);
    CHECK(srv->provider().stats().published == 8);
}

// ------------------------------------------------------------------------------- replay

TEST_CASE("server: Last-Event-ID (its first value) resumes after that id with a finite_replayer") {
    running_server<sse::server> srv(sse::joe(sse::finite_replayer(100, {.auto_ids = true, .first_id = 0})), quiet());
    srv.start();
    auto publish = [&](int from, int to) {
        for (int i = from; i < to; ++i) srv->publish(text("m" + std::to_string(i)));
    };
    auto frames = [](int from, int to) {
        std::string s;
        for (int i = from; i < to; ++i) s += "id: " + std::to_string(i) + "\ndata: m" + std::to_string(i) + "\n\n";
        return s;
    };

    {
        auto first = open_stream(srv.port());
        publish(0, 5);
        REQUIRE(first->read_at_least(frames(0, 5).size()));
        CHECK(first->received == frames(0, 5));
    } // gone
    REQUIRE(eventually([&] { return srv->provider().stats().subscribers == 0; }));
    publish(5, 8); // missed

    // Connects with `headers`, expects exactly frames [from, 8) from the history,
    // then the live message 8.
    auto resume = [&](std::string_view headers, int from) {
        auto c = open_stream(srv.port(), "/", headers);
        REQUIRE(c->read_at_least(frames(from, 8).size()));
        publish(8, 9);
        REQUIRE(c->read_until("id: 8\ndata: m8\n\n"));
        CHECK(c->received == frames(from, 9));
    };

    SECTION("Last-Event-ID: 4 gets exactly 5, 6, 7, then the live ones") {
        resume("Last-Event-ID: 4\r\n", 5);
        CHECK(srv->provider().stats().replayed == 3);
    }
    SECTION("only the first Last-Event-ID counts") {
        resume("Last-Event-ID: 6\r\nLast-Event-ID: 1\r\n", 7);
        CHECK(srv->provider().stats().replayed == 1);
    }
    SECTION("the header's name is case-insensitive") {
        resume("last-event-id: 2\r\n", 3);
        CHECK(srv->provider().stats().replayed == 5);
    }
    SECTION("an empty Last-Event-ID: no replay") {
        resume("Last-Event-ID: \r\n", 8);
        CHECK(srv->provider().stats().replayed == 0);
    }
    SECTION("no Last-Event-ID: no replay") {
        resume("", 8);
        CHECK(srv->provider().stats().replayed == 0);
    }
    SECTION("an id the history never gave out: a gap, nothing replayed") {
        resume("Last-Event-ID: 99\r\n", 8);
        CHECK(srv->provider().stats().replayed == 0);
        CHECK(srv->provider().stats().gaps == 1);
    }
}

TEST_CASE("server: stream_accept::on_open gets the stream alone: a frame after its replay, then close() ends it") {
    running_server<sse::server> srv(sse::joe(sse::finite_replayer(100, {.auto_ids = true, .first_id = 0})), quiet());
    std::mutex mutex;
    std::weak_ptr<sse::sink> greeted; // the /greet stream, as a user would keep it
    int opened = 0;
    srv->on_request([&](const sse::request& req) -> sse::request_decision {
        sse::stream_accept accept;
        if (req.path() == "/greet") {
            accept.on_open = [&, lei = std::string(req.header_value("Last-Event-ID"))](const std::shared_ptr<sse::sink>& s) {
                sse::message m;
                m.type = sse::event_type("hello");
                m.append_data("after " + lei);
                CHECK(s->send(sse::frame(m)) == sse::delivery::accepted);
                std::lock_guard lock(mutex);
                greeted = s;
                ++opened;
            };
        } else if (req.path() == "/throws") {
            accept.on_open = [](const std::shared_ptr<sse::sink>&) { throw std::runtime_error("on_open failed"); };
        }
        return accept;
    });
    srv.start();
    srv->publish(text("m0"));
    srv->publish(text("m1"));

    auto greet = open_stream(srv.port(), "/greet", "Last-Event-ID: 0\r\n");
    auto plain = open_stream(srv.port(), "/");
    auto throws = open_stream(srv.port(), "/throws"); // logged; the stream carries on
    const std::string replay = "id: 1\ndata: m1\n\n", hello = "event: hello\ndata: after 0\n\n";
    REQUIRE(greet->read_at_least(replay.size() + hello.size()));
    CHECK(greet->received == replay + hello); // the replay first: the stream was subscribed

    srv->publish(text("m2"));
    const std::string m2 = "id: 2\ndata: m2\n\n";
    REQUIRE(greet->read_until(m2));
    REQUIRE(plain->read_until(m2));
    REQUIRE(throws->read_until(m2));
    CHECK(plain->received == m2); // the greeting went to its stream alone
    CHECK(throws->received == m2);

    std::shared_ptr<sse::sink> s;
    {
        std::lock_guard lock(mutex);
        CHECK(opened == 1);
        s = greeted.lock();
    }
    REQUIRE(s);
    s->close({});
    s.reset();
    REQUIRE(greet->read_until_closed());
    CHECK(!greet->was_reset()); // graceful: what was queued, then the end
    CHECK(greet->received == replay + hello + m2);
    REQUIRE(eventually([&] { return srv->stats().sessions == 2; }));
    CHECK(greeted.expired()); // nothing kept it alive

    srv->publish(text("m3"));
    REQUIRE(plain->read_until("id: 3\ndata: m3\n\n"));
}

TEST_CASE("server: a stream that cannot start is answered on the same connection, and nothing leaks") {
    sse::server_options o = quiet();
    o.session.max_queue_bytes = 4 * 1024;
    running_server<sse::server> srv(sse::joe(sse::finite_replayer(100, {.auto_ids = true, .first_id = 0})), o);
    srv.start();
    for (int i = 0; i < 10; ++i) srv->publish(bulk_message(i)); // 10 KiB of history, ids 0 to 9

    SECTION("a replay larger than the session's budget: 500, not a cut stream") {
        test_client c(srv.port());
        REQUIRE(c.connected());
        REQUIRE(c.send(get("/", "Last-Event-ID: 0\r\n")));
        const std::string r = c.read_response();
        CHECK(r.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0) == 0);
        CHECK(sse_test::response_body(r) == "subscriber queue exceeded its byte budget\n");
        CHECK(c.read_until_closed());
        CHECK(srv->provider().stats().overflows == 1);
        // A replay that fits still works.
        auto ok = open_stream(srv.port(), "/", "Last-Event-ID: 7\r\n");
        const std::string want = "id: 8\n" + bulk_frame(8) + "id: 9\n" + bulk_frame(9);
        REQUIRE(ok->read_at_least(want.size()));
        CHECK(ok->received == want);
    }
    SECTION("a provider shut down on its own: 503") {
        srv->provider().shutdown();
        test_client c(srv.port());
        REQUIRE(c.connected());
        REQUIRE(c.send(get()));
        const std::string r = c.read_response();
        CHECK(r.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
        CHECK(sse_test::response_body(r) == "the provider is closed\n");
        CHECK(c.read_until_closed());
    }
    CHECK(eventually([&] {
        const sse::server_stats s = srv->stats();
        return s.connections == 0 && s.sessions == 0 && s.queued_bytes == 0;
    }));
}

namespace {

// A replayer written here against the sse::replayer concept only, as a user
// would: ids are the publisher's and are numbers, not necessarily
// consecutive; a subscriber gets every stored message on its topics whose id
// is greater than its Last-Event-ID, even if that id itself was never
// stored. Counts its replays in a counter it shares with the test (joe owns it).
class numeric_id_replayer {
public:
    explicit numeric_id_replayer(std::shared_ptr<std::atomic<int>> replays) : replays_(std::move(replays)) {}

    sse::frame put(const sse::message& m, sse::topic_list topics, std::error_code& ec) {
        long id = 0;
        if (!m.id.is_set() || !to_number(m.id.view(), id)) {
            ec = sse::error::no_id;
            return {};
        }
        ec.clear();
        entries_.push_back({id, std::vector<std::string>(topics.begin(), topics.end()), sse::frame(m)});
        return entries_.back().bytes;
    }

    sse::replay_result replay(const sse::subscription& sub, std::error_code& ec) {
        ++*replays_;
        ec.clear();
        sse::replay_result result;
        long after = 0;
        if (!to_number(sub.last_event_id.view(), after)) {
            result.gap = true;
            return result;
        }
        for (const entry& e : entries_) {
            if (e.id <= after || !std::ranges::any_of(e.topics, [&](const std::string& t) {
                    return std::ranges::find(sub.topics, t) != sub.topics.end();
                }))
                continue;
            if (sub.client->send(e.bytes) != sse::delivery::accepted) {
                ec = sse::error::queue_overflow;
                return result;
            }
            ++result.replayed;
        }
        return result;
    }

private:
    static bool to_number(std::string_view s, long& out) {
        const auto [p, err] = std::from_chars(s.data(), s.data() + s.size(), out);
        return err == std::errc() && p == s.data() + s.size() && !s.empty();
    }

    struct entry {
        long id;
        std::vector<std::string> topics;
        sse::frame bytes;
    };
    std::shared_ptr<std::atomic<int>> replays_;
    std::vector<entry> entries_;
};

static_assert(sse::replayer<numeric_id_replayer>);

sse::message with_id(long id, std::string_view data) {
    sse::message m = text(data);
    m.id = sse::event_id(std::to_string(id));
    return m;
}

} // namespace

TEST_CASE("server: a user-defined replayer plugged into basic_server<joe> replays after Last-Event-ID") {
    auto replays = std::make_shared<std::atomic<int>>(0);
    running_server<sse::basic_server<sse::joe>> srv(sse::joe(numeric_id_replayer(replays)), quiet());
    srv->on_request([](const sse::request& r) -> sse::request_decision {
        return sse::stream_accept{r.query_values("topic")};
    });
    srv.start();
    srv->publish(with_id(10, "ten"), {"a"});
    srv->publish(with_id(20, "twenty")); // the default topic
    srv->publish(with_id(30, "thirty"), {"a"});
    srv->publish(with_id(40, "forty"), {"a", "b"});

    // 15 was never an id: everything on "a" after it.
    auto c = open_stream(srv.port(), "/events?topic=a", "Last-Event-ID: 15\r\n");
    const std::string replayed = "id: 30\ndata: thirty\n\nid: 40\ndata: forty\n\n";
    REQUIRE(c->read_at_least(replayed.size()));
    CHECK(*replays == 1);
    srv->publish(with_id(50, "fifty"), {"a"});
    REQUIRE(c->read_until("id: 50\ndata: fifty\n\n"));
    CHECK(c->received == replayed + "id: 50\ndata: fifty\n\n");
    CHECK(srv->provider().stats().replayed == 2);

    // Without a Last-Event-ID the replayer is not asked.
    auto fresh = open_stream(srv.port(), "/events?topic=a");
    srv->publish(with_id(60, "sixty"), {"a"});
    REQUIRE(fresh->read_until("id: 60\ndata: sixty\n\n"));
    CHECK(fresh->received == "id: 60\ndata: sixty\n\n");
    CHECK(*replays == 1);
}

// ------------------------------------------------------------------------------- plain responses

TEST_CASE("server: plain responses from the hook, with keep-alive and pipelining") {
    running_server<sse::server> srv(sse::joe(), quiet());
    srv->on_request([](const sse::request& r) -> sse::request_decision {
        if (r.path() == "/hello") {
            sse::response res(201, "hello, world\n");
            res.headers.push_back({"X-Test", "1"});
            return res;
        }
        if (r.path() == "/echo") return sse::response(200, r.method + " " + r.body);
        if (r.path() == "/nothing") return sse::response(204, "", "");
        if (r.path() == "/throw") throw std::runtime_error("the hook failed");
        if (r.path() == "/events") return sse::stream_accept{};
        return sse::response(404, "not found\n");
    });
    srv.start();
    test_client c(srv.port());
    REQUIRE(c.connected());

    SECTION("status, headers, body and Content-Length") {
        REQUIRE(c.send(get("/hello")));
        const std::string r = c.read_response();
        CHECK(r ==
              "HTTP/1.1 201 Created\r\nContent-Type: text/plain; charset=utf-8\r\nX-Test: 1\r\n"
              "Content-Length: 13\r\nConnection: keep-alive\r\n\r\nhello, world\n");
    }
    SECTION("keep-alive: two requests one after the other on one connection") {
        REQUIRE(c.send(get("/hello")));
        CHECK(c.read_response().rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
        REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
        const std::string r = c.read_response();
        CHECK(r.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        CHECK(sse_test::response_body(r) == "POST abc");
        CHECK(srv->stats().accepted == 1);
        CHECK(srv->stats().connections == 1);
    }
    SECTION("pipelined requests in one write are answered in order") {
        REQUIRE(c.send(get("/hello") + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
                       get("/missing") + "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                         "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
        const std::string r1 = c.read_response(), r2 = c.read_response(), r3 = c.read_response(),
                          r4 = c.read_response();
        CHECK(r1.rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
        CHECK(sse_test::response_body(r1) == "hello, world\n");
        CHECK(r2.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        CHECK(sse_test::response_body(r2) == "POST hello");
        CHECK(r3.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
        CHECK(sse_test::response_body(r4) == "POST abcde");
        CHECK(c.received.empty());
    }
    SECTION("a keep-alive connection can become a stream, also when pipelined") {
        REQUIRE(c.send(get("/hello") + get("/events")));
        CHECK(c.read_response().rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
        REQUIRE(c.read_until("\r\n\r\n"));
        CHECK(c.received.rfind("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n", 0) == 0);
        REQUIRE(eventually([&] { return srv->stats().sessions == 1; }));
        srv->publish(text("on the same connection"));
        CHECK(c.read_until("\r\n\r\ndata: on the same connection\n\n"));
    }
    SECTION("Connection: close is honoured: the response says so and the connection ends") {
        REQUIRE(c.send(get("/hello", "Connection: close\r\n")));
        const std::string r = c.read_response();
        CHECK(has_header_line(r, "Connection: close"));
        CHECK(c.read_until_closed());
        CHECK_FALSE(c.was_reset());
    }
    SECTION("HTTP/1.0 without keep-alive: the connection ends after the response") {
        REQUIRE(c.send("GET /hello HTTP/1.0\r\n\r\n"));
        const std::string r = c.read_response();
        CHECK(r.rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
        CHECK(has_header_line(r, "Connection: close"));
        CHECK(c.read_until_closed());
    }
    SECTION("204 has neither a body nor a Content-Length, and the connection stays usable") {
        REQUIRE(c.send(get("/nothing") + get("/hello")));
        REQUIRE(c.read_until("\r\n\r\n"));
        const std::string head(sse_test::response_head(c.received));
        CHECK(head.rfind("HTTP/1.1 204 No Content\r\n", 0) == 0);
        CHECK(head.find("Content-Length") == std::string::npos);
        c.received.erase(0, head.size());
        CHECK(c.read_response().rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
    }
    SECTION("HEAD: the head, with the body's Content-Length, but no body") {
        REQUIRE(c.send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n" + get("/missing")));
        REQUIRE(c.read_until("\r\n\r\n"));
        const std::string head(sse_test::response_head(c.received));
        CHECK(head.rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
        CHECK(has_header_line(head, "Content-Length: 13"));
        c.received.erase(0, head.size());
        CHECK(c.read_response().rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0); // not "hello, world\n..."
    }
    SECTION("a hook that throws: 500") {
        REQUIRE(c.send(get("/throw")));
        const std::string r = c.read_response();
        CHECK(r.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0) == 0);
        REQUIRE(c.send(get("/hello"))); // still served
        CHECK(c.read_response().rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
    }
}

// ------------------------------------------------------------------------------- limits

TEST_CASE("server: limits on the head and body answer precisely (431, 400, 413)") {
    sse::server_options o = quiet();
    o.max_head_bytes = 1024;
    o.max_body_bytes = 1024;
    running_server<sse::server> srv(sse::joe(), o);
    srv->on_request([](const sse::request& r) -> sse::request_decision {
        return sse::response(200, std::to_string(r.body.size()));
    });
    srv.start();
    test_client c(srv.port());
    REQUIRE(c.connected());
    // A request head of exactly `size` bytes.
    auto head_of = [](std::size_t size) {
        const std::string start = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ";
        return start + std::string(size - start.size() - 4, 'p') + "\r\n\r\n";
    };

    SECTION("a head of exactly max_head_bytes is served") {
        REQUIRE(c.send(head_of(1024)));
        CHECK(c.read_response().rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        CHECK(srv->stats().rejected_head_too_large == 0);
    }
    SECTION("one byte more: 431, then the connection ends") {
        REQUIRE(c.send(head_of(1025)));
        const std::string r = c.read_response();
        CHECK(r.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0) == 0);
        CHECK(has_header_line(r, "Connection: close"));
        CHECK(c.read_until_closed());
        CHECK(srv->stats().rejected_head_too_large == 1);
    }
    SECTION("a much larger head: 431") {
        REQUIRE(c.send(get("/", "X-Big: " + std::string(4000, 'a') + "\r\n")));
        CHECK(c.read_response().rfind("HTTP/1.1 431 ", 0) == 0);
        CHECK(c.read_until_closed());
        CHECK(srv->stats().rejected_head_too_large == 1);
    }
    SECTION("garbage: 400 with a short reason") {
        REQUIRE(c.send("garbage\r\n\r\n"));
        const std::string r = c.read_response();
        CHECK(r.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
        const std::string_view body = sse_test::response_body(r);
        CHECK(body.rfind("bad request: ", 0) == 0);
        CHECK(body.size() < 100);
        CHECK(has_header_line(r, "Content-Length: " + std::to_string(body.size())));
        CHECK(c.read_until_closed());
        CHECK(srv->stats().rejected_bad_request == 1);
    }
    SECTION("a body of exactly max_body_bytes is served") {
        REQUIRE(c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n" + std::string(1024, 'b')));
        const std::string r = c.read_response();
        CHECK(r.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        CHECK(sse_test::response_body(r) == "1024");
    }
    SECTION("one byte more: 413") {
        REQUIRE(c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n" + std::string(1025, 'b')));
        const std::string r = c.read_response();
        CHECK(r.rfind("HTTP/1.1 413 Content Too Large\r\n", 0) == 0);
        CHECK(c.read_until_closed());
        CHECK(srv->stats().rejected_bad_request == 1);
    }
    SECTION("a chunked body over the limit: 413") {
        REQUIRE(c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" +
                       std::string(1024, 'b') + "\r\n1\r\nb\r\n0\r\n\r\n"));
        CHECK(c.read_response().rfind("HTTP/1.1 413 ", 0) == 0);
        CHECK(c.read_until_closed());
    }
}

TEST_CASE("server: max_connections = 2, the third connection gets 503, and a freed slot is reused") {
    sse::server_options o = quiet();
    o.max_connections = 2;
    running_server<sse::server> srv(sse::joe(), o);
    srv.start();
    auto a = open_stream(srv.port());
    auto b = open_stream(srv.port());
    REQUIRE(srv->stats().connections == 2);

    // The server answers at accept time without reading (so the client need
    // not send anything, and no unread request turns its close into a reset).
    test_client third(srv.port());
    REQUIRE(third.connected());
    const std::string r = third.read_response();
    CHECK(r.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
    CHECK(has_header_line(r, "Connection: close"));
    CHECK(third.read_until_closed());
    CHECK(srv->stats().rejected_too_many == 1);
    CHECK(srv->stats().connections == 2);

    a->close();
    REQUIRE(eventually([&] { return srv->stats().connections == 1; }));
    auto fourth = open_stream(srv.port());
    srv->publish(text("both"));
    CHECK(b->read_until("data: both\n\n"));
    CHECK(fourth->read_until("data: both\n\n"));
    CHECK(srv->stats().rejected_too_many == 1);
}

TEST_CASE("server: head_timeout closes a client that sends half a head, while a stream is served") {
    sse::server_options o = quiet();
    o.one_thread = GENERATE(false, true); // a strand per connection, or the server's executor
    CAPTURE(o.one_thread);
    o.head_timeout = 200ms;
    running_server<sse::server> srv(sse::joe(), o);
    srv.start();
    auto stream = open_stream(srv.port());

    const auto start = test_clock::now();
    test_client slow(srv.port());
    REQUIRE(slow.connected());
    REQUIRE(slow.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "));
    REQUIRE(slow.read_until_closed(5s));
    const auto took = test_clock::now() - start;
    CHECK(took >= 200ms); // the timer starts at accept, after the connect began
    CHECK(took < 4s);
    CHECK(slow.received.empty()); // closed without an answer
    CHECK(srv->stats().timed_out == 1);
    REQUIRE(eventually([&] { return srv->stats().connections == 1; }));

    // The stream, older than the timeout, is not cut by it.
    srv->publish(text("still here"));
    CHECK(stream->read_until("data: still here\n\n"));
    CHECK(srv->stats().timed_out == 1);
}

TEST_CASE("server: keep_alive_timeout closes an idle keep-alive connection, not a stream") {
    sse::server_options o = quiet();
    o.keep_alive_timeout = 200ms;
    running_server<sse::server> srv(sse::joe(), o);
    srv->on_request([](const sse::request& r) -> sse::request_decision {
        if (r.path() == "/events") return sse::stream_accept{};
        return sse::response(200, "ok");
    });
    srv.start();
    auto stream = open_stream(srv.port(), "/events");

    test_client c(srv.port());
    REQUIRE(c.connected());
    // Taken before the request: the server's idle timer starts after it answered, so at least
    // the timeout lies between this and the close however late this thread reads the answer.
    const auto sent = test_clock::now();
    REQUIRE(c.send(get("/")));
    const std::string r = c.read_response();
    REQUIRE(has_header_line(r, "Connection: keep-alive"));
    REQUIRE(c.read_until_closed(5s));
    CHECK(test_clock::now() - sent >= 200ms);
    CHECK(c.received.empty());
    CHECK(srv->stats().timed_out == 1);

    srv->publish(text("still here"));
    CHECK(stream->read_until("data: still here\n\n"));
    REQUIRE(eventually([&] { return srv->stats().connections == 1; }));
}

// ------------------------------------------------------------------------------- vanishing clients

TEST_CASE("server: a client that vanishes mid-stream is cleaned up") {
    sse::server_options o = quiet();
    o.one_thread = GENERATE(false, true); // a strand per connection, or the server's executor
    CAPTURE(o.one_thread);
    o.session.send_buffer_bytes = 16 * 1024;
    running_server<sse::server> srv(sse::joe(), o);
    srv.start();
    const sse::server_stats baseline = srv->stats();
    REQUIRE(baseline.connections == 0);
    REQUIRE(baseline.sessions == 0);

    SECTION("by closing its socket") {
        auto c = open_stream(srv.port());
        for (int i = 0; i < 10; ++i) srv->publish(text("before " + std::to_string(i)));
        REQUIRE(c->read_until("data: before 9\n\n"));
        CHECK(srv->stats().sessions == 1);
        c->close();
    }
    SECTION("by resetting its connection (SO_LINGER 0)") {
        auto c = open_stream(srv.port());
        for (int i = 0; i < 10; ++i) srv->publish(text("before " + std::to_string(i)));
        REQUIRE(c->read_until("data: before 9\n\n"));
        c->reset();
    }
    SECTION("by resetting while never having read, with a full socket buffer and a queue") {
        auto c = open_stream(srv.port(), "/", "", 4096);
        for (int i = 0; i < 200; ++i) srv->publish(bulk_message(i)); // 200 KiB, within the 4 MiB budget
        REQUIRE(eventually([&] { return srv->stats().queued_bytes > 0; }));
        c->reset();
    }
    // More published into the void changes nothing.
    for (int i = 0; i < 50; ++i) srv->publish(text("after"));
    CHECK(eventually([&] {
        const sse::server_stats s = srv->stats();
        return s.connections == baseline.connections && s.sessions == baseline.sessions && s.queued_bytes == 0 &&
               srv->provider().stats().subscribers == 0;
    }));
    CHECK(srv->stats().overflows == 0);
}

// ------------------------------------------------------------------------------- slow consumers

TEST_CASE("server: 200 readers get every message in order while one that never reads is closed at its budget") {
    constexpr int readers = 200; // 402 descriptors in this process: within the usual 1,024
    constexpr int messages = 2000;
    constexpr int batch = 64;
    constexpr std::size_t budget = 256 * 1024;
    sse::server_options o = quiet();
    o.one_thread = GENERATE(false, true); // a strand per connection, or the server's executor
    CAPTURE(o.one_thread);
    o.session.max_queue_bytes = budget;
    // A small kernel send buffer, so the stuck client's kernel buffers hold
    // little and its queue reaches the budget within the 2 MB published.
    o.session.send_buffer_bytes = 16 * 1024;
    running_server<sse::server> srv(sse::joe(), o);
    srv.start();

    std::vector<bulk_reader> r(readers);
    for (bulk_reader& reader : r) reader.client = open_stream(srv.port());
    auto stuck = open_stream(srv.port(), "/", "", 4096);
    REQUIRE(srv->provider().stats().subscribers == static_cast<std::size_t>(readers + 1));

    queue_sampler sampler(*srv);
    std::int64_t max_after_publish = 0;
    for (int sent = 0; sent < messages;) {
        const int end = std::min(messages, sent + batch);
        for (; sent < end; ++sent) srv->publish(bulk_message(sent));
        max_after_publish = std::max(max_after_publish, srv->stats().queued_bytes);
        for (int i = 0; i < readers; ++i) {
            INFO("reader " << i << " at message " << r[static_cast<std::size_t>(i)].next);
            REQUIRE(r[static_cast<std::size_t>(i)].read_through(end));
        }
    }
    for (const bulk_reader& reader : r) CHECK(reader.next == messages);

    CHECK(eventually([&] { return srv->stats().overflows == 1; }));
    CHECK(eventually([&] { return srv->stats().sessions == readers; }));
    CHECK(srv->provider().stats().subscribers == static_cast<std::size_t>(readers));
    CHECK(eventually([&] { return srv->stats().queued_bytes == 0; }));
    sampler.stop();
    const auto bound = static_cast<std::int64_t>((readers + 1) * budget);
    CHECK(sampler.max() <= bound);
    CHECK(max_after_publish <= bound);
    CHECK(max_after_publish > 0);

    // The stuck client, reading at last, finds a prefix of the stream (the last
    // frame possibly cut by the close), then the end of the connection.
    REQUIRE(stuck->read_until_closed(10s));
    const std::string& got = stuck->received;
    CHECK(got.size() < budget + 1024 * 1024); // the budget plus the kernel's buffers
    std::string want;
    for (int i = 0; want.size() < got.size(); ++i) want += bulk_frame(i);
    CHECK(got == want.substr(0, got.size()));
}

TEST_CASE("server: with drop_oldest a client that never reads stays open, drops frames, and stays bounded") {
    constexpr std::size_t budget = 64 * 1024;
    sse::server_options o = quiet();
    o.session.max_queue_bytes = budget;
    o.session.on_overflow = sse::overflow_policy::drop_oldest;
    o.session.send_buffer_bytes = 16 * 1024;
    running_server<sse::server> srv(sse::joe(), o);
    srv.start();
    bulk_reader reader{open_stream(srv.port())};
    bulk_reader stuck{open_stream(srv.port(), "/", "", 4096)};
    stuck.gaps = true;

    queue_sampler sampler(*srv);
    std::uint64_t dropped_half = 0;
    constexpr int messages = 1000;
    for (int sent = 0; sent < messages;) {
        const int end = std::min(messages, sent + 32);
        for (; sent < end; ++sent) srv->publish(bulk_message(sent));
        REQUIRE(reader.read_through(end));
        if (dropped_half == 0 && sent >= messages / 2) dropped_half = srv->stats().dropped_frames;
    }
    CHECK(dropped_half > 0);
    CHECK(srv->stats().dropped_frames > dropped_half); // still dropping: still subscribed
    CHECK(srv->stats().overflows == 0);
    CHECK(srv->stats().sessions == 2);
    CHECK(srv->provider().stats().subscribers == 2);
    // The reader is drained; what is left queued is the stuck client's, within its budget.
    CHECK(eventually([&] { return srv->stats().queued_bytes <= static_cast<std::int64_t>(budget); }));
    sampler.stop();
    CHECK(sampler.max() <= static_cast<std::int64_t>(2 * budget));

    // Reading at last, the stuck client gets whole frames in order, with gaps,
    // up to the newest.
    srv->publish(bulk_message(messages));
    REQUIRE(stuck.read_through(messages + 1));
    CHECK(stuck.next == messages + 1);
    CHECK(reader.read_through(messages + 1));
}

// ------------------------------------------------------------------------------- heartbeats

TEST_CASE("server: heartbeats are comments sent when a stream is idle") {
    sse::server_options o;
    SECTION("heartbeat = 100 ms: an idle client receives \":\\n\\n\" every 100 ms") {
        o.session.heartbeat = 100ms;
        running_server<sse::server> srv(sse::joe(), o);
        srv.start();
        const auto opened = test_clock::now();
        auto c = open_stream(srv.port());
        // Heartbeats keep coming while the stream is idle (the heartbeat's own write does not
        // count as traffic): ten of them, bounded far above the second they take, since a
        // loaded machine may delay them.
        constexpr std::size_t beats = 10;
        REQUIRE(c->read_at_least(3 * beats, 20s));
        REQUIRE(c->read_at_least((c->received.size() + 2) / 3 * 3, 5s)); // whole ones
        const auto elapsed = test_clock::now() - opened;
        const std::string got = c->received;
        CHECK(got.find_first_not_of(":\n") == std::string::npos);
        CHECK(got.size() % 3 == 0);
        // Never more often than every 100 ms: the k-th leaves no earlier than k x 100 ms after
        // the stream opened (a timer never fires early), however slow or loaded the machine.
        const std::size_t seen = got.size() / 3;
        CAPTURE(seen, std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count());
        CHECK(elapsed >= std::chrono::milliseconds(100 * static_cast<long long>(seen)));
        CHECK(eventually([&] { return srv->stats().heartbeats >= seen; }));
        srv->publish(text("event"));
        REQUIRE(c->read_until("data: event\n\n"));
    }
    SECTION("heartbeat = 0: none within 400 ms") {
        o.session.heartbeat = 0ms;
        running_server<sse::server> srv(sse::joe(), o);
        srv.start();
        auto c = open_stream(srv.port());
        c->read_for(400ms); // (with heartbeat = 100 ms, three or four would have come by now)
        // A sentinel event after the wait: whatever came before it, however late, is seen.
        srv->publish(text("sentinel"));
        REQUIRE(c->read_until("data: sentinel\n\n"));
        CHECK(c->received == "data: sentinel\n\n");
        CHECK(srv->stats().heartbeats == 0);
    }
}

// ------------------------------------------------------------------------------- shutdown

TEST_CASE("server: async_shutdown sends the final event, ends every stream, refuses new connections") {
    sse::server_options o = quiet();
    o.one_thread = GENERATE(false, true); // a strand per connection, or the server's executor
    CAPTURE(o.one_thread);
    o.session.send_buffer_bytes = 16 * 1024;
    running_server<sse::server> srv(sse::joe(), o);
    srv->on_request([](const sse::request& r) -> sse::request_decision {
        if (r.path() == "/plain") return sse::response(200, "ok");
        return sse::stream_accept{};
    });
    srv.start();

    sse::shutdown_options how;
    how.final_message.emplace();
    how.final_message->type = sse::event_type("close");
    how.final_message->append_data("bye");
    how.deadline = 500ms;
    const std::string final_event = "event: close\ndata: bye\n\n";

    std::vector<std::unique_ptr<test_client>> readers;
    readers.push_back(open_stream(srv.port()));
    readers.push_back(open_stream(srv.port()));
    test_client idle(srv.port()); // a keep-alive connection between requests
    REQUIRE(idle.connected());
    REQUIRE(idle.send(get("/plain")));
    REQUIRE(idle.read_response().rfind("HTTP/1.1 200 OK\r\n", 0) == 0);

    std::unique_ptr<test_client> stuck;
    std::error_code expected;
    SECTION("with a stuck stream: the deadline cuts it, and the handler says sse::error::timeout") {
        stuck = open_stream(srv.port(), "/", "", 4096);
        for (int i = 0; i < 512; ++i) srv->publish(bulk_message(i)); // 512 KiB: more than its kernel buffers
        for (auto& r : readers) REQUIRE(r->read_until(bulk_frame(511)));
        // What is still queued is the stuck stream's; the final event waits behind it.
        REQUIRE(eventually([&] { return srv->stats().queued_bytes > 0; }));
        expected = sse::error::timeout;
    }
    SECTION("every stream reads: every queue drains and the handler succeeds before the deadline") {
        how.deadline = 5s;
        srv->publish(text("last"));
        for (auto& r : readers) REQUIRE(r->read_until("data: last\n\n"));
    }
    REQUIRE(eventually([&] { return srv->stats().connections == (stuck ? 4 : 3); }));

    const auto start = test_clock::now();
    std::promise<std::error_code> done;
    srv->async_shutdown(how, [&done](std::error_code ec) { done.set_value(ec); });
    auto result = done.get_future();
    REQUIRE(result.wait_for(10s) == std::future_status::ready);
    const auto took = test_clock::now() - start;
    CHECK(result.get() == expected);
    if (stuck) {
        CHECK(took >= 500ms);
        CHECK(took < 3s);
    } else {
        CHECK(took < 2s); // not the 5 s deadline: the last connection's end completes it
    }

    for (auto& r : readers) {
        REQUIRE(r->read_until_closed());
        CHECK_FALSE(r->was_reset());
        CHECK(r->received.size() >= final_event.size());
        CHECK(r->received.substr(r->received.size() - final_event.size()) == final_event);
    }
    CHECK(idle.read_until_closed());
    CHECK(idle.received.empty());
    if (stuck) CHECK(stuck->read_until_closed(10s));

    test_client late(srv.port());
    CHECK_FALSE(late.connected()); // the listener is closed
    std::error_code ec;
    srv->publish(text("too late"), ec);
    CHECK(ec == sse::error::provider_closed);
    CHECK(srv->stats().connections == 0);
    // (a session object may outlive its connection by a handler or two)
    CHECK(eventually([&] { return srv->stats().sessions == 0 && srv->stats().queued_bytes == 0; }));
}

TEST_CASE("server: async_shutdown of a server without connections completes at once") {
    running_server<sse::server> srv(sse::joe(), quiet());
    srv.start();
    const auto start = test_clock::now();
    std::promise<std::error_code> done;
    srv->async_shutdown([&done](std::error_code ec) { done.set_value(ec); }); // the default deadline: 5 s
    auto result = done.get_future();
    REQUIRE(result.wait_for(10s) == std::future_status::ready);
    CHECK_FALSE(result.get());
    CHECK(test_clock::now() - start < 1s);
}

// ------------------------------------------------------------------------------- sse::upgrade

TEST_CASE("sse::upgrade: a connection accepted and parsed elsewhere becomes a stream, with replay") {
    asio::io_context ioc;
    asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    sse::joe joe(sse::finite_replayer(10, {.auto_ids = true, .first_id = 0}));
    joe.publish(text("zero"), {"t"});
    joe.publish(text("one, elsewhere")); // the default topic
    joe.publish(text("two"), {"t"});
    joe.publish(text("three"), {"t", "u"});

    test_client c(acceptor.local_endpoint().port());
    REQUIRE(c.connected());
    asio::ip::tcp::socket socket(ioc);
    acceptor.accept(socket); // returns at once: the connection is in the backlog

    // As a framework would hand it over, with its own spelling of the header.
    sse::request req;
    req.method = "GET";
    req.target = "/anything?x=1";
    req.headers = {{"Host", "127.0.0.1"}, {"last-event-id", "0"}, {"Last-Event-ID", "2"}};
    auto session = sse::upgrade(std::move(socket), req, joe, {"t"});
    REQUIRE(session);
    std::promise<std::error_code> ended;
    session->on_end([&ended](std::error_code ec) { ended.set_value(ec); });
    sse_test::io_thread io(ioc); // until the session is over

    REQUIRE(c.read_until("\r\n\r\n"));
    const std::string head(sse_test::response_head(c.received));
    CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(has_header_line(head, "Content-Type: text/event-stream"));
    CHECK(has_header_line(head, "Cache-Control: no-cache"));
    c.received.erase(0, head.size());
    const std::string replayed = "id: 2\ndata: two\n\nid: 3\ndata: three\n\n"; // after "0", the first value
    REQUIRE(c.read_at_least(replayed.size()));
    joe.publish(text("live"), {"t"});
    joe.publish(text("not for it"), {"u"});
    joe.publish(text("live again"), {"t"});
    REQUIRE(c.read_until("id: 6\ndata: live again\n\n"));
    CHECK(c.received == replayed + "id: 4\ndata: live\n\nid: 6\ndata: live again\n\n");

    session->close(); // graceful: an orderly end of the stream
    CHECK(c.read_until_closed());
    CHECK_FALSE(c.was_reset());
    auto end = ended.get_future();
    REQUIRE(end.wait_for(5s) == std::future_status::ready);
    CHECK_FALSE(end.get());
    io.join();
    CHECK(joe.stats().subscribers == 0);
}

TEST_CASE("session: closed before its head is out, with a client that never reads, it still ends at close_timeout") {
    asio::io_context ioc;
    asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    sse::joe joe;
    test_client c(acceptor.local_endpoint().port(), 4096);
    REQUIRE(c.connected());
    asio::ip::tcp::socket socket(ioc);
    acceptor.accept(socket);

    sse::session_options so;
    so.heartbeat = 10s; // a pending heartbeat must not replace the close timeout
    so.close_timeout = 200ms;
    so.send_buffer_bytes = 16 * 1024;
    auto session = sse::upgrade(std::move(socket), sse::request{}, joe, {std::string(sse::default_topic)}, so);
    std::promise<std::error_code> ended;
    session->on_end([&ended](std::error_code ec) { ended.set_value(ec); });
    joe.publish(text(std::string(1024 * 1024, 'x'))); // far more than the kernel's buffers take
    session->close();                                  // before the io_context ran: the head is not out
    const auto start = test_clock::now();
    sse_test::io_thread io(ioc);
    auto end = ended.get_future();
    const bool on_time = end.wait_for(5s) == std::future_status::ready;
    CHECK(on_time);
    if (on_time) CHECK(end.get() == sse::error::timeout);
    CHECK(test_clock::now() - start >= 200ms);
    if (!on_time) session->abort(); // so that the io thread can finish
    io.join();
}

TEST_CASE("session: drop_oldest keeps the newest frames that fit, in order; a frame over the budget goes alone") {
    const bool batched = GENERATE(false, true); // published one by one, or as one joe::publish_batch
    CAPTURE(batched);
    accepted_connection conn;
    auto counters = std::make_shared<sse::session_counters>();
    sse::session_options so;
    so.heartbeat = 0ms;
    so.max_queue_bytes = 4 * bulk_frame_size;
    so.on_overflow = sse::overflow_policy::drop_oldest;
    so.counters = counters;
    sse::joe joe;
    auto session = sse::upgrade(std::move(conn.socket), sse::request{}, joe, {std::string(sse::default_topic)}, so);
    // The io_context does not run yet: nothing is written, every frame queues.
    if (batched) {
        std::vector<sse::message> batch;
        for (int i = 0; i < 10; ++i) batch.push_back(bulk_message(i));
        joe.publish_batch(batch);
    } else {
        for (int i = 0; i < 10; ++i) joe.publish(bulk_message(i));
    }
    CHECK(joe.stats().delivered == 10); // accepted: dropping is the sink's own policy
    CHECK(counters->dropped_frames == 6);
    CHECK(session->queued_bytes() == 4 * bulk_frame_size);
    CHECK(counters->queued_bytes == static_cast<std::int64_t>(4 * bulk_frame_size));
    // Larger than the whole budget: dropped alone, the queue is kept.
    joe.publish(text(std::string(5 * bulk_frame_size, 'z')));
    CHECK(counters->dropped_frames == 7);
    CHECK(session->queued_bytes() == 4 * bulk_frame_size);
    CHECK(session->is_open());
    CHECK(counters->overflows == 0);

    sse_test::io_thread io(conn.ioc);
    test_client& c = *conn.client;
    REQUIRE(c.read_until("\r\n\r\n"));
    c.received.erase(0, c.received.find("\r\n\r\n") + 4);
    const std::string want = bulk_frame(6) + bulk_frame(7) + bulk_frame(8) + bulk_frame(9);
    REQUIRE(c.read_at_least(want.size()));
    CHECK(c.received == want);
    session->close();
    CHECK(c.read_until_closed());
    io.join();
    CHECK(counters->frames_written == 4);
    CHECK(counters->writes == 1); // queued before the head went out: one write
    session.reset();
    CHECK(counters->sessions == 0);
    CHECK(counters->queued_bytes == 0);
}

TEST_CASE("session: with overflow_policy::close the frame over the budget ends the stream") {
    const bool batched = GENERATE(false, true); // published one by one, or as one joe::publish_batch
    CAPTURE(batched);
    accepted_connection conn;
    auto counters = std::make_shared<sse::session_counters>();
    sse::session_options so;
    so.heartbeat = 0ms;
    so.max_queue_bytes = 4 * bulk_frame_size;
    so.counters = counters;
    sse::joe joe;
    auto session = sse::upgrade(std::move(conn.socket), sse::request{}, joe, {std::string(sse::default_topic)}, so);
    if (batched) {
        std::vector<sse::message> batch;
        for (int i = 0; i < 5; ++i) batch.push_back(bulk_message(i)); // the 5th does not fit
        joe.publish_batch(batch);
    } else {
        for (int i = 0; i < 5; ++i) joe.publish(bulk_message(i)); // the 5th does not fit
    }
    CHECK(counters->overflows == 1);
    CHECK_FALSE(session->is_open());
    CHECK(joe.stats().subscribers == 0); // joe dropped it
    CHECK(joe.stats().overflows == 1);
    const std::vector<sse::frame> more{sse::frame(bulk_message(5)), sse::frame(bulk_message(6))};
    CHECK(session->send_batch(more) == sse::delivery::closed);
    std::promise<std::error_code> ended;
    session->on_end([&ended](std::error_code ec) { ended.set_value(ec); });
    sse_test::io_thread io(conn.ioc);
    auto end = ended.get_future();
    REQUIRE(end.wait_for(5s) == std::future_status::ready);
    CHECK(end.get() == sse::error::queue_overflow);
    // It ended before its head went out: the client sees the connection close, and nothing else.
    CHECK(conn.client->read_until_closed());
    CHECK(conn.client->received.empty());
    io.join();
    CHECK(counters->queued_bytes == 0);
}

TEST_CASE("session: a backlog of many small frames goes out in order, in bounded chunks, not copied whole") {
    accepted_connection conn;
    auto counters = std::make_shared<sse::session_counters>();
    sse::session_options so;
    so.heartbeat = 0ms;
    so.max_queue_bytes = 8 * 1024 * 1024;
    so.counters = counters;
    sse::joe joe;
    auto session = sse::upgrade(std::move(conn.socket), sse::request{}, joe, {std::string(sse::default_topic)}, so);
#ifdef SSE_TEST_ALLOCATED_BYTES
    const std::size_t empty = __sanitizer_get_current_allocated_bytes(); // the session, nothing queued
#endif
    // The io_context does not run yet: all of it queues, about 4 MB in 40,000 frames.
    constexpr int frames = 40000;
    for (int i = 0; i < frames; ++i) {
        std::string d = std::to_string(i) + " ";
        d.resize(90, 'x');
        joe.publish(text(d));
    }
    REQUIRE(session->queued_bytes() > 3'900'000);
#ifdef SSE_TEST_ALLOCATED_BYTES
    const std::size_t before = __sanitizer_get_current_allocated_bytes();
    std::size_t peak = before;
#endif
    std::thread io([&] { conn.ioc.run_for(60s); });
    int next = 0;
    std::size_t at = 0;
    const auto until = test_clock::now() + 30s;
    std::string& got = conn.client->received;
    while (next < frames && test_clock::now() < until && !conn.client->closed()) {
        conn.client->read_some(10ms);
        for (std::size_t start; (start = got.find("data: ", at)) != std::string::npos;) {
            const std::size_t end = got.find("\n\n", start);
            if (end == std::string::npos) break;
            int seq = -1;
            std::from_chars(got.data() + start + 6, got.data() + end, seq);
            REQUIRE(seq == next); // in order, none missing
            ++next;
            at = end + 2;
        }
        got.erase(0, at);
        at = 0;
#ifdef SSE_TEST_ALLOCATED_BYTES
        const std::size_t now = __sanitizer_get_current_allocated_bytes();
        const std::size_t mine = got.capacity(); // the test's own buffer
        peak = std::max(peak, now > mine ? now - mine : 0);
#endif
    }
    // (the last write's completion, which counts it, may run after its bytes arrived)
    CHECK(eventually([&] { return counters->frames_written == static_cast<std::uint64_t>(frames); }));
    CHECK(counters->queued_bytes == 0);
    conn.ioc.stop();
    io.join();
    CHECK(next == frames);
#ifdef SSE_TEST_ALLOCATED_BYTES
    INFO("allocated before the drain " << before << ", peak during it " << peak);
    CHECK(peak < before + 1024 * 1024); // a copy of the whole backlog would be 4 MB
    // Drained, the stream is idle and gives back what the backlog grew, its copy buffer too
    // (kept, that was 256 KiB per stream that had ever written a backlog: the soak's heap growth).
    const std::size_t idle = __sanitizer_get_current_allocated_bytes();
    INFO("allocated with nothing queued " << empty << ", idle after the drain " << idle << ", the test's buffer "
                                           << got.capacity());
    CHECK(idle < empty + got.capacity() + 64 * 1024);
#endif
}

TEST_CASE("session: a stalled drop_oldest session's memory stays bounded however much is published") {
    accepted_connection conn;
    auto counters = std::make_shared<sse::session_counters>();
    sse::session_options so;
    so.heartbeat = 0ms;
    so.max_queue_bytes = 4096;
    so.on_overflow = sse::overflow_policy::drop_oldest;
    so.counters = counters;
    sse::joe joe;
    auto session = sse::upgrade(std::move(conn.socket), sse::request{}, joe, {std::string(sse::default_topic)}, so);
    // The io_context does not run: the queue is never written, as behind a stalled write.
    const sse::message tiny = text("x"); // "data: x\n\n", 9 bytes: 455 fit in the budget
    for (int i = 0; i < 1000; ++i) joe.publish(tiny);
#ifdef SSE_TEST_ALLOCATED_BYTES
    const std::size_t before = __sanitizer_get_current_allocated_bytes();
#endif
    for (int i = 0; i < 100000; ++i) joe.publish(tiny);
#ifdef SSE_TEST_ALLOCATED_BYTES
    const std::size_t after = __sanitizer_get_current_allocated_bytes();
    INFO("allocated before " << before << ", after " << after);
    CHECK(after < before + 256 * 1024); // not a slot kept per dropped frame (1.6 MB and growing)
#endif
    CHECK(session->queued_bytes() == 455 * 9);
    CHECK(counters->dropped_frames == 101000 - 455);
    CHECK(session->is_open());
    session->abort();
    conn.ioc.run_for(5s); // returns once the session is over
    session.reset();
    CHECK(counters->sessions == 0);
    CHECK(counters->queued_bytes == 0);
}

TEST_CASE("server: publish_batch reaches its topics' subscribers in order, each stream in few writes") {
    running_server<sse::server> srv(sse::joe(sse::finite_replayer(100, {.auto_ids = true, .first_id = 0})), quiet());
    srv->on_request([](const sse::request& r) -> sse::request_decision { return sse::stream_accept{r.query_values("topic")}; });
    srv.start();
    auto a = open_stream(srv.port(), "/events?topic=a");
    auto b = open_stream(srv.port(), "/events?topic=b");
    REQUIRE(srv->provider().stats().subscribers == 2);
    const std::uint64_t writes_before = srv->stats().writes;
    std::vector<sse::message> batch;
    for (int i = 0; i < 50; ++i) batch.push_back(text("m" + std::to_string(i)));
    srv->publish_batch(batch, {"a"});
    srv->publish(text("the end"), {"a", "b"});
    std::string want;
    for (int i = 0; i < 50; ++i) want += "id: " + std::to_string(i) + "\ndata: m" + std::to_string(i) + "\n\n";
    want += "id: 50\ndata: the end\n\n";
    REQUIRE(a->read_until("data: the end\n\n"));
    REQUIRE(b->read_until("data: the end\n\n"));
    CHECK(a->received == want);
    CHECK(b->received == "id: 50\ndata: the end\n\n");
    CHECK(srv->provider().stats().published == 51);
    // 52 frames in all: far fewer writes than frames (the batch is queued at once).
    CHECK(eventually([&] { return srv->stats().frames_written >= 52; }));
    CHECK(srv->stats().writes - writes_before <= 8);
    std::error_code ec;
    srv->publish_batch(batch, sse::topic_list(), ec);
    CHECK(ec == sse::error::no_topic);
}
