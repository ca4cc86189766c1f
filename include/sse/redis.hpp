// redis_provider: a provider on Redis, so that several server processes
// behind a load balancer share one event stream, with replay that survives a
// node's death. Publishing appends the message to Redis Streams (one per
// topic, for replay, and one log of everything that every node tails); each
// node fans what it reads out to its own subscribers through a joe, so the
// serialize-once and never-block rules hold per node. Opt-in: needs hiredis.
//
//     sse::redis_provider redis(ioc.get_executor(), {.host = "127.0.0.1", .port = 6379});
//     sse::basic_server<sse::redis_provider> server(ioc, std::move(redis));
#ifndef SSE_REDIS_HPP
#define SSE_REDIS_HPP

#include <sse/detail/publish.hpp>
#include <sse/error.hpp>
#include <sse/field.hpp>
#include <sse/joe.hpp>
#include <sse/message.hpp>
#include <sse/provider.hpp>
#include <sse/session.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <charconv>
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

namespace sse {

/// Where redis_provider connects and how it keeps messages.
struct redis_options {
    std::string host = "127.0.0.1";
    unsigned short port = 6379;
    std::string username{}; ///< with a password: AUTH username password (Redis ACLs)
    std::string password{}; ///< if not empty: AUTH before anything else
    int database = 0;       ///< SELECT, if not 0

    /// Keys are `{prefix}:log` (every message: what the nodes tail) and
    /// `{prefix}:topic:<topic>` (a stream per topic: the replay history).
    /// The braces put them in one Redis Cluster hash slot, which the publish
    /// script needs.
    std::string prefix = "sse";
    /// Each topic's stream keeps about this many messages (XADD MAXLEN ~); 0: no count bound.
    std::size_t max_len = 10000;
    /// If not zero, each topic's stream also drops messages older than this (XTRIM MINID ~).
    std::chrono::milliseconds max_age{0};
    /// Trim exactly (`=`) instead of in Redis's cheaper whole nodes (`~`).
    bool exact_trim = false;
    /// The log keeps about this many messages (at least 1): a node that lost
    /// Redis catches up from it when it is back.
    std::size_t log_max_len = 100000;

    /// As replayer_options::gap_event: when set, a subscriber whose
    /// Last-Event-ID is not in its topics' history (unknown, or trimmed), or
    /// whose replay is cut at max_replay, first receives an event of this
    /// type whose data is the id it asked for.
    event_type gap_event{};
    /// The most messages replayed to one subscriber; beyond, a gap.
    std::size_t max_replay = 10000;
    /// Live bytes held for one subscriber while its history is read; beyond,
    /// its sink is closed with queue_overflow (the client reconnects).
    std::size_t max_catch_up_bytes = 4 * 1024 * 1024;
    /// Publishes sent and not yet answered at most; beyond, publish fails
    /// with provider_unavailable.
    std::size_t max_pending_publishes = 65536;

    /// Reconnection after Redis went away: the delay starts here and doubles...
    std::chrono::milliseconds reconnect_initial{100};
    /// ... up to this.
    std::chrono::milliseconds reconnect_max{5000};
    /// How long each read of the log waits for new messages (XREAD BLOCK).
    std::chrono::milliseconds poll_interval{2000};
    /// A reply later than this (a read's poll_interval not counted): the
    /// connection is taken for dead, closed and made again.
    std::chrono::milliseconds command_timeout{5000};

    /// Called for every publish Redis did not take (an error reply, or the
    /// connection broke before the answer, when the message may or may not
    /// be stored), with the reason and the message's serialized bytes. Runs
    /// on the provider's strand; must not block.
    std::function<void(std::error_code, std::string_view)> on_publish_error{};
    logger log{};
};

/// Parses `redis://[[username]:password@]host[:port][/database][?prefix=NAME]`
/// over `base`; invalid_url if it is not such a URL.
inline redis_options parse_redis_url(std::string_view url, std::error_code& ec, redis_options base = {});

/// Counters of a redis_provider (a snapshot).
struct redis_stats {
    provider_stats local{};           ///< this node's fan-out (subscribers, delivered, overflows)
    std::uint64_t published = 0;      ///< publishes Redis stored
    std::uint64_t publish_failures = 0; ///< publishes refused, failed, or unanswered
    std::uint64_t relayed = 0;        ///< messages read from the log and fanned out here
    std::uint64_t replayed = 0;       ///< frames sent from the topic streams
    std::uint64_t gaps = 0;           ///< subscribers told (or not) of a gap
    std::uint64_t connects = 0;       ///< times the provider became ready
    std::size_t catching_up = 0;      ///< subscribers whose history is being read
    bool connected = false;           ///< ready: publishes and resuming subscribes are taken
};

namespace detail {

// A Redis Stream id, "<ms>-<seq>".
struct stream_id {
    std::uint64_t ms = 0;
    std::uint64_t seq = 0;

