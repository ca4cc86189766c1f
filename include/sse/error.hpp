// Errors of the sse library: one enum, its std::error_category, and the
// hooks that make `std::error_code ec = sse::error::no_topic;` work.
#ifndef SSE_ERROR_HPP
#define SSE_ERROR_HPP

#include <sse/detail/config.hpp>

#include <string>
#include <system_error>
#include <type_traits>

namespace sse {

/// Every error the library reports itself. I/O errors keep their own
/// category (asio's, the system's); these are the protocol and API ones.
enum class error {
    // Fields and messages
    invalid_id = 1,      ///< an event id holds CR, LF or NUL
    invalid_type,        ///< an event type holds CR or LF
    invalid_retry,       ///< a retry field is not all ASCII digits, or overflows
    unexpected_end,      ///< input ended in the middle of a line
    event_too_large,     ///< an event exceeds the configured maximum event size

    // Providers and replayers
    provider_closed,     ///< the provider was shut down
    no_topic,            ///< publish or put without any topic
    no_id,               ///< a replayer without automatic ids got a message without id
    id_already_set,      ///< a replayer with automatic ids got a message with an id
    invalid_argument,    ///< a configuration value is out of range
    queue_overflow,      ///< a subscriber's queue exceeded its byte budget

    // HTTP, server and client
    bad_request,         ///< a malformed HTTP request
    head_too_large,      ///< request or response head exceeds its limit
    too_many_connections,///< the server is at its connection limit
    timeout,             ///< a configured timeout expired
    bad_status,          ///< the response status was not acceptable
    bad_content_type,    ///< the response content type was not text/event-stream
    bad_response,        ///< a malformed HTTP response
    invalid_url,         ///< a URL could not be parsed or has an unsupported scheme
    too_many_redirects,  ///< the redirect limit was reached
    retries_exhausted,   ///< reconnection gave up (max retries or max elapsed time)
    stream_ended,        ///< the server ended the stream cleanly

    // Providers with a backend (redis_provider)
    provider_unavailable,///< the provider's backend is unreachable now; try again later
    backend_error,       ///< the provider's backend answered with an error

    // Client proxies
    proxy_auth_required, ///< the HTTP proxy wants (other) credentials: 407
    proxy_refused,       ///< the HTTP proxy would not open a tunnel (CONNECT answered with an error)
};

/// The category of sse::error; its name() is "sse".
const std::error_category& error_category() noexcept;

/// Makes an error_code of the sse category (found by ADL).
inline std::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

namespace detail {
/// Throws std::system_error for `ec` with `what` as the detail text.
[[noreturn]] void throw_error(std::error_code ec, const char* what);
[[noreturn]] void throw_error(std::error_code ec, const std::string& what);
[[noreturn]] void throw_error(std::error_code ec);
} // namespace detail

} // namespace sse

/// Lets sse::error values convert to std::error_code.
template <>
struct std::is_error_code_enum<sse::error> : std::true_type {};

#include <sse/impl/error.ipp>

#endif
