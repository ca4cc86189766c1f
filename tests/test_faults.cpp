// Faults, over real loopback sockets and real processes (the hardening
// issue's four): client processes SIGKILLed mid-stream; the demo server
// SIGKILLed and restarted on its port; slowloris heads, huge heads and
// malformed requests by the thousand; a client whose socket stays full for a
// minute. In each, the clients that behave get every message, once and in
// order, and the server frees (or bounds) what the others hold.
//
// Every wait is bounded polling of what the server or a client reports;
// every loop is bounded in count and time.
#include "sse_test.hpp"
#include "support/loopback.hpp"
#include "support/node_peer.hpp"
#include "support/streams.hpp"

#include <sse/client.hpp>
#include <sse/event.hpp>
#include <sse/joe.hpp>
#include <sse/message.hpp>
#include <sse/parser.hpp>
#include <sse/server.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using sse_test::bulk_message;
using sse_test::bulk_reader;
using sse_test::eventually;
using sse_test::open_stream;
using sse_test::quiet;
using sse_test::running_server;
using sse_test::test_client;
using sse_test::test_clock;

// Raises this process's soft limit on open descriptors towards `want` (up to
// the hard limit); returns the limit now in force.
rlim_t raise_open_files(rlim_t want) {
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
    if (r.rlim_cur < want) {
        r.rlim_cur = std::min(want, r.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &r);
        ::getrlimit(RLIMIT_NOFILE, &r);
    }
    return r.rlim_cur;
}

// ------------------------------------------------------------------- readers in child processes

// The body of a forked reader: connects to 127.0.0.1:port, requests a stream
// and checks it with bulk_checker, reporting one byte on `report`: 'H' once
// the head is in, then 'D' when frames 0 to messages - 1 arrived exactly,
// once and in order (exit 0), or 'X' on anything else (exit 1). The parent
// has threads, so after fork only system calls and code that allocates
// nothing run here; the descriptors inherited from the parent are closed
// first, so that none of the parent's connections lives on in a child.
[[noreturn]] void reader_child(unsigned short port, int report, int messages) noexcept {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL); // never outlives the test
    ::alarm(120);                       // nor runs for ever
    rlimit r{};
    ::getrlimit(RLIMIT_NOFILE, &r);
    for (int fd = 3; fd < static_cast<int>(std::min<rlim_t>(r.rlim_cur, 1 << 20)); ++fd)
        if (fd != report) ::close(fd);
    auto say = [report](char c) {
        while (::write(report, &c, 1) < 0 && errno == EINTR) {
        }
    };
    auto fail = [&] {
        say('X');
        ::_exit(1);
    };
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) fail();
    static constexpr std::string_view request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    for (std::size_t sent = 0; sent < request.size();) {
        const ssize_t n = ::write(fd, request.data() + sent, request.size() - sent);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail();
        sent += static_cast<std::size_t>(n);
    }
    static char buf[64 * 1024];
    std::size_t have = 0;
    bool in_body = false;
    sse_test::bulk_checker checker;
    for (;;) {
        const ssize_t n = ::read(fd, buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail();
        have += static_cast<std::size_t>(n);
        const std::string_view bytes(buf, have);
        std::size_t used = 0;
        if (!in_body) {
            const std::size_t end = bytes.find("\r\n\r\n");
            if (end == std::string_view::npos) {
                if (have == sizeof buf) fail();
                continue;
            }
            if (bytes.substr(0, 17) != "HTTP/1.1 200 OK\r\n") fail();
            in_body = true;
            used = end + 4;
            say('H');
        }
        used += checker.check(bytes.substr(used));
        if (!checker.ok || checker.next > messages) fail();
        if (checker.next == messages) {
            say('D');
            ::_exit(0);
        }
        std::memmove(buf, buf + used, have - used);
        have -= used;
    }
}

// A reader process (see reader_child), killed and reaped on destruction.
class forked_reader {
public:
    forked_reader(unsigned short port, int messages) {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        pid_ = ::fork();
        if (pid_ == 0) reader_child(port, fds[1], messages);
        ::close(fds[1]);
        report_ = fds[0];
        REQUIRE(pid_ > 0);
    }
    forked_reader(const forked_reader&) = delete;
    forked_reader& operator=(const forked_reader&) = delete;
    ~forked_reader() {
        kill();
        if (report_ >= 0) ::close(report_);
    }

