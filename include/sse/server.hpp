// basic_server<Provider>: an HTTP/1.1 listener (requests parsed by llhttp)
// that turns requests into event streams on a provider, or answers them
// with plain responses, with limits on everything a client controls.
#ifndef SSE_SERVER_HPP
#define SSE_SERVER_HPP

#include <sse/detail/http_parser.hpp>
#include <sse/detail/publish.hpp>
#include <sse/error.hpp>
#include <sse/field.hpp>
#include <sse/http.hpp>
#include <sse/joe.hpp>
#include <sse/log.hpp>
#include <sse/message.hpp>
#include <sse/provider.hpp>
#include <sse/session.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/dispatch.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace sse {

/// Accept a request as an event stream on `topics` (default: the default
/// topic), with extra response headers, starting where `last_event_id` says.
struct stream_accept {
    std::vector<std::string> topics{std::string(default_topic)}; ///< the topics to stream (none: the default topic)
    std::vector<header> headers{}; ///< added to the stream's response head
    /// Where the stream starts, instead of the client's Last-Event-ID: the
    /// provider replays what came after this id (an unset id: nothing, the
    /// stream starts live). Unset optional (the default): the request's
    /// Last-Event-ID decides. E.g. `?since=` for a page opened mid-answer,
    /// whose EventSource sends no Last-Event-ID on its first connection.
    std::optional<event_id> last_event_id{};
    /// If set, called once the stream is subscribed (a replay is already
    /// queued, the head is on its way), on the connection's executor, with
    /// the stream itself: send() it frames no other subscriber gets (a
    /// greeting, a reply to this request), close() it to end it gracefully
    /// (a client's EventSource then reconnects with its Last-Event-ID).
    /// Keep it as a std::weak_ptr: a stored shared_ptr keeps the session's
    /// memory alive after its connection is gone.
    std::function<void(const std::shared_ptr<sink>&)> on_open{};
};

/// What the request hook decides: stream, or answer with a plain response.
using request_decision = std::variant<stream_accept, response>;

/// The request hook (go-sse's OnSession). Runs on the connection's strand
/// (or the server's executor with server_options::one_thread); must not block.
using request_hook = std::function<request_decision(const request&)>;

/// Limits and defaults of a server. Every limit answers precisely.
struct server_options {
    std::size_t max_head_bytes = 16 * 1024;                  ///< larger request heads: 431
    std::chrono::milliseconds head_timeout{10000};           ///< head not complete in time: closed (slowloris)
    std::size_t max_body_bytes = 1024 * 1024;                ///< larger request bodies: 413
    std::size_t max_connections = 50000;                     ///< beyond: 503
    std::chrono::milliseconds keep_alive_timeout{5000};      ///< idle non-stream connection: closed
    session_options session{};                               ///< for every stream
    logger log{}; ///< where the server and its sessions log; empty: nowhere
    /// Set when one thread runs the io_context (as `asio::io_context ioc{1}`
    /// promises): each connection then runs on the server's executor itself
    /// instead of a strand of its own, which with many streams saves a
    /// quarter or more of the CPU per event. With several threads it must
    /// stay false (a connection's handlers would race).
    bool one_thread = false;
};

/// Counters of a server (a snapshot).
struct server_stats {
    std::int64_t connections = 0;       ///< open connections, streams included
    std::int64_t sessions = 0;          ///< open event streams
    std::int64_t queued_bytes = 0;      ///< bytes queued in all sessions
    std::uint64_t accepted = 0;         ///< connections accepted
    std::uint64_t frames_written = 0; ///< frames written to streams, heartbeats included
    std::uint64_t writes = 0;           ///< write calls on streams (frames_written / writes: the batching)
    std::uint64_t bytes_written = 0; ///< bytes written to streams, heads included
    std::uint64_t overflows = 0;        ///< sessions closed by the overflow policy
    std::uint64_t dropped_frames = 0;   ///< frames dropped by overflow_policy::drop_oldest
    std::uint64_t heartbeats = 0;       ///< heartbeat comments sent
    std::uint64_t rejected_head_too_large = 0; ///< requests answered 431
    std::uint64_t rejected_bad_request = 0; ///< requests answered 400 (or 413)
    std::uint64_t rejected_too_many = 0; ///< connections answered 503 at max_connections
    std::uint64_t timed_out = 0;        ///< closed for a slow head or an idle keep-alive
};

