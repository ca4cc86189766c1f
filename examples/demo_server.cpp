// The demo server: the page of scripts/demo.sh at /, event streams at /events, a publish
// endpoint a load generator can drive, an LLM-style POST stream, and the server's numbers as
// JSON and as Prometheus text.
//
//   demo_server [--host 127.0.0.1] [--port 8080] [--threads 1]
//               [--replay none|finite:N|valid:SECONDS] [--first-id now|N] [--gap-event TYPE]
//               [--heartbeat SECONDS] [--lifetime SECONDS] [--retry MS] [--tls-cert FILE --tls-key FILE]
//               [--provider joe|redis://HOST[:PORT][/DB][?prefix=NAME]] [--publish-batch K]
//               [--max-write-delay-us US]
//
// --max-write-delay-us US: sse::session_options::max_write_delay (default 1000; 0: each stream
// writes as soon as its first frame is queued, without the write line's coalescing).
// --publish-batch K: /publish publishes K messages per handler. The default, 1, is how
// applications publish and what the library's write coalescing is measured with; K = 64 is the
// like-for-like peer of bench/raw_epoll_server's --batch 64 only. On Joe without ?rate, the K
// messages go out in one sse::joe::publish_batch (each stamped as it is made).
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
//   GET  /                       the page (examples/demo_page.html, compiled in)
//   GET  /events[?topic=T]...[&sid=S]
//        an event stream (repeat topic for several; default topic if none). With sid (1 to 64
//        of A-Z a-z 0-9 _ -), the stream first gets an `event: hello` (no id) whose data is
//        {"stream":N,"last_event_id":"<the header as sent>"|null,"t":"<ns>","replay":"..."|null},
//        queued after any replay, and POST /cut?sid=S can end it.
//   POST /cut?sid=S              ends the stream with that sid gracefully (its EventSource reconnects
//                                with Last-Event-ID): {"cut":true}, or 404 {"cut":false}
//   POST /publish?n=M&size=B[&topic=T][&rate=R]
//        publishes M messages whose one data line is exactly B bytes:
//        "t=<ns since the epoch, CLOCK_REALTIME, taken right before the publish> s=<1..M>" padded with 'x',
//        R per second (default 0: as fast as the server takes them; it holds back while the
//        streams' queues are on average over half their budget, so the clients set the pace).
//        Answers {"published":M}. n <= 10^8, 21 <= size <= 16 MiB, else 400.
//   POST /say[?name=N]           publishes the body (1 to 1000 bytes) to topic `chat` as
//                                `event: chat`, data "t=<ns> N: <body>"
//   POST /chat[?stream=0]        the body is a prompt (at most 2000 bytes); the answer (canned, no
//                                model) streams back as `data: {"text":"<token>"}` events, one every
//                                30 ms, then `data: [DONE]`, and the stream ends; with stream=0, the
//                                whole answer at once as {"text":"..."}
//   GET  /stats                  server and provider counters as JSON
//   GET  /metrics                the same as Prometheus text (sse/metrics.hpp)
//
// Topics `ticker` (`event: ticker`, data "t=<ns> SSE <price>", four a second) and `stats`
// (`event: stats`, data "t=<ns> {json}", once a second: connections, streams, queued bytes,
// events/s out, overflows, published, replayed) are published by the server's own timers, which
// start with the first stream that asks for either: until then nothing takes ids or history
// from /publish's messages (tests and benchmarks count on consecutive ids).
#include "demo_page.hpp" // examples/demo_page.html

