// go-sse's "complex" example: several topics fed by publishers on timers, a request hook that
// picks a stream's topics from its request, history for reconnecting clients, and a metrics
// endpoint. examples/topics_client.cpp reads it.
//
//   topics [--host 127.0.0.1] [--port 8080] [--tick MS] [--lifetime SECONDS]
//
//   GET  /events[?topic=numbers|metrics]...  an event stream on those topics (no topic: both);
//                                            an unknown topic is answered with 400
//   GET  /metrics (and /)                    JSON: the example's counters, server.stats() and
//                                            the provider's stats()
//   POST /stop                               ends the server gracefully
//
// Every tick (500 ms) the `cycles` counter grows and is published to the topic `metrics` as an
// `event: cycles` whose data is the count; every 4 ticks `ops` does the same; every 4 to 6 ticks
// 1 to 5 random numbers, one per data line, go to the topic `numbers` as an unnamed event.
// Messages stay replayable for 5 minutes (valid_replayer, automatic ids), so a client that
// reconnects with Last-Event-ID gets what it missed. Every stream is also on the default topic,
// where the server's last words go: an `event: close` with data `bye` when it shuts down (on
// SIGINT or SIGTERM, POST /stop, or after --lifetime seconds).
#include <sse/replayer.hpp>
#include <sse/server.hpp>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace {

struct config {
    std::string host = "127.0.0.1";
    unsigned short port = 8080;
    std::chrono::milliseconds tick{500};
    double lifetime = 0; // 0: until a signal or POST /stop
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr, "topics: %s\nusage: topics [--host ADDR] [--port N] [--tick MS] [--lifetime SECONDS]\n", why);
    std::exit(2);
}

template <class T>
T number(std::string_view s, const char* what) {
    T v{};
    if constexpr (std::is_floating_point_v<T>) { // (from_chars for floating point is missing from older libc++)
        const std::string text(s);
        char* end = nullptr;
        v = static_cast<T>(std::strtod(text.c_str(), &end));
        if (text.empty() || end != text.c_str() + text.size()) usage(what);
    } else {
        const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || p != s.data() + s.size()) usage(what);
    }
    return v;
}

config parse_args(int argc, char** argv) {
    config c;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= argc) usage("missing value");
            return argv[++i];
        };
        if (a == "--host") c.host = value();
        else if (a == "--port") c.port = number<unsigned short>(value(), "bad --port");
        else if (a == "--tick") c.tick = std::chrono::milliseconds(number<unsigned>(value(), "bad --tick"));
        else if (a == "--lifetime") c.lifetime = number<double>(value(), "bad --lifetime");
        else if (a == "--help" || a == "-h") usage("help");
        else usage("unknown flag");
    }
    if (c.tick.count() == 0) usage("--tick must be at least 1");
    return c;
}

// Runs `action` now and again after every `interval()`, until `stopping` is set (and the timer
// cancelled). The flag matters: cancel() cannot stop a wait that already expired and whose
// handler is queued, and publishing after the server's shutdown began throws provider_closed.
// The pending wait owns the step; the step only refers to itself weakly, so nothing is leaked.
void every(asio::steady_timer& timer, const bool& stopping, std::function<std::chrono::milliseconds()> interval,
           std::function<void()> action) {
    auto step = std::make_shared<std::function<void(std::error_code)>>();
    *step = [&timer, &stopping, interval = std::move(interval), action = std::move(action),
             weak = std::weak_ptr<std::function<void(std::error_code)>>(step)](std::error_code ec) {
        if (ec || stopping) return;
        timer.expires_after(interval());
        timer.async_wait([self = weak.lock()](std::error_code e) { (*self)(e); });
        action();
    };
    (*step)({});
}

// The example's own counters (go-sse's metrics.go).
struct metrics {
    std::atomic<std::uint64_t> cycles{0};
    std::atomic<std::uint64_t> ops{0};
};

void publish_metric(sse::server& server, const char* name, std::uint64_t value) {
    sse::message m;
    m.type = sse::event_type(name);
    m.append_data(std::to_string(value));
    server.publish(m, {"metrics"});
}

