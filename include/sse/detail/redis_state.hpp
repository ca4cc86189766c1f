// redis_state: what a redis_provider does. Publishes go through a queue to
// the command link (pipelined, answered in order); the reader link tails the
// log and relays each entry to this node's subscribers through a joe; a
// subscriber with a Last-Event-ID is caught up from its topics' streams while
// live frames wait for it, then joins the live stream (redis_catch_up). On a
// lost link it reconnects with backoff and relays what it missed.
#ifndef SSE_DETAIL_REDIS_STATE_HPP
#define SSE_DETAIL_REDIS_STATE_HPP

#include <sse/detail/redis_link.hpp>
#include <sse/detail/redis_wire.hpp>
#include <sse/error.hpp>
#include <sse/field.hpp>
#include <sse/frame.hpp>
#include <sse/joe.hpp>
#include <sse/log.hpp>
#include <sse/message.hpp>
#include <sse/provider.hpp>
#include <sse/redis_options.hpp>
#include <sse/replayer.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sse::detail {

// What one publish sends and who hears of its outcome.
struct redis_publish {
    std::string body;
    std::vector<std::string> topics; // distinct
    std::function<void(std::error_code, std::string_view)> done{};
    bool resent = false; // once after NOSCRIPT
};

// A subscriber with a Last-Event-ID while its history is read: live frames
// wait in `held` until the replay is out, so it joins the live stream with
// no gap and no duplicate.
struct redis_catch_up {
    enum class phase { replaying, waiting_for_log, joined };

    std::shared_ptr<sink> out;
    std::string last_event_id;
    std::vector<std::string> topics;
    phase state = phase::replaying;
    std::vector<std::pair<stream_id, frame>> held;
    std::size_t held_bytes = 0;
    stream_id floor{}; // when waiting_for_log: frames up to it were sent already
    joe::subscription_handle live{};
};

class redis_state : public std::enable_shared_from_this<redis_state> {
public:
    using strand_type = redis_link::strand_type;
    using clock = std::chrono::steady_clock;

    redis_state(asio::any_io_executor ex, redis_options o)
        : strand_(asio::make_strand(ex)), options_(std::move(o)), reconnect_timer_(strand_), watchdog_(strand_),
          log_key_("{" + options_.prefix + "}:log"), topic_key_prefix_("{" + options_.prefix + "}:topic:") {
        if (options_.log_max_len == 0) options_.log_max_len = 1;
        backoff_ = options_.reconnect_initial;
    }

    ~redis_state() {
        // Maybe inside a reply callback whose handler held the last reference.
        if (cmd_) cmd_->detach();
        if (reader_) reader_->detach();
    }

    void start() {
        asio::post(strand_, [self = shared_from_this()] { self->connect_all(); });
    }

    // ------------------------------------------------------------ publish (any thread)
    void publish(const message& m, topic_list topics, std::function<void(std::error_code, std::string_view)> done,
                 std::error_code& ec) {
        ec.clear();
        if (topics.empty()) ec = error::no_topic;
        else if (m.id.is_set()) ec = error::id_already_set; // ids are Redis's
        else if (closed_) ec = error::provider_closed;
        else if (!ready_) ec = error::provider_unavailable;
        if (ec) {
            ++publish_failures_;
            return;
        }
        if (pending_publishes_.fetch_add(1) >= options_.max_pending_publishes) {
            --pending_publishes_;
            ++publish_failures_;
            ec = error::provider_unavailable;
            return;
        }
        redis_publish p;
        p.body = m.to_string(); // serialized once; every node adds the id line
        p.topics.reserve(topics.size());
        for (std::string_view t : topics)
            if (std::find(p.topics.begin(), p.topics.end(), t) == p.topics.end()) p.topics.emplace_back(t);
        p.done = std::move(done);
        bool post = false;
        {
            std::lock_guard lock(mutex_);
            queue_.push_back(std::move(p));
            post = !drain_scheduled_;
            drain_scheduled_ = true;
        }
        if (post) asio::post(strand_, [self = shared_from_this()] { self->drain(); });
    }