    // The next byte it reported; 0 at the deadline or once it is gone.
    char next_report(std::chrono::milliseconds timeout) {
        const auto until = test_clock::now() + timeout;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - test_clock::now());
            if (left.count() <= 0) return 0;
            pollfd p{report_, POLLIN, 0};
            const int r = ::poll(&p, 1, static_cast<int>(left.count()));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return 0;
            char c = 0;
            const ssize_t n = ::read(report_, &c, 1);
            if (n < 0 && errno == EINTR) continue;
            return n == 1 ? c : 0;
        }
    }

    // SIGKILL, as a crash or the OOM killer would end it; then reaped.
    void kill() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        reap(0);
    }

    // Its exit status once it has exited by itself (reaped), -1 if it did not within `timeout`.
    int wait_exit(std::chrono::milliseconds timeout) {
        if (!eventually([&] { return reap(WNOHANG); }, timeout)) return -1;
        return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
    }

private:
    bool reap(int flags) {
        if (pid_ <= 0) return true;
        for (;;) {
            const pid_t r = ::waitpid(pid_, &status_, flags);
            if (r < 0 && errno == EINTR) continue;
            if (r == 0) return false;
            pid_ = -1;
            return true;
        }
    }

    pid_t pid_ = -1;
    int report_ = -1;
    int status_ = 0;
};

} // namespace

// (1) ------------------------------------------------------------- clients killed mid-stream

TEST_CASE("faults: client processes SIGKILLed mid-stream while others read on; the server frees what they held",
          "[faults]") {
    constexpr int in_process = 10; // loopback readers in this process
    constexpr int survivors = 10;  // reader processes that read to the end
    constexpr int victims = 10;    // reader processes killed halfway
    constexpr int messages = 2000, batch = 50, kill_at = 1000;
    sse::server_options o = quiet();
    o.session.send_buffer_bytes = 16 * 1024; // small kernel buffers: more of a dead client's stream is queued
    running_server<sse::server> srv(sse::joe(), o);
    srv.start();

    std::vector<bulk_reader> readers;
    for (int i = 0; i < in_process; ++i) readers.emplace_back(open_stream(srv.port()));
    const sse::server_stats baseline = srv->stats();
    REQUIRE(baseline.sessions == in_process);
    REQUIRE(baseline.connections == in_process);
    REQUIRE(baseline.queued_bytes == 0);
    REQUIRE(srv->provider().stats().subscribers == static_cast<std::size_t>(in_process));

    std::vector<std::unique_ptr<forked_reader>> live, doomed;
    for (int i = 0; i < survivors; ++i) live.push_back(std::make_unique<forked_reader>(srv.port(), messages));
    for (int i = 0; i < victims; ++i) doomed.push_back(std::make_unique<forked_reader>(srv.port(), messages));
    for (auto& c : live) REQUIRE(c->next_report(10s) == 'H');
    for (auto& c : doomed) REQUIRE(c->next_report(10s) == 'H');
    REQUIRE(srv->stats().sessions == in_process + survivors + victims); // a head means a session

    std::int64_t queued_at_kill = -1;
    for (int sent = 0; sent < messages;) {
        const int end = std::min(messages, sent + batch);
        for (; sent < end; ++sent) srv->publish(bulk_message(sent));
        if (sent == kill_at) {
            // Mid-stream: the batch just published is on its way to them.
            queued_at_kill = srv->stats().queued_bytes;
            for (auto& v : doomed) v->kill();
            // The server notices each dead peer (it reset the connection) and frees it.
            INFO("queued bytes when the victims died: " << queued_at_kill);
            REQUIRE(eventually([&] {
                const sse::server_stats s = srv->stats();
                return s.sessions == in_process + survivors && s.connections == in_process + survivors &&
                       srv->provider().stats().subscribers == static_cast<std::size_t>(in_process + survivors);
            }));
        }
        for (std::size_t i = 0; i < readers.size(); ++i) {
            INFO("reader " << i << " at message " << readers[i].next);
            REQUIRE(readers[i].read_through(end));
        }
    }
    // Every survivor checked all 2,000 frames, exactly, once and in order, and exited.
    for (auto& c : live) {
        CHECK(c->next_report(20s) == 'D');
        CHECK(c->wait_exit(10s) == 0);
    }
    for (const bulk_reader& r : readers) CHECK(r.next == messages);

    // Back to the baseline: nothing of the 20 processes is left in the server.
    CHECK(eventually([&] {
        const sse::server_stats s = srv->stats();
        return s.connections == baseline.connections && s.sessions == baseline.sessions && s.queued_bytes == 0 &&
               srv->provider().stats().subscribers == static_cast<std::size_t>(in_process);
    }));
    CHECK(srv->stats().overflows == 0);
    CHECK(srv->stats().accepted == static_cast<std::uint64_t>(in_process + survivors + victims));
    readers.clear();
    CHECK(eventually([&] {
        const sse::server_stats s = srv->stats();
        return s.connections == 0 && s.sessions == 0 && srv->provider().stats().subscribers == 0;
    }));
}

