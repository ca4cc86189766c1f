// finite_replayer and valid_replayer: put's errors and ids, replay order and
// topic filtering, the count, byte and TTL bounds, gaps and gap events, and
// every row of go-sse's replayer vectors (inventory A.6) with its bugs fixed
// (inventory 5R.3).
#include "sse_test.hpp"

#include <sse/error.hpp>
#include <sse/frame.hpp>
#include <sse/message.hpp>
#include <sse/provider.hpp>
#include <sse/queue_sink.hpp>
#include <sse/replayer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>


// How many messages were serialized into frames so far (SSE_TEST_HOOKS, set
// for every test executable, keeps this count; a release build has none).
static std::uint64_t serializations() { return sse::detail::frame_serializations.load(); }

namespace {

using namespace std::chrono_literals;
using strings = std::vector<std::string>;
using clock_type = sse::valid_replayer::clock;

// A sink that keeps every frame it accepts. It overflows once it holds
// `capacity` frames, or answers `closed` when told to.
class replay_recorder final : public sse::sink {
public:
    explicit replay_recorder(std::size_t capacity = std::numeric_limits<std::size_t>::max()) : capacity_(capacity) {}

    sse::delivery send(const sse::frame& f) noexcept override {
        ++sends;
        if (refuse) return sse::delivery::closed;
        if (frames.size() >= capacity_) return sse::delivery::overflowed;
        frames.push_back(f);
        return sse::delivery::accepted;
    }
    void close(std::error_code) noexcept override { ++closes; }

    std::vector<sse::frame> frames;
    std::size_t sends = 0;
    std::size_t closes = 0;
    bool refuse = false;

private:
    std::size_t capacity_;
};

// What a client makes of a frame: its id, or "<type>:<data>" for an event
// without id (a gap event reads "gap:<requested id>").
std::string describe(const sse::frame& f) {
    const sse::message m = sse::message::parse(f.bytes());
    if (m.id.is_set()) return m.id.str();
    return m.type.str() + ":" + m.data();
}

strings describe(const std::vector<sse::frame>& frames) {
    strings out;
    for (const sse::frame& f : frames) out.push_back(describe(f));
    return out;
}

struct outcome {
    strings seen;              // describe() of every frame the sink got, in order
    sse::replay_result result; // what replay returned
    std::error_code ec;
    std::vector<sse::frame> frames;
};

// Replays to a fresh subscriber whose Last-Event-ID is `last` (nullopt: unset).
template <class R>
outcome replay_after(R& r, std::optional<std::string_view> last, strings topics = {""}) {
    auto sink = std::make_shared<replay_recorder>();
    sse::subscription sub{.client = sink, .topics = std::move(topics)};
    if (last) sub.last_event_id = sse::event_id(*last);
    outcome o;
    o.ec = make_error_code(sse::error::bad_request); // replay must clear it
    o.result = r.replay(sub, o.ec);
    o.frames = sink->frames;
    o.seen = describe(sink->frames);
    return o;
}

sse::message make_message(std::string_view data, std::optional<std::string_view> id = std::nullopt) {
    sse::message m;
    if (id) m.id = sse::event_id(*id);
    m.append_data(data);
    return m;
}

// Puts a message that must be accepted; returns its frame.
template <class R>
sse::frame put_ok(R& r, std::optional<std::string_view> id, strings topics = {""}, std::string_view data = "x") {
    std::vector<std::string_view> views(topics.begin(), topics.end());
    std::error_code ec = make_error_code(sse::error::bad_request); // put must clear it
    sse::frame f = r.put(make_message(data, id), sse::topic_list(views), ec);
    INFO("put id " << (id ? std::string(*id) : std::string("(unset)")));
    REQUIRE(ec == std::error_code());
    REQUIRE(!f.empty());
    return f;
}

// Puts a message that must be rejected with `expected`.
template <class R>
void put_fails(R& r, const sse::message& m, strings topics, sse::error expected) {
    std::vector<std::string_view> views(topics.begin(), topics.end());
    std::error_code ec;
    const std::size_t size_before = r.size();
    const sse::frame f = r.put(m, sse::topic_list(views), ec);
    CHECK(ec == expected);
    CHECK(f.empty());
    CHECK(r.size() == size_before);
}

// The error code a replayer constructor throws.
template <class F>
std::error_code thrown_code(F&& make) {
    try {
        make();
    } catch (const std::system_error& e) {
        return e.code();
    }
    return {};
}

// A clock the test moves by hand.
struct manual_clock {
    clock_type::time_point now{std::chrono::hours(1000)};
    std::function<clock_type::time_point()> fn() {
        return [this] { return now; };
    }
};

const std::optional<std::string_view> unset = std::nullopt;

} // namespace

// ------------------------------------------------------------------------------ construction

TEST_CASE("finite_replayer: a count of 0 is invalid_argument; 1 is enough", "[replayer]") {
    REQUIRE_THROWS_AS(sse::finite_replayer(0), std::system_error);
    CHECK(thrown_code([] { sse::finite_replayer r(0); }) == sse::error::invalid_argument);
    CHECK(thrown_code([] { sse::finite_replayer r(0, {.auto_ids = true, .first_id = 0}); }) == sse::error::invalid_argument);

    // go-sse wants at least 2 slots; one is a valid history here.
    sse::finite_replayer r(1, {.auto_ids = true, .first_id = 0});
    put_ok(r, unset);
    put_ok(r, unset);
    CHECK(r.size() == 1);
    CHECK(replay_after(r, "0").seen == strings{"1"});
    CHECK(!replay_after(r, "0").result.gap);
    CHECK(replay_after(r, "1").seen == strings{});
    CHECK(!replay_after(r, "1").result.gap);
}

TEST_CASE("valid_replayer: a ttl <= 0 is invalid_argument", "[replayer]") {
    REQUIRE_THROWS_AS(sse::valid_replayer(0s), std::system_error);
    CHECK(thrown_code([] { sse::valid_replayer r(0s); }) == sse::error::invalid_argument);
    CHECK(thrown_code([] { sse::valid_replayer r(-1s); }) == sse::error::invalid_argument);
    CHECK(thrown_code([] { sse::valid_replayer r(clock_type::duration::min()); }) == sse::error::invalid_argument);
    CHECK(thrown_code([] { sse::valid_replayer r(1ns); }) == std::error_code());
}

// ------------------------------------------------------------------------------------- put