#include <sse/metrics.hpp>
#include <sse/redis.hpp>
#include <sse/replayer.hpp>
#include <sse/server.hpp>
#include <sse/ssl.hpp>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

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
    std::optional<long long> max_write_delay_us; // unset: session_options' default
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "demo_server: %s\nusage: demo_server [--host ADDR] [--port N] [--threads N] "
                 "[--replay none|finite:N|valid:SECONDS] [--first-id now|N] [--gap-event TYPE] [--heartbeat SECONDS] "
                 "[--lifetime SECONDS] [--retry MS] [--tls-cert FILE --tls-key FILE] "
                 "[--provider joe|redis://HOST[:PORT][/DB][?prefix=NAME]] [--publish-batch K] [--max-write-delay-us US]\n",
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
        else if (a == "--max-write-delay-us") c.max_write_delay_us = number<long long>(value(), "bad --max-write-delay-us");
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
        for (std::size_t i = 0; i < k; ++i) {
            sse::message& m = batch_msgs[i];
            std::string line = "t=" + std::to_string(realtime_ns()) + " s=" + std::to_string(done + i + 1);
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
        std::string line = "t=" + std::to_string(realtime_ns()) + " s=" + std::to_string(done + 1);
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

// A JSON string literal of `s` (quotes, backslashes and control characters escaped; other
// bytes as they are).
std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

sse::message event_of(const char* type, std::string_view data) {
    sse::message m;
    m.type = sse::event_type(type);
    m.append_data(data);
    return m;
}

// The provider's counters for the stats topic and /metrics, whichever provider it is.
sse::provider_stats provider_counts(const sse::provider_stats& p) { return p; }
sse::provider_stats provider_counts(const sse::redis_stats& r) {
    sse::provider_stats p = r.local;
    p.subscribers = r.local.subscribers + r.catching_up;
    p.published = r.published;
    p.replayed = r.replayed;
    p.gaps = r.gaps;
    return p;
}

void write_provider_metrics(sse::prometheus_writer& w, const sse::provider_stats& p) { sse::write_metrics(w, p); }
void write_provider_metrics(sse::prometheus_writer& w, const sse::redis_stats& r) {
    sse::write_metrics(w, provider_counts(r));
    w.counter("redis_relayed_total", "Messages read from the Redis log and fanned out here.", r.relayed);
    w.counter("redis_publish_failures_total", "Publishes Redis refused, failed or left unanswered.", r.publish_failures);
    w.counter("redis_connects_total", "Times the Redis provider became ready.", r.connects);
    w.gauge("redis_connected", "1 while Redis takes publishes and resuming subscribes.", std::int64_t{r.connected ? 1 : 0});
}

// The canned answer to a prompt, and its tokens: each word with the space before it.
std::string answer_to(std::string_view prompt) {
    return "You asked: \"" + std::string(prompt) +
           "\". This answer is canned (no model runs here), but it arrives the way an LLM's does: as "
           "server-sent events on the response to a POST, one token at a time, read by the page with "
           "fetch() and a stream reader. The same server, on the same port, feeds the EventSource "
           "streams above; each token is a frame queued to this stream alone (stream_accept::on_open).";
}

std::vector<std::string> tokens_of(std::string_view text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t end = text.find(' ', at + 1);
        if (end == std::string_view::npos) end = text.size();
        out.emplace_back(text.substr(at, end - at));
        at = end;
    }
    return out;
}

// Streams one answer, a token every 30 ms, to the stream it was opened on, then [DONE] and the end.
struct answer_run : std::enable_shared_from_this<answer_run> {
    std::weak_ptr<sse::sink> stream;
    std::vector<std::string> tokens;
    std::size_t next = 0;
    asio::steady_timer timer;

    answer_run(asio::any_io_executor ex, std::weak_ptr<sse::sink> s, std::vector<std::string> t)
        : stream(std::move(s)), tokens(std::move(t)), timer(ex) {}

    void step() {
        const std::shared_ptr<sse::sink> s = stream.lock();
        if (!s) return; // the client went away
        sse::message m;
        m.append_data(next < tokens.size() ? "{\"text\":" + json_string(tokens[next]) + "}" : std::string("[DONE]"));
        if (s->send(sse::frame(m)) != sse::delivery::accepted) return;
        if (next++ == tokens.size()) return s->close({}); // after what is queued: the reader sees [DONE], then the end
        timer.expires_after(std::chrono::milliseconds(30));
        timer.async_wait([self = shared_from_this()](std::error_code e) {
            if (!e) self->step();
        });
    }
};

