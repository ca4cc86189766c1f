// sse/parser.hpp: the incremental text/event-stream parser against the WHATWG
// HTML rules for "Interpreting an event stream", one rule per test, then a
// conformance table (inventory Appendix A.1 translated to the spec's results,
// and more) fed whole, split at every offset, byte by byte and in three
// pieces; the maximum event size; long lines; the line-end scanner; and
// random streams against the fuzzers' reference parser, cut many ways.
#include "sse_test.hpp"

#include "fuzz/reference_parser.hpp"

#include <sse/detail/byte_buffer.hpp>
#include <sse/detail/line.hpp>
#include <sse/error.hpp>
#include <sse/event.hpp>
#include <sse/parser.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using namespace std::string_literals;
using namespace std::string_view_literals;

namespace {

// One dispatched event, copied out of the callback.
struct ev {
    std::string type;
    std::string data;
    std::string id;
    friend bool operator==(const ev&, const ev&) = default;
};

// An unnamed ("message") event and a named one.
ev m(std::string data, std::string id = "") { return {"message", std::move(data), std::move(id)}; }
ev t(std::string type, std::string data, std::string id = "") { return {std::move(type), std::move(data), std::move(id)}; }

// Bytes made readable in failure messages.
std::string show(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c == '\\') out += "\\\\";
        else if (c < 0x20 || c >= 0x7f) {
            static const char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else out += static_cast<char>(c);
    }
    return out;
}

std::ostream& operator<<(std::ostream& os, const ev& e) {
    return os << "{type \"" << show(e.type) << "\", data \"" << show(e.data) << "\", id \"" << show(e.id) << "\"}";
}

// Everything observable after feeding a whole input.
struct outcome {
    std::vector<ev> events;
    std::optional<long long> retry; // reconnection_time() in ms
    std::string last_id;            // last_event_id() after the input
    bool dropped = false;           // finish() afterwards: an incomplete event was dropped
    std::string problems = "";      // anything else that went wrong (a feed error, finish() changing state)
    friend bool operator==(const outcome&, const outcome&) = default;
};

std::ostream& operator<<(std::ostream& os, const outcome& o) {
    os << "events [";
    for (const ev& e : o.events) os << " " << e;
    os << " ] retry ";
    if (o.retry) os << *o.retry;
    else os << "none";
    os << ", last id \"" << show(o.last_id) << "\", dropped " << (o.dropped ? "yes" : "no");
    if (!o.problems.empty()) os << ", problems:" << o.problems;
    return os;
}

std::string describe(const outcome& o) {
    std::ostringstream s;
    s << o;
    return s.str();
}

// Feeds `input` cut at `cuts` (ascending offsets; equal offsets give empty
// feeds). Each piece lives in its own heap buffer, freed right after its feed,
// so a parser that kept a pointer into it is caught by AddressSanitizer.
outcome run(std::string_view input, const std::vector<std::size_t>& cuts = {}, sse::parser_options options = {}) {
    sse::parser p(options);
    outcome o;
    const auto on_event = [&](const sse::event_view& e) {
        o.events.push_back({std::string(e.type), std::string(e.data), std::string(e.last_event_id)});
    };
    std::size_t at = 0;
    const auto feed = [&](std::size_t to) {
        const std::size_t n = to - at;
        std::unique_ptr<char[]> piece(new char[n == 0 ? 1 : n]);
        input.copy(piece.get(), n, at);
        std::error_code ec;
        p.feed(std::string_view(piece.get(), n), on_event, ec);
        if (ec) o.problems += " feed error " + ec.message() + ";";
        at = to;
    };
    for (std::size_t c : cuts) feed(c);
    feed(input.size());
    if (const auto r = p.reconnection_time()) o.retry = r->count();
    o.last_id = std::string(p.last_event_id());
    o.dropped = p.finish();
    // finish() keeps the last event id and the reconnection time.
    if (p.last_event_id() != o.last_id) o.problems += " finish() changed the last event id;";
    if (p.reconnection_time() != (o.retry ? std::optional<std::chrono::milliseconds>(*o.retry) : std::nullopt))
        o.problems += " finish() changed the reconnection time;";
    return o;
}

// The events of `input` fed whole.
std::vector<ev> events_of(std::string_view input) { return run(input).events; }

// Feeds `reads` one after the other to one parser.
outcome run_reads(const std::vector<std::string>& reads) {
    std::string all;
    std::vector<std::size_t> cuts;
    for (const std::string& r : reads) {
        if (!all.empty() || !cuts.empty()) cuts.push_back(all.size());
        all += r;
    }
    return run(all, cuts);
}

} // namespace

// ------------------------------------------------------------------------------------------------
// The contract outside conformance checks rely on, spelled exactly as they use it.

TEST_CASE("parser: the conformance-check contract compiles and behaves as documented") {
    sse::parser p;
    std::vector<std::string> seen;
    std::string_view bytes = "retry: 250\nid: 7\nevent: e\ndata: d\n\n";
    p.feed(bytes, [&](const auto& event) {
        const std::string_view type = event.type;
        const std::string_view data = event.data;
        const std::string_view last_event_id = event.last_event_id;
        seen.push_back(std::string(type) + "|" + std::string(data) + "|" + std::string(last_event_id));
    });
    REQUIRE(seen.size() == 1);
    CHECK(seen[0] == "e|d|7");

    std::error_code ec;
    auto on_event = [&](const sse::event_view& event) { seen.emplace_back(event.data); };
    p.feed(std::string_view("data: second\n\n"), on_event, ec);
    CHECK_FALSE(ec);
    REQUIRE(seen.size() == 2);
    CHECK(seen[1] == "second");

    STATIC_REQUIRE(std::is_same_v<decltype(p.reconnection_time()), std::optional<std::chrono::milliseconds>>);
    const std::optional<std::chrono::milliseconds> rt = p.reconnection_time();
    REQUIRE(rt.has_value());
    CHECK(*rt == 250ms);
    CHECK(p.last_event_id() == "7");
}

TEST_CASE("parser: any callable works as on_event: const, mutable, std::function, by value or reference") {
    const std::string_view input = "data: a\n\ndata: b\n\n";
    std::vector<std::string> got;

    const auto const_lambda = [&](const sse::event_view& e) { got.emplace_back(e.data); };
    sse::parser p1;
    p1.feed(input, const_lambda);
    CHECK(got == std::vector<std::string>{"a", "b"});

    int count = 0;
    sse::parser p2;
    p2.feed(input, [count](const sse::event_view&) mutable { ++count; }); // a mutable temporary
    auto counter = [&count](const sse::event_view&) mutable { ++count; };
    p2.feed(input, counter);
    CHECK(count == 2);

    got.clear();
    std::function<void(const sse::event_view&)> fn = [&](const sse::event_view& e) { got.emplace_back(e.type); };
    sse::parser p3;
    std::error_code ec;
    p3.feed("event: x\ndata: 1\n\n", fn, ec);
    CHECK_FALSE(ec);
    CHECK(got == std::vector<std::string>{"x"});

    // An owning sse::event can be assigned from the view.
    sse::event kept;
    sse::parser p4;
    p4.feed("id: 3\nevent: y\ndata: z\n\n", [&](const sse::event_view& e) { kept = e; });
    CHECK(kept == sse::event("y", "z", "3"));
}

// ------------------------------------------------------------------------------------------------
// The spec's rules, one at a time.

TEST_CASE("parser: a BOM is skipped at the very start of the stream") {
    CHECK(events_of("\xEF\xBB\xBF" "data: x\n\n") == std::vector<ev>{m("x")});
    CHECK(events_of("\xEF\xBB\xBF\ndata: x\n\n") == std::vector<ev>{m("x")});
}

TEST_CASE("parser: a BOM split across feeds byte by byte is still skipped") {
    sse::parser p;
    std::vector<ev> got;
    const auto on_event = [&](const sse::event_view& e) { got.push_back({std::string(e.type), std::string(e.data), {}}); };
    p.feed("\xEF", on_event);
    p.feed("", on_event); // an empty feed decides nothing
    p.feed("\xBB", on_event);
    p.feed("\xBF", on_event);
    p.feed("data: x\n\n", on_event);
    CHECK(got == std::vector<ev>{m("x")});
}

TEST_CASE("parser: a second BOM is not skipped: it makes the first field's name unknown") {
    CHECK(events_of("\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\n").empty());
    CHECK(events_of("\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\ndata: y\n\n") == std::vector<ev>{m("y")});
}

TEST_CASE("parser: a BOM after the first byte is not skipped (after a blank line or an event)") {
    // go-sse strips it after leading blank lines (inventory D8); the spec does not.
    CHECK(events_of("\n\xEF\xBB\xBF" "data: x\n\n").empty());
    CHECK(events_of("data: x\n\n\xEF\xBB\xBF" "data: y\n\n") == std::vector<ev>{m("x")});
}