    // ------------------------------------------------------------ subscribe (any thread)
    struct handle_data {
        joe::subscription_handle live{}; // no Last-Event-ID: straight into joe
        std::uint64_t catch_up_id = 0;   // with one: a catch-up record
    };

    handle_data subscribe(subscription sub, std::error_code& ec) {
        ec.clear();
        handle_data h;
        if (!sub.client) ec = error::invalid_argument;
        else if (sub.topics.empty()) ec = error::no_topic;
        else if (closed_) ec = error::provider_closed;
        if (ec) return h;
        if (!sub.last_event_id.is_set()) {
            h.live = local_.subscribe(subscription{std::move(sub.client), {}, std::move(sub.topics)}, ec);
            return h;
        }
        if (!ready_) {
            ec = error::provider_unavailable; // the history is out of reach: the client retries
            return h;
        }
        auto rec = std::make_unique<redis_catch_up>();
        rec->out = std::move(sub.client);
        rec->last_event_id = sub.last_event_id.str();
        for (std::string& t : sub.topics)
            if (std::find(rec->topics.begin(), rec->topics.end(), t) == rec->topics.end())
                rec->topics.push_back(std::move(t));
        {
            std::lock_guard lock(mutex_);
            if (closed_) { // shut down meanwhile (shutdown empties catch_ups_ under this lock)
                ec = error::provider_closed;
                return h;
            }
            h.catch_up_id = next_catch_up_++;
            catch_ups_.emplace(h.catch_up_id, std::move(rec));
        }
        asio::post(strand_, [self = shared_from_this(), id = h.catch_up_id] { self->start_replay(id); });
        return h;
    }

    void cancel(std::uint64_t catch_up_id) noexcept {
        joe::subscription_handle live;
        {
            std::lock_guard lock(mutex_);
            const auto it = catch_ups_.find(catch_up_id);
            if (it == catch_ups_.end()) return;
            live = std::move(it->second->live);
            catch_ups_.erase(it); // the strand finds it gone and stops
        }
        live.cancel();
    }

    // ------------------------------------------------------------ shutdown (any thread)
    void shutdown(std::error_code& ec) {
        ec.clear();
        if (closed_.exchange(true)) {
            ec = error::provider_closed;
            return;
        }
        ready_ = false;
        local_.shutdown();
        std::vector<std::shared_ptr<sink>> waiting;
        std::vector<redis_publish> unsent;
        {
            std::lock_guard lock(mutex_);
            for (auto& [id, rec] : catch_ups_)
                if (rec->state != redis_catch_up::phase::joined) waiting.push_back(std::move(rec->out));
            catch_ups_.clear();
            unsent.swap(queue_);
        }
        for (auto& s : waiting) s->close(error::provider_closed);
        asio::post(strand_, [self = shared_from_this(), unsent = std::move(unsent)]() mutable {
            for (auto& p : unsent) self->fail_publish(p, error::provider_closed);
            self->reconnect_timer_.cancel();
            self->watchdog_.cancel();
            self->close_links();
        });
    }

    redis_stats stats() const {
        redis_stats s;
        s.local = local_.stats();
        s.published = published_.load(std::memory_order_relaxed);
        s.publish_failures = publish_failures_.load(std::memory_order_relaxed);
        s.relayed = relayed_.load(std::memory_order_relaxed);
        s.replayed = replayed_.load(std::memory_order_relaxed);
        s.gaps = gaps_.load(std::memory_order_relaxed);
        s.connects = connects_.load(std::memory_order_relaxed);
        s.connected = ready_.load();
        std::lock_guard lock(mutex_);
        for (const auto& [id, rec] : catch_ups_)
            if (rec->state != redis_catch_up::phase::joined) ++s.catching_up;
        return s;
    }

