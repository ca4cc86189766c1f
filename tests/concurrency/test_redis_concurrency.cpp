// sse::redis_provider under concurrent use (also run under ThreadSanitizer),
// against a real redis-server: two nodes whose io_contexts run on two threads
// each, four publisher threads (two per node), and subscriber threads that
// keep leaving and coming back with their Last-Event-ID on the other node.
// Each subscriber must see every publisher's messages exactly once, in order.
#include "sse_test.hpp"
#include "support/loopback.hpp"
#include "support/problems.hpp"
#include "support/redis_server.hpp"

#include <sse/error.hpp>
#include <sse/message.hpp>
#include <sse/parser.hpp>
#include <sse/queue_sink.hpp>
#include <sse/redis.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

// A provider on an io_context run by two threads.
class redis_node {
public:
    explicit redis_node(sse::redis_options o) : provider_(ioc_.get_executor(), std::move(o)) {
        for (auto& t : threads_) t = std::thread([this] { ioc_.run(); });
    }
    redis_node(const redis_node&) = delete;
    redis_node& operator=(const redis_node&) = delete;
    ~redis_node() {
        provider_.shutdown();
        work_.reset();
        sse_test::eventually([&] { return ioc_.stopped(); }, 5s);
        ioc_.stop();
        for (auto& t : threads_) t.join();
    }
    sse::redis_provider& provider() { return provider_; }

private:
    asio::io_context ioc_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
    sse::redis_provider provider_;
    std::array<std::thread, 2> threads_;
};

using sse_test::problems;

} // namespace

TEST_CASE("redis concurrency: 2 nodes x 2 io threads, 4 publishers, subscribers hopping between nodes with their "
          "Last-Event-ID",
          "[redis]") {
    SSE_TEST_NEED_REDIS();
    sse_test::redis_server redis;
    sse::redis_options o;
    o.port = redis.port();
    o.poll_interval = 500ms;
    redis_node a(o), b(o);
    REQUIRE(sse_test::eventually([&] { return a.provider().connected() && b.provider().connected(); }));
    redis_node* nodes[] = {&a, &b};

    constexpr int publishers = 4, per_publisher = 250, subscribers = 6, total = publishers * per_publisher;
    problems trouble;
    // Every subscriber starts from a marker published first, so "everything" is well defined
    // however late its thread subscribes.
    const std::string_view topic = "t";
    sse::message marker;
    marker.append_data("start");
    auto marked = a.provider().async_publish(marker, sse::topic_list(&topic, 1), asio::use_future);
    REQUIRE(marked.wait_for(10s) == std::future_status::ready);
    const std::string start_id = marked.get();

    std::vector<std::thread> subs;
    for (int s = 0; s < subscribers; ++s)
        subs.emplace_back([&, s] {
            std::vector<int> next(publishers, 0);
            int received = 0, hops = 0;
            std::string last_id = start_id;
            const auto deadline = std::chrono::steady_clock::now() + 60s;
            while (received < total && std::chrono::steady_clock::now() < deadline) {
                auto sink = std::make_shared<sse::queue_sink>();
                std::error_code ec;
                sse::subscription sub{sink, sse::event_id(last_id), {"t"}};
                auto h = nodes[(s + hops) % 2]->provider().subscribe(std::move(sub), ec);
                if (ec) {
                    trouble.add("subscriber " + std::to_string(s) + ": " + ec.message());
                    return;
                }
                // Read a few batches on this node, then hop.
                sse::parser p;
                const int leave_after = received + 40 + 13 * s;
                while (received < std::min(total, leave_after) && std::chrono::steady_clock::now() < deadline) {
                    for (const sse::frame& f : sink->take_for(50ms))
                        p.feed(f.bytes(), [&](const sse::event_view& ev) {
                            int pub = -1, k = -1;
                            const std::string_view d = ev.data;
                            const std::size_t colon = d.find(':');
                            std::from_chars(d.data(), d.data() + colon, pub);
                            std::from_chars(d.data() + colon + 1, d.data() + d.size(), k);
                            if (pub < 0 || pub >= publishers || k != next[pub])
                                trouble.add("subscriber " + std::to_string(s) + ": got " + std::string(d) +
                                            ", expected " + std::to_string(pub) + ":" +
                                            (pub >= 0 && pub < publishers ? std::to_string(next[pub]) : "?"));
                            else
                                ++next[pub];
                            ++received;
                            last_id = std::string(ev.last_event_id);
                        });
                    if (sink->closed()) {
                        trouble.add("subscriber " + std::to_string(s) + ": closed: " + sink->close_reason().message());
                        return;
                    }
                }
                h.cancel(); // from this thread, while the node's threads deliver
                ++hops;
            }
            if (received != total)
                trouble.add("subscriber " + std::to_string(s) + ": received " + std::to_string(received) + " of " +
                            std::to_string(total));
        });

    std::vector<std::thread> pubs;
    for (int p = 0; p < publishers; ++p)
        pubs.emplace_back([&, p] {
            sse::redis_provider& provider = nodes[p % 2]->provider();
            const std::string_view t = "t";
            for (int k = 0; k < per_publisher; ++k) {
                sse::message m;
                m.append_data(std::to_string(p) + ":" + std::to_string(k));
                std::error_code ec;
                provider.publish(m, sse::topic_list(&t, 1), ec);
                if (ec) {
                    trouble.add("publisher " + std::to_string(p) + ": " + ec.message());
                    return;
                }
                if (k % 8 == 0) std::this_thread::sleep_for(1ms); // spread the publishing over the hops
            }
        });
    for (auto& t : pubs) t.join();
    for (auto& t : subs) t.join();
    CHECK_NO_PROBLEMS(trouble);
    CHECK(a.provider().stats().publish_failures + b.provider().stats().publish_failures == 0);
    CHECK(a.provider().stats().gaps + b.provider().stats().gaps == 0);
}