namespace {

template <class R>
void check_put_errors_manual(R& r) {
    SECTION("no topics: no_topic, checked before the id") {
        put_fails(r, make_message("x"), {}, sse::error::no_topic);            // no id either
        put_fails(r, make_message("x", "1"), {}, sse::error::no_topic);       // a good id
    }
    SECTION("a message without id: no_id") {
        put_fails(r, make_message("x"), {""}, sse::error::no_id);
        put_fails(r, make_message("x"), {"a", "b"}, sse::error::no_id);
    }
    SECTION("a set-but-empty id is accepted and stored as is") {
        const sse::frame f = put_ok(r, "", {""}, "empty id");
        CHECK(f.bytes() == "id: \ndata: empty id\n\n");
        CHECK(r.size() == 1);
        // It is an anchor for a set-but-empty Last-Event-ID (go-sse too).
        put_ok(r, "next");
        const outcome o = replay_after(r, "");
        CHECK(o.seen == strings{"next"});
        CHECK(!o.result.gap);
    }
    SECTION("the frame is the message as given") {
        const sse::message m = make_message("hello", "42");
        std::error_code ec;
        const std::string_view topic = "";
        const sse::frame f = r.put(m, sse::topic_list(&topic, 1), ec);
        REQUIRE(!ec);
        CHECK(f.bytes() == m.to_string());
        CHECK(f.bytes() == "id: 42\ndata: hello\n\n");
        CHECK(r.bytes() == f.size());
    }
}

template <class R>
void check_put_errors_auto(R& r) {
    SECTION("no topics: no_topic, checked before the id") {
        put_fails(r, make_message("x", "5"), {}, sse::error::no_topic); // an id too
        put_fails(r, make_message("x"), {}, sse::error::no_topic);
    }
    SECTION("a message with an id: id_already_set (a set-but-empty one too)") {
        put_fails(r, make_message("x", "5"), {""}, sse::error::id_already_set);
        put_fails(r, make_message("x", ""), {""}, sse::error::id_already_set);
    }
    SECTION("ids count from 0; failed puts consume none; the caller's message is untouched") {
        const sse::message m = make_message("hello");
        const sse::message copy = m;
        std::error_code ec;
        const std::string_view topic = "";
        const sse::topic_list topics(&topic, 1);

        sse::frame f = r.put(m, topics, ec);
        REQUIRE(!ec);
        CHECK(f.bytes() == "id: 0\ndata: hello\n\n");
        CHECK(m == copy);
        CHECK(!m.id.is_set());

        put_fails(r, make_message("x", "7"), {""}, sse::error::id_already_set);
        put_fails(r, make_message("x"), {}, sse::error::no_topic);

        f = r.put(m, topics, ec);
        REQUIRE(!ec);
        CHECK(f.bytes() == "id: 1\ndata: hello\n\n");
        CHECK(m == copy);

        sse::message typed = make_message("two\nlines");
        typed.type = sse::event_type("t");
        typed.retry = 1500ms;
        typed.append_comment("c");
        f = r.put(typed, topics, ec);
        REQUIRE(!ec);
        CHECK(f.bytes() == "id: 2\nevent: t\nretry: 1500\ndata: two\ndata: lines\n: c\n\n");
        CHECK(!typed.id.is_set());
        CHECK(r.size() == 3);
        CHECK(replay_after(r, "0").seen == strings{"1", "2"});
        CHECK(describe(replay_after(r, "1").frames) == strings{"2"});
    }
}

} // namespace

TEST_CASE("finite_replayer: put errors and ids, as go-sse", "[replayer]") {
    SECTION("manual ids") {
        sse::finite_replayer r(10);
        check_put_errors_manual(r);
    }
    SECTION("automatic ids") {
        sse::finite_replayer r(10, {.auto_ids = true, .first_id = 0});
        check_put_errors_auto(r);
    }
}

TEST_CASE("valid_replayer: put errors and ids, as go-sse", "[replayer]") {
    manual_clock clock;
    SECTION("manual ids") {
        sse::valid_replayer r(10s, {}, clock.fn());
        check_put_errors_manual(r);
    }
    SECTION("automatic ids") {
        sse::valid_replayer r(10s, {.auto_ids = true, .first_id = 0}, clock.fn());
        check_put_errors_auto(r);
    }
}

// ---------------------------------------------------------------------------------- replay

TEST_CASE("replay sends what came after the last id, in order, filtered by topic", "[replayer]") {
    sse::finite_replayer r(10);
    put_ok(r, "1", {"a"});
    put_ok(r, "2", {"b"});
    put_ok(r, "3", {"a", "b"});
    put_ok(r, "4", {""});
    put_ok(r, "5", {"c", "a"});

    SECTION("one topic") {
        CHECK(replay_after(r, "1", {"a"}).seen == strings{"3", "5"});
        CHECK(replay_after(r, "1", {"b"}).seen == strings{"2", "3"});
        CHECK(replay_after(r, "1", {""}).seen == strings{"4"});
        CHECK(replay_after(r, "3", {"b"}).seen == strings{});
    }
    SECTION("several topics: a message on several of them is replayed once") {
        const outcome o = replay_after(r, "1", {"a", "b"});
        CHECK(o.seen == strings{"2", "3", "5"});
        CHECK(o.result.replayed == 3);
        CHECK(!o.result.gap);
        CHECK(replay_after(r, "1", {"b", "a", "c", ""}).seen == strings{"2", "3", "4", "5"});
        CHECK(replay_after(r, "1", {"a", "a"}).seen == strings{"3", "5"});
    }
    SECTION("no message on the topics: nothing, and no gap") {
        const outcome o = replay_after(r, "1", {"nothing here"});
        CHECK(o.seen == strings{});
        CHECK(o.result.replayed == 0);
        CHECK(!o.result.gap);
        CHECK(!o.ec);
    }
    SECTION("the replayed frames are the stored ones (not serialized again)") {
        const auto before = serializations();
        const outcome o = replay_after(r, "2", {"a", "b", "c", ""});
        CHECK(o.seen == strings{"3", "4", "5"});
        CHECK(serializations() == before);
        const outcome again = replay_after(r, "2", {"a", "b", "c", ""});
        REQUIRE(again.frames.size() == 3);
        for (std::size_t i = 0; i < 3; ++i) CHECK(again.frames[i].same_bytes(o.frames[i]));
    }
    SECTION("a subscription without client gets nothing") {
        sse::subscription sub{.client = nullptr, .last_event_id = sse::event_id("1")};
        std::error_code ec;
        const sse::replay_result res = r.replay(sub, ec);
        CHECK(!ec);
        CHECK(res.replayed == 0);
        CHECK(!res.gap);
    }
}

