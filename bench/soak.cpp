// soak: the whole stack for minutes with nothing lost (the hardening issue's soak; not in CI).
//
//   soak [--clients 1000] [--messages 1000000] [--publishers 4] [--history 200000]
//        [--server-threads 2] [--client-threads 2] [--disconnect-ms 5000] [--reconnect-ms 200]
//        [--queue-limit-mib 8] [--socket-buffer-kib 64] [--warmup 250000] [--samples 5] [--max-seconds 1800]
//        [--seed 1]
//
// A server process (forked at start, while both processes are single-threaded) runs sse::server
// on joe with a finite_replayer of --history messages (automatic ids from the microseconds since
// the epoch, a "gap" event for ids it can't reach), --server-threads io threads, and
// --publishers threads that publish --messages in all, each its own numbered sequence: data
// "<publisher> <n>". A publisher holds back while the server's queued bytes exceed
// --queue-limit-mib (the clients set the pace, not a fixed rate). Both ends' socket buffers are
// --socket-buffer-kib (SO_SNDBUF on the server, SO_RCVBUF on the clients): what a client that
// disconnects loses in them, it must get back from the history, so they bound how far behind
// the newest message a client can be (Linux grows loopback buffers to megabytes otherwise).
//
// This process runs --clients raw clients (asio sockets and sse::parser, on --client-threads
// threads). Each disconnects at random (uniformly within 2 x --disconnect-ms of its connect),
// half by an orderly close and half by a reset, and reconnects within --reconnect-ms with
// Last-Event-ID; a stream the server ends (e.g. a queue over its budget) reconnects the same way.
// Every event is checked as it arrives: its id must be the next one (so a client's ids are
// complete, in order, without duplicates: exactly first .. first + messages - 1), no gap event may
// come, and its data must be the next number of its publisher.
//
// Memory: publishing pauses at checkpoints, after --warmup messages (the history is full by
// then) and --samples times more, evenly up to the last message (the last is the end, every
// client done and connected). At each, once every client has received everything published, the
// server samples its RSS, its heap in use (mallinfo2: what the program holds, not what glibc
// keeps free), then calls malloc_trim(0) and samples its RSS again. The rule: at every checkpoint
// after the warm-up, the heap in use is within +10% (or 4 MiB) of the warm-up checkpoint's, and
// the RSS after malloc_trim within +25% (or 8 MiB): with the heap flat within 0.5%, the trimmed
// RSS moved by up to 9% between checkpoints (pages that hold a few live chunks stay; thread
// stacks and glibc's arenas move it by a few MiB in small runs), so it only watches for a trend
// the heap would not show, such as fragmentation. Raw RSS and peak RSS are printed, not judged:
// they measure glibc's retention of freed memory as much as the program. At the end the clients
// close and the server samples its heap again: (heap in use with every stream idle - without
// them) / streams, the heap an idle stream holds, must be at most 16 KiB, however large the
// backlogs it wrote.
//
// Prints the parameters, progress every 10 s, each checkpoint, then one summary with a table of
// the checkpoints; exits 0 when every check passed and both memory rules held, 1 otherwise, 2 on
// bad arguments.
#include <sse/message.hpp>
#include <sse/parser.hpp>
#include <sse/replayer.hpp>
#include <sse/server.hpp>

#include <asio/connect.hpp>
#include <asio/dispatch.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <malloc.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;