/// How async_shutdown ends the streams.
struct shutdown_options {
    /// Sent to every open stream before it closes (e.g. an `event: close`).
    std::optional<message> final_message{};
    /// Streams still open after this are closed without waiting.
    std::chrono::milliseconds deadline{5000};
};

/// How a server makes its streams from accepted sockets, and opens them
/// (plain TCP here; ssl.hpp adds TLS). `context` is what the server needs for
/// that, given to its constructor.
template <class Stream>
struct server_stream_traits;

template <>
/// Plain TCP: the accepted socket is the stream, and it is open at once.
struct server_stream_traits<asio::ip::tcp::socket> {
    /// Nothing is needed to make a plain TCP stream.
    struct context {};
    /// The accepted socket itself.
    static asio::ip::tcp::socket make(asio::ip::tcp::socket s, const context&) { return s; }
    template <class Handler>
    /// Nothing to do before reading the request.
    static void async_open(asio::ip::tcp::socket&, Handler&& h) {
        h(std::error_code());
    }
};

namespace detail {

template <class Provider, class Stream>
struct server_state {
    using session_type = session<Stream>;
    using stream_context = typename server_stream_traits<Stream>::context;

    server_state(asio::any_io_executor e, Provider p, server_options o, stream_context c)
        : ex(std::move(e)), acceptor(asio::make_strand(ex)), provider(std::move(p)), options(std::move(o)),
          counters(std::make_shared<session_counters>()), stream_ctx(std::move(c)) {
        options.session.counters = counters;
        if (!options.session.log) options.session.log = options.log;
    }

    asio::any_io_executor ex;
    asio::ip::tcp::acceptor acceptor;
    Provider provider;
    server_options options;
    request_hook hook;
    std::shared_ptr<session_counters> counters;
    stream_context stream_ctx;

    std::atomic<std::int64_t> connections{0};
    std::atomic<std::uint64_t> accepted{0}, head_too_large{0}, bad_request{0}, too_many{0}, timed_out{0};
    std::atomic<bool> stopping{false};

    // Every open connection and session, to end them at shutdown.
    std::mutex mutex;
    std::uint64_t next_id = 1;
    std::unordered_map<std::uint64_t, std::function<void()>> closers; // graceful close of each
    std::unordered_map<std::uint64_t, std::weak_ptr<session_type>> sessions;
    std::function<void()> on_idle; // shutdown waits for the last connection

    void log(log_level level, const std::string& text) noexcept { detail::log_to(options.log, level, text); }

    std::uint64_t track(std::function<void()> closer) {
        std::lock_guard lock(mutex);
        const std::uint64_t id = next_id++;
        closers.emplace(id, std::move(closer));
        return id;
    }

    // A connection (or its session) ended.
    void untrack(std::uint64_t id) {
        std::function<void()> idle;
        {
            std::lock_guard lock(mutex);
            closers.erase(id);
            sessions.erase(id);
            if (closers.empty() && on_idle) idle = std::move(on_idle);
        }
        connections.fetch_sub(1, std::memory_order_relaxed);
        if (idle) idle();
    }
};

// How soon a client is asked to come back when the provider is unavailable.
inline constexpr int unavailable_retry_ms = 1000;

// One accepted connection until it becomes a stream or closes: reads
// requests under the head limits, and answers plain responses.
template <class Provider, class Stream>
class connection : public std::enable_shared_from_this<connection<Provider, Stream>> {
public:
    using state_type = server_state<Provider, Stream>;

