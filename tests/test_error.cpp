// sse/error.hpp: the "sse" error category, its messages, and error_code
// construction and comparison from sse::error.
#include "sse_test.hpp"

#include <sse/error.hpp>

#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace {

// Every enumerator, in declaration order.
const std::vector<sse::error> all_errors = {
    sse::error::invalid_id,         sse::error::invalid_type,       sse::error::invalid_retry,
    sse::error::unexpected_end,     sse::error::event_too_large,    sse::error::provider_closed,
    sse::error::no_topic,           sse::error::no_id,              sse::error::id_already_set,
    sse::error::invalid_argument,   sse::error::queue_overflow,     sse::error::bad_request,
    sse::error::head_too_large,     sse::error::too_many_connections, sse::error::timeout,
    sse::error::bad_status,         sse::error::bad_content_type,   sse::error::bad_response,
    sse::error::invalid_url,        sse::error::too_many_redirects, sse::error::retries_exhausted,
    sse::error::stream_ended,       sse::error::provider_unavailable, sse::error::backend_error,
    sse::error::proxy_auth_required, sse::error::proxy_refused,
};

} // namespace

TEST_CASE("error: the category is named \"sse\" and is a single object") {
    CHECK(std::string(sse::error_category().name()) == "sse");
    CHECK(&sse::error_category() == &sse::error_category());
    const std::error_code ec = sse::error::timeout;
    CHECK(&ec.category() == &sse::error_category());
}

TEST_CASE("error: the enumerators are 1, 2, 3, ... with no gap (0 stays \"no error\")") {
    for (std::size_t i = 0; i < all_errors.size(); ++i) {
        CAPTURE(i);
        CHECK(static_cast<int>(all_errors[i]) == static_cast<int>(i) + 1);
    }
}

TEST_CASE("error: every enumerator has a non-empty message of its own") {
    std::set<std::string> seen;
    const std::string unknown = sse::error_category().message(0);
    for (sse::error e : all_errors) {
        const std::string m = sse::error_category().message(static_cast<int>(e));
        CAPTURE(static_cast<int>(e), m);
        CHECK_FALSE(m.empty());
        CHECK(m != unknown);
        CHECK(seen.insert(m).second); // distinct
        // make_error_code gives the same text.
        CHECK(sse::make_error_code(e).message() == m);
    }
    CHECK(seen.size() == all_errors.size());
}

TEST_CASE("error: values outside the enum still get a message") {
    CHECK_FALSE(sse::error_category().message(0).empty());
    CHECK_FALSE(sse::error_category().message(9999).empty());
    CHECK_FALSE(sse::error_category().message(-1).empty());
}

TEST_CASE("error: the messages of the protocol errors say what went wrong") {
    // Enough to recognize them in a log.
    CHECK(std::error_code(sse::error::invalid_id).message().find("id") != std::string::npos);
    CHECK(std::error_code(sse::error::invalid_type).message().find("type") != std::string::npos);
    CHECK(std::error_code(sse::error::invalid_retry).message().find("retry") != std::string::npos);
    CHECK(std::error_code(sse::error::event_too_large).message().find("large") != std::string::npos);
}

TEST_CASE("error: std::error_code ec = sse::error::no_topic works") {
    STATIC_REQUIRE(std::is_error_code_enum_v<sse::error>);
    STATIC_REQUIRE(std::is_convertible_v<sse::error, std::error_code>);

    std::error_code ec = sse::error::no_topic;
    CHECK(ec);
    CHECK(ec.value() == static_cast<int>(sse::error::no_topic));
    CHECK(ec.category() == sse::error_category());
    CHECK(ec.message() == sse::error_category().message(static_cast<int>(sse::error::no_topic)));

    ec = sse::error::timeout; // assignment too
    CHECK(ec == sse::error::timeout);

    ec.clear();
    CHECK_FALSE(ec);
    CHECK(ec != sse::error::timeout);
}

TEST_CASE("error: comparisons") {
    const std::error_code a = sse::error::no_topic;
    const std::error_code b = sse::make_error_code(sse::error::no_topic);
    const std::error_code c = sse::error::no_id;

    CHECK(a == b);
    CHECK(a == sse::error::no_topic);
    CHECK(sse::error::no_topic == a);
    CHECK(a != c);
    CHECK(a != sse::error::no_id);
    CHECK_FALSE(a == sse::error::no_id);

    // The same number in another category is another error.
    const std::error_code generic(static_cast<int>(sse::error::no_topic), std::generic_category());
    const std::error_code system(static_cast<int>(sse::error::no_topic), std::system_category());
    CHECK(a != generic);
    CHECK(a != system);
    CHECK(generic != sse::error::no_topic);

    // Error conditions: an sse error is equivalent to its own default condition.
    CHECK(a == a.default_error_condition());
    CHECK(a.default_error_condition().category() == sse::error_category());

    // An ordering exists (so codes can be keys of a std::map/std::set).
    std::set<std::error_code> s{a, b, c};
    CHECK(s.size() == 2);
}

TEST_CASE("error: std::system_error carries the code and its message") {
    try {
        throw std::system_error(sse::error::event_too_large, "reading");
    } catch (const std::system_error& e) {
        CHECK(e.code() == sse::error::event_too_large);
        const std::string what = e.what();
        CHECK(what.find("reading") != std::string::npos);
        CHECK(what.find(std::error_code(sse::error::event_too_large).message()) != std::string::npos);
    }
}
