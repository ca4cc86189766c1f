// The one-line publish: a message from (type, data) or data alone, and the
// same publish overload set on joe and basic_server (redis_provider's is
// checked in test_publish_redis.cpp): one topic, a span, an initializer list
// and a range of topics, each with std::error_code& last and throwing.
#include "sse_test.hpp"

#include <sse/error.hpp>
#include <sse/joe.hpp>
#include <sse/message.hpp>
#include <sse/queue_sink.hpp>
#include <sse/server.hpp>

#include <asio/io_context.hpp>

#include <array>
#include <list>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using strings = std::vector<std::string>;

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

// Every overload, as a user would write it, for any publisher type.
template <class P>
concept full_publish_set = requires(P& p, const sse::message& m, std::error_code& ec, const std::string& s,
                                    std::span<const std::string_view> span, const std::vector<std::string>& vec,
                                    const std::set<std::string>& set) {
    p.publish(m);
    p.publish(m, ec);
    p.publish(m, "room");
    p.publish(m, "room", ec);
    p.publish(m, s);
    p.publish(m, s, ec);
    p.publish(m, std::string_view("room"));
    p.publish(m, {"a", "b"});
    p.publish(m, {"a", "b"}, ec);
    p.publish(m, {s}, ec); // the form a newcomer's first try did not compile with (issue 20)
    p.publish(m, span);
    p.publish(m, span, ec);
    p.publish(m, vec);
    p.publish(m, vec, ec);
    p.publish(m, set);
    p.publish(m, set, ec);
};
static_assert(full_publish_set<sse::joe>);
static_assert(full_publish_set<sse::server>);

// Subscribers on topics a, b and the default topic, each with its own queue.
struct three_subscribers {
    std::shared_ptr<sse::queue_sink> a = std::make_shared<sse::queue_sink>();
    std::shared_ptr<sse::queue_sink> b = std::make_shared<sse::queue_sink>();
    std::shared_ptr<sse::queue_sink> d = std::make_shared<sse::queue_sink>();
    std::vector<sse::joe::subscription_handle> handles;

    explicit three_subscribers(sse::joe& joe) {
        handles.push_back(joe.subscribe({.client = a, .topics = {"a"}}));
        handles.push_back(joe.subscribe({.client = b, .topics = {"b"}}));
        handles.push_back(joe.subscribe({.client = d}));
    }

    // What each received since the last call, as "a:data" strings in order.
    strings take() {
        strings out;
        for (auto [name, q] : {std::pair{"a", a}, std::pair{"b", b}, std::pair{"d", d}})
            for (const sse::frame& f : q->take()) out.push_back(std::string(name) + ":" + std::string(f.bytes()));
        return out;
    }
};

// Publishes through every overload of `p` (whose provider is `joe`) and checks who got what.
template <class P>
void check_publish_set(P& p, sse::joe& joe) {
    three_subscribers subs(joe);
    const sse::message m(sse::event_type("t"), "x");
    const std::string wire = "event: t\ndata: x\n\n";
    const strings to_a{"a:" + wire}, to_ab{"a:" + wire, "b:" + wire}, to_default{"d:" + wire};
    std::error_code ec = sse::error::no_id;

    p.publish(m);
    CHECK(subs.take() == to_default);
    p.publish(m, ec);
    CHECK(!ec);
    CHECK(subs.take() == to_default);

    p.publish(m, "a");
    CHECK(subs.take() == to_a);
    p.publish(m, "a", ec);
    CHECK(!ec);
    CHECK(subs.take() == to_a);
    const std::string topic = "a";
    p.publish(m, topic, ec);
    CHECK(subs.take() == to_a);
    p.publish(m, {topic}, ec);
    CHECK(subs.take() == to_a);

    p.publish(m, {"a", "b"});
    CHECK(subs.take() == to_ab);
    p.publish(m, {"b", "a", "b"}, ec); // each subscriber once
    CHECK(!ec);
    CHECK(subs.take() == to_ab);

    const std::array<std::string_view, 2> span{"a", "b"};
    p.publish(m, sse::topic_list(span));
    CHECK(subs.take() == to_ab);
    p.publish(m, span, ec);
    CHECK(subs.take() == to_ab);

    const std::vector<std::string> vec{"b", "a"};
    p.publish(m, vec);
    CHECK(subs.take() == to_ab);
    const std::list<std::string> list{"a"};
    p.publish(m, list, ec);
    CHECK(!ec);
    CHECK(subs.take() == to_a);

    // Errors: no topic at all, through both forms.
    p.publish(m, std::vector<std::string>{}, ec);
    CHECK(ec == sse::error::no_topic);
    CHECK(thrown_code([&] { p.publish(m, std::vector<std::string>{}); }) == sse::error::no_topic);
    CHECK(thrown_code([&] { p.publish(m, sse::topic_list()); }) == sse::error::no_topic);
    CHECK(subs.take().empty());

    // After shutdown: provider_closed through every form.
    joe.shutdown();
    p.publish(m, "a", ec);
    CHECK(ec == sse::error::provider_closed);
    p.publish(m, {"a", "b"}, ec);
    CHECK(ec == sse::error::provider_closed);
    p.publish(m, ec);
    CHECK(ec == sse::error::provider_closed);
    CHECK(thrown_code([&] { p.publish(m, "a"); }) == sse::error::provider_closed);
    CHECK(thrown_code([&] { p.publish(m, {"a"}); }) == sse::error::provider_closed);
    CHECK(thrown_code([&] { p.publish(m, vec); }) == sse::error::provider_closed);
    CHECK(thrown_code([&] { p.publish(m); }) == sse::error::provider_closed);
}

} // namespace

TEST_CASE("message from (type, data) and from data: the one-line forms of type and append_data", "[message][publish]") {
    const sse::message typed(sse::event_type("token"), "{\"i\":1}");
    sse::message longhand;
    longhand.type = sse::event_type("token");
    longhand.append_data("{\"i\":1}");
    CHECK(typed == longhand);
    CHECK(typed.to_string() == "event: token\ndata: {\"i\":1}\n\n");

    CHECK(sse::message("two\nlines").to_string() == "data: two\ndata: lines\n\n");
    CHECK(sse::message(std::string("s")).data() == "s");
    CHECK(sse::message("").empty());
    CHECK(sse::message(sse::event_type("only-type"), "").to_string() == "event: only-type\n\n");
    // The type is validated as everywhere: a line break can't forge a field.
    CHECK(thrown_code([] { sse::message(sse::event_type("a\nb"), "x"); }) == sse::error::invalid_type);
    // Data-only construction is explicit: a string is never silently a message.
    static_assert(!std::is_convertible_v<const char*, sse::message>);
    static_assert(!std::is_convertible_v<std::string, sse::message>);
}

TEST_CASE("joe: publish to one topic, a span, a list, a range; error_code last or throwing", "[joe][publish]") {
    sse::joe joe;
    check_publish_set(joe, joe);
}

TEST_CASE("basic_server: the same publish set as joe", "[server][publish]") {
    asio::io_context ioc;
    sse::server server(ioc);
    check_publish_set(server, server.provider());
}

TEST_CASE("basic_server::publish names the server in its exception", "[server][publish]") {
    asio::io_context ioc;
    sse::server server(ioc);
    server.provider().shutdown();
    try {
        server.publish(sse::message("x"), "room");
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(e.code() == sse::error::provider_closed);
        CHECK(std::string(e.what()).find("sse::basic_server::publish") != std::string::npos);
    }
}
