// Raw bytes into the server over a loopback socket. Whatever arrives, the
// server never crashes or hangs, frees every connection, and what it sends is
// a sequence of well-formed HTTP/1.1 responses: each framed by its
// Content-Length (none for HEAD, 1xx, 204, 304), each saying keep-alive or
// close, nothing after a close, and an event stream only last. Every complete
// request gets exactly one response, up to a documented close (a response
// that says Connection: close ends the connection) or a stream; a request
// llhttp rejects gets an error response that closes. The requests are told
// by llhttp run over the same bytes (the server's parser, but not its logic).
#include "loopback.hpp"

#include <sse/parser.hpp>
#include <sse/server.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <llhttp.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace {

struct fixture {
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
    sse::server server;
    std::thread runner;

    static sse::server_options options() {
        sse::server_options o;
        o.max_head_bytes = 2048;
        o.max_body_bytes = 4096;
        o.head_timeout = std::chrono::milliseconds(300);
        o.keep_alive_timeout = std::chrono::milliseconds(300);
        o.session.heartbeat = std::chrono::milliseconds(0);
        return o;
    }

    fixture() : server(ioc, sse::joe(), options()) {
        server.on_request([](const sse::request& r) -> sse::request_decision {
            if (r.path() == "/events") return sse::stream_accept{r.query_values("topic")};
            return sse::response(r.path() == "/" ? 200 : 404, r.body);
        });
        server.listen({asio::ip::make_address("127.0.0.1"), 0});
        runner = std::thread([this] { ioc.run(); });
    }
};

fixture& f() {
    static fixture* x = new fixture(); // lives for the whole run
    return *x;
}

// The requests in the input, as llhttp sees them.
struct request_info {
    bool head = false;       // a HEAD request: its response has no body
    bool plain = false;      // origin-form target other than /events, keep-alive, no upgrade: a plain response, then more
    bool answerable = false; // not an upgrade or CONNECT: it gets a response, a stream or a close at least
};
struct requests {
    std::vector<request_info> complete;
    bool error = false; // llhttp rejected the bytes after the complete ones
    bool stopped = false; // an upgrade or CONNECT: llhttp stopped there
};

struct scan_state {
    std::string url;
    requests* out;
};

requests scan(std::string_view input) {
    requests r;
    scan_state st{{}, &r};
    llhttp_settings_t settings;
    llhttp_settings_init(&settings);
    settings.on_message_begin = [](llhttp_t* p) {
        static_cast<scan_state*>(p->data)->url.clear();
        return 0;
    };
    settings.on_url = [](llhttp_t* p, const char* at, std::size_t n) {
        static_cast<scan_state*>(p->data)->url.append(at, n);
        return 0;
    };
    settings.on_message_complete = [](llhttp_t* p) {
        auto& s = *static_cast<scan_state*>(p->data);
        request_info i;
        i.head = llhttp_get_method(p) == HTTP_HEAD;
        const std::string_view path = std::string_view(s.url).substr(0, s.url.find('?'));
        i.plain = !s.url.empty() && s.url[0] == '/' && path != "/events" && llhttp_should_keep_alive(p) &&
                  !llhttp_get_upgrade(p) && llhttp_get_method(p) != HTTP_CONNECT;
        i.answerable = !llhttp_get_upgrade(p) && llhttp_get_method(p) != HTTP_CONNECT;
        s.out->complete.push_back(i);
        return 0;
    };
    llhttp_t parser;
    llhttp_init(&parser, HTTP_REQUEST, &settings);
    parser.data = &st;
    const llhttp_errno_t e = llhttp_execute(&parser, input.data(), input.size());
    if (e == HPE_PAUSED_UPGRADE) r.stopped = true;
    else if (e != HPE_OK) r.error = true;
    return r;
}

// The value of a header in a response head (its lines after the status line), or npos-empty.
bool header(std::string_view head, std::string_view name, std::string_view& value) {
    std::size_t at = head.find("\r\n");
    while (at != std::string_view::npos && at + 2 < head.size()) {
        const std::size_t end = head.find("\r\n", at + 2);
        const std::string_view line = head.substr(at + 2, (end == std::string_view::npos ? head.size() : end) - at - 2);
        if (line.size() > name.size() && line.substr(0, name.size()) == name && line[name.size()] == ':') {
            value = line.substr(name.size() + 1);
            while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            return true;
        }
        at = end;
    }
    return false;
}

