// The reconnecting client (sse/client.hpp, sse/ssl.hpp, detail/url.hpp): its configuration,
// backoff and URL handling; then end to end over loopback against the library's own server
// (in-process), against Node peers from tests/peers/ (a server that misbehaves on purpose, a
// better-sse server, an HTTPS server with a certificate made at test time), and against the demo
// server. go-sse's client bugs (research/go-sse-inventory.md section 7) each have a regression test.
//
// Node peers are child processes (tests/support/node_peer.hpp); without node their tests fail,
// unless the developer opted out of them (SSE_TEST_WITHOUT=node): then they skip, with a warning.
#include "sse_test.hpp"
#include "support/node_peer.hpp"
#include "support/scripted_peer.hpp"

#include <sse/client.hpp>
#include <sse/replayer.hpp>
#include <sse/server.hpp>
#include <sse/ssl.hpp>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

// ------------------------------------------------------------------------------------ helpers

// One received event, owned, printable.
struct ev {
    std::string type, data, id;
    friend bool operator==(const ev&, const ev&) = default;
};
[[maybe_unused]] std::ostream& operator<<(std::ostream& os, const ev& e) {
    return os << "{" << e.type << ", \"" << e.data << "\", id \"" << e.id << "\"}";
}
ev to_ev(const sse::event_view& v) { return {std::string(v.type), std::string(v.data), std::string(v.last_event_id)}; }

long long count_ms(ms d) { return static_cast<long long>(d.count()); }
long long elapsed_ms(steady::time_point since) {
    return static_cast<long long>(std::chrono::duration_cast<ms>(steady::now() - since).count());
}

// Runs `ioc` on this thread until `done()` or the time limit; returns done().
bool drive(asio::io_context& ioc, const std::function<bool()>& done, ms limit) {
    const auto until = steady::now() + limit;
    while (!done() && steady::now() < until) {
        if (ioc.stopped()) ioc.restart();
        ioc.run_one_until(until);
    }
    return done();
}

// Runs the connection (async_run with a callback) on `ioc` on this thread to its completion, at
// most `limit`; a connection still running then fails the test (after cancelling it).
std::error_code run_on(asio::io_context& ioc, sse::connection& conn, ms limit = 15000ms) {
    std::optional<std::error_code> result;
    conn.async_run([&](std::error_code ec) { result = ec; });
    if (!drive(ioc, [&] { return result.has_value(); }, limit)) {
        FAIL_CHECK("the connection was still running after " << count_ms(limit) << " ms");
        conn.cancel();
        drive(ioc, [&] { return result.has_value(); }, 5000ms);
    }
    REQUIRE(result.has_value());
    return *result;
}

// What on_retry saw.
struct retry_log {
    std::vector<std::pair<std::error_code, ms>> calls;
    std::function<void(std::error_code, ms)> hook() {
        return [this](std::error_code ec, ms d) { calls.emplace_back(ec, d); };
    }
};

// Short, exact delays (no jitter).
sse::backoff fast_backoff(int max_retries = 0) {
    sse::backoff b;
    b.initial_interval = 10ms;
    b.multiplier = 1.5;
    b.jitter = -1;
    b.max_retries = max_retries;
    return b;
}

std::string local_url(unsigned short port, std::string_view target, std::string_view host = "127.0.0.1") {
    return "http://" + std::string(host) + ":" + std::to_string(port) + std::string(target);
}

sse::request get_request(std::string target, std::vector<sse::header> headers = {}) {
    sse::request r;
    r.target = std::move(target);
    r.headers = std::move(headers);
    return r;
}

// A port on which nothing listens (it was free a moment ago).
unsigned short closed_port() {
    asio::io_context ioc;
    asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

std::string percent_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// The library's own server on a thread of its own, for the tests that need no Node: it streams
// every path on the default topic of a joe with a finite replayer (automatic ids 0, 1, ...),
// except /204, /plain (200 text/plain), /500 and /loop (302 to itself); it records every request.
struct local_server {
    asio::io_context ioc;
    sse::server server;
    std::thread thread;
    std::mutex mutex;
    std::vector<sse::request> requests;

    static sse::server_options options() {
        sse::server_options o;
        o.session.heartbeat = 0ms; // silence means silence (idle-timeout tests)
        return o;
    }

    local_server() : server(ioc, sse::joe(sse::finite_replayer(1000, {.auto_ids = true, .first_id = 0})), options()) {
        server.on_request([this](const sse::request& r) -> sse::request_decision {
            {
                std::lock_guard lock(mutex);
                requests.push_back(r);
            }
            const std::string_view path = r.path();
            if (path == "/204") return sse::response(204, "", "");
            if (path == "/plain") return sse::response(200, "data: not a stream\n\n", "text/plain");
            if (path == "/500") return sse::response(500, "no\n");
            if (path == "/loop") {
                sse::response res(302, "", "");
                res.headers.push_back({"Location", "/loop"});
                return res;
            }
            return sse::stream_accept{};
        });
        server.listen({asio::ip::make_address("127.0.0.1"), 0});
        thread = std::thread([this] { ioc.run(); });
    }
    ~local_server() {
        ioc.stop();
        thread.join();
    }

    std::string url(std::string_view path) const { return local_url(server.local_endpoint().port(), path); }

    void publish(std::string_view type, std::string_view data) {
        sse::message m;
        if (!type.empty()) m.type = sse::event_type(type);
        m.append_data(data);
        server.publish(m);
    }

    // Publishes a placeholder (id 0) and then `events` (ids 1, 2, ...): a client whose request
    // carries Last-Event-ID: 0 gets exactly `events` replayed, however late it connects.
    void preload(const std::vector<std::pair<std::string, std::string>>& events) {
        publish("", "placeholder");
        for (const auto& [type, data] : events) publish(type, data);
    }

    std::vector<sse::request> seen() {
        std::lock_guard lock(mutex);
        return requests;
    }
};

using sse_test::scripted_server;

} // namespace

// ============================================================================ configuration

TEST_CASE("client: defaults and the default validator", "[client]") {
    const sse::client c;
    CHECK(c.max_event_size == 8u * 1024 * 1024);
    CHECK(c.max_event_size == sse::parser::default_max_event_size);
    CHECK(c.backoff.initial_interval.count() == 500);
    CHECK(c.backoff.multiplier == Approx(1.5));
    CHECK(c.backoff.jitter == Approx(0.5));
    CHECK(c.backoff.max_interval.count() == 0);
    CHECK(c.backoff.max_elapsed_time.count() == 0);
    CHECK(c.backoff.max_retries == 0);
    CHECK(c.connect_timeout.count() == 10000);
    CHECK(c.idle_timeout.count() == 0);
    CHECK(c.max_redirects == 10);
    CHECK(!c.tls);

    auto with_type = [](unsigned status, std::string type) {
        sse::response_head h;
        h.status = status;
        if (!type.empty()) h.headers.push_back({"content-TYPE", std::move(type)});
        return sse::default_validator(h);
    };
    CHECK(!with_type(200, "text/event-stream"));
    CHECK(!with_type(200, "TEXT/Event-Stream;charset=utf-8"));
    CHECK(!with_type(200, " text/event-stream ; charset=utf-8"));
    CHECK(with_type(200, "text/plain") == sse::error::bad_content_type);
    CHECK(with_type(200, "text/event-streams") == sse::error::bad_content_type);
    CHECK(with_type(200, "") == sse::error::bad_content_type);
    CHECK(with_type(204, "text/event-stream") == sse::error::bad_status);
    CHECK(with_type(500, "text/event-stream") == sse::error::bad_status);
    CHECK(with_type(201, "text/event-stream") == sse::error::bad_status);
}

TEST_CASE("client: the request head (Cache-Control, not go-sse's Cache)", "[client]") {
    std::error_code ec;
    const sse::detail::url u = sse::detail::parse_url("http://example.com:8080/a/b?c=1#frag", ec);
    REQUIRE(!ec);

    const std::string get = sse::detail::build_request("GET", u, {{"X-Mine", "1"}}, "");
    CHECK_THAT(get, SSE_STARTS_WITH("GET /a/b?c=1 HTTP/1.1\r\nHost: example.com:8080\r\n"));
    CHECK_THAT(get, SSE_CONTAINS("\r\nAccept: text/event-stream\r\n"));
    CHECK_THAT(get, SSE_CONTAINS("\r\nCache-Control: no-cache\r\n"));
    CHECK_THAT(get, !SSE_CONTAINS("\r\nCache:"));
    CHECK_THAT(get, SSE_CONTAINS("\r\nX-Mine: 1\r\n"));
    CHECK_THAT(get, !SSE_CONTAINS("Content-Length"));
    CHECK_THAT(get, SSE_ENDS_WITH("\r\n\r\n"));

    // The caller's own Accept/Cache-Control replace the defaults; Host and framing headers are ours.
    const std::string post = sse::detail::build_request(
        "POST", u,
        {{"accept", "application/x-ndjson"}, {"cache-control", "max-age=0"}, {"Host", "evil"}, {"Content-Length", "99"},
         {"Transfer-Encoding", "chunked"}},
        "hello");
    CHECK_THAT(post, SSE_STARTS_WITH("POST /a/b?c=1 HTTP/1.1\r\nHost: example.com:8080\r\n"));
    CHECK_THAT(post, SSE_CONTAINS("\r\naccept: application/x-ndjson\r\n"));
    CHECK_THAT(post, !SSE_CONTAINS("text/event-stream"));
    CHECK_THAT(post, !SSE_CONTAINS("no-cache"));
    CHECK_THAT(post, !SSE_CONTAINS("evil"));
    CHECK_THAT(post, !SSE_CONTAINS("99"));
    CHECK_THAT(post, !SSE_CONTAINS("chunked"));
    CHECK_THAT(post, SSE_ENDS_WITH("\r\nContent-Length: 5\r\n\r\nhello"));

    // An empty POST still says its length.
    CHECK_THAT(sse::detail::build_request("POST", u, {}, ""), SSE_ENDS_WITH("\r\nContent-Length: 0\r\n\r\n"));
}

