// raw_epoll_server: the ceiling of bench/fanout. One thread, epoll, no sse code: every message
// is serialized once into a shared log, and each subscriber is sent the part of the log it has
// not received yet.
//
//   raw_epoll_server [--host 127.0.0.1] [--port 18102] [--batch 64] [--lifetime SECONDS]
//                    [--fault dup|drop|swap|short:K]...
//
//   GET  /events                 a minimal head, then the stream (close-delimited)
//   POST /publish?n=M&size=B[&rate=R]  M messages `data: t=<ns CLOCK_REALTIME> s=<1..M>xxx…\n\n` whose
//                                data is exactly B bytes, the stamp taken right before each
//                                message is serialized. Up to --batch K messages are serialized, then every
//                                subscriber gets everything it has not received in ONE send();
//                                a subscriber whose socket is full waits for EPOLLOUT and resumes
//                                from its offset (one send per wake-up). --batch 1: one send per
//                                message per connection. With rate=R (messages per second)
//                                message k is due k/R seconds after the POST (a timerfd wakes
//                                the loop): each turn serializes the due ones, up to --batch, as
//                                demo_server's /publish?rate=R paces its publisher.
//   GET  /stats                  {"subscribers":…,"published":…,"sends":…}
//
// --fault breaks message K of every /publish on purpose, so that the load generator's checks can
// be shown to catch it (bench/smoke.sh): dup sends it twice, drop never, swap sends K+1 before K,
// short makes its data one byte short.
#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <vector>

namespace {

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "raw_epoll_server: %s\nusage: raw_epoll_server [--host ADDR] [--port N] [--batch K] [--lifetime S] "
                 "[--fault dup|drop|swap|short:K]...\n",
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

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

enum : std::uint8_t { c_head, c_sub };

struct client {
    int fd = -1;
    std::uint8_t st = c_head;
    bool blocked = false;  // waiting for EPOLLOUT
    std::uint32_t index = 0; // position in subs_
    std::uint64_t off = 0;   // absolute log offset sent so far
    std::string in;          // the request head, while reading it
};

struct job {
    std::uint64_t left;
    std::size_t size;
    std::uint64_t next = 1; // the number of the next message
    double rate = 0;        // messages per second; 0: as fast as possible
    double start = 0;       // mono_s() at the POST
};

struct faults {
    std::uint64_t dup = 0, drop = 0, swap = 0, shrt = 0; // message numbers, 0: none
};

const char stream_head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                           "Connection: close\r\n\r\n";

class server {
public:
    server(std::string host, int port, std::size_t batch, faults f) : batch_(batch), faults_(f) {
        lfd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(std::uint16_t(port));
        if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) usage("bad --host (IPv4 only)");
        if (bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(lfd_, 4096) < 0) {
            std::fprintf(stderr, "raw_epoll_server: cannot listen on %s:%d: %s\n", host.c_str(), port, std::strerror(errno));
            std::exit(1);
        }
        ep_ = epoll_create1(EPOLL_CLOEXEC);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = nullptr; // the listener
        epoll_ctl(ep_, EPOLL_CTL_ADD, lfd_, &ev);
        tfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        ev.data.ptr = &tfd_; // the pacing timer
        epoll_ctl(ep_, EPOLL_CTL_ADD, tfd_, &ev);
        std::printf("raw_epoll_server: listening on http://%s:%d/ (batch %zu)\n", host.c_str(), port, batch_);
        std::fflush(stdout);
    }

    void run(double lifetime) {
        const double end = lifetime > 0 ? mono_s() + lifetime : 0;
        epoll_event evs[512];
        while (!g_stop && (end == 0 || mono_s() < end)) {
            const int n = epoll_wait(ep_, evs, 512, jobs_.empty() || waiting_ ? 200 : 0);
            for (int k = 0; k < n; ++k) {
                if (evs[k].data.ptr == &tfd_) {
                    std::uint64_t ticks = 0;
                    (void)read(tfd_, &ticks, sizeof ticks);
                    waiting_ = false;
                    continue;
                }
                auto* c = static_cast<client*>(evs[k].data.ptr);
                if (!c) {
                    accept_all();
                    continue;
                }
                if (c->st == c_head) {
                    on_request_bytes(c);
                    continue;
                }
                if (evs[k].events & (EPOLLERR | EPOLLHUP)) {
                    drop(c);
                    continue;
                }
                if (evs[k].events & EPOLLIN) {
                    char b[256];
                    const ssize_t r = recv(c->fd, b, sizeof b, 0);
                    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                        drop(c);
                        continue;
                    }
                }
                if ((evs[k].events & EPOLLOUT) && c->blocked) resume(c);
            }
            reap();
            if (!jobs_.empty() && !waiting_) publish_batch();
        }
    }