TEST_CASE("parser: the beginning of a BOM that does not complete is part of the first line") {
    CHECK(events_of("\xEF\xBB" "data: x\n\ndata: y\n\n") == std::vector<ev>{m("y")});
    CHECK(events_of("\xEF" "data: x\n\ndata: y\n\n") == std::vector<ev>{m("y")});
    // Cut after the partial BOM: still one line.
    const outcome o = run("\xEF\xBB" "data: x\n\ndata: y\n\n", {2});
    CHECK(o.events == std::vector<ev>{m("y")});
    // A partial BOM then a line end is a line of its own (an unknown field).
    CHECK(events_of("\xEF\xBB\ndata: x\n\n") == std::vector<ev>{m("x")});
}

TEST_CASE("parser: after finish() a new stream may start with a BOM again") {
    sse::parser p;
    std::vector<std::string> got;
    const auto on_event = [&](const sse::event_view& e) { got.emplace_back(e.data); };
    p.feed("\xEF\xBB\xBF" "data: 1\n\n", on_event);
    CHECK_FALSE(p.finish());
    p.feed("\xEF\xBB\xBF" "data: 2\n\n", on_event);
    CHECK(got == std::vector<std::string>{"1", "2"});
}

TEST_CASE("parser: lines end at LF, CR or CRLF, mixed freely") {
    CHECK(events_of("data: a\ndata: b\n\n") == std::vector<ev>{m("a\nb")});
    CHECK(events_of("data: a\rdata: b\r\r") == std::vector<ev>{m("a\nb")});
    CHECK(events_of("data: a\r\ndata: b\r\n\r\n") == std::vector<ev>{m("a\nb")});
    CHECK(events_of("data: a\rdata: b\ndata: c\r\n\r\n") == std::vector<ev>{m("a\nb\nc")});
    CHECK(events_of("data: a\n\rdata: b\r\n\n") == std::vector<ev>{m("a"), m("b")});
    // LF CR is two line ends, CR LF one.
    CHECK(events_of("data: a\n\r") == std::vector<ev>{m("a")});
    CHECK(events_of("data: a\r\n").empty());
}

TEST_CASE("parser: a CR ending one feed and an LF starting the next are one line end") {
    sse::parser p;
    std::vector<std::string> got;
    const auto on_event = [&](const sse::event_view& e) { got.emplace_back(e.data); };
    p.feed("data: a\r", on_event);
    p.feed("\ndata: b\r", on_event); // were that LF a blank line, "a" would be dispatched alone
    CHECK(got.empty());
    p.feed("\n\r", on_event);
    CHECK(got == std::vector<std::string>{"a\nb"});
    p.feed("\n", on_event); // the LF of the blank line's CRLF: no extra blank line
    p.feed("data: c\r", on_event);
    p.feed("", on_event); // an empty feed in between changes nothing
    p.feed("\n\r\n", on_event);
    CHECK(got == std::vector<std::string>{"a\nb", "c"});
    CHECK_FALSE(p.finish());
}

TEST_CASE("parser: a CR at the end of a feed then a non-LF byte: the CR alone ended the line") {
    sse::parser p;
    std::vector<std::string> got;
    const auto on_event = [&](const sse::event_view& e) { got.emplace_back(e.data); };
    p.feed("data: a\r", on_event);
    p.feed("\r", on_event); // a blank line
    CHECK(got == std::vector<std::string>{"a"});
    p.feed("data: b\r", on_event);
    p.feed("data: c\r\r", on_event);
    CHECK(got == std::vector<std::string>{"a", "b\nc"});
}

TEST_CASE("parser: a line without a colon is a field with an empty value") {
    CHECK(events_of("data\n\n") == std::vector<ev>{m("")});
    CHECK(events_of("data\ndata\n\n") == std::vector<ev>{m("\n")});
    CHECK(events_of("event\ndata: x\n\n") == std::vector<ev>{m("x")}); // empty type: "message"
    CHECK(events_of("id: 1\nid\ndata: x\n\n") == std::vector<ev>{m("x", "")});
}

TEST_CASE("parser: one leading space of a value is removed, only one, and not a tab") {
    CHECK(events_of("data:a\n\n") == std::vector<ev>{m("a")});
    CHECK(events_of("data: a\n\n") == std::vector<ev>{m("a")});
    CHECK(events_of("data:  a\n\n") == std::vector<ev>{m(" a")});
    CHECK(events_of("data:\ta\n\n") == std::vector<ev>{m("\ta")});
    CHECK(events_of("data: \ta\n\n") == std::vector<ev>{m("\ta")});
    CHECK(events_of("data: a \n\n") == std::vector<ev>{m("a ")}); // trailing spaces stay
    CHECK(events_of("event:  x\ndata\n\n") == std::vector<ev>{t(" x", "")});
    CHECK(events_of("id:  5\ndata\n\n") == std::vector<ev>{m("", " 5")});
}

TEST_CASE("parser: the value is everything after the first colon") {
    CHECK(events_of("data: a: b\n\n") == std::vector<ev>{m("a: b")});
    CHECK(events_of("data:::\n\n") == std::vector<ev>{m("::")});
    CHECK(events_of("id: a:b\ndata\n\n") == std::vector<ev>{m("", "a:b")});
}

TEST_CASE("parser: unknown and wrongly cased field names are ignored") {
    for (std::string_view input : {"Data: x\n\n"sv, "DATA: x\n\n"sv, "data : x\n\n"sv, " data: x\n\n"sv,
                                   "data\t: x\n\n"sv, "dat: x\n\n"sv, "datas: x\n\n"sv, "dataaaaaaaaaa\n\n"sv,
                                   "foo: bar\n\n"sv, "verylongfieldname: data\n\n"sv, "data  \n\n"sv}) {
        CAPTURE(show(input));
        CHECK(events_of(input).empty());
    }
    CHECK(events_of("Event: x\ndata: y\n\n") == std::vector<ev>{m("y")});
    CHECK(events_of("ID: 5\ndata: y\n\n") == std::vector<ev>{m("y")});
    CHECK(run("Retry: 5\n\n").retry == std::nullopt);
    CHECK(events_of("foo: bar\ndata: kept\nbaz\n\n") == std::vector<ev>{m("kept")});
}

TEST_CASE("parser: comments are ignored") {
    CHECK(events_of(": comment\n\n").empty());
    CHECK(events_of(":\n\n").empty());
    CHECK(events_of(":data: x\n\n").empty());
    CHECK(events_of("data: a\n: between\ndata: b\n\n") == std::vector<ev>{m("a\nb")});
    CHECK(events_of(": first\ndata: x\n: last\n\n") == std::vector<ev>{m("x")});
}

TEST_CASE("parser: on_comment sees every comment's text, one leading space removed") {
    sse::parser p;
    std::vector<std::string> comments;
    std::vector<std::string> order;
    p.on_comment([&](std::string_view text) {
        comments.emplace_back(text);
        order.push_back("comment");
    });
    const auto on_event = [&](const sse::event_view&) { order.push_back("event"); };
    p.feed(": hello\n:\n:  two\n:no space\n:\ttab\n", on_event);
    CHECK(comments == std::vector<std::string>{"hello", "", " two", "no space", "\ttab"});

    // A comment cut across feeds arrives once, whole.
    comments.clear();
    order.clear();
    p.feed(": a long ", on_event);
    p.feed("heart", on_event);
    p.feed("beat\r", on_event);
    p.feed("\ndata: x\n\n: after\n", on_event);
    CHECK(comments == std::vector<std::string>{"a long heartbeat", "after"});
    CHECK(order == std::vector<std::string>{"comment", "event", "comment"});

    // Raw bytes pass through.
    comments.clear();
    p.feed(": \xff\0x\n"sv, on_event);
    CHECK(comments == std::vector<std::string>{"\xff\0x"s});

    // An empty handler drops comments again.
    p.on_comment({});
    p.feed(": unseen\n", on_event);
    CHECK(comments.size() == 1);
}

TEST_CASE("parser: an id holding NUL is ignored") {
    CHECK(events_of("id: a\0b\ndata: x\n\n"sv) == std::vector<ev>{m("x", "")});
    CHECK(events_of("id: 1\nid: a\0b\ndata: x\n\n"sv) == std::vector<ev>{m("x", "1")});
    CHECK(events_of("id: \0\ndata: x\n\n"sv) == std::vector<ev>{m("x", "")});
    const outcome o = run("id: 1\n\nid: 2\0\n\n"sv);
    CHECK(o.last_id == "1");
}

TEST_CASE("parser: the last event id persists across events, and an empty id resets it") {
    const outcome o = run("id: 1\ndata: a\n\ndata: b\n\nid:\ndata: c\n\ndata: d\n\nid: 9\ndata: e\n\n");
    CHECK(o.events == std::vector<ev>{m("a", "1"), m("b", "1"), m("c", ""), m("d", ""), m("e", "9")});
    CHECK(o.last_id == "9");
    CHECK(run("id: 1\n\nid\n\n").last_id.empty());
}

