// sse::joe, the in-process provider: go-sse's joe_test.go adapted, plus the
// rules go-sse does not have: serialize once, never block on a subscriber,
// publish cost proportional to the matching subscribers, user-defined
// replayers, sinks and providers, and exact counters.
#include "sse_test.hpp"
#include "support/vector_replayer.hpp"

#include <sse/error.hpp>
#include <sse/frame.hpp>
#include <sse/joe.hpp>
#include <sse/message.hpp>
#include <sse/parser.hpp>
#include <sse/provider.hpp>
#include <sse/queue_sink.hpp>
#include <sse/replayer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>


// How many messages were serialized into frames so far (SSE_TEST_HOOKS, set
// for every test executable, keeps this count; a release build has none).
static std::uint64_t serializations() { return sse::detail::frame_serializations.load(); }

namespace {

using strings = std::vector<std::string>;

sse::message text(std::string_view data) {
    sse::message m;
    m.append_data(data);
    return m;
}

sse::message with_id(std::string_view id, std::string_view data) {
    sse::message m = text(data);
    m.id = sse::event_id(id);
    return m;
}

// A user-defined sink: keeps what it accepts; overflows past `capacity`
// frames; answers `closed` once told to refuse.
class joe_recorder final : public sse::sink {
public:
    explicit joe_recorder(std::size_t capacity = std::numeric_limits<std::size_t>::max()) : capacity_(capacity) {}

    sse::delivery send(const sse::frame& f) noexcept override {
        ++sends;
        if (closes != 0) sent_after_close = true;
        if (refuse) return sse::delivery::closed;
        if (frames.size() >= capacity_) return sse::delivery::overflowed;
        frames.push_back(f);
        return sse::delivery::accepted;
    }
    void close(std::error_code reason) noexcept override {
        ++closes;
        close_reason = reason;
    }

    strings bytes() const {
        strings out;
        for (const sse::frame& f : frames) out.emplace_back(f.bytes());
        return out;
    }

    std::vector<sse::frame> frames;
    std::size_t sends = 0;
    std::size_t closes = 0;
    bool sent_after_close = false;
    bool refuse = false;
    std::error_code close_reason;

private:
    std::size_t capacity_;
};

// Counts the sends and closes that reach `inner` (which may be null: then it
// accepts everything). `shared_sends`, if given, counts across many sinks.
class counting_sink final : public sse::sink {
public:
    explicit counting_sink(std::shared_ptr<sse::sink> inner = nullptr, std::atomic<std::uint64_t>* shared_sends = nullptr)
        : inner_(std::move(inner)), shared_(shared_sends) {}

    sse::delivery send(const sse::frame& f) noexcept override {
        sends.fetch_add(1, std::memory_order_relaxed);
        if (shared_) shared_->fetch_add(1, std::memory_order_relaxed);
        return inner_ ? inner_->send(f) : sse::delivery::accepted;
    }
    void close(std::error_code reason) noexcept override {
        closes.fetch_add(1, std::memory_order_relaxed);
        if (inner_) inner_->close(reason);
    }

    std::atomic<std::uint64_t> sends{0};
    std::atomic<std::uint64_t> closes{0};

private:
    std::shared_ptr<sse::sink> inner_;
    std::atomic<std::uint64_t>* shared_;
};

// The code of the std::system_error that `f` throws; empty if none.
template <class F>
std::error_code thrown_code(F&& f) {
    try {
        f();
    } catch (const std::system_error& e) {
        return e.code();
    }
    return {};
}

strings taken_bytes(sse::queue_sink& q) {
    strings out;
    for (const sse::frame& f : q.take()) out.emplace_back(f.bytes());
    return out;
}

// The data of every event in `frames`, as a client parses them.
strings parsed_data(const std::vector<sse::frame>& frames) {
    sse::parser p;
    strings out;
    for (const sse::frame& f : frames) p.feed(f.bytes(), [&](const sse::event_view& ev) { out.emplace_back(ev.data); });
    return out;
}

bool stats_equal(const sse::provider_stats& a, const sse::provider_stats& b) {
    return a.subscribers == b.subscribers && a.published == b.published && a.delivered == b.delivered &&
           a.overflows == b.overflows && a.replayed == b.replayed && a.gaps == b.gaps;
}

std::string show(const sse::provider_stats& s) {
    return "{subscribers " + std::to_string(s.subscribers) + ", published " + std::to_string(s.published) +
           ", delivered " + std::to_string(s.delivered) + ", overflows " + std::to_string(s.overflows) +
           ", replayed " + std::to_string(s.replayed) + ", gaps " + std::to_string(s.gaps) + "}";
}

#define CHECK_STATS(joe_, ...)                                   \
    do {                                                         \
        const sse::provider_stats expected_stats_ = __VA_ARGS__; \
        const sse::provider_stats actual_stats_ = (joe_).stats(); \
        INFO("stats " << show(actual_stats_) << ", expected " << show(expected_stats_)); \
        CHECK(stats_equal(actual_stats_, expected_stats_));      \
    } while (false)

// ------------------------------------------------------------ a user-defined replayer

using sse_test::replayer_calls; // tests/support/vector_replayer.hpp
using sse_test::vector_replayer;

// --------------------------------------------------------------- a user-defined provider

// Namespaces every topic (a tenant's "news" is "<tenant>/news") on top of joe.
class tenant_provider {
public:
    explicit tenant_provider(std::string tenant) : prefix_(std::move(tenant) + "/") {}

