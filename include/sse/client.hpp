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

} // namespace sse

// The connection's state and its attempts (built on the types above).
#include <sse/detail/client_attempt.hpp>

namespace sse {

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
