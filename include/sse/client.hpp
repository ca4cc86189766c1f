// The client: `client` holds the configuration, `connection` one event
// stream — any request (POST with a JSON body included), reconnection with
// backoff, Last-Event-ID, retry:, Retry-After, redirects, timeouts, and
// subscriptions by event type. HTTPS needs <sse/ssl.hpp>.
#ifndef SSE_CLIENT_HPP
#define SSE_CLIENT_HPP

#include <sse/backoff.hpp>
#include <sse/detail/http_parser.hpp>
#include <sse/detail/proxy.hpp>
#include <sse/detail/url.hpp>
#include <sse/error.hpp>
#include <sse/event.hpp>
#include <sse/http.hpp>
#include <sse/parser.hpp>

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/dispatch.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <asio/write.hpp>
#if __has_include(<asio/as_tuple.hpp>)
#include <asio/as_tuple.hpp>
#else
#include <asio/experimental/as_tuple.hpp>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

namespace sse {

/// The status and headers of a response, as the validator sees them.
struct response_head {
    unsigned status = 0; ///< the HTTP status
    std::vector<header> headers{}; ///< in the order received
    /// The first value of header `name`, or an empty view.
    std::string_view header_value(std::string_view name) const noexcept { return find_header(headers, name); }
};

/// Decides whether a response may be read as an event stream. An error is
/// permanent: the connection ends with it.
using response_validator = std::function<std::error_code(const response_head&)>;

/// The default validator: status 200 and a Content-Type of text/event-stream
/// (parameters and case ignored). Errors: bad_status, bad_content_type.
inline std::error_code default_validator(const response_head& r) {
    if (r.status != 200) return error::bad_status;
    std::string_view ct = r.header_value("Content-Type");
    ct = ct.substr(0, ct.find(';'));
    while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t')) ct.remove_suffix(1);
    while (!ct.empty() && (ct.front() == ' ' || ct.front() == '\t')) ct.remove_prefix(1);
    if (!detail::iequals(ct, "text/event-stream")) return error::bad_content_type;
    return {};
}

namespace detail {

#if __has_include(<asio/as_tuple.hpp>)
inline constexpr auto nothrow_awaitable = asio::as_tuple(asio::use_awaitable);
#else
inline constexpr auto nothrow_awaitable = asio::experimental::as_tuple(asio::use_awaitable);
#endif

/// The bytes of one connection attempt: TCP, or TLS over TCP (ssl.hpp).
class byte_stream {
public:
    virtual ~byte_stream() = default;
    virtual asio::ip::tcp::socket& socket() noexcept = 0;
    virtual asio::awaitable<std::error_code> handshake(const std::string& host) = 0;
    virtual asio::awaitable<std::tuple<std::error_code, std::size_t>> read_some(asio::mutable_buffer b) = 0;
    virtual asio::awaitable<std::error_code> write(asio::const_buffer b) = 0;
    /// Whether a handshake error can't be fixed by retrying (e.g. an untrusted certificate).
    virtual bool permanent(const std::error_code&) const noexcept { return false; }
};

class tcp_stream final : public byte_stream {
public:
    explicit tcp_stream(const asio::any_io_executor& ex) : socket_(ex) {}
    asio::ip::tcp::socket& socket() noexcept override { return socket_; }
    asio::awaitable<std::error_code> handshake(const std::string&) override { co_return std::error_code(); }
    asio::awaitable<std::tuple<std::error_code, std::size_t>> read_some(asio::mutable_buffer b) override {
        co_return co_await socket_.async_read_some(b, nothrow_awaitable);
    }
    asio::awaitable<std::error_code> write(asio::const_buffer b) override {
        auto [ec, n] = co_await asio::async_write(socket_, b, nothrow_awaitable);
        (void)n;
        co_return ec;
    }

private:
    asio::ip::tcp::socket socket_;
};

/// Makes TLS streams for https URLs; installed by sse::use_tls (ssl.hpp).
class tls_factory {
public:
    virtual ~tls_factory() = default;
    virtual std::unique_ptr<byte_stream> make(const asio::any_io_executor& ex) = 0;
};

struct callback_entry {
    std::string type; // for typed subscriptions
    bool all = false;
    std::function<void(const event_view&)> fn;
    std::function<void(std::string_view)> comment; // set: a comment subscription (fn is empty)
    std::atomic<bool> active{true};
};

} // namespace detail

/// Client configuration (go-sse's Client). Copy it freely; a connection
/// keeps its own copy.
struct client {
    /// Reconnection delays: 500 ms, x1.5 per failure, jitter 0.5, unlimited retries.
    sse::backoff backoff{};
    /// From the start of an attempt (DNS, TCP, TLS, a proxy's tunnel) to the
    /// response head, per redirect. 0: off.
    std::chrono::milliseconds connect_timeout{10000};
    /// The read timeout: no byte at all (not even a heartbeat) for this long
    /// once the request is sent, the wait for the response head included:
    /// reconnect. 0: off.
    std::chrono::milliseconds idle_timeout{0};
    /// The largest event accepted; larger ends the connection with sse::error::event_too_large.
    std::size_t max_event_size = parser::default_max_event_size;
    /// The largest response head accepted.
    std::size_t max_head_bytes = 64 * 1024;
    /// Redirects (301, 302, 303, 307, 308) followed per attempt.
    int max_redirects = 10;
    /// Called before each wait between attempts, with the cause and the delay.
    std::function<void(std::error_code, std::chrono::milliseconds)> on_retry{};
    /// Decides whether a response is an event stream; empty: default_validator.
    response_validator validator{};
    /// Called before every attempt with the request's headers, to refresh
    /// them (e.g. a bearer token).
    std::function<void(std::vector<header>&)> header_provider{};
    /// Set by sse::use_tls (ssl.hpp); without it https URLs fail with invalid_url.
    std::shared_ptr<detail::tls_factory> tls{};
    /// The HTTP proxy of every request: `http://[user:password@]host[:port]`
    /// (Basic credentials). `https` URLs go through a CONNECT tunnel, `http`
    /// ones as absolute-form requests. Empty: see proxy_from_environment.
    std::string proxy{};
    /// With `proxy` empty: HTTP_PROXY, HTTPS_PROXY and NO_PROXY (or their
    /// lower-case forms) choose the proxy, as in Go (never for localhost or
    /// loopback addresses). false: connect directly.
    bool proxy_from_environment = true;
};

class connection;

/// Returned by the subscribe functions: unsubscribe() stops the callback
/// (safe from any thread and from inside a callback). Destroying it does
/// not unsubscribe.
class event_subscription {
public:
    /// An empty subscription: unsubscribe() does nothing.
    event_subscription() = default;
    /// Stops the callback; idempotent, any thread, also from inside a callback.
    void unsubscribe() noexcept;

private:
    friend class connection;
    event_subscription(std::weak_ptr<void> owner, std::shared_ptr<detail::callback_entry> e)
        : owner_(std::move(owner)), entry_(std::move(e)) {}
    std::weak_ptr<void> owner_;
    std::shared_ptr<detail::callback_entry> entry_;
};

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

/// One event stream (go-sse's Connection): subscribe, then async_run.
///
///     sse::request req{.method = "POST", .target = "https://api.example/v1/chat", .body = json};
///     sse::connection conn(ioc.get_executor(), req);
///     conn.subscribe_messages([](const sse::event_view& ev) { print(ev.data); });
///     conn.async_run([](std::error_code ec) { ... });
class connection {
public:
    /// The connection's strand (of the executor it was given).
    using executor_type = asio::any_io_executor;