private:
    void accept_all() {
        for (;;) {
            const int fd = accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE) {
                    if (!warned_emfile_) std::fprintf(stderr, "raw_epoll_server: accept: %s\n", std::strerror(errno));
                    warned_emfile_ = true;
                }
                return;
            }
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            auto* c = new client;
            c->fd = fd;
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.ptr = c;
            epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
        }
    }

    void close_client(client* c) {
        epoll_ctl(ep_, EPOLL_CTL_DEL, c->fd, nullptr);
        close(c->fd);
        delete c;
    }

    void on_request_bytes(client* c) {
        char b[4096];
        const ssize_t r = recv(c->fd, b, sizeof b, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) return close_client(c);
        if (r < 0) return;
        c->in.append(b, std::size_t(r));
        const auto end = c->in.find("\r\n\r\n");
        if (end == std::string::npos) {
            if (c->in.size() > 16384) return close_client(c);
            return;
        }
        const std::string_view line = std::string_view(c->in).substr(0, c->in.find("\r\n"));
        const auto sp1 = line.find(' ');
        const auto sp2 = line.find(' ', sp1 + 1);
        if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) return answer(c, 400, "bad request\n");
        const std::string_view method = line.substr(0, sp1);
        const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
        const std::string_view path = target.substr(0, target.find('?'));
        if (method == "GET" && path == "/events") return subscribe(c);
        if (method == "POST" && path == "/publish") {
            const std::string_view q = target.find('?') == std::string_view::npos ? "" : target.substr(target.find('?') + 1);
            const long long n = query_number(q, "n", 1), size = query_number(q, "size", 64);
            if (n < 0 || n > 100000000 || size < 21 || size > 16 * 1024 * 1024) return answer(c, 400, "bad n or size\n");
            const long long rate = query_number(q, "rate", 0);
            if (rate < 0) return answer(c, 400, "bad rate\n");
            jobs_.push_back({std::uint64_t(n), std::size_t(size), 1, double(rate), mono_s()});
            return answer(c, 200, "{\"published\":" + std::to_string(n) + "}\n", "application/json");
        }
        if (method == "GET" && path == "/stats") {
            return answer(c, 200,
                          "{\"subscribers\":" + std::to_string(subs_.size()) + ",\"published\":" + std::to_string(published_) +
                              ",\"sends\":" + std::to_string(sends_) + "}\n",
                          "application/json");
        }
        return answer(c, 404, "not found\n");
    }

    static long long query_number(std::string_view q, std::string_view key, long long dflt) {
        while (!q.empty()) {
            const auto amp = q.find('&');
            const std::string_view kv = q.substr(0, amp);
            const auto eq = kv.find('=');
            if (kv.substr(0, eq) == key && eq != std::string_view::npos) {
                const std::string_view v = kv.substr(eq + 1);
                if (v.empty() || v.size() > 12) return -1;
                long long x = 0;
                for (char ch : v) {
                    if (ch < '0' || ch > '9') return -1;
                    x = x * 10 + (ch - '0');
                }
                return x;
            }
            if (amp == std::string_view::npos) break;
            q.remove_prefix(amp + 1);
        }
        return dflt;
    }

    void answer(client* c, int status, const std::string& body, const char* type = "text/plain") {
        const char* reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Bad Request";
        const std::string r = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + type +
                              "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
        (void)send(c->fd, r.data(), r.size(), MSG_NOSIGNAL);
        shutdown(c->fd, SHUT_WR);
        close_client(c);
    }

    void subscribe(client* c) {
        const ssize_t r = send(c->fd, stream_head, sizeof stream_head - 1, MSG_NOSIGNAL);
        if (r != ssize_t(sizeof stream_head - 1)) return close_client(c);
        c->in = std::string();
        c->st = c_sub;
        c->off = base_ + log_.size();
        c->index = std::uint32_t(subs_.size());
        subs_.push_back(c);
    }

    // `data: t=<ns> s=<seq>` padded with 'x' to `size` data bytes (cut at `size` if longer).
    void append(std::uint64_t seq, std::size_t size) {
        char head[64];
        const int nh = std::snprintf(head, sizeof head, "t=%llu s=%llu", (unsigned long long)realtime_ns(),
                                     (unsigned long long)seq);
        const std::size_t take = std::min<std::size_t>(std::size_t(nh), size);
        const std::size_t at = log_.size();
        log_.resize(at + 6 + size + 2);
        char* p = log_.data() + at;
        std::memcpy(p, "data: ", 6);
        std::memcpy(p + 6, head, take);
        std::memset(p + 6 + take, 'x', size - take);
        p[6 + size] = '\n';
        p[6 + size + 1] = '\n';
    }

    // Serializes up to batch_ messages, then one send per subscriber that is not waiting.
    void publish_batch() {
        job& j = jobs_.front();
        std::size_t k = std::size_t(std::min<std::uint64_t>(batch_, j.left));
        if (j.rate > 0) { // message `next` (1-based) is due (next - 1) / rate seconds after the start
            const double now = mono_s();
            const auto due = std::uint64_t((now - j.start) * j.rate) + 1; // messages due so far
            if (due < j.next) { // none yet: sleep until the next one is due
                const double at = j.start + double(j.next - 1) / j.rate;
                timespec ts{};
                clock_gettime(CLOCK_MONOTONIC, &ts);
                const double wait = std::max(at - now, 1e-6);
                itimerspec it{};
                const double when = double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9 + wait;
                it.it_value.tv_sec = time_t(when);
                it.it_value.tv_nsec = long((when - double(time_t(when))) * 1e9);
                timerfd_settime(tfd_, TFD_TIMER_ABSTIME, &it, nullptr);
                waiting_ = true;
                return;
            }
            k = std::size_t(std::min<std::uint64_t>(k, due - j.next + 1));
        }
        for (std::size_t m = 0; m < k; ++m) {
            const std::uint64_t seq = j.next++;
            if (seq == faults_.drop) continue;
            if (seq == faults_.swap) continue; // held back until K+1 is out
            append(seq, seq == faults_.shrt ? j.size - 1 : j.size);
            if (seq == faults_.dup) append(seq, j.size);
            if (faults_.swap != 0 && seq == faults_.swap + 1) append(faults_.swap, j.size);
        }
        published_ += k;
        j.left -= k;
        if (j.left == 0) jobs_.pop_front();
        for (client* c : subs_)
            if (!c->blocked) flush(c);
        reap();
        trim();
    }

    // One send() of everything the client has not received.
    void flush(client* c) {
        const std::uint64_t end = base_ + log_.size();
        const std::size_t len = std::size_t(end - c->off);
        if (len == 0) return;
        const ssize_t r = send(c->fd, log_.data() + (c->off - base_), len, MSG_NOSIGNAL | MSG_DONTWAIT);
        ++sends_;
        if (r < 0 && errno != EAGAIN && errno != EINTR) {
            dead_.push_back(c);
            return;
        }
        if (r > 0) c->off += std::uint64_t(r);
        if (c->off < end && !c->blocked) {
            c->blocked = true;
            ++blocked_;
            epoll_event ev{};
            ev.events = EPOLLIN | EPOLLOUT;
            ev.data.ptr = c;
            epoll_ctl(ep_, EPOLL_CTL_MOD, c->fd, &ev);
        }
    }

    void resume(client* c) {
        flush(c);
        if (c->blocked && c->off == base_ + log_.size()) {
            c->blocked = false;
            --blocked_;
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.ptr = c;
            epoll_ctl(ep_, EPOLL_CTL_MOD, c->fd, &ev);
        }
    }

    // Drops the prefix of the log every subscriber has received.
    void trim() {
        if (blocked_ == 0) {
            base_ += log_.size();
            log_.clear();
            return;
        }
        if (log_.size() < (1u << 20)) return;
        std::uint64_t low = base_ + log_.size();
        for (client* c : subs_) low = std::min(low, c->off);
        const std::size_t cut = std::size_t(low - base_);
        if (cut < log_.size() / 2) return;
        log_.erase(0, cut);
        base_ = low;
    }

    void drop(client* c) {
        if (std::find(dead_.begin(), dead_.end(), c) == dead_.end()) dead_.push_back(c);
    }

    void reap() {
        for (client* c : dead_) {
            if (c->blocked) --blocked_;
            client* last = subs_.back();
            subs_[c->index] = last;
            last->index = c->index;
            subs_.pop_back();
            close_client(c);
        }
        dead_.clear();
    }

    std::size_t batch_;
    faults faults_;
    int lfd_ = -1, ep_ = -1, tfd_ = -1;
    bool waiting_ = false; // for the pacing timer
    std::vector<client*> subs_, dead_;
    std::size_t blocked_ = 0;
    std::string log_;
    std::uint64_t base_ = 0; // absolute offset of log_[0]
    std::deque<job> jobs_;
    std::uint64_t published_ = 0, sends_ = 0;
    bool warned_emfile_ = false;
};

} // namespace

int main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    int port = 18102;
    long batch = 64;
    double lifetime = 0;
    faults f;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) usage("missing value");
            return argv[++i];
        };
        if (a == "--host") host = value();
        else if (a == "--port") port = std::atoi(value());
        else if (a == "--batch") batch = std::atol(value());
        else if (a == "--lifetime") lifetime = std::atof(value());
        else if (a == "--fault") {
            const std::string_view v = value();
            const auto colon = v.find(':');
            const std::uint64_t k = colon == std::string_view::npos ? 0 : std::strtoull(v.data() + colon + 1, nullptr, 10);
            if (k == 0) usage("--fault wants KIND:K with K >= 1");
            const std::string_view kind = v.substr(0, colon);
            if (kind == "dup") f.dup = k;
            else if (kind == "drop") f.drop = k;
            else if (kind == "swap") f.swap = k;
            else if (kind == "short") f.shrt = k;
            else usage("--fault KIND is dup, drop, swap or short");
        } else usage("unknown flag");
    }
    if (port <= 0 || port > 65535 || batch < 1) usage("bad --port or --batch");
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    server s(host, port, std::size_t(batch), f);
    s.run(lifetime);
    return 0;
}
