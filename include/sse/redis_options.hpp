// redis_options: where a redis_provider connects and how it keeps messages,
// parse_redis_url (the same from a redis:// URL), and redis_stats. Needs no
// hiredis: a program can read its configuration without linking it.
#ifndef SSE_REDIS_OPTIONS_HPP
#define SSE_REDIS_OPTIONS_HPP

#include <sse/detail/url.hpp>
#include <sse/error.hpp>
#include <sse/field.hpp>
#include <sse/log.hpp>
#include <sse/provider.hpp>

#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>

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
inline redis_options parse_redis_url(std::string_view url, std::error_code& ec, redis_options base = {}) {
    ec.clear();
    detail::url_parts parts;
    if (!detail::split_url(url, parts) || !detail::iequals(parts.scheme, "redis")) {
        ec = error::invalid_url;
        return base;
    }
    if (parts.has_userinfo) {
        const std::string_view userinfo = parts.userinfo;
        const std::size_t colon = userinfo.find(':');
        if (colon == std::string_view::npos) {
            base.password = std::string(userinfo);
        } else {
            base.username = std::string(userinfo.substr(0, colon));
            base.password = std::string(userinfo.substr(colon + 1));
        }
    }
    std::string_view path = parts.rest, query;
    if (const std::size_t q = path.find('?'); q != std::string_view::npos) {
        query = path.substr(q + 1);
        path = path.substr(0, q);
    }
    if (!path.empty()) path.remove_prefix(1); // the '/'
    const std::string_view port = parts.port;
    base.host = std::string(parts.host);
    if (!port.empty()) {
        unsigned n = 0;
        const auto r = std::from_chars(port.data(), port.data() + port.size(), n);
        if (r.ec != std::errc() || r.ptr != port.data() + port.size() || n == 0 || n > 65535) {
            ec = error::invalid_url;
            return base;
        }
        base.port = static_cast<unsigned short>(n);
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

} // namespace sse

#endif