struct config {
    std::size_t clients = 1000;
    std::uint64_t messages = 1000000;
    unsigned publishers = 4;
    std::size_t history = 200000;
    unsigned server_threads = 2;
    unsigned client_threads = 2;
    unsigned disconnect_ms = 5000;
    unsigned reconnect_ms = 200;
    std::size_t queue_limit_mib = 8;
    std::size_t socket_buffer_kib = 64;
    std::uint64_t warmup = 250000;
    unsigned samples = 5;
    unsigned max_seconds = 1800;
    std::uint64_t seed = 1;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "soak: %s\nusage: soak [--clients N] [--messages N] [--publishers N] [--history N] "
                 "[--server-threads N] [--client-threads N] [--disconnect-ms MS] [--reconnect-ms MS] "
                 "[--queue-limit-mib N] [--socket-buffer-kib N] [--warmup N] [--samples N] [--max-seconds S] "
                 "[--seed N]\n",
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
        if (i + 1 >= argc) usage("missing value");
        const std::string_view v = argv[++i];
        if (a == "--clients") c.clients = number<std::size_t>(v, "bad --clients");
        else if (a == "--messages") c.messages = number<std::uint64_t>(v, "bad --messages");
        else if (a == "--publishers") c.publishers = number<unsigned>(v, "bad --publishers");
        else if (a == "--history") c.history = number<std::size_t>(v, "bad --history");
        else if (a == "--server-threads") c.server_threads = number<unsigned>(v, "bad --server-threads");
        else if (a == "--client-threads") c.client_threads = number<unsigned>(v, "bad --client-threads");
        else if (a == "--disconnect-ms") c.disconnect_ms = number<unsigned>(v, "bad --disconnect-ms");
        else if (a == "--reconnect-ms") c.reconnect_ms = number<unsigned>(v, "bad --reconnect-ms");
        else if (a == "--queue-limit-mib") c.queue_limit_mib = number<std::size_t>(v, "bad --queue-limit-mib");
        else if (a == "--socket-buffer-kib") c.socket_buffer_kib = number<std::size_t>(v, "bad --socket-buffer-kib");
        else if (a == "--warmup") c.warmup = number<std::uint64_t>(v, "bad --warmup");
        else if (a == "--samples") c.samples = number<unsigned>(v, "bad --samples");
        else if (a == "--max-seconds") c.max_seconds = number<unsigned>(v, "bad --max-seconds");
        else if (a == "--seed") c.seed = number<std::uint64_t>(v, "bad --seed");
        else usage("unknown flag");
    }
    if (c.clients == 0 || c.messages == 0 || c.publishers == 0 || c.history == 0 || c.server_threads == 0 ||
        c.client_threads == 0 || c.disconnect_ms == 0 || c.samples == 0)
        usage("counts must be at least 1");
    if (c.warmup >= c.messages) usage("--warmup must be below --messages");
    if (c.warmup <= c.history) usage("--warmup must be above --history: memory is compared from a full history on");
    if (c.messages - c.warmup < c.samples) usage("--samples must be at most --messages minus --warmup");
    return c;
}

// A "Vm...:" line of /proc/<pid>/status, KiB.
long status_kib(pid_t pid, const char* field) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(pid));
    std::FILE* f = std::fopen(path, "r");
    if (!f) return -1;
    char line[256];
    long kib = -1;
    const std::size_t n = std::strlen(field);
    while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, field, n) == 0 && line[n] == ':' && std::sscanf(line + n + 1, "%ld", &kib) == 1) break;
    std::fclose(f);
    return kib;
}
long rss_kib(pid_t pid) { return status_kib(pid, "VmRSS"); }
long peak_rss_kib(pid_t pid) { return status_kib(pid, "VmHWM"); }

// Bytes the allocator holds for the program (in use, not what it keeps free), KiB.
long heap_in_use_kib() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    const struct mallinfo2 m = ::mallinfo2();
    return static_cast<long>((m.uordblks + m.hblkhd) / 1024);
#else
    return -1;
#endif
}

// The server's memory at a checkpoint (KiB), with its sessions and queued bytes then.
struct memory_sample {
    std::uint64_t published = 0;
    long rss = -1, heap = -1;                 // before malloc_trim
    long rss_trimmed = -1, heap_trimmed = -1; // after it
    long peak_rss = -1;                       // VmHWM: the most the process ever had resident
    long long sessions = 0, queued = 0;
};

// "<rss KiB> <heap in use KiB>" of this process.
std::string memory_now() { return std::to_string(rss_kib(::getpid())) + " " + std::to_string(heap_in_use_kib()); }

void raise_open_files() {
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &r);
    }
}

// Lines over a pipe between the two processes.
class line_pipe {
public:
    line_pipe(int in, int out) : in_(in), out_(out) {}
    void send(const std::string& line) const {
        const std::string s = line + "\n";
        std::size_t at = 0;
        while (at < s.size()) {
            const ssize_t n = ::write(out_, s.data() + at, s.size() - at);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;
            at += static_cast<std::size_t>(n);
        }
    }
    // The next line, or nothing within `timeout` (or at the other end's exit).
    std::optional<std::string> receive(std::chrono::milliseconds timeout) {
        const auto until = clock_type::now() + timeout;
        for (;;) {
            if (const std::size_t nl = buf_.find('\n'); nl != std::string::npos) {
                std::string line = buf_.substr(0, nl);
                buf_.erase(0, nl + 1);
                return line;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now());
            if (left.count() <= 0) return std::nullopt;
            pollfd p{in_, POLLIN, 0};
            const int r = ::poll(&p, 1, static_cast<int>(left.count()));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return std::nullopt;
            char b[512];
            const ssize_t n = ::read(in_, b, sizeof b);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return std::nullopt;
            buf_.append(b, static_cast<std::size_t>(n));
        }
    }

private:
    int in_, out_;
    std::string buf_;
};

// ------------------------------------------------------------------------------------- the server