    /// A connection whose operations run on `ex` (on a strand of it).
    /// `req.target` is the absolute http:// or https:// URL.
    connection(executor_type ex, request req, client cfg) : state_(make_state(std::move(ex), std::move(req), std::move(cfg))) {}
    /// The same with the default configuration. (An overload, not a default
    /// argument: GCC 12 copies a default argument's temporary bitwise when the
    /// call is in a coroutine next to a co_await, which corrupts its strings.)
    connection(executor_type ex, request req) : connection(std::move(ex), std::move(req), client{}) {}

    /// A connection with its own io_context, for the blocking run().
    connection(request req, client cfg)
        : own_(std::make_unique<asio::io_context>()),
          state_(make_state(own_->get_executor(), std::move(req), std::move(cfg))) {}
    /// The same with the default configuration.
    explicit connection(request req) : connection(std::move(req), client{}) {}

    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    /// Cancels a run in progress.
    ~connection() { cancel(); }

    /// Events of type "message" (unnamed events are of that type).
    event_subscription subscribe_messages(std::function<void(const event_view&)> cb) {
        return add("message", false, std::move(cb));
    }
    /// Events of the given type.
    event_subscription subscribe_event(std::string type, std::function<void(const event_view&)> cb) {
        return add(std::move(type), false, std::move(cb));
    }
    /// Every event (called after the typed subscriptions of that event).
    event_subscription subscribe_to_all(std::function<void(const event_view&)> cb) { return add({}, true, std::move(cb)); }
    /// Every comment line (`: text`), with its text: one leading space
    /// removed. Heartbeats are comments; in stream order with the events.
    event_subscription subscribe_comments(std::function<void(std::string_view)> cb) {
        auto e = std::make_shared<detail::callback_entry>();
        e->comment = std::move(cb);
        return add(std::move(e));
    }