    static std::optional<stream_id> parse(std::string_view s) noexcept {
        const std::size_t dash = s.find('-');
        if (dash == std::string_view::npos || dash == 0 || dash + 1 == s.size()) return std::nullopt;
        stream_id id;
        const char* end = s.data() + dash;
        auto r = std::from_chars(s.data(), end, id.ms);
        if (r.ec != std::errc() || r.ptr != end) return std::nullopt;
        end = s.data() + s.size();
        r = std::from_chars(s.data() + dash + 1, end, id.seq);
        if (r.ec != std::errc() || r.ptr != end) return std::nullopt;
        return id;
    }
    std::string str() const { return std::to_string(ms) + "-" + std::to_string(seq); }
    friend auto operator<=>(const stream_id&, const stream_id&) = default;
};

// The topics of a log entry: "<length>:<bytes>" for each.
inline void encode_topics(std::string& out, const std::vector<std::string>& topics) {
    for (const std::string& t : topics) {
        out += std::to_string(t.size());
        out += ':';
        out += t;
    }
}

inline bool decode_topics(std::string_view s, std::vector<std::string_view>& out) {
    out.clear();
    while (!s.empty()) {
        std::size_t n = 0;
        const char* colon = s.data() + s.find(':');
        if (s.find(':') == std::string_view::npos) return false;
        const auto r = std::from_chars(s.data(), colon, n);
        if (r.ec != std::errc() || r.ptr != colon) return false;
        s.remove_prefix(static_cast<std::size_t>(colon - s.data()) + 1);
        if (n > s.size()) return false;
        out.push_back(s.substr(0, n));
        s.remove_prefix(n);
    }
    return true;
}

inline std::string_view reply_text(const redisReply* r) noexcept {
    if (r == nullptr || r->str == nullptr) return {};
    return std::string_view(r->str, r->len);
}

// The field `name` of a stream entry's field array ([name, value, ...]).
inline std::string_view entry_field(const redisReply* fields, std::string_view name) noexcept {
    if (fields == nullptr || fields->type != REDIS_REPLY_ARRAY) return {};
    for (std::size_t i = 0; i + 1 < fields->elements; i += 2)
        if (reply_text(fields->element[i]) == name) return reply_text(fields->element[i + 1]);
    return {};
}

// A frame of the stream's bytes: the id line in front of the message
// serialized without id (its first field would be the id anyway).
inline frame frame_with_id(std::string_view id, std::string_view body) {
    std::string bytes;
    bytes.reserve(id.size() + 5 + body.size());
    bytes += "id: ";
    bytes += id;
    bytes += '\n';
    bytes += body;
    return frame::from_bytes(std::move(bytes));
}

// What one publish sends and who hears of its outcome.
struct redis_publish {
    std::string body;
    std::vector<std::string> topics; // distinct
    std::function<void(std::error_code, std::string_view)> done{};
    bool resent = false; // once after NOSCRIPT
};

// One hiredis async context driven by Asio: its socket is watched through a
// stream_descriptor (hiredis reads and writes it itself), on one strand, so
// there is no second event loop and no thread. Everything but construction
// runs on the strand.
class redis_link : public std::enable_shared_from_this<redis_link> {
public:
    using strand_type = asio::strand<asio::any_io_executor>;
    using reply_handler = std::function<void(redisReply*)>; // nullptr: no reply (the link broke or closed)

    explicit redis_link(strand_type strand) : strand_(strand), fd_(strand) {}

