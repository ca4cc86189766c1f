// The client's response handling: a loopback peer answers the client's
// request with fuzzed bytes (a raw response, a valid head with a fuzzed
// body, or a chunked body with fuzzed framing). The client must finish
// within a deadline, never crash, and — for a valid head with a fuzzed
// body, close-delimited or chunked — deliver exactly the reference parser's
// events.
#include "loopback.hpp"
#include "reference_parser.hpp"

#include <sse/client.hpp>

#include <asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

struct peer {
    int listener = -1;
    std::uint16_t port = 0;
    peer() {
        listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int one = 1;
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listener, 16) != 0) std::abort();
        socklen_t len = sizeof a;
        getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
};

peer& p() {
    static peer* x = new peer();
    return *x;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size < 1) return 0;
    const int mode = bytes[0] % 3;
    const std::string_view payload(reinterpret_cast<const char*>(bytes) + 1, size - 1);
    std::string response;
    if (mode == 0) {
        response.assign(payload);
    } else if (mode == 1) {
        response = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + std::string(payload);
    } else {
        response = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
        // Cut the payload into chunks; the sizes come from the payload's own bytes.
        std::size_t at = 0;
        while (at < payload.size()) {
            const std::size_t n = std::min<std::size_t>(payload.size() - at, 1 + static_cast<unsigned char>(payload[at]) % 17);
            char head[32];
            std::snprintf(head, sizeof head, "%zx\r\n", n);
            response += head;
            response.append(payload.substr(at, n));
            response += "\r\n";
            at += n;
        }
        response += "0\r\n\r\n";
    }

    peer& srv = p();
    std::thread server([&] {
        const int fd = fuzz::accept_one(srv.listener);
        if (fd < 0) return;
        fuzz::set_timeouts(fd, 3000);
        char buf[4096];
        std::string req;
        while (req.find("\r\n\r\n") == std::string::npos) { // the client's request head
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            req.append(buf, static_cast<std::size_t>(n));
        }
        fuzz::write_all(fd, response);
        ::close(fd);
    });

    asio::io_context ioc;
    sse::request req;
    req.target = "http://127.0.0.1:" + std::to_string(srv.port) + "/events";
    sse::client cfg;
    cfg.backoff.max_retries = -1; // one attempt
    cfg.connect_timeout = std::chrono::seconds(3);
    cfg.idle_timeout = std::chrono::seconds(3);
    sse::connection conn(ioc.get_executor(), req, cfg);
    std::vector<reference::event> got;
    conn.subscribe_to_all([&](const sse::event_view& ev) {
        got.push_back({std::string(ev.type), std::string(ev.data), std::string(ev.last_event_id)});
    });
    bool done = false;
    conn.async_run([&](std::error_code) { done = true; });
    ioc.run_for(std::chrono::seconds(10));
    server.join();
    if (!done) std::abort(); // the client hung
    // Close-delimited or chunked, the body is the payload: exactly the reference's events.
    if ((mode == 1 || mode == 2) && got != reference::parse(payload).events) std::abort();
    return 0;
}