    void publish(const sse::message& m, sse::topic_list topics, std::error_code& ec) {
        strings names;
        for (std::string_view t : topics) names.push_back(prefix_ + std::string(t));
        inner_.publish(m, names, ec);
    }
    sse::joe::subscription_handle subscribe(sse::subscription sub, std::error_code& ec) {
        for (std::string& t : sub.topics) t = prefix_ + t;
        return inner_.subscribe(std::move(sub), ec);
    }
    void shutdown() { inner_.shutdown(); }
    sse::provider_stats stats() const { return inner_.stats(); }

private:
    std::string prefix_;
    sse::joe inner_;
};

static_assert(sse::provider<tenant_provider>);
static_assert(sse::provider<sse::joe>);
static_assert(!sse::provider<sse::finite_replayer>);
static_assert(!sse::provider<int>);

// (Not written as designated initializers inside the template below: GCC 12
// crashes on that, "internal compiler error: in check_noexcept_r".)
sse::subscription subscription_to(std::shared_ptr<sse::sink> client, strings topics = {""}) {
    sse::subscription sub;
    sub.client = std::move(client);
    sub.topics = std::move(topics);
    return sub;
}

// What any provider must do, whatever it is.
template <sse::provider P>
void check_provider_contract(P& p) {
    auto a = std::make_shared<sse::queue_sink>();
    auto b = std::make_shared<sse::queue_sink>();
    std::error_code ec;
    auto ha = p.subscribe(subscription_to(a, {"x", "y"}), ec);
    REQUIRE(!ec);
    auto hb = p.subscribe(subscription_to(b, {"y"}), ec);
    REQUIRE(!ec);

    const std::string_view both[] = {"x", "y"};
    p.publish(text("to both"), sse::topic_list(both), ec);
    CHECK(!ec);
    p.publish(text("none"), sse::topic_list(), ec);
    CHECK(ec == sse::error::no_topic);
    CHECK(taken_bytes(*a) == strings{"data: to both\n\n"});
    CHECK(taken_bytes(*b) == strings{"data: to both\n\n"});

    hb.cancel();
    p.publish(text("after cancel"), sse::topic_list(both), ec);
    CHECK(!ec);
    CHECK(taken_bytes(*a) == strings{"data: after cancel\n\n"});
    CHECK(taken_bytes(*b) == strings{});

    p.shutdown();
    CHECK(a->closed());
    CHECK(a->close_reason() == sse::error::provider_closed);
    CHECK(!b->closed()); // it had left
    p.publish(text("late"), sse::topic_list(both), ec);
    CHECK(ec == sse::error::provider_closed);
    auto late = p.subscribe(subscription_to(b), ec);
    CHECK(ec == sse::error::provider_closed);
}

} // namespace

// ---------------------------------------------------------------- publish and subscribe

TEST_CASE("joe: a subscriber receives the exact bytes published (TestJoe_SubscribePublish)", "[joe]") {
    sse::joe joe;
    auto sink = std::make_shared<sse::queue_sink>();
    sse::joe::subscription_handle h = joe.subscribe({.client = sink});
    REQUIRE(h);
    joe.publish(text("hello"));
    CHECK(taken_bytes(*sink) == strings{"data: hello\n\n"});

    sse::message full;
    full.id = sse::event_id("7");
    full.type = sse::event_type("greeting");
    full.retry = std::chrono::milliseconds(2500);
    full.append_data("two\nlines");
    full.append_comment("note");
    joe.publish(full);
    CHECK(taken_bytes(*sink) == strings{"id: 7\nevent: greeting\nretry: 2500\ndata: two\ndata: lines\n: note\n\n"});

    h.cancel();
    joe.publish(text("gone"));
    CHECK(taken_bytes(*sink) == strings{});

    // A second subscriber ended by shutdown has received nothing.
    auto second = std::make_shared<sse::queue_sink>();
    auto h2 = joe.subscribe({.client = second});
    joe.shutdown();
    CHECK(second->take().empty());
    CHECK(second->closed());
    CHECK(!sink->closed()); // cancelled before: not closed by joe
}

TEST_CASE("joe: with an auto-id replayer, live subscribers see the assigned ids", "[joe]") {
    sse::joe joe{sse::finite_replayer(10, {.auto_ids = true, .first_id = 0})};
    auto sink = std::make_shared<sse::queue_sink>();
    auto h = joe.subscribe({.client = sink});
    joe.publish(text("a"));
    joe.publish(text("b"));
    CHECK(taken_bytes(*sink) == strings{"id: 0\ndata: a\n\n", "id: 1\ndata: b\n\n"});
}

TEST_CASE("joe: the publish overloads", "[joe]") {
    sse::joe joe;
    auto sink = std::make_shared<sse::queue_sink>();
    auto h = joe.subscribe({.client = sink, .topics = {"", "a", "b"}});
    std::error_code ec;
    joe.publish(text("1"), ec);
    CHECK(!ec);
    joe.publish(text("2"), {"a"}, ec);
    CHECK(!ec);
    joe.publish(text("3"), strings{"b", "zz"}, ec);
    CHECK(!ec);
    const std::vector<std::string_view> views{"a"};
    joe.publish(text("4"), sse::topic_list(views), ec);
    CHECK(!ec);
    joe.publish(text("5"));
    joe.publish(text("6"), {"b"});
    joe.publish(text("7"), strings{"a"});
    joe.publish(text("8"), sse::topic_list(views));
    CHECK(parsed_data(sink->take()) == strings{"1", "2", "3", "4", "5", "6", "7", "8"});

    joe.publish(text("x"), strings{}, ec);
    CHECK(ec == sse::error::no_topic);
    joe.publish(text("x"), std::initializer_list<std::string_view>{}, ec);
    CHECK(ec == sse::error::no_topic);
    REQUIRE_THROWS_AS(joe.publish(text("x"), strings{}), std::system_error);
    REQUIRE_THROWS_AS(joe.publish(text("x"), sse::topic_list()), std::system_error);
    CHECK(sink->take().empty());
}

TEST_CASE("joe: several topics (TestJoe_Subscribe_multipleTopics)", "[joe]") {
    sse::joe joe;
    auto both = std::make_shared<sse::queue_sink>();
    auto only_a = std::make_shared<sse::queue_sink>();
    auto only_b = std::make_shared<sse::queue_sink>();
    auto twice = std::make_shared<sse::queue_sink>();
    auto h1 = joe.subscribe({.client = both, .topics = {"", "another topic"}});
    auto h2 = joe.subscribe({.client = only_a, .topics = {"a"}});
    auto h3 = joe.subscribe({.client = only_b, .topics = {"b"}});
    auto h4 = joe.subscribe({.client = twice, .topics = {"a", "a", "b", "a"}});
    CHECK(joe.stats().subscribers == 4);

    joe.publish(text("to both"), {"", "another topic"});
    joe.publish(text("to another"), {"another topic"});
    CHECK(parsed_data(both->take()) == strings{"to both", "to another"});

    joe.publish(text("a"), {"a"});
    joe.publish(text("b"), {"b"});
    joe.publish(text("a and b"), {"a", "b"});
    joe.publish(text("a twice"), {"a", "a"});
    joe.publish(text("nobody"), {"c"});
    CHECK(parsed_data(only_a->take()) == strings{"a", "a and b", "a twice"});
    CHECK(parsed_data(only_b->take()) == strings{"b", "a and b"});
    CHECK(parsed_data(twice->take()) == strings{"a", "b", "a and b", "a twice"});
    CHECK(both->take().empty());

    // Leaving removes every one of its topics, once.
    h4.cancel();
    CHECK(joe.stats().subscribers == 3);
    joe.publish(text("after"), {"a", "b"});
    CHECK(parsed_data(only_a->take()) == strings{"after"});
    CHECK(parsed_data(only_b->take()) == strings{"after"});
    CHECK(twice->take().empty());
}