TEST_CASE("parser: last_event_id() is committed at blank lines only") {
    sse::parser p;
    std::vector<ev> got;
    const auto on_event = [&](const sse::event_view& e) {
        got.push_back({std::string(e.type), std::string(e.data), std::string(e.last_event_id)});
    };
    p.feed("id: 5\n", on_event);
    CHECK(p.last_event_id().empty());
    p.feed("data: a\n", on_event);
    CHECK(p.last_event_id().empty());
    p.feed("\n", on_event);
    CHECK(p.last_event_id() == "5");
    CHECK(got == std::vector<ev>{m("a", "5")}); // the event sees its own id

    p.feed("id: 6\n", on_event);
    CHECK(p.last_event_id() == "5");
    p.feed("\n", on_event); // no data: nothing dispatched, but the id is committed
    CHECK(p.last_event_id() == "6");
    CHECK(got.size() == 1);

    p.feed("id\n", on_event);
    CHECK(p.last_event_id() == "6");
    p.feed("\n", on_event);
    CHECK(p.last_event_id().empty());
}

TEST_CASE("parser: retry counts only when all ASCII digits") {
    struct row {
        std::string_view input;
        std::optional<long long> retry;
    };
    const std::vector<row> rows = {
        {"retry: 5\n\n", 5},
        {"retry:5\n\n", 5},
        {"retry: 0\n\n", 0},
        {"retry: 007\n\n", 7},
        {"retry: 9223372036854775807\n\n", 9223372036854775807LL},
        {"retry: +5\n\n", std::nullopt}, // go-sse accepts it (inventory D3)
        {"retry: -5\n\n", std::nullopt},
        {"retry:  5\n\n", std::nullopt}, // the second space is part of the value
        {"retry: 5 \n\n", std::nullopt},
        {"retry: 5x\n\n", std::nullopt},
        {"retry: 1.5\n\n", std::nullopt},
        {"retry: 1e3\n\n", std::nullopt},
        {"retry: 0x10\n\n", std::nullopt},
        {"retry: 1_000\n\n", std::nullopt},
        {"retry:\n\n", std::nullopt},
        {"retry\n\n", std::nullopt},
        {"retry: \xD9\xA3\n\n", std::nullopt}, // ARABIC-INDIC DIGIT THREE is not ASCII
        {"retry: 99999999999999999999\n\n", std::nullopt},
        {"retry: 9223372036854775808\n\n", std::nullopt},
    };
    for (const row& r : rows) {
        CAPTURE(show(r.input));
        const outcome o = run(r.input);
        CHECK(o.retry == r.retry);
        CHECK(o.events.empty());
    }
}

TEST_CASE("parser: reconnection_time() is the last valid retry; invalid ones change nothing") {
    sse::parser p;
    const auto ignore = [](const sse::event_view&) {};
    CHECK_FALSE(p.reconnection_time().has_value());
    p.feed("retry: 1000\n\n", ignore);
    CHECK(p.reconnection_time() == std::optional<std::chrono::milliseconds>(1000ms));
    p.feed("retry: x\nretry: -1\n\n", ignore);
    CHECK(p.reconnection_time() == std::optional<std::chrono::milliseconds>(1000ms));
    p.feed("retry: 30\nretry: 40\ndata: d\n\n", ignore);
    CHECK(p.reconnection_time() == std::optional<std::chrono::milliseconds>(40ms));
    // A retry takes effect when its line is read, not at the blank line.
    p.feed("retry: 7\n", ignore);
    CHECK(p.reconnection_time() == std::optional<std::chrono::milliseconds>(7ms));
    p.feed("retry: 0\n", ignore);
    CHECK(p.reconnection_time() == std::optional<std::chrono::milliseconds>(0ms));
}

TEST_CASE("parser: a block without data dispatches nothing, but its id is committed") {
    const outcome id_only = run("id: 5\n\n");
    CHECK(id_only.events.empty());
    CHECK(id_only.last_id == "5");

    CHECK(run("event: x\n\n").events.empty());
    CHECK(run("event\n\n").events.empty());
    const outcome retry_only = run("retry: 5\n\n");
    CHECK(retry_only.events.empty());
    CHECK(retry_only.retry == 5);
    CHECK(run("id: 1\nevent: x\nretry: 2\n: c\n\n").events.empty());
    CHECK(run("\n\n\n\n").events.empty());
}

TEST_CASE("parser: the type defaults to \"message\" and resets after each block") {
    CHECK(events_of("data: a\n\n") == std::vector<ev>{t("message", "a")});
    CHECK(events_of("event: x\ndata: a\n\ndata: b\n\n") == std::vector<ev>{t("x", "a"), m("b")});
    // Also a block that dispatched nothing resets it.
    CHECK(events_of("event: x\n\ndata: a\n\n") == std::vector<ev>{m("a")});
    CHECK(events_of("event: x\nevent: y\ndata: a\n\n") == std::vector<ev>{t("y", "a")});
    CHECK(events_of("event:\ndata: a\n\n") == std::vector<ev>{m("a")});
}

TEST_CASE("parser: \"event: message\" is the same as no event field") {
    // go-sse keeps the type "" for unnamed events (inventory D5); the spec says "message".
    CHECK(events_of("event: message\ndata: m\n\n") == events_of("data: m\n\n"));
    CHECK(events_of("event: message\ndata: m\n\n") == std::vector<ev>{m("m")});
}

TEST_CASE("parser: the data's final LF is removed, no other") {
    CHECK(events_of("data:\n\n") == std::vector<ev>{m("")});
    CHECK(events_of("data:\ndata:\n\n") == std::vector<ev>{m("\n")});
    CHECK(events_of("data: a\ndata:\n\n") == std::vector<ev>{m("a\n")});
    CHECK(events_of("data:\ndata: a\n\n") == std::vector<ev>{m("\na")});
    CHECK(events_of("data: a\ndata:\ndata:\n\n") == std::vector<ev>{m("a\n\n")});
}

TEST_CASE("parser: an unterminated event at the end is not dispatched; finish() reports it") {
    struct row {
        std::string_view input;
        std::vector<ev> events;
        std::string last_id;
    };
    const std::vector<row> rows = {
        {"data: a\n", {}, ""},
        {"data: a", {}, ""},
        {"event: x\n", {}, ""},
        {"id: 9\n", {}, ""}, // the id of an event that never ended is not committed
        {"id: 9\ndata: x\n", {}, ""},
        {"retry: 5\n", {}, ""},
        {"data: a\n\ndata: b\n", {m("a")}, ""},
        {"id: 5\ndata: a\n\nid: 6\n", {m("a", "5")}, "5"},
        {"data: a\n\n: unterminated comment", {m("a")}, ""},
        {"data: a\r", {}, ""},
    };
    for (const row& r : rows) {
        CAPTURE(show(r.input));
        sse::parser p;
        std::vector<ev> got;
        std::error_code ec;
        p.feed(r.input, [&](const sse::event_view& e) {
            got.push_back({std::string(e.type), std::string(e.data), std::string(e.last_event_id)});
        }, ec);
        CHECK_FALSE(ec); // no error: the spec has none
        CHECK(got == r.events);
        CHECK(p.finish());
        CHECK(p.last_event_id() == r.last_id);
        CHECK_FALSE(p.finish()); // nothing left the second time
        // The dropped event does not leak into the next stream.
        p.feed("\n\ndata: next\n\n", [&](const sse::event_view& e) {
            got.push_back({std::string(e.type), std::string(e.data), std::string(e.last_event_id)});
        });
        REQUIRE_FALSE(got.empty());
        CHECK(got.back() == m("next", r.last_id));
    }
}

TEST_CASE("parser: finish() reports nothing dropped after complete events, comments or blank lines") {
    for (std::string_view input : {""sv, "data: a\n\n"sv, "\n\n"sv, ": c\n"sv, "data: a\n\n: c\n"sv, "id: 1\n\n"sv,
                                   "\xEF\xBB\xBF"sv, "data: a\r\n\r\n"sv}) {
        CAPTURE(show(input));
        CHECK_FALSE(run(input).dropped);
    }
    for (std::string_view input : {"\xEF\xBB"sv, "data"sv, ": c"sv, "x\n"sv, "event: x\n"sv}) {
        CAPTURE(show(input));
        CHECK(run(input).dropped);
    }
}

TEST_CASE("parser: finish() keeps the last event id and reconnection time; reset() clears them") {
    sse::parser p;
    std::vector<ev> got;
    const auto on_event = [&](const sse::event_view& e) {
        got.push_back({std::string(e.type), std::string(e.data), std::string(e.last_event_id)});
    };
    p.feed("retry: 3000\nid: 42\ndata: a\n\nid: 43\nevent: x\ndata: partial", on_event);
    CHECK(p.finish());
    CHECK(p.last_event_id() == "42");
    CHECK(p.reconnection_time() == std::optional<std::chrono::milliseconds>(3000ms));

    // The next stream continues with id 42 (an EventSource keeps it across reconnections).
    p.feed("data: b\n\n", on_event);
    CHECK(got == std::vector<ev>{m("a", "42"), m("b", "42")});

    p.reset();
    CHECK(p.last_event_id().empty());
    CHECK_FALSE(p.reconnection_time().has_value());
    CHECK_FALSE(p.failure());
    p.feed("data: c\n\n", on_event);
    CHECK(got.back() == m("c", ""));
    CHECK(p.options().max_event_size == sse::parser::default_max_event_size);

    // reset() keeps the options.
    sse::parser small(sse::parser_options{100});
    small.reset();
    CHECK(small.options().max_event_size == 100);
}

