// sse/message.hpp: building, serializing (go-sse's wire format, inventory §2
// and A.4) and parsing messages (A.5, adapted to this library's documented
// behaviour), and a randomized round trip through message::parse and the
// stream parser.
#include "sse_test.hpp"

#include <sse/error.hpp>
#include <sse/field.hpp>
#include <sse/message.hpp>
#include <sse/parser.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using namespace std::string_literals;
using namespace std::string_view_literals;

namespace {

using kind = sse::message::line_kind;

// The lines of `m` as (kind, text) pairs, for comparison.
std::vector<std::pair<kind, std::string>> lines_of(const sse::message& m) {
    std::vector<std::pair<kind, std::string>> out;
    for (std::size_t i = 0; i < m.line_count(); ++i) out.emplace_back(m.line_at(i).kind, std::string(m.line_at(i).text));
    return out;
}

std::vector<std::pair<kind, std::string>> data_lines(std::initializer_list<std::string> texts) {
    std::vector<std::pair<kind, std::string>> out;
    for (const std::string& t : texts) out.emplace_back(kind::data, t);
    return out;
}

// Serializes `m` every way the API offers and checks they agree with each
// other and with serialized_size(); returns the bytes.
std::string serialize(const sse::message& m) {
    const std::string s = m.to_string();
    CHECK(m.serialized_size() == s.size());

    std::string appended = "prefix";
    m.write_to(appended);
    CHECK(appended == "prefix" + s);

    std::vector<char> raw(s.size() + 1, '#');
    const std::size_t n = m.write_to(raw.data());
    CHECK(n == s.size());
    CHECK(std::string(raw.data(), n) == s);
    CHECK(raw[n] == '#'); // nothing written past the end

    CHECK(m.empty() == s.empty());
    return s;
}

// message::parse(text) and message::parse(text, ec) for a text that must parse.
sse::message parse_ok(std::string_view text) {
    std::error_code ec = sse::error::timeout; // stale: must be cleared
    sse::message m = sse::message::parse(text, ec);
    CHECK_FALSE(ec);
    sse::message thrown;
    CHECK_NOTHROW(thrown = sse::message::parse(text));
    CHECK(thrown == m);
    return m;
}

// message::parse for a text that must fail with `expected`: the result is an
// empty message; returns the throwing form's what().
std::string parse_fails(std::string_view text, sse::error expected) {
    std::error_code ec;
    const sse::message m = sse::message::parse(text, ec);
    CHECK(ec == expected);
    CHECK(m == sse::message());
    CHECK(m.empty());
    try {
        (void)sse::message::parse(text);
        FAIL_CHECK("message::parse did not throw");
    } catch (const std::system_error& e) {
        CHECK(e.code() == expected);
        return e.what();
    }
    return "";
}

} // namespace

// ------------------------------------------------------------------------------------------------
// Building and serializing

TEST_CASE("message: an empty message serializes to nothing") {
    sse::message m;
    CHECK(m.empty());
    CHECK(m.line_count() == 0);
    CHECK(m.data().empty());
    CHECK(serialize(m).empty());
    CHECK(m.serialized_size() == 0);
    std::string out = "keep";
    m.write_to(out);
    CHECK(out == "keep");
}

TEST_CASE("message: append_data splits chunks at CR, LF and CRLF (inventory A.4, §1.2)") {
    struct row {
        std::string chunk;
        std::vector<std::string> lines;
        std::string wire;
    };
    const std::vector<row> rows = {
        {"", {}, ""},
        {"\n", {""}, "data: \n\n"},
        {"a\n", {"a"}, "data: a\n\n"},
        {"a\n\n", {"a", ""}, "data: a\ndata: \n\n"},
        {"\r\n\r\n", {"", ""}, "data: \ndata: \n\n"},
        {"x\r\ry", {"x", "", "y"}, "data: x\ndata: \ndata: y\n\n"},
        {"a", {"a"}, "data: a\n\n"},
        {"a\r\nb", {"a", "b"}, "data: a\ndata: b\n\n"},
        {"a\rb", {"a", "b"}, "data: a\ndata: b\n\n"},
        {"a\n\rb", {"a", "", "b"}, "data: a\ndata: \ndata: b\n\n"},
        {"\r", {""}, "data: \n\n"},
        {"\r\n", {""}, "data: \n\n"},
        {"\na", {"", "a"}, "data: \ndata: a\n\n"},
        {"  lead", {"  lead"}, "data:   lead\n\n"},
        {":colon", {":colon"}, "data: :colon\n\n"},
    };
    for (const row& r : rows) {
        CAPTURE(r.chunk);
        sse::message m;
        m.append_data(r.chunk);
        std::vector<std::pair<kind, std::string>> want;
        for (const std::string& l : r.lines) want.emplace_back(kind::data, l);
        CHECK(lines_of(m) == want);
        CHECK(serialize(m) == r.wire);
    }
}