TEST_CASE("finite_replayer: the count bound evicts the oldest", "[replayer]") {
    sse::finite_replayer r(3, {.auto_ids = true, .first_id = 0});
    for (int i = 0; i < 5; ++i) put_ok(r, unset); // ids 0..4, keeps 2,3,4
    CHECK(r.size() == 3);
    CHECK(replay_after(r, "1").seen == strings{"2", "3", "4"});
    CHECK(!replay_after(r, "1").result.gap);
    CHECK(replay_after(r, "0").seen == strings{"2", "3", "4"});
    CHECK(replay_after(r, "0").result.gap); // id 1 is gone
}

TEST_CASE("replayers: the byte bound (max_bytes) evicts the oldest", "[replayer]") {
    // Every frame below is "id: N\ndata: x\n\n": 15 bytes.
    constexpr std::size_t frame_size = 15;
    const auto check = [&](auto& r) {
        for (int i = 0; i < 3; ++i) CHECK(put_ok(r, unset, {""}, "x").size() == frame_size);
        CHECK(r.size() == 3);
        CHECK(r.bytes() == 3 * frame_size);

        put_ok(r, unset, {""}, "x"); // id 3: 4 * 15 > 50, so 0 goes
        CHECK(r.size() == 3);
        CHECK(r.bytes() == 3 * frame_size);
        CHECK(replay_after(r, "0").seen == strings{"1", "2", "3"});
        CHECK(!replay_after(r, "0").result.gap);
        CHECK(replay_after(r, "0").result.replayed == 3);

        put_ok(r, unset, {""}, "a longer message"); // id 4, 30 bytes: 1 and 2 go
        CHECK(r.size() == 2);
        CHECK(r.bytes() == 45);
        CHECK(replay_after(r, "2").seen == strings{"3", "4"});
        const outcome o = replay_after(r, "1");
        CHECK(o.seen == strings{"3", "4"});
        CHECK(o.result.gap); // 2 was evicted

        // A message larger than the whole budget cannot be kept: whoever
        // needs it is told about the gap.
        put_ok(r, unset, {""}, std::string(100, 'z')); // id 5
        CHECK(r.bytes() <= 50);
        const outcome after4 = replay_after(r, "4");
        CHECK(after4.result.gap);
        CHECK(after4.seen == strings{});
        put_ok(r, unset, {""}, "x"); // id 6 is kept again
        CHECK(replay_after(r, "5").seen == strings{"6"});
        CHECK(!replay_after(r, "5").result.gap);
    };
    SECTION("finite_replayer") {
        sse::finite_replayer r(100, {.auto_ids = true, .first_id = 0, .max_bytes = 50});
        check(r);
    }
    SECTION("valid_replayer") {
        manual_clock clock;
        sse::valid_replayer r(1h, {.auto_ids = true, .first_id = 0, .max_bytes = 50}, clock.fn());
        check(r);
    }
    SECTION("manual ids: an evicted anchor is a gap, nothing is replayed") {
        sse::finite_replayer r(100, {.max_bytes = 2 * 15});
        put_ok(r, "a", {""}, "xxxx"); // "id: a\ndata: xxxx\n\n": 18 bytes
        put_ok(r, "b", {""}, "x");    // 15: 33 > 30, a goes
        put_ok(r, "c", {""}, "x");
        CHECK(r.size() == 2);
        CHECK(r.bytes() == 30);
        const outcome o = replay_after(r, "a");
        CHECK(o.result.gap);
        CHECK(o.seen == strings{});
        CHECK(replay_after(r, "b").seen == strings{"c"});
    }
}

// ------------------------------------------------------------------------------------- TTL

TEST_CASE("valid_replayer: expired messages are never replayed", "[replayer]") {
    manual_clock clock;
    const clock_type::time_point t0 = clock.now;
    sse::valid_replayer r(10s, {.auto_ids = true, .first_id = 0}, clock.fn());
    r.set_gc_interval(clock_type::duration::zero()); // only remove_expired() collects
    put_ok(r, unset);                                 // 0, expires at t0+10s
    clock.now = t0 + 4s;
    put_ok(r, unset); // 1, t0+14s
    clock.now = t0 + 8s;
    put_ok(r, unset); // 2, t0+18s

    clock.now = t0 + 9s;
    CHECK(replay_after(r, "0").seen == strings{"1", "2"});

    SECTION("expiry is inclusive: at exactly t0+10s, 0 is gone") {
        clock.now = t0 + 10s;
        CHECK(replay_after(r, "0").seen == strings{"1", "2"}); // 0 is the anchor: still fine
        CHECK(!replay_after(r, "0").result.gap);
    }
    SECTION("an expired message is never sent, and a subscriber that needed it has a gap") {
        clock.now = t0 + 15s; // 0 and 1 expired, not collected
        CHECK(r.size() == 3);
        outcome o = replay_after(r, "0");
        CHECK(o.seen == strings{"2"});
        CHECK(o.result.gap); // 1 expired unseen
        CHECK(o.result.replayed == 1);
        o = replay_after(r, "1");
        CHECK(o.seen == strings{"2"});
        CHECK(!o.result.gap); // it had seen everything that expired
        clock.now = t0 + 18s;
        o = replay_after(r, "1");
        CHECK(o.seen == strings{});
        CHECK(o.result.gap);
        o = replay_after(r, "2");
        CHECK(o.seen == strings{});
        CHECK(!o.result.gap);
    }
    SECTION("remove_expired() drops them; the answers stay the same") {
        clock.now = t0 + 15s;
        r.remove_expired();
        CHECK(r.size() == 1);
        outcome o = replay_after(r, "0");
        CHECK(o.seen == strings{"2"});
        CHECK(o.result.gap);
        o = replay_after(r, "1");
        CHECK(o.seen == strings{"2"});
        CHECK(!o.result.gap);
        clock.now = t0 + 100s;
        r.remove_expired();
        CHECK(r.size() == 0);
        CHECK(r.bytes() == 0);
        o = replay_after(r, "1");
        CHECK(o.result.gap);
        CHECK(o.seen == strings{});
        o = replay_after(r, "2"); // saw the newest: nothing missed
        CHECK(!o.result.gap);
        CHECK(o.seen == strings{});
    }
}