// (2) ------------------------------------------------------------- the server killed and restarted

#ifdef SSE_DEMO_SERVER_EXECUTABLE
namespace {

// The events a client received, in order (filled on its io thread).
struct event_log {
    std::mutex mutex;
    std::vector<sse::event> events;

    void add(const sse::event_view& e) {
        std::lock_guard lock(mutex);
        events.emplace_back(e);
    }
    std::vector<sse::event> copy() {
        std::lock_guard lock(mutex);
        return events;
    }
    std::size_t count(std::string_view type) {
        std::lock_guard lock(mutex);
        return static_cast<std::size_t>(
            std::count_if(events.begin(), events.end(), [&](const sse::event& e) { return e.type == type; }));
    }
};

// The events in a stream's bytes.
std::vector<sse::event> events_of(std::string_view bytes) {
    std::vector<sse::event> out;
    sse::parser p;
    p.feed(bytes, [&](const sse::event_view& e) { out.emplace_back(e); });
    return out;
}

// The automatic id the demo's start-up line names ("..., first id N)").
std::uint64_t first_id_of(const sse_test::child_process& demo) {
    const std::string& line = demo.first_line();
    const std::size_t at = line.find("first id ");
    REQUIRE(at != std::string::npos);
    return std::stoull(line.substr(at + 9));
}

void publish_to(unsigned short port, int n, std::uint64_t published_before) {
    REQUIRE(sse_test::http_fetch(port, "POST", "/publish?n=" + std::to_string(n) + "&size=32").status == 200);
    // It publishes after answering: wait for it (bounded).
    REQUIRE(eventually([&] {
        const std::string stats = sse_test::http_fetch(port, "GET", "/stats").body;
        return sse_test::json_number_field(stats, "published").value_or(0) >=
               static_cast<double>(published_before + static_cast<std::uint64_t>(n));
    }));
}

// Checks that `events` are `n` messages with the consecutive ids first, first + 1, ...
void check_ids(const std::vector<sse::event>& events, std::size_t from, std::size_t n, std::uint64_t first) {
    REQUIRE(events.size() >= from + n);
    for (std::size_t i = 0; i < n; ++i) {
        const sse::event& e = events[from + i];
        INFO("event " << from + i << ": " << e.type << " id " << e.last_event_id);
        CHECK(e.type == "message");
        CHECK(e.last_event_id == std::to_string(first + i));
        CHECK(e.data.size() == 32);
    }
}

} // namespace

