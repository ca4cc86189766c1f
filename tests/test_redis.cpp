// sse/redis.hpp against a real redis-server that each test starts on a free
// loopback port (tests/support/redis_server.hpp): two nodes in one process
// (each its own io_context, provider and server), messages crossing between
// them per topic and in order, replay after Last-Event-ID from any node
// without gap or duplicate, gaps for unknown and trimmed ids, Redis killed
// and restarted, connections cut, and two demo_server processes on Redis of
// which one is killed while its client moves to the other.
#include "sse_test.hpp"
#include "support/loopback.hpp"
#include "support/node_peer.hpp"
#include "support/redis_server.hpp"

#include <sse/error.hpp>
#include <sse/message.hpp>
#include <sse/parser.hpp>
#include <sse/queue_sink.hpp>
#include <sse/redis.hpp>
#include <sse/server.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using sse_test::eventually;

sse::redis_options options_for(const sse_test::redis_server& redis) {
    sse::redis_options o;
    o.port = redis.port();
    o.reconnect_initial = 20ms;
    o.reconnect_max = 200ms;
    o.poll_interval = 500ms;
    return o;
}

sse::message text(std::string_view data) {
    sse::message m;
    m.append_data(data);
    return m;
}

// One node: an io_context on its own thread with a server on a redis_provider.
class node {
public:
    explicit node(sse::redis_options o) {
        sse::server_options so;
        so.session.heartbeat = 0ms;
        server_.emplace(ioc_, sse::redis_provider(ioc_.get_executor(), std::move(o)), so);
        server_->listen({asio::ip::make_address("127.0.0.1"), 0});
        thread_ = std::thread([this] { ioc_.run(); });
    }
    node(const node&) = delete;
    node& operator=(const node&) = delete;
    ~node() {
        sse::shutdown_options how;
        how.deadline = 1s;
        std::promise<void> done;
        server_->async_shutdown(how, [&done](std::error_code) { done.set_value(); }); // the provider too
        done.get_future().wait_for(5s);
        work_.reset();
        eventually([&] { return ioc_.stopped(); }, 5s); // the Redis links close first
        ioc_.stop();
        thread_.join();
        server_.reset();
    }

    sse::redis_provider& provider() { return server_->provider(); }
    sse::basic_server<sse::redis_provider>& server() { return *server_; }
    unsigned short port() const { return server_->local_endpoint().port(); }
    bool ready() { return provider().connected(); }

private:
    asio::io_context ioc_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
    std::optional<sse::basic_server<sse::redis_provider>> server_;
    std::thread thread_;
};

struct received_event {
    std::string type, data, id;
};

// Parses what a sink received (frames are whole events).
std::vector<received_event> events_of(const std::vector<sse::frame>& frames) {
    std::vector<received_event> out;
    sse::parser p;
    for (const sse::frame& f : frames)
        p.feed(f.bytes(), [&](const sse::event_view& ev) {
            out.push_back({std::string(ev.type), std::string(ev.data), std::string(ev.last_event_id)});
        });
    return out;
}

// Takes frames from `sink` until `count` events arrived (or the deadline).
std::vector<received_event> take_events(sse::queue_sink& sink, std::size_t count, std::chrono::milliseconds timeout = 10s) {
    std::vector<received_event> out;
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (out.size() < count && std::chrono::steady_clock::now() < until) {
        for (received_event& e : events_of(sink.take_for(100ms))) out.push_back(std::move(e));
        if (sink.closed()) break;
    }
    return out;
}

// Whether the ids are Redis Stream ids in strictly increasing order.
bool strictly_increasing_stream_ids(const std::vector<received_event>& events) {
    std::optional<sse::detail::stream_id> last;
    for (const received_event& e : events) {
        const auto id = sse::detail::stream_id::parse(e.id);
        if (!id || (last && !(*last < *id))) return false;
        last = id;
    }
    return true;
}

