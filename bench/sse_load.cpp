// sse_load: the load generator of bench/fanout. One thread, epoll, no sse code.
//
//   sse_load --port P --conns N --expect M --publish '/publish?n=M&size=B' --pid SERVER_PID
//            --timeout S [--host 127.0.0.1] [--path /events] [--settle-ms 500]
//            [--max-inflight 256] [--max-samples 20000000] [--src-addrs K] [--tag key=value]...
//            [--publish-port P2] [--size B] [--stats /stats] [--linger-ms 100]
//
// --port may list several servers (`--port 8001,8002`): connection i goes to the (i mod k)-th,
// and the trigger to --publish-port (default: the first). That is how bench/redis_fanout.sh
// measures several nodes of one Redis-backed stream at once; --pid is then one of them.
//
// 1. samples the server's idle RSS (/proc/PID/status VmRSS);
// 2. opens N connections, at most --max-inflight of them between connect() and their response
//    head, each sending `GET <path> HTTP/1.1`, and waits until every head has arrived (to a
//    loopback server, from source addresses 127.0.0.1..K, K = ceil(N / 2000) unless --src-addrs);
// 3. settles --settle-ms (still reading), samples the server's VmRSS and utime+stime;
// 4. sends `POST <publish> HTTP/1.1` on a separate connection (the trigger);
// 5. checks every event of every connection until each has its last one (or the timeout: the
//    rest are reported incomplete), then reads on for --linger-ms to catch late extras. Bodies
//    may be close-delimited or chunked. An event is what the SSE rules dispatch: a blank line
//    ends a block that had a data field (comments, retry-only and keep-alive blocks are not
//    events). Its data must start `t=<ns> s=<seq>` (the publish convention: the stamp, then the
//    message's number 1..M within the POST) and, with --size B, be exactly B bytes. Per
//    connection the numbers must be exactly 1..M in order; what is not is counted by kind:
//    duplicates (a number seen before), reorders (a number not seen before but lower than one
//    that was), missing (numbers never received: the gaps), wrong_size, unnumbered (no
//    `s=`), out_of_range (0 or > M). Latency = CLOCK_REALTIME after the recv() that completed
//    the event − its `t=` stamp;
//    p99_first_half_ms / p99_second_half_ms: the latency of messages 1..M/2 and M/2+1..M, so
//    that a backlog building up over a paced run (POST ...&rate=R) shows as the second above the first;
// 6. samples the server again (and, with --stats PATH, GETs PATH before the trigger and after the
//    run, embedding both JSON answers) and prints one JSON line (fields at the end of run()).
//
// events_per_s = every event received ÷ (first body byte after the trigger → the recv() that
// completed the run's last event). Everything is bounded by --timeout (seconds, the whole run).
// Exit status: 0 only if the run is verified (every connection got exactly 1..M, in order, the
// right size, nothing else, and no error), 1 otherwise, 2 on bad arguments.
#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "sse_load: %s\nusage: sse_load --port P --conns N --expect M --publish PATH --pid PID --timeout S "
                 "[--host ADDR] [--path /events] [--settle-ms 500] [--max-inflight 256] [--max-samples K] "
                 "[--src-addrs K] [--tag key=value]... [--publish-port P] [--size B] [--stats PATH] [--linger-ms MS]\n",
                 why);
    std::exit(2);
}

std::uint64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return std::uint64_t(ts.tv_sec) * 1000000000u + std::uint64_t(ts.tv_nsec);
}

double mono_s() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

double self_cpu_s() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

struct proc_sample {
    long long rss_kib = -1;
    long long hwm_kib = -1;
    double cpu_s = -1; // utime + stime, clock ticks
    bool ok = false;
};

proc_sample sample_proc(int pid) {
    proc_sample s;
    if (pid <= 0) return s;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (FILE* f = std::fopen(path, "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, f)) {
            if (std::strncmp(line, "VmRSS:", 6) == 0) s.rss_kib = std::atoll(line + 6);
            else if (std::strncmp(line, "VmHWM:", 6) == 0) s.hwm_kib = std::atoll(line + 6);
        }
        std::fclose(f);
    }
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (FILE* f = std::fopen(path, "r")) {
        char buf[2048];
        const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
        std::fclose(f);
        buf[n] = 0;
        // The command name may hold spaces and parentheses: fields start after the last ')'.
        if (const char* p = std::strrchr(buf, ')')) {
            ++p;
            unsigned long long v[16] = {};
            // fields 3.. : state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
            char state = 0;
            if (std::sscanf(p, " %c %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &state, &v[0], &v[1],
                            &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11]) == 13) {
                const double tck = double(sysconf(_SC_CLK_TCK));
                s.cpu_s = double(v[10] + v[11]) / tck;
                s.ok = s.rss_kib >= 0;
            }
        }
    }
    return s;
}

