// The core protocol: fields, message serialization and parsing, the
// spec-exact stream parser (every conformance case fed whole, split at every
// byte offset, and byte by byte), sse::read, and the error category.
#include "sse_test.hpp"

#include <sse/error.hpp>
#include <sse/field.hpp>
#include <sse/message.hpp>
#include <sse/parser.hpp>
#include <sse/read.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/write.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

using namespace std::string_literals;
using namespace std::string_view_literals;

namespace {

struct ev {
    std::string type, data, id;
    bool operator==(const ev&) const = default;
};

std::ostream& operator<<(std::ostream& os, const ev& e) {
    return os << "{" << e.type << "|" << e.data << "|" << e.id << "}";
}

struct outcome {
    std::vector<ev> events;
    std::optional<long long> retry;
    std::string last_id;
    bool operator==(const outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const outcome& o) {
    os << "events:";
    for (const ev& e : o.events) os << " " << e;
    os << " retry:";
    if (o.retry) os << *o.retry;
    else os << "none";
    return os << " last_id:" << o.last_id;
}

// Feeds `input` cut at the given offsets (ascending) and collects the outcome.
outcome feed_cut(std::string_view input, const std::vector<std::size_t>& cuts) {
    sse::parser p;
    outcome o;
    auto on_event = [&](const sse::event_view& e) {
        o.events.push_back({std::string(e.type), std::string(e.data), std::string(e.last_event_id)});
    };
    std::size_t at = 0;
    for (std::size_t c : cuts) {
        p.feed(input.substr(at, c - at), on_event);
        at = c;
    }
    p.feed(input.substr(at), on_event);
    if (p.reconnection_time()) o.retry = p.reconnection_time()->count();
    o.last_id = std::string(p.last_event_id());
    return o;
}

outcome feed_whole(std::string_view input) { return feed_cut(input, {}); }

// Every way of cutting must give the same outcome as feeding it whole.
void check_every_split(std::string_view input, const outcome& want) {
    INFO("input: " << std::string(input));
    REQUIRE(feed_whole(input) == want);
    for (std::size_t i = 0; i <= input.size(); ++i) {
        INFO("cut at " << i);
        REQUIRE(feed_cut(input, {i}) == want);
    }
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < input.size(); ++i) every.push_back(i);
    REQUIRE(feed_cut(input, every) == want); // 1-byte feeds
    if (input.size() <= 40)
        for (std::size_t i = 0; i <= input.size(); ++i)
            for (std::size_t j = i; j <= input.size(); ++j) {
                INFO("cuts at " << i << " and " << j);
                REQUIRE(feed_cut(input, {i, j}) == want);
            }
}

struct conformance_case {
    std::string_view input;
    std::vector<ev> events;
    std::optional<long long> retry = std::nullopt;
    std::string last_id = {};
};

// go-sse's golden vectors (inventory appendix A.1), with the WHATWG spec's
// answer where go-sse deviates (noted D1, D2, D3, D5, D8), plus spec rules.
const std::vector<conformance_case>& cases() {
    static const std::vector<conformance_case> c = {
        {"data: a\n\n", {{"message", "a", ""}}},
        {"data: a\n", {}},                         // D2: unterminated event discarded
        {"data: a", {}},                           // D2: no error either
        {"data: a\n\ndata: b", {{"message", "a", ""}}},
        {"data: a\n\n\n", {{"message", "a", ""}}},
        {"\n\n\n", {}},
        {"", {}},
        {"event: x\n\n", {}},                      // D1: no data, no event
        {"id: 5\n\n", {}, std::nullopt, "5"},      // D1: nothing dispatched, id committed
        {"retry: 100\n\n", {}, 100},               // D1
        {"data\n\n", {{"message", "", ""}}},
        {"data:\n\n", {{"message", "", ""}}},
        {"data:\ndata:\n\n", {{"message", "\n", ""}}},
        {"data:  two spaces\n\n", {{"message", " two spaces", ""}}},
        {"data:\tTab\n\n", {{"message", "\tTab", ""}}},
        {"Data: upper\n\n", {}},
        {"data : spacebeforecolon\n\n", {}},
        {": comment only\n\n", {}},
        {"event: x\ndata: 1\n\ndata: 2\n\n", {{"x", "1", ""}, {"message", "2", ""}}},
        {"id: 1\ndata: a\n\ndata: b\n\nid:\ndata: c\n\ndata: d\n\n",
         {{"message", "a", "1"}, {"message", "b", "1"}, {"message", "c", ""}, {"message", "d", ""}}},
        {"id: a\0b\ndata: x\n\n"sv, {{"message", "x", ""}}},
        {"id: 1\n\nid: a\0b\n\n"sv, {}, std::nullopt, "1"},
        {"data: a\r\ndata: b\r\n\r\n", {{"message", "a\nb", ""}}},
        {"data: a\rdata: b\r\r", {{"message", "a\nb", ""}}},
        {"\xEF\xBB\xBF" "data: bom\n\n", {{"message", "bom", ""}}},
        {"\xEF\xBB\xBF\xEF\xBB\xBF" "data: twobom\n\n", {}},
        {"\n\xEF\xBB\xBF" "data: x\n\n", {}},      // D8: a BOM after a blank line is not skipped
        {"\xEF\xBB\xBF\ndata: x\n\n", {{"message", "x", ""}}},
        {"data: x\n\n\xEF\xBB\xBF" "data: y\n\n", {{"message", "x", ""}}},
        {"data: x\0y\n\n"sv, {{"message", "x\0y"s, ""}}},
        {"event: message\ndata: m\n\n", {{"message", "m", ""}}}, // D5: same as unnamed
        {"dataaaaaaaaaa\n\n", {}},
        {"verylongfieldname: v\ndata: d\n\n", {{"message", "d", ""}}},
        {"event\ndata: no-colon-event\n\n", {{"message", "no-colon-event", ""}}},
        {"id\ndata: no-colon-id\n\n", {{"message", "no-colon-id", ""}}},
        {"event: a\n\nevent: b\ndata: d\n\n", {{"b", "d", ""}}}, // D1: the first block dispatches nothing
        {"id: 1\nid\ndata: x\n\n", {{"message", "x", ""}}},
        {"retry: 5\ndata: x\n\n", {{"message", "x", ""}}, 5},
        {":\n\n", {}},
        {"data: a\n\n\r\n\r\ndata: b\n\n", {{"message", "a", ""}, {"message", "b", ""}}},
        {"id: 1\n\0\n\n"sv, {}, std::nullopt, "1"},
        {"event: x\n", {}},
        {"id: 9\n", {}},                            // D2 and D6: the id of an unended event is not committed
        {"data: \xff\xfe invalid utf8\n\n", {{"message", "\xff\xfe invalid utf8", ""}}},
        {"data: a\r\ndata: b\r\n\r\n", {{"message", "a\nb", ""}}},
        {"data: a\r\rdata: b\n\n", {{"message", "a", ""}, {"message", "b", ""}}},
        {"data: a\n\r\ndata: b\n\n", {{"message", "a", ""}, {"message", "b", ""}}},
        {"id: 5\ndata: a\n\nid: 6\n", {{"message", "a", "5"}}, std::nullopt, "5"},
        // retry: only ASCII digits (D3)
        {"retry: +100\n\n", {}},
        {"retry: -5\n\n", {}},
        {"retry:  100\n\n", {}},
        {"retry: 1e3\n\n", {}},
        {"retry:\n\n", {}},
        {"retry: 0x10\n\n", {}},
        {"retry: 99999999999999999999\n\n", {}},
        {"retry: 0\n\n", {}, 0},
        {"retry: 10\nretry: x\nretry: 20\n\n", {}, 20},
        // the type resets after each dispatch
        {"event: e\ndata: 1\n\ndata: 2\n\n", {{"e", "1", ""}, {"message", "2", ""}}},
        {"event: e\nevent:\ndata: 1\n\n", {{"message", "1", ""}}},
        // the last id persists and an empty id resets it
        {"id: 7\ndata: 1\n\ndata: 2\n\nid:\ndata: 3\n\n", {{"message", "1", "7"}, {"message", "2", "7"}, {"message", "3", ""}}},
        // comments between fields, and unknown fields
        {"data: 1\n: c\nfoo: bar\ndata: 2\n\n", {{"message", "1\n2", ""}}},
        // field names are case-sensitive and not trimmed
        {"DATA: x\n\n data: x\n\nEvent: e\ndata: y\n\n", {{"message", "y", ""}}},
        // one leading space only; a value can hold colons
        {"data: a: b :c\n\n", {{"message", "a: b :c", ""}}},
        {"data:   \n\n", {{"message", "  ", ""}}},
        // many data lines
        {"data: 1\ndata: 2\ndata: 3\n\n", {{"message", "1\n2\n3", ""}}},
        // CR-only stream
        {"event: a\rdata: 1\r\rdata: 2\r\r", {{"a", "1", ""}, {"message", "2", ""}}},
    };
    return c;
}

} // namespace

