// Streams of numbered events for the server and fault tests, over the
// loopback clients of loopback.hpp: requests, opening a stream, the "bulk"
// messages (exactly 1 KiB of data, numbered), checking a stream of them as it
// arrives, and sampling a server's queued bytes.
//
//   auto c = sse_test::open_stream(srv.port());          // head read and erased
//   srv->publish(sse_test::bulk_message(0));
//   sse_test::bulk_reader r(std::move(c));
//   REQUIRE(r.read_through(1));                          // frame 0 arrived, exact
#ifndef SSE_TESTS_SUPPORT_STREAMS_HPP
#define SSE_TESTS_SUPPORT_STREAMS_HPP

#include "sse_test.hpp"
#include "support/loopback.hpp"

#include <sse/message.hpp>
#include <sse/server.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

// Under AddressSanitizer the allocator reports the bytes allocated now, which
// shows memory that grows without bound even where nothing leaks.
#if defined(__SANITIZE_ADDRESS__)
#define SSE_TEST_ALLOCATED_BYTES 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SSE_TEST_ALLOCATED_BYTES 1
#endif
#endif
#ifdef SSE_TEST_ALLOCATED_BYTES
extern "C" std::size_t __sanitizer_get_current_allocated_bytes(); // the bytes allocated now
#endif

namespace sse_test {

/// A GET request for `target` with extra header lines (each ending in CRLF).
inline std::string get(std::string_view target = "/", std::string_view headers = "") {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + std::string(headers) + "\r\n";
}

/// A message of one data line.
inline sse::message text(std::string_view data) {
    sse::message m;
    m.append_data(data);
    return m;
}

/// Server options without heartbeats: what a client reads is exactly the events.
inline sse::server_options quiet() {
    sse::server_options o;
    o.session.heartbeat = std::chrono::milliseconds(0);
    return o;
}

/// Connects, requests a stream and reads its head, which is then erased from
/// `received`: from there on it holds exactly the event stream.
inline std::unique_ptr<test_client> open_stream(unsigned short port, std::string_view target = "/",
                                                std::string_view headers = "", int receive_buffer = 0) {
    auto c = std::make_unique<test_client>(port, receive_buffer);
    REQUIRE(c->connected());
    REQUIRE(c->send(get(target, headers)));
    REQUIRE(c->read_until("\r\n\r\n"));
    REQUIRE(c->received.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    c->received.erase(0, c->received.find("\r\n\r\n") + 4);
    return c;
}

/// The bulk message with sequence number `seq` (0 to 99,999,999): exactly
/// 1 KiB of data (8 digits, a space, 'x' padding), so every frame (without
/// an id) is 1,032 bytes.
inline constexpr std::size_t payload_size = 1024;
inline constexpr std::size_t bulk_frame_size = payload_size + 8; // "data: " ... "\n\n"

inline sse::message bulk_message(int seq) {
    char digits[16];
    std::snprintf(digits, sizeof digits, "%08d ", seq);
    std::string data(digits);
    data.resize(payload_size, 'x');
    return text(data);
}

/// The serialized bulk message `seq`.
inline std::string bulk_frame(int seq) { return bulk_message(seq).to_string(); }

/// The sequence number of a bulk frame `f` (its first bulk_frame_size bytes),
/// or -1 if it is not exactly one. Allocates nothing.
inline int bulk_frame_seq(std::string_view f) noexcept {
    if (f.size() < bulk_frame_size || f.substr(0, 6) != "data: " || f[14] != ' ' ||
        f.substr(bulk_frame_size - 2, 2) != "\n\n")
        return -1;
    int seq = 0;
    for (std::size_t i = 6; i < 14; ++i) {
        if (f[i] < '0' || f[i] > '9') return -1;
        seq = seq * 10 + (f[i] - '0');
    }
    if (f.substr(15, payload_size - 9).find_first_not_of('x') != std::string_view::npos) return -1;
    return seq;
}

/// Checks a stream of bulk frames as it arrives: whole frames, each exact and
/// the next expected one (with `gaps`, any later one: frames may be missing,
/// but never reordered or cut). Allocates nothing, so a forked child can use it.
struct bulk_checker {
    int next = 0;      ///< the next sequence number expected
    bool ok = true;    ///< every frame so far was exact and in order
    bool gaps = false; ///< frames may be missing (drop_oldest)

    /// Checks the whole frames at the front of `bytes`; returns the bytes they took.
    std::size_t check(std::string_view bytes) noexcept {
        std::size_t at = 0;
        while (ok && bytes.size() - at >= bulk_frame_size) {
            const int seq = bulk_frame_seq(bytes.substr(at, bulk_frame_size));
            if (seq < next || (!gaps && seq != next)) ok = false;
            next = seq + 1;
            at += bulk_frame_size;
        }
        return at;
    }
};

/// A loopback client reading a stream of bulk frames, checked as they come.
struct bulk_reader : bulk_checker {
    std::unique_ptr<test_client> client;

    bulk_reader() = default;
    explicit bulk_reader(std::unique_ptr<test_client> c) : client(std::move(c)) {}

    /// Checks and removes the whole frames received so far.
    void consume() { client->received.erase(0, check(client->received)); }

    /// Reads until every frame before `until` arrived (true), a mismatch, or the deadline.
    bool read_through(int until, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        const auto deadline = test_clock::now() + timeout;
        consume();
        while (ok && next < until) {
            if (client->closed() || test_clock::now() >= deadline) return false;
            client->read_some(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - test_clock::now()));
            consume();
        }
        return ok;
    }
};

/// Samples a server's queued bytes on a thread every millisecond and keeps the largest.
template <class Server>
class queue_sampler {
public:
    explicit queue_sampler(Server& s)
        : thread_([this, &s] {
              while (!stop_) {
                  const std::int64_t q = s.stats().queued_bytes;
                  if (q > max_) max_ = q;
                  std::this_thread::sleep_for(std::chrono::milliseconds(1));
              }
          }) {}
    ~queue_sampler() { stop(); }
    queue_sampler(const queue_sampler&) = delete;
    queue_sampler& operator=(const queue_sampler&) = delete;
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    std::int64_t max() const { return max_; }

private:
    std::atomic<bool> stop_{false};
    std::atomic<std::int64_t> max_{0};
    std::thread thread_;
};

} // namespace sse_test

#endif