    bool ready() const noexcept { return ready_; }
    const redis_options& options() const noexcept { return options_; }
    strand_type strand_executor() const noexcept { return strand_; }

private:
    // ------------------------------------------------------------ connections (strand)
    void connect_all() {
        if (closed_) return;
        close_links();
        const std::uint64_t generation = ++generation_;
        cmd_ = std::make_shared<redis_link>(strand_);
        reader_ = std::make_shared<redis_link>(strand_);
        links_up_ = 0;
        ready_steps_ = 0;
        // (Whatever hiredis holds refers to this state weakly: a context's
        // callbacks must not keep alive the state that owns the context.)
        auto connected = [weak = weak_from_this(), generation](std::error_code ec) {
            const auto self = weak.lock();
            if (!self || generation != self->generation_) return;
            if (ec) return self->link_lost(ec);
            self->on_link_connected(generation);
        };
        auto lost = [weak = weak_from_this(), generation](std::error_code ec) {
            const auto self = weak.lock();
            if (self && generation == self->generation_) self->link_lost(ec);
        };
        cmd_->connect(options_.host, options_.port, connected, lost);
        reader_->connect(options_.host, options_.port, connected, lost);
    }

    void close_links() {
        ready_ = false;
        ++generation_; // whatever the old links still report is ignored
        // Held here while they close: their replies may run code that looks at cmd_ and reader_.
        const std::shared_ptr<redis_link> cmd = std::move(cmd_), reader = std::move(reader_);
        if (cmd) cmd->close();
        if (reader) reader->close();
        watchdog_.cancel();
    }

    // Either link broke, did not connect, or answered wrongly: start again
    // after a while. Often called from inside a reply, where hiredis must not
    // be freed: the links close in a handler of their own.
    void link_lost(std::error_code ec) {
        if (closed_ || lost_pending_) return;
        lost_pending_ = true;
        ready_ = false;
        ++generation_; // whatever the old links report from now on is ignored
        asio::post(strand_, [self = shared_from_this(), ec] { self->reconnect_later(ec); });
    }

    void reconnect_later(std::error_code ec) {
        lost_pending_ = false;
        if (closed_) return;
        const std::string why = cmd_ && !cmd_->reason().empty()         ? cmd_->reason()
                                : reader_ && !reader_->reason().empty() ? reader_->reason()
                                                                        : ec.message();
        close_links();
        log(connects_ > 0 ? log_level::warning : log_level::info,
            "sse: redis " + options_.host + ":" + std::to_string(options_.port) + " unreachable (" + why +
                "): reconnecting in " + std::to_string(backoff_.count()) + " ms");
        reconnect_timer_.expires_after(backoff_);
        backoff_ = std::min(backoff_ * 2, std::max(options_.reconnect_max, options_.reconnect_initial));
        reconnect_timer_.async_wait([self = shared_from_this()](std::error_code e) {
            if (!e) self->connect_all();
        });
    }