bool digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

// Checks the server's output against the requests; aborts on a violation.
void check(std::string_view out, std::string_view input, const requests& req) {
    std::size_t responses = 0; // final ones (1xx are interim)
    bool closed = false;       // the last response said Connection: close, or was a stream
    while (!out.empty()) {
        if (closed) std::abort(); // bytes after a close or after a stream's body
        // Status line: "HTTP/1.1 ddd reason\r\n", then header lines "name: value", then a blank line.
        const std::size_t head_end = out.find("\r\n\r\n");
        if (head_end == std::string_view::npos) std::abort();
        const std::string_view head = out.substr(0, head_end);
        if (head.substr(0, 9) != "HTTP/1.1 " || head.size() < 13 || !digits(head.substr(9, 3)) || head[12] != ' ')
            std::abort();
        for (std::size_t at = head.find("\r\n"); at != std::string_view::npos;) {
            const std::size_t end = head.find("\r\n", at + 2);
            const std::string_view line = head.substr(at + 2, (end == std::string_view::npos ? head.size() : end) - at - 2);
            const std::size_t colon = line.find(':');
            if (colon == 0 || colon == std::string_view::npos) std::abort();
            at = end;
        }
        const int status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
        out.remove_prefix(head_end + 4);
        if (status < 200) continue; // interim: no body, another response follows
        const std::size_t index = responses++;
        std::string_view v;
        if (status == 200 && header(head, "Content-Type", v) && v.substr(0, 17) == "text/event-stream") {
            // A stream: the rest is its body, a valid event stream; nothing is published.
            if (header(head, "Content-Length", v)) std::abort();
            sse::parser p;
            std::error_code ec;
            int events = 0;
            p.feed(out, [&](const sse::event_view&) { ++events; }, ec);
            if (ec || events != 0) std::abort();
            out = {};
            closed = true;
            break;
        }
        std::string_view connection;
        if (!header(head, "Connection", connection) || (connection != "keep-alive" && connection != "close"))
            std::abort();
        closed = connection == "close";
        const bool bodiless = status == 204 || status == 304 ||
                              (index < req.complete.size() && req.complete[index].head);
        std::string_view length;
        const bool has_length = header(head, "Content-Length", length);
        if (status != 204 && status != 304 && (!has_length || !digits(length) || length.size() > 7)) std::abort();
        if (!bodiless) {
            const std::size_t n = std::stoul(std::string(length));
            if (out.size() < n) std::abort(); // a body cut short
            out.remove_prefix(n);
        }
    }
    // More responses than requests (and one error) is a response to nothing.
    if (responses > req.complete.size() + 1) std::abort();
    // Every complete plain request before the first that is not (a stream, a close, an upgrade)
    // gets its response, unless a response closed the connection first. (Only when no request
    // head can reach max_head_bytes, 2048: then the server answers 431 where llhttp saw no error.)
    if (input.size() > 1900 || closed) return;
    std::size_t plain = 0;
    while (plain < req.complete.size() && req.complete[plain].plain) ++plain;
    if (responses < plain) std::abort();
    // The first request that is not plain is answered too (a stream or a close returned above).
    if (plain < req.complete.size() && req.complete[plain].answerable && responses < plain + 1) std::abort();
    if (plain == req.complete.size() && !req.stopped) {
        // A rejected request gets an error response (which closes: checked above, as closed
        // would be true); bytes that end inside a request get none.
        if (req.error) std::abort(); // ... so reaching here with an error means it got none
        if (responses != plain) std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    fixture& fx = f();
    const std::string_view input(reinterpret_cast<const char*>(bytes), size);
    const int fd = fuzz::connect_to(fx.server.local_endpoint().port());
    fuzz::write_all(fd, input);
    ::shutdown(fd, SHUT_WR);
    // A stream stays open (nothing is published): read what comes, bounded.
    const std::string out = fuzz::read_all(fd, 1 << 20);
    ::close(fd);
    check(out, input, scan(input));
    // Every connection is freed soon after the client is gone.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (fx.server.stats().connections > 0) {
        if (std::chrono::steady_clock::now() > deadline) std::abort();
        std::this_thread::yield();
    }
    return 0;
}