TEST_CASE("core: conformance cases give the spec's events however the input is cut") {
    for (const conformance_case& c : cases()) {
        outcome want{c.events, c.retry, c.last_id};
        check_every_split(c.input, want);
    }
}

TEST_CASE("core: the contract outside conformance checks use") {
    sse::parser p;
    std::vector<std::string> seen;
    p.feed(std::string_view("event: t\nid: 3\ndata: x\nretry: 7\n\n"), [&](const auto& e) {
        const std::string_view type = e.type, data = e.data, id = e.last_event_id;
        seen.push_back(std::string(type) + "|" + std::string(data) + "|" + std::string(id));
    });
    std::error_code ec;
    p.feed(std::string_view("data: y\n\n"), [&](const auto& e) { seen.push_back(std::string(std::string_view(e.data))); }, ec);
    CHECK_FALSE(ec);
    REQUIRE(seen == std::vector<std::string>{"t|x|3", "y"});
    const std::optional<std::chrono::milliseconds> rt = p.reconnection_time();
    REQUIRE(rt);
    CHECK(rt->count() == 7);
}

TEST_CASE("core: comments are observable") {
    sse::parser p;
    std::vector<std::string> comments;
    p.on_comment([&](std::string_view c) { comments.emplace_back(c); });
    p.feed(": heartbeat\n:no space\n:  two\n\n", [](const sse::event_view&) {});
    CHECK(comments == std::vector<std::string>{"heartbeat", "no space", " two"});
}