std::string read_loadavg() {
    std::string s;
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
        char buf[128] = {};
        if (std::fgets(buf, sizeof buf, f)) s = buf;
        std::fclose(f);
    }
    const auto sp = s.find(' ');
    return sp == std::string::npos ? s : s.substr(0, sp);
}

enum : std::uint8_t { st_idle, st_connecting, st_head, st_stream, st_dead };
enum : std::uint8_t { ch_size, ch_ext, ch_data, ch_crlf, ch_end };

constexpr std::size_t prefix_cap = 64; // enough for "data: t=" + 20 digits + " s=" + 20 digits

struct conn {
    int fd = -1;
    std::uint8_t st = st_idle;
    bool chunked = false;
    std::uint8_t cst = ch_size;
    bool last_cr = false;
    bool has_data = false;
    bool complete = false; // got every number 1..M
    bool done = false;     // got M or every number: nothing more is awaited
    bool bad = false;      // an event was wrong (duplicate, reorder, size, number)
    std::uint8_t plen = 0;
    std::uint32_t line_len = 0;
    std::uint32_t events = 0;
    std::uint64_t data_len = 0; // the current block's data, lines joined by LF
    std::uint64_t chunk_left = 0;
    std::uint64_t stamp = 0;
    std::uint64_t seq = 0;      // the current block's s=, 0 if none
    std::uint64_t max_seq = 0;
    std::uint64_t distinct = 0;
    char prefix[prefix_cap];
    std::string head; // the response head, until it is complete
};

struct options {
    std::string host = "127.0.0.1";
    int port = 0;               // the first of ports
    std::vector<int> ports;
    int publish_port = 0;       // 0: port
    long conns = 0;
    long expect = 0;
    std::string publish;
    std::string path = "/events";
    int pid = 0;
    double timeout = 60;
    long settle_ms = 500;
    long max_inflight = 256;
    std::size_t max_samples = 20000000;
    long src_addrs = -1; // -1: automatic (loopback targets only)
    std::uint64_t size = 0; // expected data bytes per event; 0: not checked
    std::string stats;      // a path to GET before and after (the server's counters), or empty
    long linger_ms = 100;
    std::vector<std::pair<std::string, std::string>> tags;
};

std::string json_escape(std::string_view s) {
    std::string o;
    for (char c : s) {
        if (c == '"' || c == '\\') {
            o += '\\';
            o += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", c);
            o += b;
        } else {
            o += c;
        }
    }
    return o;
}