    // Both links connected: authenticate, load the script, find where the
    // log is, then take publishes and subscribers.
    void on_link_connected(std::uint64_t generation) {
        if (++links_up_ < 2) return;
        // Runs `f(self, reply)` for a reply of this generation's links.
        const auto on = [weak = weak_from_this(), generation](auto f) {
            return [weak, generation, f = std::move(f)](redisReply* r) {
                const auto self = weak.lock();
                if (self && generation == self->generation_) f(*self, r);
            };
        };
        const auto fail = [](redis_state& self, std::string why) {
            self.log(log_level::error, "sse: redis: " + why);
            self.link_lost(error::backend_error);
        };
        const auto must_be_ok = [fail](std::string what) {
            return [fail, what = std::move(what)](redis_state& self, redisReply* r) {
                if (r != nullptr && r->type == REDIS_REPLY_ERROR) fail(self, what + ": " + std::string(reply_text(r)));
            };
        };
        for (redis_link* l : {cmd_.get(), reader_.get()}) {
            if (!options_.password.empty()) {
                std::vector<std::string_view> auth{"AUTH"};
                if (!options_.username.empty()) auth.push_back(options_.username);
                auth.push_back(options_.password);
                l->command(auth, on(must_be_ok("AUTH failed")));
            }
            if (options_.database != 0) {
                const std::string db = std::to_string(options_.database);
                l->command({"SELECT", db}, on(must_be_ok("SELECT " + db + " failed")));
            }
        }
        cmd_->command({"SCRIPT", "LOAD", redis_publish_script}, on([fail](redis_state& self, redisReply* r) {
                          if (r == nullptr) return; // the link broke: link_lost follows
                          if (r->type != REDIS_REPLY_STRING)
                              return fail(self, "SCRIPT LOAD failed: " + std::string(reply_text(r)));
                          self.script_sha_ = std::string(reply_text(r));
                          self.step_ready();
                      }));
        // Where this node relays the log from. The first time: after its
        // newest entry. Later: after the entry it read last, if the log
        // still holds it; if not, it may have missed messages (see lost_track).
        const auto newest = on([fail](redis_state& self, redisReply* r) {
            if (r == nullptr) return;
            if (r->type != REDIS_REPLY_ARRAY) return fail(self, "XREVRANGE failed: " + std::string(reply_text(r)));
            self.cursor_ = stream_id{};
            if (r->elements > 0 && r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2)
                self.cursor_ = stream_id::parse(reply_text(r->element[0]->element[0]));
            if (!self.cursor_) return fail(self, "unexpected XREVRANGE reply");
            self.step_ready();
        });
        const std::vector<std::string_view> newest_cmd{"XREVRANGE", log_key_, "+", "-", "COUNT", "1"};
        if (!cursor_) {
            reader_->command(newest_cmd, newest);
        } else if (*cursor_ == stream_id{}) {
            step_ready(); // nothing was relayed yet, so nothing can be missed: XREAD from the start
        } else {
            const std::string at = cursor_->str();
            reader_->command({"XRANGE", log_key_, at, at}, on([fail, newest, newest_cmd](redis_state& self, redisReply* r) {
                                 if (r == nullptr) return;
                                 if (r->type != REDIS_REPLY_ARRAY)
                                     return fail(self, "XRANGE failed: " + std::string(reply_text(r)));
                                 if (r->elements > 0) return self.step_ready();
                                 self.lost_track();
                                 self.reader_->command(newest_cmd, newest);
                             }));
        }
    }

    // The log no longer holds the last entry this node relayed (Redis lost
    // its data, or trimmed the log past it while this node was away): what
    // came in between cannot be known, so the live streams end, and their
    // clients come back with Last-Event-ID and replay from the topic streams.
    void lost_track() {
        log(log_level::warning, "sse: redis: the log no longer holds " + cursor_->str() +
                                    ", the last message this node relayed: ending its streams so that their clients "
                                    "resume from the topic streams");
        local_.close_subscribers(error::provider_unavailable);
        std::vector<std::shared_ptr<sink>> waiting;
        {
            std::lock_guard lock(mutex_);
            for (auto it = catch_ups_.begin(); it != catch_ups_.end();) {
                if (it->second->state != redis_catch_up::phase::joined) {
                    waiting.push_back(std::move(it->second->out));
                    it = catch_ups_.erase(it);
                } else {
                    ++it;
                }
            }
        }
        for (auto& s : waiting) s->close(error::provider_unavailable);
        cursor_.reset();
    }

    void step_ready() {
        if (++ready_steps_ < 2) return;
        ready_steps_ = 0;
        backoff_ = options_.reconnect_initial;
        ready_ = true;
        ++connects_;
        log(log_level::info, "sse: redis " + options_.host + ":" + std::to_string(options_.port) + " connected");
        arm_watchdog();
        read_log(generation_);
        drain();
    }

