// connection_group: client connections that run on their own (each kept
// alive until its run completes) and are stopped together, e.g. the upstream
// streams a server relays, when it shuts down.
#ifndef SSE_CONNECTION_GROUP_HPP
#define SSE_CONNECTION_GROUP_HPP

#include <sse/client.hpp>

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/dispatch.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sse {

/// Connections started and forgotten (from a request hook, say), stopped
/// together: async_stop cancels every run and completes once each run's
/// handler has returned, so what those handlers publish (an answer's last
/// words) is published before the server shuts down. Thread-safe.
///
///     sse::connection_group asks;
///     asks.async_run(conn, [](std::error_code ec) { ... });   // from a request hook
///     asks.async_stop([&](std::error_code) { server.async_shutdown(bye, ...); });
class connection_group {
public:
    connection_group() = default;
    connection_group(const connection_group&) = delete;
    connection_group& operator=(const connection_group&) = delete;

    /// Cancels every run in progress (their handlers still run).
    ~connection_group() { cancel(); }

    /// Runs `c` as sse::async_run(c, token) does (owned until its run
    /// completes) and tracks it. In a group that is stopping, the run is
    /// cancelled at once: it completes with operation_aborted.
    template <class Token>
    auto async_run(std::shared_ptr<connection> c, Token&& token) {
        return asio::async_initiate<Token, void(std::error_code)>(
            [st = st_](auto handler, std::shared_ptr<connection> c) {
                {
                    std::lock_guard lock(st->mutex);
                    st->running.emplace(c.get(), c);
                }
                auto ex = asio::get_associated_executor(handler, c->get_executor());
                auto slot = asio::get_associated_cancellation_slot(handler);
                const connection* key = c.get();
                sse::async_run(c, asio::bind_cancellation_slot(
                                      slot, asio::bind_executor(ex, [st, key, handler = std::move(handler)](
                                                                        std::error_code ec) mutable {
                                          const done_guard done{st, key}; // also if the handler throws
                                          std::move(handler)(ec);
                                      })));
                // Checked after the run began (a run's start clears an earlier cancel()).
                bool stopping = false;
                {
                    std::lock_guard lock(st->mutex);
                    stopping = st->stopping;
                }
                if (stopping) c->cancel();
            },
            token, std::move(c));
    }

    /// Cancels every run (later ones too) and completes, `void(std::error_code)`
    /// with no error, once every run has completed and its handler returned.
    template <class Token>
    auto async_stop(Token&& token) {
        return asio::async_initiate<Token, void(std::error_code)>(
            [st = st_](auto handler) {
                auto h = std::make_shared<decltype(handler)>(std::move(handler));
                auto ex = asio::get_associated_executor(*h);
                std::function<void()> complete = [h, ex] {
                    asio::dispatch(ex, [h]() mutable { std::move(*h)(std::error_code()); });
                };
                std::vector<std::shared_ptr<connection>> runs;
                {
                    std::lock_guard lock(st->mutex);
                    st->stopping = true;
                    for (const auto& [p, c] : st->running) runs.push_back(c);
                    if (!runs.empty()) {
                        st->waiters.push_back(std::move(complete));
                        complete = nullptr;
                    }
                }
                for (const auto& c : runs) c->cancel();
                if (complete) complete();
            },
            token);
    }

    /// Cancels every run (later ones too) without waiting.
    void cancel() {
        std::vector<std::shared_ptr<connection>> runs;
        {
            std::lock_guard lock(st_->mutex);
            st_->stopping = true;
            for (const auto& [p, c] : st_->running) runs.push_back(c);
        }
        for (const auto& c : runs) c->cancel();
    }

    /// Runs in progress now.
    std::size_t size() const {
        std::lock_guard lock(st_->mutex);
        return st_->running.size();
    }

private:
    struct state {
        mutable std::mutex mutex;
        std::unordered_map<const connection*, std::shared_ptr<connection>> running;
        bool stopping = false;
        std::vector<std::function<void()>> waiters; // async_stop's completions
    };

    // A run's handler returned: forget it, and complete async_stop after the last one.
    struct done_guard {
        std::shared_ptr<state> st;
        const connection* conn;
        ~done_guard() {
            std::vector<std::function<void()>> waiters;
            {
                std::lock_guard lock(st->mutex);
                st->running.erase(conn);
                if (st->running.empty()) waiters.swap(st->waiters);
            }
            for (auto& w : waiters) w();
        }
    };

    std::shared_ptr<state> st_ = std::make_shared<state>();
};

} // namespace sse

#endif
