// The demo server: a page at / whose EventSource shows live events, event
// streams at /events, and a publish endpoint a load generator can drive.
//
//   demo_server [--host 127.0.0.1] [--port 8080] [--threads 1]
//               [--replay none|finite:N|valid:SECONDS] [--first-id now|N] [--gap-event TYPE]
//               [--heartbeat SECONDS] [--lifetime SECONDS] [--retry MS] [--tls-cert FILE --tls-key FILE]
//               [--provider joe|redis://HOST[:PORT][/DB][?prefix=NAME]] [--publish-batch K]
//               [--gather-rounds N] [--gather-ms MS]
//
// --gather-rounds N, --gather-ms MS: sse::session_options::gather_rounds and gather_time (how
// long a stream's write may wait for more frames while they keep coming; 0 rounds: write each
// at once).
// --publish-batch K: /publish publishes K messages per handler (default 1, one per handler, so
// that the streams' writes interleave with publishing); with K > 1 the streams' queues gather up
// to K frames between two writes, as bench/raw_epoll_server's --batch does. On Joe without
// ?rate, the K messages go out in one sse::joe::publish_batch (each stamped as it is made).
//
// With a replayer, ids are automatic from --first-id: by default the microseconds since the
// epoch at start, so a restarted server's ids are above every id the last one gave out and a
// client resuming with an old Last-Event-ID gets all the new process holds (see
// docs/replayer.md, "Restarts"). --gap-event TYPE: such a client (or any whose id the history
// can't reach) first gets an event of that type whose data is its id; none by default.
// The start-up line names the first id: "... (threads 1, replay finite:N, first id N)".
//
//   --provider redis://...   runs on Redis (sse::redis_provider), so that several demo servers
//                            share one stream; --replay finite:N then keeps about N messages per
//                            topic in Redis, valid:SECONDS those younger than that (ids are Redis's,
//                            --first-id does not apply; --gap-event does).
//
//   GET  /                       the page
//   GET  /events[?topic=T]...    an event stream (repeat topic for several; default topic if none)
//   POST /publish?n=M&size=B[&topic=T][&rate=R]
//        publishes M messages whose one data line is exactly B bytes:
//        "t=<ns since the epoch, CLOCK_REALTIME, taken right before the publish>" padded with 'x',
//        R per second (default 0: as fast as the server takes them; it holds back while the
//        streams' queues are on average over half their budget, so the clients set the pace).
//        Answers {"published":M}. n <= 10^8, 21 <= size <= 16 MiB, else 400.
//   GET  /stats                  server and provider counters as JSON
#include <sse/redis.hpp>
#include <sse/replayer.hpp>
#include <sse/server.hpp>
#include <sse/ssl.hpp>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

const char* const page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>sse demo</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; max-width: 50rem; }
  #events { font-family: ui-monospace, monospace; font-size: 0.85rem; }
  #events div { border-bottom: 1px solid #ddd; padding: 0.2rem 0; overflow-wrap: anywhere; }
  #state { font-weight: bold; }
</style>
</head>
<body>
<h1>sse demo</h1>
<p>Connection: <span id="state">connecting</span> &middot; events received: <span id="count">0</span>
&middot; last event id: <span id="last">none</span></p>
<p><button id="publish">Publish one event</button></p>
<div id="events"></div>
<script>
  const state = document.getElementById('state');
  const count = document.getElementById('count');
  const last = document.getElementById('last');
  const list = document.getElementById('events');
  let received = 0;
  window.received = [];
  const source = new EventSource('/events' + location.search);
  source.onopen = () => { state.textContent = 'open'; };
  source.onerror = () => { state.textContent = source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'; };
  source.onmessage = (e) => {
    received += 1;
    window.received.push({ id: e.lastEventId, data: e.data });
    count.textContent = received;
    last.textContent = e.lastEventId || 'none';
    const row = document.createElement('div');
    row.textContent = (e.lastEventId ? '#' + e.lastEventId + ' ' : '') + e.data.slice(0, 200);
    list.prepend(row);
    while (list.childElementCount > 100) list.lastElementChild.remove();
  };
  document.getElementById('publish').onclick = () => fetch('/publish?n=1&size=64', { method: 'POST' });
</script>
</body>
</html>
)html";