    // The cmd link's replies must keep coming while commands wait; the
    // reader's XREAD answers within poll_interval.
    void arm_watchdog() {
        watchdog_.expires_after(std::chrono::milliseconds(250));
        watchdog_.async_wait([self = shared_from_this(), generation = generation_](std::error_code ec) {
            if (ec || generation != self->generation_ || !self->ready_) return;
            const auto now = clock::now();
            const auto late = [&](const std::shared_ptr<redis_link>& l, std::chrono::milliseconds allowed) {
                return l && l->in_flight() > 0 && now - l->last_reply() > allowed;
            };
            if (late(self->cmd_, self->options_.command_timeout) ||
                late(self->reader_, self->options_.command_timeout + self->options_.poll_interval)) {
                self->log(log_level::warning, "sse: redis: no reply within the command timeout");
                return self->link_lost(error::timeout);
            }
            self->arm_watchdog();
        });
    }

    // ------------------------------------------------------------ publishing (strand)
    void drain() {
        std::vector<redis_publish> batch;
        {
            std::lock_guard lock(mutex_);
            batch.swap(queue_);
            drain_scheduled_ = false;
        }
        for (redis_publish& p : batch) send_publish(std::move(p));
    }

    void send_publish(redis_publish publish) {
        if (!ready_ || !cmd_) return fail_publish(publish, closed_ ? error::provider_closed : error::provider_unavailable);
        // Owned by the reply handler; the arguments below point into it (hiredis copies them).
        auto p = std::make_shared<redis_publish>(std::move(publish));
        keys_.clear();
        keys_.push_back(log_key_);
        for (const std::string& t : p->topics) keys_.push_back(topic_key_prefix_ + t);
        std::string topics;
        encode_topics(topics, p->topics);
        const std::string nkeys = std::to_string(keys_.size());
        const std::string log_len = std::to_string(options_.log_max_len);
        const std::string max_len = std::to_string(options_.max_len);
        const std::string age = std::to_string(options_.max_age.count());
        args_.clear();
        args_.push_back("EVALSHA");
        args_.push_back(script_sha_);
        args_.push_back(nkeys);
        for (const std::string& k : keys_) args_.push_back(k);
        for (std::string_view a : {std::string_view(p->body), std::string_view(topics), std::string_view(log_len),
                                   std::string_view(max_len), std::string_view(age),
                                   std::string_view(options_.exact_trim ? "=" : "~")})
            args_.push_back(a);
        const bool sent = cmd_->command(args_, [weak = weak_from_this(), p](redisReply* r) {
            if (const auto self = weak.lock()) self->on_published(*p, r);
        });
        if (!sent) fail_publish(*p, error::provider_unavailable);
    }

    void on_published(redis_publish& p, redisReply* r) {
        if (r != nullptr && r->type == REDIS_REPLY_ERROR && reply_text(r).starts_with("NOSCRIPT") && !p.resent && cmd_) {
            // The script cache was flushed (SCRIPT FLUSH): load it again and resend once.
            p.resent = true;
            auto again = std::make_shared<redis_publish>(std::move(p));
            const bool sent = cmd_->command({"SCRIPT", "LOAD", redis_publish_script},
                                            [weak = weak_from_this(), again](redisReply* lr) {
                                                const auto self = weak.lock();
                                                if (!self) return;
                                                if (lr == nullptr || lr->type != REDIS_REPLY_STRING)
                                                    return self->fail_publish(*again, error::backend_error);
                                                self->script_sha_ = std::string(reply_text(lr));
                                                self->send_publish(std::move(*again));
                                            });
            if (!sent) fail_publish(*again, error::provider_unavailable);
            return;
        }
        if (r == nullptr) return fail_publish(p, closed_ ? error::provider_closed : error::provider_unavailable);
        if (r->type != REDIS_REPLY_STRING) {
            log(log_level::error, "sse: redis: publish failed: " + std::string(reply_text(r)));
            return fail_publish(p, error::backend_error);
        }
        --pending_publishes_;
        ++published_;
        if (p.done) p.done({}, reply_text(r));
    }