TEST_CASE("joe: cancelling in any order keeps the other subscriptions intact", "[joe]") {
    // Subscriber i is on the topics t(j) for every j where bit j of (i % 7 + 1) is set.
    constexpr int n = 40;
    const strings names{"t0", "t1", "t2"};
    sse::joe joe;
    std::vector<std::shared_ptr<sse::queue_sink>> sinks;
    std::vector<sse::joe::subscription_handle> handles;
    std::vector<strings> topics_of;
    for (int i = 0; i < n; ++i) {
        strings topics;
        for (int j = 0; j < 3; ++j)
            if ((i % 7 + 1) & (1 << j)) topics.push_back(names[static_cast<std::size_t>(j)]);
        sinks.push_back(std::make_shared<sse::queue_sink>());
        handles.push_back(joe.subscribe({.client = sinks.back(), .topics = topics}));
        topics_of.push_back(topics);
    }
    std::vector<bool> live(n, true);
    int publish_no = 0;
    const auto check_all = [&] {
        for (const std::string& t : names) {
            const std::string data = t + " #" + std::to_string(publish_no++);
            joe.publish(text(data), {t});
            for (int i = 0; i < n; ++i) {
                const auto& mine = topics_of[static_cast<std::size_t>(i)];
                const bool wants = live[static_cast<std::size_t>(i)] &&
                                   std::find(mine.begin(), mine.end(), t) != mine.end();
                INFO("subscriber " << i << ", publish " << data);
                CHECK(parsed_data(sinks[static_cast<std::size_t>(i)]->take()) == (wants ? strings{data} : strings{}));
            }
        }
        joe.publish(text("all"), {names[0], names[1], names[2]});
        for (int i = 0; i < n; ++i) {
            INFO("subscriber " << i << ", publish to all");
            CHECK(sinks[static_cast<std::size_t>(i)]->take().size() == (live[static_cast<std::size_t>(i)] ? 1u : 0u));
        }
    };
    check_all();
    std::size_t expected_live = n;
    for (int k = 0; k < n; ++k) {
        const int i = (k * 17 + 5) % n; // 17 is prime to 40: every subscriber once
        handles[static_cast<std::size_t>(i)].cancel();
        live[static_cast<std::size_t>(i)] = false;
        --expected_live;
        CHECK(joe.stats().subscribers == expected_live);
        if (k % 5 == 0 || k > n - 4) check_all();
    }
}

// ------------------------------------------------------------------------------ errors

TEST_CASE("joe: shutdown (TestJoe_Shutdown)", "[joe]") {
    auto calls = std::make_shared<replayer_calls>();
    sse::joe joe{vector_replayer(calls)};
    auto a = std::make_shared<joe_recorder>();
    auto b = std::make_shared<sse::queue_sink>();
    auto ha = joe.subscribe({.client = a, .topics = {"x"}});
    auto hb = joe.subscribe({.client = b, .topics = {"", "y"}});
    std::error_code ec;

    joe.shutdown(ec);
    CHECK(!ec);
    CHECK(a->closes == 1);
    CHECK(a->close_reason == sse::error::provider_closed);
    CHECK(b->closed());
    CHECK(b->close_reason() == sse::error::provider_closed);
    CHECK(joe.stats().subscribers == 0);

    joe.shutdown(ec);
    CHECK(ec == sse::error::provider_closed);
    joe.shutdown(); // nothing
    CHECK(a->closes == 1);

    // Validation comes first: no topics is no_topic even now.
    joe.publish(with_id("1", "x"), sse::topic_list(), ec);
    CHECK(ec == sse::error::no_topic);
    joe.publish(with_id("1", "x"), ec);
    CHECK(ec == sse::error::provider_closed);
    joe.publish(with_id("1", "x"), {"x", "y"}, ec);
    CHECK(ec == sse::error::provider_closed);
    CHECK(thrown_code([&] { joe.publish(with_id("1", "x")); }) == sse::error::provider_closed);

    auto late = std::make_shared<joe_recorder>();
    auto hl = joe.subscribe({.client = late, .last_event_id = sse::event_id("1")}, ec);
    CHECK(ec == sse::error::provider_closed);
    CHECK(!hl);
    REQUIRE_THROWS_AS(joe.subscribe({.client = late}), std::system_error);
    // Validation first here too.
    joe.subscribe({.client = nullptr}, ec);
    CHECK(ec == sse::error::invalid_argument);
    joe.subscribe({.client = late, .topics = {}}, ec);
    CHECK(ec == sse::error::no_topic);

    CHECK(calls->puts == 0);
    CHECK(calls->replays == 0);
    CHECK(late->sends == 0);
    CHECK(!a->sent_after_close);
    CHECK(joe.stats().published == 0);

    // The handles of the closed joe still cancel harmlessly.
    ha.cancel();
    CHECK(!ha);
}

TEST_CASE("joe: destroying joe closes the live sinks", "[joe]") {
    auto sink = std::make_shared<joe_recorder>();
    sse::joe::subscription_handle h;
    {
        sse::joe joe;
        h = joe.subscribe({.client = sink});
    }
    CHECK(sink->closes == 1);
    CHECK(sink->close_reason == sse::error::provider_closed);
    CHECK(h); // not cancelled by its owner
    h.cancel(); // joe is gone: nothing to do, nothing to crash
    CHECK(!h);
    h.cancel();
}