TEST_CASE("parser: bytes pass through raw: NUL and invalid UTF-8") {
    CHECK(events_of("data: x\0y\n\n"sv) == std::vector<ev>{m("x\0y"s)});
    CHECK(events_of("data: \xff\xfe invalid utf8\n\n") == std::vector<ev>{m("\xff\xfe invalid utf8")});
    CHECK(events_of("data: \xC3\x28\xA0\xA1\n\n") == std::vector<ev>{m("\xC3\x28\xA0\xA1")});
    CHECK(events_of("data: \xF0\x9F\x98\x80\n\n") == std::vector<ev>{m("\xF0\x9F\x98\x80")});
    CHECK(events_of("event: \xff\0\ndata: x\n\n"sv) == std::vector<ev>{t("\xff\0"s, "x")});
    CHECK(events_of("id: \xC3\xA9\xff\ndata: x\n\n") == std::vector<ev>{m("x", "\xC3\xA9\xff")});
    CHECK(events_of("data: \xEF\xBB\xBF\n\n") == std::vector<ev>{m("\xEF\xBB\xBF")}); // a BOM inside data stays
}

TEST_CASE("parser: an exception from on_event propagates; the parser stays usable") {
    sse::parser p;
    std::vector<std::string> got;
    bool throw_next = true;
    const auto on_event = [&](const sse::event_view& e) {
        if (throw_next) {
            throw_next = false;
            throw std::runtime_error("stop");
        }
        got.emplace_back(e.data);
    };
    CHECK_THROWS_AS(p.feed("data: a\n\ndata: b\n\n", on_event), std::runtime_error);
    CHECK(got.empty()); // the rest of those bytes was not parsed
    p.feed("data: c\n\n", on_event);
    CHECK(got == std::vector<std::string>{"c"});
}

// ------------------------------------------------------------------------------------------------
// The conformance table: input bytes -> the spec's events, reconnection time,
// last event id, and whether finish() drops an incomplete event.