class loadgen {
public:
    explicit loadgen(options o) : o_(std::move(o)), conns_(std::size_t(o_.conns)) {
        ep_ = epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0) {
            std::perror("epoll_create1");
            std::exit(1);
        }
        addr_.sin_family = AF_INET;
        addr_.sin_port = htons(std::uint16_t(o_.port));
        if (inet_pton(AF_INET, o_.host.c_str(), &addr_.sin_addr) != 1) usage("bad --host (IPv4 only)");
        for (int p : o_.ports) {
            sockaddr_in a = addr_;
            a.sin_port = htons(std::uint16_t(p));
            targets_.push_back(a);
            requests_.push_back("GET " + o_.path + " HTTP/1.1\r\nHost: " + o_.host + ":" + std::to_string(p) +
                                "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n");
        }
        publish_addr_ = addr_;
        if (o_.publish_port > 0) publish_addr_.sin_port = htons(std::uint16_t(o_.publish_port));
        // Many connections to one loopback port: the kernel's search for a free ephemeral port
        // becomes the bottleneck of connect() once most of the range is taken (seconds of system
        // time at 19,000). Spreading the sources over 127.0.0.K (IP_BIND_ADDRESS_NO_PORT) keeps it
        // cheap: a port is then free whenever the whole 4-tuple is.
        const bool loopback = (ntohl(addr_.sin_addr.s_addr) >> 24) == 127;
        long k = o_.src_addrs;
        if (k < 0) k = loopback ? std::min(250L, (o_.conns + 1999) / 2000) : 0;
        if (k > 1) {
            if (!loopback) usage("--src-addrs needs a 127.x.y.z --host");
            for (long a = 0; a < k; ++a) {
                sockaddr_in src{};
                src.sin_family = AF_INET;
                src.sin_addr.s_addr = htonl((127u << 24) | std::uint32_t(1 + a));
                src_.push_back(src);
            }
        }
        const std::uint64_t total = std::uint64_t(o_.conns) * std::uint64_t(o_.expect);
        stride_ = total > o_.max_samples ? (total + o_.max_samples - 1) / o_.max_samples : 1;
        samples_.reserve(std::size_t(std::min<std::uint64_t>(total / stride_ + 16, o_.max_samples + 16)));
        buf_.resize(256 * 1024);
        // One bit per (connection, number): tells a duplicate from a reorder.
        words_ = (std::uint64_t(o_.expect) + 63) / 64;
        if (double(words_) * double(o_.conns) * 8 > 1024.0 * 1024 * 1024) usage("--conns × --expect too large to check");
        seen_.assign(std::size_t(words_ * std::uint64_t(o_.conns)), 0);
    }

    int run() {
        deadline_ = mono_s() + o_.timeout;
        const proc_sample idle = sample_proc(o_.pid);

        // Connect everything.
        const double t_connect0 = mono_s();
        while (next_ < o_.conns && inflight_ < o_.max_inflight) start(std::size_t(next_++));
        while (heads_ + dead_waiting_ < o_.conns && mono_s() < deadline_) poll(50);
        const double connect_ms = (mono_s() - t_connect0) * 1e3;
        const bool connect_timed_out = heads_ + dead_waiting_ < o_.conns;

        // Settle, still reading (retry hints, keep-alives).
        const double settle_end = mono_s() + double(o_.settle_ms) / 1e3;
        while (mono_s() < settle_end && mono_s() < deadline_) poll(std::max(1, int((settle_end - mono_s()) * 1e3)));

        const proc_sample before = sample_proc(o_.pid);
        const std::string stats_before = o_.stats.empty() ? std::string() : http_get(o_.stats);
        const double load_cpu0 = self_cpu_s();

        // Trigger, then count until every live connection has its M events.
        const double t_trigger = mono_s();
        bool triggered = false;
        if (!o_.publish.empty() && !connect_timed_out) triggered = trigger();
        if (triggered || o_.publish.empty()) {
            while (done_ + dead_ < o_.conns && mono_s() < deadline_) poll(50);
        }
        const bool timed_out = done_ + dead_ < o_.conns;
        // Late extras (a duplicate after the last event) still count against the run, not its time.
        const double t_end = last_event_ > 0 ? last_event_ : mono_s();
        const double linger_end = mono_s() + double(o_.linger_ms) / 1e3;
        while (!timed_out && mono_s() < linger_end) poll(std::max(1, int((linger_end - mono_s()) * 1e3)));
        // The POST's answer, if it is late.
        for (int i = 0; i < 20 && triggered && post_status_ == 0 && mono_s() < deadline_ + 1; ++i) poll(10);
        const proc_sample after = sample_proc(o_.pid);
        const double load_cpu = self_cpu_s() - load_cpu0;
        const std::string stats_after = o_.stats.empty() ? std::string() : http_get(o_.stats);
        std::uint64_t missing = 0;
        long clean = 0;
        for (const conn& c : conns_) {
            missing += std::uint64_t(o_.expect) - std::min<std::uint64_t>(c.distinct, std::uint64_t(o_.expect));
            if (c.complete && !c.bad) ++clean;
        }

        // Percentiles (samples in units of 100 ns).
        auto pct_of = [](std::vector<std::uint32_t>& v, double q) -> double {
            if (v.empty()) return -1;
            std::size_t k = std::size_t(q * double(v.size() - 1) + 0.5);
            std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(k), v.end());
            return double(v[k]) / 1e4;
        };
        auto pct = [&](double q) { return pct_of(samples_, q); };
        const double p50 = pct(0.50), p90 = pct(0.90), p99 = pct(0.99), p999 = pct(0.999);
        const double p99_early = pct_of(early_, 0.99), p99_late = pct_of(late_, 0.99);
        const double pmax = samples_.empty() ? -1 : double(*std::max_element(samples_.begin(), samples_.end())) / 1e4;

        const double first = first_byte_ > 0 ? first_byte_ : t_trigger;
        const double seconds = t_end - first;
        const double trigger_seconds = t_end - t_trigger;
        const double server_cpu = (before.ok && after.ok) ? after.cpu_s - before.cpu_s : -1;
        const long long n = o_.conns;
        auto per_conn = [&](long long a, long long b) -> double {
            return (a < 0 || b < 0 || n == 0) ? -1 : double(a - b) / double(n);
        };
        const long errors = err_connect_ + err_status_ + err_closed_;
        const long incomplete = o_.conns - complete_;
        const bool verified = errors == 0 && incomplete == 0 && clean == o_.conns && !timed_out && extra_ == 0 &&
                              dup_ == 0 && reorder_ == 0 && wrong_size_ == 0 && unnumbered_ == 0 && out_of_range_ == 0 &&
                              missing == 0 && events_ == std::uint64_t(o_.conns) * std::uint64_t(o_.expect);

        std::string out = "{";
        for (const auto& [k, v] : o_.tags) {
            out += '"';
            out += json_escape(k);
            out += "\":\"";
            out += json_escape(v);
            out += "\",";
        }
        char b[4096];
        std::snprintf(
            b, sizeof b,
            "\"conns\":%ld,\"expect\":%ld,\"connected\":%ld,\"connect_ms\":%.1f,\"events\":%" PRIu64
            ",\"extra_events\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"seconds\":%.4f,\"events_per_s\":%.0f,"
            "\"trigger_seconds\":%.4f,\"trigger_events_per_s\":%.0f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
            "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"latency_samples\":%zu,\"no_stamp\":%" PRIu64 ","
            "\"server_cpu_s\":%.2f,\"server_ns_per_event\":%.0f,\"server_cpu_frac\":%.3f,"
            "\"load_cpu_s\":%.2f,\"load_cpu_frac\":%.3f,"
            "\"rss_idle_kib\":%lld,\"rss_before_kib\":%lld,\"rss_after_kib\":%lld,\"hwm_kib\":%lld,"
            "\"rss_per_conn_kib\":%.2f,\"rss_total_per_conn_kib\":%.2f,\"rss_after_per_conn_kib\":%.2f,"
            "\"errors\":%ld,\"err_connect\":%ld,\"err_status\":%ld,\"err_closed\":%ld,\"incomplete\":%ld,"
            "\"complete\":%ld,\"timed_out\":%s,\"publish_status\":%d,\"chunked\":%s,\"loadavg\":%s,"
            "\"size\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"reorders\":%" PRIu64 ",\"missing\":%" PRIu64
            ",\"wrong_size\":%" PRIu64 ",\"unnumbered\":%" PRIu64 ",\"out_of_range\":%" PRIu64
            ",\"clean_streams\":%ld,\"bytes_per_event\":%.1f,\"p99_first_half_ms\":%.3f,\"p99_second_half_ms\":%.3f,"
            "\"verified\":%s",
            o_.conns, o_.expect, heads_, connect_ms, events_, extra_, bytes_, seconds,
            seconds > 0 ? double(events_) / seconds : 0.0, trigger_seconds,
            trigger_seconds > 0 ? double(events_) / trigger_seconds : 0.0, p50, p90, p99, p999, pmax, samples_.size(),
            no_stamp_, server_cpu, (server_cpu >= 0 && events_ > 0) ? server_cpu * 1e9 / double(events_) : -1.0,
            (server_cpu >= 0 && trigger_seconds > 0) ? server_cpu / trigger_seconds : -1.0, load_cpu,
            trigger_seconds > 0 ? load_cpu / trigger_seconds : -1.0, idle.rss_kib, before.rss_kib, after.rss_kib,
            after.hwm_kib, per_conn(before.rss_kib, idle.rss_kib), per_conn(before.rss_kib, 0),
            per_conn(after.rss_kib, idle.rss_kib), errors, err_connect_, err_status_, err_closed_, incomplete,
            complete_, timed_out ? "true" : "false", post_status_, chunked_seen_ ? "true" : "false",
            read_loadavg().c_str(), o_.size, dup_, reorder_, missing, wrong_size_, unnumbered_, out_of_range_, clean,
            events_ > 0 ? double(bytes_) / double(events_) : -1.0, p99_early, p99_late, verified ? "true" : "false");
        out += b;
        if (!o_.stats.empty()) {
            out += ",\"stats_before\":";
            out += stats_before.empty() ? "null" : stats_before;
            out += ",\"stats_after\":";
            out += stats_after.empty() ? "null" : stats_after;
        }
        out += '}';
        if (!verified)
            std::fprintf(stderr,
                         "sse_load: NOT VERIFIED: %ld errors, %ld incomplete of %ld, %" PRIu64 " duplicates, %" PRIu64
                         " reorders, %" PRIu64 " missing, %" PRIu64 " wrong size, %" PRIu64 " unnumbered, %" PRIu64
                         " out of range, %" PRIu64 " extra%s\n",
                         errors, incomplete, o_.conns, dup_, reorder_, missing, wrong_size_, unnumbered_, out_of_range_,
                         extra_, timed_out ? ", timed out" : "");
        std::puts(out.c_str());
        std::fflush(stdout);

        // Abortive close: no TIME_WAIT left on the load generator's ports for the next run.
        const linger lg{1, 0};
        for (conn& c : conns_)
            if (c.fd >= 0) {
                setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
                close(c.fd);
                c.fd = -1;
            }
        if (post_fd_ >= 0) close(post_fd_);
        return verified ? 0 : 1;
    }