    connection(std::shared_ptr<state_type> st, asio::ip::tcp::socket s)
        : st_(std::move(st)), socket_(server_stream_traits<Stream>::make(std::move(s), st_->stream_ctx)),
          timer_(socket_.get_executor()),
          parser_(std::make_unique<http_parser>(http_parser::kind::request, st_->options.max_head_bytes,
                                                st_->options.max_body_bytes)) {}

    void start(std::uint64_t id) {
        id_ = id;
        buf_.resize(4096);
        arm_timer(st_->options.head_timeout); // covers the TLS handshake too
        server_stream_traits<Stream>::async_open(socket_, [self = this->shared_from_this()](std::error_code ec) {
            if (ec) return self->end();
            self->read();
        });
    }

    // Graceful: a connection between requests or waiting for one just closes.
    void close() {
        asio::post(socket_.get_executor(), [self = this->shared_from_this()] { self->end(); });
    }

private:
    void arm_timer(std::chrono::milliseconds d) {
        timer_.expires_after(d);
        timer_.async_wait([weak = this->weak_from_this()](std::error_code ec) {
            if (ec) return;
            if (const auto self = weak.lock()) {
                self->st_->timed_out.fetch_add(1, std::memory_order_relaxed);
                self->end();
            }
        });
    }

    void read() {
        if (buffered_ == buf_.size()) buf_.resize(buf_.size() * 2); // the head limit bounds this
        socket_.async_read_some(asio::buffer(buf_.data() + buffered_, buf_.size() - buffered_),
                                [self = this->shared_from_this()](std::error_code ec, std::size_t n) {
                                    if (ec) return self->end();
                                    self->buffered_ += n;
                                    self->parse();
                                });
    }

    void parse() {
        std::size_t used = 0;
        const auto r = parser_->feed(buf_.data(), buffered_, used);
        std::memmove(buf_.data(), buf_.data() + used, buffered_ - used);
        buffered_ -= used;
        switch (r) {
        case http_parser::result::need_more:
        case http_parser::result::head: return read();
        case http_parser::result::complete: timer_.cancel(); return handle();
        case http_parser::result::failed: return reject();
        }
    }

    void reject() {
        unsigned status = 400;
        std::string why = "bad request: " + parser_->reason() + "\n";
        if (parser_->error() == error::head_too_large) {
            status = 431;
            why = "request head larger than " + std::to_string(st_->options.max_head_bytes) + " bytes\n";
            st_->head_too_large.fetch_add(1, std::memory_order_relaxed);
        } else if (parser_->body_too_large()) {
            status = 413;
            why = "request body larger than " + std::to_string(st_->options.max_body_bytes) + " bytes\n";
            st_->bad_request.fetch_add(1, std::memory_order_relaxed);
        } else {
            st_->bad_request.fetch_add(1, std::memory_order_relaxed);
        }
        st_->log(log_level::info, "sse: rejected request: " + std::to_string(status) + " " + why.substr(0, why.size() - 1));
        respond(response(status, std::move(why)), false);
    }

    void handle() {
        const request& req = parser_->req();
        request_decision d{std::in_place_type<stream_accept>};
        if (st_->hook) {
            try {
                d = st_->hook(req);
            } catch (const std::exception& e) {
                st_->log(log_level::error, std::string("sse: request hook threw: ") + e.what());
                d = response(500, "internal server error\n");
            } catch (...) {
                d = response(500, "internal server error\n");
            }
        }
        if (auto* accept = std::get_if<stream_accept>(&d)) return stream(req, std::move(*accept));
        respond(std::move(std::get<response>(d)), parser_->keep_alive() && !st_->stopping.load(), req.method == "HEAD");
    }

