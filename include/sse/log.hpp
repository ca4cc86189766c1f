// Logging without a logging library: the library reports what users should
// hear of (a session closed by its overflow policy, a lost Redis link) to a
// std::function the user supplies, or nowhere.
#ifndef SSE_LOG_HPP
#define SSE_LOG_HPP

#include <functional>
#include <string_view>

namespace sse {

/// How much a log line matters.
enum class log_level { debug, info, warning, error };

/// Where the library logs; no logging library is imposed.
using logger = std::function<void(log_level, std::string_view)>;

namespace detail {

/// Calls `log` if it is set. A logger that throws loses its line rather
/// than unwinding through the library's completion handlers.
inline void log_to(const logger& log, log_level level, std::string_view text) noexcept {
    if (!log) return;
    try {
        log(level, text);
    } catch (...) {
    }
}

} // namespace detail

} // namespace sse

#endif