int run_server(const config& cfg, line_pipe pipe) {
    const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    const auto first_id =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count());
    asio::io_context ioc(static_cast<int>(cfg.server_threads));
    sse::server_options o;
    o.session.send_buffer_bytes = cfg.socket_buffer_kib * 1024;
    o.log = [](sse::log_level level, std::string_view text) {
        if (level >= sse::log_level::error) std::fprintf(stderr, "soak server: %.*s\n", (int)text.size(), text.data());
    };
    sse::server srv(ioc,
                    sse::joe(sse::finite_replayer(cfg.history, {.auto_ids = true,
                                                                .first_id = first_id,
                                                                .gap_event = sse::event_type("gap")})),
                    o);
    srv.listen({asio::ip::make_address("127.0.0.1"), 0});
    auto work = asio::make_work_guard(ioc);
    std::vector<std::thread> io;
    for (unsigned i = 0; i < cfg.server_threads; ++i) io.emplace_back([&] { ioc.run(); });
    pipe.send("port " + std::to_string(srv.local_endpoint().port()) + " first " + std::to_string(first_id));

    std::vector<std::thread> publishers;
    std::atomic<std::uint64_t> published{0};
    std::atomic<std::uint64_t> tickets{0};          // the next message's place in the whole run
    std::atomic<std::uint64_t> gate{cfg.warmup};    // places below it may be published (see "gate")
    std::atomic<bool> stop{false};
    std::atomic<unsigned> finished{0};
    std::atomic<std::uint64_t> held_back{0};
    const auto limit = static_cast<std::int64_t>(cfg.queue_limit_mib * 1024 * 1024);
    clock_type::time_point started{};
    auto idle_since = clock_type::now();
    for (;;) {
        const std::optional<std::string> cmd = pipe.receive(std::chrono::seconds(5));
        if (!cmd) {
            if (clock_type::now() - idle_since > std::chrono::hours(1)) break; // the parent is gone
            if (!publishers.empty()) pipe.send("memory " + std::to_string(published.load()) + " " + memory_now());
            continue;
        }
        idle_since = clock_type::now();
        if (*cmd == "quit") break;
        if (*cmd == "go") {
            started = clock_type::now();
            for (unsigned k = 0; k < cfg.publishers; ++k) {
                const std::uint64_t count = cfg.messages / cfg.publishers + (k < cfg.messages % cfg.publishers ? 1 : 0);
                publishers.emplace_back([&, k, count] {
                    sse::message m;
                    const std::string prefix = std::to_string(k) + " ";
                    for (std::uint64_t n = 0; n < count; ++n) {
                        // At a checkpoint every publisher waits until the parent has sampled.
                        const std::uint64_t place = tickets.fetch_add(1);
                        while (place >= gate.load() && !stop.load())
                            std::this_thread::sleep_for(std::chrono::milliseconds(1));
                        while (srv.stats().queued_bytes > limit && !stop.load()) { // the clients set the pace
                            held_back.fetch_add(1, std::memory_order_relaxed);
                            std::this_thread::sleep_for(std::chrono::microseconds(200));
                        }
                        if (stop.load()) return;
                        m.clear_lines();
                        m.append_data(prefix + std::to_string(n));
                        srv.publish(m);
                        const std::uint64_t now = published.fetch_add(1) + 1;
                        if (now == gate.load()) pipe.send("checkpoint " + std::to_string(now));
                    }
                    if (finished.fetch_add(1) + 1 == cfg.publishers) {
                        const double s = std::chrono::duration<double>(clock_type::now() - started).count();
                        char line[128];
                        std::snprintf(line, sizeof line, "published %" PRIu64 " %.1f", published.load(), s);
                        pipe.send(line);
                    }
                });
            }
        } else if (cmd->rfind("gate ", 0) == 0) { // the next checkpoint: publishing goes on up to it
            gate.store(std::strtoull(cmd->c_str() + 5, nullptr, 10));
        } else if (*cmd == "report") {
            const sse::server_stats s = srv.stats();
            const sse::provider_stats p = srv.provider().stats();
            char line[512];
            std::snprintf(line, sizeof line,
                          "end %s sessions=%lld connections=%lld queued_bytes=%lld accepted=%" PRIu64
                          " overflows=%" PRIu64 " frames_written=%" PRIu64 " bytes_written=%" PRIu64
                          " replayed=%" PRIu64 " gaps=%" PRIu64 " published=%" PRIu64 " held_back=%" PRIu64,
                          memory_now().c_str(), (long long)s.sessions, (long long)s.connections,
                          (long long)s.queued_bytes, s.accepted, s.overflows, s.frames_written, s.bytes_written,
                          p.replayed, p.gaps, p.published, held_back.load());
            pipe.send(line);
        } else if (*cmd == "sample") { // the memory at a checkpoint, before and after malloc_trim
            const long rss = rss_kib(::getpid()), heap = heap_in_use_kib();
            ::malloc_trim(0); // gives back what glibc keeps free: what is left is what the program holds
            const long rss_trimmed = rss_kib(::getpid()), heap_trimmed = heap_in_use_kib();
            const sse::server_stats s = srv.stats();
            char line[256];
            std::snprintf(line, sizeof line, "sample %" PRIu64 " %ld %ld %ld %ld %ld %lld %lld", published.load(), rss,
                          heap, rss_trimmed, heap_trimmed, peak_rss_kib(::getpid()), (long long)s.sessions,
                          (long long)s.queued_bytes);
            pipe.send(line);
        }
    }
    stop.store(true);
    for (std::thread& t : publishers) t.join();
    work.reset();
    ioc.stop();
    for (std::thread& t : io) t.join();
    return 0;
}