std::vector<std::string> datas(const std::vector<received_event>& events) {
    std::vector<std::string> out;
    for (const received_event& e : events) out.push_back(e.data);
    return out;
}

std::vector<std::string> numbered(int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i < to; ++i) out.push_back(std::to_string(i));
    return out;
}

// Publishes and waits for Redis's answer; the id it got (empty on error, with ec set).
std::string publish_acked(sse::redis_provider& p, const sse::message& m, sse::topic_list topics, std::error_code& ec) {
    auto f = p.async_publish(m, topics, asio::use_future);
    if (f.wait_for(10s) != std::future_status::ready) {
        ec = sse::error::timeout;
        return {};
    }
    try {
        ec.clear();
        return f.get();
    } catch (const std::system_error& e) {
        ec = e.code();
        return {};
    }
}

const std::string_view topic_t = "t";
const sse::topic_list only_t(&topic_t, 1);

} // namespace

// The same publish set as joe and basic_server (tests/test_publish.cpp runs it on those two).
static_assert(requires(sse::redis_provider& p, const sse::message& m, std::error_code& ec, const std::string& s,
                       sse::topic_list span, const std::vector<std::string>& vec) {
    p.publish(m);
    p.publish(m, ec);
    p.publish(m, "room");
    p.publish(m, "room", ec);
    p.publish(m, s, ec);
    p.publish(m, {"a", "b"});
    p.publish(m, {s}, ec);
    p.publish(m, span);
    p.publish(m, span, ec);
    p.publish(m, vec);
    p.publish(m, vec, ec);
});

TEST_CASE("redis: parse_redis_url") {
    std::error_code ec;
    sse::redis_options o = sse::parse_redis_url("redis://10.1.2.3:6380/2?prefix=app", ec);
    REQUIRE_FALSE(ec);
    CHECK(o.host == "10.1.2.3");
    CHECK(o.port == 6380);
    CHECK(o.database == 2);
    CHECK(o.prefix == "app");
    o = sse::parse_redis_url("redis://user:secret@localhost", ec);
    REQUIRE_FALSE(ec);
    CHECK(o.host == "localhost");
    CHECK(o.port == 6379);
    CHECK(o.username == "user");
    CHECK(o.password == "secret");
    o = sse::parse_redis_url("redis://:secret@[::1]:7000", ec);
    REQUIRE_FALSE(ec);
    CHECK(o.host == "::1");
    CHECK(o.port == 7000);
    CHECK(o.username.empty());
    CHECK(o.password == "secret");
    // The URL splitter the client's URLs use: a scheme in any case, a fragment dropped.
    o = sse::parse_redis_url("REDIS://cache#primary", ec);
    REQUIRE_FALSE(ec);
    CHECK(o.host == "cache");
    for (std::string_view bad : {"http://x:1", "redis://", "redis://h:0", "redis://h:99999", "redis://h:x", "redis://h/db",
                                 "redis://h?what=1", "redis://[::1", "redis://h x"}) {
        CAPTURE(bad);
        sse::parse_redis_url(bad, ec);
        CHECK(ec == sse::error::invalid_url);
    }
}