TEST_CASE("valid_replayer: put collects expired messages every gc interval", "[replayer]") {
    manual_clock clock;
    const clock_type::time_point t0 = clock.now;
    sse::valid_replayer r(8s, {.auto_ids = true, .first_id = 0}, clock.fn()); // gc interval: 2s by default
    put_ok(r, unset);                                          // 0, expires at t0+8s
    clock.now = t0 + 1s;
    put_ok(r, unset); // 1, t0+9s
    clock.now = t0 + 8s + 500ms;
    put_ok(r, unset); // 2: gc runs (8.5s since the last), 0 goes
    CHECK(r.size() == 2);
    clock.now = t0 + 9s;
    put_ok(r, unset); // 3: 0.5s since the last gc, 1 stays though expired
    CHECK(r.size() == 3);
    CHECK(replay_after(r, "0").seen == strings{"2", "3"}); // but it is not replayed
    clock.now = t0 + 10s + 500ms;
    put_ok(r, unset); // 4: gc, 1 goes
    CHECK(r.size() == 3);

    SECTION("set_gc_interval(0): only remove_expired() collects") {
        r.set_gc_interval(clock_type::duration::zero());
        clock.now = t0 + 60s;
        put_ok(r, unset); // 5
        CHECK(r.size() == 4);
        r.remove_expired();
        CHECK(r.size() == 1);
        CHECK(replay_after(r, "4").seen == strings{"5"});
    }
    SECTION("a shorter interval") {
        r.set_gc_interval(100ms);
        clock.now = t0 + 16s + 600ms; // 2 (expires at 16.5s) is out, 3 (17s) is not
        put_ok(r, unset);              // 5
        CHECK(r.size() == 3);
        CHECK(replay_after(r, "2").seen == strings{"3", "4", "5"});
    }
    SECTION("even a rejected put collects, as in go-sse") {
        clock.now = t0 + 60s;
        std::error_code ec;
        const std::string_view topic = "";
        CHECK(r.put(make_message("x", "has an id"), sse::topic_list(&topic, 1), ec).empty());
        CHECK(ec == sse::error::id_already_set);
        CHECK(r.size() == 0);
        CHECK(r.bytes() == 0);
    }
}

TEST_CASE("valid_replayer: a clock that goes back is harmless (go-sse's last check)", "[replayer]") {
    manual_clock clock;
    const clock_type::time_point t0 = clock.now;
    sse::valid_replayer r(10s, {}, clock.fn());
    put_ok(r, "a");
    put_ok(r, "b");
    clock.now = t0 - 1h;
    put_ok(r, "c");
    const outcome o = replay_after(r, "a");
    CHECK(!o.ec);
    CHECK(o.seen == strings{"b", "c"});
}

// ------------------------------------------------------------------- go-sse's A.6, row by row

TEST_CASE("A.6: auto ids, 3 slots holding 0,1", "[replayer][go-sse]") {
    sse::finite_replayer r(3, {.auto_ids = true, .first_id = 0});
    put_ok(r, unset);
    put_ok(r, unset);

    outcome o = replay_after(r, "0");
    CHECK(o.seen == strings{"1"});
    CHECK(!o.result.gap);
    CHECK(o.result.replayed == 1);
    CHECK(!o.ec);

    // go-sse: [0 1] (BUG, 5R.3): the newest id means nothing was missed.
    o = replay_after(r, "1");
    CHECK(o.seen == strings{});
    CHECK(!o.result.gap);
    CHECK(o.result.replayed == 0);

    // go-sse: [] silently. Ids this replayer never gave out are gaps.
    for (const char* id : {"2", "5", "x", ""}) {
        INFO("after \"" << id << "\"");
        o = replay_after(r, id);
        CHECK(o.seen == strings{});
        CHECK(o.result.gap);
        CHECK(o.result.replayed == 0);
        CHECK(!o.ec);
    }
    // Unset: a new subscriber, nothing to replay and nothing missed.
    o = replay_after(r, unset);
    CHECK(o.seen == strings{});
    CHECK(!o.result.gap);
}

TEST_CASE("A.6: auto ids, 3 slots full with 2,3,4", "[replayer][go-sse]") {
    sse::finite_replayer r(3, {.auto_ids = true, .first_id = 0});
    for (int i = 0; i < 5; ++i) put_ok(r, unset);

    // go-sse: [2 3 4] for both. "0" missed 1, which is gone: a gap.
    outcome o = replay_after(r, "0");
    CHECK(o.seen == strings{"2", "3", "4"});
    CHECK(o.result.gap);
    CHECK(o.result.replayed == 3);
    o = replay_after(r, "1");
    CHECK(o.seen == strings{"2", "3", "4"});
    CHECK(!o.result.gap);

    CHECK(replay_after(r, "2").seen == strings{"3", "4"});
    CHECK(replay_after(r, "3").seen == strings{"4"});
    CHECK(!replay_after(r, "3").result.gap);

    // go-sse: [2 3 4] (BUG).
    o = replay_after(r, "4");
    CHECK(o.seen == strings{});
    CHECK(!o.result.gap);

    o = replay_after(r, "5");
    CHECK(o.seen == strings{});
    CHECK(o.result.gap);
}

TEST_CASE("A.6: manual ids, 3 slots holding a,b", "[replayer][go-sse]") {
    sse::finite_replayer r(3);
    put_ok(r, "a");
    put_ok(r, "b");
    CHECK(replay_after(r, "a").seen == strings{"b"});
    CHECK(!replay_after(r, "a").result.gap);
    CHECK(replay_after(r, "b").seen == strings{});
    CHECK(!replay_after(r, "b").result.gap);
    const outcome o = replay_after(r, "z"); // go-sse: [] silently
    CHECK(o.seen == strings{});
    CHECK(o.result.gap);
    CHECK(!replay_after(r, unset).result.gap);
}

TEST_CASE("A.6: manual ids, 3 slots full with a,b,c", "[replayer][go-sse]") {
    sse::finite_replayer r(3);
    put_ok(r, "a");
    put_ok(r, "b");
    put_ok(r, "c");
    CHECK(replay_after(r, "a").seen == strings{"b", "c"});
    CHECK(replay_after(r, "b").seen == strings{"c"});
    // go-sse: [a b c] (BUG: the anchor in the last physical slot of a full ring).
    const outcome o = replay_after(r, "c");
    CHECK(o.seen == strings{});
    CHECK(!o.result.gap);
    CHECK(o.result.replayed == 0);
}