// ------------------------------------------------------------------------------------- the clients

struct totals {
    std::atomic<std::uint64_t> events{0}, reconnects{0}, resets{0}, server_ends{0}, connect_errors{0};
    std::atomic<std::size_t> streaming{0}, complete{0}, failed{0}; // streaming: clients that had a stream once
    std::mutex mutex;
    std::vector<std::string> failures; // the first few
};

class client : public std::enable_shared_from_this<client> {
public:
    client(asio::io_context& ioc, const config& cfg, totals& t, asio::ip::tcp::endpoint ep, std::uint64_t first,
           std::uint64_t seed, std::size_t index)
        : cfg_(cfg), totals_(t), ep_(ep), strand_(asio::make_strand(ioc)), socket_(strand_), timer_(strand_),
          first_(first), next_(first), last_n_(cfg.publishers, -1), rng_(seed), index_(index) {}

    void start() {
        asio::dispatch(strand_, [self = shared_from_this()] { self->connect(); });
    }
    void stop() {
        asio::dispatch(strand_, [self = shared_from_this()] {
            self->stopped_ = true;
            std::error_code ignored;
            self->timer_.cancel();
            self->socket_.close(ignored);
        });
    }
    std::uint64_t received() const { return received_.load(std::memory_order_relaxed); }
    bool has_failed() const { return failed_flag_.load(std::memory_order_relaxed); }

private:
    void connect() {
        if (stopped_) return;
        ++generation_;
        socket_ = asio::ip::tcp::socket(strand_);
        std::error_code ignored; // a best effort, as the server's SO_SNDBUF
        socket_.open(asio::ip::tcp::v4(), ignored);
        socket_.set_option(asio::socket_base::receive_buffer_size(static_cast<int>(cfg_.socket_buffer_kib * 1024)),
                           ignored);
        in_body_ = false;
        head_.clear();
        request_ = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n";
        // Also before the first event: the id before the first one makes the server replay
        // whatever was published while this client was away, from the very first message on.
        request_ += "Last-Event-ID: " + std::to_string(next_ - 1) + "\r\n";
        request_ += "\r\n";
        socket_.async_connect(ep_, [self = shared_from_this(), g = generation_](std::error_code ec) {
            if (g != self->generation_) return;
            if (ec) {
                self->totals_.connect_errors.fetch_add(1, std::memory_order_relaxed);
                return self->reconnect_later();
            }
            asio::async_write(self->socket_, asio::buffer(self->request_), [self, g](std::error_code wec, std::size_t) {
                if (g != self->generation_) return;
                if (wec) return self->broken();
                self->read();
            });
        });
    }

    void read() {
        socket_.async_read_some(asio::buffer(buf_), [self = shared_from_this(), g = generation_](std::error_code ec,
                                                                                                 std::size_t n) {
            if (g != self->generation_) return;
            if (ec) return self->broken();
            self->on_bytes(std::string_view(self->buf_.data(), n));
            if (self->generation_ == g && !self->failed_) self->read();
        });
    }

    void on_bytes(std::string_view bytes) {
        if (!in_body_) {
            head_.append(bytes);
            const std::size_t end = head_.find("\r\n\r\n");
            if (end == std::string::npos) {
                if (head_.size() > 16384) fail("response head too large");
                return;
            }
            if (head_.rfind("HTTP/1.1 200 OK\r\n", 0) != 0) return fail("not 200: " + head_.substr(0, 40));
            in_body_ = true;
            if (!streamed_) {
                streamed_ = true;
                totals_.streaming.fetch_add(1);
            }
            const std::string rest = head_.substr(end + 4);
            head_.clear();
            if (!done_) arm_disconnect();
            feed(rest);
        } else {
            feed(bytes);
        }
    }