TEST_CASE("message: append_comment splits like append_data (inventory A.4)") {
    sse::message m;
    m.append_comment("");
    CHECK(m.line_count() == 0);
    CHECK(serialize(m).empty());

    m.append_comment("a\nb");
    CHECK(serialize(m) == ": a\n: b\n\n");
    CHECK(m.data().empty()); // comments are not data

    sse::message heartbeat;
    heartbeat.append_comment("\n");
    CHECK(serialize(heartbeat) == ": \n\n");

    sse::message crlf;
    crlf.append_comment("x\r\ry\r\n");
    CHECK(lines_of(crlf) == std::vector<std::pair<kind, std::string>>{
                                {kind::comment, "x"}, {kind::comment, ""}, {kind::comment, "y"}});
}

TEST_CASE("message: several chunks in one call, and chained calls") {
    sse::message m;
    m.append_data("a", ""s, "b\nc"sv).append_data(std::string("d"));
    CHECK(lines_of(m) == data_lines({"a", "b", "c", "d"}));
    CHECK(m.data() == "a\nb\nc\nd");
}

TEST_CASE("message: data and comment lines keep their interleaved order") {
    sse::message m;
    m.append_comment("c1");
    m.append_data("d1\nd2");
    m.append_comment("c2");
    m.append_data("d3");
    REQUIRE(m.line_count() == 5);
    CHECK(m.line_at(0) == sse::message::line{kind::comment, "c1"});
    CHECK(m.line_at(1) == sse::message::line{kind::data, "d1"});
    CHECK(m.line_at(2) == sse::message::line{kind::data, "d2"});
    CHECK(m.line_at(3) == sse::message::line{kind::comment, "c2"});
    CHECK(m.line_at(4) == sse::message::line{kind::data, "d3"});
    CHECK(serialize(m) == ": c1\ndata: d1\ndata: d2\n: c2\ndata: d3\n\n");
    CHECK(m.data() == "d1\nd2\nd3");
}

TEST_CASE("message: data() joins only the data lines with LF, keeping empty ones") {
    sse::message m;
    CHECK(m.data().empty());
    m.append_data("\n"); // one empty line
    CHECK(m.data().empty());
    m.append_data("a");
    CHECK(m.data() == "\na");
    m.append_comment("ignored");
    m.append_data("\n");
    CHECK(m.data() == "\na\n");
    m.append_data("x\0y"s);
    CHECK(m.data() == "\na\n\nx\0y"s);
}

TEST_CASE("message: a trailing LF in the payload needs an extra empty line (inventory §2)") {
    sse::message m;
    m.append_data("x\n"); // the final LF is a terminator only
    CHECK(m.data() == "x");
    sse::message n;
    n.append_data("x\n\n");
    CHECK(n.data() == "x\n");
    CHECK(serialize(n) == "data: x\ndata: \n\n");
}

TEST_CASE("message: clear_lines keeps id, type and retry") {
    sse::message m;
    m.id = sse::event_id("1");
    m.type = sse::event_type("t");
    m.retry = 5ms;
    m.append_data("a").append_comment("b");
    m.clear_lines();
    CHECK(m.line_count() == 0);
    CHECK(m.data().empty());
    CHECK(serialize(m) == "id: 1\nevent: t\nretry: 5\n\n");
    m.append_data("again");
    CHECK(serialize(m) == "id: 1\nevent: t\nretry: 5\ndata: again\n\n");
}

