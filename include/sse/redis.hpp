// redis_provider: a provider on Redis, so that several server processes
// behind a load balancer share one event stream, with replay that survives a
// node's death. Publishing appends the message to Redis Streams (one per
// topic, for replay, and one log of everything that every node tails); each
// node fans what it reads out to its own subscribers through a joe, so the
// serialize-once and never-block rules hold per node. Opt-in: needs hiredis.
//
//     sse::redis_provider redis(ioc.get_executor(), {.host = "127.0.0.1", .port = 6379});
//     sse::basic_server<sse::redis_provider> server(ioc, std::move(redis));
//
// The parts: redis_options.hpp (configuration, redis:// URLs, stats),
// detail/redis_wire.hpp (how messages are laid out in Redis),
// detail/redis_link.hpp (hiredis on Asio), detail/redis_state.hpp (publish,
// relay and catch-up). POSIX only (see detail/redis_link.hpp).
#ifndef SSE_REDIS_HPP
#define SSE_REDIS_HPP

#include <sse/detail/publish.hpp>
#include <sse/detail/redis_state.hpp>
#include <sse/error.hpp>
#include <sse/message.hpp>
#include <sse/provider.hpp>
#include <sse/redis_options.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/post.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace sse {

/// A provider on Redis (see the top of this header). Thread-safe: publish,
/// subscribe and cancel from any thread; Redis is spoken to on a strand of
/// the given executor, whose io_context must run.
///
/// - publish: one round trip per message (pipelined when publishing fast);
///   ids are Redis Stream ids, so messages must not have one. Fails at once
///   with provider_unavailable while Redis is unreachable (never queued
///   silently); a publish whose answer never came is reported to
///   redis_options::on_publish_error and async_publish's handler.
/// - subscribe with a Last-Event-ID: replays from the topics' streams what
///   came after it (exactly, from any node), then goes live with no gap and
///   no duplicate; an id not in the history is a gap (redis_options::gap_event).
/// - When Redis comes back, each node relays what it missed from the log; if
///   the log no longer reaches back that far, its streams end so that their
///   clients resume from the topic streams.
class redis_provider : public detail::publishing<redis_provider> {
public:
    /// Unsubscribes when destroyed or cancelled.
    class subscription_handle {
    public:
        subscription_handle() noexcept = default;
        subscription_handle(subscription_handle&& o) noexcept
            : state_(std::move(o.state_)), data_{std::move(o.data_.live), std::exchange(o.data_.catch_up_id, 0)} {}
        subscription_handle& operator=(subscription_handle&& o) noexcept {
            if (this != &o) {
                cancel();
                state_ = std::move(o.state_);
                data_.live = std::move(o.data_.live);
                data_.catch_up_id = std::exchange(o.data_.catch_up_id, 0);
            }
            return *this;
        }
        ~subscription_handle() { cancel(); }

        /// Unsubscribes (no effect if already done).
        void cancel() noexcept {
            data_.live.cancel();
            if (data_.catch_up_id != 0) {
                if (const auto st = state_.lock()) st->cancel(data_.catch_up_id);
                data_.catch_up_id = 0;
            }
            state_.reset();
        }

        explicit operator bool() const noexcept { return bool(data_.live) || data_.catch_up_id != 0; }

    private:
        friend class redis_provider;
        subscription_handle(std::weak_ptr<detail::redis_state> s, detail::redis_state::handle_data d)
            : state_(std::move(s)), data_(std::move(d)) {}
        std::weak_ptr<detail::redis_state> state_;
        detail::redis_state::handle_data data_;
    };

    /// Starts connecting to Redis at once (see connected()).
    explicit redis_provider(asio::any_io_executor ex, redis_options options = {})
        : state_(std::make_shared<detail::redis_state>(std::move(ex), std::move(options))) {
        state_->start();
    }

    redis_provider(redis_provider&&) noexcept = default;
    redis_provider& operator=(redis_provider&& o) noexcept {
        if (this != &o) {
            shutdown();
            state_ = std::move(o.state_);
        }
        return *this;
    }
    ~redis_provider() { shutdown(); }

    /// Publishes `m` (without id) to `topics`. Errors: no_topic,
    /// id_already_set, provider_closed, provider_unavailable (Redis is
    /// unreachable, or max_pending_publishes are unanswered).
    void publish(const message& m, topic_list topics, std::error_code& ec) {
        if (!state_) {
            ec = error::provider_closed;
            return;
        }
        state_->publish(m, topics, nullptr, ec);
    }
    /// The other forms, as on joe: publish(m[, ec]) to the default topic,
    /// publish(m, "room"[, ec]), publish(m, {"a", "b"}[, ec]), publish(m, any
    /// range of strings[, ec]), publish(m, topics).
    using detail::publishing<redis_provider>::publish;

    /// Publishes and completes when Redis stored the message, with the id it
    /// got: `void(std::error_code, std::string id)`. Any completion token.
    template <class Token>
    auto async_publish(const message& m, topic_list topics, Token&& token) {
        return asio::async_initiate<Token, void(std::error_code, std::string)>(
            [this, &m, topics](auto handler) {
                auto h = std::make_shared<decltype(handler)>(std::move(handler));
                if (!state_) {
                    asio::post(asio::get_associated_executor(*h),
                               [h]() mutable { (*h)(make_error_code(error::provider_closed), std::string()); });
                    return;
                }
                auto ex = asio::get_associated_executor(*h, state_->strand_executor());
                auto complete = [h, ex](std::error_code ec, std::string_view id) {
                    asio::post(ex, [h, ec, id = std::string(id)]() mutable { (*h)(ec, std::move(id)); });
                };
                std::error_code ec;
                state_->publish(m, topics, complete, ec);
                if (ec) complete(ec, {});
            },
            token);
    }

    /// Subscribes; with a Last-Event-ID the history after it comes first.
    /// Errors: invalid_argument, no_topic, provider_closed, and
    /// provider_unavailable for a Last-Event-ID while Redis is unreachable.
    subscription_handle subscribe(subscription sub, std::error_code& ec) {
        if (!state_) {
            ec = error::provider_closed;
            return {};
        }
        return subscription_handle(state_, state_->subscribe(std::move(sub), ec));
    }
    subscription_handle subscribe(subscription sub) {
        std::error_code ec;
        subscription_handle h = subscribe(std::move(sub), ec);
        if (ec) detail::throw_error(ec, "sse::redis_provider::subscribe");
        return h;
    }

    /// Stops: later calls fail with provider_closed, live sinks are closed,
    /// the connections to Redis end.
    void shutdown(std::error_code& ec) {
        if (!state_) {
            ec = error::provider_closed;
            return;
        }
        state_->shutdown(ec);
    }
    void shutdown() {
        std::error_code ignored;
        shutdown(ignored);
    }

    /// Whether Redis is reachable and publishes are taken.
    bool connected() const noexcept { return state_ && state_->ready(); }

    redis_stats stats() const { return state_ ? state_->stats() : redis_stats{}; }

private:
    friend class detail::publishing<redis_provider>;
    static constexpr const char* publish_what = "sse::redis_provider::publish";

    std::shared_ptr<detail::redis_state> state_;
};

static_assert(provider<redis_provider>);

} // namespace sse

#endif