TEST_CASE("redis: what one node publishes reaches every node's subscribers of its topics, once and in order",
          "[redis]") {
    SSE_TEST_NEED_REDIS();
    sse_test::redis_server redis;
    node a(options_for(redis)), b(options_for(redis));
    REQUIRE(eventually([&] { return a.ready() && b.ready(); }));

    auto news_on_a = std::make_shared<sse::queue_sink>();
    auto both_on_b = std::make_shared<sse::queue_sink>();
    auto sport_on_a = std::make_shared<sse::queue_sink>();
    auto h1 = a.provider().subscribe({news_on_a, {}, {"news"}});
    auto h2 = b.provider().subscribe({both_on_b, {}, {"news", "sport"}});
    auto h3 = a.provider().subscribe({sport_on_a, {}, {"sport"}});

    std::vector<std::string> news, sport, all;
    for (int i = 0; i < 300; ++i) {
        const std::string d = std::to_string(i);
        if (i % 3 == 0) b.provider().publish(text(d), {"news"});
        else if (i % 3 == 1) a.provider().publish(text(d), {"sport"});
        else b.provider().publish(text(d), {"news", "sport", "news"});
        if (i % 3 != 1) news.push_back(d);
        if (i % 3 != 0) sport.push_back(d);
        all.push_back(d);
    }
    // (publishes from two nodes: Redis orders them; each node's own are in its order)
    const auto got_news = take_events(*news_on_a, news.size());
    const auto got_all = take_events(*both_on_b, all.size());
    const auto got_sport = take_events(*sport_on_a, sport.size());
    // News all come from node B, in its order; sport from both nodes, whose publishes Redis
    // interleaves: each node's own in its order.
    CHECK(datas(got_news) == news);
    std::vector<std::string> sport_from_a, sport_from_b;
    for (const auto& e : got_sport) (std::stoi(e.data) % 3 == 1 ? sport_from_a : sport_from_b).push_back(e.data);
    std::vector<std::string> want_a, want_b;
    for (const std::string& d : sport) (std::stoi(d) % 3 == 1 ? want_a : want_b).push_back(d);
    CHECK(sport_from_a == want_a);
    CHECK(sport_from_b == want_b);
    CHECK(got_all.size() == all.size()); // the multi-topic ones once
    std::set<std::string> distinct;
    for (const auto& e : got_all) distinct.insert(e.data);
    CHECK(distinct.size() == all.size());
    CHECK(strictly_increasing_stream_ids(got_news));
    CHECK(strictly_increasing_stream_ids(got_all));
    CHECK(strictly_increasing_stream_ids(got_sport));
    for (const auto& e : got_all) CHECK(e.type == "message");
    // Nothing more arrives: a sentinel on both topics, published after all of the above arrived,
    // is the next event each subscriber gets (a late duplicate would come before it).
    b.provider().publish(text("sentinel"), {"news", "sport"});
    for (auto* sink : {news_on_a.get(), both_on_b.get(), sport_on_a.get()})
        CHECK(datas(take_events(*sink, 1)) == std::vector<std::string>{"sentinel"});
    CHECK(redis.command({"XLEN", "{sse}:topic:news"}) == "201");
    CHECK(redis.command({"XLEN", "{sse}:topic:sport"}) == "201");
    CHECK(redis.command({"XLEN", "{sse}:log"}) == "301");

    // (a publish's answer and its relay come on two connections: either may be first)
    CHECK(eventually([&] { return a.provider().stats().published == 100 && b.provider().stats().published == 201; }));
    const sse::redis_stats sa = a.provider().stats(), sb = b.provider().stats();
    CHECK(sa.relayed == 301);
    CHECK(sb.relayed == 301);
    CHECK(sa.local.subscribers == 2);
    CHECK(sa.publish_failures == 0);
}