TEST_CASE("message: id and type alone, set or set-empty (inventory A.4)") {
    sse::message id_only;
    id_only.id = sse::event_id("");
    CHECK_FALSE(id_only.empty());
    CHECK(serialize(id_only) == "id: \n\n");

    sse::message type_only;
    type_only.type = sse::event_type("");
    CHECK(serialize(type_only) == "event: \n\n");

    sse::message both;
    both.id = sse::event_id("5");
    both.type = sse::event_type("update");
    CHECK(serialize(both) == "id: 5\nevent: update\n\n");

    sse::message unset; // explicitly unset again
    unset.id = sse::event_id("5");
    unset.id.reset();
    CHECK(serialize(unset).empty());
}

TEST_CASE("message: retry is written only when at least 1 ms") {
    const auto wire = [](std::chrono::milliseconds r) {
        sse::message m;
        m.retry = r;
        return serialize(m);
    };
    CHECK(wire(0ms).empty());
    CHECK(wire(-1ms).empty());
    CHECK(wire(std::chrono::milliseconds::min()).empty());
    CHECK(wire(1ms) == "retry: 1\n\n");
    CHECK(wire(1s) == "retry: 1000\n\n");
    CHECK(wire(1h) == "retry: 3600000\n\n");
    CHECK(wire(std::chrono::milliseconds::max()) ==
          "retry: " + std::to_string(std::chrono::milliseconds::max().count()) + "\n\n");
    // go-sse's "2.499 ms writes retry: 2": here retry is whole milliseconds, so
    // a sub-millisecond value can only come in through a cast, which truncates.
    CHECK(wire(std::chrono::duration_cast<std::chrono::milliseconds>(2499us)) == "retry: 2\n\n");
    CHECK(wire(std::chrono::duration_cast<std::chrono::milliseconds>(999us)).empty());

    sse::message m;
    m.retry = 0ms;
    CHECK(m.empty());
    m.retry = -5ms;
    CHECK(m.empty());
    m.retry = 1ms;
    CHECK_FALSE(m.empty());
}

TEST_CASE("message: fields come out in fixed order: id, event, retry, then lines (inventory A.4)") {
    sse::message m;
    m.append_comment("c1"); // appended before the fields are set: order does not depend on it
    m.type = sse::event_type("t");
    m.append_data("d1");
    m.id = sse::event_id("1");
    m.retry = 1s;
    m.append_comment("c2");
    CHECK(serialize(m) == "id: 1\nevent: t\nretry: 1000\n: c1\ndata: d1\n: c2\n\n");
}

TEST_CASE("message: a NUL byte is written as is in a type (an id cannot hold one)") {
    // A.4's "ID x\0y" cannot be built here: ids holding NUL are rejected,
    // because every client ignores them. A type may hold NUL.
    CHECK_THROWS_AS(sse::event_id("x\0y"sv), std::system_error);
    sse::message m;
    m.type = sse::event_type("x\0y"sv);
    m.retry = 1h;
    CHECK(serialize(m) == "event: x\0y\nretry: 3600000\n\n"s);
}

TEST_CASE("message: go-sse's upstream example (inventory §2), byte for byte") {
    sse::message m;
    m.id = sse::event_id("example_id");
    m.type = sse::event_type("test_event");
    m.retry = 5s;
    m.append_data("This is an example\nOf an event", "", "a string here");
    m.append_comment("This test should pass");
    m.append_data("Important data\nImportant again\r\rVery important\r\n");
    const std::string want = "id: example_id\n"
                             "event: test_event\n"
                             "retry: 5000\n"
                             "data: This is an example\n"
                             "data: Of an event\n"
                             "data: a string here\n"
                             ": This test should pass\n"
                             "data: Important data\n"
                             "data: Important again\n"
                             "data: \n"
                             "data: Very important\n"
                             "\n";
    CHECK(serialize(m) == want);
    CHECK(m.data() == "This is an example\nOf an event\na string here\nImportant data\nImportant again\n\nVery important");
    CHECK(m.line_count() == 8);
}

