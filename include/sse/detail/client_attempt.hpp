// The machinery behind sse::connection: the state a running connection shares
// with its coroutine and handles, and one connection attempt in named steps
// (choose_proxy, open_tunnel, read_head, follow_redirect, stream_body, and
// run_attempt, which strings them together).
//
// Not for direct use: <sse/client.hpp> includes it after its public types
// (client, response_head, event_subscription), which it builds on, and before
// class connection, which runs it (the way Asio's and Beast's impl/ headers
// sit inside their public headers).
#ifndef SSE_DETAIL_CLIENT_ATTEMPT_HPP
#define SSE_DETAIL_CLIENT_ATTEMPT_HPP

#ifndef SSE_CLIENT_HPP
#error "include <sse/client.hpp>, not <sse/detail/client_attempt.hpp>"
#endif

namespace sse {

namespace detail {

// Everything a running connection shares with its coroutine and handles.
struct connection_state {
    explicit connection_state(asio::any_io_executor e, request r, client c)
        : ex(asio::make_strand(e)), req(std::move(r)), cfg(std::move(c)), retry_timer(ex), watchdog(ex),
          events(parser_options{cfg.max_event_size}) {
        events.on_comment([this](std::string_view text) { dispatch_comment(text); });
        if (cfg.proxy.empty() && cfg.proxy_from_environment) env = proxy_environment::read();
    }

    asio::any_io_executor ex;
    request req;
    client cfg;
    asio::steady_timer retry_timer;
    asio::steady_timer watchdog;
    sse::parser events;
    proxy_environment env; // read once, at construction
    std::unique_ptr<byte_stream> current;
    std::uint64_t watch_gen = 0;
    bool timed_out = false;
    std::chrono::steady_clock::time_point last_read;
    std::atomic<bool> cancelled{false};
    std::atomic<bool> running{false}; // a run is in progress: another async_run is refused
    std::exception_ptr callback_error;

    mutable std::mutex mutex; // subscriptions and the values read from other threads
    std::shared_ptr<const std::vector<std::shared_ptr<callback_entry>>> subs =
        std::make_shared<const std::vector<std::shared_ptr<callback_entry>>>();
    std::error_code last_error;
    unsigned last_status = 0;
    std::string last_id;

    void dispatch(const event_view& ev) {
        std::shared_ptr<const std::vector<std::shared_ptr<callback_entry>>> snapshot;
        {
            std::lock_guard lock(mutex);
            snapshot = subs;
        }
        for (const auto& e : *snapshot)
            if (!e->all && !e->comment && e->type == ev.type && e->active.load()) e->fn(ev);
        for (const auto& e : *snapshot)
            if (e->all && e->active.load()) e->fn(ev);
    }

    void dispatch_comment(std::string_view text) {
        std::shared_ptr<const std::vector<std::shared_ptr<callback_entry>>> snapshot;
        {
            std::lock_guard lock(mutex);
            snapshot = subs;
        }
        for (const auto& e : *snapshot)
            if (e->comment && e->active.load()) e->comment(text);
    }

    void remove(const std::shared_ptr<callback_entry>& e) {
        e->active = false;
        std::lock_guard lock(mutex);
        auto next = std::make_shared<std::vector<std::shared_ptr<callback_entry>>>(*subs);
        next->erase(std::remove(next->begin(), next->end(), e), next->end());
        subs = std::move(next);
    }

    void close_current() {
        if (current) {
            std::error_code ignored;
            current->socket().close(ignored);
        }
    }

    // Closes the attempt's socket when it stops making progress: at `deadline` (the connect
    // timeout), or once `idle` passes without a byte read (the idle timeout). Either may be off.
    using time_point = std::chrono::steady_clock::time_point;
    void arm_watchdog(std::optional<time_point> deadline, std::chrono::milliseconds idle) {
        const std::uint64_t gen = ++watch_gen;
        timed_out = false;
        if (!deadline && idle.count() <= 0) {
            watchdog.cancel();
            return;
        }
        watch(gen, deadline, idle);
    }
    void watch(std::uint64_t gen, std::optional<time_point> deadline, std::chrono::milliseconds idle) {
        time_point at = deadline ? *deadline : time_point::max();
        if (idle.count() > 0) at = std::min(at, last_read + idle);
        watchdog.expires_at(at);
        watchdog.async_wait([this, gen, deadline, idle, keep = weak_self](std::error_code ec) {
            const auto self = keep.lock();
            if (ec || !self || gen != watch_gen) return;
            const auto now = std::chrono::steady_clock::now();
            if ((deadline && now >= *deadline) || (idle.count() > 0 && now - last_read >= idle)) {
                timed_out = true;
                close_current();
                return;
            }
            watch(gen, deadline, idle); // something arrived meanwhile: wait for the rest
        });
    }
    void disarm_watchdog() {
        ++watch_gen;
        watchdog.cancel();
    }