TEST_CASE("joe: subscribe validates its arguments", "[joe]") {
    sse::joe joe;
    std::error_code ec;
    auto h = joe.subscribe({.client = nullptr}, ec);
    CHECK(ec == sse::error::invalid_argument);
    CHECK(!h);
    auto sink = std::make_shared<sse::queue_sink>();
    h = joe.subscribe({.client = sink, .topics = {}}, ec);
    CHECK(ec == sse::error::no_topic);
    CHECK(!h);
    CHECK(joe.stats().subscribers == 0);
    CHECK(thrown_code([&] { joe.subscribe({.client = nullptr}); }) == sse::error::invalid_argument);
    CHECK(thrown_code([&] { joe.subscribe({.client = sink, .topics = {}}); }) == sse::error::no_topic);
    // The default subscription is the default topic.
    ec = sse::error::bad_request;
    h = joe.subscribe({.client = sink}, ec);
    CHECK(!ec);
    joe.publish(text("default"), {sse::default_topic});
    CHECK(parsed_data(sink->take()) == strings{"default"});
}

TEST_CASE("joe: a replayer's put error is reported, and live subscribers still get the message", "[joe]") {
    sse::joe joe{sse::finite_replayer(5)}; // manual ids
    auto sink = std::make_shared<sse::queue_sink>();
    auto h = joe.subscribe({.client = sink});
    std::error_code ec;
    joe.publish(text("no id"), ec);
    CHECK(ec == sse::error::no_id);
    CHECK(taken_bytes(*sink) == strings{"data: no id\n\n"});
    REQUIRE_THROWS_AS(joe.publish(text("no id again")), std::system_error);
    CHECK(taken_bytes(*sink) == strings{"data: no id again\n\n"});
    joe.publish(with_id("1", "ok"), ec);
    CHECK(!ec);
    CHECK(taken_bytes(*sink) == strings{"id: 1\ndata: ok\n\n"});
    CHECK_STATS(joe, {.subscribers = 1, .published = 3, .delivered = 3});

    // Only the message with an id was stored.
    auto later = std::make_shared<joe_recorder>();
    auto h2 = joe.subscribe({.client = later, .last_event_id = sse::event_id("1")});
    CHECK(later->frames.empty());

    sse::joe autos{sse::finite_replayer(5, {.auto_ids = true, .first_id = 0})};
    auto s2 = std::make_shared<sse::queue_sink>();
    auto h3 = autos.subscribe({.client = s2});
    autos.publish(with_id("mine", "x"), ec);
    CHECK(ec == sse::error::id_already_set);
    autos.publish(text("y"), ec);
    CHECK(!ec);
    CHECK(taken_bytes(*s2) == strings{"id: mine\ndata: x\n\n", "id: 0\ndata: y\n\n"});
}

TEST_CASE("joe: a failing replay fails the subscribe and adds nobody (TestJoe_errors)", "[joe]") {
    sse::joe joe{sse::finite_replayer(2)};
    joe.publish(with_id("0", "zero"));
    joe.publish(with_id("1", "one"));

    SECTION("overflow during the replay") {
        auto sink = std::make_shared<joe_recorder>(0);
        std::error_code ec;
        auto h = joe.subscribe({.client = sink, .last_event_id = sse::event_id("0")}, ec);
        CHECK(ec == sse::error::queue_overflow);
        CHECK(!h);
        CHECK(sink->sends == 1);
        joe.publish(with_id("2", "two"));
        CHECK(sink->sends == 1); // not subscribed
        CHECK_STATS(joe, {.subscribers = 0, .published = 3, .overflows = 1});
        // ("0" is evicted now: "1" anchors a replay of 2, which overflows.)
        CHECK(thrown_code([&] { joe.subscribe({.client = sink, .last_event_id = sse::event_id("1")}); }) ==
              sse::error::queue_overflow);
        CHECK(sink->sends == 2);
        CHECK_STATS(joe, {.subscribers = 0, .published = 3, .overflows = 2});
    }
    SECTION("a queue_sink too small for the history") {
        auto sink = std::make_shared<sse::queue_sink>(4);
        std::error_code ec;
        auto h = joe.subscribe({.client = sink, .last_event_id = sse::event_id("0")}, ec);
        CHECK(ec == sse::error::queue_overflow);
        CHECK(sink->overflowed());
        CHECK(joe.stats().subscribers == 0);
    }
    SECTION("a sink that is closed during the replay") {
        auto sink = std::make_shared<joe_recorder>();
        sink->refuse = true;
        std::error_code ec;
        auto h = joe.subscribe({.client = sink, .last_event_id = sse::event_id("0")}, ec);
        CHECK(ec);
        CHECK(ec != sse::error::queue_overflow);
        CHECK(!h);
        CHECK_STATS(joe, {.subscribers = 0, .published = 2});
    }
    SECTION("without a last id, the first live message that fails drops the subscriber") {
        auto sink = std::make_shared<joe_recorder>(0);
        std::error_code ec;
        auto h = joe.subscribe({.client = sink}, ec);
        CHECK(!ec);
        CHECK(sink->sends == 0);
        joe.publish(with_id("2", "two"));
        CHECK(sink->sends == 1);
        CHECK_STATS(joe, {.subscribers = 0, .published = 3, .overflows = 1});
        joe.publish(with_id("3", "three"));
        CHECK(sink->sends == 1);
        CHECK(h); // the handle does not know; cancelling is harmless
        h.cancel();
        CHECK(joe.stats().subscribers == 0);
    }
    SECTION("a sink that says closed is dropped, not counted as an overflow, and not closed") {
        auto sink = std::make_shared<joe_recorder>();
        auto h = joe.subscribe({.client = sink});
        sink->refuse = true;
        joe.publish(with_id("2", "two"));
        joe.publish(with_id("3", "three"));
        CHECK(sink->sends == 1);
        CHECK_STATS(joe, {.subscribers = 0, .published = 4});
        joe.shutdown();
        CHECK(sink->closes == 0);
    }
}

// ------------------------------------------------------------------------ handles