TEST_CASE("client: URLs and redirect locations", "[client]") {
    using sse::detail::parse_url;
    using sse::detail::resolve_location;
    std::error_code ec;

    auto u = parse_url("http://h/", ec);
    REQUIRE(!ec);
    CHECK(!u.tls);
    CHECK(u.host == "h");
    CHECK(u.port == "80");
    CHECK(u.target == "/");
    CHECK(u.authority() == "h");

    u = parse_url("HTTPS://Example.org", ec);
    REQUIRE(!ec);
    CHECK(u.tls);
    CHECK(u.port == "443");
    CHECK(u.target == "/");
    CHECK(u.to_string() == "https://Example.org/");

    u = parse_url("http://h:8080?q=1", ec);
    REQUIRE(!ec);
    CHECK(u.target == "/?q=1");
    CHECK(u.authority() == "h:8080");

    u = parse_url("http://[::1]:9/x?y#frag", ec);
    REQUIRE(!ec);
    CHECK(u.host == "::1");
    CHECK(u.port == "9");
    CHECK(u.target == "/x?y");
    CHECK(u.authority() == "[::1]:9");

    for (const char* bad : {"ftp://h/", "h/", "http://", "http:///x", "http://user@h/", "http://h:/", "http://h:8a/",
                            "http://h:123456/", "http://[::1/", "http://[::1]x/", "http://h/a b", "http://h\r\n/"}) {
        INFO(bad);
        (void)parse_url(bad, ec);
        CHECK(ec == sse::error::invalid_url);
    }

    const auto base = parse_url("http://h:1/a/b?c", ec);
    REQUIRE(!ec);
    CHECK(resolve_location(base, "/x?y", ec).to_string() == "http://h:1/x?y");
    CHECK(resolve_location(base, "y", ec).to_string() == "http://h:1/a/y");
    CHECK(resolve_location(base, "y#f", ec).to_string() == "http://h:1/a/y");
    CHECK(resolve_location(base, "//o/z", ec).to_string() == "http://o/z");
    CHECK(resolve_location(base, "https://o:8443/z", ec).to_string() == "https://o:8443/z");
    CHECK(!ec);
    (void)resolve_location(base, "", ec);
    CHECK(ec == sse::error::invalid_url);
    (void)resolve_location(base, "/a b", ec);
    CHECK(ec == sse::error::invalid_url);
}

TEST_CASE("client: backoff delays (go-sse's algorithm, jitter -1 exact)", "[client]") {
    using sse::detail::backoff_state;
    auto sequence = [](sse::backoff b, int n) {
        backoff_state s(b);
        std::vector<long long> out;
        for (int i = 0; i < n; ++i) {
            const auto d = s.next();
            if (!d) break;
            out.push_back(count_ms(*d));
        }
        return out;
    };
    sse::backoff b = fast_backoff();
    b.multiplier = 2;
    CHECK(sequence(b, 6) == std::vector<long long>{10, 20, 40, 80, 160, 320});
    b.jitter = 0; // also none
    CHECK(sequence(b, 4) == std::vector<long long>{10, 20, 40, 80});
    b.max_interval = 35ms;
    CHECK(sequence(b, 5) == std::vector<long long>{10, 20, 35, 35, 35});
    b.max_interval = 0ms;
    b.multiplier = 0.5; // below 1: constant
    CHECK(sequence(b, 3) == std::vector<long long>{10, 10, 10});
    b.multiplier = 2;
    b.max_retries = 3;
    CHECK(sequence(b, 10) == std::vector<long long>{10, 20, 40});
    b.max_retries = -1;
    CHECK(sequence(b, 10).empty());

    // A delivered event starts the count again; a retry: field becomes the base.
    b.max_retries = 2;
    backoff_state s(b);
    CHECK(s.next().value_or(0ms).count() == 10);
    CHECK(s.next().value_or(0ms).count() == 20);
    CHECK(!s.next());
    s.reset();
    CHECK(s.retries() == 0);
    CHECK(s.next().value_or(0ms).count() == 10);
    s.set_base(50ms);
    CHECK(s.next().value_or(0ms).count() == 50);
    CHECK(!s.next());
    s.reset();
    CHECK(s.next().value_or(0ms).count() == 50);
    CHECK(s.next().value_or(0ms).count() == 100);

    // The default jitter (0.5) stays within +/- 50 %.
    sse::backoff j;
    j.initial_interval = 20ms;
    j.multiplier = 1;
    backoff_state js(j);
    for (int i = 0; i < 200; ++i) {
        const auto d = js.next();
        REQUIRE(d);
        CHECK(d->count() >= 10);
        CHECK(d->count() <= 30);
    }

    // Max elapsed time: delays 10 and 100 fit in 500 ms, 1000 does not.
    sse::backoff e = fast_backoff();
    e.multiplier = 10;
    e.max_elapsed_time = 500ms;
    CHECK(sequence(e, 10) == std::vector<long long>{10, 100});
}

TEST_CASE("client: Retry-After values", "[client]") {
    using sse::detail::parse_retry_after;
    CHECK(parse_retry_after("1") == std::optional<ms>(1000ms));
    CHECK(parse_retry_after(" 2 ") == std::optional<ms>(2000ms));
    CHECK(parse_retry_after("0") == std::optional<ms>(0ms));
    CHECK(parse_retry_after("99999999999").value_or(0ms) >= ms(std::chrono::hours(24 * 365)));
    CHECK(!parse_retry_after(""));
    CHECK(!parse_retry_after("soon"));
    CHECK(!parse_retry_after("-1"));
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT") == std::optional<ms>(0ms)); // in the past
    const std::time_t later = std::time(nullptr) + 100;
    std::tm tm{};
    gmtime_r(&later, &tm);
    char date[64];
    REQUIRE(std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0);
    const auto d = parse_retry_after(date);
    REQUIRE(d);
    CHECK(d->count() >= 98000);
    CHECK(d->count() <= 100000);
}

// ======================================================================== closed port (no server)

TEST_CASE("client: retries exhausted on a closed port", "[client]") {
    asio::io_context ioc;
    const unsigned short port = closed_port();
    retry_log retries;
    sse::client cfg;
    cfg.on_retry = retries.hook();

    SECTION("max_retries 2: on_retry exactly twice, then retries_exhausted with the cause") {
        cfg.backoff = fast_backoff(2);
        sse::connection conn(ioc.get_executor(), get_request(local_url(port, "/")), cfg);
        CHECK(run_on(ioc, conn) == sse::error::retries_exhausted);
        REQUIRE(retries.calls.size() == 2);
        CHECK(retries.calls[0].first == asio::error::connection_refused);
        CHECK(retries.calls[1].first == asio::error::connection_refused);
        CHECK(count_ms(retries.calls[0].second) == 10);
        CHECK(count_ms(retries.calls[1].second) == 15);
        CHECK(conn.last_error() == asio::error::connection_refused);
        CHECK(conn.last_status() == 0);
    }
    SECTION("jitter -1: the delays are exact, and really waited") {
        cfg.backoff = fast_backoff(4);
        cfg.backoff.initial_interval = 20ms;
        cfg.backoff.multiplier = 2;
        sse::connection conn(ioc.get_executor(), get_request(local_url(port, "/")), cfg);
        const auto start = steady::now();
        CHECK(run_on(ioc, conn) == sse::error::retries_exhausted);
        const long long took = elapsed_ms(start);
        std::vector<long long> delays;
        for (const auto& c : retries.calls) delays.push_back(count_ms(c.second));
        CHECK(delays == std::vector<long long>{20, 40, 80, 160});
        CHECK(took >= 300);
        CHECK(took < 5000);
    }
    SECTION("max_elapsed_time ends the retries") {
        cfg.backoff = fast_backoff();
        cfg.backoff.multiplier = 10;
        cfg.backoff.max_elapsed_time = 500ms;
        sse::connection conn(ioc.get_executor(), get_request(local_url(port, "/")), cfg);
        CHECK(run_on(ioc, conn) == sse::error::retries_exhausted);
        CHECK(retries.calls.size() == 2);
    }
    SECTION("retries off: the cause itself, no on_retry") {
        cfg.backoff = fast_backoff(-1);
        sse::connection conn(ioc.get_executor(), get_request(local_url(port, "/")), cfg);
        CHECK(run_on(ioc, conn) == asio::error::connection_refused);
        CHECK(retries.calls.empty());
    }
}

TEST_CASE("client: bad URLs and https without TLS fail at once", "[client]") {
    asio::io_context ioc;
    retry_log retries;
    sse::client cfg;
    cfg.backoff = fast_backoff(5);
    cfg.on_retry = retries.hook();
    for (const char* target : {"https://127.0.0.1:1/", "ftp://127.0.0.1/", "http://", "/relative"}) {
        INFO(target);
        sse::connection conn(ioc.get_executor(), get_request(target), cfg);
        CHECK(run_on(ioc, conn) == sse::error::invalid_url);
    }
    CHECK(retries.calls.empty());
}

// ======================================================================== the library's own server