private:
    void start(std::size_t i) {
        conn& c = conns_[i];
        c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0) {
            note_error("socket", errno);
            c.st = st_dead;
            ++err_connect_;
            ++dead_;
            ++dead_waiting_;
            return;
        }
        ++inflight_;
        int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (!src_.empty()) {
            setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
            const sockaddr_in& src = src_[i % src_.size()];
            if (bind(c.fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) < 0) {
                note_error("bind", errno);
                kill(i, err_connect_);
                return;
            }
        }
        const sockaddr_in& target = targets_[i % targets_.size()];
        const int r = connect(c.fd, reinterpret_cast<const sockaddr*>(&target), sizeof target);
        if (r < 0 && errno != EINPROGRESS) {
            note_error("connect", errno);
            kill(i, err_connect_);
            return;
        }
        c.st = st_connecting;
        epoll_event ev{};
        ev.events = EPOLLOUT;
        ev.data.u64 = i;
        epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
        if (r == 0) on_connected(i);
    }

    void on_connected(std::size_t i) {
        conn& c = conns_[i];
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            note_error("connect", err);
            return kill(i, err_connect_);
        }
        const std::string& request = requests_[i % requests_.size()];
        const ssize_t n = send(c.fd, request.data(), request.size(), MSG_NOSIGNAL);
        if (n != ssize_t(request.size())) {
            note_error("send request", n < 0 ? errno : EAGAIN);
            return kill(i, err_connect_);
        }
        c.st = st_head;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    }

    // Ends connection i and counts it in `counter`.
    void kill(std::size_t i, long& counter) {
        conn& c = conns_[i];
        const bool was_waiting = c.st == st_connecting || c.st == st_head;
        if (c.fd >= 0) {
            epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
            close(c.fd);
            c.fd = -1;
        }
        c.st = st_dead;
        c.head = std::string();
        ++counter;
        ++dead_;
        if (c.done) --dead_; // a finished connection closing does not hold the run up
        if (was_waiting) {
            ++dead_waiting_;
            --inflight_;
            refill();
        }
    }

    void refill() {
        while (next_ < o_.conns && inflight_ < o_.max_inflight) start(std::size_t(next_++));
    }

    void note_error(const char* what, int err) {
        if (error_notes_ < 5) {
            ++error_notes_;
            std::fprintf(stderr, "sse_load: %s: %s\n", what, std::strerror(err));
        }
    }

    void poll(int timeout_ms) {
        epoll_event evs[1024];
        const int n = epoll_wait(ep_, evs, 1024, timeout_ms);
        for (int k = 0; k < n; ++k) {
            const std::uint64_t id = evs[k].data.u64;
            if (id == post_id) {
                on_post_readable();
                continue;
            }
            const std::size_t i = std::size_t(id);
            conn& c = conns_[i];
            if (c.st == st_connecting) {
                on_connected(i);
                continue;
            }
            if (c.st == st_head || c.st == st_stream) on_readable(i);
        }
    }

    void on_readable(std::size_t i) {
        conn& c = conns_[i];
        const ssize_t n = recv(c.fd, buf_.data(), buf_.size(), 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            if (!c.done) note_error("recv", errno);
            return kill(i, c.done ? ignored_ : err_closed_);
        }
        if (n == 0) {
            if (!c.done) note_error("stream", ECONNRESET);
            return kill(i, c.done ? ignored_ : err_closed_);
        }
        const std::uint64_t now = realtime_ns();
        now_mono_ = mono_s();
        const char* p = buf_.data();
        std::size_t len = std::size_t(n);
        if (c.st == st_head) {
            c.head.append(p, len);
            const auto end = c.head.find("\r\n\r\n");
            if (end == std::string::npos) {
                if (c.head.size() > 16384) {
                    note_error("response head", E2BIG);
                    kill(i, err_status_);
                }
                return;
            }
            if (!parse_head(c, std::string_view(c.head).substr(0, end + 2))) {
                note_error("response status", EPROTO);
                if (error_notes_ <= 5)
                    std::fprintf(stderr, "sse_load: head: %.*s\n", int(std::min<std::size_t>(end, 200)), c.head.data());
                return kill(i, err_status_);
            }
            // The bytes after the head are body.
            const std::size_t body_off = len - (c.head.size() - (end + 4));
            c.head = std::string();
            c.st = st_stream;
            --inflight_;
            ++heads_;
            refill();
            p += body_off;
            len -= body_off;
            if (len == 0) return;
        }
        if (triggered_ && first_byte_ == 0) first_byte_ = now_mono_;
        if (triggered_) bytes_ += len; // chunk framing included: the wire cost of an event
        if (c.chunked) dechunk(c, p, len, now);
        else feed(c, p, len, now);
    }

    static bool iequals_prefix(std::string_view s, std::string_view prefix) {
        if (s.size() < prefix.size()) return false;
        for (std::size_t k = 0; k < prefix.size(); ++k) {
            char a = s[k];
            if (a >= 'A' && a <= 'Z') a = char(a - 'A' + 'a');
            if (a != prefix[k]) return false;
        }
        return true;
    }

    bool parse_head(conn& c, std::string_view head) {
        // "HTTP/1.1 200 ..."
        if (head.size() < 12 || head.substr(0, 5) != "HTTP/" || head.substr(8, 5) != " 200 ") return false;
        std::size_t pos = head.find("\r\n");
        while (pos != std::string_view::npos && pos + 2 < head.size()) {
            const std::size_t next = head.find("\r\n", pos + 2);
            const std::string_view line = head.substr(pos + 2, next - pos - 2);
            if (iequals_prefix(line, "transfer-encoding:")) {
                std::string_view v = line.substr(18);
                while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
                if (iequals_prefix(v, "chunked")) {
                    c.chunked = true;
                    chunked_seen_ = true;
                }
            }
            pos = next;
        }
        return true;
    }

    static int hexval(char ch) {
        if (ch >= '0' && ch <= '9') return ch - '0';
        if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
        return -1;
    }

    void dechunk(conn& c, const char* p, std::size_t len, std::uint64_t now) {
        const char* end = p + len;
        while (p < end) {
            switch (c.cst) {
            case ch_size: {
                const char ch = *p++;
                const int h = hexval(ch);
                if (h >= 0) c.chunk_left = c.chunk_left * 16 + std::uint64_t(h);
                else if (ch == '\n') c.cst = c.chunk_left == 0 ? ch_end : ch_data;
                else if (ch != '\r') c.cst = ch_ext; // extensions (or whitespace) up to the LF
                break;
            }
            case ch_ext:
                if (*p++ == '\n') c.cst = c.chunk_left == 0 ? ch_end : ch_data;
                break;
            case ch_data: {
                const std::size_t take = std::size_t(std::min<std::uint64_t>(c.chunk_left, std::uint64_t(end - p)));
                feed(c, p, take, now);
                p += take;
                c.chunk_left -= take;
                if (c.chunk_left == 0) c.cst = ch_crlf;
                break;
            }
            case ch_crlf:
                if (*p++ == '\n') c.cst = ch_size;
                break;
            case ch_end: return; // the last chunk: the stream is over (trailers ignored)
            }
        }
    }

    // SSE lines: only the first prefix_cap bytes of a line matter (the field name and the stamp).
    void feed(conn& c, const char* p, std::size_t len, std::uint64_t now) {
        const char* end = p + len;
        const char* cr = static_cast<const char*>(std::memchr(p, '\r', len));
        if (!cr) cr = end;
        while (p < end) {
            if (c.last_cr) {
                c.last_cr = false;
                if (*p == '\n') {
                    ++p;
                    continue;
                }
            }
            if (cr < p) {
                cr = static_cast<const char*>(std::memchr(p, '\r', std::size_t(end - p)));
                if (!cr) cr = end;
            }
            const char* lf = static_cast<const char*>(std::memchr(p, '\n', std::size_t(end - p)));
            const char* t = lf ? std::min(lf, cr) : cr;
            const std::size_t seg = std::size_t(t - p);
            if (c.plen < prefix_cap) {
                const std::size_t take = std::min(seg, prefix_cap - c.plen);
                std::memcpy(c.prefix + c.plen, p, take);
                c.plen = std::uint8_t(c.plen + take);
            }
            c.line_len += std::uint32_t(std::min<std::size_t>(seg, 0x7fffffff));
            if (t == end) return; // the line goes on in the next read
            if (*t == '\r') c.last_cr = true;
            end_line(c, now);
            p = t + 1;
        }
    }

    void end_line(conn& c, std::uint64_t now) {
        if (c.line_len == 0) {
            if (c.has_data) dispatch(c, now);
            c.has_data = false;
            c.stamp = 0;
            c.seq = 0;
            c.data_len = 0;
            return;
        }
        const std::string_view line(c.prefix, c.plen);
        const bool whole = c.line_len == c.plen;
        const std::uint64_t line_len = c.line_len;
        c.line_len = 0;
        c.plen = 0;
        if (line.front() == ':') return; // a comment
        const std::size_t colon = line.find(':');
        std::string_view field, value;
        if (colon == std::string_view::npos) {
            if (!whole) return; // a field name longer than the prefix: not "data"
            field = line;
        } else {
            field = line.substr(0, colon);
            value = line.substr(colon + 1);
            if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        }
        if (field != "data") return;
        // The value's length: the line's, less the field name, colon and one optional space.
        const std::uint64_t vlen = colon == std::string_view::npos ? 0 : line_len - std::uint64_t(value.data() - line.data());
        if (!c.has_data) {
            c.data_len = vlen;
            std::size_t k = 0;
            auto number = [&](std::string_view key, std::uint64_t& out) {
                if (value.substr(k, key.size()) != key) return false;
                std::size_t j = k + key.size();
                std::uint64_t v = 0;
                for (; j < value.size() && j - k - key.size() < 20 && value[j] >= '0' && value[j] <= '9'; ++j)
                    v = v * 10 + std::uint64_t(value[j] - '0');
                if (j == k + key.size()) return false;
                out = v;
                k = j;
                return true;
            };
            if (number("t=", c.stamp)) number(" s=", c.seq);
        } else {
            c.data_len += 1 + vlen;
        }
        c.has_data = true;
    }

    void dispatch(conn& c, std::uint64_t now) {
        ++events_;
        ++c.events;
        last_event_ = now_mono_;
        const std::uint64_t m = std::uint64_t(o_.expect);
        if (c.events > m) ++extra_;
        if (o_.size > 0 && c.data_len != o_.size) {
            ++wrong_size_;
            c.bad = true;
        }
        if (c.seq == 0 || c.seq > m) {
            ++(c.seq == 0 ? unnumbered_ : out_of_range_);
            c.bad = true;
        } else {
            std::uint64_t& w = seen_[std::size_t(std::uint64_t(&c - conns_.data()) * words_ + (c.seq - 1) / 64)];
            const std::uint64_t bit = std::uint64_t(1) << ((c.seq - 1) % 64);
            if (w & bit) {
                ++dup_;
                c.bad = true;
            } else {
                w |= bit;
                ++c.distinct;
                if (c.seq < c.max_seq) {
                    ++reorder_;
                    c.bad = true;
                } else {
                    c.max_seq = c.seq;
                }
            }
        }
        if (!c.done && (c.distinct == m || c.max_seq == m)) {
            c.done = true;
            ++done_;
            if (c.distinct == m) {
                c.complete = true;
                ++complete_;
            }
        }
        if (c.stamp == 0) {
            ++no_stamp_;
            return;
        }
        if (++sample_tick_ < stride_) return;
        sample_tick_ = 0;
        if (samples_.size() >= o_.max_samples) return;
        const std::uint64_t d = now > c.stamp ? (now - c.stamp) / 100 : 0;
        samples_.push_back(std::uint32_t(std::min<std::uint64_t>(d, 0xffffffffu)));
        (2 * c.seq <= std::uint64_t(o_.expect) ? early_ : late_).push_back(samples_.back());
    }

    // A blocking GET of `path` on the publish port (2 s at most); the body if it is a JSON object.
    std::string http_get(const std::string& path) {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return {};
        const timeval tv{2, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        std::string resp;
        if (connect(fd, reinterpret_cast<const sockaddr*>(&publish_addr_), sizeof publish_addr_) == 0) {
            const std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + o_.host + "\r\nConnection: close\r\n\r\n";
            if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) == ssize_t(req.size())) {
                char b[4096];
                for (ssize_t n; resp.size() < 65536 && (n = recv(fd, b, sizeof b, 0)) > 0;) resp.append(b, std::size_t(n));
            }
        }
        close(fd);
        const auto body = resp.find("\r\n\r\n");
        if (resp.compare(0, 12, "HTTP/1.1 200") != 0 || body == std::string::npos) return {};
        std::string json = resp.substr(body + 4);
        if (resp.substr(0, body).find("chunked") != std::string::npos) { // one or more chunks, then 0
            std::string joined;
            std::size_t at = 0;
            while (at < json.size()) {
                const auto eol = json.find("\r\n", at);
                if (eol == std::string::npos) return {};
                const std::size_t len = std::strtoul(json.c_str() + at, nullptr, 16);
                if (len == 0 || eol + 2 + len > json.size()) break;
                joined.append(json, eol + 2, len);
                at = eol + 2 + len + 2;
            }
            json = std::move(joined);
        }
        while (!json.empty() && (json.back() == '\n' || json.back() == '\r' || json.back() == ' ')) json.pop_back();
        if (json.empty() || json.front() != '{' || json.back() != '}') return {};
        return json;
    }

    bool trigger() {
        post_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (post_fd_ < 0) {
            note_error("publish socket", errno);
            return false;
        }
        if (connect(post_fd_, reinterpret_cast<const sockaddr*>(&publish_addr_), sizeof publish_addr_) < 0) {
            note_error("publish connect", errno);
            return false;
        }
        const std::string req = "POST " + o_.publish + " HTTP/1.1\r\nHost: " + o_.host + ":" +
                                std::to_string(ntohs(publish_addr_.sin_port)) +
                                "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        triggered_ = true;
        if (send(post_fd_, req.data(), req.size(), MSG_NOSIGNAL) != ssize_t(req.size())) {
            note_error("publish send", errno);
            return false;
        }
        fcntl(post_fd_, F_SETFL, fcntl(post_fd_, F_GETFL) | O_NONBLOCK);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = post_id;
        epoll_ctl(ep_, EPOLL_CTL_ADD, post_fd_, &ev);
        return true;
    }

    void on_post_readable() {
        char b[4096];
        const ssize_t n = recv(post_fd_, b, sizeof b, 0);
        if (n > 0) {
            post_resp_.append(b, std::size_t(n));
            if (post_status_ == 0 && post_resp_.size() >= 12 && post_resp_.compare(0, 5, "HTTP/") == 0) {
                post_status_ = std::atoi(post_resp_.c_str() + 9);
                if (post_status_ != 200)
                    std::fprintf(stderr, "sse_load: publish answered: %.*s\n",
                                 int(std::min<std::size_t>(post_resp_.size(), 300)), post_resp_.data());
            }
            return;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        epoll_ctl(ep_, EPOLL_CTL_DEL, post_fd_, nullptr);
        close(post_fd_);
        post_fd_ = -1;
        if (post_status_ == 0) post_status_ = -1;
    }

    static constexpr std::uint64_t post_id = ~std::uint64_t(0);

    options o_;
    std::vector<conn> conns_;
    int ep_ = -1;
    sockaddr_in addr_{};
    sockaddr_in publish_addr_{};
    std::vector<sockaddr_in> targets_; // one per --port
    std::vector<std::string> requests_;
    std::vector<sockaddr_in> src_;
    std::vector<char> buf_;
    std::vector<std::uint32_t> samples_;
    std::vector<std::uint32_t> early_, late_; // the same, of messages 1..M/2 and M/2+1..M (a backlog shows as late > early)
    std::uint64_t stride_ = 1, sample_tick_ = 0;

    long next_ = 0, inflight_ = 0, heads_ = 0, dead_ = 0, dead_waiting_ = 0, complete_ = 0;
    long err_connect_ = 0, err_status_ = 0, err_closed_ = 0, ignored_ = 0;
    int error_notes_ = 0;
    std::uint64_t events_ = 0, extra_ = 0, bytes_ = 0, no_stamp_ = 0;
    std::uint64_t dup_ = 0, reorder_ = 0, wrong_size_ = 0, unnumbered_ = 0, out_of_range_ = 0;
    std::vector<std::uint64_t> seen_; // words_ per connection
    std::uint64_t words_ = 0;
    long done_ = 0;
    bool triggered_ = false, chunked_seen_ = false;
    double first_byte_ = 0, last_event_ = 0, now_mono_ = 0, deadline_ = 0;
    int post_fd_ = -1;
    int post_status_ = 0;
    std::string post_resp_;
};

