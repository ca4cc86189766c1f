// backoff: how a client waits between reconnection attempts (go-sse's
// defaults), and, in detail, the running state of those waits and the
// parsing of a server's Retry-After.
#ifndef SSE_BACKOFF_HPP
#define SSE_BACKOFF_HPP

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace sse {

/// Reconnection delays (go-sse's defaults): the first wait is
/// initial_interval, each consecutive failure multiplies it, and every wait
/// is randomized by +/- jitter. The count and the elapsed time start again
/// once a stream delivers an event.
struct backoff {
    std::chrono::milliseconds initial_interval{500}; ///< the first wait
    double multiplier = 1.5;   ///< below 1 counts as 1 (a constant interval)
    double jitter = 0.5;       ///< fraction of the interval; 0 or -1: none
    std::chrono::milliseconds max_interval{0};     ///< 0: no cap
    std::chrono::milliseconds max_elapsed_time{0}; ///< 0: no limit
    int max_retries = 0;       ///< 0: unlimited; negative: never reconnect
};

namespace detail {

/// Parses Retry-After: delta seconds or an IMF-fixdate.
inline std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view v) {
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    if (v.empty()) return std::nullopt;
    if (v.find_first_not_of("0123456789") == std::string_view::npos) {
        if (v.size() > 9) return std::chrono::hours(24 * 365); // absurdly long: a year
        return std::chrono::seconds(std::stoll(std::string(v)));
    }
    // e.g. "Sun, 06 Nov 1994 08:49:37 GMT"
    char month[4] = {};
    int day = 0, year = 0, h = 0, m = 0, s = 0;
    if (std::sscanf(std::string(v).c_str(), "%*3s, %d %3s %d %d:%d:%d GMT", &day, month, &year, &h, &m, &s) != 6)
        return std::nullopt;
    static constexpr std::string_view months = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const std::size_t mi = months.find(month);
    if (mi == std::string_view::npos || mi % 3 != 0 || day < 1 || day > 31) return std::nullopt;
    // The date as UTC, without timegm (POSIX, not on Windows): days since the epoch by the civil calendar.
    const std::chrono::sys_days date = std::chrono::year(year) / std::chrono::month(static_cast<unsigned>(mi / 3 + 1)) /
                                       std::chrono::day(static_cast<unsigned>(day));
    const auto at = date + std::chrono::hours(h) + std::chrono::minutes(m) + std::chrono::seconds(s);
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    return std::chrono::seconds(at > now ? (at - now).count() : 0);
}

/// The delays of consecutive reconnection attempts.
class backoff_state {
public:
    explicit backoff_state(const backoff& b) : cfg_(b), interval_(b.initial_interval), rng_(std::random_device{}()) {
        start_ = std::chrono::steady_clock::now();
    }

    /// A stream made progress: count and elapsed time start again.
    void reset() {
        retries_ = 0;
        interval_ = base_ ? *base_ : cfg_.initial_interval;
        start_ = std::chrono::steady_clock::now();
    }

    /// The server's `retry:` becomes the base interval.
    void set_base(std::chrono::milliseconds ms) {
        base_ = std::max(ms, std::chrono::milliseconds(1));
        interval_ = *base_;
    }

    /// The next delay, or nothing when retries are off or used up.
    std::optional<std::chrono::milliseconds> next() {
        if (cfg_.max_retries < 0) return std::nullopt;
        if (cfg_.max_retries > 0 && retries_ >= cfg_.max_retries) return std::nullopt;
        ++retries_;
        double d = static_cast<double>(interval_.count());
        if (cfg_.jitter > 0 && cfg_.jitter < 1) {
            std::uniform_real_distribution<double> dist(d * (1 - cfg_.jitter), d * (1 + cfg_.jitter));
            d = dist(rng_);
        }
        auto delay = std::chrono::milliseconds(static_cast<long long>(d));
        if (cfg_.max_interval.count() > 0) delay = std::min(delay, cfg_.max_interval);
        const double grown = static_cast<double>(interval_.count()) * std::max(1.0, cfg_.multiplier);
        interval_ = std::chrono::milliseconds(static_cast<long long>(std::min(grown, 1e12)));
        if (cfg_.max_interval.count() > 0) interval_ = std::min(interval_, cfg_.max_interval);
        if (cfg_.max_elapsed_time.count() > 0 &&
            std::chrono::steady_clock::now() - start_ + delay > cfg_.max_elapsed_time)
            return std::nullopt;
        return delay;
    }

    int retries() const noexcept { return retries_; }

private:
    backoff cfg_;
    std::chrono::milliseconds interval_;
    std::optional<std::chrono::milliseconds> base_;
    int retries_ = 0;
    std::chrono::steady_clock::time_point start_;
    std::mt19937_64 rng_;
};

} // namespace detail

} // namespace sse

#endif