namespace {

struct conformance_case {
    std::string name;
    std::string input;
    std::vector<ev> events;
    std::optional<long long> retry = std::nullopt;
    std::string last_id = "";
    bool dropped = false;
};

const std::vector<conformance_case>& conformance_cases() {
    static const std::vector<conformance_case> cases = {
        // ---- Inventory Appendix A.1, translated to the spec's behaviour.
        {"A1 data", "data: a\n\n", {m("a")}},
        {"A1 no blank line (D2: go-sse dispatches at EOF; the spec drops it)", "data: a\n", {}, {}, "", true},
        {"A1 unterminated line (D2: go-sse errors; the spec drops it silently)", "data: a", {}, {}, "", true},
        {"A1 event then unterminated (D2)", "data: a\n\ndata: b", {m("a")}, {}, "", true},
        {"A1 extra blank line", "data: a\n\n\n", {m("a")}},
        {"A1 blank lines only", "\n\n\n", {}},
        {"A1 empty input", "", {}},
        {"A1 event only (D1: go-sse dispatches; the spec does not)", "event: x\n\n", {}},
        {"A1 id only (D1; the id is committed)", "id: 5\n\n", {}, {}, "5"},
        {"A1 retry only (D1)", "retry: 100\n\n", {}, 100},
        {"A1 data without colon", "data\n\n", {m("")}},
        {"A1 data with colon, no value", "data:\n\n", {m("")}},
        {"A1 two empty data lines", "data:\ndata:\n\n", {m("\n")}},
        {"A1 two spaces", "data:  two spaces\n\n", {m(" two spaces")}},
        {"A1 tab kept", "data:\tTab\n\n", {m("\tTab")}},
        {"A1 upper-case name", "Data: upper\n\n", {}},
        {"A1 space before colon", "data : spacebeforecolon\n\n", {}},
        {"A1 comment only", ": comment only\n\n", {}},
        {"A1 type resets after dispatch (D5: unnamed is \"message\")", "event: x\ndata: 1\n\ndata: 2\n\n",
         {t("x", "1"), m("2")}},
        {"A1 id persists, empty id resets", "id: 1\ndata: a\n\ndata: b\n\nid:\ndata: c\n\ndata: d\n\n",
         {m("a", "1"), m("b", "1"), m("c", ""), m("d", "")}},
        {"A1 NUL id ignored", "id: a\0b\ndata: x\n\n"s, {m("x")}},
        {"A1 NUL id block (D1: nothing either way)", "id: 1\n\nid: a\0b\n\n"s, {}, {}, "1"},
        {"A1 CRLF", "data: a\r\ndata: b\r\n\r\n", {m("a\nb")}},
        {"A1 CR", "data: a\rdata: b\r\r", {m("a\nb")}},
        {"A1 BOM", "\xEF\xBB\xBF" "data: bom\n\n", {m("bom")}},
        {"A1 two BOMs", "\xEF\xBB\xBF\xEF\xBB\xBF" "data: twobom\n\n", {}},
        {"A1 BOM after a blank line (D8: go-sse strips it; the spec does not)", "\n\xEF\xBB\xBF" "data: x\n\n", {}},
        {"A1 BOM then blank line", "\xEF\xBB\xBF\ndata: x\n\n", {m("x")}},
        {"A1 BOM after an event", "data: x\n\n\xEF\xBB\xBF" "data: y\n\n", {m("x")}},
        {"A1 NUL in data", "data: x\0y\n\n"s, {m("x\0y"s)}},
        {"A1 event: message (D5)", "event: message\ndata: m\n\n", {m("m")}},
        {"A1 long unknown name", "dataaaaaaaaaa\n\n", {}},
        {"A1 very long unknown field", "verylongfieldname: v\ndata: d\n\n", {m("d")}},
        {"A1 event without colon (D5: type \"\" is \"message\")", "event\ndata: no-colon-event\n\n",
         {m("no-colon-event")}},
        {"A1 id without colon", "id\ndata: no-colon-id\n\n", {m("no-colon-id", "")}},
        {"A1 event-only block then event (D1)", "event: a\n\nevent: b\ndata: d\n\n", {t("b", "d")}},
        {"A1 id then empty id", "id: 1\nid\ndata: x\n\n", {m("x", "")}},
        {"A1 retry and data", "retry: 5\ndata: x\n\n", {m("x")}, 5},
        {"A1 empty comment", ":\n\n", {}},
        {"A1 CRLF blank lines between events", "data: a\n\n\r\n\r\ndata: b\n\n", {m("a"), m("b")}},
        {"A1 NUL line", "id: 1\n\0\n\n"s, {}, {}, "1"},
        {"A1 unterminated event block (D2)", "event: x\n", {}, {}, "", true},
        {"A1 unterminated id block (D2, D6: not committed)", "id: 9\n", {}, {}, "", true},
        {"A1 invalid UTF-8", "data: \xff\xfe invalid utf8\n\n", {m("\xff\xfe invalid utf8")}},
        // A.1's multi-read rows, concatenated (run_reads feeds them as read).
        {"A1 reads CR|LF", "data: a\r\ndata: b\r\n\r\n", {m("a\nb")}},
        {"A1 reads CR|CR", "data: a\r\rdata: b\n\n", {m("a"), m("b")}},
        {"A1 reads LF CR|LF", "data: a\n\r\ndata: b\n\n", {m("a"), m("b")}},
        {"A1 reads split BOM", "\xEF\xBB\xBF" "data: x\n\n", {m("x")}},
        {"A1 reads id at EOF (D2, D6)", "id: 5\ndata: a\n\nid: 6\n", {m("a", "5")}, {}, "5", true},

        // ---- More of the spec.
        {"two events", "data: a\n\ndata: b\n\n", {m("a"), m("b")}},
        {"no space after colon", "data:a\n\n", {m("a")}},
        {"three data lines", "data: a\ndata: b\ndata: c\n\n", {m("a\nb\nc")}},
        {"comment between data lines", "data: a\n: comment\ndata: b\n\n", {m("a\nb")}},
        {"retry with junk", "retry: 5x\n\n", {}},
        {"retry negative", "retry: -5\n\n", {}},
        {"retry plus sign (D3: go-sse takes 5)", "retry: +5\n\n", {}},
        {"retry two spaces", "retry:  5\n\n", {}},
        {"retry empty", "retry:\n\n", {}},
        {"retry without colon", "retry\n\n", {}},
        {"retry overflow", "retry: 99999999999999999999\n\n", {}},
        {"retry zero", "retry: 0\n\n", {}, 0},
        {"retry invalid keeps previous", "retry: 1000\nretry: x\n\n", {}, 1000},
        {"retry leading zeros", "retry: 007\n\n", {}, 7},
        {"retry applies before the blank line", "retry: 5\n", {}, 5, "", true},
        {"id-only block then event", "id: 5\n\ndata: a\n\n", {m("a", "5")}, {}, "5"},
        {"empty-id block resets", "id: 5\ndata: a\n\nid:\n\ndata: b\n\n", {m("a", "5"), m("b", "")}},
        {"event-only block resets the type", "event: x\n\ndata: a\n\n", {m("a")}},
        {"type then unnamed", "event: x\ndata: a\n\ndata: b\n\n", {t("x", "a"), m("b")}},
        {"last event field wins", "event: x\nevent: y\ndata: a\n\n", {t("y", "a")}},
        {"empty event field", "event:\ndata: a\n\n", {m("a")}},
        {"CRLF CRLF", "data: a\r\n\r\n", {m("a")}},
        {"CR CR", "data: a\r\r", {m("a")}},
        {"LF CRLF", "data: a\n\r\n", {m("a")}},
        {"CRLF LF", "data: a\r\n\n", {m("a")}},
        {"mixed line ends", "data: a\rdata: b\ndata: c\r\n\r\n", {m("a\nb\nc")}},
        {"partial BOM is part of the name", "\xEF\xBB" "data: x\n\n", {}},
        {"BOM alone", "\xEF\xBB\xBF", {}},
        {"partial BOM alone", "\xEF\xBB", {}, {}, "", true},
        {"a single space value", "data:  \n\n", {m(" ")}},
        {"colons in the value", "data: a b : c\n\n", {m("a b : c")}},
        {"only colons", "data:::\n\n", {m("::")}},
        {"tab before colon", "data\t: x\n\n", {}},
        {"space before name", " data: x\n\n", {}},
        {"upper case", "DATA: x\n\n", {}},
        {"NUL id keeps the previous", "id: 1\nid: a\0b\ndata: x\n\n"s, {m("x", "1")}, {}, "1"},
        {"id keeps a second space", "id:  5\ndata: x\n\n", {m("x", " 5")}, {}, " 5"},
        {"second event unterminated", "data: a\n\ndata: b\n", {m("a")}, {}, "", true},
        {"comment without space", ":comment\ndata: x\n\n", {m("x")}},
        {"three empty data lines", "data\ndata\ndata\n\n", {m("\n\n")}},
        {"leading CRLF blank lines", "\r\n\r\ndata: a\r\n\r\n", {m("a")}},
        {"all fields", "event: a\nid: 7\nretry: 300\ndata: z\n\n", {t("a", "z", "7")}, 300, "7"},
        {"UTF-8 data", "data: \xF0\x9F\x98\x80\n\n", {m("\xF0\x9F\x98\x80")}},
        {"UTF-8 id", "id: \xC3\xA9\ndata: x\n\n", {m("x", "\xC3\xA9")}, {}, "\xC3\xA9"},
        {"raw byte type", "event: \xff\ndata: x\n\n", {t("\xff", "x")}},
        {"unterminated trailing comment", "data: x\n\n: trailing comment", {m("x")}, {}, "", true},
        {"trailing comment", "data: x\n\n: comment\n", {m("x")}},
        {"uncommitted id after an event", "id: 1\ndata: a\n\nid: 2\ndata: b\n", {m("a", "1")}, {}, "1", true},
        {"many blank lines", "data: a\n\n\ndata: b\n\n\n\n", {m("a"), m("b")}},
        {"CRLF named event", "event: x\r\ndata: y\r\n\r\n", {t("x", "y")}},
        {"CR empty data", "data\r\r", {m("")}},
        {"empty id resets to empty", "id: 1\n\nid\n\n", {}, {}, ""},
        {"NUL in type", "event: a\0b\ndata: x\n\n"s, {t("a\0b"s, "x")}},
        {"id, event, retry only (D1)", "id: 3\nevent: e\nretry: 9\n\n", {}, 9, "3"},
        {"data between comments only", ": a\ndata: d\n: b\n\n", {m("d")}},
        {"a CR alone", "\r", {}},
        {"data line ending at CR at the end", "data: a\r", {}, {}, "", true},

        // ---- Lines past the scanner's steps (16, 64 and 256 bytes), cut anywhere: a data line
        // streamed into the event while it arrives, a second one joined to it, and the rest.
        {"long data line", "data: " + std::string(300, 'x') + "\n\n", {m(std::string(300, 'x'))}},
        {"long data lines joined, CRLF", "data:" + std::string(70, 'a') + "\r\ndata: " + std::string(260, 'b') +
             "\r\ndata\r\n\r\n", {m(std::string(70, 'a') + "\n" + std::string(260, 'b') + "\n")}},
        {"long line then a short one, CR", "data: " + std::string(65, 'c') + "\rdata: d\r\r",
         {m(std::string(65, 'c') + "\nd")}},
        {"long unknown field", "datax: " + std::string(280, 'u') + "\ndata: v\n\n", {m("v")}},
        {"long unknown field without colon", std::string(270, 'w') + "\ndata: v\n\n", {m("v")}},
        {"long id", "id: " + std::string(100, '7') + "\ndata: v\n\n", {m("v", std::string(100, '7'))}, {},
         std::string(100, '7')},
        {"long id holding NUL",
         "id: 1\n\nid: " + std::string(80, 'i') + "\0"s + std::string(200, 'i') + "\ndata: v\n\n",
         {m("v", "1")}, {}, "1"},
        {"long type", "event: " + std::string(90, 't') + "\ndata: v\n\n", {t(std::string(90, 't'), "v")}},
        {"long comment", ":" + std::string(300, ' ') + "\ndata: v\n\n", {m("v")}},
        {"long value with NUL, colons and CR LF", "data: " + std::string(40, ':') + "\0"s + std::string(40, 'z') +
             "\r\n" + "data: " + std::string(100, ' ') + "\n\n",
         {m(std::string(40, ':') + "\0"s + std::string(40, 'z') + "\n" + std::string(100, ' '))}},
        {"long unterminated data line", "data: a\n\ndata: " + std::string(300, 'q'), {m("a")}, {}, "", true},
        {"long unterminated second data line", "data: a\ndata: " + std::string(300, 'q'), {}, {}, "", true},
        {"long retry", "retry: " + std::string(70, '0') + "42\ndata: v\n\n", {m("v")}, 42},
        {"long data line ending at CR at the end", "data: " + std::string(100, 'r') + "\r", {}, {}, "", true},
        {"data lines of every length around the steps",
         [] {
             std::string in;
             for (std::size_t n : {14u, 15u, 16u, 17u, 62u, 63u, 64u, 65u, 254u, 255u, 256u, 257u})
                 in += "data:" + std::string(n, 'n') + "\n";
             return in + "\n";
         }(),
         {m([] {
             std::string want;
             for (std::size_t n : {14u, 15u, 16u, 17u, 62u, 63u, 64u, 65u, 254u, 255u, 256u, 257u})
                 want += std::string(n, 'n') + "\n";
             want.pop_back();
             return want;
         }())}},
    };
    return cases;
}

// Feeds `c.input` every way in `cut_sets` and compares with c's expectation;
// returns the number of cut sets that disagreed (the first one is reported).
std::size_t mismatches(const conformance_case& c, const outcome& want,
                       const std::vector<std::vector<std::size_t>>& cut_sets, std::string& first) {
    std::size_t bad = 0;
    for (const auto& cuts : cut_sets) {
        const outcome got = run(c.input, cuts);
        if (got == want) continue;
        if (bad++ == 0) {
            std::ostringstream s;
            s << "cut at";
            for (std::size_t x : cuts) s << " " << x;
            s << ": got " << got;
            first = s.str();
        }
    }
    return bad;
}

} // namespace

TEST_CASE("parser: the conformance table has enough distinct cases") {
    const auto& cases = conformance_cases();
    CHECK(cases.size() >= 60);
    std::vector<std::string> names;
    for (const auto& c : cases) names.push_back(c.name);
    std::sort(names.begin(), names.end());
    CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
}

TEST_CASE("parser: conformance table fed whole") {
    for (const conformance_case& c : conformance_cases()) {
        const outcome want{c.events, c.retry, c.last_id, c.dropped};
        INFO(c.name << ": \"" << show(c.input) << "\"");
        CHECK(describe(run(c.input)) == describe(want));
    }
}

TEST_CASE("parser: conformance table split at every byte offset into two feeds") {
    for (const conformance_case& c : conformance_cases()) {
        const outcome want{c.events, c.retry, c.last_id, c.dropped};
        std::vector<std::vector<std::size_t>> cut_sets;
        for (std::size_t i = 0; i <= c.input.size(); ++i) cut_sets.push_back({i});
        std::string first;
        INFO(c.name << ": \"" << show(c.input) << "\" wants " << want);
        const std::size_t bad = mismatches(c, want, cut_sets, first);
        INFO(first);
        CHECK(bad == 0);
    }
}

TEST_CASE("parser: conformance table fed one byte at a time") {
    for (const conformance_case& c : conformance_cases()) {
        const outcome want{c.events, c.retry, c.last_id, c.dropped};
        std::vector<std::size_t> cuts;
        for (std::size_t i = 1; i < c.input.size(); ++i) cuts.push_back(i);
        std::string first;
        INFO(c.name << ": \"" << show(c.input) << "\" wants " << want);
        const std::size_t bad = mismatches(c, want, {cuts}, first);
        INFO(first);
        CHECK(bad == 0);
    }
}

