// go-sse's "complex" client, for examples/topics.cpp: subscribes to its topics and prints what
// arrives, until the server says goodbye.
//
//   topics_client [--sub all|numbers|metrics] [BASE_URL]    (default http://127.0.0.1:8080)
//
// `cycles` and `ops` events print the metric; unnamed events (from `numbers`) print the sum of
// their numbers; `event: close` prints "Server closed!" and ends the program with status 0.
// Connection lost in between? The client reconnects with Last-Event-ID and the server's history
// fills the gap.
#include <sse/client.hpp>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

int main(int argc, char** argv) {
    std::string sub = "all";
    std::string base = "http://127.0.0.1:8080";
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--sub" && i + 1 < argc) sub = argv[++i];
        else if (!a.empty() && a.front() != '-') base = a;
        else {
            std::fprintf(stderr, "usage: topics_client [--sub all|numbers|metrics] [BASE_URL]\n");
            return 2;
        }
    }
    if (sub != "all" && sub != "numbers" && sub != "metrics") {
        std::fprintf(stderr, "topics_client: --sub is all, numbers or metrics, not %s\n", sub.c_str());
        return 2;
    }

    sse::request req;
    req.target = base + "/events" + (sub == "all" ? "" : "?topic=" + sub);

    asio::io_context ioc;
    sse::connection conn(ioc.get_executor(), req);
    bool closed_by_server = false;
    conn.subscribe_to_all([&](const sse::event_view& ev) {
        if (ev.type == "cycles" || ev.type == "ops") {
            std::printf("%.*s: %.*s\n", (int)ev.type.size(), ev.type.data(), (int)ev.data.size(), ev.data.data());
        } else if (ev.type == "close") {
            std::printf("Server closed!\n");
            closed_by_server = true;
            conn.cancel();
        } else if (ev.type == "message") {
            std::uint64_t sum = 0;
            int count = 0;
            std::string_view rest = ev.data;
            while (!rest.empty()) { // one number per line
                const std::string_view line = rest.substr(0, rest.find('\n'));
                rest.remove_prefix(std::min(rest.size(), line.size() + 1));
                std::uint64_t n = 0;
                std::from_chars(line.data(), line.data() + line.size(), n);
                sum += n;
                ++count;
            }
            std::printf("numbers: %d, sum %llu (id %.*s)\n", count, (unsigned long long)sum,
                        (int)ev.last_event_id.size(), ev.last_event_id.data());
        }
        std::fflush(stdout);
    });

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code ec, int) {
        if (!ec) conn.cancel();
    });
    std::error_code result;
    conn.async_run([&](std::error_code ec) {
        result = ec;
        signals.cancel();
    });
    ioc.run();

    if (closed_by_server) return 0;
    std::fprintf(stderr, "topics_client: %s\n", result ? result.message().c_str() : "the stream ended");
    return 1;
}