    std::weak_ptr<connection_state> weak_self;
};

struct attempt_result {
    enum kind { retry, done, failed } what = retry;
    std::error_code ec{};
    std::optional<std::chrono::milliseconds> retry_after{};
    bool progress = false; // the stream delivered at least one event
};

inline bool is_redirect(unsigned s) noexcept { return s == 301 || s == 302 || s == 303 || s == 307 || s == 308; }

// The request; through a proxy (`absolute_form`), with the URL whole and the proxy's credentials.
inline std::string build_request(const std::string& method, const url& u, const std::vector<header>& headers,
                                 const std::string& body, bool absolute_form = false,
                                 const std::string& proxy_authorization = {}) {
    std::string out = method + " " + (absolute_form ? u.to_string() : u.target) + " HTTP/1.1\r\nHost: " +
                      u.authority() + "\r\n";
    if (!proxy_authorization.empty()) out += "Proxy-Authorization: " + proxy_authorization + "\r\n";
    bool accept = false, cache = false, agent = false;
    for (const header& h : headers) {
        if (iequals(h.name, "Host") || iequals(h.name, "Content-Length") || iequals(h.name, "Transfer-Encoding")) continue;
        accept |= iequals(h.name, "Accept");
        cache |= iequals(h.name, "Cache-Control");
        agent |= iequals(h.name, "User-Agent");
        out += h.name + ": " + h.value + "\r\n";
    }
    if (!accept) out += "Accept: text/event-stream\r\n";
    if (!cache) out += "Cache-Control: no-cache\r\n";
    if (!agent) out += "User-Agent: sse-cpp\r\n";
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")
        out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += "\r\n";
    out += body;
    return out;
}

// An attempt ended by an I/O error: the watchdog's timeout wins over the
// error it caused.
inline attempt_result io_failure(connection_state& s, std::error_code e) {
    s.disarm_watchdog();
    if (s.timed_out) e = error::timeout;
    return attempt_result{attempt_result::retry, e};
}

// Step 1: the proxy for `u`, if any (chosen per URL: a redirect may leave it or need it).
inline std::optional<url> choose_proxy(connection_state& s, const url& u, std::error_code& ec) {
    ec.clear();
    if (!s.cfg.proxy.empty()) return parse_proxy_url(s.cfg.proxy, ec);
    if (s.cfg.proxy_from_environment) return proxy_from(s.env, u, ec);
    return std::nullopt;
}

// Step 2, through a proxy to an https origin: a CONNECT tunnel, before TLS.
// Nothing if the tunnel is open, else how the attempt ends.
inline asio::awaitable<std::optional<attempt_result>> open_tunnel(connection_state& s, byte_stream& stream, const url& u,
                                                                  const std::string& proxy_auth, std::vector<char>& buf) {
    const std::string connect = connect_request(u, proxy_auth);
    auto [tw, tn] = co_await asio::async_write(stream.socket(), asio::buffer(connect), nothrow_awaitable);
    (void)tn;
    if (tw) co_return io_failure(s, tw);
    http_parser tp(http_parser::kind::response, s.cfg.max_head_bytes, 0);
    tp.pause_after_head = true;
    auto tr = http_parser::result::need_more;
    std::size_t got = 0, used = 0;
    while (tr == http_parser::result::need_more) {
        auto [rdec, n] = co_await stream.socket().async_read_some(asio::buffer(buf), nothrow_awaitable);
        if (rdec) co_return io_failure(s, rdec == asio::error::eof ? std::error_code(error::bad_response) : rdec);
        got = n;
        tr = tp.feed(buf.data(), got, used);
    }
    if (tr == http_parser::result::failed) co_return io_failure(s, tp.error());
    const unsigned status = tp.status_code();
    {
        std::lock_guard lock(s.mutex);
        s.last_status = status;
    }
    if (status / 100 != 2) {
        s.disarm_watchdog();
        if (status == 407 || status == 401) // (some proxies, tinyproxy, answer wrong credentials with 401)
            co_return attempt_result{attempt_result::failed, error::proxy_auth_required};
        // (a 5xx may pass: the proxy could not reach the origin now)
        co_return attempt_result{status >= 500 ? attempt_result::retry : attempt_result::failed, error::proxy_refused};
    }
    if (used != got) co_return io_failure(s, error::bad_response); // the tunnel spoke before TLS did
    co_return std::nullopt;
}

// Step 3's result: the response head parsed (the parser paused after it),
// with the bytes read so far in the buffer, or how the attempt ends.
struct head_result {
    std::unique_ptr<http_parser> parser;
    std::size_t have = 0; // bytes in the buffer
    std::size_t used = 0; // of which the head took
    std::optional<attempt_result> end{};
};

// Step 3: reads the response head.
inline asio::awaitable<head_result> read_head(connection_state& s, byte_stream& stream, std::vector<char>& buf,
                                              bool head_request) {
    head_result h;
    h.parser = std::make_unique<http_parser>(http_parser::kind::response, s.cfg.max_head_bytes, 0);
    h.parser->pause_after_head = true;
    if (head_request) h.parser->expect_no_body();
    auto r = http_parser::result::need_more;
    while (r == http_parser::result::need_more) {
        auto [rdec, n] = co_await stream.read_some(asio::buffer(buf));
        s.last_read = std::chrono::steady_clock::now();
        if (rdec) {
            h.end = io_failure(s, rdec == asio::error::eof ? std::error_code(error::bad_response) : rdec);
            co_return h;
        }
        h.have = n;
        r = h.parser->feed(buf.data(), h.have, h.used);
    }
    s.disarm_watchdog();
    if (r == http_parser::result::failed) h.end = attempt_result{attempt_result::retry, h.parser->error()};
    co_return h;
}

// Step 4, for a redirect: where to go next (`u`, `method`, `body` and
// `headers` updated), or how the attempt ends.
inline std::optional<attempt_result> follow_redirect(const connection_state& s, const response_head& head, int redirects,
                                                     url& u, std::string& method, std::string& body,
                                                     std::vector<header>& headers) {
    if (redirects >= s.cfg.max_redirects) return attempt_result{attempt_result::failed, error::too_many_redirects};
    std::error_code lec;
    url next = resolve_location(u, head.header_value("Location"), lec);
    if (lec) return attempt_result{attempt_result::failed, lec};
    if (head.status == 303 || ((head.status == 301 || head.status == 302) && method == "POST")) {
        method = "GET";
        body.clear();
    }
    if (next.host != u.host || next.port != u.port || next.tls != u.tls) // credentials stay home
        std::erase_if(headers, [](const header& h) { return iequals(h.name, "Authorization") || iequals(h.name, "Cookie"); });
    u = std::move(next);
    return std::nullopt;
}

// Step 5: the stream. Body bytes (de-chunked by llhttp) go to the event
// parser, which starts clean (an attempt that failed mid-line leaves nothing
// behind), until the body, the connection or the parser ends.
inline asio::awaitable<attempt_result> stream_body(connection_state& s, byte_stream& stream, http_parser& hp,
                                                   std::vector<char>& buf, std::size_t have, std::size_t used) {
    s.events.finish();
    attempt_result result;
    std::error_code parse_error;
    hp.on_body_data = [&](std::string_view bytes) {
        if (parse_error || s.callback_error) return;
        try {
            s.events.feed(bytes, [&](const event_view& ev) {
                result.progress = true;
                s.dispatch(ev);
            }, parse_error);
        } catch (...) {
            s.callback_error = std::current_exception(); // never through llhttp's C frames
        }
    };
    auto after_feed = [&]() -> std::optional<attempt_result> {
        if (s.callback_error) std::rethrow_exception(std::exchange(s.callback_error, nullptr));
        {
            std::lock_guard lock(s.mutex);
            s.last_id.assign(s.events.last_event_id());
        }
        if (parse_error) return attempt_result{attempt_result::failed, parse_error};
        return std::nullopt;
    };
    std::size_t offset = used;
    bool first = true; // feed once even without bytes: an empty body is complete at once
    s.last_read = std::chrono::steady_clock::now();
    s.arm_watchdog(std::nullopt, s.cfg.idle_timeout);
    while (true) {
        while (offset < have || std::exchange(first, false)) {
            const auto r = hp.feed(buf.data() + offset, have - offset, used);
            offset += used;
            if (auto stop = after_feed()) {
                s.disarm_watchdog();
                co_return *stop;
            }
            if (r == http_parser::result::failed) {
                s.disarm_watchdog();
                co_return attempt_result{attempt_result::retry, hp.error(), std::nullopt, result.progress};
            }
            if (r == http_parser::result::complete) { // the body's length was known and is done
                s.disarm_watchdog();
                s.events.finish();
                result.ec = error::stream_ended;
                co_return result;
            }
            if (used == 0) break;
        }
        auto [rdec, n] = co_await stream.read_some(asio::buffer(buf));
        s.last_read = std::chrono::steady_clock::now();
        if (rdec) {
            s.disarm_watchdog();
            s.events.finish();
            if (rdec == asio::error::eof && hp.finish() == http_parser::result::complete) {
                result.ec = error::stream_ended; // a clean end
                co_return result;
            }
            result.ec = s.timed_out ? std::error_code(error::timeout)
                                    : (rdec == asio::error::eof ? std::error_code(error::bad_response) : rdec);
            co_return result;
        }
        have = n;
        offset = 0;
    }
}

// One attempt: connect (through a proxy, following redirects), send the
// request, read and judge the head, then stream the body to its end.
inline asio::awaitable<attempt_result> run_attempt(std::shared_ptr<connection_state> st) {
    connection_state& s = *st;
    std::error_code ec;
    url u = parse_url(s.req.target, ec);
    if (ec) co_return attempt_result{attempt_result::failed, ec};
    std::string method = s.req.method;
    std::string body = s.req.body;

    std::vector<header> headers = s.req.headers;
    if (s.cfg.header_provider) s.cfg.header_provider(headers);
    if (s.events.has_last_event_id()) { // the stream's replaces the caller's once it sent one, even empty
        std::erase_if(headers, [](const header& h) { return iequals(h.name, "Last-Event-ID"); });
        const std::string_view id = s.events.last_event_id();
        if (!id.empty()) headers.push_back({"Last-Event-ID", std::string(id)});
    }

    std::vector<char> buf(16 * 1024);
    for (int redirects = 0;; ++redirects) {
        if (u.tls && !s.cfg.tls) co_return attempt_result{attempt_result::failed, error::invalid_url};
        s.current = u.tls ? s.cfg.tls->make(s.ex) : std::make_unique<tcp_stream>(s.ex);
        byte_stream& stream = *s.current;
        // The connect timeout bounds the whole way to the response head; the idle timeout, once
        // the request is sent, every wait for a byte (of the head too).
        std::optional<connection_state::time_point> deadline;
        if (s.cfg.connect_timeout.count() > 0) deadline = std::chrono::steady_clock::now() + s.cfg.connect_timeout;
        s.arm_watchdog(deadline, std::chrono::milliseconds(0));

        std::error_code pec;
        const std::optional<url> proxy = choose_proxy(s, u, pec);
        if (pec) {
            s.disarm_watchdog();
            co_return attempt_result{attempt_result::failed, pec};
        }
        const std::string proxy_auth = proxy ? proxy_authorization(*proxy) : std::string();
        const url& hop = proxy ? *proxy : u;

        asio::ip::tcp::resolver resolver(s.ex);
        auto [rec, endpoints] = co_await resolver.async_resolve(hop.host, hop.port, nothrow_awaitable);
        if (rec) co_return io_failure(s, rec);
        if (s.cancelled) co_return io_failure(s, asio::error::operation_aborted); // closing the socket doesn't stop a resolve
        auto [cec, ep] = co_await asio::async_connect(stream.socket(), endpoints, nothrow_awaitable);
        (void)ep;
        if (cec) co_return io_failure(s, cec);
        if (proxy && u.tls)
            if (auto end = co_await open_tunnel(s, stream, u, proxy_auth, buf)) co_return *end;
        if (auto hec = co_await stream.handshake(u.host)) {
            if (stream.permanent(hec)) {
                s.disarm_watchdog();
                co_return attempt_result{attempt_result::failed, hec};
            }
            co_return io_failure(s, hec);
        }
        const std::string out = build_request(method, u, headers, body, proxy && !u.tls, proxy && !u.tls ? proxy_auth : "");
        if (auto wec = co_await stream.write(asio::buffer(out))) co_return io_failure(s, wec);
        s.last_read = std::chrono::steady_clock::now();
        s.arm_watchdog(deadline, s.cfg.idle_timeout);

        head_result h = co_await read_head(s, stream, buf, method == "HEAD");
        if (h.end) co_return *h.end;
        response_head head{h.parser->status_code(), h.parser->response_headers()};
        {
            std::lock_guard lock(s.mutex);
            s.last_status = head.status;
        }
        if (proxy && !u.tls && head.status == 407)
            co_return attempt_result{attempt_result::failed, error::proxy_auth_required};
        if (is_redirect(head.status) && !head.header_value("Location").empty()) {
            if (auto end = follow_redirect(s, head, redirects, u, method, body, headers)) co_return *end;
            std::error_code ignored;
            stream.socket().close(ignored);
            continue;
        }
        if (head.status == 204) co_return attempt_result{attempt_result::done, {}};
        if (head.status == 429 || head.status == 503)
            co_return attempt_result{attempt_result::retry, error::bad_status,
                                     parse_retry_after(head.header_value("Retry-After"))};
        if (auto vec = s.cfg.validator ? s.cfg.validator(head) : default_validator(head))
            co_return attempt_result{attempt_result::failed, vec};
        co_return co_await stream_body(s, stream, *h.parser, buf, h.have, h.used);
    }
}

} // namespace detail

} // namespace sse

#endif