    redis_link(const redis_link&) = delete;
    redis_link& operator=(const redis_link&) = delete;

    ~redis_link() { detach(); }

    /// Frees the context, safely even from inside one of its callbacks
    /// (hiredis then frees it when the callback returns): it is cut loose
    /// from this object first, and its socket let go of. Pending replies
    /// are dropped without a word.
    void detach() noexcept {
        quiet_ = true;
        if (ac_ == nullptr) return;
        std::error_code ignored;
        fd_.cancel(ignored);
        (void)fd_.release(); // hiredis closes it
        ac_->data = nullptr;
        ac_->ev = {};
        ac_->onConnect = nullptr;
        ac_->onDisconnect = nullptr;
        redisAsyncContext* a = std::exchange(ac_, nullptr);
        redisAsyncFree(a);
    }

    /// Connects; `connected(ec)` once it is (or failed), then `lost(ec)` if a
    /// connected link breaks (not after close()). Both are posted.
    void connect(const std::string& host, unsigned short port, std::function<void(std::error_code)> connected,
                 std::function<void(std::error_code)> lost) {
        connected_cb_ = std::move(connected);
        lost_cb_ = std::move(lost);
        ac_ = redisAsyncConnect(host.c_str(), port);
        if (ac_ == nullptr || ac_->err) {
            if (ac_ != nullptr) {
                reason_ = ac_->errstr;
                redisAsyncFree(ac_);
                ac_ = nullptr;
            }
            return notify_connected(error::provider_unavailable);
        }
        ac_->data = this;
        ac_->ev.data = this;
        ac_->ev.addRead = &add_read;
        ac_->ev.delRead = &del_read;
        ac_->ev.addWrite = &add_write;
        ac_->ev.delWrite = &del_write;
        ac_->ev.cleanup = &cleanup;
        std::error_code ec;
        fd_.assign(ac_->c.fd, ec);
        if (ec) {
            reason_ = ec.message();
            close();
            return notify_connected(error::provider_unavailable);
        }
        redisAsyncSetConnectCallback(ac_, &on_connect);
        redisAsyncSetDisconnectCallback(ac_, &on_disconnect);
    }

    /// Sends a command (pipelined behind those already sent); `on_reply` gets
    /// the reply, or nullptr if none will come. False if the link is down.
    bool command(const std::vector<std::string_view>& args, reply_handler on_reply) {
        if (ac_ == nullptr || closing_) return false;
        argv_.clear();
        lens_.clear();
        for (std::string_view a : args) {
            argv_.push_back(a.data());
            lens_.push_back(a.size());
        }
        auto* h = new reply_handler(std::move(on_reply));
        if (redisAsyncCommandArgv(ac_, &on_reply_cb, h, static_cast<int>(argv_.size()), argv_.data(), lens_.data()) !=
            REDIS_OK) {
            delete h;
            return false;
        }
        if (in_flight_++ == 0) last_reply_ = std::chrono::steady_clock::now();
        return true;
    }

    /// Frees the context now: pending replies get nullptr; `lost` is not called.
    void close() {
        closing_ = true;
        lost_cb_ = nullptr;
        if (ac_ != nullptr) {
            redisAsyncContext* a = ac_;
            redisAsyncFree(a); // calls cleanup, which clears ac_
            ac_ = nullptr;
        }
    }

    bool up() const noexcept { return ac_ != nullptr && connected_ && !closing_; }
    /// Commands sent and not answered yet.
    std::size_t in_flight() const noexcept { return in_flight_; }
    /// When the last reply came (or, with nothing in flight before, when the first command went).
    std::chrono::steady_clock::time_point last_reply() const noexcept { return last_reply_; }
    /// What hiredis said when it failed.
    const std::string& reason() const noexcept { return reason_; }

private:
    static redis_link& self(void* p) noexcept { return *static_cast<redis_link*>(p); }