TEST_CASE("message: write_to appends to what the string already holds") {
    sse::message a;
    a.append_data("one");
    sse::message b;
    b.id = sse::event_id("2");
    b.append_data("two");
    std::string out;
    a.write_to(out);
    b.write_to(out);
    sse::message().write_to(out); // adds nothing
    a.write_to(out);
    CHECK(out == "data: one\n\nid: 2\ndata: two\n\ndata: one\n\n");
}

TEST_CASE("message: equality covers id, type, retry and the lines with their kinds") {
    sse::message a;
    a.append_data("x");
    sse::message b;
    b.append_data("x");
    CHECK(a == b);

    sse::message c;
    c.append_comment("x");
    CHECK_FALSE(a == c); // same text, other kind

    b.retry = 1ms;
    CHECK_FALSE(a == b);
    b.retry = 0ms;
    b.id = sse::event_id("");
    CHECK_FALSE(a == b);
    b.id.reset();
    b.type = sse::event_type("");
    CHECK_FALSE(a == b);
    b.type.reset();
    CHECK(a == b);
    b.append_data("\n");
    CHECK_FALSE(a == b);

    // The same lines built through different chunks are equal.
    sse::message d;
    d.append_data("x\ny");
    sse::message e;
    e.append_data("x", "y");
    CHECK(d == e);
}

TEST_CASE("message: copies are independent") {
    sse::message a;
    a.append_data("a");
    sse::message b = a;
    b.append_data("b");
    a.append_comment("c");
    CHECK(serialize(a) == "data: a\n: c\n\n");
    CHECK(serialize(b) == "data: a\ndata: b\n\n");
}

// ------------------------------------------------------------------------------------------------
// Parsing (inventory A.5, adapted: see message::parse's documentation)

TEST_CASE("message::parse: empty input, or input that sets nothing, gives an empty message") {
    for (std::string_view text : {""sv, "\n"sv, "\n\n\n"sv, "\r\n\r\n"sv, "retry: 0\n\n"sv, "foo: bar\n\n"sv,
                                  "Data: x\n\n"sv, "data : x\n\n"sv, "retry: 0\n"sv, "\xEF\xBB\xBF"sv}) {
        CAPTURE(text);
        const sse::message m = parse_ok(text);
        CHECK(m == sse::message());
        CHECK(m.empty());
    }
}

TEST_CASE("message::parse: one data line, with or without the blank line") {
    for (std::string_view text : {"data: a\n\n"sv, "data: a\n"sv, "data: a\r\n"sv, "data: a\r"sv, "data:a\n\n"sv}) {
        CAPTURE(text);
        const sse::message m = parse_ok(text);
        CHECK(lines_of(m) == data_lines({"a"}));
        CHECK(serialize(m) == "data: a\n\n");
    }
}

TEST_CASE("message::parse: an unterminated line before any blank line is unexpected_end") {
    for (std::string_view text : {"data: a"sv, "id: 1\ndata: a"sv, "\n\ndata"sv, "retry: 5"sv, ": c"sv,
                                  "data: a\nid"sv}) {
        CAPTURE(text);
        parse_fails(text, sse::error::unexpected_end);
    }
}

TEST_CASE("message::parse: leading blank lines are skipped") {
    CHECK(lines_of(parse_ok("\n\ndata: a\n\n")) == data_lines({"a"}));
    CHECK(lines_of(parse_ok("\r\n\rdata: a\r\n\r\n")) == data_lines({"a"}));
}

TEST_CASE("message::parse: only the first message is parsed") {
    CHECK(lines_of(parse_ok("data: a\n\ndata: b\n\n")) == data_lines({"a"}));
    CHECK(lines_of(parse_ok("data: a\n\ndata: b")) == data_lines({"a"})); // the tail is not looked at
    CHECK(lines_of(parse_ok("data: a\n\nretry: x\n\n")) == data_lines({"a"}));
    const sse::message m = parse_ok("id: 1\n\nid: 2\n\n");
    CHECK(m.id == sse::event_id("1"));
}