TEST_CASE("joe: subscription handles unsubscribe when destroyed, cancelled or assigned", "[joe]") {
    sse::joe joe;
    auto a = std::make_shared<sse::queue_sink>();
    auto b = std::make_shared<sse::queue_sink>();

    {
        auto h = joe.subscribe({.client = a});
        CHECK(joe.stats().subscribers == 1);
    }
    CHECK(joe.stats().subscribers == 0);

    sse::joe::subscription_handle h = joe.subscribe({.client = a});
    CHECK(h);
    h.cancel();
    CHECK(!h);
    CHECK(joe.stats().subscribers == 0);
    h.cancel(); // twice is fine

    SECTION("move construction transfers the subscription") {
        auto h1 = joe.subscribe({.client = a});
        sse::joe::subscription_handle h2(std::move(h1));
        CHECK(!h1); // NOLINT(bugprone-use-after-move): a moved-from handle is empty
        CHECK(h2);
        h1.cancel();
        CHECK(joe.stats().subscribers == 1);
        joe.publish(text("still here"));
        CHECK(parsed_data(a->take()) == strings{"still here"});
        h2.cancel();
        CHECK(joe.stats().subscribers == 0);
    }
    SECTION("move assignment cancels the target's subscription first") {
        auto ha = joe.subscribe({.client = a});
        auto hb = joe.subscribe({.client = b});
        CHECK(joe.stats().subscribers == 2);
        ha = std::move(hb);
        CHECK(joe.stats().subscribers == 1);
        joe.publish(text("to b"));
        CHECK(a->take().empty());
        CHECK(parsed_data(b->take()) == strings{"to b"});
        auto& self = ha;
        ha = std::move(self); // self-assignment keeps it
        CHECK(joe.stats().subscribers == 1);
        ha = sse::joe::subscription_handle();
        CHECK(joe.stats().subscribers == 0);
    }
    SECTION("handles in a vector that grows") {
        std::vector<sse::joe::subscription_handle> handles;
        for (int i = 0; i < 100; ++i) handles.push_back(joe.subscribe({.client = a}));
        CHECK(joe.stats().subscribers == 100);
        handles.erase(handles.begin(), handles.begin() + 30);
        CHECK(joe.stats().subscribers == 70);
        handles.clear();
        CHECK(joe.stats().subscribers == 0);
    }
}

TEST_CASE("joe: a moved-from joe is closed; move assignment shuts the target down", "[joe]") {
    auto a = std::make_shared<sse::queue_sink>();
    auto b = std::make_shared<sse::queue_sink>();
    sse::joe first;
    auto ha = first.subscribe({.client = a});
    sse::joe second(std::move(first));
    second.publish(text("moved"));
    CHECK(parsed_data(a->take()) == strings{"moved"});

    std::error_code ec;
    first.publish(text("x"), ec); // NOLINT(bugprone-use-after-move)
    CHECK(ec == sse::error::provider_closed);
    first.subscribe({.client = b}, ec);
    CHECK(ec == sse::error::provider_closed);
    first.shutdown(ec);
    CHECK(ec == sse::error::provider_closed);
    CHECK_STATS(first, {});

    sse::joe third;
    auto hb = third.subscribe({.client = b});
    third = std::move(second);
    CHECK(b->closed());
    CHECK(b->close_reason() == sse::error::provider_closed);
    CHECK(!a->closed());
    third.publish(text("again"));
    CHECK(parsed_data(a->take()) == strings{"again"});
    ha.cancel();
    CHECK(third.stats().subscribers == 0);
}

// ------------------------------------------------------------------------ replay via joe

TEST_CASE("joe: subscribing with a last id replays the history, then goes live", "[joe]") {
    sse::joe joe{sse::finite_replayer(100, {.auto_ids = true, .first_id = 0})};
    for (int i = 0; i < 5; ++i) joe.publish(text("m" + std::to_string(i)));
    auto sink = std::make_shared<sse::queue_sink>();
    auto h = joe.subscribe({.client = sink, .last_event_id = sse::event_id("2")});
    joe.publish(text("m5"));
    CHECK(taken_bytes(*sink) == strings{"id: 3\ndata: m3\n\n", "id: 4\ndata: m4\n\n", "id: 5\ndata: m5\n\n"});
    CHECK_STATS(joe, {.subscribers = 1, .published = 6, .delivered = 1, .replayed = 2});

    // Without a replayer a last id changes nothing.
    sse::joe plain;
    plain.publish(text("before"));
    auto s2 = std::make_shared<sse::queue_sink>();
    auto h2 = plain.subscribe({.client = s2, .last_event_id = sse::event_id("0")});
    CHECK(s2->take().empty());
    CHECK_STATS(plain, {.subscribers = 1, .published = 1});
}

TEST_CASE("joe: a gap is counted, and sent as an event when gap_event is set", "[joe]") {
    sse::joe joe{sse::finite_replayer(2, {.auto_ids = true, .first_id = 0, .gap_event = sse::event_type("gap")})};
    for (int i = 0; i < 4; ++i) joe.publish(text("m" + std::to_string(i))); // keeps 2,3
    auto sink = std::make_shared<sse::queue_sink>();
    auto h = joe.subscribe({.client = sink, .last_event_id = sse::event_id("0")});
    CHECK(taken_bytes(*sink) == strings{"event: gap\ndata: 0\n\n", "id: 2\ndata: m2\n\n", "id: 3\ndata: m3\n\n"});
    auto other = std::make_shared<sse::queue_sink>();
    auto h2 = joe.subscribe({.client = other, .last_event_id = sse::event_id("1")});
    CHECK(parsed_data(other->take()) == strings{"m2", "m3"});
    CHECK_STATS(joe, {.subscribers = 2, .published = 4, .replayed = 4, .gaps = 1});
}

// ------------------------------------------------------------------- user-defined types

TEST_CASE("joe: a user-defined replayer and sink", "[joe]") {
    auto calls = std::make_shared<replayer_calls>();
    sse::joe joe{vector_replayer(calls)};
    auto early = std::make_shared<joe_recorder>();
    auto he = joe.subscribe({.client = early, .topics = {"news", "sport"}});
    CHECK(calls->replays == 0); // no last id: nothing to replay

    joe.publish(with_id("a", "first"), {"news"});
    joe.publish(with_id("b", "second"), {"weather"});
    joe.publish(with_id("c", "third"), {"sport", "news"});
    CHECK(calls->puts == 3);
    CHECK(early->bytes() == strings{"id: a\ndata: first\n\n", "id: c\ndata: third\n\n"});

    auto late = std::make_shared<joe_recorder>();
    auto hl = joe.subscribe({.client = late, .last_event_id = sse::event_id("a"), .topics = {"news", "weather"}});
    CHECK(calls->replays == 1);
    CHECK(late->bytes() == strings{"id: b\ndata: second\n\n", "id: c\ndata: third\n\n"});
    // The replayed frames are the ones the live subscriber got: serialized once.
    REQUIRE(late->frames.size() == 2);
    CHECK(late->frames[1].same_bytes(early->frames[1]));

    joe.publish(with_id("d", "fourth"), {"weather"});
    CHECK(late->bytes().back() == "id: d\ndata: fourth\n\n");
    CHECK(early->frames.size() == 2);

    auto lost = std::make_shared<joe_recorder>();
    auto hx = joe.subscribe({.client = lost, .last_event_id = sse::event_id("unknown")});
    CHECK(lost->frames.empty());
    CHECK_STATS(joe, {.subscribers = 3, .published = 4, .delivered = 3, .replayed = 2, .gaps = 1});

    std::error_code ec;
    joe.publish(text("no id"), {"news"}, ec); // the user's replayer refuses it
    CHECK(ec == sse::error::no_id);
    CHECK(early->bytes().back() == "data: no id\n\n");

    joe.shutdown();
    CHECK(early->closes == 1);
    CHECK(late->closes == 1);
    CHECK(lost->closes == 1);
    CHECK(!early->sent_after_close);
}

