// sse::joe under concurrent use (also run under ThreadSanitizer): subscribers
// that leave and rejoin with their last id while publishers publish, cancels
// from other threads, and shutdown racing with everything. Waits are
// condition variables and queue_sink::take_for with timeouts as bounds; every
// loop is bounded in count and by a deadline.
#include "sse_test.hpp"
#include "support/problems.hpp"

#include <sse/error.hpp>
#include <sse/joe.hpp>
#include <sse/message.hpp>
#include <sse/parser.hpp>
#include <sse/provider.hpp>
#include <sse/queue_sink.hpp>
#include <sse/replayer.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

using sse_test::problems;

// A counter threads can wait on.
class progress {
public:
    void add(std::uint64_t n = 1) {
        {
            std::lock_guard lock(mutex_);
            value_ += n;
        }
        cv_.notify_all();
    }
    // Waits until the value reaches `target` or `until` passes; returns whether it did.
    bool wait_for_at_least(std::uint64_t target, steady::time_point until) {
        std::unique_lock lock(mutex_);
        return cv_.wait_until(lock, until, [&] { return value_ >= target; });
    }
    std::uint64_t value() const {
        std::lock_guard lock(mutex_);
        return value_;
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::uint64_t value_ = 0;
};

sse::message text(std::string_view data) {
    sse::message m;
    m.append_data(data);
    return m;
}

// Parses all of `s` as a decimal number.
bool to_number(std::string_view s, std::uint64_t& v) {
    const auto [ptr, err] = std::from_chars(s.data(), s.data() + s.size(), v);
    return err == std::errc() && ptr == s.data() + s.size();
}

// A sink around a queue_sink that checks the provider's side of the sink
// contract: no send after close, no send after its subscription was
// cancelled, close at most once.
class checked_sink final : public sse::sink {
public:
    explicit checked_sink(problems& p) : problems_(p) {}

    sse::delivery send(const sse::frame& f) noexcept override {
        sends.fetch_add(1, std::memory_order_relaxed);
        if (closes.load(std::memory_order_acquire) != 0) problems_.add("send after close");
        if (cancelled.load(std::memory_order_acquire)) problems_.add("send after cancel() returned");
        return queue.send(f);
    }
    void close(std::error_code reason) noexcept override {
        if (closes.fetch_add(1, std::memory_order_acq_rel) != 0) problems_.add("close called twice");
        queue.close(reason);
    }

    sse::queue_sink queue;
    std::atomic<std::uint64_t> sends{0};
    std::atomic<int> closes{0};
    std::atomic<bool> cancelled{false}; // set by the test after cancel() returned
    std::vector<sse::frame> taken;      // frames the test took before the end

private:
    problems& problems_;
};

// The auto ids of `frames`, as a client parses them.
std::vector<std::uint64_t> ids_of(const std::vector<sse::frame>& frames, problems& p) {
    sse::parser parser;
    std::vector<std::uint64_t> out;
    for (const sse::frame& f : frames)
        parser.feed(f.bytes(), [&](const sse::event_view& ev) {
            std::uint64_t id = 0;
            if (to_number(ev.last_event_id, id)) out.push_back(id);
            else p.add("an event without a numeric id");
        });
    return out;
}

bool consecutive(const std::vector<std::uint64_t>& ids) {
    for (std::size_t i = 1; i < ids.size(); ++i)
        if (ids[i] != ids[i - 1] + 1) return false;
    return true;
}

} // namespace