TEST_CASE("core: finish drops an unended event, keeps id and retry; reset clears") {
    sse::parser p;
    int events = 0;
    auto count = [&](const sse::event_view&) { ++events; };
    p.feed("id: 1\nretry: 50\ndata: a\n\nid: 2\ndata: b\n", count);
    CHECK(events == 1);
    CHECK(p.finish()); // "b" was pending
    CHECK(p.last_event_id() == "1");
    REQUIRE(p.reconnection_time());
    CHECK(p.reconnection_time()->count() == 50);
    CHECK_FALSE(p.finish());
    // A new stream may start with a BOM again, and the id persists.
    p.feed("\xEF\xBB\xBF" "data: c\n\n", [&](const sse::event_view& e) {
        CHECK(e.data == "c");
        CHECK(e.last_event_id == "1");
    });
    p.reset();
    CHECK(p.last_event_id().empty());
    CHECK_FALSE(p.reconnection_time());
}

TEST_CASE("core: maximum event size") {
    CHECK(sse::parser::default_max_event_size == 8u * 1024 * 1024);
    const std::string at_limit = "data: 12345\n"; // 12 bytes of field lines
    SECTION("an event at the limit passes, one byte more fails") {
        sse::parser ok(sse::parser_options{12});
        int n = 0;
        std::error_code ec;
        ok.feed(at_limit + "\n", [&](const sse::event_view&) { ++n; }, ec);
        CHECK_FALSE(ec);
        CHECK(n == 1);
        sse::parser over(sse::parser_options{11});
        over.feed(at_limit + "\n", [&](const sse::event_view&) { ++n; }, ec);
        CHECK(ec == sse::error::event_too_large);
        CHECK(n == 1);
        // Sticky until finish().
        over.feed("data: x\n\n", [&](const sse::event_view&) { ++n; }, ec);
        CHECK(ec == sse::error::event_too_large);
        over.finish();
        over.feed("data: x\n\n", [&](const sse::event_view&) { ++n; }, ec);
        CHECK_FALSE(ec);
        CHECK(n == 2);
    }
    SECTION("the throwing form names the limit") {
        sse::parser p(sse::parser_options{100});
        try {
            p.feed(std::string(200, 'x'), [](const sse::event_view&) {});
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(e.code() == sse::error::event_too_large);
            CHECK(std::string(e.what()).find("100") != std::string::npos);
        }
    }
    SECTION("comments do not count") {
        sse::parser p(sse::parser_options{20});
        std::error_code ec;
        int n = 0;
        for (int i = 0; i < 100; ++i) p.feed(": keep-alive\n", [&](const sse::event_view&) { ++n; }, ec);
        p.feed("data: ok\n\n", [&](const sse::event_view&) { ++n; }, ec);
        CHECK_FALSE(ec);
        CHECK(n == 1);
    }
    SECTION("memory stays bounded: a 64 MiB line fails within one chunk past 1 MiB") {
        sse::parser p(sse::parser_options{1 << 20});
        const std::string chunk(64 * 1024, 'a');
        std::error_code ec;
        std::size_t fed = 0;
        p.feed("data: ", [](const sse::event_view&) {}, ec);
        for (int i = 0; i < 1024 && !ec; ++i) {
            p.feed(chunk, [](const sse::event_view&) {}, ec);
            fed += chunk.size();
        }
        CHECK(ec == sse::error::event_too_large);
        CHECK(fed <= (1u << 20) + chunk.size());
    }
}