    void stream(const request& req, stream_accept accept) {
        if (accept.topics.empty()) accept.topics.emplace_back(default_topic);
        session_options opts = st_->options.session;
        for (header& h : accept.headers) opts.headers.push_back(std::move(h));
        timer_.cancel();
        auto s = std::make_shared<typename state_type::session_type>(std::move(socket_), std::move(opts));
        const std::uint64_t id = id_;
        std::weak_ptr<state_type> weak_state = st_;
        s->on_end([weak_state, id](std::error_code) {
            if (const auto st = weak_state.lock()) st->untrack(id);
        });
        {
            std::lock_guard lock(st_->mutex);
            st_->sessions.emplace(id, s);
            if (auto it = st_->closers.find(id); it != st_->closers.end())
                it->second = [weak = std::weak_ptr<typename state_type::session_type>(s)] {
                    if (const auto ss = weak.lock()) ss->close();
                };
        }
        std::error_code ec;
        event_id start = accept.last_event_id ? std::move(*accept.last_event_id) : last_event_id_of(req);
        s->start(st_->provider, std::move(start), std::move(accept.topics), ec);
        if (ec) {
            // Nothing was written: answer on the session's socket.
            st_->log(log_level::warning, "sse: subscribe failed: " + ec.message());
            socket_ = std::move(s->stream());
            {
                std::lock_guard lock(st_->mutex);
                st_->sessions.erase(id);
            }
            s->on_end(nullptr);
            if (ec == error::provider_unavailable) {
                // The history is out of reach for now (e.g. Redis is down): an event stream that
                // ends at once, with a retry hint, brings any client back with its Last-Event-ID
                // (an EventSource gives up for good on any status but 200).
                response r(200, "retry: " + std::to_string(unavailable_retry_ms) + "\n\n", "text/event-stream");
                r.headers.push_back({"Cache-Control", "no-cache"});
                respond(std::move(r), false);
                return;
            }
            respond(response(ec == error::provider_closed ? 503 : 500, ec.message() + "\n"), false);
            return;
        }
        handed_off_ = true; // the session now owns the connection and its count
        parser_.reset();
        buf_ = {};
        if (accept.on_open) {
            try {
                accept.on_open(s);
            } catch (const std::exception& e) {
                st_->log(log_level::error, std::string("sse: stream_accept::on_open threw: ") + e.what());
            } catch (...) {
                st_->log(log_level::error, "sse: stream_accept::on_open threw");
            }
        }
    }

    void respond(response r, bool keep_alive, bool head_only = false) {
        out_ = detail::serialize(r, keep_alive);
        if (head_only) out_.resize(out_.size() - std::min(r.body.size(), out_.size())); // HEAD: no body
        asio::async_write(socket_, asio::buffer(out_),
                          [self = this->shared_from_this(), keep_alive](std::error_code ec, std::size_t) {
                              self->out_ = std::string();
                              if (ec || !keep_alive) return self->end(true);
                              self->parser_->reset_message();
                              self->arm_timer(self->st_->options.keep_alive_timeout);
                              if (self->buffered_ > 0) return self->parse();
                              self->read();
                          });
    }

    // Closes (half-closing first after a response, so it is not lost to a reset).
    void end(bool graceful = false) {
        if (handed_off_ || ended_) return;
        ended_ = true;
        std::error_code ignored;
        timer_.cancel();
        if (graceful) socket_.lowest_layer().shutdown(asio::socket_base::shutdown_send, ignored);
        socket_.lowest_layer().close(ignored);
        st_->untrack(id_);
    }

    std::shared_ptr<state_type> st_;
    Stream socket_;
    asio::steady_timer timer_;
    std::unique_ptr<http_parser> parser_;
    std::vector<char> buf_;
    std::size_t buffered_ = 0;
    std::string out_;
    std::uint64_t id_ = 0;
    bool handed_off_ = false;
    bool ended_ = false;
};

} // namespace detail