TEST_CASE("message::parse: each field (inventory A.5)") {
    SECTION("event") {
        const sse::message m = parse_ok("event: x\n\n");
        CHECK(m.type == sse::event_type("x"));
        CHECK(m.line_count() == 0);
    }
    SECTION("an empty id is set") {
        const sse::message m = parse_ok("id:\n\n");
        CHECK(m.id.is_set());
        CHECK(m.id.str().empty());
        CHECK(serialize(m) == "id: \n\n");
    }
    SECTION("a field without a colon has an empty value") {
        const sse::message m = parse_ok("id\nevent\ndata\n\n");
        CHECK(m.id == sse::event_id(""));
        CHECK(m.type == sse::event_type(""));
        CHECK(lines_of(m) == data_lines({""}));
    }
    SECTION("a comment") {
        const sse::message m = parse_ok(": c\n\n");
        CHECK(lines_of(m) == std::vector<std::pair<kind, std::string>>{{kind::comment, "c"}});
    }
    SECTION("a comment without text, and one with two spaces") {
        const sse::message m = parse_ok(":\n:  two\n\n");
        CHECK(lines_of(m) == std::vector<std::pair<kind, std::string>>{{kind::comment, ""}, {kind::comment, " two"}});
    }
    SECTION("retry") {
        const sse::message m = parse_ok("retry: 1500\n\n");
        CHECK(m.retry == 1500ms);
        CHECK(parse_ok("retry: 007\n\n").retry == 7ms);
    }
    SECTION("the last of each field wins; lines keep their order") {
        const sse::message m =
            parse_ok("id: 1\nevent: a\nretry: 5\ndata: d1\n: c1\nid: 2\nevent: b\nretry: 7\ndata: d2\n\n");
        CHECK(m.id == sse::event_id("2"));
        CHECK(m.type == sse::event_type("b"));
        CHECK(m.retry == 7ms);
        CHECK(lines_of(m) == std::vector<std::pair<kind, std::string>>{
                                 {kind::data, "d1"}, {kind::comment, "c1"}, {kind::data, "d2"}});
    }
    SECTION("one leading space is removed, and only one (inventory §3.1)") {
        const sse::message m = parse_ok("data:a\r\ndata:  b\r\ndata:\tc\r\n\r\n");
        CHECK(lines_of(m) == data_lines({"a", " b", "\tc"}));
        CHECK(serialize(m) == "data: a\ndata:  b\ndata: \tc\n\n");
    }
    SECTION("unknown and wrongly cased fields are skipped") {
        const sse::message m = parse_ok("foo: bar\nData: x\ndata : y\nID: 3\nverylongname: z\ndata: kept\n\n");
        CHECK(lines_of(m) == data_lines({"kept"}));
        CHECK_FALSE(m.id.is_set());
    }
    SECTION("CR-only line ends") {
        const sse::message m = parse_ok("data: a\rdata: b\r\r");
        CHECK(lines_of(m) == data_lines({"a", "b"}));
    }
    SECTION("values keep colons and raw bytes") {
        const sse::message m = parse_ok("data: a: b\ndata: \xff\xfe\n\n");
        CHECK(lines_of(m) == data_lines({"a: b", "\xff\xfe"}));
    }
    SECTION("NUL in data and type is kept") {
        const sse::message m = parse_ok("event: t\0t\ndata: x\0y\n\n"s);
        CHECK(m.type.str() == "t\0t"s);
        CHECK(m.data() == "x\0y"s);
    }
}

TEST_CASE("message::parse: an id holding NUL is ignored") {
    const sse::message only = parse_ok("id: 1\0\n\n"s);
    CHECK_FALSE(only.id.is_set());
    CHECK(only.empty());

    const sse::message keeps_earlier = parse_ok("id: 2\nid: 3\0\ndata: x\n\n"s);
    CHECK(keeps_earlier.id == sse::event_id("2"));
    CHECK(keeps_earlier.data() == "x");

    const sse::message later = parse_ok("id: \0\nid: 4\n\n"s);
    CHECK(later.id == sse::event_id("4"));
}

TEST_CASE("message::parse: a leading BOM is skipped, once, only at the start") {
    const sse::message m = parse_ok("\xEF\xBB\xBFid: 1\n\n");
    CHECK(m.id == sse::event_id("1"));

    // A second BOM is part of the first field's name, which is then unknown.
    const sse::message two = parse_ok("\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\n");
    CHECK(two.line_count() == 0);
    CHECK(two.empty());

    // A BOM after a blank line is not at the start.
    const sse::message late = parse_ok("\n\xEF\xBB\xBF" "data: x\n\n");
    CHECK(late.empty());
}