TEST_CASE("A.6: manual ids, 3 slots full with b,c,d", "[replayer][go-sse]") {
    sse::finite_replayer r(3);
    for (const char* id : {"a", "b", "c", "d"}) put_ok(r, id);
    const outcome o = replay_after(r, "a"); // go-sse: [] silently
    CHECK(o.seen == strings{});
    CHECK(o.result.gap);
    CHECK(replay_after(r, "b").seen == strings{"c", "d"});
    CHECK(replay_after(r, "c").seen == strings{"d"});
    CHECK(replay_after(r, "d").seen == strings{});
    CHECK(!replay_after(r, "d").result.gap);
}

TEST_CASE("A.6: topics 1{a}, 2{b}, 3{a,b}", "[replayer][go-sse]") {
    sse::finite_replayer r(3);
    put_ok(r, "1", {"a"});
    put_ok(r, "2", {"b"});
    put_ok(r, "3", {"a", "b"});
    outcome o = replay_after(r, "1", {"b"});
    CHECK(o.seen == strings{"2", "3"});
    CHECK(o.result.replayed == 2);
    o = replay_after(r, "1", {"c"});
    CHECK(o.seen == strings{});
    CHECK(!o.result.gap);
    CHECK(!o.ec);
}

TEST_CASE("A.6: duplicate ids x,y,x,z: the oldest match is the anchor", "[replayer][go-sse]") {
    sse::finite_replayer r(4);
    for (const char* id : {"x", "y", "x", "z"}) put_ok(r, id);
    const outcome o = replay_after(r, "x");
    CHECK(o.seen == strings{"y", "x", "z"});
    CHECK(!o.result.gap);
}

TEST_CASE("A.6: valid_replayer, auto ids, ttl 10s, puts at 0, 1, 2s", "[replayer][go-sse]") {
    manual_clock clock;
    const clock_type::time_point t0 = clock.now;
    sse::valid_replayer r(10s, {.auto_ids = true, .first_id = 0}, clock.fn());
    put_ok(r, unset);
    clock.now = t0 + 1s;
    put_ok(r, unset);
    clock.now = t0 + 2s;
    put_ok(r, unset);

    // go-sse: [0 1 2] (BUG).
    outcome o = replay_after(r, "2");
    CHECK(o.seen == strings{});
    CHECK(!o.result.gap);

    // At 11s, 0 and 1 have expired. go-sse: [2] for all three ("2" by its bug).
    clock.now = t0 + 11s;
    const auto at_11s = [&] {
        o = replay_after(r, "0");
        CHECK(o.seen == strings{"2"});
        CHECK(o.result.gap); // 1 expired before it was seen
        o = replay_after(r, "1");
        CHECK(o.seen == strings{"2"});
        CHECK(!o.result.gap);
        o = replay_after(r, "2");
        CHECK(o.seen == strings{});
        CHECK(!o.result.gap);
    };
    at_11s();
    r.remove_expired(); // "after GC the same"
    CHECK(r.size() == 1);
    at_11s();
}

TEST_CASE("A.6: the error rows", "[replayer][go-sse]") {
    CHECK(thrown_code([] { sse::finite_replayer r(0); }) == sse::error::invalid_argument);
    CHECK(thrown_code([] { sse::valid_replayer r(-1s); }) == sse::error::invalid_argument);
    sse::finite_replayer autos(3, {.auto_ids = true, .first_id = 0});
    put_fails(autos, make_message("x", "1"), {""}, sse::error::id_already_set);
    sse::finite_replayer manual(3);
    put_fails(manual, make_message("x"), {""}, sse::error::no_id);
    put_fails(manual, make_message("x", "1"), {}, sse::error::no_topic);
    put_fails(autos, make_message("x"), {}, sse::error::no_topic);
}

// ------------------------------------------------------------------- go-sse's replay_test.go

TEST_CASE("replay_test.go TestValidReplayProvider, adapted", "[replayer][go-sse]") {
    const clock_type::duration ttl = 10s;
    manual_clock clock;
    const clock_type::time_point t0 = clock.now;
    sse::valid_replayer r(ttl, {.auto_ids = true, .first_id = 0}, clock.fn());
    r.set_gc_interval(clock_type::duration::zero());

    CHECK(replay_after(r, unset).seen == strings{});
    CHECK(replay_after(r, "0").seen == strings{});
    CHECK(replay_after(r, "0").result.gap); // no id was given out yet

    put_ok(r, unset, {""}, "hi");    // 0
    put_ok(r, unset, {"t"}, "hi");   // 1
    clock.now = t0 + ttl;
    put_ok(r, unset, {""}, "there"); // 2
    put_ok(r, unset, {"t"}, "there"); // 3
    clock.now = t0 + 4 * ttl;
    put_ok(r, unset, {""}, "world"); // 4
    put_ok(r, unset, {"t"}, "world"); // 5
    clock.now = t0 + 9 * ttl;
    put_ok(r, unset, {"t"}, "again"); // 6

    clock.now = t0 + ttl;
    r.remove_expired(); // 0 and 1
    CHECK(r.size() == 5);
    outcome o = replay_after(r, "3", {"", "topic with no messages"});
    REQUIRE(!o.frames.empty());
    CHECK(o.frames[0].bytes() == "id: 4\ndata: world\n\n");
    CHECK(o.seen == strings{"4"});
    CHECK(!o.result.gap);

    r.set_gc_interval(ttl / 5);
    clock.now = t0 + 5 * ttl;
    put_ok(r, unset, {"t"}, "still"); // 7; the gc takes 2 to 5
    CHECK(r.size() == 2);

    // go-sse's helper replays after the id, unset, "mama" and "10": 2 messages in all.
    std::size_t total = 0;
    o = replay_after(r, "3", {"t"});
    REQUIRE(!o.frames.empty());
    CHECK(o.frames[0].bytes() == "id: 6\ndata: again\n\n");
    CHECK(o.seen == strings{"6", "7"});
    CHECK(o.result.gap); // 4 and 5 expired unseen (only 5 is on "t", but both are gone)
    total += o.frames.size();
    for (const std::optional<std::string_view> id : {unset, std::optional<std::string_view>("mama"),
                                                      std::optional<std::string_view>("10")}) {
        total += replay_after(r, id, {"t"}).frames.size();
    }
    CHECK(total == 2);

    // Without auto ids, with the clock rewound, replay works and fails nothing.
    sse::valid_replayer manual(ttl, {}, clock.fn());
    put_ok(manual, "a");
    put_ok(manual, "b");
    clock.now = t0;
    o = replay_after(manual, "a");
    CHECK(!o.ec);
    CHECK(o.seen == strings{"b"});
}