TEST_CASE("faults: the server SIGKILLed and restarted on its port; clients resume with Last-Event-ID and miss "
          "nothing the new process publishes",
          "[faults]") {
    // What an in-memory server can promise: what the old process published is gone
    // with it (a client gets a gap event whose data is the id it resumed from, then
    // nothing old again); everything the new process publishes reaches every client
    // exactly once and in order, also what it published before that client was back.
    constexpr int clients = 20;
    constexpr int before_kill = 50, after_restart = 30, after_resume = 20;
    auto start_demo = [](const std::string& port) {
        return sse_test::start_peer({SSE_DEMO_SERVER_EXECUTABLE, "--host", "127.0.0.1", "--port", port, "--replay",
                                     "finite:10000", "--gap-event", "gap", "--heartbeat", "0", "--retry", "200",
                                     "--lifetime", "120"});
    };
    sse_test::child_process demo = start_demo("0");
    const unsigned short port = demo.port();
    const std::uint64_t old_first = first_id_of(demo);
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/events";

    // Clients that reconnect by themselves (sse::connection, as a user would run it).
    std::atomic<int> finished{0};
    asio::io_context ioc; // outlives the connections, which post to it when destroyed
    std::vector<std::unique_ptr<event_log>> logs;
    std::vector<std::unique_ptr<sse::connection>> conns;
    sse::client cfg;
    cfg.backoff.max_interval = 1000ms; // the server's retry: 200 is the base
    for (int i = 0; i < clients; ++i) {
        logs.push_back(std::make_unique<event_log>());
        sse::request req;
        req.target = url;
        conns.push_back(std::make_unique<sse::connection>(ioc.get_executor(), req, cfg));
        conns.back()->subscribe_to_all([log = logs.back().get()](const sse::event_view& e) { log->add(e); });
        conns.back()->async_run([&finished](std::error_code) { ++finished; });
    }
    sse_test::io_thread io(ioc, 120s);
    // And one raw client that will come back by hand, after the new process published.
    auto late = open_stream(port, "/events");
    REQUIRE(eventually([&] {
        const std::string stats = sse_test::http_fetch(port, "GET", "/stats").body;
        return sse_test::json_number_field(stats, "subscribers").value_or(0) == clients + 1;
    }));

    publish_to(port, before_kill, 0);
    for (auto& log : logs) REQUIRE(eventually([&] { return log->count("message") == before_kill; }));
    const std::string old_last = std::to_string(old_first + before_kill - 1);
    REQUIRE(late->read_until("id: " + old_last + "\n"));
    REQUIRE(late->read_until("\n\n", 5s, late->received.find("id: " + old_last + "\n")));
    check_ids(events_of(late->received), 0, before_kill, old_first);

    demo.kill_now(); // no shutdown, no final event: the streams just break
    REQUIRE(late->read_until_closed());
    late.reset();
    demo = start_demo(std::to_string(port));
    REQUIRE(demo.port() == port);
    const std::uint64_t new_first = first_id_of(demo);
    REQUIRE(new_first > old_first + before_kill); // its ids are all newer than the old process's

    // Published as soon as it listens: clients still waiting to reconnect get it from the history.
    publish_to(port, after_restart, 0);
    auto resumed = open_stream(port, "/events", "Last-Event-ID: " + old_last + "\r\n");
    REQUIRE(eventually([&] {
        const std::string stats = sse_test::http_fetch(port, "GET", "/stats").body;
        return sse_test::json_number_field(stats, "subscribers").value_or(0) == clients + 1;
    }));
    publish_to(port, after_resume, after_restart);

    const std::uint64_t new_last = new_first + after_restart + after_resume - 1;
    REQUIRE(resumed->read_until("id: " + std::to_string(new_last) + "\n"));
    REQUIRE(resumed->read_until("\n\n", 5s, resumed->received.find("id: " + std::to_string(new_last) + "\n")));
    for (auto& log : logs)
        REQUIRE(eventually([&] { return log->count("message") == before_kill + after_restart + after_resume; }));

    // Each sse::connection: the old process's 50, the gap (from the id it resumed with), all 50 new ones.
    for (std::size_t k = 0; k < logs.size(); ++k) {
        INFO("client " << k);
        const std::vector<sse::event> seen = logs[k]->copy();
        REQUIRE(seen.size() == before_kill + 1 + after_restart + after_resume);
        check_ids(seen, 0, before_kill, old_first);
        CHECK(seen[before_kill].type == "gap");
        CHECK(seen[before_kill].data == old_last);
        check_ids(seen, before_kill + 1, after_restart + after_resume, new_first);
    }
    // The raw client that came back after the new process published: the gap, then all of it.
    const std::vector<sse::event> back = events_of(resumed->received);
    REQUIRE(back.size() == 1 + after_restart + after_resume);
    CHECK(back[0].type == "gap");
    CHECK(back[0].data == old_last);
    check_ids(back, 1, after_restart + after_resume, new_first);

    const std::string stats = sse_test::http_fetch(port, "GET", "/stats").body;
    CHECK(sse_test::json_number_field(stats, "gaps").value_or(-1) == clients + 1);
    CHECK(sse_test::json_number_field(stats, "replayed").value_or(-1) >= after_restart); // the raw client's at least

    for (auto& c : conns) c->cancel();
    CHECK(eventually([&] { return finished == clients; }));
    io.join();
}
#endif