TEST_CASE("message::parse: an invalid retry fails with invalid_retry and no partial fields") {
    struct row {
        std::string text;
        std::string shown; // the value the exception's message names
    };
    const std::vector<row> rows = {
        {"retry:\n\n", "\"\""},
        {"retry\n\n", "\"\""},
        {"retry: +10\n\n", "+10"},
        {"retry: -5\n\n", "-5"},
        {"retry:  5\n\n", "\" 5\""}, // one space is stripped, the second makes it invalid
        {"retry: 5x\n\n", "5x"},
        {"retry: 1.5\n\n", "1.5"},
        {"retry: 0x10\n\n", "0x10"},
        {"retry: 99999999999999999999\n\n", "99999999999999999999"},
        {"data: a\nretry: x\n\n", "\"x\""},        // go-sse keeps data "a"; here the result is empty
        {"id: 1\nretry: 10\nretry: y\n\n", "\"y\""}, // a valid retry before does not help
    };
    for (const row& r : rows) {
        CAPTURE(r.text);
        const std::string what = parse_fails(r.text, sse::error::invalid_retry);
        CAPTURE(what);
        CHECK(what.find(r.shown) != std::string::npos);
        CHECK(what.find("retry") != std::string::npos);
    }
}

TEST_CASE("message::parse: the largest retry that fits is accepted") {
    const std::string max = std::to_string(std::chrono::milliseconds::max().count());
    CHECK(parse_ok("retry: " + max + "\n\n").retry == std::chrono::milliseconds::max());
    parse_fails("retry: " + max + "0\n\n", sse::error::invalid_retry);
}

TEST_CASE("message::parse: an invalid retry after a BOM is named in the exception") {
    const std::string what = parse_fails("\xEF\xBB\xBFretry: bad\n\n", sse::error::invalid_retry);
    CAPTURE(what);
    CHECK(what.find("bad") != std::string::npos);
}

TEST_CASE("message::parse: the error form clears a stale error on success") {
    std::error_code ec = sse::error::invalid_retry;
    const sse::message m = sse::message::parse("data: ok\n\n", ec);
    CHECK_FALSE(ec);
    CHECK(m.data() == "ok");
}

TEST_CASE("message::parse: parse(to_string()) gives back fixed examples") {
    std::vector<sse::message> examples(6);
    examples[1].append_data("\n");
    examples[2].id = sse::event_id("");
    examples[3].type = sse::event_type(" spaced ");
    examples[3].append_comment(" lead", "");
    examples[3].append_comment("\n");
    examples[4].retry = 1ms;
    examples[5].id = sse::event_id("a:b");
    examples[5].append_data("  x", ":y", "\0"s);
    for (const sse::message& m : examples) {
        const std::string s = serialize(m);
        CAPTURE(s);
        CHECK(parse_ok(s) == m);
    }
}

// ------------------------------------------------------------------------------------------------
// Randomized round trip: message -> bytes -> message::parse, and -> sse::parser.

namespace {

class message_generator {
public:
    explicit message_generator(std::uint32_t seed) : rng_(seed) {}

    sse::message next() {
        sse::message m;
        switch (pick(3)) {
        case 0: break;
        case 1: m.id = sse::event_id(""); break;
        default: m.id = sse::event_id(printable(1 + pick(12))); break;
        }
        switch (pick(3)) {
        case 0: break;
        case 1: m.type = sse::event_type(""); break;
        default: m.type = sse::event_type(printable(1 + pick(12))); break;
        }
        m.retry = pick(2) == 0 ? std::chrono::milliseconds(0)
                               : std::chrono::milliseconds(1 + static_cast<long long>(pick(1'000'000)));
        const std::size_t lines = pick(7); // 0..6
        for (std::size_t i = 0; i < lines; ++i) {
            const std::string text = line(pick(20));
            // An empty chunk adds nothing; "\n" adds one empty line.
            const std::string chunk = text.empty() ? std::string("\n") : text;
            if (pick(3) == 0) m.append_comment(chunk);
            else m.append_data(chunk);
        }
        return m;
    }

private:
    std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

