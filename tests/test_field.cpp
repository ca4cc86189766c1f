// sse/field.hpp: event_id and event_type, single-line optional strings.
#include "sse_test.hpp"

#include <sse/error.hpp>
#include <sse/field.hpp>

#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

using namespace std::string_view_literals;

namespace {

// The what() of the std::system_error that constructing a T from `v` throws
// (with the code checked), or "" if nothing is thrown.
template <class T>
std::string thrown_what(std::string_view v, sse::error expected) {
    try {
        T f(v);
        return "";
    } catch (const std::system_error& e) {
        CHECK(e.code() == expected);
        return e.what();
    }
}

} // namespace

TEST_CASE("field: a default event_id and event_type are unset and empty") {
    const sse::event_id id;
    const sse::event_type type;
    CHECK_FALSE(id.is_set());
    CHECK_FALSE(type.is_set());
    CHECK(id.str().empty());
    CHECK(id.view().empty());
    CHECK(type.str().empty());
    CHECK(type.view().empty());
}

TEST_CASE("field: set to empty is not the same as unset") {
    const sse::event_id empty_id("");
    const sse::event_type empty_type("");
    CHECK(empty_id.is_set());
    CHECK(empty_type.is_set());
    CHECK(empty_id.str().empty());
    CHECK(empty_type.view().empty());
    CHECK(empty_id != sse::event_id());
    CHECK(empty_type != sse::event_type());
}

TEST_CASE("field: a set value keeps its bytes exactly") {
    const sse::event_id id(" 42: x ");
    CHECK(id.is_set());
    CHECK(id.str() == " 42: x ");
    CHECK(id.view() == " 42: x "sv);

    const sse::event_type type("\xC3\xA9v\xC3\xA9nement\t");
    CHECK(type.is_set());
    CHECK(type.str() == "\xC3\xA9v\xC3\xA9nement\t");

    // From a std::string and a string literal.
    const std::string s = "from-string";
    CHECK(sse::event_id(s).str() == s);
    CHECK(sse::event_type("lit").str() == "lit");
}

TEST_CASE("field: the constructors are explicit") {
    STATIC_REQUIRE_FALSE(std::is_convertible_v<std::string_view, sse::event_id>);
    STATIC_REQUIRE_FALSE(std::is_convertible_v<std::string_view, sse::event_type>);
    STATIC_REQUIRE(std::is_constructible_v<sse::event_id, std::string_view>);
    STATIC_REQUIRE(std::is_nothrow_default_constructible_v<sse::event_id>);
}

TEST_CASE("field: CR, LF and CRLF are rejected in an id by the throwing constructor") {
    for (std::string_view bad : {"a\rb"sv, "a\nb"sv, "a\r\nb"sv, "\n"sv, "\r"sv, "end\n"sv, "\r\nstart"sv}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(sse::event_id(bad), std::system_error);
        const std::string what = thrown_what<sse::event_id>(bad, sse::error::invalid_id);
        CHECK_FALSE(what.empty());
    }
    // The message shows the value, with the line break made visible.
    const std::string what = thrown_what<sse::event_id>("abc\r\ndef", sse::error::invalid_id);
    CAPTURE(what);
    CHECK(what.find("abc\\r\\ndef") != std::string::npos);
    CHECK(what.find('\n') == std::string::npos); // no raw line break in the message
}

TEST_CASE("field: CR, LF and CRLF are rejected in a type by the throwing constructor") {
    for (std::string_view bad : {"a\rb"sv, "a\nb"sv, "a\r\nb"sv, "\n"sv, "\r"sv, "end\n"sv, "\r\nstart"sv}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(sse::event_type(bad), std::system_error);
        const std::string what = thrown_what<sse::event_type>(bad, sse::error::invalid_type);
        CHECK_FALSE(what.empty());
    }
    const std::string what = thrown_what<sse::event_type>("ping\npong", sse::error::invalid_type);
    CAPTURE(what);
    CHECK(what.find("ping\\npong") != std::string::npos);
}