/// An SSE server over a provider (go-sse's Server): listens, parses HTTP/1.1
/// requests, and by default streams every request on the default topic.
/// Run its executor's io_context on one or many threads.
///
///     asio::io_context ioc;
///     sse::server srv(ioc);
///     srv.listen({asio::ip::make_address("127.0.0.1"), 8080});
///     srv.publish(msg);
///     ioc.run();
template <provider Provider, class Stream = asio::ip::tcp::socket>
class basic_server : public detail::publishing<basic_server<Provider, Stream>> {
public:
    /// The provider, the stream type, and what the stream type needs (see server_stream_traits).
    using provider_type = Provider;
    using stream_type = Stream;
    using executor_type = asio::any_io_executor;
    using stream_context = typename server_stream_traits<Stream>::context;

    /// A server on `ex`, not yet listening; `context` is what its streams need (TLS: a context).
    explicit basic_server(executor_type ex, Provider p = Provider(), server_options options = {},
                          stream_context context = {})
        : st_(std::make_shared<detail::server_state<Provider, Stream>>(std::move(ex), std::move(p), std::move(options),
                                                                        std::move(context))) {}
    /// A server on `ioc`'s executor.
    explicit basic_server(asio::io_context& ioc, Provider p = Provider(), server_options options = {},
                          stream_context context = {})
        : basic_server(ioc.get_executor(), std::move(p), std::move(options), std::move(context)) {}

    basic_server(const basic_server&) = delete;
    basic_server& operator=(const basic_server&) = delete;

    /// Stops listening and ends every connection now (use async_shutdown for a graceful end).
    ~basic_server() {
        std::error_code ignored;
        st_->stopping = true;
        st_->acceptor.close(ignored);
        for (auto& close : take_closers()) close();
    }

    /// Decides per request: stream on topics, or answer (see request_decision).
    void on_request(request_hook hook) { st_->hook = std::move(hook); }