TEST_CASE("replay_test.go TestFiniteReplayProvider, adapted", "[replayer][go-sse]") {
    sse::finite_replayer r(3);
    CHECK(replay_after(r, unset).seen == strings{});
    CHECK(replay_after(r, "1").seen == strings{});
    put_fails(r, make_message("x"), {""}, sse::error::no_id);
    put_fails(r, make_message("x", "1"), {}, sse::error::no_topic);

    put_ok(r, "1", {""}, "one");
    put_ok(r, "2", {""}, "two");
    put_ok(r, "3", {"t"}, "three");
    put_ok(r, "4", {""}, "four");
    outcome o = replay_after(r, "2");
    REQUIRE(!o.frames.empty());
    CHECK(o.frames[0].bytes() == "id: 4\ndata: four\n\n");
    CHECK(o.seen == strings{"4"});

    put_ok(r, "5", {"t"}, "five");
    put_ok(r, "6", {""}, "six");
    o = replay_after(r, "4");
    REQUIRE(!o.frames.empty());
    CHECK(o.frames[0].bytes() == "id: 6\ndata: six\n\n");

    sse::finite_replayer autos(3, {.auto_ids = true, .first_id = 0});
    put_fails(autos, make_message("x", "3"), {""}, sse::error::id_already_set);
}

TEST_CASE("replay_test.go TestFiniteReplayProvider_allocations, the replay half", "[replayer][go-sse]") {
    sse::finite_replayer r(3);
    for (const char* id : {"1", "2", "3", "4", "5", "6"}) put_ok(r, id);
    outcome o = replay_after(r, "3"); // 4th-last: evicted
    CHECK(o.frames.size() == 0);
    CHECK(o.result.gap);
    o = replay_after(r, "4"); // 3rd-last
    CHECK(o.frames.size() == 2);
    CHECK(!o.result.gap);
}

// --------------------------------------------------------------- go-sse's replay bugs (5R.3)

TEST_CASE("5R.3 (a): auto ids, the last id is the newest: nothing is replayed", "[replayer][regression]") {
    SECTION("finite_replayer, not full") {
        sse::finite_replayer r(3, {.auto_ids = true, .first_id = 0});
        put_ok(r, unset);
        put_ok(r, unset);
        CHECK(replay_after(r, "1").result.replayed == 0);
        CHECK(replay_after(r, "1").seen == strings{});
    }
    SECTION("finite_replayer, full, at every rotation of the ring") {
        sse::finite_replayer r(3, {.auto_ids = true, .first_id = 0});
        for (int i = 0; i < 3; ++i) put_ok(r, unset);
        for (int newest = 3; newest < 10; ++newest) {
            put_ok(r, unset);
            const outcome o = replay_after(r, std::to_string(newest));
            INFO("newest " << newest);
            CHECK(o.seen == strings{});
            CHECK(!o.result.gap);
        }
    }
    SECTION("valid_replayer") {
        manual_clock clock;
        sse::valid_replayer r(1h, {.auto_ids = true, .first_id = 0}, clock.fn());
        for (int i = 0; i < 3; ++i) put_ok(r, unset);
        CHECK(replay_after(r, "2").seen == strings{});
        CHECK(!replay_after(r, "2").result.gap);
    }
}

TEST_CASE("5R.3 (b): manual ids, full ring, anchor in the last slot: nothing is replayed", "[replayer][regression]") {
    sse::finite_replayer r(3);
    put_ok(r, "a");
    put_ok(r, "b");
    put_ok(r, "c");
    CHECK(replay_after(r, "c").seen == strings{});
    put_ok(r, "d");
    CHECK(replay_after(r, "d").seen == strings{});
    for (const char* id : {"e", "f", "g"}) {
        put_ok(r, id);
        INFO("newest " << id);
        CHECK(replay_after(r, id).seen == strings{});
        CHECK(!replay_after(r, id).result.gap);
    }
}

TEST_CASE("5R.3 (c): auto ids, an id older than the oldest held: a gap, then all that is held", "[replayer][regression]") {
    sse::finite_replayer r(3, {.auto_ids = true, .first_id = 0});
    for (int i = 0; i < 8; ++i) put_ok(r, unset); // holds 5,6,7
    for (const char* id : {"0", "1", "2", "3"}) {
        INFO("after " << id);
        const outcome o = replay_after(r, id);
        CHECK(o.result.gap);
        CHECK(o.seen == strings{"5", "6", "7"});
        CHECK(o.result.replayed == 3);
        CHECK(!o.ec);
    }
    const outcome o = replay_after(r, "4"); // saw 4: 5 is next, nothing missed
    CHECK(!o.result.gap);
    CHECK(o.seen == strings{"5", "6", "7"});
}

TEST_CASE("5R.3 (d): unknown, non-number and future ids: a gap, nothing replayed; unset: neither", "[replayer][regression]") {
    SECTION("auto ids") {
        sse::finite_replayer r(5, {.auto_ids = true, .first_id = 0});
        for (int i = 0; i < 3; ++i) put_ok(r, unset); // 0,1,2
        for (const char* id : {"3", "4", "99", "18446744073709551615", "18446744073709551616", "x", "1x",
                               "-1", "+1", " 1", "1 ", "0x1", ""}) {
            INFO("after \"" << id << "\"");
            const outcome o = replay_after(r, id);
            CHECK(o.result.gap);
            CHECK(o.seen == strings{});
            CHECK(o.result.replayed == 0);
            CHECK(!o.ec);
        }
        const outcome o = replay_after(r, unset);
        CHECK(!o.result.gap);
        CHECK(o.seen == strings{});
    }
    SECTION("manual ids") {
        sse::finite_replayer r(5);
        for (const char* id : {"a", "b", "c"}) put_ok(r, id);
        for (const char* id : {"z", "A", "a ", "", "d"}) {
            INFO("after \"" << id << "\"");
            const outcome o = replay_after(r, id);
            CHECK(o.result.gap);
            CHECK(o.seen == strings{});
        }
        const outcome o = replay_after(r, unset);
        CHECK(!o.result.gap);
        CHECK(o.seen == strings{});
    }
    SECTION("an empty history") {
        sse::finite_replayer manual(5);
        CHECK(replay_after(manual, "a").result.gap);
        CHECK(!replay_after(manual, unset).result.gap);
        sse::finite_replayer autos(5, {.auto_ids = true, .first_id = 0});
        CHECK(replay_after(autos, "0").result.gap);
        CHECK(!replay_after(autos, unset).result.gap);
    }
}