TEST_CASE("core: an 8 MiB single-line event fed in 1 KiB chunks arrives whole") {
    std::string stream = "data: " + std::string(8 * 1024 * 1024 - 16, 'z') + "\n\n";
    sse::parser p;
    std::size_t size = 0;
    int n = 0;
    for (std::size_t at = 0; at < stream.size(); at += 1024)
        p.feed(std::string_view(stream).substr(at, 1024), [&](const sse::event_view& e) {
            ++n;
            size = e.data.size();
        });
    CHECK(n == 1);
    CHECK(size == 8 * 1024 * 1024 - 16);
}

TEST_CASE("core: event_id and event_type") {
    CHECK_FALSE(sse::event_id().is_set());
    CHECK(sse::event_id("").is_set());
    CHECK(sse::event_id("").str().empty());
    CHECK(sse::event_id("a") == sse::event_id("a"));
    CHECK_FALSE(sse::event_id("") == sse::event_id());
    for (std::string_view bad : {"a\nb"sv, "a\rb"sv, "\r\n"sv, "a\0b"sv}) {
        REQUIRE_THROWS_AS(sse::event_id(bad), std::system_error);
        std::error_code ec;
        const sse::event_id id = sse::event_id::make(bad, ec);
        CHECK(ec == sse::error::invalid_id);
        CHECK_FALSE(id.is_set());
    }
    try {
        sse::event_id bad("x\ny");
    } catch (const std::system_error& e) {
        CHECK(std::string(e.what()).find("x\\ny") != std::string::npos);
    }
    std::error_code ec;
    CHECK(sse::event_type::make("a\0b"sv, ec).is_set()); // NUL is fine in a type
    CHECK_FALSE(ec);
    CHECK_FALSE(sse::event_type::make("a\nb", ec).is_set());
    CHECK(ec == sse::error::invalid_type);
}