TEST_CASE("parser: conformance table split at every pair of offsets into three feeds (inputs up to 40 bytes)") {
    std::size_t tried = 0;
    for (const conformance_case& c : conformance_cases()) {
        if (c.input.size() > 40) continue;
        const outcome want{c.events, c.retry, c.last_id, c.dropped};
        std::vector<std::vector<std::size_t>> cut_sets;
        for (std::size_t i = 0; i <= c.input.size(); ++i)
            for (std::size_t j = i; j <= c.input.size(); ++j) cut_sets.push_back({i, j});
        std::string first;
        INFO(c.name << ": \"" << show(c.input) << "\" wants " << want);
        const std::size_t bad = mismatches(c, want, cut_sets, first);
        INFO(first);
        CHECK(bad == 0);
        ++tried;
    }
    CHECK(tried >= 50);
}

TEST_CASE("parser: inventory A.1's multi-read rows, fed as read") {
    CHECK(run_reads({"data: a\r", "\ndata: b\r", "\n\r", "\n"}) == outcome{{m("a\nb")}, {}, "", false});
    CHECK(run_reads({"data: a\r", "\r", "data: b\n\n"}) == outcome{{m("a"), m("b")}, {}, "", false});
    CHECK(run_reads({"data: a\n\r", "\n", "data: b\n\n"}) == outcome{{m("a"), m("b")}, {}, "", false});
    CHECK(run_reads({"\xEF\xBB", "\xBF" "data: x\n\n"}) == outcome{{m("x")}, {}, "", false});
    // go-sse dispatches {6, ""} at EOF and commits id 6 (D2, D6); the spec drops it.
    CHECK(run_reads({"id: 5\ndata: a\n\n", "id: 6\n"}) == outcome{{m("a", "5")}, {}, "5", true});
}

// ------------------------------------------------------------------------------------------------
// Maximum event size

namespace {

// An event of exactly `size` counted bytes: "event: e\n" (9) and one data line.
std::string event_of_size(std::size_t size) {
    REQUIRE(size >= 16);
    return "event: e\ndata: " + std::string(size - 16, 'x') + "\n\n";
}

struct size_run {
    std::vector<std::string> data;
    std::error_code ec;
};

size_run feed_limited(std::string_view input, std::size_t max, const std::vector<std::size_t>& cuts) {
    sse::parser p(sse::parser_options{max});
    size_run r;
    std::size_t at = 0;
    for (std::size_t i = 0; i <= cuts.size() && !r.ec; ++i) {
        const std::size_t to = i < cuts.size() ? cuts[i] : input.size();
        p.feed(input.substr(at, to - at), [&](const sse::event_view& e) { r.data.emplace_back(e.data); }, r.ec);
        at = to;
    }
    return r;
}

} // namespace

TEST_CASE("parser: the default maximum event size is 8 MiB") {
    STATIC_REQUIRE(sse::parser::default_max_event_size == 8u * 1024 * 1024);
    CHECK(sse::parser_options{}.max_event_size == sse::parser::default_max_event_size);
    CHECK(sse::parser().options().max_event_size == sse::parser::default_max_event_size);
    CHECK(sse::parser(sse::parser_options{123}).options().max_event_size == 123);
}

TEST_CASE("parser: an event of exactly max_event_size passes, one byte more fails, however cut") {
    constexpr std::size_t limit = 64;
    const std::string at_limit = event_of_size(limit);
    const std::string over = event_of_size(limit + 1);
    for (std::size_t i = 0; i <= over.size(); ++i) {
        CAPTURE(i);
        std::vector<std::size_t> cut_ok;
        if (i <= at_limit.size()) cut_ok.push_back(i);
        const size_run ok = feed_limited(at_limit, limit, cut_ok);
        CHECK_FALSE(ok.ec);
        CHECK(ok.data == std::vector<std::string>{std::string(limit - 16, 'x')});

        const size_run bad = feed_limited(over, limit, {i});
        CHECK(bad.ec == sse::error::event_too_large);
        CHECK(bad.data.empty());
    }
    std::vector<std::size_t> bytes;
    for (std::size_t i = 1; i < over.size(); ++i) bytes.push_back(i);
    CHECK(feed_limited(over, limit, bytes).ec == sse::error::event_too_large);
    bytes.pop_back();
    CHECK_FALSE(feed_limited(at_limit, limit, bytes).ec);
}

TEST_CASE("parser: the first bytes of a possible BOM count toward the size once they are known not to be one") {
    // "\xEF" or "\xEF\xBB" at the start may still become the BOM, which is not event data: the
    // parser waits for the next byte before counting them (found by fuzz_parser, limit 0).
    CHECK_FALSE(feed_limited("\xEF", 0, {}).ec);
    CHECK_FALSE(feed_limited("\xEF\xBB", 1, {}).ec);
    CHECK_FALSE(feed_limited("\xEF\xBB\xBF", 0, {}).ec); // the BOM: nothing counted
    CHECK(feed_limited("\xEF" "a", 1, {1}).ec == sse::error::event_too_large);
    CHECK(feed_limited("\xEF\xBB" "a", 2, {1, 2}).ec == sse::error::event_too_large);
}

TEST_CASE("parser: every field line counts toward the size; the blank line does not") {
    // "id: 1\n" (6) + "data: ab\n" (9) = 15 bytes, CRLF counting as one line break.
    for (std::string_view input : {"id: 1\ndata: ab\n\n"sv, "id: 1\r\ndata: ab\r\n\r\n"sv, "\n\n\nid: 1\ndata: ab\n\n"sv}) {
        CAPTURE(show(input));
        CHECK_FALSE(feed_limited(input, 15, {}).ec);
        CHECK(feed_limited(input, 14, {}).ec == sse::error::event_too_large);
    }
    // Unknown fields count too, so they can't be used to grow memory unseen.
    CHECK(feed_limited("foo: 123456789\ndata\n\n", 10, {}).ec == sse::error::event_too_large);
    // Inventory A.1's MaxEventSize=10 rows, with this library's counting.
    CHECK_FALSE(feed_limited("data: 12\n\n", 10, {}).ec);
    CHECK_FALSE(feed_limited("data: 123\n\n", 10, {}).ec); // 10 counted bytes: at the limit
    CHECK(feed_limited("data: 1234\n\n", 10, {}).ec == sse::error::event_too_large);
    CHECK_FALSE(feed_limited("\n\ndata: 1\n\n", 10, {}).ec);
    CHECK_FALSE(feed_limited("data: 12\r\n\r\n", 10, {}).ec);
    const size_run two = feed_limited("data: 1\n\ndata: 2\n\n", 10, {});
    CHECK_FALSE(two.ec);
    CHECK(two.data == std::vector<std::string>{"1", "2"});
}

TEST_CASE("parser: the size is per event: many events add up to far more than the limit") {
    std::string input;
    for (int i = 0; i < 1000; ++i) input += "data: 0123456789\n\n"; // 17 counted bytes each
    const size_run r = feed_limited(input, 17, {});
    CHECK_FALSE(r.ec);
    CHECK(r.data.size() == 1000);
}

TEST_CASE("parser: comment lines do not count toward the size") {
    std::string input = "data: a\n"; // 8 counted bytes
    for (int i = 0; i < 20; ++i) input += ": 0123456789\n";
    input += "data: b\n\n"; // 9 more: 17
    for (const auto& cuts : {std::vector<std::size_t>{}, std::vector<std::size_t>{input.size() / 2}}) {
        const size_run r = feed_limited(input, 17, cuts);
        CHECK_FALSE(r.ec);
        CHECK(r.data == std::vector<std::string>{"a\nb"});
    }
    std::vector<std::size_t> bytes;
    for (std::size_t i = 1; i < input.size(); ++i) bytes.push_back(i);
    CHECK_FALSE(feed_limited(input, 17, bytes).ec);
}

TEST_CASE("parser: comments don't count, but one comment line may not exceed the limit, however cut") {
    // The comment has to be held whole until its line ends, so it alone is
    // limited; the outcome must not depend on where the feeds are cut.
    const auto with_comment = [](std::size_t comment_line) {
        return "data: a\n:" + std::string(comment_line - 1, 'c') + "\ndata: b\n\n"; // counted: 8 + 9
    };
    const std::string fits = with_comment(20); // more than the 3 bytes left in the event
    const std::string too_long = with_comment(21);
    for (std::size_t i = 0; i <= too_long.size(); ++i) {
        CAPTURE(i);
        std::vector<std::size_t> cut{i};
        if (i > fits.size()) cut.clear();
        const size_run ok = feed_limited(fits, 20, cut);
        CHECK_FALSE(ok.ec);
        CHECK(ok.data == std::vector<std::string>{"a\nb"});

        const size_run bad = feed_limited(too_long, 20, {i});
        CHECK(bad.ec == sse::error::event_too_large);
        CHECK(bad.data.empty());
    }
}

TEST_CASE("parser: the events before an oversized one are dispatched") {
    const std::string input = "data: a\n\ndata: b\n\ndata: " + std::string(100, 'x') + "\n\ndata: c\n\n";
    const size_run r = feed_limited(input, 50, {});
    CHECK(r.ec == sse::error::event_too_large);
    CHECK(r.data == std::vector<std::string>{"a", "b"});
}

