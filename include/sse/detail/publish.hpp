// The publish overloads every publisher offers (joe, redis_provider,
// basic_server), written once so that the sets can't drift apart: a class
// implements publish(m, topic_list, ec) and inherits the rest.
#ifndef SSE_DETAIL_PUBLISH_HPP
#define SSE_DETAIL_PUBLISH_HPP

#include <sse/error.hpp>
#include <sse/message.hpp>
#include <sse/provider.hpp>

#include <concepts>
#include <initializer_list>
#include <ranges>
#include <string_view>
#include <system_error>
#include <vector>

namespace sse::detail {

/// Any range of topic names that is not already a topic_list (e.g. a
/// std::vector<std::string>).
template <class Topics>
concept topic_range = std::ranges::input_range<Topics> &&
                      std::convertible_to<std::ranges::range_reference_t<Topics>, std::string_view> &&
                      (!std::convertible_to<const Topics&, topic_list>) &&
                      (!std::convertible_to<const Topics&, std::string_view>);

/// CRTP base: given `void Derived::publish(const message&, topic_list,
/// std::error_code&)` and `static constexpr const char* publish_what` (the
/// name in exception messages), adds, each with `std::error_code&` last and
/// as a throwing form:
///   publish(m)                 the default topic
///   publish(m, "room")         one topic
///   publish(m, {"a", "b"})     listed topics
///   publish(m, topics)         a topic_list, or any range of strings
/// Derived says `using publishing<Derived>::publish;`.
template <class Derived>
class publishing {
public:
    void publish(const message& m, std::error_code& ec) { publish(m, std::string_view(default_topic), ec); }
    void publish(const message& m, std::string_view topic, std::error_code& ec) {
        self().publish(m, topic_list(&topic, 1), ec);
    }
    void publish(const message& m, std::initializer_list<std::string_view> topics, std::error_code& ec) {
        self().publish(m, topic_list(topics.begin(), topics.size()), ec);
    }
    template <topic_range Topics>
    void publish(const message& m, const Topics& topics, std::error_code& ec) {
        std::vector<std::string_view> views;
        for (auto&& t : topics) views.emplace_back(t);
        self().publish(m, topic_list(views), ec);
    }

    void publish(const message& m) { publish(m, std::string_view(default_topic)); }
    void publish(const message& m, std::string_view topic) { publish(m, topic_list(&topic, 1)); }
    void publish(const message& m, std::initializer_list<std::string_view> topics) {
        publish(m, topic_list(topics.begin(), topics.size()));
    }
    void publish(const message& m, topic_list topics) {
        std::error_code ec;
        self().publish(m, topics, ec);
        if (ec) throw_error(ec, Derived::publish_what);
    }
    template <topic_range Topics>
    void publish(const message& m, const Topics& topics) {
        std::error_code ec;
        publish(m, topics, ec);
        if (ec) throw_error(ec, Derived::publish_what);
    }

private:
    Derived& self() noexcept { return static_cast<Derived&>(*this); }
};

} // namespace sse::detail

#endif