TEST_CASE("joe: a user-defined provider satisfies sse::provider and behaves as one", "[joe]") {
    SECTION("sse::joe") {
        sse::joe joe;
        check_provider_contract(joe);
    }
    SECTION("tenant_provider") {
        tenant_provider p("acme");
        check_provider_contract(p);
    }
    SECTION("tenants do not see each other's topics") {
        tenant_provider p("acme");
        auto sink = std::make_shared<sse::queue_sink>();
        std::error_code ec;
        auto h = p.subscribe({.client = sink, .topics = {"news"}}, ec);
        REQUIRE(!ec);
        CHECK(p.stats().subscribers == 1);
        const std::string_view news[] = {"news"};
        p.publish(text("hi"), sse::topic_list(news), ec);
        CHECK(!ec);
        CHECK(parsed_data(sink->take()) == strings{"hi"});
    }
}

// ------------------------------------------------------------------------------ counters

TEST_CASE("joe: stats are exact", "[joe]") {
    sse::joe joe{sse::finite_replayer(2, {.auto_ids = true, .first_id = 0})};
    CHECK_STATS(joe, {});
    joe.publish(text("m0")); // nobody listens
    CHECK_STATS(joe, {.published = 1});

    auto a = std::make_shared<sse::queue_sink>();
    // "id: N\ndata: mN\n\n" is 16 bytes: b holds exactly one.
    auto b = std::make_shared<sse::queue_sink>(16);
    auto ha = joe.subscribe({.client = a});
    auto hb = joe.subscribe({.client = b});
    joe.publish(text("m1"));
    CHECK_STATS(joe, {.subscribers = 2, .published = 2, .delivered = 2});
    joe.publish(text("m2")); // b overflows and is dropped
    CHECK(b->overflowed());
    CHECK_STATS(joe, {.subscribers = 1, .published = 3, .delivered = 3, .overflows = 1});

    auto c = std::make_shared<sse::queue_sink>();
    auto hc = joe.subscribe({.client = c, .last_event_id = sse::event_id("1")}); // holds 1,2: replays 2
    CHECK_STATS(joe, {.subscribers = 2, .published = 3, .delivered = 3, .overflows = 1, .replayed = 1});
    auto d = std::make_shared<sse::queue_sink>();
    auto hd = joe.subscribe({.client = d, .last_event_id = sse::event_id("0")}); // replays 1,2, no gap
    CHECK_STATS(joe, {.subscribers = 3, .published = 3, .delivered = 3, .overflows = 1, .replayed = 3});
    auto e = std::make_shared<sse::queue_sink>();
    auto he = joe.subscribe({.client = e, .last_event_id = sse::event_id("7")}); // a gap, nothing
    CHECK_STATS(joe, {.subscribers = 4, .published = 3, .delivered = 3, .overflows = 1, .replayed = 3, .gaps = 1});

    std::error_code ec;
    auto f = std::make_shared<sse::queue_sink>(0);
    auto hf = joe.subscribe({.client = f, .last_event_id = sse::event_id("0")}, ec); // overflows at once
    CHECK(ec == sse::error::queue_overflow);
    CHECK_STATS(joe, {.subscribers = 4, .published = 3, .delivered = 3, .overflows = 2, .replayed = 3, .gaps = 1});
    auto g = std::make_shared<joe_recorder>();
    g->refuse = true;
    auto hg = joe.subscribe({.client = g, .last_event_id = sse::event_id("0")}, ec); // closed: an error, no overflow
    CHECK(ec);
    CHECK_STATS(joe, {.subscribers = 4, .published = 3, .delivered = 3, .overflows = 2, .replayed = 3, .gaps = 1});
    auto h = std::make_shared<sse::queue_sink>();
    auto hh = joe.subscribe({.client = h, .last_event_id = sse::event_id("9")}); // another gap
    CHECK_STATS(joe, {.subscribers = 5, .published = 3, .delivered = 3, .overflows = 2, .replayed = 3, .gaps = 2});

    joe.publish(text("m3"), {"", "elsewhere"});
    CHECK_STATS(joe, {.subscribers = 5, .published = 4, .delivered = 8, .overflows = 2, .replayed = 3, .gaps = 2});
    joe.publish(text("m4"), {"elsewhere"});
    CHECK_STATS(joe, {.subscribers = 5, .published = 5, .delivered = 8, .overflows = 2, .replayed = 3, .gaps = 2});
    hc.cancel();
    he = {};
    CHECK_STATS(joe, {.subscribers = 3, .published = 5, .delivered = 8, .overflows = 2, .replayed = 3, .gaps = 2});

    CHECK(parsed_data(a->take()) == strings{"m1", "m2", "m3"});
    CHECK(parsed_data(c->take()) == strings{"m2", "m3"});
    CHECK(parsed_data(d->take()) == strings{"m1", "m2", "m3"});
    CHECK(parsed_data(h->take()) == strings{"m3"});

    joe.shutdown();
    CHECK_STATS(joe, {.published = 5, .delivered = 8, .overflows = 2, .replayed = 3, .gaps = 2});
}

// ---------------------------------------------------------------------- serialize once