struct config {
    std::string host = "127.0.0.1";
    unsigned short port = 8080;
    unsigned threads = 1;
    std::string replay = "none";
    std::optional<std::uint64_t> first_id; // unset: microseconds since the epoch
    std::string gap_event;                 // empty: none
    double heartbeat = 15;
    double lifetime = 0; // 0: until a signal
    long long retry_ms = 0; // > 0: a retry: hint after each stream's head
    std::string tls_cert, tls_key; // both set: HTTPS
    std::string provider = "joe";  // or a redis:// URL
    std::size_t publish_batch = 1; // messages /publish publishes per handler
    std::optional<unsigned> gather_rounds; // unset: session_options' default
    std::optional<double> gather_ms;       // likewise
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "demo_server: %s\nusage: demo_server [--host ADDR] [--port N] [--threads N] "
                 "[--replay none|finite:N|valid:SECONDS] [--first-id now|N] [--gap-event TYPE] [--heartbeat SECONDS] "
                 "[--lifetime SECONDS] [--retry MS] [--tls-cert FILE --tls-key FILE] "
                 "[--provider joe|redis://HOST[:PORT][/DB][?prefix=NAME]] [--publish-batch K] [--gather-rounds N] [--gather-ms MS]\n",
                 why);
    std::exit(2);
}

template <class T>
T number(std::string_view s, const char* what) {
    T v{};
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) usage(what);
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
        else if (a == "--threads") c.threads = number<unsigned>(value(), "bad --threads");
        else if (a == "--replay") c.replay = value();
        else if (a == "--first-id") {
            const std::string_view v = value();
            if (v != "now") c.first_id = number<std::uint64_t>(v, "bad --first-id");
        }
        else if (a == "--gap-event") c.gap_event = value();
        else if (a == "--heartbeat") c.heartbeat = number<double>(value(), "bad --heartbeat");
        else if (a == "--lifetime") c.lifetime = number<double>(value(), "bad --lifetime");
        else if (a == "--retry") c.retry_ms = number<long long>(value(), "bad --retry");
        else if (a == "--publish-batch") c.publish_batch = number<std::size_t>(value(), "bad --publish-batch");
        else if (a == "--gather-rounds") c.gather_rounds = number<unsigned>(value(), "bad --gather-rounds");
        else if (a == "--gather-ms") c.gather_ms = number<double>(value(), "bad --gather-ms");
        else if (a == "--tls-cert") c.tls_cert = value();
        else if (a == "--tls-key") c.tls_key = value();
        else if (a == "--provider") c.provider = value();
        else if (a == "--help" || a == "-h") usage("help");
        else usage("unknown flag");
    }
    if (c.threads == 0) usage("--threads must be at least 1");
    if (c.publish_batch == 0) usage("--publish-batch must be at least 1");
    if (c.tls_cert.empty() != c.tls_key.empty()) usage("--tls-cert and --tls-key go together");
    if (c.provider != "joe" && c.provider.rfind("redis://", 0) != 0) usage("--provider is joe or a redis:// URL");
    if (!c.gap_event.empty()) {
        std::error_code ec;
        sse::event_type::make(c.gap_event, ec);
        if (ec) usage("bad --gap-event");
    }
    if (!c.first_id) {
        const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
        c.first_id = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count());
    }
    return c;
}

sse::joe make_provider(const config& c) {
    if (c.replay == "none") return sse::joe();
    sse::replayer_options o{.auto_ids = true, .first_id = *c.first_id};
    if (!c.gap_event.empty()) o.gap_event = sse::event_type(c.gap_event);
    if (c.replay.rfind("finite:", 0) == 0)
        return sse::joe(sse::finite_replayer(number<std::size_t>(c.replay.substr(7), "bad --replay finite:N"), o));
    if (c.replay.rfind("valid:", 0) == 0) {
        const double seconds = number<double>(c.replay.substr(6), "bad --replay valid:SECONDS");
        return sse::joe(sse::valid_replayer(
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds)), o));
    }
    usage("bad --replay");
}

sse::redis_provider make_redis_provider(asio::io_context& ioc, const config& cfg) {
    std::error_code ec;
    sse::redis_options o = sse::parse_redis_url(cfg.provider, ec);
    if (ec) usage("bad --provider URL");
    if (cfg.replay.rfind("finite:", 0) == 0) {
        o.max_len = number<std::size_t>(std::string_view(cfg.replay).substr(7), "bad --replay finite:N");
    } else if (cfg.replay.rfind("valid:", 0) == 0) {
        const double seconds = number<double>(std::string_view(cfg.replay).substr(6), "bad --replay valid:SECONDS");
        o.max_age = std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
        o.max_len = 0;
    } else if (cfg.replay != "none") {
        usage("bad --replay");
    }
    if (!cfg.gap_event.empty()) o.gap_event = sse::event_type(cfg.gap_event);
    o.log = [](sse::log_level level, std::string_view text) {
        if (level >= sse::log_level::info) std::fprintf(stderr, "%.*s\n", (int)text.size(), text.data());
    };
    return sse::redis_provider(ioc.get_executor(), std::move(o));
}