TEST_CASE("joe: subscribers that rejoin with their last id see every message once, in order", "[joe][concurrency]") {
    constexpr int publishers = 4;
    constexpr int per_publisher = 2500;
    constexpr int total = publishers * per_publisher;
    constexpr int subscribers = 8;
    constexpr int batch = 50; // publishers pace themselves on the subscribers' joins every `batch` messages
    const steady::time_point deadline = steady::now() + 60s;

    sse::joe joe{sse::finite_replayer(total + 16, {.auto_ids = true, .first_id = 0})};
    problems trouble;
    progress joins;
    std::atomic<int> publishers_done{0};

    struct report {
        std::optional<std::uint64_t> first_id, last_id;
        std::uint64_t events = 0;
        std::vector<int> last_n = std::vector<int>(publishers, -1);
        int cycles = 0;
        int rejoins_while_publishing = 0; // joins with a last id before the publishers were done
    };
    std::vector<report> reports(subscribers);

    std::vector<std::thread> threads;
    for (int s = 0; s < subscribers; ++s) {
        threads.emplace_back([&, s] {
            report& r = reports[static_cast<std::size_t>(s)];
            sse::parser parser; // every frame is one whole event, so one parser serves every join
            const auto process = [&](const sse::frame& f) {
                parser.feed(f.bytes(), [&](const sse::event_view& ev) {
                    // "<publisher>:<n>" with id <auto id>
                    const std::size_t colon = ev.data.find(':');
                    std::uint64_t id = 0, p = 0, n = 0;
                    if (colon == std::string_view::npos || !to_number(ev.last_event_id, id) ||
                        !to_number(ev.data.substr(0, colon), p) || !to_number(ev.data.substr(colon + 1), n) ||
                        p >= publishers) {
                        trouble.add("subscriber " + std::to_string(s) + ": bad event " + std::string(ev.data));
                        return;
                    }
                    if (r.last_id && id != *r.last_id + 1)
                        trouble.add("subscriber " + std::to_string(s) + ": id " + std::to_string(id) + " after " +
                                    std::to_string(*r.last_id));
                    int& last_n = r.last_n[static_cast<std::size_t>(p)];
                    if (static_cast<int>(n) <= last_n)
                        trouble.add("subscriber " + std::to_string(s) + ": publisher " + std::to_string(p) + " sent " +
                                    std::to_string(n) + " after " + std::to_string(last_n));
                    last_n = static_cast<int>(n);
                    if (!r.first_id) r.first_id = id;
                    r.last_id = id;
                    ++r.events;
                });
            };

            for (int cycle = 0; cycle < 100000; ++cycle) {
                if (steady::now() > deadline) {
                    trouble.add("subscriber " + std::to_string(s) + ": deadline");
                    return;
                }
                const bool done = publishers_done.load() == publishers;
                if (done && r.last_id == static_cast<std::uint64_t>(total - 1)) return;

                auto sink = std::make_shared<sse::queue_sink>();
                sse::subscription sub{.client = sink};
                if (r.last_id) sub.last_event_id = sse::event_id(std::to_string(*r.last_id));
                if (r.last_id && !done) ++r.rejoins_while_publishing;
                std::error_code ec;
                sse::joe::subscription_handle handle = joe.subscribe(std::move(sub), ec);
                if (ec) {
                    trouble.add("subscribe: " + ec.message());
                    return;
                }
                ++r.cycles;
                joins.add();

                // Take a varying number of events, then leave. Before the first
                // event there is no last id to come back with, so wait for one.
                const std::uint64_t want = 20 + static_cast<std::uint64_t>((s * 37 + cycle * 13) % 120);
                std::uint64_t got = 0;
                bool stop = false;
                std::vector<sse::frame> rest; // taken but not processed
                while (!stop && got < want && steady::now() < deadline) {
                    const std::vector<sse::frame> frames = sink->take_for(50ms);
                    if (frames.empty()) {
                        if (r.last_id || publishers_done.load() == publishers) stop = true; // rejoin
                        continue;
                    }
                    for (const sse::frame& f : frames) {
                        if (got < want) {
                            process(f);
                            ++got;
                        } else {
                            rest.push_back(f);
                        }
                    }
                }
                if (sink->overflowed() || sink->closed()) trouble.add("a subscriber's sink overflowed or closed");
                handle.cancel();
                // Every other time, keep what came before the cancel; otherwise
                // drop it, and the next join must replay it.
                if (cycle % 2 == 0) {
                    for (const sse::frame& f : rest) process(f);
                    for (const sse::frame& f : sink->take()) process(f);
                }
            }
            trouble.add("subscriber " + std::to_string(s) + ": too many cycles");
        });
    }
    for (int p = 0; p < publishers; ++p) {
        threads.emplace_back([&, p] {
            for (int n = 0; n < per_publisher; ++n) {
                if (n % batch == 0) {
                    // Everyone has joined once, and the subscribers keep cycling.
                    const auto target = static_cast<std::uint64_t>(subscribers + (n / batch) * subscribers / 2);
                    joins.wait_for_at_least(target, std::min(deadline, steady::now() + 5s));
                }
                std::error_code ec;
                joe.publish(text(std::to_string(p) + ":" + std::to_string(n)), ec);
                if (ec) trouble.add("publish: " + ec.message());
            }
            publishers_done.fetch_add(1);
        });
    }
    for (std::thread& t : threads) t.join();

    CHECK_NO_PROBLEMS(trouble);
    int rejoins_while_publishing = 0;
    for (int s = 0; s < subscribers; ++s) {
        const report& r = reports[static_cast<std::size_t>(s)];
        rejoins_while_publishing += r.rejoins_while_publishing;
        INFO("subscriber " << s << ": " << r.cycles << " joins, " << r.events << " events");
        REQUIRE(r.first_id);
        REQUIRE(r.last_id);
        CHECK(*r.last_id == static_cast<std::uint64_t>(total - 1));
        CHECK(r.events == *r.last_id - *r.first_id + 1); // no gaps, no duplicates
        CHECK(r.cycles > 1);
        for (int p = 0; p < publishers; ++p) CHECK(r.last_n[static_cast<std::size_t>(p)] == per_publisher - 1);
    }
    const sse::provider_stats st = joe.stats();
    INFO(rejoins_while_publishing << " rejoins while publishing; " << st.replayed << " events replayed");
    // The publishers' pacing needs subscribers / 2 joins per batch, so most
    // rejoins happen while messages are still being published.
    CHECK(rejoins_while_publishing >= subscribers);
    CHECK(st.replayed > 0);
    CHECK(st.published == static_cast<std::uint64_t>(total));
    CHECK(st.gaps == 0);
    CHECK(st.overflows == 0);
    CHECK(st.subscribers == 0);
}