TEST_CASE("parser: the throwing feed names the limit in its message") {
    sse::parser p(sse::parser_options{12345});
    const std::string input = "data: " + std::string(20000, 'x') + "\n\n";
    try {
        p.feed(input, [](const sse::event_view&) {});
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(e.code() == sse::error::event_too_large);
        const std::string what = e.what();
        CAPTURE(what);
        CHECK(what.find("12345") != std::string::npos);
    }
}

TEST_CASE("parser: the failure is sticky until finish() or reset()") {
    sse::parser p(sse::parser_options{20});
    std::vector<std::string> got;
    const auto on_event = [&](const sse::event_view& e) { got.emplace_back(e.data); };
    std::error_code ec;
    p.feed("id: 1\ndata: ok\n\ndata: " + std::string(30, 'x') + "\n\n", on_event, ec);
    CHECK(ec == sse::error::event_too_large);
    CHECK(p.failure() == sse::error::event_too_large);
    CHECK(got == std::vector<std::string>{"ok"});

    // Later feeds, even valid ones, fail and dispatch nothing.
    ec.clear();
    p.feed("data: fine\n\n", on_event, ec);
    CHECK(ec == sse::error::event_too_large);
    CHECK_THROWS_AS(p.feed("data: fine\n\n", on_event), std::system_error);
    ec.clear();
    p.feed("", on_event, ec);
    CHECK(ec == sse::error::event_too_large);
    CHECK(got.size() == 1);

    // finish() clears it and keeps the id.
    p.finish();
    CHECK_FALSE(p.failure());
    ec = sse::error::timeout; // stale: a successful feed clears it
    p.feed("data: again\n\n", on_event, ec);
    CHECK_FALSE(ec);
    CHECK(got == std::vector<std::string>{"ok", "again"});
    CHECK(p.last_event_id() == "1");

    // reset() clears it too.
    p.feed("data: " + std::string(30, 'x') + "\n", on_event, ec);
    CHECK(ec == sse::error::event_too_large);
    p.reset();
    CHECK_FALSE(p.failure());
    p.feed("data: new\n\n", on_event, ec);
    CHECK_FALSE(ec);
    CHECK(got.back() == "new");
    CHECK(p.last_event_id().empty());
}

TEST_CASE("parser: an endless line fails as soon as it passes the limit (bounded memory)") {
    constexpr std::size_t mib = 1024 * 1024;
    constexpr std::size_t chunk_size = 64 * 1024;
    constexpr std::size_t total = 64 * mib; // never held in memory: one chunk is reused
    sse::parser p(sse::parser_options{mib});
    std::string chunk(chunk_size, 'x');
    chunk.replace(0, 6, "data: ");
    std::size_t fed = 0;
    int events = 0;
    std::error_code ec;
    while (fed < total && !ec) {
        p.feed(chunk, [&](const sse::event_view&) { ++events; }, ec);
        fed += chunk.size();
        if (fed == chunk_size) chunk.assign(chunk_size, 'x'); // only the first chunk starts the field
    }
    CHECK(ec == sse::error::event_too_large);
    CHECK(fed <= mib + chunk_size);
    CHECK(fed > mib);
    CHECK(events == 0);
}

TEST_CASE("parser: a line of exactly the default limit passes, one byte more fails") {
    const std::size_t limit = sse::parser::default_max_event_size;
    const std::string line = "data: " + std::string(limit - 7, 'y') + "\n"; // limit counted bytes
    std::size_t size = 0;
    std::error_code ec;
    sse::parser p;
    p.feed(line + "\n", [&](const sse::event_view& e) { size = e.data.size(); }, ec);
    CHECK_FALSE(ec);
    CHECK(size == limit - 7);

    sse::parser q;
    q.feed("data: " + std::string(limit - 6, 'y') + "\n\n", [&](const sse::event_view&) { size = 0; }, ec);
    CHECK(ec == sse::error::event_too_large);
    CHECK(size == limit - 7);
}

// ------------------------------------------------------------------------------------------------
// Long lines

TEST_CASE("parser: an 8 MiB single data line fed in 1 KiB chunks arrives as one event") {
    // Linear work is what makes this finish quickly; timing itself is for the benchmarks.
    const std::size_t line_size = sse::parser::default_max_event_size; // "data: " + payload + "\n"
    const std::size_t payload = line_size - 7;
    sse::parser p;
    std::vector<std::size_t> sizes;
    bool all_z = false;
    const auto on_event = [&](const sse::event_view& e) {
        sizes.push_back(e.data.size());
        all_z = e.data.find_first_not_of('z') == std::string_view::npos;
    };
    std::string chunk = "data: " + std::string(1024 - 6, 'z');
    std::size_t sent = 0;
    std::error_code ec;
    p.feed(chunk, on_event, ec);
    sent += chunk.size() - 6;
    chunk.assign(1024, 'z');
    while (sent < payload && !ec) {
        const std::size_t n = std::min<std::size_t>(1024, payload - sent);
        p.feed(std::string_view(chunk).substr(0, n), on_event, ec);
        sent += n;
    }
    REQUIRE_FALSE(ec);
    CHECK(sizes.empty());
    p.feed("\n\n", on_event, ec);
    REQUIRE_FALSE(ec);
    CHECK(sizes == std::vector<std::size_t>{payload});
    CHECK(all_z);
}

TEST_CASE("parser: many data lines in one event, and an event spread over many feeds") {
    std::string input;
    std::string want;
    for (int i = 0; i < 10000; ++i) {
        input += "data: line " + std::to_string(i) + "\n";
        if (i > 0) want += '\n';
        want += "line " + std::to_string(i);
    }
    input += "\n";
    std::vector<std::size_t> cuts;
    for (std::size_t at = 7; at < input.size(); at += 7) cuts.push_back(at);
    const outcome o = run(input, cuts);
    REQUIRE(o.events.size() == 1);
    CHECK(o.events[0].data == want);
}

TEST_CASE("parser: the size limit is the same however a joined, unknown or held line is cut") {
    // Each shape counts exactly `limit` bytes; with one byte more it must fail, and the
    // outcome must not depend on the cut (a line streamed into the event, counted only, or held).
    constexpr std::size_t limit = 300;
    const auto shapes = [](std::size_t size) {
        return std::vector<std::string>{
            "data: a\ndata: " + std::string(size - 15, 'x') + "\n\n",          // joined to a first line
            "data: a\r\ndata:" + std::string(size - 14, 'x') + "\r\n\r\n",      // the same, no space, CRLF
            "xfield: " + std::string(size - 17, 'u') + "\ndata: a\n\n",        // unknown, counted only
            std::string(size - 9, 'u') + "\ndata: a\n\n",                      // unknown, no colon
            "event: " + std::string(size - 16, 't') + "\ndata: a\n\n",         // held whole
            "id: 1\ndata: a\ndata: " + std::string(size - 21, 'y') + "\r\r",
        };
    };
    const std::vector<std::string> fits = shapes(limit), over = shapes(limit + 1);
    for (std::size_t s = 0; s < fits.size(); ++s) {
        CAPTURE(s);
        REQUIRE_FALSE(feed_limited(fits[s], limit, {}).ec);
        REQUIRE(feed_limited(fits[s], limit - 1, {}).ec == sse::error::event_too_large);
        const std::vector<std::string> want = feed_limited(fits[s], limit, {}).data;
        for (std::size_t i = 0; i <= over[s].size(); ++i) {
            CAPTURE(i);
            if (i <= fits[s].size()) {
                const size_run ok = feed_limited(fits[s], limit, {i});
                CHECK_FALSE(ok.ec);
                CHECK(ok.data == want);
            }
            const size_run bad = feed_limited(over[s], limit, {i});
            CHECK(bad.ec == sse::error::event_too_large);
            CHECK(bad.data.empty());
        }
    }
}

TEST_CASE("parser: a data line cut inside \"data\", at its colon and before its space is the same line") {
    // "data:" alone can't tell yet whether a space follows; "dat" can't tell the field.
    for (const std::string& input : {"data:  x\n\n"s, "data: x\r\n\r\n"s, "data:x\rdata: y\r\r"s, "dat\n\n"s,
                                     "data\ndata:\ndata: \n\n"s,
                                     "id: 1\ndata: a\ndata: " + std::string(70, 'b') + "\n\n"}) {
        const outcome want = run(input);
        for (std::size_t i = 0; i <= input.size(); ++i)
            for (std::size_t j = i; j <= std::min(input.size(), i + 8); ++j) {
                CAPTURE(show(input), i, j);
                CHECK(run(input, {i, j}) == want);
            }
    }
}

// ------------------------------------------------------------------------------------------------
// The line-end scanner (detail/line.hpp): SIMD where the target has it, words elsewhere.