    void fail_publish(redis_publish& p, std::error_code ec) {
        --pending_publishes_;
        ++publish_failures_;
        if (options_.on_publish_error) {
            try {
                options_.on_publish_error(ec, p.body);
            } catch (...) {
            }
        }
        if (p.done) p.done(ec, {});
    }

    // ------------------------------------------------------------ the log (strand)
    void read_log(std::uint64_t generation) {
        if (generation != generation_ || !reader_) return;
        const std::string block = std::to_string(options_.poll_interval.count());
        const std::string from = cursor_->str();
        reader_->command({"XREAD", "COUNT", "1024", "BLOCK", block, "STREAMS", log_key_, from},
                         [weak = weak_from_this(), generation](redisReply* r) {
                             const auto self = weak.lock();
                             if (!self || generation != self->generation_) return;
                             if (r == nullptr) return; // the link broke: link_lost follows
                             if (r->type == REDIS_REPLY_ERROR) {
                                 self->log(log_level::error, "sse: redis: XREAD failed: " + std::string(reply_text(r)));
                                 return self->link_lost(error::backend_error);
                             }
                             if (r->type == REDIS_REPLY_ARRAY)
                                 for (std::size_t s = 0; s < r->elements; ++s) {
                                     const redisReply* stream = r->element[s];
                                     if (stream->type == REDIS_REPLY_ARRAY && stream->elements == 2)
                                         self->relay(stream->element[1]);
                                 }
                             self->read_log(generation);
                         });
    }