std::uint64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Publishes one message per handler, so the streams' writes interleave with publishing.
template <class Server>
struct publish_run : std::enable_shared_from_this<publish_run<Server>> {
    Server& server;
    asio::any_io_executor ex;
    std::uint64_t left;
    std::size_t size;
    double rate;       // messages per second; 0: as fast as the server takes them
    std::size_t batch; // messages published per handler; the streams' writes run between handlers
    std::vector<std::string> topics;
    std::vector<std::string_view> topic_views;
    sse::message msg;
    std::vector<sse::message> batch_msgs; // publish_batch's
    asio::steady_timer pace;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    std::uint64_t done = 0;
    bool said_busy = false;

    publish_run(Server& s, asio::any_io_executor e, std::uint64_t n, std::size_t b, double r, std::size_t k,
                std::vector<std::string> t)
        : server(s), ex(e), left(n), size(b), rate(r), batch(std::max<std::size_t>(k, 1)), topics(std::move(t)),
          pace(e) {
        for (const auto& x : topics) topic_views.emplace_back(x);
    }

    void step() {
        if (backlogged()) return wait_until(std::chrono::steady_clock::now() + std::chrono::microseconds(200));
        if constexpr (requires { server.provider().publish_batch(std::span<const sse::message>(), sse::topic_list()); }) {
            if (batch > 1 && rate <= 0) { // one publish_batch: every stream queues the K frames at once
                if (!publish_batch()) return;
                if (left > 0) asio::post(ex, [self = this->shared_from_this()] { self->step(); });
                return;
            }
        }
        for (std::size_t i = 0; i < batch && left > 0; ++i) {
            if (rate > 0) { // the k-th message is due k/rate seconds after the start
                const auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                             std::chrono::duration<double>(double(done) / rate));
                if (due > std::chrono::steady_clock::now()) return wait_until(due);
            }
            if (!publish_one()) return;
        }
        if (left > 0) asio::post(ex, [self = this->shared_from_this()] { self->step(); });
    }

    // Publishing holds back while the streams' queues are on average over half their budget:
    // the clients set the pace, and a fast publisher does not push them over it (which would
    // close them) just because it publishes many messages per handler.
    bool backlogged() const {
        const sse::server_stats st = server.stats();
        const auto budget = static_cast<std::int64_t>(server.options().session.max_queue_bytes / 2);
        return st.sessions > 0 && st.queued_bytes > st.sessions * budget;
    }

    void wait_until(std::chrono::steady_clock::time_point t) {
        pace.expires_at(t);
        pace.async_wait([self = this->shared_from_this()](std::error_code e) {
            if (!e) self->step();
        });
    }

    // Publishes min(batch, left) messages with one publish_batch, each stamped as it is made.
    bool publish_batch() {
        const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(batch, left));
        batch_msgs.resize(k);
        for (sse::message& m : batch_msgs) {
            std::string line = "t=" + std::to_string(realtime_ns());
            line.resize(size, 'x');
            m.clear_lines();
            m.append_data(line);
        }
        std::error_code ec;
        server.publish_batch(std::span<const sse::message>(batch_msgs), sse::topic_list(topic_views), ec);
        if (ec) {
            std::fprintf(stderr, "demo_server: publish failed: %s\n", ec.message().c_str());
            left = 0;
            return false;
        }
        left -= k;
        done += k;
        return true;
    }

    // Whether it was published; if not, a retry is scheduled or the run is over.
    bool publish_one() {
        std::string line = "t=" + std::to_string(realtime_ns());
        line.resize(size, 'x');
        msg.clear_lines();
        msg.append_data(line);
        std::error_code ec;
        server.publish(msg, sse::topic_list(topic_views), ec);
        if (ec == sse::error::provider_unavailable) {
            // Redis is away, or has too many publishes unanswered: try this one again shortly.
            if (!said_busy) std::fprintf(stderr, "demo_server: publish: %s; retrying\n", ec.message().c_str());
            said_busy = true;
            wait_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(1));
            return false;
        }
        if (ec) {
            std::fprintf(stderr, "demo_server: publish failed: %s\n", ec.message().c_str());
            left = 0;
            return false;
        }
        --left;
        ++done;
        return true;
    }
};

