// detail::session_queue alone, without sockets: order, the wake-up contract
// with the writer, the byte budget (queued plus in flight) under both
// overflow policies, the shared queued-bytes report, and closing.
#include "sse_test.hpp"

#include <sse/detail/session_queue.hpp>
#include <sse/provider.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using queue = sse::detail::session_queue;
using take = queue::take_result;

sse::frame bytes(std::size_t n, char c = 'x') { return sse::frame::from_bytes(std::string(n, c)); }
sse::frame numbered(int i) { return sse::frame::from_bytes("data: " + std::to_string(i) + "\n\n"); }

std::vector<std::string> strings(const std::vector<sse::frame>& v) {
    std::vector<std::string> out;
    for (const auto& f : v) out.emplace_back(f.bytes());
    return out;
}

} // namespace

TEST_CASE("session_queue: the first frame wakes the writer once; take() hands over everything in order") {
    queue q(1024, false);
    const sse::frame a = numbered(1), b = numbered(2), c = numbered(3);
    CHECK(q.push({&a, 1}).wake);
    CHECK_FALSE(q.push({&b, 1}).wake); // the writer is already scheduled
    const std::vector<sse::frame> more{c, sse::frame()}; // an empty frame is skipped
    CHECK(q.push(more).result == sse::delivery::accepted);
    CHECK(q.frames() == 3);
    std::vector<sse::frame> batch;
    REQUIRE(q.take(batch) == take::batch);
    CHECK(strings(batch) == std::vector<std::string>{"data: 1\n\n", "data: 2\n\n", "data: 3\n\n"});
    CHECK(q.frames() == 0);
    CHECK(q.bytes() == 27); // in flight until written()
    const sse::frame d = numbered(4);
    CHECK_FALSE(q.push({&d, 1}).wake); // arrived during the write: it goes in the next batch
    q.written(27);
    batch.clear();
    REQUIRE(q.take(batch) == take::batch);
    CHECK(strings(batch) == std::vector<std::string>{"data: 4\n\n"});
    q.written(9);
    batch.clear();
    CHECK(q.take(batch) == take::idle); // nothing more: the writer goes idle...
    CHECK(q.idle());
    CHECK(q.push({&a, 1}).wake); // ... and the next frame wakes it again
}

TEST_CASE("session_queue: hold() schedules the writer without frames, so pushes only queue") {
    queue q(1024, false);
    q.hold();
    const sse::frame a = numbered(1);
    CHECK_FALSE(q.push({&a, 1}).wake);
    CHECK_FALSE(q.idle());
}

TEST_CASE("session_queue: close policy: the frame over the budget (queued plus in flight) closes the queue") {
    queue q(100, false);
    const sse::frame f40 = bytes(40);
    CHECK(q.push({&f40, 1}).result == sse::delivery::accepted);
    std::vector<sse::frame> batch;
    REQUIRE(q.take(batch) == take::batch); // 40 in flight
    CHECK(q.push({&f40, 1}).result == sse::delivery::accepted); // 80
    const auto r = q.push({&f40, 1});                          // 120 > 100
    CHECK(r.result == sse::delivery::overflowed);
    CHECK(r.closed_now);
    CHECK_FALSE(q.is_open());
    const auto again = q.push({&f40, 1});
    CHECK(again.result == sse::delivery::closed);
    CHECK_FALSE(again.closed_now);
    batch.clear();
    CHECK(q.take(batch) == take::closed);
}

TEST_CASE("session_queue: drop_oldest keeps the newest frames that fit; in-flight bytes count; a frame over the budget goes alone") {
    queue q(100, true);
    std::vector<sse::frame> frames;
    for (int i = 0; i < 10; ++i) frames.push_back(sse::frame::from_bytes(std::string(20, char('a' + i))));
    const auto r = q.push(frames);
    CHECK(r.result == sse::delivery::accepted);
    CHECK(r.dropped == 5);
    CHECK(q.bytes() == 100);
    std::vector<sse::frame> batch;
    REQUIRE(q.take(batch) == take::batch);
    REQUIRE(batch.size() == 5);
    CHECK(batch.front().bytes() == std::string(20, 'f'));
    CHECK(batch.back().bytes() == std::string(20, 'j'));
    // 100 in flight: a new frame finds no room even with an empty queue, and is dropped alone.
    const sse::frame one = bytes(10);
    const auto r2 = q.push({&one, 1});
    CHECK(r2.dropped == 1);
    CHECK(q.frames() == 0);
    q.written(60);
    CHECK(q.bytes() == 40);
    const auto r3 = q.push({&one, 1});
    CHECK(r3.result == sse::delivery::accepted);
    CHECK(r3.dropped == 0);
    CHECK(q.frames() == 1);
    CHECK(q.bytes() == 50);
    const sse::frame huge = bytes(1000);
    CHECK(q.push({&huge, 1}).dropped == 1); // never fits
    CHECK(q.is_open());
}

TEST_CASE("session_queue: the shared report follows the queue and the destructor takes it back") {
    std::atomic<std::int64_t> reported{0};
    {
        queue q(1 << 20, false, &reported);
        const sse::frame f = bytes(100);
        q.push({&f, 1}); // a wake-up reports
        CHECK(reported == 100);
        // Less than report_step more does not report by itself...
        for (int i = 0; i < 10; ++i) q.push({&f, 1});
        CHECK(reported == 100);
        // ... taking a batch and finishing it do.
        std::vector<sse::frame> batch;
        REQUIRE(q.take(batch) == take::batch);
        CHECK(reported == 1100);
        q.written(600);
        CHECK(reported == 500);
        // A queue that moves by report_step reports on the push that moved it.
        const sse::frame big = bytes(static_cast<std::size_t>(queue::report_step));
        q.push({&big, 1});
        CHECK(reported == 500 + queue::report_step);
    }
    CHECK(reported == 0);
}

TEST_CASE("session_queue: closing takes no more frames but hands over what is queued; close() drops it") {
    queue q(1024, false);
    const sse::frame a = numbered(1);
    q.push({&a, 1});
    CHECK(q.begin_close());
    CHECK_FALSE(q.begin_close()); // once
    CHECK_FALSE(q.accepting());
    CHECK(q.is_open());
    CHECK(q.push({&a, 1}).result == sse::delivery::closed);
    std::vector<sse::frame> batch;
    REQUIRE(q.take(batch) == take::batch);
    CHECK(batch.size() == 1);
    q.push({&a, 1});
    q.close();
    CHECK(q.frames() == 0);
    CHECK(q.bytes() == 9); // the batch still in flight
    batch.clear();
    CHECK(q.take(batch) == take::closed);
}

TEST_CASE("session_queue: an idle queue gives back what a burst grew") {
    queue q(1 << 20, false);
    std::vector<sse::frame> burst(1000, numbered(1));
    q.push(burst);
    std::vector<sse::frame> batch;
    REQUIRE(q.take(batch) == take::batch);
    CHECK(batch.size() == 1000);
    batch.clear();
    q.written(9000);
    CHECK(q.take(batch) == take::idle);
    CHECK(batch.empty());
}
