// sse-cat: curl -N for event streams. Prints each event of URL.
//
//   sse-cat URL [-X METHOD] [-H 'Name: value']... [-d BODY] [--last-event-id ID]
//               [--no-retry] [--max-events N] [--json] [--cacert FILE]
//
// Without --json events are printed as a normalized event stream (event:,
// id:, data: lines and a blank line); with --json one line each:
// {"type":...,"data":...,"id":...}. Exits 0 at a clean end with --no-retry
// (or after --max-events), otherwise non-zero with a one-line reason.
#include <sse/client.hpp>
#include <sse/ssl.hpp>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "sse-cat: %s\nusage: sse-cat URL [-X METHOD] [-H 'Name: value']... [-d BODY] "
                 "[--last-event-id ID] [--no-retry] [--max-events N] [--json] [--cacert FILE]\n",
                 why);
    std::exit(2);
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out + "\"";
}

void print_event(const sse::event_view& ev, bool json) {
    std::string out;
    if (json) {
        out = "{\"type\":" + json_string(ev.type) + ",\"data\":" + json_string(ev.data) +
              ",\"id\":" + json_string(ev.last_event_id) + "}\n";
    } else {
        if (ev.type != "message") out += "event: " + std::string(ev.type) + "\n";
        if (!ev.last_event_id.empty()) out += "id: " + std::string(ev.last_event_id) + "\n";
        std::string_view data = ev.data;
        while (true) {
            const std::size_t nl = data.find('\n');
            out += "data: ";
            out += data.substr(0, nl);
            out += "\n";
            if (nl == std::string_view::npos) break;
            data.remove_prefix(nl + 1);
        }
        out += "\n";
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
    sse::request req;
    sse::client cfg;
    bool json = false;
    long long max_events = -1;
    sse::tls_options tls;
    req.target.clear();
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage("missing value");
            return argv[++i];
        };
        if (a == "-X") req.method = value();
        else if (a == "-H") {
            const std::string h = value();
            const std::size_t colon = h.find(':');
            if (colon == std::string::npos || colon == 0) usage("a header must look like 'Name: value'");
            std::string v = h.substr(colon + 1);
            v.erase(0, v.find_first_not_of(" \t"));
            req.headers.push_back({h.substr(0, colon), v});
        } else if (a == "-d") {
            req.body = value();
            if (req.method == "GET") req.method = "POST";
        } else if (a == "--last-event-id") req.headers.push_back({"Last-Event-ID", value()});
        else if (a == "--no-retry") cfg.backoff.max_retries = -1;
        else if (a == "--max-events") {
            const std::string v = value();
            const auto r = std::from_chars(v.data(), v.data() + v.size(), max_events);
            if (r.ec != std::errc() || r.ptr != v.data() + v.size() || max_events < 0) usage("bad --max-events");
        } else if (a == "--json") json = true;
        else if (a == "--cacert") tls.ca_file = value();
        else if (a == "-h" || a == "--help") usage("help");
        else if (!a.empty() && a.front() == '-') usage("unknown option");
        else if (req.target.empty()) req.target = a;
        else usage("more than one URL");
    }
    if (req.target.empty()) usage("no URL");
    try {
        sse::use_tls(cfg, sse::make_tls_client_context(tls));
    } catch (const std::system_error& e) {
        std::fprintf(stderr, "sse-cat: cannot use --cacert %s: %s\n", tls.ca_file.c_str(), e.what());
        return 1;
    }
    cfg.on_retry = [](std::error_code ec, std::chrono::milliseconds delay) {
        std::fprintf(stderr, "sse-cat: %s; reconnecting in %lld ms\n", ec.message().c_str(), (long long)delay.count());
    };

    asio::io_context ioc;
    sse::connection conn(ioc.get_executor(), req, cfg);
    long long seen = 0;
    bool reached_max = max_events == 0;
    conn.subscribe_to_all([&](const sse::event_view& ev) {
        if (reached_max) return;
        print_event(ev, json);
        if (max_events > 0 && ++seen >= max_events) {
            reached_max = true;
            conn.cancel();
        }
    });
    bool interrupted = false;
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code e, int) {
        if (e) return;
        interrupted = true;
        conn.cancel();
    });
    std::error_code result;
    if (!reached_max)
        conn.async_run([&](std::error_code ec) {
            result = ec;
            signals.cancel();
        });
    else
        signals.cancel();
    ioc.run();

    if (reached_max) return 0;
    if (interrupted) {
        std::fprintf(stderr, "sse-cat: interrupted\n");
        return 130;
    }
    if (!result) return 0;
    std::string why = result.message();
    if (result == sse::error::retries_exhausted && conn.last_error()) why += ": " + conn.last_error().message();
    if (result == sse::error::bad_status || result == sse::error::bad_content_type)
        why += " (HTTP " + std::to_string(conn.last_status()) + ")";
    std::fprintf(stderr, "sse-cat: %s\n", why.c_str());
    return 1;
}