    static void add_read(void* p) {
        redis_link& l = self(p);
        l.want_read_ = true;
        l.arm_read();
    }
    static void del_read(void* p) { self(p).want_read_ = false; }
    static void add_write(void* p) {
        redis_link& l = self(p);
        l.want_write_ = true;
        l.arm_write();
    }
    static void del_write(void* p) { self(p).want_write_ = false; }
    // hiredis is done with the socket (it closes it itself): let go of it.
    static void cleanup(void* p) {
        redis_link& l = self(p);
        l.want_read_ = l.want_write_ = false;
        l.ac_ = nullptr;
        std::error_code ignored;
        l.fd_.cancel(ignored);
        (void)l.fd_.release();
    }

    static void on_connect(const redisAsyncContext* c, int status) {
        redis_link& l = self(c->data);
        if (status == REDIS_OK) {
            l.connected_ = true;
            l.notify_connected({});
        } else {
            l.reason_ = c->errstr != nullptr ? c->errstr : "connect failed";
            l.notify_connected(error::provider_unavailable); // hiredis frees the context next
        }
    }

    static void on_disconnect(const redisAsyncContext* c, int status) {
        redis_link& l = self(c->data);
        if (status != REDIS_OK && c->errstr != nullptr) l.reason_ = c->errstr;
        l.connected_ = false;
        if (l.lost_cb_ && !l.quiet_) {
            auto f = std::move(l.lost_cb_);
            asio::post(l.strand_, [f = std::move(f)] { f(error::provider_unavailable); });
        }
    }

    static void on_reply_cb(redisAsyncContext* c, void* reply, void* privdata) {
        std::unique_ptr<reply_handler> h(static_cast<reply_handler*>(privdata));
        if (c->data == nullptr) return; // the link is gone (see ~redis_link)
        redis_link& l = self(c->data);
        if (l.in_flight_ > 0) --l.in_flight_;
        l.last_reply_ = std::chrono::steady_clock::now();
        if (l.quiet_) return;
        (*h)(static_cast<redisReply*>(reply));
    }

    void notify_connected(std::error_code ec) {
        if (!connected_cb_ || quiet_) return;
        auto f = std::move(connected_cb_);
        asio::post(strand_, [f = std::move(f), ec] { f(ec); });
    }

    void arm_read() {
        if (reading_ || ac_ == nullptr) return;
        reading_ = true;
        fd_.async_wait(asio::posix::stream_descriptor::wait_read, [self = shared_from_this()](std::error_code ec) {
            self->reading_ = false;
            if (ec || self->ac_ == nullptr || !self->want_read_) return;
            redisAsyncHandleRead(self->ac_); // may free the context (cleanup clears ac_)
            if (self->ac_ != nullptr && self->want_read_) self->arm_read();
        });
    }

    void arm_write() {
        if (writing_ || ac_ == nullptr) return;
        writing_ = true;
        fd_.async_wait(asio::posix::stream_descriptor::wait_write, [self = shared_from_this()](std::error_code ec) {
            self->writing_ = false;
            if (ec || self->ac_ == nullptr || !self->want_write_) return;
            redisAsyncHandleWrite(self->ac_);
            if (self->ac_ != nullptr && self->want_write_) self->arm_write();
        });
    }