// (3) ------------------------------------------------------------- an attack while clients stream

TEST_CASE("faults: 1000 slowloris heads + 10 heads of 1 MiB + 10000 malformed requests while 100 clients stream: "
          "they lose nothing",
          "[faults]") {
    constexpr int streams = 100, slowloris = 1000, huge_heads = 10, malformed = 10000;
    constexpr int wave = 100; // malformed requests in flight at once
    constexpr int min_messages = 1000, batch = 10;
    constexpr std::chrono::milliseconds pace = 20ms; // 500 messages a second to each stream
    // A bound for a hang, not an expected time (about 30 s here; several minutes on a loaded
    // 2-core machine under ASan): the attack, the slowloris holding and the streaming all end by it.
    constexpr auto attack_bound = 400s;
    constexpr int max_messages = 500 * 400;
    // Descriptors: two per loopback connection in this process (server and
    // client end) and the clients' own epoll and eventfd; about 6,000 at most.
    const rlim_t needed = 3 * (streams + slowloris + wave + huge_heads) * 2;
    const rlim_t have = raise_open_files(needed);
    INFO("RLIMIT_NOFILE " << have << ", this test needs about " << needed);
    REQUIRE(have >= needed);

    sse::server_options o = quiet();
    // The slowloris heads stay pending for the whole test however long it takes (their timeout is
    // tested elsewhere): far beyond attack_bound, so no head timeout races a slow attack.
    o.head_timeout = 3600s;
    running_server<sse::server> srv(sse::joe(), o);
    srv.start(2);
    std::vector<bulk_reader> readers;
    for (int i = 0; i < streams; ++i) readers.emplace_back(open_stream(srv.port()));

    std::atomic<int> slow_open{0}, slow_failed{0}, big_431{0}, big_other{0}, bad_400{0}, bad_other{0};
    std::atomic<bool> attack_done{false}, release{false};
    std::vector<std::string> bad_answers; // the first few unexpected answers, for the report
    std::mutex bad_mutex;

    std::thread slow_attacker([&] {
        std::vector<std::unique_ptr<test_client>> held;
        for (int i = 0; i < slowloris; ++i) {
            auto c = std::make_unique<test_client>(srv.port());
            if (c->connected() && c->send("GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")) ++slow_open;
            else ++slow_failed;
            held.push_back(std::move(c));
        }
        const auto until = test_clock::now() + attack_bound;
        while (!release && test_clock::now() < until) std::this_thread::sleep_for(1ms); // holding, not syncing
    });
    std::thread attacker([&] {
        auto note = [&](std::string what) {
            std::lock_guard lock(bad_mutex);
            if (bad_answers.size() < 5) bad_answers.push_back(std::move(what));
        };
        for (int i = 0; i < huge_heads; ++i) {
            test_client c(srv.port());
            // The server answers after its 16 KiB limit and resets the rest: the send may fail.
            c.send("GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(1024 * 1024, 'a') + "\r\n\r\n",
                   5s);
            const std::string r = c.read_response();
            if (r.rfind("HTTP/1.1 431 ", 0) == 0) {
                ++big_431;
            } else {
                ++big_other;
                note("1 MiB head: " + r.substr(0, 40));
            }
        }
        static const std::string_view kinds[] = {
            "garbage\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "GET /a\x01z HTTP/1.1\r\nHost: x\r\n\r\n",
            "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", // a TLS ClientHello on the plain port
            "GET / HTTP/1.1\r\nHo\x7fst: x\r\n\r\n",
        };
        constexpr std::size_t kind_count = sizeof kinds / sizeof kinds[0];
        for (int done = 0; done < malformed && !release;) {
            std::vector<std::unique_ptr<test_client>> w;
            for (int i = 0; i < wave && done + i < malformed; ++i) {
                w.push_back(std::make_unique<test_client>(srv.port()));
                w.back()->send(kinds[static_cast<std::size_t>(done + i) % kind_count]);
            }
            for (std::size_t i = 0; i < w.size(); ++i) {
                const std::string r = w[i]->read_response();
                if (r.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0) {
                    ++bad_400;
                } else {
                    ++bad_other;
                    note("kind " + std::to_string((static_cast<std::size_t>(done) + i) % kind_count) + ": " +
                         r.substr(0, 40));
                }
            }
            done += static_cast<int>(w.size());
        }
        attack_done = true;
    });
    struct joiner { // the attackers end even if a REQUIRE below fails
        std::atomic<bool>& release;
        std::thread& a;
        std::thread& b;
        ~joiner() {
            release = true;
            if (a.joinable()) a.join();
            if (b.joinable()) b.join();
        }
    } join_attackers{release, slow_attacker, attacker};

    // Stream for as long as the attack lasts (at least min_messages), every reader through every batch.
    auto attacked = [&] { return attack_done && slow_open + slow_failed == slowloris; };
    const auto deadline = test_clock::now() + attack_bound;
    int sent = 0;
    for (auto next = test_clock::now(); sent < min_messages || (!attacked() && sent < max_messages);) {
        REQUIRE(test_clock::now() < deadline);
        const int end = sent + batch;
        for (; sent < end; ++sent) srv->publish(bulk_message(sent));
        for (std::size_t i = 0; i < readers.size(); ++i) {
            INFO("reader " << i << " at message " << readers[i].next);
            REQUIRE(readers[i].read_through(end, 30s));
        }
        next += pace;
        std::this_thread::sleep_until(next); // a publisher's pace, not a wait for anything
    }
    REQUIRE(attacked()); // not cut short by max_messages
    for (const bulk_reader& r : readers) CHECK(r.next == sent);
    INFO("messages streamed during the attack: " << sent);
    // The slowloris heads are all pending at once, none became a stream, and the rest is gone.
    CHECK(eventually([&] { return srv->stats().connections == streams + slowloris; }));

    {
        std::lock_guard lock(bad_mutex);
        for (const std::string& a : bad_answers) UNSCOPED_INFO("unexpected answer: " << a);
    }
    CHECK(slow_open == slowloris);
    CHECK(slow_failed == 0);
    CHECK(big_431 == huge_heads);
    CHECK(bad_400 == malformed);
    const sse::server_stats s = srv->stats();
    CHECK(s.rejected_head_too_large == static_cast<std::uint64_t>(huge_heads));
    CHECK(s.rejected_bad_request == static_cast<std::uint64_t>(malformed));
    CHECK(s.timed_out == 0);
    CHECK(s.overflows == 0);
    CHECK(s.sessions == streams); // no slowloris head became a stream

    // The slowloris clients give up: the server is back to the 100 streams.
    release = true;
    slow_attacker.join();
    attacker.join();
    CHECK(eventually([&] {
        const sse::server_stats now = srv->stats();
        return now.connections == streams && now.sessions == streams;
    }));
    srv->publish(bulk_message(sent));
    for (bulk_reader& r : readers) CHECK(r.read_through(sent + 1));
}