// ------------------------------------------------------------------------------ gap events

TEST_CASE("gap_event: a gap first sends `event: <type>` with the requested id as data", "[replayer]") {
    const sse::replayer_options with_gap_event{.auto_ids = true, .first_id = 0, .gap_event = sse::event_type("gap")};
    sse::finite_replayer r(3, with_gap_event);
    for (int i = 0; i < 5; ++i) put_ok(r, unset); // holds 2,3,4

    SECTION("evicted: the gap event, then everything held") {
        const outcome o = replay_after(r, "0");
        REQUIRE(o.frames.size() == 4);
        CHECK(o.frames[0].bytes() == "event: gap\ndata: 0\n\n");
        CHECK(o.seen == strings{"gap:0", "2", "3", "4"});
        CHECK(o.result.gap);
        CHECK(o.result.replayed == 3); // the gap event is not counted
    }
    SECTION("unknown or future: the gap event alone") {
        CHECK(replay_after(r, "9").seen == strings{"gap:9"});
        CHECK(replay_after(r, "nope").seen == strings{"gap:nope"});
        const outcome empty = replay_after(r, "");
        REQUIRE(empty.frames.size() == 1);
        CHECK(empty.frames[0].bytes() == "event: gap\ndata: \n\n");
        CHECK(replay_after(r, "9").result.replayed == 0);
    }
    SECTION("no gap: no gap event") {
        CHECK(replay_after(r, "1").seen == strings{"2", "3", "4"});
        CHECK(replay_after(r, "3").seen == strings{"4"});
        CHECK(replay_after(r, "4").seen == strings{});
        CHECK(replay_after(r, unset).seen == strings{});
    }
    SECTION("it does not depend on the topics") {
        CHECK(replay_after(r, "0", {"elsewhere"}).seen == strings{"gap:0"});
    }
    SECTION("manual ids") {
        sse::finite_replayer m(3, {.gap_event = sse::event_type("reset")});
        put_ok(m, "a");
        put_ok(m, "b");
        const outcome o = replay_after(m, "zz");
        REQUIRE(o.frames.size() == 1);
        CHECK(o.frames[0].bytes() == "event: reset\ndata: zz\n\n");
        CHECK(replay_after(m, "a").seen == strings{"b"});
    }
    SECTION("without gap_event nothing extra is sent") {
        sse::finite_replayer plain(3, {.auto_ids = true, .first_id = 0});
        for (int i = 0; i < 5; ++i) put_ok(plain, unset);
        CHECK(replay_after(plain, "0").seen == strings{"2", "3", "4"});
        CHECK(replay_after(plain, "0").result.gap);
        CHECK(replay_after(plain, "9").seen == strings{});
    }
}

TEST_CASE("gap_event: expired but unseen messages are a gap", "[replayer]") {
    manual_clock clock;
    const clock_type::time_point t0 = clock.now;
    sse::valid_replayer r(10s, {.auto_ids = true, .first_id = 0, .gap_event = sse::event_type("gap")}, clock.fn());
    r.set_gc_interval(clock_type::duration::zero());
    put_ok(r, unset); // 0
    put_ok(r, unset); // 1
    clock.now = t0 + 5s;
    put_ok(r, unset); // 2
    clock.now = t0 + 12s;
    CHECK(replay_after(r, "0").seen == strings{"gap:0", "2"});
    CHECK(replay_after(r, "1").seen == strings{"2"});
    r.remove_expired();
    CHECK(replay_after(r, "0").seen == strings{"gap:0", "2"});
    clock.now = t0 + 20s;
    CHECK(replay_after(r, "1").seen == strings{"gap:1"});
    CHECK(replay_after(r, "2").seen == strings{});

    SECTION("manual ids: an expired anchor still anchors") {
        sse::valid_replayer m(10s, {.gap_event = sse::event_type("gap")}, clock.fn());
        m.set_gc_interval(clock_type::duration::zero());
        clock.now = t0;
        put_ok(m, "a");
        put_ok(m, "b");
        clock.now = t0 + 5s;
        put_ok(m, "c");
        clock.now = t0 + 12s;
        CHECK(replay_after(m, "a").seen == strings{"gap:a", "c"});
        CHECK(replay_after(m, "b").seen == strings{"c"});
        m.remove_expired(); // a is no anchor any more
        CHECK(replay_after(m, "a").seen == strings{"gap:a"});
        CHECK(replay_after(m, "b").seen == strings{"gap:b"});
    }
}

// ------------------------------------------------------------------------ first_id

namespace {

// A replayer of each kind with automatic ids from `first` (valid_replayer's
// messages never expire here).
template <class R>
R make_from(std::uint64_t first, std::size_t count, sse::replayer_options o = {}) {
    o.auto_ids = true;
    o.first_id = first;
    if constexpr (std::is_same_v<R, sse::finite_replayer>) return R(count, o);
    else return R(std::chrono::hours(1), o);
}

template <class R>
void check_first_id() {
    SECTION("ids count from first_id") {
        R r = make_from<R>(1000, 5);
        CHECK(put_ok(r, unset).bytes() == "id: 1000\ndata: x\n\n");
        CHECK(put_ok(r, unset).bytes() == "id: 1001\ndata: x\n\n");
        CHECK(replay_after(r, "1000").seen == strings{"1001"});
        CHECK(!replay_after(r, "1000").result.gap);
        CHECK(replay_after(r, "1001").seen == strings{});
    }
    SECTION("a restarted process: an old process's ids are older than the new history") {
        // The old process gave out 0..9 and its clients saw up to 4, 9 or 0; the
        // new one starts at 100 and published 100..102 before they came back.
        R r = make_from<R>(100, 50, {.gap_event = sse::event_type("gap")});
        for (int i = 0; i < 3; ++i) put_ok(r, unset);
        for (const char* old : {"0", "4", "9", "98"}) {
            INFO("resuming after " << old);
            const outcome o = replay_after(r, old);
            CHECK(o.result.gap); // what the old process published after it is lost
            CHECK(o.seen == strings{"gap:" + std::string(old), "100", "101", "102"}); // nothing of the new one is
            CHECK(o.result.replayed == 3);
        }
        // 99 is the id just before the history: nothing missed, everything after it.
        CHECK(replay_after(r, "99").seen == strings{"100", "101", "102"});
        CHECK(!replay_after(r, "99").result.gap);
        // Ids of the new process work as usual; an id it never gave out is a gap.
        CHECK(replay_after(r, "101").seen == strings{"102"});
        CHECK(replay_after(r, "103").seen == strings{"gap:103"});
    }
    SECTION("a restarted process that has published nothing yet: a gap, nothing to replay") {
        R r = make_from<R>(100, 50);
        const outcome o = replay_after(r, "7");
        CHECK(o.result.gap);
        CHECK(o.seen == strings{});
        CHECK(!replay_after(r, "99").result.gap); // 100 would be next: nothing missed
        CHECK(!replay_after(r, unset).result.gap);
    }
    SECTION("the last ids: 2^64 - 2 is the largest, then put fails with invalid_argument") {
        constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
        R r = make_from<R>(max - 2, 5);
        CHECK(put_ok(r, unset).bytes() == "id: 18446744073709551613\ndata: x\n\n");
        CHECK(put_ok(r, unset).bytes() == "id: 18446744073709551614\ndata: x\n\n");
        put_fails(r, make_message("x"), {""}, sse::error::invalid_argument);
        put_fails(r, make_message("x"), {""}, sse::error::invalid_argument);
        CHECK(replay_after(r, "18446744073709551613").seen == strings{"18446744073709551614"});
        CHECK(replay_after(r, "18446744073709551612").seen == strings{"18446744073709551613", "18446744073709551614"});
        CHECK(replay_after(r, "18446744073709551614").seen == strings{});
        CHECK(!replay_after(r, "18446744073709551614").result.gap);
        CHECK(replay_after(r, "18446744073709551615").result.gap); // never given out
    }
}

} // namespace