// The provider's counters as JSON members (joe's, or a redis_provider's).
std::string provider_json(const sse::provider_stats& p) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "\"subscribers\":%zu,\"published\":%llu,\"delivered\":%llu,\"replayed\":%llu,\"gaps\":%llu",
                  p.subscribers, (unsigned long long)p.published, (unsigned long long)p.delivered,
                  (unsigned long long)p.replayed, (unsigned long long)p.gaps);
    return buf;
}

std::string provider_json(const sse::redis_stats& r) {
    char buf[384];
    std::snprintf(buf, sizeof buf,
                  "\"subscribers\":%zu,\"published\":%llu,\"delivered\":%llu,\"replayed\":%llu,\"gaps\":%llu,"
                  "\"relayed\":%llu,\"publish_failures\":%llu,\"redis_connected\":%s",
                  r.local.subscribers + r.catching_up, (unsigned long long)r.published,
                  (unsigned long long)r.local.delivered, (unsigned long long)r.replayed, (unsigned long long)r.gaps,
                  (unsigned long long)r.relayed, (unsigned long long)r.publish_failures, r.connected ? "true" : "false");
    return buf;
}

template <class Server>
std::string stats_json(Server& srv) {
    const sse::server_stats s = srv.stats();
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "{\"connections\":%lld,\"sessions\":%lld,\"queued_bytes\":%lld,\"accepted\":%llu,"
                  "\"frames_written\":%llu,\"writes\":%llu,\"bytes_written\":%llu,\"overflows\":%llu,\"rejected_head_too_large\":%llu,"
                  "\"rejected_bad_request\":%llu,\"rejected_too_many\":%llu,\"timed_out\":%llu,",
                  (long long)s.connections, (long long)s.sessions, (long long)s.queued_bytes,
                  (unsigned long long)s.accepted, (unsigned long long)s.frames_written,
                  (unsigned long long)s.writes, (unsigned long long)s.bytes_written, (unsigned long long)s.overflows,
                  (unsigned long long)s.rejected_head_too_large, (unsigned long long)s.rejected_bad_request,
                  (unsigned long long)s.rejected_too_many, (unsigned long long)s.timed_out);
    return buf + provider_json(srv.provider().stats()) + "}\n";
}