TEST_CASE("field: a long invalid value is shown shortened in the message") {
    const std::string value = std::string(1000, 'x') + "\n";
    const std::string what = thrown_what<sse::event_id>(value, sse::error::invalid_id);
    CHECK(what.find(std::string(64, 'x')) != std::string::npos);
    CHECK(what.find(std::string(65, 'x')) == std::string::npos);
    CHECK(what.find("...") != std::string::npos);
}

TEST_CASE("field: make(v, ec) reports an invalid value and returns an unset field") {
    for (std::string_view bad : {"a\rb"sv, "a\nb"sv, "a\r\nb"sv, "\n"sv}) {
        CAPTURE(bad);
        std::error_code ec;
        const sse::event_id id = sse::event_id::make(bad, ec);
        CHECK(ec == sse::error::invalid_id);
        CHECK_FALSE(id.is_set());
        CHECK(id.str().empty());

        ec.clear();
        const sse::event_type type = sse::event_type::make(bad, ec);
        CHECK(ec == sse::error::invalid_type);
        CHECK_FALSE(type.is_set());
        CHECK(type.str().empty());
    }
}

TEST_CASE("field: make(v, ec) with a valid value sets the field and clears ec") {
    std::error_code ec = sse::error::timeout; // stale
    const sse::event_id id = sse::event_id::make("7", ec);
    CHECK_FALSE(ec);
    CHECK(id.is_set());
    CHECK(id.str() == "7");

    ec = sse::error::timeout;
    const sse::event_id empty = sse::event_id::make("", ec);
    CHECK_FALSE(ec);
    CHECK(empty.is_set());
    CHECK(empty.str().empty());

    ec = sse::error::timeout;
    const sse::event_type type = sse::event_type::make("update", ec);
    CHECK_FALSE(ec);
    CHECK(type.is_set());
    CHECK(type.str() == "update");
}

TEST_CASE("field: NUL is rejected in an id (clients ignore such ids) but allowed in a type") {
    const std::string_view with_nul("a\0b", 3);

    CHECK_THROWS_AS(sse::event_id(with_nul), std::system_error);
    const std::string what = thrown_what<sse::event_id>(with_nul, sse::error::invalid_id);
    CHECK(what.find("a\\0b") != std::string::npos);
    std::error_code ec;
    CHECK_FALSE(sse::event_id::make(with_nul, ec).is_set());
    CHECK(ec == sse::error::invalid_id);
    CHECK_THROWS_AS(sse::event_id("\0"sv), std::system_error);

    const sse::event_type type(with_nul);
    CHECK(type.is_set());
    REQUIRE(type.str().size() == 3);
    CHECK(type.view() == with_nul);
    const sse::event_type made = sse::event_type::make(with_nul, ec);
    CHECK_FALSE(ec);
    CHECK(made == type);
}

TEST_CASE("field: equality compares the set flag and the value") {
    CHECK(sse::event_id() == sse::event_id());
    CHECK(sse::event_id("a") == sse::event_id("a"));
    CHECK(sse::event_id("a") != sse::event_id("b"));
    CHECK(sse::event_id("a") != sse::event_id("A"));
    CHECK(sse::event_id("") != sse::event_id());
    CHECK(sse::event_id("") == sse::event_id(""));

    CHECK(sse::event_type() == sse::event_type());
    CHECK(sse::event_type("t") == sse::event_type("t"));
    CHECK(sse::event_type("t") != sse::event_type("t "));
    CHECK(sse::event_type("") != sse::event_type());
}

TEST_CASE("field: reset() makes a field unset again; copies are independent") {
    sse::event_id id("5");
    sse::event_id copy = id;
    id.reset();
    CHECK_FALSE(id.is_set());
    CHECK(id.str().empty());
    CHECK(id == sse::event_id());
    CHECK(copy.is_set());
    CHECK(copy.str() == "5");

    sse::event_type type("x");
    sse::event_type moved = std::move(type);
    CHECK(moved.str() == "x");
    moved.reset();
    CHECK(moved == sse::event_type());
}

TEST_CASE("field: a failed throwing construction leaves the assigned-to field unchanged") {
    sse::event_id id("old");
    CHECK_THROWS_AS(id = sse::event_id("new\nline"), std::system_error);
    CHECK(id.str() == "old");
    CHECK(id.is_set());
}