    void feed(std::string_view bytes) {
        std::error_code ec;
        parser_.feed(bytes, [this](const sse::event_view& e) { on_event(e); }, ec);
        if (ec) fail("parser: " + ec.message());
    }

    void on_event(const sse::event_view& e) {
        if (failed_) return;
        if (e.type == "gap") return fail("gap event after id " + std::string(e.data));
        std::uint64_t id = 0;
        const auto r = std::from_chars(e.last_event_id.data(), e.last_event_id.data() + e.last_event_id.size(), id);
        if (r.ec != std::errc() || id != next_)
            return fail("id " + std::string(e.last_event_id) + " where " + std::to_string(next_) + " was due");
        unsigned k = 0;
        std::int64_t n = -1;
        const char* p = e.data.data();
        const char* end = p + e.data.size();
        const auto rk = std::from_chars(p, end, k);
        const auto rn = rk.ec == std::errc() && rk.ptr < end && *rk.ptr == ' ' ? std::from_chars(rk.ptr + 1, end, n) : rk;
        if (rk.ec != std::errc() || rn.ec != std::errc() || rn.ptr != end || k >= last_n_.size() || n != last_n_[k] + 1)
            return fail("id " + std::to_string(id) + ": data \"" + std::string(e.data) + "\" out of its publisher's order");
        last_n_[k] = n;
        ++next_;
        received_.store(next_ - first_, std::memory_order_relaxed);
        totals_.events.fetch_add(1, std::memory_order_relaxed);
        if (next_ - first_ == cfg_.messages) {
            done_ = true;
            timer_.cancel(); // no more disconnects: it stays connected, idle, until the end
            totals_.complete.fetch_add(1);
        }
    }

    // The connection ended without the client wanting it (the server closed it).
    void broken() {
        if (stopped_ || failed_) return;
        if (done_) return; // the end of the run
        totals_.server_ends.fetch_add(1, std::memory_order_relaxed);
        drop_connection(false);
        reconnect_later();
    }

    void arm_disconnect() {
        std::uniform_int_distribution<unsigned> d(1, 2 * cfg_.disconnect_ms);
        timer_.expires_after(std::chrono::milliseconds(d(rng_)));
        timer_.async_wait([self = shared_from_this(), g = generation_](std::error_code ec) {
            if (ec || g != self->generation_ || self->done_ || self->stopped_ || self->failed_) return;
            const bool reset = (self->rng_() & 1) != 0;
            if (reset) self->totals_.resets.fetch_add(1, std::memory_order_relaxed);
            self->drop_connection(reset);
            self->reconnect_later();
        });
    }

    void drop_connection(bool reset) {
        ++generation_; // the pending read and timer are stale from now on
        std::error_code ignored;
        if (reset) socket_.set_option(asio::socket_base::linger(true, 0), ignored);
        socket_.close(ignored);
        parser_.finish(); // an event cut in half is dropped; the last id stays
    }

    void reconnect_later() {
        totals_.reconnects.fetch_add(1, std::memory_order_relaxed);
        std::uniform_int_distribution<unsigned> d(0, cfg_.reconnect_ms);
        timer_.expires_after(std::chrono::milliseconds(d(rng_)));
        timer_.async_wait([self = shared_from_this()](std::error_code ec) {
            if (!ec) self->connect();
        });
    }

    void fail(std::string why) {
        if (failed_) return;
        failed_ = true;
        failed_flag_.store(true, std::memory_order_relaxed);
        // Gone for good: a client that stopped reading would hold the publishers back.
        ++generation_;
        std::error_code ignored;
        timer_.cancel();
        socket_.close(ignored);
        totals_.failed.fetch_add(1);
        std::lock_guard lock(totals_.mutex);
        if (totals_.failures.size() < 10) {
            totals_.failures.push_back("client " + std::to_string(index_) + ": " + why);
            std::fprintf(stderr, "soak: client %zu FAILED: %s\n", index_, why.c_str());
        }
    }

    const config& cfg_;
    totals& totals_;
    asio::ip::tcp::endpoint ep_;
    asio::strand<asio::io_context::executor_type> strand_;
    asio::ip::tcp::socket socket_;
    asio::steady_timer timer_;
    std::array<char, 65536> buf_{};
    std::string head_, request_;
    bool in_body_ = false, done_ = false, failed_ = false, stopped_ = false, streamed_ = false;
    std::uint64_t generation_ = 0;
    sse::parser parser_;
    const std::uint64_t first_;
    std::uint64_t next_;
    std::atomic<std::uint64_t> received_{0};
    std::atomic<bool> failed_flag_{false}; // failed_, for other threads
    std::vector<std::int64_t> last_n_;
    std::mt19937_64 rng_;
    std::size_t index_;
};