TEST_CASE("core: message serialization (go-sse's vectors)") {
    auto ser = [](auto build) {
        sse::message m;
        build(m);
        return m.to_string();
    };
    CHECK(ser([](sse::message& m) { m.append_data(""); }).empty());
    CHECK(ser([](sse::message& m) { m.append_data("\n"); }) == "data: \n\n");
    CHECK(ser([](sse::message& m) { m.append_data("a\n"); }) == "data: a\n\n");
    CHECK(ser([](sse::message& m) { m.append_data("a\n\n"); }) == "data: a\ndata: \n\n");
    CHECK(ser([](sse::message& m) { m.append_data("\r\n\r\n"); }) == "data: \ndata: \n\n");
    CHECK(ser([](sse::message& m) { m.append_data("x\r\ry"); }) == "data: x\ndata: \ndata: y\n\n");
    CHECK(ser([](sse::message& m) { m.id = sse::event_id(""); }) == "id: \n\n");
    CHECK(ser([](sse::message& m) { m.type = sse::event_type(""); }) == "event: \n\n");
    CHECK(ser([](sse::message& m) { m.append_comment(""); }).empty());
    CHECK(ser([](sse::message& m) { m.append_comment("a\nb"); }) == ": a\n: b\n\n");
    CHECK(ser([](sse::message& m) { m.retry = std::chrono::milliseconds(2); }) == "retry: 2\n\n");
    CHECK(ser([](sse::message& m) { m.retry = std::chrono::milliseconds(0); }).empty());
    CHECK(ser([](sse::message& m) { m.retry = std::chrono::milliseconds(-1); }).empty());
    CHECK(ser([](sse::message& m) {
              m.type = sse::event_type("t");
              m.id = sse::event_id("1");
              m.retry = std::chrono::seconds(1);
              m.append_comment("c1");
              m.append_data("d1");
              m.append_comment("c2");
          }) == "id: 1\nevent: t\nretry: 1000\n: c1\ndata: d1\n: c2\n\n");
    // go-sse's upstream example.
    sse::message m;
    m.id = sse::event_id("example_id");
    m.type = sse::event_type("test_event");
    m.retry = std::chrono::seconds(5);
    m.append_data("This is an example\nOf an event", "", "a string here");
    m.append_comment("This test should pass");
    m.append_data("Important data\nImportant again\r\rVery important\r\n");
    const std::string want = "id: example_id\nevent: test_event\nretry: 5000\ndata: This is an example\n"
                             "data: Of an event\ndata: a string here\n: This test should pass\ndata: Important data\n"
                             "data: Important again\ndata: \ndata: Very important\n\n";
    CHECK(m.to_string() == want);
    CHECK(m.serialized_size() == want.size());
    std::string buf = "prefix:";
    m.write_to(buf);
    CHECK(buf == "prefix:" + want);
    CHECK(m.data() == "This is an example\nOf an event\na string here\nImportant data\nImportant again\n\nVery important");
}

TEST_CASE("core: message::parse") {
    std::error_code ec;
    CHECK(sse::message::parse("", ec).empty());
    CHECK_FALSE(ec);
    CHECK(sse::message::parse("retry: 0\n\n", ec).empty());
    CHECK_FALSE(ec);
    CHECK(sse::message::parse("\n\ndata: a\n\n", ec).data() == "a");
    CHECK(sse::message::parse("data: a\n", ec).data() == "a");
    CHECK_FALSE(ec);
    CHECK(sse::message::parse("data: a", ec).empty());
    CHECK(ec == sse::error::unexpected_end);
    for (std::string_view bad : {"retry:\n\n"sv, "retry: +10\n\n"sv, "retry: 99999999999999999999\n\n"sv, "retry: x\n\n"sv}) {
        const sse::message m = sse::message::parse(std::string("data: a\n") + std::string(bad), ec);
        CHECK(ec == sse::error::invalid_retry);
        CHECK(m.empty()); // nothing half-parsed
    }
    try {
        (void)sse::message::parse("retry: sigma\n\n");
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(std::string(e.what()).find("sigma") != std::string::npos);
    }
    const sse::message m = sse::message::parse("\xEF\xBB\xBF" "id: 1\nid: 2\0x\nevent: a\nevent: b\nretry: 9\n: c\ndata: d\n\ndata: ignored\n"sv, ec);
    CHECK_FALSE(ec);
    CHECK(m.id.str() == "1");
    CHECK(m.type.str() == "b");
    CHECK(m.retry.count() == 9);
    REQUIRE(m.line_count() == 2);
    CHECK(m.line_at(0).kind == sse::message::line_kind::comment);
    CHECK(m.line_at(1).text == "d");
    CHECK(sse::message::parse("id:\n\n", ec).id == sse::event_id(""));
}