long to_long(const char* s, const char* what) {
    char* e = nullptr;
    errno = 0;
    const long v = std::strtol(s, &e, 10);
    if (errno || !e || *e || v < 0) usage(what);
    return v;
}

} // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) usage("missing value");
            return argv[++i];
        };
        if (a == "--port") {
            std::string_view list = value();
            while (!list.empty()) {
                const std::size_t comma = list.find(',');
                const std::string one(list.substr(0, comma));
                o.ports.push_back(int(to_long(one.c_str(), "bad --port")));
                list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
            }
            if (o.ports.empty()) usage("bad --port");
            o.port = o.ports.front();
        } else if (a == "--publish-port") o.publish_port = int(to_long(value(), "bad --publish-port"));
        else if (a == "--host") o.host = value();
        else if (a == "--conns") o.conns = to_long(value(), "bad --conns");
        else if (a == "--expect") o.expect = to_long(value(), "bad --expect");
        else if (a == "--publish") o.publish = value();
        else if (a == "--path") o.path = value();
        else if (a == "--pid") o.pid = int(to_long(value(), "bad --pid"));
        else if (a == "--timeout") o.timeout = std::atof(value());
        else if (a == "--settle-ms") o.settle_ms = to_long(value(), "bad --settle-ms");
        else if (a == "--max-inflight") o.max_inflight = std::max(1L, to_long(value(), "bad --max-inflight"));
        else if (a == "--max-samples") o.max_samples = std::size_t(to_long(value(), "bad --max-samples"));
        else if (a == "--src-addrs") o.src_addrs = to_long(value(), "bad --src-addrs");
        else if (a == "--size") o.size = std::uint64_t(to_long(value(), "bad --size"));
        else if (a == "--stats") o.stats = value();
        else if (a == "--linger-ms") o.linger_ms = to_long(value(), "bad --linger-ms");
        else if (a == "--tag") {
            const std::string_view t = value();
            const auto eq = t.find('=');
            if (eq == std::string_view::npos) usage("--tag wants key=value");
            o.tags.emplace_back(std::string(t.substr(0, eq)), std::string(t.substr(eq + 1)));
        } else if (a == "--help" || a == "-h") usage("help");
        else usage("unknown flag");
    }
    if (o.port <= 0 || o.conns <= 0 || o.timeout <= 0) usage("--port, --conns and --timeout are required");
    for (int p : o.ports)
        if (p <= 0 || p > 65535) usage("bad --port");
    if (o.publish_port < 0 || o.publish_port > 65535) usage("bad --publish-port");
    if (o.max_samples == 0) o.max_samples = 1;

    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rlim_t(o.conns) + 16 > rl.rlim_cur)
        std::fprintf(stderr, "sse_load: warning: %ld connections but only %llu descriptors (ulimit -Hn)\n", o.conns,
                     (unsigned long long)rl.rlim_cur);

    loadgen g(std::move(o));
    return g.run();
}