TEST_CASE("client: typed callbacks before subscribe_to_all, events in stream order", "[client]") {
    local_server srv;
    srv.preload({{"a", "1"}, {"", "2"}, {"b", "3"}, {"a", "4\nfour"}, {"", "end"}});
    asio::io_context ioc;
    sse::client cfg;
    cfg.backoff = fast_backoff();
    sse::connection conn(ioc.get_executor(), get_request(srv.url("/events"), {{"Last-Event-ID", "0"}}), cfg);

    std::vector<std::string> calls;
    std::vector<ev> all;
    conn.subscribe_to_all([&](const sse::event_view& e) { // subscribed first, still called last
        calls.push_back("all:" + std::string(e.data));
        all.push_back(to_ev(e));
        if (e.data == "end") conn.cancel();
    });
    conn.subscribe_event("a", [&](const sse::event_view& e) { calls.push_back("a1:" + std::string(e.data)); });
    conn.subscribe_messages([&](const sse::event_view& e) { calls.push_back("msg:" + std::string(e.data)); });
    conn.subscribe_event("a", [&](const sse::event_view& e) { calls.push_back("a2:" + std::string(e.data)); });

    CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
    CHECK(calls == std::vector<std::string>{"a1:1", "a2:1", "all:1", "msg:2", "all:2", "all:3", "a1:4\nfour",
                                            "a2:4\nfour", "all:4\nfour", "msg:end", "all:end"});
    CHECK(all == std::vector<ev>{{"a", "1", "1"},
                                 {"message", "2", "2"},
                                 {"b", "3", "3"},
                                 {"a", "4\nfour", "4"},
                                 {"message", "end", "5"}});
    CHECK(conn.last_event_id() == "5");
    CHECK(conn.last_status() == 200);
    CHECK(!conn.last_error());

    // What the request looked like (go-sse sent "Cache: no-cache").
    const auto seen = srv.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "GET");
    CHECK(seen[0].header_value("Accept") == "text/event-stream");
    CHECK(seen[0].header_value("Cache-Control") == "no-cache");
    CHECK(!seen[0].has_header("Cache"));
    CHECK(seen[0].header_value("Last-Event-ID") == "0");
}

TEST_CASE("client: subscribing and unsubscribing inside a callback (go-sse deadlocks)", "[client]") {
    local_server srv;
    srv.preload({{"", "1"}, {"", "2"}, {"", "3"}, {"", "4"}});
    asio::io_context ioc;
    sse::client cfg;
    cfg.backoff = fast_backoff();
    std::optional<sse::connection> conn;
    conn.emplace(ioc.get_executor(), get_request(srv.url("/events"), {{"Last-Event-ID", "0"}}), cfg);

    std::vector<std::string> calls;
    sse::event_subscription s1, s2, s3;
    s1 = conn->subscribe_messages([&](const sse::event_view& e) {
        calls.push_back("s1:" + std::string(e.data));
        s1.unsubscribe(); // itself, while it runs
        s1.unsubscribe(); // twice is harmless
        s2.unsubscribe(); // one that would run after it for this very event
        s3 = conn->subscribe_messages([&](const sse::event_view& e3) { calls.push_back("s3:" + std::string(e3.data)); });
    });
    s2 = conn->subscribe_messages([&](const sse::event_view& e) { calls.push_back("s2:" + std::string(e.data)); });
    conn->subscribe_to_all([&](const sse::event_view& e) {
        calls.push_back("all:" + std::string(e.data));
        if (e.data == "4") conn->cancel();
    });

    CHECK(run_on(ioc, *conn) == asio::error::operation_aborted);
    // s2 was removed before its turn; s3 joins from the next event on.
    CHECK(calls == std::vector<std::string>{"s1:1", "all:1", "s3:2", "all:2", "s3:3", "all:3", "s3:4", "all:4"});

    // Unsubscribing after the connection is gone, or an empty subscription, does nothing.
    conn.reset();
    s3.unsubscribe();
    sse::event_subscription().unsubscribe();
}

TEST_CASE("client: idle timeout, then Last-Event-ID from the stream and a replay without gaps", "[client]") {
    local_server srv;
    srv.preload({{"", "e1"}, {"", "e2"}, {"", "e3"}, {"", "e4"}, {"", "e5"}});
    asio::io_context ioc;
    retry_log retries;
    int provided = 0;
    sse::client cfg;
    cfg.backoff = fast_backoff();
    cfg.idle_timeout = 300ms; // the server sends no heartbeats
    cfg.header_provider = [&](std::vector<sse::header>& h) {
        ++provided;
        h.push_back({"Authorization", "Bearer token-" + std::to_string(provided)});
    };
    cfg.on_retry = [&](std::error_code ec, ms d) {
        retries.calls.emplace_back(ec, d);
        for (int i = 6; i <= 10; ++i) srv.publish("", "e" + std::to_string(i)); // while disconnected
    };
    // The caller's Last-Event-ID goes out first; once the stream sent ids, the stream's.
    sse::connection conn(ioc.get_executor(), get_request(srv.url("/events"), {{"Last-Event-ID", "0"}}), cfg);
    std::vector<ev> got;
    conn.subscribe_messages([&](const sse::event_view& e) {
        got.push_back(to_ev(e));
        if (e.data == "e10") conn.cancel();
    });

    const auto start = steady::now();
    CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
    const long long took = elapsed_ms(start);
    std::vector<ev> want;
    for (int i = 1; i <= 10; ++i) want.push_back({"message", "e" + std::to_string(i), std::to_string(i)});
    CHECK(got == want); // nothing lost, nothing twice
    REQUIRE(retries.calls.size() == 1);
    CHECK(retries.calls[0].first == sse::error::timeout);
    CHECK(took >= 250);
    CHECK(took < 5000);
    CHECK(conn.last_error() == sse::error::timeout);

    const auto seen = srv.seen();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].header_value("Last-Event-ID") == "0");
    CHECK(seen[1].header_value("Last-Event-ID") == "5");
    CHECK(provided == 2); // before every attempt
    CHECK(seen[0].header_value("Authorization") == "Bearer token-1");
    CHECK(seen[1].header_value("Authorization") == "Bearer token-2");
}

TEST_CASE("client: run() blocks to a clean end; retries off means no error", "[client]") {
    local_server srv;
    srv.preload({{"", "hello"}});
    sse::client cfg;
    cfg.backoff = fast_backoff(-1);
    retry_log retries;
    cfg.on_retry = retries.hook();
    sse::connection conn(get_request(srv.url("/events"), {{"Last-Event-ID", "0"}}), cfg); // its own io_context
    std::vector<ev> got;
    conn.subscribe_to_all([&](const sse::event_view& e) {
        got.push_back(to_ev(e));
        if (e.data == "hello") { // the server ends every stream gracefully, with a last event
            sse::shutdown_options how;
            how.final_message.emplace();
            how.final_message->type = sse::event_type("close");
            how.final_message->append_data("bye");
            how.deadline = 2000ms;
            srv.server.async_shutdown(how, [](std::error_code) {});
        }
    });
    std::error_code ec = asio::error::would_block;
    conn.run(ec);
    CHECK(!ec);
    CHECK(got == std::vector<ev>{{"message", "hello", "1"}, {"close", "bye", "1"}});
    CHECK(retries.calls.empty());
}

TEST_CASE("client: an exception from a callback comes out of run()", "[client]") {
    local_server srv;
    srv.preload({{"", "boom"}});
    sse::client cfg;
    cfg.backoff = fast_backoff();
    sse::connection conn(get_request(srv.url("/events"), {{"Last-Event-ID", "0"}}), cfg);
    conn.subscribe_messages([](const sse::event_view& e) { throw std::runtime_error(std::string(e.data)); });
    CHECK_THROWS_WITH(conn.run(), "boom");
}

TEST_CASE("client: 204, a wrong content type, 500 and redirect loops end it for good", "[client]") {
    local_server srv;
    asio::io_context ioc;
    retry_log retries;
    sse::client cfg;
    cfg.backoff = fast_backoff(5);
    cfg.max_redirects = 3;
    cfg.on_retry = retries.hook();
    auto run_path = [&](std::string_view path) {
        sse::connection conn(ioc.get_executor(), get_request(srv.url(path)), cfg);
        const std::error_code ec = run_on(ioc, conn);
        return std::pair(ec, conn.last_status());
    };
    CHECK(run_path("/204") == std::pair(std::error_code(), 204u));
    CHECK(run_path("/plain") == std::pair(std::error_code(sse::error::bad_content_type), 200u));
    CHECK(run_path("/500") == std::pair(std::error_code(sse::error::bad_status), 500u));
    CHECK(run_path("/loop") == std::pair(std::error_code(sse::error::too_many_redirects), 302u));
    CHECK(retries.calls.empty()); // none of them is retried
    const auto seen = srv.seen();
    CHECK(seen.size() == 1 + 1 + 1 + 4); // the loop: the request and 3 redirects
}