    /// Runs until the stream ends for good. Completes with: no error (a
    /// clean end with retries off, or 204 No Content); operation_aborted
    /// (cancel(), also right after async_run or from a callback, or
    /// per-operation cancellation of type terminal or partial); retries_exhausted (see
    /// last_error() for the cause); or a permanent failure (the validator's
    /// error, event_too_large, too_many_redirects, invalid_url).
    ///
    /// Restart: once a run has completed (after cancel() too), async_run
    /// starts it again with the same subscriptions, last event id and
    /// `retry:` (the backoff starts over). While a run is in progress, another
    /// async_run completes at once with asio::error::already_started and the
    /// running one goes on.
    template <class Token>
    auto async_run(Token&& token) {
        return asio::async_initiate<Token, void(std::error_code)>(
            [st = state_](auto handler) {
                if (st->running.exchange(true)) { // one run at a time: this one is refused, that one goes on
                    auto ex = asio::get_associated_executor(handler, st->ex);
                    asio::post(ex, [handler = std::move(handler)]() mutable {
                        handler(std::error_code(asio::error::already_started));
                    });
                    return;
                }
                st->cancelled = false; // a new run: a cancel() from now on ends it
                // Per-operation cancellation (terminal or partial) ends the run as cancel() does,
                // whenever it comes, also between two waits of the coroutine.
                auto slot = asio::get_associated_cancellation_slot(handler);
                if (slot.is_connected())
                    slot.assign([st](asio::cancellation_type t) {
                        if ((t & (asio::cancellation_type::terminal | asio::cancellation_type::partial)) !=
                            asio::cancellation_type::none)
                            request_cancel(st);
                    });
                auto ex = asio::get_associated_executor(handler, st->ex);
                asio::co_spawn(st->ex, run_loop(st),
                               [handler = std::move(handler), ex, slot, st](std::exception_ptr e, std::error_code ec) mutable {
                                   if (slot.is_connected()) slot.clear();
                                   st->running = false; // (before the handler: it may run again)
                                   if (e) std::rethrow_exception(e); // a callback threw: out of io_context::run()
                                   asio::dispatch(ex, [handler = std::move(handler), ec]() mutable { handler(ec); });
                               });
            },
            token);
    }

    /// Runs to the end, blocking. With an own io_context it runs it here;
    /// otherwise someone must be running the executor's io_context.
    void run(std::error_code& ec) {
        if (own_) {
            std::error_code result;
            async_run([&](std::error_code e) { result = e; });
            own_->restart();
            own_->run();
            ec = result;
        } else {
            try {
                async_run(asio::use_future).get();
                ec.clear();
            } catch (const std::system_error& e) {
                ec = e.code();
            }
        }
    }
    /// Like run(ec), but throws std::system_error.
    void run() {
        std::error_code ec;
        run(ec);
        if (ec) detail::throw_error(ec, "sse::connection::run");
    }

    /// Stops the connection (any thread): the run completes with operation_aborted.
    void cancel() { request_cancel(state_); }

    /// The stream's last event id so far.
    std::string last_event_id() const {
        std::lock_guard lock(state_->mutex);
        return state_->last_id;
    }
    /// The cause of the last failed attempt.
    std::error_code last_error() const {
        std::lock_guard lock(state_->mutex);
        return state_->last_error;
    }
    /// The status of the last response.
    unsigned last_status() const {
        std::lock_guard lock(state_->mutex);
        return state_->last_status;
    }

    /// The strand the connection's operations and callbacks run on.
    executor_type get_executor() const noexcept { return state_->ex; }

private:
    static std::shared_ptr<detail::connection_state> make_state(executor_type ex, request req, client cfg) {
        auto st = std::make_shared<detail::connection_state>(std::move(ex), std::move(req), std::move(cfg));
        st->weak_self = st;
        return st;
    }