    /// Starts accepting on `endpoint` (port 0: any free port, see local_endpoint()).
    void listen(const asio::ip::tcp::endpoint& endpoint, std::error_code& ec) {
        auto& a = st_->acceptor;
        a.open(endpoint.protocol(), ec);
        if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) a.bind(endpoint, ec);
        if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            std::error_code ignored;
            a.close(ignored);
            return;
        }
        asio::post(a.get_executor(), [st = st_] { accept(st); });
    }

    /// Like listen(endpoint, ec), but throws std::system_error.
    void listen(const asio::ip::tcp::endpoint& endpoint) {
        std::error_code ec;
        listen(endpoint, ec);
        if (ec) detail::throw_error(ec, "sse::basic_server::listen");
    }

    /// Where it listens (e.g. the port chosen for port 0); empty before listen().
    asio::ip::tcp::endpoint local_endpoint() const {
        std::error_code ec;
        return st_->acceptor.local_endpoint(ec);
    }

    /// Publishes to `topics` (errors: the provider's, e.g. provider_closed
    /// once async_shutdown has begun).
    void publish(const message& m, topic_list topics, std::error_code& ec) { st_->provider.publish(m, topics, ec); }
    /// The other forms, as on joe: publish(m[, ec]) to the default topic,
    /// publish(m, "room"[, ec]), publish(m, {"a", "b"}[, ec]), publish(m, any
    /// range of strings[, ec]), publish(m, topics); the throwing ones throw
    /// std::system_error with the provider's error.
    using detail::publishing<basic_server>::publish;

    /// Publishes `ms` in order: with the provider's publish_batch when it has
    /// one (joe does: each stream then queues the batch at once and writes it
    /// in one go), else message by message, stopping at the first error.
    void publish_batch(std::span<const message> ms, topic_list topics, std::error_code& ec) {
        if constexpr (requires { st_->provider.publish_batch(ms, topics, ec); }) {
            st_->provider.publish_batch(ms, topics, ec);
        } else {
            ec.clear();
            for (const message& m : ms) {
                st_->provider.publish(m, topics, ec);
                if (ec) return;
            }
        }
    }
    void publish_batch(std::span<const message> ms, std::error_code& ec) { publish_batch(ms, default_topics(), ec); }
    void publish_batch(std::span<const message> ms, std::initializer_list<std::string_view> topics, std::error_code& ec) {
        publish_batch(ms, topic_list(topics.begin(), topics.size()), ec);
    }
    /// The throwing forms.
    void publish_batch(std::span<const message> ms, topic_list topics = default_topics()) {
        std::error_code ec;
        publish_batch(ms, topics, ec);
        if (ec) detail::throw_error(ec, "sse::basic_server::publish_batch");
    }
    void publish_batch(std::span<const message> ms, std::initializer_list<std::string_view> topics) {
        publish_batch(ms, topic_list(topics.begin(), topics.size()));
    }

    /// The provider (e.g. for its stats(), or to publish into it directly).
    Provider& provider() noexcept { return st_->provider; }
    /// The options it was made with.
    const server_options& options() const noexcept { return st_->options; }

    /// A snapshot of the counters (relaxed atomic reads: each is exact, not all at one instant).
    server_stats stats() const {
        server_stats s;
        const detail::server_state<Provider, Stream>& st = *st_;
        s.connections = st.connections.load(std::memory_order_relaxed);
        s.sessions = st.counters->sessions.load(std::memory_order_relaxed);
        s.queued_bytes = st.counters->queued_bytes.load(std::memory_order_relaxed);
        s.accepted = st.accepted.load(std::memory_order_relaxed);
        s.frames_written = st.counters->frames_written.load(std::memory_order_relaxed);
        s.bytes_written = st.counters->bytes_written.load(std::memory_order_relaxed);
        s.overflows = st.counters->overflows.load(std::memory_order_relaxed);
        s.dropped_frames = st.counters->dropped_frames.load(std::memory_order_relaxed);
        s.heartbeats = st.counters->heartbeats.load(std::memory_order_relaxed);
        s.writes = st.counters->writes.load(std::memory_order_relaxed);
        s.rejected_head_too_large = st.head_too_large.load(std::memory_order_relaxed);
        s.rejected_bad_request = st.bad_request.load(std::memory_order_relaxed);
        s.rejected_too_many = st.too_many.load(std::memory_order_relaxed);
        s.timed_out = st.timed_out.load(std::memory_order_relaxed);
        return s;
    }

    /// Ends gracefully: stops accepting, sends options.final_message to every
    /// open stream, closes every connection once its queue is written (or at
    /// the deadline), then shuts the provider down. Completes with no error,
    /// or sse::error::timeout if streams had to be cut at the deadline.
    template <class Token>
    auto async_shutdown(shutdown_options options, Token&& token) {
        return asio::async_initiate<Token, void(std::error_code)>(
            [st = st_, this](auto handler, shutdown_options opts) {
                this->begin_shutdown(std::move(handler), std::move(opts));
            },
            token, std::move(options));
    }

    template <class Token>
    /// async_shutdown with the default options: no final message, a 5 s deadline.
    auto async_shutdown(Token&& token) {
        return async_shutdown(shutdown_options{}, std::forward<Token>(token));
    }