TEST_CASE("joe: subscriptions cancelled on other threads while messages are published", "[joe][concurrency]") {
    constexpr int publishers = 2;
    constexpr int max_per_publisher = 50000;
    constexpr int creators = 2;
    constexpr int per_creator = 200;
    const steady::time_point deadline = steady::now() + 60s;

    sse::joe joe{sse::finite_replayer(16, {.auto_ids = true, .first_id = 0})};
    problems trouble;
    progress published;
    std::atomic<bool> creators_done{false};

    struct made {
        sse::joe::subscription_handle handle;
        std::shared_ptr<checked_sink> sink;
    };
    std::mutex queue_mutex;
    std::condition_variable queue_cv;
    std::deque<made> queue;
    int creators_left = creators;

    std::mutex all_mutex;
    std::vector<std::shared_ptr<checked_sink>> all;

    std::vector<std::thread> threads;
    for (int p = 0; p < publishers; ++p) {
        threads.emplace_back([&] {
            for (int n = 0; n < max_per_publisher && !creators_done.load(); ++n) {
                std::error_code ec;
                joe.publish(text(std::to_string(n)), ec);
                if (ec) trouble.add("publish: " + ec.message());
                published.add();
                if (steady::now() > deadline) {
                    trouble.add("publisher: deadline");
                    return;
                }
            }
        });
    }
    for (int c = 0; c < creators; ++c) {
        threads.emplace_back([&] {
            if (!published.wait_for_at_least(1, deadline)) trouble.add("no publish started");
            for (int i = 0; i < per_creator; ++i) {
                auto sink = std::make_shared<checked_sink>(trouble);
                std::error_code ec;
                auto h = joe.subscribe({.client = sink, .topics = {"", "other"}}, ec);
                if (ec) trouble.add("subscribe: " + ec.message());
                {
                    std::lock_guard lock(all_mutex);
                    all.push_back(sink);
                }
                {
                    std::lock_guard lock(queue_mutex);
                    queue.push_back({std::move(h), std::move(sink)});
                }
                queue_cv.notify_one();
                if (i % 50 == 0) published.wait_for_at_least(published.value() + 5, std::min(deadline, steady::now() + 1s));
            }
            std::lock_guard lock(queue_mutex);
            if (--creators_left == 0) creators_done.store(true);
            queue_cv.notify_all();
        });
    }
    for (int k = 0; k < 2; ++k) {
        threads.emplace_back([&, k] {
            for (int taken = 0;; ++taken) {
                std::unique_lock lock(queue_mutex);
                if (!queue_cv.wait_until(lock, deadline, [&] { return !queue.empty() || creators_left == 0; })) {
                    trouble.add("canceller: deadline");
                    return;
                }
                if (queue.empty()) return;
                made m = std::move(queue.front());
                queue.pop_front();
                lock.unlock();
                // Mostly let messages reach it first (within a bound, and not
                // once the publishers may have stopped).
                const bool wait = taken % 3 != 0 && !creators_done.load();
                m.sink->taken = m.sink->queue.take_for(wait ? 1000ms : 0ms);
                if ((taken + k) % 2 == 0) {
                    m.handle.cancel();
                } else {
                    sse::joe::subscription_handle other = std::move(m.handle);
                    other = sse::joe::subscription_handle(); // assignment cancels
                }
                m.sink->cancelled.store(true, std::memory_order_release);
            }
        });
    }
    for (std::thread& t : threads) t.join();

    CHECK_NO_PROBLEMS(trouble);
    REQUIRE(all.size() == static_cast<std::size_t>(creators * per_creator));
    std::uint64_t accepted = 0;
    std::size_t with_frames = 0;
    for (const auto& s : all) {
        accepted += s->sends.load();
        std::vector<sse::frame> frames = s->taken;
        for (const sse::frame& f : s->queue.take()) frames.push_back(f);
        const std::vector<std::uint64_t> ids = ids_of(frames, trouble);
        if (!ids.empty()) ++with_frames;
        CHECK(consecutive(ids)); // live delivery from join to cancel misses nothing
        CHECK(!s->queue.overflowed());
        CHECK(s->closes.load() == 0);
    }
    CHECK_NO_PROBLEMS(trouble);
    INFO(with_frames << " of " << all.size() << " subscriptions received messages; " << published.value()
                     << " published");
    CHECK(with_frames > 0);
    const sse::provider_stats st = joe.stats();
    CHECK(st.subscribers == 0);
    CHECK(st.delivered == accepted);
    CHECK(st.published == published.value());
}