    static void request_cancel(const std::shared_ptr<detail::connection_state>& st) {
        st->cancelled = true;
        asio::post(st->ex, [st] {
            st->retry_timer.cancel();
            st->disarm_watchdog();
            st->close_current();
        });
    }

    event_subscription add(std::string type, bool all, std::function<void(const event_view&)> cb) {
        auto e = std::make_shared<detail::callback_entry>();
        e->type = std::move(type);
        e->all = all;
        e->fn = std::move(cb);
        return add(std::move(e));
    }
    event_subscription add(std::shared_ptr<detail::callback_entry> e) {
        {
            std::lock_guard lock(state_->mutex);
            auto next = std::make_shared<std::vector<std::shared_ptr<detail::callback_entry>>>(*state_->subs);
            next->push_back(e);
            state_->subs = std::move(next);
        }
        return event_subscription(std::weak_ptr<void>(state_), std::move(e));
    }

    static asio::awaitable<std::error_code> run_loop(std::shared_ptr<detail::connection_state> st) {
        auto cancelled = [&] { return st->cancelled.load(); };
        detail::backoff_state bo(st->cfg.backoff);
        std::optional<std::chrono::milliseconds> server_retry;
        while (true) {
            if (cancelled()) co_return asio::error::operation_aborted;
            detail::attempt_result r = co_await detail::run_attempt(st);
            {
                std::lock_guard lock(st->mutex);
                // (an attempt ended by a cancellation did not fail: the cause before it stays)
                if (r.ec && r.ec != error::stream_ended && !cancelled()) st->last_error = r.ec;
            }
            st->current.reset();
            if (cancelled()) co_return asio::error::operation_aborted;
            if (r.what == detail::attempt_result::done) co_return std::error_code();
            if (r.what == detail::attempt_result::failed) co_return r.ec;
            if (const auto rt = st->events.reconnection_time(); rt && rt != server_retry) {
                server_retry = rt;
                bo.set_base(*rt);
            }
            if (r.progress) bo.reset();
            std::optional<std::chrono::milliseconds> delay = bo.next();
            if (!delay) {
                if (st->cfg.backoff.max_retries < 0)
                    co_return r.ec == error::stream_ended ? std::error_code() : r.ec; // retries off
                co_return error::retries_exhausted;
            }
            if (r.retry_after) delay = std::max(*delay, *r.retry_after);
            if (st->cfg.on_retry) st->cfg.on_retry(r.ec, *delay);
            if (cancelled()) co_return asio::error::operation_aborted; // e.g. by on_retry
            st->retry_timer.expires_after(*delay);
            co_await st->retry_timer.async_wait(detail::nothrow_awaitable);
        }
    }

    std::unique_ptr<asio::io_context> own_;
    std::shared_ptr<detail::connection_state> state_;
};

/// Runs `c` as `c->async_run(token)` does, and owns it until the run
/// completes: start one (e.g. from a request hook) and let go of it; keep a
/// copy of `c` only to cancel it. (A connection destroyed while it runs
/// cancels the run, so a local connection would end with operation_aborted.)
///
///     auto conn = std::make_shared<sse::connection>(ioc.get_executor(), req);
///     conn->subscribe_messages(...);
///     sse::async_run(conn, [](std::error_code ec) { ... });
template <class Token>
auto async_run(std::shared_ptr<connection> c, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code)>(
        [](auto handler, std::shared_ptr<connection> c) {
            connection& conn = *c;
            // The wrapper keeps c and passes the handler's executor and cancellation slot on.
            auto ex = asio::get_associated_executor(handler, conn.get_executor());
            auto slot = asio::get_associated_cancellation_slot(handler);
            conn.async_run(asio::bind_cancellation_slot(
                slot, asio::bind_executor(ex, [c = std::move(c), handler = std::move(handler)](std::error_code ec) mutable {
                    std::move(handler)(ec);
                })));
        },
        token, std::move(c));
}

inline void event_subscription::unsubscribe() noexcept {
    if (!entry_) return;
    entry_->active = false;
    if (auto owner = owner_.lock()) {
        try {
            std::static_pointer_cast<detail::connection_state>(owner)->remove(entry_);
        } catch (...) {
        }
    }
    entry_.reset();
}

} // namespace sse

#endif
