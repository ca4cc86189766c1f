// detail::session_queue under concurrent producers and one writer (run under
// ThreadSanitizer by scripts/test.sh): every frame arrives once, each
// producer's frames in its order, the writer is woken exactly when it went
// idle, and the budget holds.
#include "sse_test.hpp"

#include <sse/detail/session_queue.hpp>
#include <sse/provider.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

TEST_CASE("session_queue: concurrent producers, one writer: complete, in order per producer, woken when idle") {
    constexpr int producers = 4;
    constexpr int per_producer = 5000;
    std::atomic<std::int64_t> reported{0};
    sse::detail::session_queue q(std::size_t(1) << 30, false, &reported);
    std::atomic<int> wakes{0};
    std::atomic<int> refused{0}; // (Catch2's assertions are for the test's thread only)
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
        threads.emplace_back([&, p] {
            for (int i = 0; i < per_producer; ++i) {
                const sse::frame f = sse::frame::from_bytes(std::to_string(p) + ":" + std::to_string(i));
                const auto r = q.push({&f, 1});
                if (r.result != sse::delivery::accepted) refused.fetch_add(1);
                if (r.wake) wakes.fetch_add(1);
            }
        });
    }
    std::vector<int> next(producers, 0);
    int received = 0;
    int idles = 0;
    std::vector<sse::frame> batch;
    // The writer: bounded by the number of frames (each round takes at least one, or goes idle).
    for (long round = 0; received < producers * per_producer && round < 100000000L; ++round) {
        batch.clear();
        const auto t = q.take(batch);
        if (t == sse::detail::session_queue::take_result::idle) {
            ++idles;
            std::this_thread::yield();
            continue;
        }
        std::size_t bytes = 0;
        for (const auto& f : batch) {
            const std::string s(f.bytes());
            const auto colon = s.find(':');
            const int p = std::stoi(s.substr(0, colon));
            const int i = std::stoi(s.substr(colon + 1));
            CHECK(i == next[static_cast<std::size_t>(p)]);
            next[static_cast<std::size_t>(p)] = i + 1;
            bytes += f.size();
            ++received;
        }
        q.written(bytes);
    }
    for (auto& t : threads) t.join();
    CHECK(refused.load() == 0);
    CHECK(received == producers * per_producer);
    for (int p = 0; p < producers; ++p) CHECK(next[static_cast<std::size_t>(p)] == per_producer);
    // Every wake-up but the first follows an idle take (the writer had unscheduled itself).
    CHECK(wakes.load() >= 1);
    CHECK(wakes.load() <= idles + 1);
    CHECK(q.bytes() == 0);
    CHECK(reported.load() == 0);
}