TEST_CASE("joe: shutdown racing with publish and subscribe", "[joe][concurrency]") {
    for (int round = 0; round < 5; ++round) {
        INFO("round " << round);
        const steady::time_point deadline = steady::now() + 30s;
        sse::joe joe{sse::finite_replayer(64, {.auto_ids = true, .first_id = 0})};
        problems trouble;
        progress publishes, live_subscriptions;
        std::atomic<bool> closed_seen{false};
        std::atomic<int> shutdown_ok{0}, shutdown_closed{0};

        struct kept {
            sse::joe::subscription_handle handle;
            std::shared_ptr<checked_sink> sink;
            bool cancelled = false;
        };
        std::vector<std::vector<kept>> kept_by(2);

        std::vector<std::thread> threads;
        for (int p = 0; p < 2; ++p) {
            threads.emplace_back([&] {
                bool closed = false;
                for (int n = 0; n < 1000000 && steady::now() < deadline; ++n) {
                    std::error_code ec;
                    joe.publish(text(std::to_string(n)), ec);
                    if (ec == sse::error::provider_closed) {
                        closed = true;
                        closed_seen.store(true);
                    } else if (ec) {
                        trouble.add("publish: " + ec.message());
                    } else if (closed) {
                        trouble.add("publish succeeded after provider_closed");
                    }
                    publishes.add();
                    if (closed && n % 16 == 15) return; // a few more after the first provider_closed
                }
                if (!closed) trouble.add("publisher never saw provider_closed");
            });
        }
        for (int s = 0; s < 2; ++s) {
            threads.emplace_back([&, s] {
                bool closed = false;
                std::vector<kept>& mine = kept_by[static_cast<std::size_t>(s)];
                for (int i = 0; i < 100000 && steady::now() < deadline; ++i) {
                    auto sink = std::make_shared<checked_sink>(trouble);
                    sse::subscription sub{.client = sink};
                    if (i % 3 == 1) sub.last_event_id = sse::event_id("0");
                    if (i % 3 == 2) sub.last_event_id = sse::event_id(std::to_string(i));
                    std::error_code ec;
                    auto h = joe.subscribe(std::move(sub), ec);
                    if (ec == sse::error::provider_closed) {
                        closed = true;
                        if (h) trouble.add("a handle from a failed subscribe");
                    } else if (ec) {
                        trouble.add("subscribe: " + ec.message());
                    } else if (closed) {
                        trouble.add("subscribe succeeded after provider_closed");
                    } else {
                        kept k{std::move(h), sink};
                        if (i % 4 == 0) {
                            k.handle.cancel();
                            k.cancelled = true;
                            sink->cancelled.store(true, std::memory_order_release);
                        }
                        mine.push_back(std::move(k));
                        if (i % 4 != 0) live_subscriptions.add();
                    }
                    if (closed && i % 8 == 7) return;
                }
                if (!closed) trouble.add("subscriber never saw provider_closed");
            });
        }
        for (int k = 0; k < 2; ++k) {
            threads.emplace_back([&] {
                // Shut down once both kinds of work are under way.
                publishes.wait_for_at_least(200 + 100 * static_cast<std::uint64_t>(round), deadline);
                live_subscriptions.wait_for_at_least(20, deadline);
                std::error_code ec;
                joe.shutdown(ec);
                if (!ec) ++shutdown_ok;
                else if (ec == sse::error::provider_closed) ++shutdown_closed;
                else trouble.add("shutdown: " + ec.message());
            });
        }
        for (std::thread& t : threads) t.join();

        CHECK_NO_PROBLEMS(trouble);
        CHECK(closed_seen.load());
        CHECK(shutdown_ok.load() == 1);
        CHECK(shutdown_closed.load() == 1);
        std::size_t live = 0;
        for (const auto& list : kept_by)
            for (const kept& k : list) {
                const std::vector<std::uint64_t> ids = ids_of(k.sink->queue.take(), trouble);
                CHECK(consecutive(ids));
                if (k.cancelled) {
                    // Closed only if shutdown came between its subscribe and its cancel.
                    CHECK(k.sink->closes.load() <= 1);
                    if (k.sink->closes.load() == 1) CHECK(k.sink->queue.close_reason() == sse::error::provider_closed);
                } else {
                    ++live;
                    // Every subscription still live at shutdown is closed, once, with provider_closed.
                    CHECK(k.sink->closes.load() == 1);
                    CHECK(k.sink->queue.close_reason() == sse::error::provider_closed);
                }
            }
        CHECK(live > 0);
        CHECK_NO_PROBLEMS(trouble);

        std::error_code ec;
        joe.publish(text("after"), ec);
        CHECK(ec == sse::error::provider_closed);
        joe.subscribe({.client = std::make_shared<sse::queue_sink>()}, ec);
        CHECK(ec == sse::error::provider_closed);
        joe.shutdown(ec);
        CHECK(ec == sse::error::provider_closed);
        CHECK(joe.stats().subscribers == 0);
    }
}