    // Printable ASCII, space and ':' included (and made more likely).
    std::string printable(std::size_t n) {
        std::string s;
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t r = pick(10);
            s += r == 0 ? ' ' : r == 1 ? ':' : static_cast<char>(0x20 + pick(0x7f - 0x20));
        }
        return s;
    }

    // Any bytes but CR and LF, with leading spaces, ':', UTF-8 and NUL made likely.
    std::string line(std::size_t n) {
        std::string s;
        if (pick(4) == 0) s.append(1 + pick(3), ' ');
        if (pick(6) == 0) s += ':';
        for (std::size_t i = 0; i < n; ++i) {
            switch (pick(8)) {
            case 0: s += ' '; break;
            case 1: s += ':'; break;
            case 2: s += '\0'; break;
            case 3: s += "\xC3\xA9"; break;         // é
            case 4: s += "\xF0\x9F\x98\x80"; break; // 😀
            default: {
                char c;
                do c = static_cast<char>(pick(256));
                while (c == '\r' || c == '\n');
                s += c;
            }
            }
        }
        return s;
    }

    std::mt19937 rng_;
};

struct seen_event {
    std::string type, data, id;
};

} // namespace

TEST_CASE("message: 3000 random messages round-trip through parse and the stream parser") {
    message_generator gen(20240601u);
    std::mt19937 cuts(7u);
    int with_data = 0;
    int empty_messages = 0;
    for (int i = 0; i < 3000; ++i) {
        const sse::message m = gen.next();
        const std::string wire = m.to_string();
        INFO("message #" << i << ": \"" << wire << "\"");

        // Size and the other serializations agree.
        REQUIRE(m.serialized_size() == wire.size());
        std::string appended = "x";
        m.write_to(appended);
        REQUIRE(appended == "x" + wire);

        // message::parse gives it back.
        std::error_code ec;
        const sse::message back = sse::message::parse(wire, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(back == m);

        // The stream parser sees one event iff there is a data line; fed whole and cut in three.
        std::size_t data_lines = 0;
        for (std::size_t l = 0; l < m.line_count(); ++l)
            if (m.line_at(l).kind == kind::data) ++data_lines;
        if (data_lines > 0) ++with_data;
        if (m.empty()) ++empty_messages;

        const std::size_t a = wire.empty() ? 0 : std::uniform_int_distribution<std::size_t>(0, wire.size())(cuts);
        const std::size_t b = wire.empty() ? 0 : std::uniform_int_distribution<std::size_t>(a, wire.size())(cuts);
        for (int how = 0; how < 2; ++how) {
            sse::parser p;
            std::vector<seen_event> events;
            const auto on_event = [&](const sse::event_view& ev) {
                events.push_back({std::string(ev.type), std::string(ev.data), std::string(ev.last_event_id)});
            };
            if (how == 0) {
                p.feed(wire, on_event);
            } else {
                const std::string_view w = wire;
                p.feed(w.substr(0, a), on_event);
                p.feed(w.substr(a, b - a), on_event);
                p.feed(w.substr(b), on_event);
            }
            CAPTURE(how, a, b);
            REQUIRE(events.size() == (data_lines > 0 ? 1u : 0u));
            if (!events.empty()) {
                CHECK(events[0].data == m.data());
                const std::string want_type =
                    m.type.is_set() && !m.type.str().empty() ? m.type.str() : std::string("message");
                CHECK(events[0].type == want_type);
                CHECK(events[0].id == m.id.str());
            }
            CHECK(p.last_event_id() == m.id.view()); // "" when unset, as for a new parser
            CHECK(p.reconnection_time() ==
                  (m.retry.count() >= 1 ? std::optional<std::chrono::milliseconds>(m.retry) : std::nullopt));
            CHECK_FALSE(p.finish()); // a complete message leaves nothing behind
        }
    }
    // The generator reaches every shape.
    CHECK(with_data > 1000);
    CHECK(empty_messages > 0);
}