TEST_CASE("first_id: automatic ids start there, and ids of an earlier process are a gap before all that is held",
          "[replayer]") {
    SECTION("finite_replayer") { check_first_id<sse::finite_replayer>(); }
    SECTION("valid_replayer") { check_first_id<sse::valid_replayer>(); }
    SECTION("0, as go-sse, when asked for") {
        sse::finite_replayer r(5, {.auto_ids = true, .first_id = 0});
        CHECK(put_ok(r, unset).bytes() == "id: 0\ndata: x\n\n");
    }
    SECTION("the default is restart-safe: the microseconds since the epoch when the replayer is made") {
        CHECK(!sse::replayer_options{}.first_id);
        const std::uint64_t before = sse::time_based_first_id();
        sse::finite_replayer old_process(5, {.auto_ids = true});
        const std::uint64_t first = std::stoull(std::string(put_ok(old_process, unset).bytes()).substr(4));
        CHECK(first >= before);
        CHECK(first <= sse::time_based_first_id());
        CHECK(first > 1'700'000'000'000'000ULL); // after November 2023, in microseconds
        // A process made later (here: later by at least a microsecond) starts above every id the
        // old one gave out; its clients' ids are then a gap before all it holds, not its own ids.
        const std::uint64_t last_old = first + 1;
        put_ok(old_process, unset);
        for (int spin = 0; spin < 100'000'000 && sse::time_based_first_id() <= last_old; ++spin) {
        }
        REQUIRE(sse::time_based_first_id() > last_old);
        sse::finite_replayer new_process(5, {.auto_ids = true, .gap_event = sse::event_type("gap")});
        put_ok(new_process, unset);
        const outcome o = replay_after(new_process, std::to_string(last_old));
        CHECK(o.result.gap);
        CHECK(o.result.replayed == 1);
    }
}

// ------------------------------------------------------------------------ failing sinks

TEST_CASE("replay into a sink that overflows stops with queue_overflow", "[replayer]") {
    sse::finite_replayer r(10, {.auto_ids = true, .first_id = 0});
    for (int i = 0; i < 6; ++i) put_ok(r, unset, {""}, "0123456789"); // 24-byte frames

    SECTION("a recording sink that takes two frames") {
        auto sink = std::make_shared<replay_recorder>(2);
        const sse::subscription sub{.client = sink, .last_event_id = sse::event_id("0")};
        std::error_code ec;
        const sse::replay_result res = r.replay(sub, ec);
        CHECK(ec == sse::error::queue_overflow);
        CHECK(res.replayed == 2);
        CHECK(describe(sink->frames) == strings{"1", "2"});
        CHECK(sink->sends == 3); // it stopped at the first refusal
    }
    SECTION("a queue_sink over its byte budget") {
        auto sink = std::make_shared<sse::queue_sink>(50);
        const sse::subscription sub{.client = sink, .last_event_id = sse::event_id("0")};
        std::error_code ec;
        const sse::replay_result res = r.replay(sub, ec);
        CHECK(ec == sse::error::queue_overflow);
        CHECK(res.replayed == 2);
        CHECK(sink->overflowed());
        CHECK(sink->queued_bytes() <= 50);
    }
    SECTION("the gap event overflows too") {
        sse::finite_replayer g(10, {.auto_ids = true, .first_id = 0, .gap_event = sse::event_type("gap")});
        put_ok(g, unset);
        auto sink = std::make_shared<replay_recorder>(0);
        const sse::subscription sub{.client = sink, .last_event_id = sse::event_id("7")};
        std::error_code ec;
        const sse::replay_result res = g.replay(sub, ec);
        CHECK(ec == sse::error::queue_overflow);
        CHECK(res.gap);
        CHECK(res.replayed == 0);
        CHECK(sink->sends == 1);
    }
    SECTION("a closed sink stops the replay with an error too") {
        auto sink = std::make_shared<replay_recorder>();
        sink->refuse = true;
        const sse::subscription sub{.client = sink, .last_event_id = sse::event_id("0")};
        std::error_code ec;
        const sse::replay_result res = r.replay(sub, ec);
        CHECK(ec == std::errc::connection_aborted);
        CHECK(res.replayed == 0);
        CHECK(sink->sends == 1);
    }
    SECTION("a successful replay clears ec") {
        auto sink = std::make_shared<replay_recorder>();
        const sse::subscription sub{.client = sink, .last_event_id = sse::event_id("3")};
        std::error_code ec = sse::error::queue_overflow;
        const sse::replay_result res = r.replay(sub, ec);
        CHECK(!ec);
        CHECK(res.replayed == 2);
    }
}

// ------------------------------------------------------------------------------- concepts

static_assert(sse::replayer<sse::finite_replayer>);
static_assert(sse::replayer<sse::valid_replayer>);
static_assert(!sse::replayer<int>);
static_assert(!sse::replayer<sse::queue_sink>);