TEST_CASE("joe: handles cancelled on other threads while joe is destroyed", "[joe][concurrency]") {
    constexpr int handles_per_thread = 200;
    constexpr int messages = 100;
    for (int round = 0; round < 5; ++round) {
        INFO("round " << round);
        const steady::time_point deadline = steady::now() + 30s;
        problems trouble;
        auto joe = std::make_unique<sse::joe>();
        std::vector<std::shared_ptr<checked_sink>> sinks;
        std::vector<std::vector<sse::joe::subscription_handle>> handles(2);
        for (auto& list : handles)
            for (int i = 0; i < handles_per_thread; ++i) {
                sinks.push_back(std::make_shared<checked_sink>(trouble));
                list.push_back(joe->subscribe({.client = sinks.back()}));
            }

        // A publisher uses joe, then the cancellers and the main thread's
        // destruction of joe all start together when it is done.
        progress published;
        std::vector<std::thread> threads;
        threads.emplace_back([&] {
            for (int n = 0; n < messages; ++n) {
                std::error_code ec;
                joe->publish(text(std::to_string(n)), ec);
                if (ec) trouble.add("publish: " + ec.message());
                published.add();
            }
        });
        for (std::size_t k = 0; k < handles.size(); ++k) {
            threads.emplace_back([&, k] {
                if (!published.wait_for_at_least(messages, deadline)) trouble.add("canceller: deadline");
                std::vector<sse::joe::subscription_handle>& list = handles[k];
                for (std::size_t i = 0; i < list.size(); ++i) {
                    if ((i + static_cast<std::size_t>(round)) % 2 == 0) list[i].cancel();
                    else list[i] = sse::joe::subscription_handle();
                }
            });
        }
        if (!published.wait_for_at_least(messages, deadline)) trouble.add("main: deadline");
        joe.reset(); // shuts down while the handles are being cancelled
        for (std::thread& t : threads) t.join();

        CHECK_NO_PROBLEMS(trouble);
        for (const auto& s : sinks) {
            CHECK(s->closes.load() <= 1); // closed by the destruction, unless cancelled first
            if (s->closes.load() == 1) CHECK(s->queue.close_reason() == sse::error::provider_closed);
            CHECK(s->queue.take().size() == static_cast<std::size_t>(messages));
        }
    }
}