    // Fans the log's new entries out here, in order.
    void relay(const redisReply* entries) {
        if (entries->type != REDIS_REPLY_ARRAY) return;
        std::vector<std::string_view> topics;
        for (std::size_t i = 0; i < entries->elements; ++i) {
            const redisReply* e = entries->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) continue;
            const std::string_view id_text = reply_text(e->element[0]);
            const std::optional<stream_id> id = stream_id::parse(id_text);
            if (!id || *id <= *cursor_) continue;
            cursor_ = *id;
            if (!decode_topics(entry_field(e->element[1], "t"), topics) || topics.empty()) {
                log(log_level::warning, "sse: redis: skipping log entry " + std::string(id_text) + " without topics");
                continue;
            }
            const frame f = frame_with_id(id_text, entry_field(e->element[1], "m"));
            std::error_code ignored;
            local_.deliver(f, topic_list(topics), ignored);
            ++relayed_;
            hold_for_catch_ups(*id, f, topics);
        }
        join_waiting();
    }

    void hold_for_catch_ups(stream_id id, const frame& f, const std::vector<std::string_view>& topics) {
        std::vector<std::shared_ptr<sink>> overflowed;
        {
            std::lock_guard lock(mutex_);
            for (auto it = catch_ups_.begin(); it != catch_ups_.end();) {
                redis_catch_up& rec = *it->second;
                const bool wants = rec.state != redis_catch_up::phase::joined &&
                                   std::any_of(topics.begin(), topics.end(), [&](std::string_view t) {
                                       return std::find(rec.topics.begin(), rec.topics.end(), t) != rec.topics.end();
                                   });
                if (wants) {
                    rec.held.emplace_back(id, f);
                    rec.held_bytes += f.size();
                    if (rec.held_bytes > options_.max_catch_up_bytes) {
                        overflowed.push_back(std::move(rec.out));
                        it = catch_ups_.erase(it);
                        continue;
                    }
                }
                ++it;
            }
        }
        for (auto& s : overflowed) {
            log(log_level::warning, "sse: redis: a resuming subscriber's live backlog exceeded max_catch_up_bytes");
            s->close(error::queue_overflow);
        }
    }

    // ------------------------------------------------------------ replay (strand)
    struct replay_job {
        std::uint64_t id;
        std::optional<stream_id> from;
        std::size_t outstanding = 0;
        bool known = false;     // the Last-Event-ID is in one of the topic streams
        bool truncated = false; // a stream had more than max_replay after it
        bool failed = false;
        std::vector<std::pair<stream_id, frame>> entries;
    };

    void start_replay(std::uint64_t id) {
        std::vector<std::string> topics;
        std::string last;
        {
            std::lock_guard lock(mutex_);
            const auto it = catch_ups_.find(id);
            if (it == catch_ups_.end()) return;
            topics = it->second->topics;
            last = it->second->last_event_id;
        }
        auto job = std::make_shared<replay_job>();
        job->id = id;
        job->from = stream_id::parse(last);
        if (!ready_ || !cmd_) job->failed = true;           // Redis went away meanwhile: the client retries
        if (!job->from || job->failed) return finish_replay(*job); // (not a stream id: a gap, nothing replayed)
        const std::string start = job->from->str();
        const std::string count = std::to_string(options_.max_replay + 1);
        for (const std::string& t : topics) {
            const bool sent = cmd_->command({"XRANGE", topic_key_prefix_ + t, start, "+", "COUNT", count},
                                            [weak = weak_from_this(), job](redisReply* r) {
                                                if (const auto self = weak.lock()) self->on_range(*job, r);
                                            });
            if (sent) ++job->outstanding;
            else job->failed = true;
        }
        if (job->outstanding == 0) finish_replay(*job);
    }

    void on_range(replay_job& job, redisReply* r) {
        if (r == nullptr || r->type != REDIS_REPLY_ARRAY) {
            job.failed = true;
        } else {
            for (std::size_t i = 0; i < r->elements; ++i) {
                const redisReply* e = r->element[i];
                if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) continue;
                const std::string_view id_text = reply_text(e->element[0]);
                const std::optional<stream_id> id = stream_id::parse(id_text);
                if (!id) continue;
                if (*id == *job.from) {
                    job.known = true;
                    continue;
                }
                if (i >= options_.max_replay + (job.known ? 1 : 0)) {
                    job.truncated = true;
                    break;
                }
                job.entries.emplace_back(*id, frame_with_id(id_text, entry_field(e->element[1], "m")));
            }
        }
        if (--job.outstanding == 0) finish_replay(job);
    }

    // Sends the history, then what arrived live meanwhile (past what the
    // history covered), and joins the live stream: all on the strand, where
    // the log is relayed too, so nothing slips in between.
    void finish_replay(replay_job& job) {
        std::shared_ptr<sink> out;
        std::vector<std::string> topics;
        std::vector<std::pair<stream_id, frame>> held;
        std::string asked;
        {
            std::lock_guard lock(mutex_);
            const auto it = catch_ups_.find(job.id);
            if (it == catch_ups_.end()) return; // cancelled
            if (job.failed) {
                out = std::move(it->second->out);
                catch_ups_.erase(it);
            } else {
                out = it->second->out;
                topics = it->second->topics;
                held.swap(it->second->held);
                it->second->held_bytes = 0;
                asked = it->second->last_event_id;
            }
        }
        if (job.failed) { // the history could not be read: the client tries again
            out->close(error::provider_unavailable);
            return;
        }
        std::sort(job.entries.begin(), job.entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        job.entries.erase(std::unique(job.entries.begin(), job.entries.end(),
                                      [](const auto& a, const auto& b) { return a.first == b.first; }),
                          job.entries.end());
        const bool gap = !job.known || job.truncated;
        if (gap) ++gaps_;
        bool ok = true;
        auto send = [&](const frame& f) {
            if (ok) ok = !delivery_error(out->send(f));
        };
        if (gap && options_.gap_event.is_set()) send(gap_frame(options_.gap_event, asked));
        std::optional<stream_id> floor;
        if (job.known) floor = job.from;
        for (const auto& [id, f] : job.entries) {
            send(f);
            floor = id;
        }
        replayed_ += job.entries.size();
        for (const auto& [id, f] : held)
            if (!floor || id > *floor) {
                send(f);
                floor = id;
            }
        if (!ok) return drop(job.id);
        if (floor && cursor_ && *floor > *cursor_) {
            // This node's relay is behind what the client has: join once it caught up.
            std::lock_guard lock(mutex_);
            if (const auto it = catch_ups_.find(job.id); it != catch_ups_.end()) {
                it->second->state = redis_catch_up::phase::waiting_for_log;
                it->second->floor = *floor;
            }
            return;
        }
        join(job.id, std::move(out), std::move(topics));
    }

    void join(std::uint64_t id, std::shared_ptr<sink> out, std::vector<std::string> topics) {
        std::error_code ec;
        joe::subscription_handle live = local_.subscribe(subscription{std::move(out), {}, std::move(topics)}, ec);
        std::lock_guard lock(mutex_);
        const auto it = catch_ups_.find(id);
        if (it == catch_ups_.end()) return; // cancelled meanwhile: `live` goes with this scope
        if (ec) {
            catch_ups_.erase(it);
            return;
        }
        it->second->state = redis_catch_up::phase::joined;
        it->second->live = std::move(live);
        it->second->out.reset();
        it->second->held.clear();
    }

    // Subscribers that were ahead of this node's relay, now caught up.
    void join_waiting() {
        std::vector<std::pair<std::uint64_t, std::unique_ptr<redis_catch_up>>> ready;
        {
            std::lock_guard lock(mutex_);
            for (auto& [id, rec] : catch_ups_)
                if (rec->state == redis_catch_up::phase::waiting_for_log && cursor_ && *cursor_ >= rec->floor) {
                    auto copy = std::make_unique<redis_catch_up>();
                    copy->out = rec->out;
                    copy->topics = rec->topics;
                    copy->held.swap(rec->held);
                    copy->floor = rec->floor;
                    ready.emplace_back(id, std::move(copy));
                }
        }
        for (auto& [id, rec] : ready) {
            bool ok = true;
            for (const auto& [sid, f] : rec->held)
                if (ok && sid > rec->floor) ok = !delivery_error(rec->out->send(f));
            if (!ok) drop(id);
            else join(id, std::move(rec->out), std::move(rec->topics));
        }
    }

    void drop(std::uint64_t id) {
        std::lock_guard lock(mutex_);
        catch_ups_.erase(id);
    }

    void log(log_level level, const std::string& text) noexcept { detail::log_to(options_.log, level, text); }

    strand_type strand_;
    redis_options options_;
    joe local_;
    asio::steady_timer reconnect_timer_;
    asio::steady_timer watchdog_;
    const std::string log_key_;
    const std::string topic_key_prefix_;

    std::atomic<bool> closed_{false};
    std::atomic<bool> ready_{false};
    std::atomic<std::size_t> pending_publishes_{0};
    std::atomic<std::uint64_t> published_{0}, publish_failures_{0}, relayed_{0}, replayed_{0}, gaps_{0}, connects_{0};

    // Shared with other threads, under mutex_.
    mutable std::mutex mutex_;
    std::vector<redis_publish> queue_;
    bool drain_scheduled_ = false;
    std::unordered_map<std::uint64_t, std::unique_ptr<redis_catch_up>> catch_ups_;
    std::uint64_t next_catch_up_ = 1;

    // On the strand only.
    std::shared_ptr<redis_link> cmd_;
    std::shared_ptr<redis_link> reader_;
    std::uint64_t generation_ = 0;
    bool lost_pending_ = false;
    int links_up_ = 0;
    int ready_steps_ = 0;
    std::chrono::milliseconds backoff_{};
    std::string script_sha_;
    std::optional<stream_id> cursor_; // the last log entry relayed here
    std::vector<std::string> keys_;
    std::vector<std::string_view> args_;
};

} // namespace sse::detail

#endif