TEST_CASE("client: async_run with use_future, use_awaitable and experimental::deferred", "[client]") {
    local_server srv;
    sse::client cfg;
    cfg.backoff = fast_backoff(-1);

    SECTION("use_future, and run() on an executor someone else runs") {
        asio::io_context ioc;
        auto guard = asio::make_work_guard(ioc);
        std::thread runner([&] { ioc.run(); });
        {
            sse::connection ok(ioc.get_executor(), get_request(srv.url("/204")), cfg);
            std::future<void> f = ok.async_run(asio::use_future);
            REQUIRE(f.wait_for(10s) == std::future_status::ready);
            CHECK_NOTHROW(f.get());

            sse::connection bad(ioc.get_executor(), get_request(srv.url("/plain")), cfg);
            std::future<void> g = bad.async_run(asio::use_future);
            REQUIRE(g.wait_for(10s) == std::future_status::ready);
            try {
                g.get();
                FAIL_CHECK("no exception");
            } catch (const std::system_error& e) {
                CHECK(e.code() == sse::error::bad_content_type);
            }

            sse::connection blocking(ioc.get_executor(), get_request(srv.url("/plain")), cfg);
            std::error_code ec;
            blocking.run(ec);
            CHECK(ec == sse::error::bad_content_type);
            CHECK_THROWS_AS(blocking.run(), std::system_error);
        }
        guard.reset();
        runner.join();
    }
    SECTION("use_awaitable in a coroutine (co_spawn)") {
        asio::io_context ioc;
        sse::connection ok(ioc.get_executor(), get_request(srv.url("/204")), cfg);
        sse::connection bad(ioc.get_executor(), get_request(srv.url("/plain")), cfg);
        std::error_code tuple_ec, thrown_ec = asio::error::would_block;
        bool finished = false;
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                co_await ok.async_run(asio::use_awaitable); // no error: no exception
                auto [ec] = co_await bad.async_run(asio::experimental::as_tuple(asio::use_awaitable));
                tuple_ec = ec;
                try {
                    co_await bad.async_run(asio::use_awaitable);
                } catch (const std::system_error& e) {
                    thrown_ec = e.code();
                }
                finished = true;
            },
            asio::detached);
        REQUIRE(drive(ioc, [&] { return finished; }, 15000ms));
        CHECK(tuple_ec == sse::error::bad_content_type);
        CHECK(thrown_ec == sse::error::bad_content_type);
    }
    SECTION("experimental::deferred: nothing starts until the deferred operation is invoked") {
        asio::io_context ioc;
        sse::connection conn(ioc.get_executor(), get_request(srv.url("/plain")), cfg);
        auto op = conn.async_run(asio::experimental::deferred);
        ioc.poll();
        CHECK(srv.seen().empty());
        std::optional<std::error_code> result;
        std::move(op)([&](std::error_code ec) { result = ec; });
        REQUIRE(drive(ioc, [&] { return result.has_value(); }, 15000ms));
        CHECK(*result == sse::error::bad_content_type);
        CHECK(srv.seen().size() == 1);
    }
}

TEST_CASE("client: cancel() right after async_run, or destroying the connection, ends the run", "[client]") {
    local_server srv;
    asio::io_context ioc;
    sse::client cfg;
    cfg.backoff = fast_backoff();
    std::optional<std::error_code> result;
    auto done = [&] { return result.has_value(); };

    SECTION("cancel() before the run took its first step") {
        sse::connection conn(ioc.get_executor(), get_request(srv.url("/events")), cfg);
        conn.async_run([&](std::error_code ec) { result = ec; });
        conn.cancel();
        REQUIRE(drive(ioc, done, 10000ms));
        CHECK(*result == asio::error::operation_aborted);
    }
    SECTION("the connection destroyed while it runs") {
        {
            sse::connection conn(ioc.get_executor(), get_request(srv.url("/events")), cfg);
            conn.async_run([&](std::error_code ec) { result = ec; });
        }
        REQUIRE(drive(ioc, done, 10000ms));
        CHECK(*result == asio::error::operation_aborted);
    }
    SECTION("a cancelled connection runs again, resuming after its last event id") {
        srv.preload({{"", "one"}});
        sse::connection conn(ioc.get_executor(), get_request(srv.url("/events"), {{"Last-Event-ID", "0"}}), cfg);
        std::vector<ev> got;
        conn.subscribe_messages([&](const sse::event_view& e) {
            got.push_back(to_ev(e));
            conn.cancel();
        });
        CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
        srv.publish("", "two");
        CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
        CHECK(got == std::vector<ev>{{"message", "one", "1"}, {"message", "two", "2"}});
        const auto seen = srv.seen();
        REQUIRE(seen.size() == 2);
        CHECK(seen[1].header_value("Last-Event-ID") == "1");
    }
}

TEST_CASE("client: per-operation cancellation completes with operation_aborted", "[client]") {
    asio::io_context ioc;
    asio::cancellation_signal signal;
    std::optional<std::error_code> result;
    auto handler = asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec) { result = ec; });

    SECTION("while streaming") {
        local_server srv;
        srv.preload({{"", "first"}});
        sse::client cfg;
        cfg.backoff = fast_backoff();
        sse::connection conn(ioc.get_executor(), get_request(srv.url("/events"), {{"Last-Event-ID", "0"}}), cfg);
        int events = 0;
        conn.subscribe_messages([&](const sse::event_view&) {
            ++events;
            signal.emit(asio::cancellation_type::terminal);
        });
        conn.async_run(handler);
        REQUIRE(drive(ioc, [&] { return result.has_value(); }, 10000ms));
        CHECK(*result == asio::error::operation_aborted);
        CHECK(events == 1);
    }
    SECTION("while waiting to reconnect (a 10 s wait is cut short)") {
        sse::client cfg;
        cfg.backoff = fast_backoff();
        cfg.backoff.initial_interval = 10000ms;
        int retries = 0;
        cfg.on_retry = [&](std::error_code, ms) {
            ++retries;
            signal.emit(asio::cancellation_type::terminal); // right before the wait begins
        };
        sse::connection conn(ioc.get_executor(), get_request(local_url(closed_port(), "/")), cfg);
        const auto start = steady::now();
        conn.async_run(handler);
        REQUIRE(drive(ioc, [&] { return result.has_value(); }, 15000ms));
        CHECK(*result == asio::error::operation_aborted);
        CHECK(retries == 1);
        CHECK(elapsed_ms(start) < 5000);
    }
    SECTION("while waiting to reconnect, from another handler") {
        sse::client cfg;
        cfg.backoff = fast_backoff();
        cfg.backoff.initial_interval = 10000ms;
        cfg.on_retry = [&](std::error_code, ms) {
            asio::post(ioc, [&] { signal.emit(asio::cancellation_type::terminal); });
        };
        sse::connection conn(ioc.get_executor(), get_request(local_url(closed_port(), "/")), cfg);
        const auto start = steady::now();
        conn.async_run(handler);
        REQUIRE(drive(ioc, [&] { return result.has_value(); }, 15000ms));
        CHECK(*result == asio::error::operation_aborted);
        CHECK(elapsed_ms(start) < 5000);
    }
    SECTION("cancel() while waiting to reconnect") {
        sse::client cfg;
        cfg.backoff = fast_backoff();
        cfg.backoff.initial_interval = 10000ms;
        std::optional<sse::connection> conn;
        cfg.on_retry = [&](std::error_code, ms) { conn->cancel(); };
        conn.emplace(ioc.get_executor(), get_request(local_url(closed_port(), "/")), cfg);
        const auto start = steady::now();
        conn->async_run([&](std::error_code ec) { result = ec; });
        REQUIRE(drive(ioc, [&] { return result.has_value(); }, 15000ms));
        CHECK(*result == asio::error::operation_aborted);
        CHECK(elapsed_ms(start) < 5000);
    }
}

// ============================================================================ Node: misbehaving

TEST_CASE("client vs node: CR-only line endings", "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("misbehaving-server.mjs");
    asio::io_context ioc;
    sse::client cfg;
    cfg.backoff = fast_backoff(-1);
    sse::connection conn(ioc.get_executor(), get_request(local_url(peer.port(), "/cr-only")), cfg);
    std::vector<ev> got;
    conn.subscribe_to_all([&](const sse::event_view& e) { got.push_back(to_ev(e)); });
    CHECK(!run_on(ioc, conn)); // a clean end with retries off: no error
    CHECK(got == std::vector<ev>{{"message", "one\ntwo", ""}, {"typed", "three", "1"}, {"message", "four", "1"}});
    CHECK(conn.last_event_id() == "1");
}

TEST_CASE("client vs node: every byte in its own write, head included", "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("misbehaving-server.mjs");
    const std::vector<ev> want{{"message", "first", ""},
                               {"typed", "line one\nline two", "42"},
                               {"message", "caf\xC3\xA9 \xE2\x98\x95 \xF0\x9F\x98\x80", "42"},
                               {"message", "no-space\n", "42"},
                               {"message", "after-id-reset", ""}};
    for (const char* target : {"/split-every-byte", "/split-every-byte?chunked=1"}) {
        INFO(target);
        asio::io_context ioc;
        retry_log retries;
        sse::client cfg;
        cfg.backoff = fast_backoff(-1);
        cfg.on_retry = retries.hook();
        sse::connection conn(ioc.get_executor(), get_request(local_url(peer.port(), target)), cfg);
        std::vector<ev> got;
        conn.subscribe_to_all([&](const sse::event_view& e) { got.push_back(to_ev(e)); });
        CHECK(!run_on(ioc, conn));
        CHECK(got == want); // the unterminated last event is dropped
        CHECK(conn.last_event_id().empty());
        CHECK(retries.calls.empty());
    }
}

TEST_CASE("client vs node: event size limits (8 MiB default; 20 MiB -> event_too_large)", "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("misbehaving-server.mjs");
    retry_log retries;
    auto run_huge = [&](std::size_t bytes, std::size_t limit, std::size_t& got_size) {
        asio::io_context ioc;
        sse::client cfg;
        cfg.backoff = fast_backoff(3);
        cfg.on_retry = retries.hook();
        if (limit) cfg.max_event_size = limit;
        sse::connection conn(ioc.get_executor(),
                             get_request(local_url(peer.port(), "/huge?bytes=" + std::to_string(bytes))), cfg);
        conn.subscribe_messages([&](const sse::event_view& e) {
            got_size = e.data.size();
            conn.cancel();
        });
        return run_on(ioc, conn, 30000ms);
    };
    std::size_t size = 0;
    CHECK(run_huge(20u * 1024 * 1024, 0, size) == sse::error::event_too_large); // permanent
    CHECK(size == 0);
    CHECK(run_huge(7u * 1024 * 1024, 0, size) == asio::error::operation_aborted); // fits the default
    CHECK(size == 7u * 1024 * 1024);
    size = 0;
    CHECK(run_huge(1536u * 1024, 1024u * 1024, size) == sse::error::event_too_large);
    CHECK(size == 0);
    CHECK(retries.calls.empty());
    CHECK(sse_test::peer_log(peer.port(), "/huge").size() == 3);
}