TEST_CASE("core: random messages round-trip through write_to, parse and the stream parser") {
    std::mt19937 rng(20261124);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    auto text = [&](bool allow_nul) {
        static const std::string alphabet = std::string("ab :xyz\t\xc3\xa9") + std::string(1, '\0');
        std::string s;
        const int len = pick(8);
        for (int i = 0; i < len; ++i) {
            char c = alphabet[static_cast<std::size_t>(pick(static_cast<int>(alphabet.size()) - (allow_nul ? 0 : 1)))];
            s += c;
        }
        return s;
    };
    for (int i = 0; i < 3000; ++i) {
        sse::message m;
        if (const int k = pick(3); k == 1) m.id = sse::event_id("");
        else if (k == 2) m.id = sse::event_id(text(false));
        if (const int k = pick(3); k == 1) m.type = sse::event_type("");
        else if (k == 2) m.type = sse::event_type(text(true));
        if (pick(2)) m.retry = std::chrono::milliseconds(pick(100000));
        const int lines = pick(7);
        for (int l = 0; l < lines; ++l) {
            const std::string t = text(true);
            if (pick(2)) m.append_data(t.empty() ? "\n"s : t);
            else m.append_comment(t.empty() ? "\n"s : t);
        }
        const std::string wire = m.to_string();
        INFO("wire: " << wire);
        std::error_code ec;
        REQUIRE(sse::message::parse(wire, ec) == m);
        REQUIRE_FALSE(ec);
        bool has_data = false;
        for (std::size_t l = 0; l < m.line_count(); ++l) has_data |= m.line_at(l).kind == sse::message::line_kind::data;
        sse::parser p;
        int n = 0;
        p.feed(wire, [&](const sse::event_view& e) {
            ++n;
            CHECK(e.data == m.data());
            CHECK(e.type == (m.type.is_set() && !m.type.view().empty() ? m.type.view() : "message"sv));
        });
        REQUIRE(n == (has_data ? 1 : 0));
        if (m.id.is_set()) REQUIRE(p.last_event_id() == m.id.view());
    }
}

TEST_CASE("core: sse::read over text, an istream and an rvalue string") {
    static_assert(std::ranges::input_range<decltype(sse::read(std::string_view()))>);
    const std::string stream = "data: a\n\nevent: e\nid: 1\ndata: b\n\ndata: unended";
    std::vector<sse::event> got;
    for (const sse::event& e : sse::read(std::string_view(stream))) got.push_back(e);
    REQUIRE(got.size() == 2);
    CHECK(got[0] == sse::event("message", "a", ""));
    CHECK(got[1] == sse::event("e", "b", "1"));

    std::istringstream is(stream);
    std::size_t n = 0;
    for (const sse::event& e : sse::read(is)) {
        (void)e;
        ++n;
    }
    CHECK(n == 2);

    n = 0;
    for (const sse::event& e : sse::read(std::string(stream))) n += e.data.size();
    CHECK(n == 2);

    n = 0;
    for (const sse::event& e : sse::read(stream) | std::views::take(1)) {
        CHECK(e.data == "a");
        ++n;
    }
    CHECK(n == 1);
}