TEST_CASE("parser: the line-end scanner finds the first CR or LF exactly, at any length and offset") {
    const auto naive = [](const char* p, const char* end) {
        while (p < end && *p != '\n' && *p != '\r') ++p;
        return p;
    };
    // Bytes that are near CR and LF in value or bit pattern, so a sloppy test would fire.
    const std::string fillers = "\x0B\x0C\x09\x0E\x8A\x8D\x1A\x1D\x00\xFF ab"s;
    std::size_t checked = 0;
    for (std::size_t size = 0; size <= 300; size += (size < 80 ? 1 : 7)) {
        for (std::size_t hit = 0; hit <= size; ++hit) { // hit == size: none
            for (const char eol : {'\n', '\r'}) {
                // Exactly sized heap buffers: AddressSanitizer catches any read outside them.
                std::unique_ptr<char[]> buf(new char[size == 0 ? 1 : size]);
                for (std::size_t i = 0; i < size; ++i) buf[i] = fillers[(i * 7 + size) % fillers.size()];
                if (hit < size) buf[hit] = eol;
                if (hit + 3 < size) buf[hit + 3] = eol == '\n' ? '\r' : '\n'; // a later one must not win
                const char* const b = buf.get();
                for (std::size_t from = 0; from <= std::min<std::size_t>(size, 20); ++from) {
                    const char* want = naive(b + from, b + size);
                    CHECK(sse::detail::find_eol(b, b + from, b + size) == want);
                    CHECK(sse::detail::find_eol(b + from, b + from, b + size) == want); // no bytes before
                    CHECK(sse::detail::find_eol_portable(b + from, b + size) == want);
                    if (size - from >= 64) {
                        const char* w = sse::detail::find_eol64(b + from);
                        CHECK(w == (want < b + from + 64 ? want : nullptr));
                    }
                    ++checked;
                }
            }
            if (size > 80) hit += 5;
        }
    }
    CHECK(checked > 10000);
}

TEST_CASE("parser: the field buffers append, join, copy short values as a block and grow, even from themselves") {
    sse::detail::byte_buffer b;
    CHECK(b.empty());
    CHECK(b.view().empty());
    b.append(nullptr, 0); // nothing to copy: no pointer needed
    b.assign(nullptr, 0);
    CHECK(b.view().empty());
    b.append("abc", 3);
    b.append('\n', "de", 2);
    b.push_back('!');
    CHECK(b.view() == "abc\nde!");
    b.append(b.data() + 1, 2); // from itself, growing or not
    CHECK(b.view() == "abc\nde!bc");
    const std::string big(1000, 'z');
    b.append(big.data(), big.size());
    b.append(b.data(), b.size()); // from itself while it grows: the old memory outlives the copy
    CHECK(b.size() == 2 * (9 + 1000));
    CHECK(b.view().substr(0, 9) == "abc\nde!bc");
    CHECK(b.view().substr(1009, 9) == "abc\nde!bc");
    b.assign(b.data() + 3, 4);
    CHECK(b.view() == "\nde!");

    // Short values with room to read past them: copied as one block, the same bytes.
    const std::string line = "value" + std::string(200, '#');
    sse::detail::byte_buffer s;
    s.assign(line.data(), 5, line.size()); // (too little capacity yet: copied exactly)
    CHECK(s.view() == "value");
    s.append('\n', line.data(), 5, line.size());
    CHECK(s.view() == "value\nvalue");
    s.assign(line.data(), 64, line.size());
    CHECK(s.view() == line.substr(0, 64));
    s.append('\n', line.data(), 0, line.size());
    s.append('\n', line.data() + 1, 3, 3); // nothing readable past it: copied exactly
    CHECK(s.view() == line.substr(0, 64) + "\n\nalu");
    s.clear();
    CHECK(s.empty());
    s.append('\n', line.data(), 65, line.size()); // longer than a block
    CHECK(s.view() == "\n" + line.substr(0, 65));

    sse::detail::byte_buffer copy = s, moved = std::move(copy);
    CHECK(moved.view() == s.view());
    copy = moved;
    CHECK(copy.view() == s.view());
    copy.swap(b);
    CHECK(b.view() == s.view());
    CHECK(copy.view() == "\nde!");
}

// ------------------------------------------------------------------------------------------------
// Random streams against the fuzzers' reference parser (written straight from the spec's
// steps), fed whole and cut many ways: every cut must give what the reference gives.

namespace {

struct splitmix64 {
    std::uint64_t state;
    std::uint64_t next() noexcept {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    std::size_t below(std::size_t n) noexcept { return static_cast<std::size_t>(next() % n); }
};

// A stream of field lines, comments and blank lines: names right and wrong, values of every
// length around the scanner's steps (and a few long ones), odd bytes, every line end.
std::string random_stream(splitmix64& r) {
    static const std::vector<std::string> names = {"data", "data", "data", "id", "event", "retry", "Data", "dat",
                                                   "datax", "i", "ids", "eventx", "x", ""};
    static const std::vector<std::string> colons = {":", ": ", ": ", ":  ", ""};
    static const std::vector<std::string> ends = {"\n", "\n", "\r\n", "\r\n", "\r"};
    static const std::string bytes = "abc xyz:0123456789 \t\0\xff\xef\xbb\xbf"s;
    std::string s;
    if (r.below(8) == 0) s += "\xEF\xBB\xBF";
    const std::size_t lines = 1 + r.below(40);
    for (std::size_t i = 0; i < lines; ++i) {
        const std::size_t kind = r.below(10);
        if (kind < 2) { // a blank line
            s += ends[r.below(ends.size())];
            continue;
        }
        if (kind == 2) s += ":"; // a comment
        else s += names[r.below(names.size())] + colons[r.below(colons.size())];
        std::size_t len = r.below(20);
        switch (r.below(6)) {
        case 0: len = 50 + r.below(30); break;   // around 64
        case 1: len = 240 + r.below(30); break;  // around 256
        case 2: len = r.below(8) == 0 ? 1000 + r.below(4000) : len; break;
        default: break;
        }
        const bool digits = r.below(3) == 0;
        for (std::size_t k = 0; k < len; ++k)
            s += digits ? static_cast<char>('0' + r.below(10)) : bytes[r.below(bytes.size())];
        if (r.below(30) != 0) s += ends[r.below(ends.size())]; // (rarely: no line end, the next line runs on)
    }
    return s;
}

struct stream_outcome {
    std::vector<reference::event> events;
    std::vector<std::string> comments;
    std::optional<long long> retry;
    std::string last_id;
    bool operator==(const stream_outcome&) const = default;
};

stream_outcome parse_cut(std::string_view input, const std::vector<std::size_t>& sizes, splitmix64& r) {
    sse::parser p(sse::parser_options{input.size() + 16}); // no limit within the input
    stream_outcome o;
    p.on_comment([&](std::string_view c) { o.comments.emplace_back(c); });
    const auto on_event = [&](const sse::event_view& e) {
        o.events.push_back({std::string(e.type), std::string(e.data), std::string(e.last_event_id)});
    };
    std::size_t at = 0, k = 0;
    while (at < input.size()) {
        std::size_t n = sizes.empty() ? 1 + r.below(300) : sizes[k++ % sizes.size()];
        n = std::min(n, input.size() - at);
        std::unique_ptr<char[]> piece(new char[n]); // its own buffer: a pointer kept into it is caught
        input.copy(piece.get(), n, at);
        p.feed(std::string_view(piece.get(), n), on_event);
        at += n;
    }
    if (const auto rt = p.reconnection_time()) o.retry = rt->count();
    o.last_id = std::string(p.last_event_id());
    return o;
}

} // namespace

TEST_CASE("parser: 400 random streams give the reference parser's results however they are cut") {
    splitmix64 r{0x5eed5eed5eed5eedull};
    const std::vector<std::vector<std::size_t>> cuttings = {
        {1 << 30}, {1}, {2, 3, 5}, {15, 16, 17}, {63, 64, 65}, {255, 256, 257}, {1024}, {7, 300, 1, 64}, {}, {}};
    std::size_t events = 0, long_lines = 0;
    for (int i = 0; i < 400; ++i) {
        const std::string input = random_stream(r);
        const reference::result ref = reference::parse(input);
        const stream_outcome want{ref.events, ref.comments, ref.retry, ref.last_event_id};
        events += want.events.size();
        for (const auto& e : want.events) long_lines += e.data.size() > 256;
        for (const auto& sizes : cuttings) {
            const stream_outcome got = parse_cut(input, sizes, r);
            if (got == want) continue;
            CAPTURE(i, show(input), sizes);
            CHECK(got.events.size() == want.events.size());
            CHECK(got.comments == want.comments);
            CHECK(got.retry == want.retry);
            CHECK(got.last_id == want.last_id);
            for (std::size_t e = 0; e < std::min(got.events.size(), want.events.size()); ++e) {
                CAPTURE(e);
                CHECK(show(got.events[e].type) == show(want.events[e].type));
                CHECK(show(got.events[e].data) == show(want.events[e].data));
                CHECK(show(got.events[e].id) == show(want.events[e].id));
            }
            FAIL("a cut changed the outcome");
        }
    }
    CHECK(events > 400);    // the streams dispatch plenty of events...
    CHECK(long_lines > 50); // ...some with long data
}