TEST_CASE("client vs node: connection dropped mid-event, resumed with Last-Event-ID", "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("misbehaving-server.mjs");
    asio::io_context ioc;
    retry_log retries;
    sse::client cfg;
    cfg.backoff = fast_backoff();
    cfg.on_retry = retries.hook();
    sse::connection conn(ioc.get_executor(), get_request(local_url(peer.port(), "/drop-mid-event?n=30&per=7")), cfg);
    std::vector<ev> got;
    conn.subscribe_messages([&](const sse::event_view& e) {
        got.push_back(to_ev(e));
        if (e.last_event_id == "30") conn.cancel();
    });
    CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
    std::vector<ev> want;
    for (int i = 1; i <= 30; ++i)
        want.push_back({"message", "event " + std::to_string(i) + "\nmore " + std::to_string(i), std::to_string(i)});
    CHECK(got == want); // the half events were never dispatched, nothing came twice
    REQUIRE(retries.calls.size() == 4);
    for (const auto& c : retries.calls) CHECK(c.first == sse::error::bad_response);

    const auto log = sse_test::peer_log(peer.port(), "/drop-mid-event");
    REQUIRE(log.size() == 5);
    CHECK(!log[0].header("last-event-id"));
    CHECK(log[1].header("last-event-id") == std::optional<std::string>("7"));
    CHECK(log[2].header("last-event-id") == std::optional<std::string>("14"));
    CHECK(log[3].header("last-event-id") == std::optional<std::string>("21"));
    CHECK(log[4].header("last-event-id") == std::optional<std::string>("28"));
}

TEST_CASE("client vs node: 204 stops, a wrong type or status fails, without reconnecting", "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("misbehaving-server.mjs");
    retry_log retries;
    auto run_path = [&](std::string_view path) {
        asio::io_context ioc;
        sse::client cfg;
        cfg.backoff = fast_backoff(); // retries on, unlimited: still none
        cfg.on_retry = retries.hook();
        sse::connection conn(ioc.get_executor(), get_request(local_url(peer.port(), path)), cfg);
        int events = 0;
        conn.subscribe_to_all([&](const sse::event_view&) { ++events; });
        const std::error_code ec = run_on(ioc, conn);
        CHECK(events == 0);
        return std::pair(ec, conn.last_status());
    };
    CHECK(run_path("/204") == std::pair(std::error_code(), 204u));
    CHECK(run_path("/wrong-type") == std::pair(std::error_code(sse::error::bad_content_type), 200u));
    CHECK(run_path("/status?code=500") == std::pair(std::error_code(sse::error::bad_status), 500u));
    CHECK(run_path("/status?code=401") == std::pair(std::error_code(sse::error::bad_status), 401u));
    CHECK(retries.calls.empty());
    CHECK(sse_test::peer_log(peer.port(), "/204").size() == 1);
    CHECK(sse_test::peer_log(peer.port(), "/wrong-type").size() == 1);
    CHECK(sse_test::peer_log(peer.port(), "/status").size() == 2);
}

TEST_CASE("client vs node: retry: 50 sets the reconnection delay", "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("misbehaving-server.mjs");
    for (const bool exact : {false, true}) {
        INFO((exact ? "jitter -1" : "default jitter 0.5"));
        const std::string path = exact ? "/retry" : "/retry-50";
        asio::io_context ioc;
        retry_log retries;
        sse::client cfg;
        cfg.backoff.initial_interval = 5000ms; // the stream's retry: replaces it
        if (exact) cfg.backoff.jitter = -1;
        cfg.on_retry = retries.hook();
        sse::connection conn(ioc.get_executor(), get_request(local_url(peer.port(), exact ? "/retry?ms=50" : "/retry-50")), cfg);
        std::vector<std::string> got;
        conn.subscribe_messages([&](const sse::event_view& e) {
            got.emplace_back(e.data);
            if (got.size() == 2) conn.cancel();
        });
        CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
        CHECK(got == std::vector<std::string>{"tick 1", "tick 2"});
        REQUIRE(retries.calls.size() == 1);
        CHECK(retries.calls[0].first == sse::error::stream_ended);
        const long long delay = count_ms(retries.calls[0].second);
        if (exact) CHECK(delay == 50);
        CHECK(delay >= 25);
        CHECK(delay <= 75);
        const auto log = sse_test::peer_log(peer.port(), path);
        REQUIRE(log.size() == 2);
        const double gap = log[1].t - log[0].t;
        CHECK(gap >= 24); // it did wait (bounded checks only)
        CHECK(gap < 2000);
    }
}

TEST_CASE("client vs node: 429 with Retry-After: 1", "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("misbehaving-server.mjs");
    asio::io_context ioc;
    retry_log retries;
    sse::client cfg;
    cfg.backoff = fast_backoff();
    cfg.on_retry = retries.hook();
    sse::connection conn(ioc.get_executor(), get_request(local_url(peer.port(), "/429")), cfg);
    std::vector<std::string> got;
    conn.subscribe_messages([&](const sse::event_view& e) {
        got.emplace_back(e.data);
        conn.cancel();
    });
    CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
    CHECK(got == std::vector<std::string>{"finally"});
    REQUIRE(retries.calls.size() == 1);
    CHECK(retries.calls[0].first == sse::error::bad_status);
    CHECK(count_ms(retries.calls[0].second) == 1000); // not the backoff's 10 ms
    const auto log = sse_test::peer_log(peer.port(), "/429");
    REQUIRE(log.size() == 2);
    const double gap = log[1].t - log[0].t;
    CHECK(gap >= 990);
    CHECK(gap < 5000);
}

TEST_CASE("client vs node: redirects", "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("misbehaving-server.mjs");
    auto run_target = [&](std::string method, std::string target, std::string body,
                          std::vector<sse::header> headers = {}) {
        asio::io_context ioc;
        sse::client cfg;
        cfg.backoff = fast_backoff(-1);
        sse::request req = get_request(local_url(peer.port(), target), std::move(headers));
        req.method = std::move(method);
        req.body = std::move(body);
        sse::connection conn(ioc.get_executor(), req, cfg);
        std::vector<std::string> got;
        conn.subscribe_messages([&](const sse::event_view& e) { got.emplace_back(e.data); });
        CHECK(!run_on(ioc, conn));
        CHECK(conn.last_status() == 200);
        return got;
    };
    using strings = std::vector<std::string>;
    CHECK(run_target("GET", "/redirect", "") == strings{"method=GET\nbody="});
    CHECK(run_target("POST", "/redirect?code=307", "payload") == strings{"method=POST\nbody=payload"});
    CHECK(run_target("POST", "/redirect?code=308", "payload") == strings{"method=POST\nbody=payload"});
    CHECK(run_target("POST", "/redirect?code=303", "payload") == strings{"method=GET\nbody="});
    CHECK(run_target("POST", "/redirect?code=302", "payload") == strings{"method=GET\nbody="});

    // Credentials follow a redirect on the same host only.
    const std::vector<sse::header> auth{{"Authorization", "Bearer secret"}, {"X-Other", "kept"}};
    CHECK(run_target("GET", "/redirect?code=307&to=/target", "", auth) == strings{"method=GET\nbody="});
    const std::string elsewhere = "http://localhost:" + std::to_string(peer.port()) + "/target";
    CHECK(run_target("GET", "/redirect?code=307&to=" + percent_encode(elsewhere), "", auth) ==
          strings{"method=GET\nbody="});
    const auto log = sse_test::peer_log(peer.port(), "/target");
    REQUIRE(log.size() == 7);
    CHECK(log[5].header("authorization") == std::optional<std::string>("Bearer secret"));
    CHECK(!log[6].header("authorization"));
    CHECK(log[6].header("x-other") == std::optional<std::string>("kept"));
    CHECK(log[6].header("host") == std::optional<std::string>("localhost:" + std::to_string(peer.port())));
}

TEST_CASE("client vs node: a POST body arrives and is echoed", "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("misbehaving-server.mjs");
    asio::io_context ioc;
    sse::client cfg;
    cfg.backoff = fast_backoff(-1);
    sse::request req = get_request(local_url(peer.port(), "/echo"), {{"Content-Type", "text/plain"}});
    req.method = "POST";
    req.body = "line 1\nline 2 \xC3\xA9\n\nline 4";
    sse::connection conn(ioc.get_executor(), req, cfg);
    std::vector<ev> got;
    conn.subscribe_to_all([&](const sse::event_view& e) { got.push_back(to_ev(e)); });
    CHECK(!run_on(ioc, conn));
    CHECK(got == std::vector<ev>{{"method", "POST", ""}, {"message", req.body, ""}});
    const auto log = sse_test::peer_log(peer.port(), "/echo");
    REQUIRE(log.size() == 1);
    CHECK(log[0].body == req.body);
    CHECK(log[0].header("content-length") == std::optional<std::string>(std::to_string(req.body.size())));
    CHECK(log[0].header("content-type") == std::optional<std::string>("text/plain"));
}