TEST_CASE("joe: one publish to 10,000 subscribers serializes once", "[joe]") {
    constexpr std::size_t n = 10000;
    const auto run = [&](sse::joe& joe, const sse::message& m, std::error_code expected = {}) {
        std::vector<std::shared_ptr<sse::queue_sink>> sinks;
        std::vector<sse::joe::subscription_handle> handles;
        sinks.reserve(n);
        handles.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            sinks.push_back(std::make_shared<sse::queue_sink>());
            handles.push_back(joe.subscribe({.client = sinks.back()}));
        }
        REQUIRE(joe.stats().subscribers == n);
        const std::uint64_t before = serializations();
        std::error_code ec;
        joe.publish(m, ec);
        CHECK(ec == expected);
        CHECK(serializations() == before + 1);
        std::vector<sse::frame> first = sinks[0]->take();
        REQUIRE(first.size() == 1);
        std::size_t same = 1;
        for (std::size_t i = 1; i < n; ++i) {
            const std::vector<sse::frame> got = sinks[i]->take();
            if (got.size() == 1 && got[0].same_bytes(first[0])) ++same;
        }
        CHECK(same == n);
        CHECK(joe.stats().delivered == n);
        return first[0];
    };
    SECTION("without a replayer") {
        sse::joe joe;
        CHECK(run(joe, text("once")).bytes() == "data: once\n\n");
    }
    SECTION("with an auto-id replayer") {
        sse::joe joe{sse::finite_replayer(10, {.auto_ids = true, .first_id = 0})};
        CHECK(run(joe, text("once")).bytes() == "id: 0\ndata: once\n\n");
    }
    SECTION("with a replayer that refuses the message") {
        sse::joe joe{sse::finite_replayer(10)};
        CHECK(run(joe, text("once"), sse::error::no_id).bytes() == "data: once\n\n");
    }
}

// ---------------------------------------------------------------------------- never block

TEST_CASE("joe: a subscriber that never reads overflows alone and is dropped; the others get everything", "[joe]") {
    constexpr std::size_t readers = 100;
    constexpr int messages = 2000;
    constexpr std::size_t stuck_budget = 100;
    sse::joe joe;

    auto stuck_queue = std::make_shared<sse::queue_sink>(stuck_budget);
    auto stuck = std::make_shared<counting_sink>(stuck_queue);
    auto hs = joe.subscribe({.client = stuck});

    std::vector<std::shared_ptr<sse::queue_sink>> sinks;
    std::vector<sse::joe::subscription_handle> handles;
    for (std::size_t i = 0; i < readers; ++i) {
        // Room for at most ~60 frames: draining every 50 publishes keeps them in budget.
        sinks.push_back(std::make_shared<sse::queue_sink>(60 * 16));
        handles.push_back(joe.subscribe({.client = sinks.back()}));
    }
    std::vector<sse::parser> parsers(readers);
    std::vector<int> next(readers, 0);
    std::size_t out_of_order = 0;
    const auto drain = [&] {
        for (std::size_t i = 0; i < readers; ++i)
            for (const sse::frame& f : sinks[i]->take())
                parsers[i].feed(f.bytes(), [&](const sse::event_view& ev) {
                    if (ev.data != std::to_string(next[i])) ++out_of_order;
                    ++next[i];
                });
    };

    std::uint64_t sends_at_overflow = 0;
    int overflowed_at = -1;
    for (int n = 0; n < messages; ++n) {
        joe.publish(text(std::to_string(n)));
        if (overflowed_at < 0 && stuck_queue->overflowed()) {
            overflowed_at = n;
            sends_at_overflow = stuck->sends.load();
        }
        if (overflowed_at >= 0) CHECK(stuck_queue->queued_bytes() <= stuck_budget);
        if (n % 50 == 49) drain();
    }
    drain();

    INFO("the stuck subscriber overflowed at publish " << overflowed_at);
    REQUIRE(overflowed_at >= 0);
    CHECK(overflowed_at < 50); // a 100-byte budget holds only a few frames
    // After its overflow the stuck sink is never called again: its backlog
    // costs later publishes nothing.
    CHECK(stuck->sends.load() == sends_at_overflow);
    CHECK(sends_at_overflow == static_cast<std::uint64_t>(overflowed_at) + 1);
    CHECK(stuck_queue->queued_bytes() <= stuck_budget);
    CHECK(stuck->closes.load() == 0);

    CHECK(out_of_order == 0);
    for (std::size_t i = 0; i < readers; ++i) {
        INFO("reader " << i);
        CHECK(next[i] == messages);
        CHECK(!sinks[i]->overflowed());
    }
    const sse::provider_stats s = joe.stats();
    CHECK(s.overflows == 1);
    CHECK(s.subscribers == readers);
    CHECK(s.published == static_cast<std::uint64_t>(messages));
    CHECK(s.delivered == readers * messages + static_cast<std::uint64_t>(overflowed_at));
}

// ------------------------------------------------------- cost proportional to the matches

TEST_CASE("joe: publishing to a topic only touches that topic's subscribers", "[joe]") {
    constexpr std::size_t many = 10000;
    sse::joe joe;
    std::atomic<std::uint64_t> sends{0};
    std::vector<sse::joe::subscription_handle> handles;
    handles.reserve(many + 1);
    for (std::size_t i = 0; i < many; ++i)
        handles.push_back(joe.subscribe({.client = std::make_shared<counting_sink>(nullptr, &sends), .topics = {"a"}}));
    auto lonely = std::make_shared<counting_sink>(nullptr, &sends);
    handles.push_back(joe.subscribe({.client = lonely, .topics = {"b"}}));

    joe.publish(text("to b"), {"b"});
    CHECK(sends.load() == 1);
    CHECK(lonely->sends.load() == 1);
    joe.publish(text("to nobody"), {"c"});
    CHECK(sends.load() == 1);
    joe.publish(text("to a"), {"a"});
    CHECK(sends.load() == 1 + many);
    joe.publish(text("to all"), {"a", "b", "c"});
    CHECK(sends.load() == 2 + 2 * many);
    CHECK(joe.stats().delivered == 2 + 2 * many);
}