std::string with_commas(std::uint64_t v) {
    const std::string digits = std::to_string(v);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

} // namespace

int main(int argc, char** argv) {
    const config cfg = parse_args(argc, argv);
    raise_open_files();
    int to_server[2], to_client[2];
    if (::pipe(to_server) != 0 || ::pipe(to_client) != 0) {
        std::perror("soak: pipe");
        return 1;
    }
    std::fflush(stdout);
    const pid_t server_pid = ::fork(); // before any thread exists in either process
    if (server_pid < 0) {
        std::perror("soak: fork");
        return 1;
    }
    if (server_pid == 0) {
        ::close(to_server[1]);
        ::close(to_client[0]);
        return run_server(cfg, line_pipe(to_server[0], to_client[1]));
    }
    ::close(to_server[0]);
    ::close(to_client[1]);
    line_pipe server(to_client[0], to_server[1]);
    auto quit = [&](int code) {
        server.send("quit");
        int status = 0;
        ::waitpid(server_pid, &status, 0);
        return code;
    };

    std::printf("soak: %zu clients, %" PRIu64 " messages from %u publisher threads, history %zu, server threads %u, "
                "client threads %u, disconnect within %u ms (x2), reconnect within %u ms, seed %" PRIu64 "\n",
                cfg.clients, cfg.messages, cfg.publishers, cfg.history, cfg.server_threads, cfg.client_threads,
                2 * cfg.disconnect_ms, cfg.reconnect_ms, cfg.seed);
    const std::optional<std::string> hello = server.receive(std::chrono::seconds(30));
    unsigned port = 0;
    std::uint64_t first = 0;
    if (!hello || std::sscanf(hello->c_str(), "port %u first %" SCNu64, &port, &first) != 2) {
        std::fprintf(stderr, "soak: the server did not start\n");
        return quit(1);
    }
    const long rss_idle = rss_kib(server_pid);

    asio::io_context ioc(static_cast<int>(cfg.client_threads));
    auto work = asio::make_work_guard(ioc);
    totals t;
    std::vector<std::shared_ptr<client>> clients;
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    for (std::size_t i = 0; i < cfg.clients; ++i)
        clients.push_back(std::make_shared<client>(ioc, cfg, t, ep, first, cfg.seed * 1000003u + i, i));
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < cfg.client_threads; ++i) threads.emplace_back([&] { ioc.run(); });
    for (auto& c : clients) c->start();

    const auto start = clock_type::now();
    const auto deadline = start + std::chrono::seconds(cfg.max_seconds);
    bool go = false;
    double publish_seconds = 0;
    std::string memory = "-"; // the server's latest "published rss heap"
    // Checkpoints: the warm-up, then --samples more evenly up to the last message. Publishing
    // pauses at each until every client has caught up, then the server's memory is sampled.
    std::vector<std::uint64_t> checkpoints{cfg.warmup};
    for (unsigned i = 1; i <= cfg.samples; ++i)
        checkpoints.push_back(cfg.warmup + (cfg.messages - cfg.warmup) * i / cfg.samples);
    std::vector<memory_sample> samples;
    std::uint64_t reached = 0;                 // the checkpoint the publishers wait at, if not sampled yet
    auto checkpoint_at = clock_type::now();
    double paused_seconds = 0;
    // The server's lines: "checkpoint" (at each), "published" (once), "memory" (every 5 s while
    // publishing), "end" (the answer to "report") and "sample" (the answer to "sample").
    std::optional<memory_sample> sampled;
    auto note = [&](const std::string& line) {
        if (line.rfind("checkpoint ", 0) == 0) {
            reached = std::strtoull(line.c_str() + 11, nullptr, 10);
            checkpoint_at = clock_type::now();
        }
        if (line.rfind("published ", 0) == 0) std::sscanf(line.c_str(), "published %*u %lf", &publish_seconds);
        if (line.rfind("memory ", 0) == 0) {
            unsigned long long n = 0;
            long rss = 0, heap = 0;
            if (std::sscanf(line.c_str(), "memory %llu %ld %ld", &n, &rss, &heap) == 3)
                memory = "server at " + with_commas(n) + " published: RSS " + with_commas(rss) + " KiB, heap in use " +
                         with_commas(heap) + " KiB";
        }
        if (line.rfind("sample ", 0) == 0) {
            memory_sample m;
            if (std::sscanf(line.c_str(), "sample %" SCNu64 " %ld %ld %ld %ld %ld %lld %lld", &m.published, &m.rss,
                            &m.heap, &m.rss_trimmed, &m.heap_trimmed, &m.peak_rss, &m.sessions, &m.queued) == 8)
                sampled = m;
        }
    };
    auto ask = [&](const char* command, const char* answer) -> std::optional<std::string> {
        server.send(command);
        const std::size_t n = std::strlen(answer);
        for (;;) {
            std::optional<std::string> line = server.receive(std::chrono::seconds(30));
            if (!line || line->compare(0, n, answer) == 0) {
                if (line) note(*line);
                return line;
            }
            note(*line);
        }
    };
    auto ask_report = [&] { return ask("report", "end "); };
    auto take_sample = [&](std::uint64_t at) {
        sampled.reset();
        if (ask("sample", "sample ") && sampled) {
            samples.push_back(*sampled);
            std::printf("  checkpoint %s published (all clients caught up): server RSS %s KiB, heap in use %s KiB, "
                        "after malloc_trim RSS %s KiB; %lld sessions\n",
                        with_commas(at).c_str(), with_commas(sampled->rss).c_str(), with_commas(sampled->heap).c_str(),
                        with_commas(sampled->rss_trimmed).c_str(), sampled->sessions);
            std::fflush(stdout);
        } else {
            std::fprintf(stderr, "soak: no memory sample from the server at %" PRIu64 "\n", at);
        }
    };
    auto slowest = [&] { // the fewest events any client that has not failed received
        std::uint64_t least = UINT64_MAX;
        for (auto& c : clients)
            if (!c->has_failed()) least = std::min(least, c->received());
        return least;
    };
    auto last_progress = start;
    std::uint64_t accepted_before_go = 0;
    std::size_t next_checkpoint = 0; // index into checkpoints of the one the publishers go up to
    while (t.complete + t.failed < cfg.clients && clock_type::now() < deadline) {
        if (!go) {
            if (t.streaming == cfg.clients) { // publishing starts once every client had a stream
                const std::optional<std::string> r = ask_report();
                const std::size_t acc = r ? r->find("accepted=") : std::string::npos;
                if (acc != std::string::npos) accepted_before_go = std::strtoull(r->c_str() + acc + 9, nullptr, 10);
                server.send("go");
                go = true;
            } else {
                std::this_thread::sleep_for(std::chrono::milliseconds(20)); // polling, bounded by the deadline
            }
            continue;
        }
        if (const std::optional<std::string> line = server.receive(std::chrono::milliseconds(200))) note(*line);
        // At a checkpoint before the last (which is the end: sampled below, with every client done).
        if (reached != 0 && reached == checkpoints[next_checkpoint] && next_checkpoint + 1 < checkpoints.size() &&
            slowest() >= reached) {
            take_sample(reached);
            paused_seconds += std::chrono::duration<double>(clock_type::now() - checkpoint_at).count();
            ++next_checkpoint;
            reached = 0;
            server.send("gate " + std::to_string(checkpoints[next_checkpoint]));
        }
        const auto now = clock_type::now();
        if (now - last_progress >= std::chrono::seconds(10)) {
            last_progress = now;
            std::printf("  %5.0f s: events %s, slowest client at %s, complete %zu, reconnects %s, failed %zu; %s\n",
                        std::chrono::duration<double>(now - start).count(), with_commas(t.events).c_str(),
                        with_commas(slowest()).c_str(), t.complete.load(), with_commas(t.reconnects).c_str(),
                        t.failed.load(), memory.c_str());
            std::fflush(stdout);
        }
    }
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    const bool timed_out = t.complete + t.failed < cfg.clients;
    // Every client holds its stream, idle: the server's state matches the checkpoints', with queues drained.
    std::optional<std::string> end;
    for (int i = 0; i < 100; ++i) { // the last queues drain after the last client is complete
        end = ask_report();
        if (!end || end->find(" queued_bytes=0 ") != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!timed_out) take_sample(cfg.messages);
    for (auto& c : clients) c->stop();
    work.reset();
    for (std::thread& th : threads) th.join();
    // What the idle streams held: the heap in use once the server has seen them all close.
    std::optional<memory_sample> closed;
    if (!timed_out && samples.size() == checkpoints.size()) {
        for (int i = 0; i < 200; ++i) { // bounded: the server sees each close at once
            const std::optional<std::string> r = ask_report();
            if (!r || r->find(" sessions=0 ") != std::string::npos) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        sampled.reset();
        if (ask("sample", "sample ") && sampled && sampled->sessions == 0) closed = sampled;
    }

    const std::uint64_t checked = t.events;
    std::printf("soak: %.1f s (%.1f s publishing, %.1f s of it paused at checkpoints), %s messages, %zu clients, %s "
                "events checked (ids complete, in order, no duplicates; publisher order), %zu/%zu clients complete, "
                "%zu failed%s\n",
                seconds, publish_seconds, paused_seconds, with_commas(cfg.messages).c_str(), cfg.clients,
                with_commas(checked).c_str(), t.complete.load(), cfg.clients, t.failed.load(),
                timed_out ? ", TIMED OUT" : "");
    std::printf("soak: reconnects %s (client disconnects, %s of them resets; server ends %s; connect errors %s)\n",
                with_commas(t.reconnects).c_str(), with_commas(t.resets).c_str(), with_commas(t.server_ends).c_str(),
                with_commas(t.connect_errors).c_str());
    std::printf("soak: server %s (accepted before publishing: %" PRIu64 ")\n", end ? end->c_str() + 4 : "(no report)",
                accepted_before_go);

    // The growth rule: at every checkpoint after the warm-up (the history is full from then on),
    // the heap in use within +10% (or 4 MiB) of the warm-up checkpoint's, the RSS after
    // malloc_trim within +25% (or 8 MiB). Raw RSS (glibc's free memory included) and peak RSS
    // are printed, not judged.
    std::printf("soak: server memory at the checkpoints (KiB; every client caught up, publishing paused):\n");
    std::printf("  %11s %9s %10s %12s %17s %10s %9s %9s\n", "published", "sessions", "RSS", "heap in use",
                "RSS after trim", "peak RSS", "heap", "trimmed");
    bool memory_ok = samples.size() == checkpoints.size();
    double worst_heap = 0, worst_trimmed = 0;
    for (const memory_sample& m : samples) {
        const memory_sample& w = samples.front();
        auto growth = [](long now, long warm) { return warm > 0 ? double(now - warm) / double(warm) : 0.0; };
        const double heap_growth = growth(m.heap, w.heap), trimmed_growth = growth(m.rss_trimmed, w.rss_trimmed);
        worst_heap = std::max(worst_heap, heap_growth);
        worst_trimmed = std::max(worst_trimmed, trimmed_growth);
        if (w.heap <= 0 || w.rss_trimmed <= 0 || m.heap <= 0 || m.heap - w.heap > std::max(w.heap / 10, 4096L) ||
            m.rss_trimmed - w.rss_trimmed > std::max(w.rss_trimmed / 4, 8192L))
            memory_ok = false;
        std::printf("  %11s %9lld %10s %12s %17s %10s %+8.1f%% %+8.1f%%\n", with_commas(m.published).c_str(),
                    m.sessions, with_commas(m.rss).c_str(), with_commas(m.heap).c_str(),
                    with_commas(m.rss_trimmed).c_str(), with_commas(m.peak_rss).c_str(), 100 * heap_growth,
                    100 * trimmed_growth);
    }
    std::printf("soak: server RSS idle %ld KiB. Rule: at each of the %zu checkpoints after the warm-up, heap in "
                "use within +10%% (or 4 MiB) of the warm-up's and RSS after malloc_trim within +25%% (or 8 MiB): at "
                "most %+.1f%% and %+.1f%% (%s)\n",
                rss_idle, checkpoints.size() - 1, 100 * worst_heap, 100 * worst_trimmed,
                memory_ok                                ? "met"
                : samples.size() != checkpoints.size()   ? "samples missing"
                : samples.front().heap <= 0              ? "NOT met: no heap figures (mallinfo2 needs glibc's malloc, "
                                                           "not a sanitizer's)"
                                                         : "NOT met");
    // The second rule: an idle stream costs little heap, however large the backlogs it wrote.
    bool idle_ok = false;
    if (closed && !samples.empty() && samples.back().sessions > 0 && samples.back().heap > 0) {
        const memory_sample& last = samples.back();
        const double per_stream = double(last.heap - closed->heap) / double(last.sessions);
        idle_ok = per_stream <= 16;
        std::printf("soak: heap in use with %lld idle streams %s KiB, after they closed %s KiB (RSS after trim %s "
                    "KiB): %.1f KiB per idle stream (rule: at most 16 KiB; %s)\n",
                    last.sessions, with_commas(last.heap).c_str(), with_commas(closed->heap).c_str(),
                    with_commas(closed->rss_trimmed).c_str(), per_stream, idle_ok ? "met" : "NOT met");
    } else {
        std::printf("soak: no heap figures of the server with its streams idle and closed: the idle-stream rule is "
                    "NOT met\n");
    }
    {
        std::lock_guard lock(t.mutex);
        for (const std::string& f : t.failures) std::printf("soak: FAILED: %s\n", f.c_str());
    }
    const bool ok = !timed_out && t.failed == 0 && t.complete == cfg.clients && memory_ok && idle_ok;
    std::printf("soak: %s\n", ok ? "PASSED" : "FAILED");
    return quit(ok ? 0 : 1);
}