// (4) ------------------------------------------------------------- a socket full for a minute

TEST_CASE("faults: a subscriber whose socket is full for a minute: the others get everything and its queue "
          "stays within the budget",
          "[faults]") {
    // drop_oldest keeps the stuck stream open the whole minute (with `close` it
    // would end at the budget, which test_server.cpp tests).
    constexpr auto stuck_for = 60s;
    constexpr std::chrono::milliseconds tick = 100ms;
    constexpr int readers_count = 10, per_tick = 10;
    constexpr std::size_t budget = 64 * 1024;
    constexpr auto frame = static_cast<std::int64_t>(sse_test::bulk_frame_size);
    sse::server_options o = quiet();
    o.session.max_queue_bytes = budget;
    o.session.on_overflow = sse::overflow_policy::drop_oldest;
    o.session.send_buffer_bytes = 16 * 1024;
    running_server<sse::server> srv(sse::joe(), o);
    srv.start();
    std::vector<bulk_reader> readers;
    for (int i = 0; i < readers_count; ++i) readers.emplace_back(open_stream(srv.port()));
    bulk_reader stuck(open_stream(srv.port(), "/", "", 4096)); // never reads until the end
    stuck.gaps = true;

    int sent = 0;
    // One tick: publish, every reader reads all of it; then until the readers'
    // queues are written out, what is queued is the stuck stream's.
    auto step = [&] {
        const int end = sent + per_tick;
        for (; sent < end; ++sent) srv->publish(bulk_message(sent));
        for (std::size_t i = 0; i < readers.size(); ++i) {
            INFO("reader " << i << " at message " << readers[i].next);
            REQUIRE(readers[i].read_through(end));
        }
        REQUIRE(eventually([&] { return srv->stats().queued_bytes <= static_cast<std::int64_t>(budget); }));
        return srv->stats().queued_bytes;
    };
    // Until its socket buffers and its queue are full (the queue within a frame of the budget).
    REQUIRE(eventually([&] { return step() > static_cast<std::int64_t>(budget) - frame; }, 30s));
    const std::uint64_t dropped_at_start = srv->stats().dropped_frames;
#ifdef SSE_TEST_ALLOCATED_BYTES
    const std::size_t allocated_at_start = __sanitizer_get_current_allocated_bytes();
    std::size_t allocated_max = allocated_at_start;
#endif

    // A minute of that, paced by the clock (a publisher's pace, not a wait for anything).
    sse_test::queue_sampler sampler(*srv);
    std::int64_t least = INT64_MAX, most = 0;
    int ticks = 0;
    const auto start = test_clock::now();
    for (auto next = start; test_clock::now() - start < stuck_for; ++ticks) {
        const std::int64_t q = step();
        least = std::min(least, q);
        most = std::max(most, q);
#ifdef SSE_TEST_ALLOCATED_BYTES
        allocated_max = std::max(allocated_max, __sanitizer_get_current_allocated_bytes());
#endif
        next += tick;
        std::this_thread::sleep_until(next);
    }
    sampler.stop();
    INFO("ticks " << ticks << ", messages " << sent << ", queued bytes after each tick " << least << " to " << most
                  << ", at most " << sampler.max() << " at any time");
    // Full at every tick, never over the budget.
    CHECK(least > static_cast<std::int64_t>(budget) - frame);
    CHECK(most <= static_cast<std::int64_t>(budget));
    // At any moment: the stuck stream's budget plus at most one tick in each reader's queue.
    CHECK(sampler.max() <= static_cast<std::int64_t>(budget) + readers_count * per_tick * frame);
#ifdef SSE_TEST_ALLOCATED_BYTES
    INFO("allocated at the start of the minute " << allocated_at_start << ", at most " << allocated_max);
    CHECK(allocated_max < allocated_at_start + 1024 * 1024); // it did not grow with the minute's 6 MB
#endif
    // Still subscribed all along, dropping what did not fit.
    const sse::server_stats s = srv->stats();
    CHECK(s.dropped_frames > dropped_at_start + static_cast<std::uint64_t>(ticks)); // about all of the minute's
    CHECK(s.overflows == 0);
    CHECK(s.sessions == readers_count + 1);
    CHECK(srv->provider().stats().subscribers == static_cast<std::size_t>(readers_count + 1));
    for (const bulk_reader& r : readers) CHECK(r.next == sent);

    // Reading at last, it gets whole frames in order, with gaps, up to the newest.
    srv->publish(bulk_message(sent));
    REQUIRE(stuck.read_through(sent + 1, 20s));
    CHECK(stuck.next == sent + 1);
    for (bulk_reader& r : readers) CHECK(r.read_through(sent + 1));
}