TEST_CASE("joe: deliver sends bytes already serialized to the topics' subscribers once, without history") {
    auto history = sse::finite_replayer(10, {.auto_ids = true, .first_id = 0});
    sse::joe joe(std::move(history));
    auto on_a = std::make_shared<joe_recorder>(), on_ab = std::make_shared<joe_recorder>(), on_c = std::make_shared<joe_recorder>();
    auto h1 = joe.subscribe({on_a, {}, {"a"}});
    auto h2 = joe.subscribe({on_ab, {}, {"a", "b"}});
    auto h3 = joe.subscribe({on_c, {}, {"c"}});
    const std::uint64_t serialized = serializations();
    const sse::frame f = sse::frame::from_bytes("id: 7-0\ndata: relayed\n\n");
    std::error_code ec;
    joe.deliver(f, {"a", "b"}, ec);
    REQUIRE_FALSE(ec);
    joe.publish(text("published"), {"a"});
    CHECK(on_a->bytes() == strings{"id: 7-0\ndata: relayed\n\n", "id: 0\ndata: published\n\n"});
    CHECK(on_ab->bytes() == on_a->bytes()); // once, though on two of its topics
    CHECK(on_a->frames[0].same_bytes(f));   // the very bytes, not a copy
    CHECK(on_c->frames.empty());
    CHECK(serializations() == serialized + 1); // only the publish serialized
    // The history has only what was published.
    auto late = std::make_shared<joe_recorder>();
    auto h4 = joe.subscribe({late, sse::event_id("0"), {"a"}});
    joe.deliver(f, {"a"}, ec);
    CHECK(late->bytes() == strings{"id: 7-0\ndata: relayed\n\n"});
    CHECK(joe.stats().published == 1);

    joe.deliver(f, sse::topic_list(), ec);
    CHECK(ec == sse::error::no_topic);
    joe.shutdown();
    joe.deliver(f, {"a"}, ec);
    CHECK(ec == sse::error::provider_closed);
}

TEST_CASE("joe: close_subscribers ends every subscription with its reason; joe stays open") {
    sse::joe joe;
    auto one = std::make_shared<joe_recorder>(), two = std::make_shared<joe_recorder>();
    auto h1 = joe.subscribe({one, {}, {"a"}});
    auto h2 = joe.subscribe({two, {}, {"b", "a"}});
    joe.close_subscribers(sse::error::provider_unavailable);
    CHECK(one->closes == 1);
    CHECK(two->closes == 1);
    CHECK(one->close_reason == sse::error::provider_unavailable);
    CHECK(joe.stats().subscribers == 0);
    joe.publish(text("after"), {"a"});
    CHECK(one->sends == 0);
    h1.cancel(); // a handle of an ended subscription cancels nothing, harmlessly
    auto three = std::make_shared<joe_recorder>();
    auto h3 = joe.subscribe({three, {}, {"a"}});
    joe.publish(text("new"), {"a"});
    CHECK(three->bytes() == strings{"data: new\n\n"});
}

namespace {
// Records how frames arrive: one call per batch.
class batch_recorder final : public sse::sink {
public:
    explicit batch_recorder(std::size_t capacity = std::numeric_limits<std::size_t>::max()) : capacity_(capacity) {}
    sse::delivery send(const sse::frame& f) noexcept override { return send_batch(std::span<const sse::frame>(&f, 1)); }
    sse::delivery send_batch(std::span<const sse::frame> fs) noexcept override {
        batches.push_back(fs.size());
        for (const sse::frame& f : fs) {
            if (frames.size() >= capacity_) return sse::delivery::overflowed;
            frames.emplace_back(f.bytes());
        }
        return sse::delivery::accepted;
    }
    void close(std::error_code) noexcept override { ++closes; }
    strings frames;
    std::vector<std::size_t> batches;
    int closes = 0;

private:
    std::size_t capacity_;
};
} // namespace

TEST_CASE("joe: publish_batch hands each subscriber the batch at once, in order, ids and history as publish's") {
    sse::joe joe(sse::finite_replayer(10, {.auto_ids = true, .first_id = 0}));
    auto batched = std::make_shared<batch_recorder>();
    auto plain = std::make_shared<joe_recorder>(); // only send(): the default send_batch loops over it
    auto both = std::make_shared<batch_recorder>();
    auto elsewhere = std::make_shared<batch_recorder>();
    auto small = std::make_shared<batch_recorder>(2); // overflows within the batch
    auto h1 = joe.subscribe({batched, {}, {"a"}});
    auto h2 = joe.subscribe({plain, {}, {"a"}});
    auto h3 = joe.subscribe({both, {}, {"a", "b"}});
    auto h4 = joe.subscribe({elsewhere, {}, {"c"}});
    auto h5 = joe.subscribe({small, {}, {"b"}});
    const std::vector<sse::message> ms{text("one"), text("two"), text("three")};
    const std::uint64_t serialized = serializations();
    std::error_code ec;
    joe.publish_batch(ms, {"a", "b"}, ec);
    REQUIRE_FALSE(ec);
    const strings want{"id: 0\ndata: one\n\n", "id: 1\ndata: two\n\n", "id: 2\ndata: three\n\n"};
    CHECK(batched->frames == want);
    CHECK(batched->batches == std::vector<std::size_t>{3});
    CHECK(plain->bytes() == want);
    CHECK(plain->sends == 3);
    CHECK(both->frames == want); // once, though on two of its topics
    CHECK(both->batches == std::vector<std::size_t>{3});
    CHECK(elsewhere->frames.empty());
    CHECK(small->frames == strings(want.begin(), want.begin() + 2));
    CHECK(serializations() == serialized + 3); // once per message, not per subscriber
    const sse::provider_stats st = joe.stats();
    CHECK(st.published == 3);
    CHECK(st.delivered == 9); // batched, plain, both; not the overflowed one
    CHECK(st.overflows == 1);
    CHECK(st.subscribers == 4);
    // The history holds the batch as three publishes.
    auto late = std::make_shared<joe_recorder>();
    auto h6 = joe.subscribe({late, sse::event_id("0"), {"a"}});
    CHECK(late->bytes() == strings(want.begin() + 1, want.end()));
    // A single publish after the batch continues the ids.
    joe.publish(text("four"), {"a"});
    CHECK(batched->frames.back() == "id: 3\ndata: four\n\n");

    joe.publish_batch(std::span<const sse::message>(), {"a"}, ec); // nothing to publish: no error
    CHECK_FALSE(ec);
    CHECK(joe.stats().published == 4);
    joe.publish_batch(ms, sse::topic_list(), ec);
    CHECK(ec == sse::error::no_topic);
    joe.shutdown();
    CHECK(thrown_code([&] { joe.publish_batch(ms); }) == sse::error::provider_closed);
}