TEST_CASE("core: sse::read reports errors: thrown, or in an error_code after the earlier events") {
    const std::string stream = "data: 1\n\ndata: 2\n\ndata: " + std::string(100, 'x') + "\n\ndata: 3\n\n";
    sse::read_options small;
    small.max_event_size = 50;
    std::error_code ec;
    std::vector<std::string> got;
    for (const sse::event& e : sse::read(stream, ec, small)) got.push_back(e.data);
    CHECK(got == std::vector<std::string>{"1", "2"});
    CHECK(ec == sse::error::event_too_large);
    try {
        for (const sse::event& e : sse::read(stream, small)) (void)e;
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(e.code() == sse::error::event_too_large);
        CHECK(std::string(e.what()).find("50") != std::string::npos);
    }
}

TEST_CASE("core: the error category") {
    CHECK(std::string(sse::error_category().name()) == "sse");
    std::set<std::string> messages;
    for (int e = static_cast<int>(sse::error::invalid_id); e <= static_cast<int>(sse::error::stream_ended); ++e) {
        const std::string m = std::error_code(static_cast<sse::error>(e)).message();
        CHECK_FALSE(m.empty());
        messages.insert(m);
    }
    CHECK(messages.size() == static_cast<std::size_t>(sse::error::stream_ended));
    const std::error_code ec = sse::error::no_topic;
    CHECK(ec == sse::error::no_topic);
    CHECK(ec != sse::error::provider_closed);
    CHECK(ec.category() == sse::error_category());
}

TEST_CASE("core: sse::read over Asio SyncReadStreams: a TCP socket and a pipe") {
    SECTION("a loopback TCP socket written in small pieces") {
        asio::io_context ioc;
        asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
        const std::string stream = "id: 1\ndata: first\r\n\r\nevent: e\ndata: second\n\ndata: third\n\n";
        std::thread writer([&] {
            asio::io_context wctx;
            asio::ip::tcp::socket s(wctx);
            s.connect(acceptor.local_endpoint());
            for (std::size_t at = 0; at < stream.size(); at += 3)
                asio::write(s, asio::buffer(std::string_view(stream).substr(at, 3)));
            s.shutdown(asio::socket_base::shutdown_send);
        });
        asio::ip::tcp::socket s(ioc);
        acceptor.accept(s);
        std::vector<sse::event> got;
        std::error_code ec;
        for (const sse::event& e : sse::read(s, ec)) got.push_back(e);
        writer.join();
        CHECK_FALSE(ec);
        REQUIRE(got.size() == 3);
        CHECK(got[0] == sse::event("message", "first", "1"));
        CHECK(got[1] == sse::event("e", "second", "1"));
        CHECK(got[2] == sse::event("message", "third", "1"));
    }
    SECTION("a pipe, and a reset connection is reported, not swallowed") {
        asio::io_context ioc;
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        asio::posix::stream_descriptor in(ioc, fds[0]);
        const std::string text = "data: p\n\n";
        REQUIRE(::write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
        ::close(fds[1]);
        int n = 0;
        for (const sse::event& e : sse::read(in)) {
            CHECK(e.data == "p");
            ++n;
        }
        CHECK(n == 1);

        asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
        std::thread peer([&] {
            asio::io_context wctx;
            asio::ip::tcp::socket s(wctx);
            s.connect(acceptor.local_endpoint());
            asio::write(s, asio::buffer(std::string_view("data: a\n\ndata: unfinished")));
            s.set_option(asio::socket_base::linger(true, 0)); // close with RST
            s.close();
        });
        asio::ip::tcp::socket s(ioc);
        acceptor.accept(s);
        peer.join();
        std::error_code ec;
        std::vector<std::string> got;
        for (const sse::event& e : sse::read(s, ec)) got.push_back(e.data);
        CHECK(got == std::vector<std::string>{"a"});
        CHECK(ec == asio::error::connection_reset);
    }
}