TEST_CASE("redis: a subscriber resuming on another node gets exactly what it missed, then live, while publishing",
          "[redis]") {
    SSE_TEST_NEED_REDIS();
    sse_test::redis_server redis;
    node a(options_for(redis)), b(options_for(redis));
    REQUIRE(eventually([&] { return a.ready() && b.ready(); }, 60s)); // (bounds for a hang, on a loaded machine)

    constexpr int total = 1500, held_at = 400;
    auto first = std::make_shared<sse::queue_sink>();
    auto h1 = a.provider().subscribe({first, {}, {"t"}});
    std::atomic<int> published{0};
    std::atomic<bool> resumed{false}, refused{false};
    std::thread publisher([&] {
        for (int i = 0; i < total && !refused; ++i) {
            // The first held_at, then (once the subscriber is back) the rest: however slow the
            // machine, the resume meets live traffic, and its replay races the publishes.
            if (i == held_at) eventually([&] { return resumed.load(); }, 30s);
            // A publish refused at once (Redis behind: too many unanswered, or reconnecting, as
            // on a starved machine) is tried again, as an application would; bounded.
            const auto until = std::chrono::steady_clock::now() + 60s;
            for (;;) {
                std::error_code ec;
                b.provider().publish(text(std::to_string(i)), only_t, ec);
                if (!ec) break;
                if (ec != sse::error::provider_unavailable || std::chrono::steady_clock::now() > until) {
                    refused = true;
                    break;
                }
                std::this_thread::sleep_for(1ms);
            }
            published = i + 1;
            if (i % 16 == 0) std::this_thread::sleep_for(1ms); // spread over a while, so resumes meet live traffic
        }
    });
    struct join_on_exit { // also when a REQUIRE fails
        std::atomic<bool>& resumed;
        std::thread& t;
        ~join_on_exit() {
            resumed = true;
            if (t.joinable()) t.join();
        }
    } join_publisher{resumed, publisher};
    // The first connection reads 200 messages, then goes away.
    auto before = take_events(*first, 200, 60s);
    before.resize(std::min<std::size_t>(before.size(), 200));
    h1.cancel();
    REQUIRE(before.size() == 200);
    const std::string last_id = before.back().id;
    CHECK(published < total); // it resumes while messages are still being published

    // It comes back on node B with its Last-Event-ID.
    auto second = std::make_shared<sse::queue_sink>();
    auto h2 = b.provider().subscribe({second, sse::event_id(last_id), {"t"}});
    resumed = true;
    const auto after = take_events(*second, total - 200, 120s);
    publisher.join();
    CHECK_FALSE(refused);
    CHECK(datas(before) == numbered(0, 200));
    CHECK(datas(after) == numbered(200, total));
    CHECK(strictly_increasing_stream_ids(after));
    REQUIRE_FALSE(after.empty());
    CHECK(sse::detail::stream_id::parse(last_id) < sse::detail::stream_id::parse(after.front().id));
    b.provider().publish(text("sentinel"), only_t); // the next event it gets: nothing came in between
    CHECK(datas(take_events(*second, 1)) == std::vector<std::string>{"sentinel"});
    CHECK(b.provider().stats().gaps == 0);
    CHECK(b.provider().stats().replayed > 0);
    CHECK(b.provider().stats().catching_up == 0);
}

TEST_CASE("redis: replay after an id on several topics: in order, each once, only those topics", "[redis]") {
    SSE_TEST_NEED_REDIS();
    sse_test::redis_server redis;
    node a(options_for(redis));
    REQUIRE(eventually([&] { return a.ready(); }));
    std::vector<std::string> ids;
    for (int i = 0; i < 30; ++i) {
        std::error_code ec;
        const std::string_view x = "x", y = "y", z = "z";
        const std::string_view xy[] = {x, y};
        const sse::topic_list topics = i % 3 == 0 ? sse::topic_list(&x, 1) : i % 3 == 1 ? sse::topic_list(&z, 1) : sse::topic_list(xy);
        ids.push_back(publish_acked(a.provider(), text(std::to_string(i)), topics, ec));
        REQUIRE_FALSE(ec);
    }
    auto sink = std::make_shared<sse::queue_sink>();
    auto h = a.provider().subscribe({sink, sse::event_id(ids[5]), {"x", "y"}}); // id 5 was on x and y
    std::vector<std::string> want;
    for (int i = 6; i < 30; ++i)
        if (i % 3 != 1) want.push_back(std::to_string(i));
    const auto got = take_events(*sink, want.size());
    CHECK(datas(got) == want);
    CHECK(a.provider().stats().gaps == 0);
    // And live after it.
    a.provider().publish(text("live"), {"y"});
    const auto live = take_events(*sink, 1);
    REQUIRE(live.size() == 1);
    CHECK(live[0].data == "live");
}

