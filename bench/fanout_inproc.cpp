// Fan-out cost of sse::joe: M messages published to N in-process sinks,
// against a naive baseline in the same run that serializes the message once
// per subscriber under one lock (what a provider without shared frames does).
//
//   fanout_inproc [--messages M] [--reps R]
//   taskset -c 1 ./fanout_inproc        # one core, as the goal is stated
//
// Prints ns per delivery and messages/s for N = 1, 100, 10,000, and the ratio.
#include <sse/joe.hpp>
#include <sse/message.hpp>
#include <sse/provider.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

// What a session's sink does on send: take its lock, append to its queue,
// count bytes. Drained outside the timed region.
class bench_sink final : public sse::sink {
public:
    sse::delivery send(const sse::frame& f) noexcept override {
        std::lock_guard lock(mutex_);
        queue_.push_back(f);
        bytes_ += f.size();
        return sse::delivery::accepted;
    }
    void close(std::error_code) noexcept override {}
    std::size_t drain() {
        std::lock_guard lock(mutex_);
        const std::size_t n = queue_.size();
        queue_.clear(); // keeps capacity, like a session's reused queue
        bytes_ = 0;
        return n;
    }

private:
    std::mutex mutex_;
    std::vector<sse::frame> queue_;
    std::size_t bytes_ = 0;
};

// The baseline: one global lock, a serialization per subscriber.
class naive_provider {
public:
    explicit naive_provider(std::size_t n) : queues_(n) {}
    void publish(const sse::message& m) {
        std::lock_guard lock(mutex_);
        for (auto& q : queues_) q.push_back(m.to_string());
    }
    std::size_t drain() {
        std::size_t n = 0;
        for (auto& q : queues_) {
            n += q.size();
            q.clear();
        }
        return n;
    }

private:
    std::mutex mutex_;
    std::vector<std::vector<std::string>> queues_;
};

sse::message make_message(int i) {
    sse::message m;
    std::string data = "t=" + std::to_string(i);
    data.resize(64, 'x'); // 64-byte payload, as in the fan-out scenarios
    m.append_data(data);
    return m;
}

struct result {
    double ns_per_delivery;
    double messages_per_s;
    std::size_t delivered;
};

// Publishes `messages` messages to `n` subscribers, draining every `drain_every`
// publishes outside the timed region; returns the median of `reps` runs.
template <class Publish, class Drain>
result measure(std::size_t n, int messages, int reps, Publish publish, Drain drain) {
    const int drain_every = std::max(1, static_cast<int>(200000 / n));
    std::vector<double> ns;
    std::size_t delivered = 0;
    for (int r = 0; r < reps + 1; ++r) { // the first run warms up
        clock_type::duration spent{};
        delivered = 0;
        for (int i = 0; i < messages; ++i) {
            const sse::message m = make_message(i);
            const auto t0 = clock_type::now();
            publish(m);
            spent += clock_type::now() - t0;
            if ((i + 1) % drain_every == 0 || i + 1 == messages) delivered += drain();
        }
        if (r > 0) ns.push_back(std::chrono::duration<double, std::nano>(spent).count());
    }
    std::sort(ns.begin(), ns.end());
    const double median = ns[ns.size() / 2];
    return {median / (static_cast<double>(messages) * static_cast<double>(n)), messages / (median / 1e9), delivered};
}

} // namespace

int main(int argc, char** argv) {
    int messages = 0; // 0: chosen per N so each run delivers ~10M frames
    int reps = 5;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--messages") && i + 1 < argc) messages = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::atoi(argv[++i]);
        else {
            std::fprintf(stderr, "usage: %s [--messages M] [--reps R]\n", argv[0]);
            return 2;
        }
    }
    std::printf("fanout_inproc: joe (serialize once, enqueue shared frames) vs naive (serialize per "
                "subscriber under one lock); 64-byte payloads; median of %d runs\n\n",
                reps);
    std::printf("%8s %10s | %12s %14s | %12s %14s | %8s | %s\n", "N", "messages", "joe ns/dlv", "joe msg/s",
                "naive ns/dlv", "naive msg/s", "speedup", "goal (<= 50 ns/dlv at N=10k)");
    bool ok = true;
    for (std::size_t n : {std::size_t{1}, std::size_t{100}, std::size_t{10000}}) {
        const int m = messages > 0 ? messages : static_cast<int>(std::max<std::size_t>(200, 10000000 / n));

        sse::joe joe;
        std::vector<std::shared_ptr<bench_sink>> sinks;
        std::vector<sse::joe::subscription_handle> handles;
        for (std::size_t i = 0; i < n; ++i) {
            sinks.push_back(std::make_shared<bench_sink>());
            handles.push_back(joe.subscribe({.client = sinks.back()}));
        }
        const result ours = measure(
            n, m, reps, [&](const sse::message& msg) { joe.publish(msg); },
            [&] {
                std::size_t d = 0;
                for (auto& s : sinks) d += s->drain();
                return d;
            });

        naive_provider naive(n);
        const result base = measure(
            n, m, reps, [&](const sse::message& msg) { naive.publish(msg); }, [&] { return naive.drain(); });

        const std::size_t expected = static_cast<std::size_t>(m) * n;
        if (ours.delivered != expected || base.delivered != expected) {
            std::fprintf(stderr, "delivery count mismatch at N=%zu: joe %zu, naive %zu, expected %zu\n", n,
                         ours.delivered, base.delivered, expected);
            ok = false;
        }
        std::printf("%8zu %10d | %12.1f %14.0f | %12.1f %14.0f | %7.2fx | %s\n", n, m, ours.ns_per_delivery,
                    ours.messages_per_s, base.ns_per_delivery, base.messages_per_s,
                    base.ns_per_delivery / ours.ns_per_delivery,
                    n == 10000 ? (ours.ns_per_delivery <= 50 ? "PASS" : "MISS") : "");
    }
    return ok ? 0 : 1;
}