std::string metrics_json(sse::server& server, const metrics& counters) {
    const sse::server_stats s = server.stats();
    const sse::provider_stats p = server.provider().stats();
    std::string out = "{\"counters\":{";
    auto field = [&out](const char* name, auto value, bool last = false) {
        out += "\"";
        out += name;
        out += "\":" + std::to_string(value) + (last ? "" : ",");
    };
    field("cycles", counters.cycles.load());
    field("ops", counters.ops.load(), true);
    out += "},\"server\":{";
    field("connections", s.connections);
    field("sessions", s.sessions);
    field("queued_bytes", s.queued_bytes);
    field("accepted", s.accepted);
    field("frames_written", s.frames_written);
    field("bytes_written", s.bytes_written);
    field("overflows", s.overflows);
    field("dropped_frames", s.dropped_frames);
    field("heartbeats", s.heartbeats);
    field("rejected_head_too_large", s.rejected_head_too_large);
    field("rejected_bad_request", s.rejected_bad_request);
    field("rejected_too_many", s.rejected_too_many);
    field("timed_out", s.timed_out, true);
    out += "},\"provider\":{";
    field("subscribers", p.subscribers);
    field("published", p.published);
    field("delivered", p.delivered);
    field("overflows", p.overflows);
    field("replayed", p.replayed);
    field("gaps", p.gaps, true);
    out += "}}\n";
    return out;
}

} // namespace

int main(int argc, char** argv) {
    const config cfg = parse_args(argc, argv);
    asio::io_context ioc;

    sse::valid_replayer history(std::chrono::minutes(5), {.auto_ids = true});
    history.set_gc_interval(std::chrono::minutes(1));
    sse::server_options options;
    options.log = [](sse::log_level level, std::string_view text) {
        if (level >= sse::log_level::warning) std::fprintf(stderr, "%.*s\n", (int)text.size(), text.data());
    };
    sse::server server(ioc, sse::joe(std::move(history)), options);

    metrics counters;
    bool stopping = false;
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    asio::steady_timer lifetime(ioc), cycles(ioc), ops(ioc), numbers(ioc);
    auto stop = [&] {
        if (stopping) return;
        stopping = true;
        for (asio::steady_timer* t : {&lifetime, &cycles, &ops, &numbers}) t->cancel();
        signals.cancel();
        sse::shutdown_options how;
        how.final_message.emplace();
        how.final_message->type = sse::event_type("close");
        how.final_message->append_data("bye"); // without data, clients would not see the event
        server.async_shutdown(how, [](std::error_code ec) {
            std::printf("topics: shut down%s\n", ec ? " (streams cut at the deadline)" : "");
            std::fflush(stdout);
        });
    };

    // The hook: which topics a request streams, or a plain answer.
    const sse::header cors{"Access-Control-Allow-Origin", "*"};
    server.on_request([&](const sse::request& req) -> sse::request_decision {
        const std::string_view path = req.path();
        if (path == "/events") {
            std::vector<std::string> topics = req.query_values("topic");
            for (const std::string& t : topics)
                if (t != "numbers" && t != "metrics") return sse::response(400, "unknown topic: " + t + "\n");
            if (topics.empty()) topics = {"numbers", "metrics"};
            topics.emplace_back(sse::default_topic); // for the `event: close` at shutdown
            return sse::stream_accept{std::move(topics), {cors}};
        }
        if (path == "/metrics" || path == "/") {
            sse::response r(200, metrics_json(server, counters), "application/json");
            r.headers.push_back(cors);
            return r;
        }
        if (path == "/stop" && req.method == "POST") {
            asio::post(ioc, stop); // after this response is on its way
            return sse::response(202, "stopping\n");
        }
        return sse::response(404, "not found\n");
    });

    std::error_code ec;
    server.listen({asio::ip::make_address(cfg.host, ec), cfg.port}, ec);
    if (ec) {
        std::fprintf(stderr, "topics: cannot listen on %s:%u: %s\n", cfg.host.c_str(), cfg.port, ec.message().c_str());
        return 1;
    }
    std::printf("topics: http://%s:%u/events?topic=numbers&topic=metrics, metrics at /metrics\n", cfg.host.c_str(),
                server.local_endpoint().port());
    std::fflush(stdout);

    // The publishers.
    const std::chrono::milliseconds tick = cfg.tick;
    every(cycles, stopping, [tick] { return tick; }, [&] { publish_metric(server, "cycles", ++counters.cycles); });
    every(ops, stopping, [tick] { return 4 * tick; }, [&] { publish_metric(server, "ops", ++counters.ops); });
    std::mt19937_64 rng(std::random_device{}());
    every(numbers, stopping, [&rng, tick] { return tick * std::uniform_int_distribution<int>(4, 6)(rng); }, [&] {
        sse::message m;
        const int lines = std::uniform_int_distribution<int>(1, 5)(rng);
        for (int i = 0; i < lines; ++i) m.append_data(std::to_string(std::uniform_int_distribution<std::uint32_t>()(rng)));
        server.publish(m, {"numbers"});
    });

    signals.async_wait([&](std::error_code e, int) {
        if (!e) stop();
    });
    if (cfg.lifetime > 0) {
        lifetime.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(cfg.lifetime)));
        lifetime.async_wait([&](std::error_code e) {
            if (!e) stop();
        });
    }
    ioc.run();
}