private:
    friend class detail::publishing<basic_server>;
    static constexpr const char* publish_what = "sse::basic_server::publish";
    using state_type = detail::server_state<Provider, Stream>;

    static topic_list default_topics() noexcept {
        static constexpr std::string_view t = default_topic;
        return topic_list(&t, 1);
    }

    static void accept(std::shared_ptr<state_type> st) {
        const asio::any_io_executor conn_ex =
            st->options.one_thread ? st->ex : asio::any_io_executor(asio::make_strand(st->ex));
        st->acceptor.async_accept(conn_ex, [st](std::error_code ec, asio::ip::tcp::socket s) {
            if (ec == asio::error::operation_aborted || !st->acceptor.is_open() || st->stopping) return;
            if (ec) { // e.g. out of descriptors: log and keep accepting
                st->log(log_level::error, "sse: accept failed: " + ec.message());
                return retry_accept_later(st);
            }
            st->accepted.fetch_add(1, std::memory_order_relaxed);
            if (st->connections.load(std::memory_order_relaxed) >= static_cast<std::int64_t>(st->options.max_connections)) {
                st->too_many.fetch_add(1, std::memory_order_relaxed);
                reject_busy(std::move(s));
            } else {
                st->connections.fetch_add(1, std::memory_order_relaxed);
                auto c = std::make_shared<detail::connection<Provider, Stream>>(st, std::move(s));
                const std::uint64_t id = st->track([weak = std::weak_ptr<detail::connection<Provider, Stream>>(c)] {
                    if (const auto cc = weak.lock()) cc->close();
                });
                c->start(id);
            }
            accept(st);
        });
    }

    static void retry_accept_later(std::shared_ptr<state_type> st) {
        auto t = std::make_shared<asio::steady_timer>(st->acceptor.get_executor(), std::chrono::milliseconds(50));
        t->async_wait([st, t](std::error_code) { accept(st); });
    }

    static void reject_busy(asio::ip::tcp::socket s) {
        static const std::string busy = detail::serialize(response(503, "too many connections\n"), false);
        auto sock = std::make_shared<asio::ip::tcp::socket>(std::move(s));
        asio::async_write(*sock, asio::buffer(busy), [sock](std::error_code, std::size_t) {
            std::error_code ignored;
            sock->shutdown(asio::socket_base::shutdown_send, ignored);
            sock->close(ignored);
        });
    }

    std::vector<std::function<void()>> take_closers() {
        std::vector<std::function<void()>> out;
        std::lock_guard lock(st_->mutex);
        for (auto& [id, c] : st_->closers) out.push_back(c);
        return out;
    }

    template <class Handler>
    void begin_shutdown(Handler handler, shutdown_options opts) {
        auto st = st_;
        st->stopping = true;
        asio::post(st->acceptor.get_executor(), [st] {
            std::error_code e;
            st->acceptor.close(e);
        });

        // Completion: when the last connection ends, or at the deadline. The
        // timer is used on its strand only.
        struct waiter {
            waiter(const asio::any_io_executor& ex, std::chrono::milliseconds d) : timer(asio::make_strand(ex), d) {}
            asio::steady_timer timer;
            std::atomic<bool> idle{false};
        };
        // A little past the deadline: the sessions' own close timeouts cut them first.
        auto w = std::make_shared<waiter>(st->ex, opts.deadline + std::chrono::milliseconds(200));
        std::vector<std::shared_ptr<typename state_type::session_type>> live;
        {
            std::lock_guard lock(st->mutex);
            for (auto& [id, weak] : st->sessions)
                if (auto s = weak.lock()) live.push_back(std::move(s));
            if (st->closers.empty()) w->idle = true;
            else st->on_idle = [w] {
                w->idle = true;
                asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
            };
        }
        if (opts.final_message) {
            const frame last(*opts.final_message);
            for (auto& s : live) s->send(last);
        }
        for (auto& close : take_closers()) close();
        st->provider.shutdown();
        auto done = [w, st, handler = std::move(handler)](std::error_code) mutable {
            std::error_code result;
            if (!w->idle) {
                result = error::timeout; // cut what is left
                std::vector<std::shared_ptr<typename state_type::session_type>> rest;
                {
                    std::lock_guard lock(st->mutex);
                    for (auto& [id, weak] : st->sessions)
                        if (auto s = weak.lock()) rest.push_back(std::move(s));
                }
                for (auto& s : rest) s->abort();
            }
            auto ex = asio::get_associated_executor(handler, w->timer.get_executor());
            asio::dispatch(ex, [handler = std::move(handler), result]() mutable { handler(result); });
        };
        // On the timer's strand, after on_idle's cancel if that came first: a
        // cancel before the wait would not end it.
        asio::post(w->timer.get_executor(), [w, done = std::move(done)]() mutable {
            if (w->idle) return done(std::error_code());
            w->timer.async_wait(std::move(done));
        });
    }

    std::shared_ptr<state_type> st_;
};

/// The server on the default provider, Joe.
using server = basic_server<joe>;

} // namespace sse

#endif