TEST_CASE("client vs node: headers are refreshed before every attempt", "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("misbehaving-server.mjs");
    asio::io_context ioc;
    int provided = 0;
    sse::client cfg;
    cfg.backoff = fast_backoff();
    cfg.header_provider = [&](std::vector<sse::header>& h) {
        ++provided;
        std::erase_if(h, [](const sse::header& x) { return sse::detail::iequals(x.name, "Authorization"); });
        h.push_back({"Authorization", "Bearer token-" + std::to_string(provided)});
    };
    sse::connection conn(ioc.get_executor(),
                         get_request(local_url(peer.port(), "/headers"),
                                     {{"Authorization", "Bearer stale"}, {"X-Static", "same"}}),
                         cfg);
    std::vector<std::string> seen;
    conn.subscribe_messages([&](const sse::event_view& e) {
        seen.emplace_back(e.data);
        if (seen.size() == 3) conn.cancel();
    });
    CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
    CHECK(provided == 3);
    REQUIRE(seen.size() == 3);
    for (std::size_t i = 0; i < seen.size(); ++i) {
        INFO(seen[i]);
        using sse_test::json_string_field;
        CHECK(json_string_field(seen[i], "authorization") == std::optional<std::string>("Bearer token-" + std::to_string(i + 1)));
        CHECK(json_string_field(seen[i], "x-static") == std::optional<std::string>("same"));
        CHECK(json_string_field(seen[i], "accept") == std::optional<std::string>("text/event-stream"));
        CHECK(json_string_field(seen[i], "cache-control") == std::optional<std::string>("no-cache"));
        CHECK(!json_string_field(seen[i], "cache")); // go-sse sent "Cache: no-cache"
    }
}

TEST_CASE("client vs node: an LLM-style completion is assembled exactly", "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("misbehaving-server.mjs");
    const std::string prompt = "Write \"500\" words, caf\xC3\xA9 \xF0\x9F\x98\x80\\n";
    std::string json_prompt;
    for (char c : prompt) {
        if (c == '"' || c == '\\') json_prompt += '\\';
        json_prompt += c;
    }
    asio::io_context ioc;
    retry_log retries;
    sse::client cfg;
    cfg.backoff.max_retries = -1; // one answer
    cfg.on_retry = retries.hook();
    sse::request req = get_request(local_url(peer.port(), "/llm?n=500&ascii=1"),
                                   {{"Content-Type", "application/json"}, {"Authorization", "Bearer test-key"}});
    req.method = "POST";
    req.body = R"({"model":"mock-1","stream":true,"messages":[{"role":"user","content":")" + json_prompt + R"("}]})";
    sse::connection conn(ioc.get_executor(), req, cfg);
    std::string text;
    int chunks = 0;
    bool done = false, after_done = false;
    conn.subscribe_messages([&](const sse::event_view& e) {
        if (done) after_done = true;
        if (e.data == "[DONE]") {
            done = true;
            return;
        }
        ++chunks;
        const auto content = sse_test::json_string_field(e.data, "content");
        REQUIRE(content);
        text += *content;
    });
    CHECK(!run_on(ioc, conn, 30000ms));
    CHECK(done);
    CHECK(!after_done);
    CHECK(chunks == 500);
    CHECK(retries.calls.empty());
    const std::string expected =
        sse_test::http_fetch(peer.port(), "GET", "/llm/expected?n=500&prompt=" + percent_encode(prompt)).body;
    CHECK_THAT(expected, SSE_STARTS_WITH("You said: " + prompt + ". w1 w2 "));
    CHECK(text.size() == expected.size());
    CHECK(text == expected);
}

TEST_CASE("client vs node: silence after the head, and no head at all, time out", "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("misbehaving-server.mjs");
    for (const char* path : {"/head-only-then-silence", "/no-head"}) {
        INFO(path);
        const bool idle = std::string_view(path) != "/no-head";
        asio::io_context ioc;
        retry_log retries;
        sse::client cfg;
        cfg.backoff = fast_backoff(1);
        if (idle) cfg.idle_timeout = 200ms;
        else cfg.connect_timeout = 200ms;
        cfg.on_retry = retries.hook();
        sse::connection conn(ioc.get_executor(), get_request(local_url(peer.port(), path)), cfg);
        const auto start = steady::now();
        CHECK(run_on(ioc, conn) == sse::error::retries_exhausted);
        const long long took = elapsed_ms(start);
        CHECK(conn.last_error() == sse::error::timeout);
        REQUIRE(retries.calls.size() == 1);
        CHECK(retries.calls[0].first == sse::error::timeout);
        CHECK(took >= 380); // two attempts of 200 ms
        CHECK(took < 5000);
        CHECK(conn.last_status() == (idle ? 200u : 0u));
        CHECK(sse_test::peer_log(peer.port(), path).size() == 2);
    }
}

TEST_CASE("client vs node: a server that accepts and closes at once, max_retries 3 (go-sse looped forever)",
          "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("misbehaving-server.mjs");
    for (const char* how : {"end", "cut"}) {
        INFO(how);
        asio::io_context ioc;
        retry_log retries;
        sse::client cfg;
        cfg.backoff = fast_backoff(3);
        cfg.on_retry = retries.hook();
        sse::connection conn(ioc.get_executor(),
                             get_request(local_url(peer.port(), std::string("/accept-then-close?how=") + how)), cfg);
        CHECK(run_on(ioc, conn) == sse::error::retries_exhausted);
        CHECK(retries.calls.size() == 3);
        const std::error_code cause = std::string_view(how) == "end" ? std::error_code(sse::error::stream_ended)
                                                                     : std::error_code(sse::error::bad_response);
        for (const auto& c : retries.calls) CHECK(c.first == cause);
        if (cause != sse::error::stream_ended) CHECK(conn.last_error() == cause);
    }
    CHECK(sse_test::peer_log(peer.port(), "/accept-then-close").size() == 8);
}

TEST_CASE("client vs node: a stream ending with blank lines still reconnects (go-sse returned nil)",
          "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("misbehaving-server.mjs");
    {
        asio::io_context ioc;
        sse::client cfg;
        cfg.backoff = fast_backoff(-1);
        sse::connection conn(ioc.get_executor(), get_request(local_url(peer.port(), "/blank-lines-at-end")), cfg);
        std::vector<std::string> got;
        conn.subscribe_messages([&](const sse::event_view& e) { got.emplace_back(e.data); });
        CHECK(!run_on(ioc, conn));
        CHECK(got == std::vector<std::string>{"a"});
    }
    {
        asio::io_context ioc;
        retry_log retries;
        sse::client cfg;
        cfg.backoff = fast_backoff();
        cfg.on_retry = retries.hook();
        sse::connection conn(ioc.get_executor(), get_request(local_url(peer.port(), "/blank-lines-at-end")), cfg);
        std::vector<std::string> got;
        conn.subscribe_messages([&](const sse::event_view& e) {
            got.emplace_back(e.data);
            if (got.size() == 2) conn.cancel();
        });
        CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
        CHECK(got == std::vector<std::string>{"a", "a"});
        REQUIRE(retries.calls.size() == 1);
        CHECK(retries.calls[0].first == sse::error::stream_ended);
    }
    CHECK(sse_test::peer_log(peer.port(), "/blank-lines-at-end").size() == 3);
}

TEST_CASE("client vs node: the caller's Last-Event-ID until the stream sends an id", "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("misbehaving-server.mjs");
    asio::io_context ioc;
    sse::client cfg;
    cfg.backoff = fast_backoff();
    sse::connection conn(ioc.get_executor(),
                         get_request(local_url(peer.port(), "/last-event-id-sequence"), {{"Last-Event-ID", "user-set"}}),
                         cfg);
    std::vector<ev> got;
    std::vector<std::string> ids_after;
    conn.subscribe_messages([&](const sse::event_view& e) {
        got.push_back(to_ev(e));
        ids_after.push_back(conn.last_event_id());
        if (e.data == "d") conn.cancel();
    });
    CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
    CHECK(got == std::vector<ev>{{"message", "a", ""}, {"message", "b", "7"}, {"message", "c", ""}, {"message", "d", ""}});
    const auto log = sse_test::peer_log(peer.port(), "/last-event-id-sequence");
    REQUIRE(log.size() == 4);
    // go-sse dropped the caller's id on the first reconnect: user-set, (none), 7, (none).
    CHECK(log[0].header("last-event-id") == std::optional<std::string>("user-set"));
    CHECK(log[1].header("last-event-id") == std::optional<std::string>("user-set"));
    CHECK(log[2].header("last-event-id") == std::optional<std::string>("7"));
    CHECK(!log[3].header("last-event-id")); // the stream reset its id
    CHECK(conn.last_event_id().empty());
}

TEST_CASE("client vs node: a broken chunk mid-line leaves nothing behind for the next attempt", "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("misbehaving-server.mjs");
    asio::io_context ioc;
    retry_log retries;
    sse::client cfg;
    cfg.backoff = fast_backoff();
    cfg.on_retry = retries.hook();
    sse::connection conn(ioc.get_executor(), get_request(local_url(peer.port(), "/bad-chunk")), cfg);
    std::vector<std::string> got;
    conn.subscribe_messages([&](const sse::event_view& e) {
        got.emplace_back(e.data);
        conn.cancel();
    });
    CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
    CHECK(got == std::vector<std::string>{"b"}); // not "partialdata: b"
    REQUIRE(retries.calls.size() == 1);
    CHECK(retries.calls[0].first == sse::error::bad_response);
}

TEST_CASE("client vs node: an empty 200 body (Content-Length: 0) is a clean end", "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("misbehaving-server.mjs");
    asio::io_context ioc;
    sse::client cfg;
    cfg.backoff = fast_backoff(-1);
    sse::connection conn(ioc.get_executor(), get_request(local_url(peer.port(), "/empty")), cfg);
    CHECK(!run_on(ioc, conn, 5000ms));
    CHECK(conn.last_status() == 200);
}

// ============================================================================ Node: better-sse