template <class Server>
int serve(Server& srv, asio::io_context& ioc, const config& cfg) {
    asio::any_io_executor publish_ex = asio::make_strand(ioc);

    srv.on_request([&](const sse::request& req) -> sse::request_decision {
        const std::string_view path = req.path();
        if (path == "/" && req.method == "GET") return sse::response(200, page, "text/html; charset=utf-8");
        if (path == "/events") {
            sse::stream_accept accept;
            auto topics = req.query_values("topic");
            if (!topics.empty()) accept.topics = std::move(topics);
            return accept;
        }
        if (path == "/publish" && req.method == "POST") {
            std::uint64_t n = 0;
            std::size_t size = 0;
            const std::string ns = req.query_value("n", "1"), bs = req.query_value("size", "64");
            const auto r1 = std::from_chars(ns.data(), ns.data() + ns.size(), n);
            const auto r2 = std::from_chars(bs.data(), bs.data() + bs.size(), size);
            if (r1.ec != std::errc() || r1.ptr != ns.data() + ns.size() || n > 100000000)
                return sse::response(400, "n must be an integer from 0 to 100000000\n");
            if (r2.ec != std::errc() || r2.ptr != bs.data() + bs.size() || size < 21 || size > 16 * 1024 * 1024)
                return sse::response(400, "size must be an integer from 21 to 16777216\n");
            double rate = 0;
            const std::string rs = req.query_value("rate", "0");
            const auto r3 = std::from_chars(rs.data(), rs.data() + rs.size(), rate);
            if (r3.ec != std::errc() || r3.ptr != rs.data() + rs.size() || !(rate >= 0) || rate > 1e9)
                return sse::response(400, "rate must be a number of messages per second from 0 (as fast as possible)\n");
            auto topics = req.query_values("topic");
            if (topics.empty()) topics.emplace_back(sse::default_topic);
            auto run = std::make_shared<publish_run<Server>>(srv, publish_ex, n, size, rate, cfg.publish_batch,
                                                             std::move(topics));
            asio::post(publish_ex, [run] { run->step(); });
            return sse::response(200, "{\"published\":" + std::to_string(n) + "}\n", "application/json");
        }
        if (path == "/stats") return sse::response(200, stats_json(srv), "application/json");
        return sse::response(404, "not found\n");
    });

    std::error_code ec;
    srv.listen({asio::ip::make_address(cfg.host, ec), cfg.port}, ec);
    if (ec) {
        std::fprintf(stderr, "demo_server: cannot listen on %s:%u: %s\n", cfg.host.c_str(), cfg.port,
                     ec.message().c_str());
        return 1;
    }
    std::printf("demo_server: listening on %s://%s:%u/ (threads %u, replay %s", cfg.tls_cert.empty() ? "http" : "https",
                cfg.host.c_str(), srv.local_endpoint().port(), cfg.threads, cfg.replay.c_str());
    if (cfg.provider != "joe") std::printf(", provider redis");
    else if (cfg.replay != "none") std::printf(", first id %llu", static_cast<unsigned long long>(*cfg.first_id));
    std::printf(")\n");
    std::fflush(stdout);

    // Ends gracefully on SIGINT/SIGTERM or when the lifetime is over.
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    asio::steady_timer lifetime(ioc);
    bool stopping = false;
    auto stop = [&] {
        if (stopping) return;
        stopping = true;
        signals.cancel();
        lifetime.cancel();
        sse::shutdown_options how;
        how.final_message.emplace();
        how.final_message->type = sse::event_type("close");
        how.final_message->append_data("bye");
        how.deadline = std::chrono::seconds(2);
        srv.async_shutdown(how, [](std::error_code e) {
            std::printf("demo_server: shut down%s\n", e ? " (streams cut at the deadline)" : "");
            std::fflush(stdout);
        });
    };
    signals.async_wait([&](std::error_code e, int) {
        if (!e) asio::post(ioc, stop);
    });
    if (cfg.lifetime > 0) {
        lifetime.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(cfg.lifetime)));
        lifetime.async_wait([&](std::error_code e) {
            if (!e) asio::post(ioc, stop);
        });
    }

    std::vector<std::thread> pool;
    for (unsigned i = 1; i < cfg.threads; ++i) pool.emplace_back([&] { ioc.run(); });
    ioc.run();
    for (auto& t : pool) t.join();
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    const config cfg = parse_args(argc, argv);

    asio::io_context ioc(static_cast<int>(cfg.threads));
    sse::server_options options;
    options.one_thread = cfg.threads == 1; // no strand per connection: nothing else runs the io_context
    options.session.heartbeat = std::chrono::milliseconds(static_cast<long long>(cfg.heartbeat * 1000));
    options.session.retry = std::chrono::milliseconds(cfg.retry_ms);
    if (cfg.gather_rounds) options.session.gather_rounds = *cfg.gather_rounds;
    if (cfg.gather_ms) options.session.gather_time = std::chrono::microseconds(static_cast<long long>(*cfg.gather_ms * 1000));
    options.log = [](sse::log_level level, std::string_view text) {
        if (level >= sse::log_level::warning) std::fprintf(stderr, "%.*s\n", (int)text.size(), text.data());
    };
    if (!cfg.tls_cert.empty()) {
        std::shared_ptr<asio::ssl::context> tls;
        try {
            tls = sse::make_tls_server_context(cfg.tls_cert, cfg.tls_key);
        } catch (const std::system_error& e) {
            std::fprintf(stderr, "demo_server: cannot load the TLS certificate or key: %s\n", e.what());
            return 1;
        }
        if (cfg.provider != "joe") {
            sse::basic_tls_server<sse::redis_provider> srv(ioc, make_redis_provider(ioc, cfg), options, std::move(tls));
            return serve(srv, ioc, cfg);
        }
        sse::tls_server srv(ioc, make_provider(cfg), options, std::move(tls));
        return serve(srv, ioc, cfg);
    }
    if (cfg.provider != "joe") {
        sse::basic_server<sse::redis_provider> srv(ioc, make_redis_provider(ioc, cfg), options);
        return serve(srv, ioc, cfg);
    }
    sse::server srv(ioc, make_provider(cfg), options);
    return serve(srv, ioc, cfg);
}