    strand_type strand_;
    asio::posix::stream_descriptor fd_;
    redisAsyncContext* ac_ = nullptr;
    bool want_read_ = false, want_write_ = false;
    bool reading_ = false, writing_ = false;
    bool connected_ = false;
    bool closing_ = false;
    bool quiet_ = false; // being destroyed: replies and notifications go nowhere
    std::size_t in_flight_ = 0;
    std::chrono::steady_clock::time_point last_reply_{};
    std::string reason_;
    std::function<void(std::error_code)> connected_cb_;
    std::function<void(std::error_code)> lost_cb_;
    std::vector<const char*> argv_;
    std::vector<std::size_t> lens_;
};

// Appends every message to the log and to each of its topics' streams, with
// one id (the log's) for all, in one atomic step. Trims as configured.
// KEYS: log, topic streams. ARGV: body, topics, log max length, topic max
// length (0: none), max age in ms (0: none), "~" or "=".
inline constexpr std::string_view redis_publish_script = R"lua(
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[6], ARGV[3], '*', 't', ARGV[2], 'm', ARGV[1])
local minid = nil
local age = tonumber(ARGV[5])
if age > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if now > age then minid = tostring(now - age) .. '-0' end
end
local maxlen = tonumber(ARGV[4])
for i = 2, #KEYS do
  if maxlen > 0 then
    redis.call('XADD', KEYS[i], 'MAXLEN', ARGV[6], ARGV[4], id, 'm', ARGV[1])
  else
    redis.call('XADD', KEYS[i], id, 'm', ARGV[1])
  end
  if minid then redis.call('XTRIM', KEYS[i], 'MINID', ARGV[6], minid) end
end
return id
)lua";

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
            if (!ok) return;
            switch (out->send(f)) {
            case delivery::accepted: return;
            case delivery::overflowed:
            case delivery::closed: ok = false; return;
            }
        };
        if (gap && options_.gap_event.is_set()) {
            message g;
            g.type = options_.gap_event;
            g.append_data(asked.empty() ? std::string_view("\n") : std::string_view(asked));
            send(frame(g));
        }
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
                if (ok && sid > rec->floor) ok = rec->out->send(f) == delivery::accepted;
            if (!ok) drop(id);
            else join(id, std::move(rec->out), std::move(rec->topics));
        }
    }

    void drop(std::uint64_t id) {
        std::lock_guard lock(mutex_);
        catch_ups_.erase(id);
    }

    void log(log_level level, const std::string& text) noexcept {
        if (!options_.log) return;
        try {
            options_.log(level, text);
        } catch (...) {
        }
    }

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

} // namespace detail

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

inline redis_options parse_redis_url(std::string_view url, std::error_code& ec, redis_options base) {
    ec.clear();
    constexpr std::string_view scheme = "redis://";
    if (!url.starts_with(scheme)) {
        ec = error::invalid_url;
        return base;
    }
    url.remove_prefix(scheme.size());
    std::string_view query;
    if (const std::size_t q = url.find('?'); q != std::string_view::npos) {
        query = url.substr(q + 1);
        url = url.substr(0, q);
    }
    std::string_view path;
    if (const std::size_t slash = url.find('/'); slash != std::string_view::npos) {
        path = url.substr(slash + 1);
        url = url.substr(0, slash);
    }
    if (const std::size_t at = url.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = url.substr(0, at);
        url = url.substr(at + 1);
        const std::size_t colon = userinfo.find(':');
        if (colon == std::string_view::npos) {
            base.password = std::string(userinfo);
        } else {
            base.username = std::string(userinfo.substr(0, colon));
            base.password = std::string(userinfo.substr(colon + 1));
        }
    }
    std::string_view host = url;
    if (!host.empty() && host.front() == '[') { // [::1]:6379
        const std::size_t close = host.find(']');
        if (close == std::string_view::npos) {
            ec = error::invalid_url;
            return base;
        }
        url = host.substr(close + 1);
        host = host.substr(1, close - 1);
    } else {
        const std::size_t colon = host.rfind(':');
        url = colon == std::string_view::npos ? std::string_view() : host.substr(colon);
        host = host.substr(0, colon);
    }
    if (host.empty()) {
        ec = error::invalid_url;
        return base;
    }
    base.host = std::string(host);
    if (!url.empty()) {
        if (url.front() != ':' || url.size() == 1) {
            ec = error::invalid_url;
            return base;
        }
        unsigned port = 0;
        const auto r = std::from_chars(url.data() + 1, url.data() + url.size(), port);
        if (r.ec != std::errc() || r.ptr != url.data() + url.size() || port == 0 || port > 65535) {
            ec = error::invalid_url;
            return base;
        }
        base.port = static_cast<unsigned short>(port);
    }
    if (!path.empty()) {
        int db = 0;
        const auto r = std::from_chars(path.data(), path.data() + path.size(), db);
        if (r.ec != std::errc() || r.ptr != path.data() + path.size() || db < 0) {
            ec = error::invalid_url;
            return base;
        }
        base.database = db;
    }
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view kv = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (kv.starts_with("prefix=") && kv.size() > 7) base.prefix = std::string(kv.substr(7));
        else if (!kv.empty()) {
            ec = error::invalid_url;
            return base;
        }
    }
    return base;
}

} // namespace sse

#endif