TEST_CASE("redis: an id the history does not hold is a gap, told by the gap event; a known one is not", "[redis]") {
    SSE_TEST_NEED_REDIS();
    sse_test::redis_server redis;
    sse::redis_options o = options_for(redis);
    o.max_len = 5;
    o.exact_trim = true;
    o.gap_event = sse::event_type("gap");
    node a(o);
    REQUIRE(eventually([&] { return a.ready(); }));
    std::vector<std::string> ids;
    for (int i = 0; i < 20; ++i) {
        std::error_code ec;
        ids.push_back(publish_acked(a.provider(), text(std::to_string(i)), only_t, ec));
        REQUIRE_FALSE(ec);
    }
    CHECK(redis.command({"XLEN", "{sse}:topic:t"}) == "5");
    auto resume = [&](std::string last) {
        auto sink = std::make_shared<sse::queue_sink>();
        auto h = a.provider().subscribe({sink, sse::event_id(last), {"t"}});
        a.provider().publish(text("live"), only_t); // the end marker, after the replay
        std::vector<received_event> got;
        const auto until = std::chrono::steady_clock::now() + 10s;
        while ((got.empty() || got.back().data != "live") && std::chrono::steady_clock::now() < until)
            for (received_event& e : events_of(sink->take_for(100ms))) got.push_back(std::move(e));
        CHECK(sink->take_for(100ms).empty()); // nothing after it
        return got;
    };
    std::uint64_t gaps = a.provider().stats().gaps;

    SECTION("trimmed: the gap event names the id, then all the history holds") {
        const auto got = resume(ids[2]);
        REQUIRE(got.size() == 7);
        CHECK(got[0].type == "gap");
        CHECK(got[0].data == ids[2]);
        CHECK(datas(std::vector<received_event>(got.begin() + 1, got.end() - 1)) == numbered(15, 20));
        CHECK(a.provider().stats().gaps == gaps + 1);
    }
    SECTION("known: exactly what came after it") {
        const auto got = resume(ids[17]);
        REQUIRE(got.size() == 3);
        CHECK(got[0].data == "18");
        CHECK(got[1].data == "19");
        CHECK(a.provider().stats().gaps == gaps);
    }
    SECTION("the newest: nothing replayed, no gap") {
        const auto got = resume(ids[19]);
        REQUIRE(got.size() == 1);
        CHECK(got[0].data == "live");
        CHECK(a.provider().stats().gaps == gaps);
    }
    SECTION("an older id that was never given out: a gap, then the history") {
        const auto got = resume("1-1");
        REQUIRE(got.size() == 7);
        CHECK(got[0].type == "gap");
        CHECK(got[0].data == "1-1");
    }
    SECTION("not a stream id at all: a gap, nothing replayed, then live") {
        const auto got = resume("not-an-id");
        REQUIRE(got.size() == 2);
        CHECK(got[0].type == "gap");
        CHECK(got[1].data == "live");
    }
}

