#ifndef SSE_IMPL_ERROR_IPP
#define SSE_IMPL_ERROR_IPP

#include <sse/error.hpp>

namespace sse {
namespace detail {

class error_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "sse"; }

    std::string message(int ev) const override {
        switch (static_cast<error>(ev)) {
        case error::invalid_id: return "invalid event id: it must not contain CR, LF or NUL";
        case error::invalid_type: return "invalid event type: it must not contain CR or LF";
        case error::invalid_retry: return "invalid retry field: it must be ASCII digits that fit in 64 bits";
        case error::unexpected_end: return "unexpected end of input in the middle of a line";
        case error::event_too_large: return "event too large: it exceeds the configured max_event_size";
        case error::provider_closed: return "the provider is closed";
        case error::no_topic: return "no topic given";
        case error::no_id: return "message has no id and the replayer does not assign ids";
        case error::id_already_set: return "message already has an id and the replayer assigns ids";
        case error::invalid_argument: return "invalid argument";
        case error::queue_overflow: return "subscriber queue exceeded its byte budget";
        case error::bad_request: return "bad request";
        case error::head_too_large: return "HTTP head too large";
        case error::too_many_connections: return "too many connections";
        case error::timeout: return "timed out";
        case error::bad_status: return "unexpected HTTP status";
        case error::bad_content_type: return "unexpected content type: expected text/event-stream";
        case error::bad_response: return "malformed HTTP response";
        case error::invalid_url: return "invalid or unsupported URL";
        case error::too_many_redirects: return "too many redirects";
        case error::retries_exhausted: return "gave up reconnecting";
        case error::stream_ended: return "the server ended the stream";
        case error::provider_unavailable: return "the provider's backend is unreachable: try again later";
        case error::backend_error: return "the provider's backend answered with an error";
        case error::proxy_auth_required: return "the HTTP proxy requires authentication (407)";
        case error::proxy_refused: return "the HTTP proxy refused to open a tunnel";
        }
        return "unknown sse error";
    }
};

[[noreturn]] inline void throw_error(std::error_code ec, const char* what) {
    throw std::system_error(ec, what);
}

[[noreturn]] inline void throw_error(std::error_code ec, const std::string& what) {
    throw std::system_error(ec, what);
}

[[noreturn]] inline void throw_error(std::error_code ec) {
    throw std::system_error(ec);
}

} // namespace detail

inline const std::error_category& error_category() noexcept {
    static const detail::error_category_impl instance;
    return instance;
}

} // namespace sse

#endif