bool valid_sid(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (const char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    return true;
}

// What the page's features share: the streams that can be cut (by sid), and the ticker and stats
// timers. The request hook uses it from any connection's strand; the timers run on `ex`.
template <class Server>
struct demo_state {
    Server& server;
    asio::any_io_executor ex; // the publishing strand
    std::string replay;       // "none" or the --replay value

    std::mutex mutex;
    std::unordered_map<std::string, std::weak_ptr<sse::sink>> streams; // by sid
    std::uint64_t opened = 0;

    std::atomic<bool> timers_started{false};
    bool stopped = false; // on ex
    asio::steady_timer ticker, stats_timer;
    std::mt19937 random{std::random_device{}()};
    double price = 100;
    std::uint64_t last_frames = 0, last_heartbeats = 0;
    std::chrono::steady_clock::time_point last_time{};

    demo_state(Server& s, asio::any_io_executor e, std::string r)
        : server(s), ex(e), replay(std::move(r)), ticker(e), stats_timer(e) {}

    // A stream that asked for hello and cut: registered by its sid, greeted.
    void opened_stream(const std::string& sid, const std::shared_ptr<sse::sink>& s, const std::optional<std::string>& lei) {
        std::uint64_t n = 0;
        {
            std::lock_guard lock(mutex);
            n = ++opened;
            if (streams.size() >= 1024) std::erase_if(streams, [](const auto& kv) { return kv.second.expired(); });
            streams[sid] = s;
        }
        std::string hello = "{\"stream\":" + std::to_string(n) + ",\"last_event_id\":" + (lei ? json_string(*lei) : "null") +
                            ",\"t\":\"" + std::to_string(realtime_ns()) + "\",\"replay\":" +
                            (replay == "none" ? "null" : json_string(replay)) + "}";
        s->send(sse::frame(event_of("hello", hello)));
    }

    bool cut(const std::string& sid) {
        std::shared_ptr<sse::sink> s;
        {
            std::lock_guard lock(mutex);
            if (const auto it = streams.find(sid); it != streams.end()) s = it->second.lock();
        }
        if (!s) return false;
        s->close({});
        return true;
    }

    void start_timers() {
        if (timers_started.exchange(true)) return;
        asio::post(ex, [this] {
            last_time = std::chrono::steady_clock::now();
            const sse::server_stats st = server.stats();
            last_frames = st.frames_written;
            last_heartbeats = st.heartbeats;
            tick();
            stats_tick();
        });
    }

    void stop() {
        asio::post(ex, [this] {
            stopped = true;
            ticker.cancel();
            stats_timer.cancel();
        });
    }

    void publish(const sse::message& m, std::string_view topic) {
        std::error_code ec; // Redis away: this one is lost, the next one goes
        server.publish(m, sse::topic_list(&topic, 1), ec);
    }

    void tick() {
        if (stopped) return;
        price = std::max(1.0, price + std::normal_distribution<double>(0, 0.25)(random));
        char data[64];
        std::snprintf(data, sizeof data, "t=%llu SSE %.2f", static_cast<unsigned long long>(realtime_ns()), price);
        publish(event_of("ticker", data), "ticker");
        ticker.expires_after(std::chrono::milliseconds(250));
        ticker.async_wait([this](std::error_code e) {
            if (!e) tick();
        });
    }

    void stats_tick() {
        if (stopped) return;
        const auto now = std::chrono::steady_clock::now();
        const sse::server_stats st = server.stats();
        const sse::provider_stats p = provider_counts(server.provider().stats());
        const double seconds = std::chrono::duration<double>(now - last_time).count();
        const auto events = static_cast<double>((st.frames_written - last_frames) - (st.heartbeats - last_heartbeats));
        const double rate = seconds > 0 ? events / seconds : 0;
        last_time = now;
        last_frames = st.frames_written;
        last_heartbeats = st.heartbeats;
        char data[512];
        std::snprintf(data, sizeof data,
                      "t=%llu {\"connections\":%lld,\"streams\":%lld,\"queued_bytes\":%lld,\"events_out_per_s\":%.0f,"
                      "\"overflows\":%llu,\"published\":%llu,\"replayed\":%llu,\"subscribers\":%zu}",
                      static_cast<unsigned long long>(realtime_ns()), (long long)st.connections, (long long)st.sessions,
                      (long long)st.queued_bytes, rate, (unsigned long long)st.overflows, (unsigned long long)p.published,
                      (unsigned long long)p.replayed, p.subscribers);
        publish(event_of("stats", data), "stats");
        stats_timer.expires_after(std::chrono::seconds(1));
        stats_timer.async_wait([this](std::error_code e) {
            if (!e) stats_tick();
        });
    }
};

template <class Server>
int serve(Server& srv, asio::io_context& ioc, const config& cfg) {
    asio::any_io_executor publish_ex = asio::make_strand(ioc);
    demo_state<Server> demo(srv, publish_ex, cfg.replay);

    srv.on_request([&](const sse::request& req) -> sse::request_decision {
        const std::string_view path = req.path();
        if (path == "/" && req.method == "GET")
            return sse::response(200, std::string(demo_page), "text/html; charset=utf-8");
        if (path == "/events") {
            sse::stream_accept accept;
            auto topics = req.query_values("topic");
            for (const std::string& t : topics)
                if (t == "ticker" || t == "stats") demo.start_timers();
            if (!topics.empty()) accept.topics = std::move(topics);
            const auto sid = req.query_values("sid");
            if (!sid.empty()) {
                if (!valid_sid(sid.front())) return sse::response(400, "sid is 1 to 64 of A-Z a-z 0-9 _ -\n");
                std::optional<std::string> lei;
                if (req.has_header("Last-Event-ID")) lei = std::string(req.header_value("Last-Event-ID"));
                accept.on_open = [&demo, sid = sid.front(), lei](const std::shared_ptr<sse::sink>& s) {
                    demo.opened_stream(sid, s, lei);
                };
            }
            return accept;
        }
        if (path == "/cut" && req.method == "POST") {
            const std::string sid = req.query_value("sid");
            if (demo.cut(sid)) return sse::response(200, "{\"cut\":true}\n", "application/json");
            return sse::response(404, "{\"cut\":false}\n", "application/json");
        }
        if (path == "/say" && req.method == "POST") {
            if (req.body.empty() || req.body.size() > 1000)
                return sse::response(400, "the body (what to say) must be 1 to 1000 bytes\n");
            std::string name = req.query_value("name", "someone").substr(0, 32);
            std::string text = std::move(name) + ": " + req.body;
            for (char& c : text)
                if (c == '\r' || c == '\n') c = ' ';
            std::error_code ec;
            const sse::message m = event_of("chat", "t=" + std::to_string(realtime_ns()) + " " + text);
            static constexpr std::string_view chat = "chat";
            srv.publish(m, sse::topic_list(&chat, 1), ec);
            if (ec) return sse::response(503, "publish failed: " + ec.message() + "\n");
            return sse::response(200, "{\"published\":1}\n", "application/json");
        }
        if (path == "/chat" && req.method == "POST") {
            if (req.body.size() > 2000) return sse::response(413, "a prompt is at most 2000 bytes\n");
            const std::string answer = answer_to(req.body);
            if (req.query_value("stream") == "0")
                return sse::response(200, "{\"text\":" + json_string(answer) + "}\n", "application/json");
            sse::stream_accept accept;
            accept.topics = {"chat-replies"}; // nothing is published there: the answer goes to this stream alone
            accept.on_open = [ex = publish_ex, tokens = tokens_of(answer)](const std::shared_ptr<sse::sink>& s) mutable {
                auto run = std::make_shared<answer_run>(ex, s, std::move(tokens));
                asio::post(ex, [run] { run->step(); });
            };
            return accept;
        }
        if (path == "/metrics" && req.method == "GET") {
            sse::prometheus_writer w;
            sse::write_metrics(w, srv.stats());
            write_provider_metrics(w, srv.provider().stats());
            return sse::response(200, w.take(), std::string(sse::prometheus_content_type));
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
        demo.stop();
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
    if (cfg.max_write_delay_us) options.session.max_write_delay = std::chrono::microseconds(*cfg.max_write_delay_us);
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