TEST_CASE("redis: errors are precise: ids are Redis's, topics are needed, closed is closed, unreachable is said",
          "[redis]") {
    SSE_TEST_NEED_REDIS();
    SECTION("Redis reachable") {
        sse_test::redis_server redis;
        node a(options_for(redis));
        REQUIRE(eventually([&] { return a.ready(); }));
        std::error_code ec;
        sse::message with_id = text("x");
        with_id.id = sse::event_id("7");
        a.provider().publish(with_id, only_t, ec);
        CHECK(ec == sse::error::id_already_set);
        a.provider().publish(text("x"), sse::topic_list(), ec);
        CHECK(ec == sse::error::no_topic);
        auto sink = std::make_shared<sse::queue_sink>();
        a.provider().subscribe({sink, {}, {}}, ec);
        CHECK(ec == sse::error::no_topic);
        a.provider().subscribe({nullptr, {}, {"t"}}, ec);
        CHECK(ec == sse::error::invalid_argument);
        auto live = a.provider().subscribe({sink, {}, {"t"}});
        a.provider().shutdown();
        CHECK(eventually([&] { return sink->closed(); }));
        CHECK(sink->close_reason() == sse::error::provider_closed);
        a.provider().publish(text("x"), only_t, ec);
        CHECK(ec == sse::error::provider_closed);
        a.provider().subscribe({sink, sse::event_id("1-0"), {"t"}}, ec);
        CHECK(ec == sse::error::provider_closed);
        a.provider().shutdown(ec);
        CHECK(ec == sse::error::provider_closed);
        CHECK_THROWS_AS(a.provider().publish(text("x")), std::system_error);
    }
    SECTION("nothing listening: publishes and resumes fail at once with provider_unavailable, and keep trying") {
        sse::redis_options o;
        o.port = sse_test::free_loopback_port();
        o.reconnect_initial = 10ms;
        o.reconnect_max = 20ms;
        node a(o);
        std::error_code ec;
        a.provider().publish(text("x"), only_t, ec);
        CHECK(ec == sse::error::provider_unavailable);
        auto sink = std::make_shared<sse::queue_sink>();
        a.provider().subscribe({sink, sse::event_id("1-0"), {"t"}}, ec);
        CHECK(ec == sse::error::provider_unavailable);
        auto h = a.provider().subscribe({sink, {}, {"t"}}, ec); // live only: fine, it waits
        CHECK_FALSE(ec);
        auto f = a.provider().async_publish(text("x"), only_t, asio::use_future);
        REQUIRE(f.wait_for(5s) == std::future_status::ready);
        CHECK_THROWS_AS(f.get(), std::system_error);
        CHECK(a.provider().stats().publish_failures == 2);
        CHECK_FALSE(a.provider().stats().connected);

        // Over HTTP: a resuming client is told to come back (a stream that ends at once, with a
        // retry hint: an EventSource would give up for good on any status but 200); a new one streams.
        sse_test::test_client resuming(a.port());
        REQUIRE(resuming.send("GET / HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1-0\r\n\r\n"));
        REQUIRE(resuming.read_until_closed());
        CHECK(resuming.received.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        CHECK(sse_test::has_header_line(resuming.received, "Content-Type: text/event-stream"));
        CHECK(resuming.received.ends_with("\r\n\r\nretry: 1000\n\n"));
        sse_test::test_client fresh(a.port());
        REQUIRE(fresh.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        REQUIRE(fresh.read_until("\r\n\r\n"));
        CHECK(fresh.read_for(200ms).empty());
        CHECK_FALSE(fresh.closed());
    }
}

TEST_CASE("redis: connections cut while publishing: every acknowledged message reaches the other node, once, in order",
          "[redis]") {
    SSE_TEST_NEED_REDIS();
    sse_test::redis_server redis;
    node a(options_for(redis)), b(options_for(redis));
    REQUIRE(eventually([&] { return a.ready() && b.ready(); }));
    auto sink = std::make_shared<sse::queue_sink>();
    auto h = a.provider().subscribe({sink, {}, {"t"}});

    std::set<std::string> acked, failed;
    for (int i = 0; i < 400; ++i) {
        if (i == 150) CHECK(redis.command({"CLIENT", "KILL", "TYPE", "normal"}) != "0"); // every node's links
        std::error_code ec;
        const std::string d = std::to_string(i);
        publish_acked(b.provider(), text(d), only_t, ec);
        (ec ? failed : acked).insert(d);
        if (ec) REQUIRE(eventually([&] { return b.ready(); })); // a publisher waits for Redis to be back
    }
    CHECK(acked.size() >= 300); // the cut costs a few, not most
    REQUIRE(eventually([&] { return a.ready(); }));
    std::error_code ec;
    publish_acked(b.provider(), text("end"), only_t, ec);
    REQUIRE_FALSE(ec);
    std::vector<received_event> got;
    const auto until = std::chrono::steady_clock::now() + 10s;
    while ((got.empty() || got.back().data != "end") && std::chrono::steady_clock::now() < until)
        for (auto& e : events_of(sink->take_for(100ms))) got.push_back(std::move(e));
    REQUIRE_FALSE(got.empty());
    CHECK(got.back().data == "end");
    got.pop_back();
    CHECK(strictly_increasing_stream_ids(got));
    std::set<std::string> seen;
    for (const auto& e : got) CHECK(seen.insert(e.data).second); // no duplicate
    for (const std::string& d : acked) CHECK(seen.count(d) == 1); // nothing acknowledged lost
    for (const std::string& d : seen) CHECK((acked.count(d) == 1 || failed.count(d) == 1));
    CHECK_FALSE(sink->closed()); // the log still held its place: the stream went on
    CHECK(a.provider().stats().connects >= 2);
}

TEST_CASE("redis: Redis killed and restarted empty: publishes fail meanwhile, nodes reconnect, clients resume from the "
          "streams",
          "[redis]") {
    SSE_TEST_NEED_REDIS();
    sse_test::redis_server redis;
    sse::redis_options o = options_for(redis);
    o.gap_event = sse::event_type("gap");
    std::atomic<int> reported{0};
    o.on_publish_error = [&](std::error_code, std::string_view) { ++reported; };
    node a(o), b(o);
    REQUIRE(eventually([&] { return a.ready() && b.ready(); }));
    auto sink = std::make_shared<sse::queue_sink>();
    auto h = a.provider().subscribe({sink, {}, {"t"}});
    for (int i = 0; i < 10; ++i) b.provider().publish(text(std::to_string(i)), only_t);
    const auto before = take_events(*sink, 10);
    REQUIRE(datas(before) == numbered(0, 10));

    redis.kill();
    REQUIRE(eventually([&] { return !a.ready() && !b.ready(); }));
    std::error_code ec;
    b.provider().publish(text("lost"), only_t, ec);
    CHECK(ec == sse::error::provider_unavailable); // said at once, not dropped silently
    CHECK(b.provider().stats().publish_failures >= 1);

    redis.restart();
    REQUIRE(eventually([&] { return a.ready() && b.ready(); }));
    // Redis lost everything, the log with it: node A cannot know what it missed, so its stream
    // ends and the client comes back with its Last-Event-ID.
    REQUIRE(eventually([&] { return sink->closed(); }));
    CHECK(sink->close_reason() == sse::error::provider_unavailable);
    for (int i = 10; i < 15; ++i) {
        publish_acked(b.provider(), text(std::to_string(i)), only_t, ec);
        REQUIRE_FALSE(ec);
    }
    auto back = std::make_shared<sse::queue_sink>();
    auto h2 = a.provider().subscribe({back, sse::event_id(before.back().id), {"t"}});
    const auto got = take_events(*back, 6);
    REQUIRE(got.size() == 6);
    CHECK(got[0].type == "gap"); // its id is gone with Redis's data
    CHECK(datas(std::vector<received_event>(got.begin() + 1, got.end())) == numbered(10, 15));
    b.provider().publish(text("live"), only_t);
    const auto live = take_events(*back, 1);
    REQUIRE(live.size() == 1);
    CHECK(live[0].data == "live");
    CHECK(a.provider().stats().connects == 2);
    CHECK(reported == 0); // nothing was in flight: every failure was said to the caller
}

TEST_CASE("redis: two demo servers on Redis: one is killed, its client resumes on the other and misses nothing",
          "[redis][demo]") {
    SSE_TEST_NEED_REDIS();
#ifndef SSE_DEMO_SERVER_EXECUTABLE
    SSE_SKIP("openssl", "the demo server is not built (it needs OpenSSL and SSE_BUILD_EXAMPLES=ON)");
#else
    sse_test::redis_server redis;
    const std::string url = "redis://127.0.0.1:" + std::to_string(redis.port());
    auto start_demo = [&] {
        return sse_test::start_peer({SSE_DEMO_SERVER_EXECUTABLE, "--port", "0", "--heartbeat", "0", "--provider", url,
                                     "--lifetime", "120"});
    };
    sse_test::child_process node_a = start_demo(), node_b = start_demo();
    auto redis_ready = [](unsigned short port) {
        try {
            return sse_test::http_fetch(port, "GET", "/stats").body.find("\"redis_connected\":true") != std::string::npos;
        } catch (const std::exception&) {
            return false;
        }
    };
    REQUIRE(eventually([&] { return redis_ready(node_a.port()) && redis_ready(node_b.port()); }));

    // A stream on node A gets what is published on node B.
    sse_test::test_client on_a(node_a.port());
    REQUIRE(on_a.send("GET /events?topic=demo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    REQUIRE(on_a.read_until("\r\n\r\n"));
    REQUIRE(sse_test::http_fetch(node_b.port(), "POST", "/publish?n=20&size=64&topic=demo").status == 200);
    auto count_events = [](const std::string& s) {
        std::size_t n = 0;
        for (std::size_t at = s.find("\ndata: t="); at != std::string::npos; at = s.find("\ndata: t=", at + 1)) ++n;
        return n;
    };
    REQUIRE(eventually([&] {
        on_a.read_some(50ms);
        return count_events(on_a.received) == 20;
    }));
    std::vector<received_event> first;
    sse::parser p;
    p.feed(std::string_view(on_a.received).substr(on_a.received.find("\r\n\r\n") + 4), [&](const sse::event_view& ev) {
        first.push_back({std::string(ev.type), std::string(ev.data), std::string(ev.last_event_id)});
    });
    REQUIRE(first.size() == 20);
    CHECK(strictly_increasing_stream_ids(first));

    // Node A dies; B publishes 30 more; the client comes back on B with its Last-Event-ID.
    node_a.kill_now();
    REQUIRE(sse_test::http_fetch(node_b.port(), "POST", "/publish?n=30&size=64&topic=demo").status == 200);
    REQUIRE(eventually([&] {
        const auto s = sse_test::http_fetch(node_b.port(), "GET", "/stats").body;
        return s.find("\"published\":50") != std::string::npos;
    }));
    sse_test::test_client on_b(node_b.port());
    REQUIRE(on_b.send("GET /events?topic=demo HTTP/1.1\r\nHost: 127.0.0.1\r\nLast-Event-ID: " + first.back().id +
                      "\r\n\r\n"));
    REQUIRE(eventually([&] {
        on_b.read_some(50ms);
        return count_events(on_b.received) >= 30;
    }));
    REQUIRE(sse_test::http_fetch(node_b.port(), "POST", "/publish?n=5&size=64&topic=demo").status == 200);
    REQUIRE(eventually([&] {
        on_b.read_some(50ms);
        return count_events(on_b.received) >= 35;
    }));
    // A sentinel, told by its size (80 bytes, the others 64), published once the 35 arrived: it
    // is the next event, so nothing came in between.
    REQUIRE(sse_test::http_fetch(node_b.port(), "POST", "/publish?n=1&size=80&topic=demo").status == 200);
    std::vector<received_event> second;
    REQUIRE(eventually([&] {
        on_b.read_some(50ms);
        second.clear();
        sse::parser q;
        q.feed(std::string_view(on_b.received).substr(on_b.received.find("\r\n\r\n") + 4), [&](const sse::event_view& ev) {
            second.push_back({std::string(ev.type), std::string(ev.data), std::string(ev.last_event_id)});
        });
        return !second.empty() && second.back().data.size() == 80;
    }));
    REQUIRE(second.size() == 36); // exactly the 30 missed, then 5 live, then the sentinel: no gap event, no duplicate
    second.pop_back();
    for (const auto& e : second) CHECK(e.data.size() == 64);
    CHECK(strictly_increasing_stream_ids(second));
    REQUIRE_FALSE(second.empty());
    CHECK(sse::detail::stream_id::parse(first.back().id) < sse::detail::stream_id::parse(second.front().id));
    for (const auto& e : second) CHECK(e.type == "message");
    CHECK(redis.command({"XLEN", "{sse}:topic:demo"}) == "56");
#endif
}