TEST_CASE("client vs node: better-sse sessions, a channel, and a resumed session", "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("better-sse-server.mjs");
    const unsigned short port = peer.port();
    asio::io_context ioc;
    retry_log retries;
    sse::client cfg;
    cfg.backoff.initial_interval = 5000ms; // better-sse's retry: 50 replaces it
    cfg.on_retry = retries.hook();
    sse::connection conn(ioc.get_executor(), get_request(local_url(port, "/sse?retry=50")), cfg);
    std::vector<ev> all;
    int welcomes = 0;
    conn.subscribe_event("welcome", [&](const sse::event_view& e) {
        ++welcomes;
        if (welcomes == 1) {
            CHECK(sse_test::http_fetch(port, "POST", "/publish", R"({"data":{"n":1},"event":"greet","id":"e1"})").status == 200);
            CHECK(sse_test::http_fetch(port, "POST", "/publish", R"({"data":"plain text","id":"e2"})").status == 200);
        } else {
            CHECK(sse_test::json_string_field(e.data, "lastId") == std::optional<std::string>("e2"));
            conn.cancel();
        }
    });
    conn.subscribe_messages([&](const sse::event_view&) {
        CHECK(sse_test::http_fetch(port, "POST", "/drop").status == 200); // cut the connection
    });
    conn.subscribe_to_all([&](const sse::event_view& e) { all.push_back(to_ev(e)); });
    CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
    REQUIRE(all.size() == 4);
    CHECK(all[0].type == "welcome");
    CHECK(sse_test::json_string_field(all[0].data, "lastId") == std::optional<std::string>(""));
    CHECK(all[1] == ev{"greet", R"({"n":1})", "e1"});
    CHECK(all[2] == ev{"message", R"("plain text")", "e2"});
    CHECK(all[3].type == "welcome");
    CHECK(all[3].id == "e2");
    REQUIRE(retries.calls.size() == 1);
    CHECK(count_ms(retries.calls[0].second) >= 25);
    CHECK(count_ms(retries.calls[0].second) <= 75);
    const auto log = sse_test::peer_log(port, "/sse");
    REQUIRE(log.size() == 2);
    CHECK(!log[0].header("last-event-id"));
    CHECK(log[1].header("last-event-id") == std::optional<std::string>("e2"));
}

TEST_CASE("client vs node: better-sse's 204 and iterate()", "[client][node]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("better-sse-server.mjs");
    {
        asio::io_context ioc;
        retry_log retries;
        sse::client cfg;
        cfg.backoff = fast_backoff();
        cfg.on_retry = retries.hook();
        sse::connection conn(ioc.get_executor(), get_request(local_url(peer.port(), "/sse-204")), cfg);
        CHECK(!run_on(ioc, conn));
        CHECK(conn.last_status() == 204);
        CHECK(retries.calls.empty());
    }
    {
        asio::io_context ioc;
        sse::client cfg;
        cfg.backoff = fast_backoff();
        sse::connection conn(ioc.get_executor(), get_request(local_url(peer.port(), "/iterate?n=5")), cfg);
        std::vector<std::string> got;
        conn.subscribe_event("iteration", [&](const sse::event_view& e) {
            got.emplace_back(e.data);
            if (got.size() == 5) conn.cancel();
        });
        CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
        CHECK(got == std::vector<std::string>{R"({"i":1})", R"({"i":2})", R"({"i":3})", R"({"i":4})", R"({"i":5})"});
    }
    CHECK(sse_test::peer_log(peer.port(), "/sse-204").size() == 1);
}

// ============================================================================ Node: TLS

TEST_CASE("client vs node: TLS with a certificate made for the test, and untrusted ones", "[client][node][tls]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("tls-server.mjs", {}, 2);
    const std::string cert = peer.startup_lines().at(0);
    const unsigned short port = peer.port();
    const auto log_port = static_cast<unsigned short>(std::stoi(peer.startup_lines().at(1)));
    auto run_tls = [](std::string target, std::shared_ptr<asio::ssl::context> ctx, std::vector<ev>& got, int& retried) {
        asio::io_context ioc;
        sse::client cfg;
        cfg.backoff = fast_backoff(); // retries unlimited: a permanent failure must still end it
        cfg.on_retry = [&](std::error_code, ms) { ++retried; };
        sse::use_tls(cfg, std::move(ctx));
        sse::connection conn(ioc.get_executor(), get_request(std::move(target)), cfg);
        conn.subscribe_to_all([&](const sse::event_view& e) {
            got.push_back(to_ev(e));
            conn.cancel();
        });
        return run_on(ioc, conn);
    };
    const std::string https = "https://localhost:" + std::to_string(port);
    const std::string https_ip = "https://127.0.0.1:" + std::to_string(port);
    std::vector<ev> got;
    int retried = 0;

    // Trusted through ca_file, by name and by IP address.
    CHECK(run_tls(https + "/events", sse::make_tls_client_context({.verify_peer = true, .ca_file = cert}), got, retried) ==
          asio::error::operation_aborted);
    CHECK(run_tls(https_ip + "/events", sse::make_tls_client_context({.verify_peer = true, .ca_file = cert}), got,
                  retried) == asio::error::operation_aborted);
    CHECK(got == std::vector<ev>{{"message", "secure 1", "1"}, {"message", "secure 2", "2"}});

    // Untrusted (the system store does not know it): a permanent failure, no request made.
    got.clear();
    const std::error_code untrusted = run_tls(https + "/events", sse::make_tls_client_context(), got, retried);
    CHECK(untrusted.category() == asio::error::get_ssl_category());
    INFO("untrusted: " << untrusted.message());
    CHECK(got.empty());

    // Verification off: it works (never do this outside tests).
    CHECK(run_tls(https + "/events", sse::make_tls_client_context({.verify_peer = false}), got, retried) ==
          asio::error::operation_aborted);
    CHECK(got == std::vector<ev>{{"message", "secure 3", "3"}});
    CHECK(retried == 0);
    CHECK(sse_test::peer_log(log_port, "/events").size() == 3);

    // A bad CA file throws.
    CHECK_THROWS_AS(sse::make_tls_client_context({.verify_peer = true, .ca_file = cert + ".missing"}), std::system_error);
}

TEST_CASE("client vs node: TLS with a trusted certificate for another name fails for good", "[client][node][tls]") {
    SSE_TEST_NEED_NODE();
    auto peer = sse_test::start_node_peer("tls-server.mjs", {"--name", "other.example", "--ip", "none"}, 2);
    const std::string cert = peer.startup_lines().at(0);
    const auto log_port = static_cast<unsigned short>(std::stoi(peer.startup_lines().at(1)));
    asio::io_context ioc;
    retry_log retries;
    sse::client cfg;
    cfg.backoff = fast_backoff();
    cfg.on_retry = retries.hook();
    sse::use_tls(cfg, sse::make_tls_client_context({.verify_peer = true, .ca_file = cert}));
    for (const std::string host : {"localhost", "127.0.0.1"}) {
        INFO(host);
        sse::connection conn(ioc.get_executor(),
                             get_request("https://" + host + ":" + std::to_string(peer.port()) + "/events"), cfg);
        const std::error_code ec = run_on(ioc, conn);
        CHECK(ec.category() == asio::error::get_ssl_category());
    }
    CHECK(retries.calls.empty());
    CHECK(sse_test::peer_log(log_port, "/events").empty());
}

// ============================================================================ the demo server

#ifdef SSE_DEMO_SERVER_EXECUTABLE
TEST_CASE("client vs demo_server: live events, idle timeout, replay after Last-Event-ID", "[client][demo]") {
    auto demo = sse_test::start_peer({SSE_DEMO_SERVER_EXECUTABLE, "--host", "127.0.0.1", "--port", "0", "--replay",
                                      "finite:100", "--first-id", "0", "--heartbeat", "0", "--retry", "50",
                                      "--lifetime", "60"});
    const unsigned short port = demo.port();
    auto publish = [&](int n) {
        REQUIRE(sse_test::http_fetch(port, "POST", "/publish?n=" + std::to_string(n) + "&size=32").status == 200);
    };
    auto wait_published = [&](int total) { // publishing happens after the answer: wait for it (bounded)
        const auto until = steady::now() + 10s;
        while (steady::now() < until) {
            const auto stats = sse_test::http_fetch(port, "GET", "/stats").body;
            if (sse_test::json_number_field(stats, "published").value_or(0) >= total) return true;
            std::this_thread::sleep_for(5ms); // polling a condition, with a deadline
        }
        return false;
    };
    publish(1); // id 0: the placeholder the client resumes after
    publish(4); // ids 1..4
    REQUIRE(wait_published(5));

    asio::io_context ioc;
    retry_log retries;
    sse::client cfg;
    cfg.backoff.initial_interval = 5000ms; // the server's retry: 50 replaces it
    cfg.idle_timeout = 300ms;              // --heartbeat 0: silence
    // When the client last heard from the stream (an event), or started an attempt; and how long
    // it had been silent at each retry.
    auto last_heard = steady::now();
    std::vector<ms> silences;
    std::vector<std::string> ids;
    bool published_missed = false;
    cfg.on_retry = [&](std::error_code ec, ms d) {
        retries.calls.emplace_back(ec, d);
        silences.push_back(std::chrono::duration_cast<ms>(steady::now() - last_heard));
        if (!published_missed && !ids.empty() && ids.back() == "7") { // after the live ones
            published_missed = true;
            publish(3); // ids 8..10, while disconnected
            REQUIRE(wait_published(11));
        }
        last_heard = steady::now() + d; // the next attempt starts after the delay
    };
    sse::connection conn(ioc.get_executor(), get_request(local_url(port, "/events"), {{"Last-Event-ID", "0"}}), cfg);
    // The live publish is made off the client's thread: a blocking call in the callback would
    // stall the reads, and the idle timer with them.
    std::future<bool> live;
    conn.subscribe_messages([&](const sse::event_view& e) {
        last_heard = steady::now();
        ids.emplace_back(e.last_event_id);
        CHECK(e.data.size() == 32);
        CHECK(e.data.substr(0, 2) == "t=");
        if (e.last_event_id == "4" && !live.valid())
            live = std::async(std::launch::async, [&] { // ids 5..7, live
                try {
                    return sse_test::http_fetch(port, "POST", "/publish?n=3&size=32").status == 200;
                } catch (const std::exception&) {
                    return false;
                }
            });
        if (e.last_event_id == "10") conn.cancel();
    });
    CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
    REQUIRE(live.valid());
    CHECK(live.get());
    CHECK(ids == std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}); // none lost, none twice
    // The idle timeout ended the stream after the live events (then ids 8..10 were replayed).
    // On a loaded machine a stall of 300 ms before them (the live publish goes through another
    // process) ends a stream too, and rightly: so every retry must be an idle timeout, with the
    // server's retry: 50, and one of them the one after id 7.
    REQUIRE(retries.calls.size() >= 1);
    CHECK(published_missed);
    for (std::size_t i = 0; i < retries.calls.size(); ++i) {
        CAPTURE(i, count_ms(silences[i])); // the silence the client saw before it, for a failure's report
        CHECK(retries.calls[i].first == sse::error::timeout);
        CHECK(count_ms(retries.calls[i].second) >= 25);
        CHECK(count_ms(retries.calls[i].second) <= 75);
    }
    if (retries.calls.size() > 1) WARN("a stall on this machine ended a stream before the live events came");
}
#endif

// ============================================================================ scripted peer

TEST_CASE("client: comments reach subscribe_comments, in stream order with the events", "[client]") {
    scripted_server peer({scripted_server::stream(": hello\n\ndata: a\n:heartbeat\n\n:  two spaces\n:\ndata: b\n\n")});
    asio::io_context ioc;
    sse::client cfg;
    cfg.backoff = fast_backoff(-1);
    sse::connection conn(ioc.get_executor(), get_request(peer.url()), cfg);
    std::vector<std::string> seen;
    conn.subscribe_messages([&](const sse::event_view& e) { seen.push_back("event " + std::string(e.data)); });
    sse::event_subscription comments =
        conn.subscribe_comments([&](std::string_view c) { seen.push_back("comment " + std::string(c)); });
    CHECK(!run_on(ioc, conn));
    CHECK(seen == std::vector<std::string>{"comment hello", "comment heartbeat", "event a", "comment  two spaces",
                                           "comment ", "event b"});

    SECTION("unsubscribed, a run again sees only the events") {
        comments.unsubscribe();
        seen.clear();
        CHECK(!run_on(ioc, conn));
        CHECK(seen == std::vector<std::string>{"event a", "event b"});
    }
}

TEST_CASE("client: the server's heartbeats arrive as comments", "[client]") {
    asio::io_context sioc;
    sse::server_options o;
    o.session.heartbeat = 20ms;
    sse::server srv(sioc, sse::joe(), o);
    srv.listen({asio::ip::make_address("127.0.0.1"), 0});
    std::thread t([&] { sioc.run(); });
    asio::io_context ioc;
    sse::client cfg;
    cfg.backoff = fast_backoff(-1);
    sse::connection conn(ioc.get_executor(), get_request(local_url(srv.local_endpoint().port(), "/")), cfg);
    int beats = 0;
    conn.subscribe_comments([&](std::string_view) {
        if (++beats == 3) conn.cancel();
    });
    CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
    CHECK(beats >= 3); // (more may come before the cancellation is seen)
    sioc.stop();
    t.join();
}

// The Last-Event-ID header of each of three attempts, after `first` (the first response's body)
// and `later` (every other one's), with `initial` as the caller's header (none if empty).
std::vector<std::optional<std::string>> last_ids_sent(const std::string& initial, std::string first, std::string later,
                                                      std::string* last_id = nullptr) {
    scripted_server peer({scripted_server::stream(std::move(first)), scripted_server::stream(std::move(later))});
    asio::io_context ioc;
    sse::client cfg;
    cfg.backoff = fast_backoff();
    std::vector<sse::header> headers;
    if (!initial.empty()) headers.push_back({"Last-Event-ID", initial});
    std::optional<sse::connection> conn;
    int ended = 0;
    cfg.on_retry = [&](std::error_code, ms) {
        if (++ended == 3) conn->cancel(); // (each attempt delivers an event: the retries never run out)
    };
    conn.emplace(ioc.get_executor(), get_request(peer.url(), headers), cfg);
    CHECK(run_on(ioc, *conn) == asio::error::operation_aborted);
    if (last_id) *last_id = conn->last_event_id();
    REQUIRE(peer.count() == 3);
    return {peer.header(0, "Last-Event-ID"), peer.header(1, "Last-Event-ID"), peer.header(2, "Last-Event-ID")};
}

TEST_CASE("client: the caller's Last-Event-ID is replaced by the stream's first id, an empty one included", "[client]") {
    using ids = std::vector<std::optional<std::string>>;
    const std::optional<std::string> none;
    std::string last;
    SECTION("initial id, then an empty id: the reconnections send none") {
        CHECK(last_ids_sent("user-set", "id\ndata: a\n\n", "data: b\n\n", &last) == ids{"user-set", none, none});
        CHECK(last.empty());
        CHECK(last_ids_sent("user-set", "id:\ndata: a\n\n", "data: b\n\n") == ids{"user-set", none, none});
        CHECK(last_ids_sent("user-set", "id: \ndata: a\n\n", "data: b\n\n") == ids{"user-set", none, none});
    }
    SECTION("initial id, then an empty id in an event without data (still committed)") {
        CHECK(last_ids_sent("user-set", "id:\n\n", "") == ids{"user-set", none, none});
    }
    SECTION("initial id, then a non-empty id") {
        CHECK(last_ids_sent("user-set", "id: 5\ndata: a\n\n", "data: b\n\n", &last) == ids{"user-set", "5", "5"});
        CHECK(last == "5");
    }
    SECTION("initial id, and an id in an event that never ended: not committed") {
        CHECK(last_ids_sent("user-set", "data: a\n\nid: 5\ndata: b\n", "") == ids{"user-set", "user-set", "user-set"});
    }
    SECTION("no id at all, across reconnections") {
        CHECK(last_ids_sent("", "data: a\n\n", "data: b\n\n", &last) == ids{none, none, none});
        CHECK(last.empty());
    }
    SECTION("an id, then an empty one on the next attempt") {
        CHECK(last_ids_sent("", "id: 7\ndata: a\n\n", "id\ndata: b\n\n") == ids{none, "7", none});
    }
}

TEST_CASE("client: a run again after cancel() keeps subscriptions, last event id and retry", "[client]") {
    // Each attempt: one event with an id, then the stream stays open (only cancel() ends it).
    scripted_server peer({scripted_server::stream("retry: 50\nid: 1\ndata: a\n\n", true),
                          scripted_server::stream("id: 2\ndata: b\n\n")});
    asio::io_context ioc;
    retry_log retries;
    sse::client cfg;
    cfg.backoff = fast_backoff(1);
    cfg.on_retry = retries.hook();
    sse::connection conn(ioc.get_executor(), get_request(peer.url()), cfg);
    std::vector<ev> got;
    conn.subscribe_messages([&](const sse::event_view& e) {
        got.push_back(to_ev(e));
        if (got.size() == 1 || got.size() == 3) conn.cancel();
    });
    CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
    CHECK(got == std::vector<ev>{{"message", "a", "1"}});
    CHECK(conn.last_event_id() == "1");

    // The second run: the same subscription, Last-Event-ID: 1, and retry: 50 as the delay.
    CHECK(run_on(ioc, conn) == asio::error::operation_aborted);
    CHECK(got == std::vector<ev>{{"message", "a", "1"}, {"message", "b", "2"}, {"message", "b", "2"}});
    REQUIRE(peer.count() == 3);
    CHECK(!peer.header(0, "Last-Event-ID"));
    CHECK(peer.header(1, "Last-Event-ID") == std::optional<std::string>("1"));
    CHECK(peer.header(2, "Last-Event-ID") == std::optional<std::string>("2"));
    REQUIRE(retries.calls.size() == 1);
    CHECK(retries.calls[0].second == 50ms);
}

TEST_CASE("client: async_run while a run is in progress fails with already_started", "[client]") {
    scripted_server peer({scripted_server::stream("data: a\n\n", true)});
    asio::io_context ioc;
    sse::connection conn(ioc.get_executor(), get_request(peer.url()));
    std::optional<std::error_code> first, second;
    conn.subscribe_messages([&](const sse::event_view&) {
        conn.async_run([&](std::error_code ec) { second = ec; }); // from inside the running one
    });
    conn.async_run([&](std::error_code ec) { first = ec; });
    REQUIRE(drive(ioc, [&] { return second.has_value(); }, 10000ms));
    CHECK(*second == asio::error::already_started);
    CHECK(!first); // the first run goes on
    conn.cancel();
    REQUIRE(drive(ioc, [&] { return first.has_value(); }, 10000ms));
    CHECK(*first == asio::error::operation_aborted);
    CHECK(peer.count() == 1);
}

TEST_CASE("client: the idle timeout also bounds the wait for the response head", "[client]") {
    scripted_server peer({{"", true}}); // reads the request, never answers
    asio::io_context ioc;
    retry_log retries;
    sse::client cfg;
    cfg.backoff = fast_backoff(1);
    cfg.idle_timeout = 200ms; // the connect timeout stays at its 10 s
    cfg.on_retry = retries.hook();
    sse::connection conn(ioc.get_executor(), get_request(peer.url()), cfg);
    const auto start = steady::now();
    CHECK(run_on(ioc, conn) == sse::error::retries_exhausted);
    const long long took = elapsed_ms(start);
    CHECK(took >= 380); // two attempts of 200 ms
    CHECK(took < 5000);
    CHECK(conn.last_error() == sse::error::timeout);
    REQUIRE(retries.calls.size() == 1);
    CHECK(retries.calls[0].first == sse::error::timeout);
    CHECK(conn.last_status() == 0u);
    CHECK(peer.count() == 2);
}
