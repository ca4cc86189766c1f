// A thin wrapper over llhttp for HTTP/1.1 requests (server) and responses
// (client): collects the head under a byte limit, delivers or collects the
// body, and stops after one message so pipelined bytes are left alone.
#ifndef SSE_DETAIL_HTTP_PARSER_HPP
#define SSE_DETAIL_HTTP_PARSER_HPP

#include <sse/error.hpp>
#include <sse/http.hpp>

#include <llhttp.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>

namespace sse::detail {

class http_parser {
public:
    enum class kind { request, response };
    enum class result {
        need_more, ///< everything was consumed; the message is not complete
        head,      ///< the head is complete (only with pause_after_head); call feed again for the body
        complete,  ///< one whole message was parsed
        failed,    ///< see error() and reason()
    };

    http_parser(kind k, std::size_t max_head, std::size_t max_body) : kind_(k), max_head_(max_head), max_body_(max_body) {
        llhttp_settings_init(&settings_);
        settings_.on_message_begin = &on_message_begin;
        settings_.on_url = &on_url;
        settings_.on_status = &on_status;
        settings_.on_header_field = &on_header_field;
        settings_.on_header_value = &on_header_value;
        settings_.on_headers_complete = &on_headers_complete;
        settings_.on_body = &on_body;
        settings_.on_message_complete = &on_message_complete;
        llhttp_init(&parser_, k == kind::request ? HTTP_REQUEST : HTTP_RESPONSE, &settings_);
        parser_.data = this;
    }

    http_parser(const http_parser&) = delete;
    http_parser& operator=(const http_parser&) = delete;

    /// Stop with result::head once the head is complete (the client checks
    /// the status before reading the body).
    bool pause_after_head = false;

    /// If set, body bytes go here instead of into the request's body.
    std::function<void(std::string_view)> on_body_data;

    /// For a response to a HEAD request, or 204/304: no body follows.
    void expect_no_body() noexcept { no_body_ = true; }

    /// Parses from `data`; `consumed` is how many bytes were used.
    result feed(const char* data, std::size_t size, std::size_t& consumed) {
        consumed = 0;
        if (failed_) return result::failed;
        if (!head_done_ && head_bytes_ + size > max_head_) {
            // Parse only up to the limit: if the head is not done by then, it is too large.
            const std::size_t allowed = max_head_ - head_bytes_;
            const result r = execute(data, allowed, consumed);
            if (r == result::need_more && !head_done_) return fail(sse::error::head_too_large, "head too large");
            if (r != result::need_more || consumed == size) return r;
            // The head ended within the limit and the message goes on: parse the rest too
            // (need_more promises that everything was consumed).
            std::size_t more = 0;
            const result rest = execute(data + consumed, size - consumed, more);
            consumed += more;
            return rest;
        }
        return execute(data, size, consumed);
    }

    /// The input ended (for close-delimited response bodies).
    result finish() {
        if (failed_) return result::failed;
        const llhttp_errno_t e = llhttp_finish(&parser_);
        if (e == HPE_OK) return message_done_ ? result::complete : result::need_more;
        if (e == HPE_PAUSED) return result::complete;
        return fail(kind_ == kind::request ? sse::error::bad_request : sse::error::bad_response, llhttp_get_error_reason(&parser_));
    }

    /// Ready for the next message on the same connection.
    void reset_message() {
        request_ = {};
        status_ = 0;
        response_headers_.clear();
        field_.clear();
        value_.clear();
        in_value_ = false;
        head_done_ = message_done_ = no_body_ = false;
        head_bytes_ = body_bytes_ = 0;
        llhttp_resume(&parser_);
        llhttp_reset(&parser_);
    }

    request& req() noexcept { return request_; }
    unsigned status_code() const noexcept { return status_; }
    const std::vector<header>& response_headers() const noexcept { return response_headers_; }
    bool head_done() const noexcept { return head_done_; }
    bool keep_alive() const noexcept { return llhttp_should_keep_alive(&parser_) != 0; }

    std::error_code error() const noexcept { return error_; }
    /// The failure was a request body over max_body (HTTP 413).
    bool body_too_large() const noexcept { return body_too_large_; }
    const std::string& reason() const noexcept { return reason_; }

private:
    static http_parser& self(llhttp_t* p) noexcept { return *static_cast<http_parser*>(p->data); }

    result execute(const char* data, std::size_t size, std::size_t& consumed) {
        // Without bytes llhttp still completes a message whose empty body follows the head
        // (Content-Length: 0), which it otherwise finishes only on the next byte.
        if (size == 0 && !head_done_) return result::need_more;
        const llhttp_errno_t e = llhttp_execute(&parser_, data, size);
        if (e == HPE_OK) {
            consumed = size;
            if (!head_done_) head_bytes_ += size;
            return result::need_more;
        }
        if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
            const char* stop = llhttp_get_error_pos(&parser_);
            consumed = stop ? static_cast<std::size_t>(stop - data) : size;
            if (message_done_) return result::complete;
            llhttp_resume(&parser_);
            return result::head;
        }
        if (e == HPE_USER) return result::failed; // a callback already called fail()
        return fail(kind_ == kind::request ? sse::error::bad_request : sse::error::bad_response, llhttp_get_error_reason(&parser_));
    }

    result fail(sse::error e, std::string why) {
        failed_ = true;
        error_ = e;
        reason_ = std::move(why);
        return result::failed;
    }

    void commit_header() {
        if (!in_value_ && field_.empty()) return;
        (kind_ == kind::request ? request_.headers : response_headers_).push_back({std::move(field_), std::move(value_)});
        field_.clear();
        value_.clear();
        in_value_ = false;
    }

    static int on_message_begin(llhttp_t* p) {
        self(p).request_.target.clear(); // a request's target defaults to "/"
        return 0;
    }

    static int on_url(llhttp_t* p, const char* at, std::size_t n) {
        self(p).request_.target.append(at, n);
        return 0;
    }
    static int on_status(llhttp_t*, const char*, std::size_t) { return 0; }

    static int on_header_field(llhttp_t* p, const char* at, std::size_t n) {
        http_parser& s = self(p);
        if (s.in_value_) s.commit_header();
        s.field_.append(at, n);
        return 0;
    }
    static int on_header_value(llhttp_t* p, const char* at, std::size_t n) {
        http_parser& s = self(p);
        s.in_value_ = true;
        s.value_.append(at, n);
        return 0;
    }
    static int on_headers_complete(llhttp_t* p) {
        http_parser& s = self(p);
        s.commit_header();
        s.head_done_ = true;
        if (s.kind_ == kind::request) {
            s.request_.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
            s.request_.version = p->http_major * 10u + p->http_minor;
        } else {
            s.status_ = p->status_code;
        }
        if (s.pause_after_head) return HPE_PAUSED;
        return s.no_body_ ? 1 : 0;
    }
    static int on_body(llhttp_t* p, const char* at, std::size_t n) {
        http_parser& s = self(p);
        s.body_bytes_ += n;
        if (s.on_body_data) {
            s.on_body_data(std::string_view(at, n));
            return 0;
        }
        if (s.body_bytes_ > s.max_body_) {
            s.body_too_large_ = true;
            s.fail(sse::error::bad_request, "body too large");
            return HPE_USER;
        }
        s.request_.body.append(at, n);
        return 0;
    }
    static int on_message_complete(llhttp_t* p) {
        self(p).message_done_ = true;
        return HPE_PAUSED; // one message at a time: pipelined bytes stay for the next
    }

    kind kind_;
    std::size_t max_head_;
    std::size_t max_body_;
    llhttp_t parser_{};
    llhttp_settings_t settings_{};
    request request_;
    unsigned status_ = 0;
    std::vector<header> response_headers_;
    std::string field_, value_;
    bool in_value_ = false;
    bool head_done_ = false;
    bool message_done_ = false;
    bool no_body_ = false;
    bool failed_ = false;
    bool body_too_large_ = false;
    std::size_t head_bytes_ = 0;
    std::size_t body_bytes_ = 0;
    std::error_code error_;
    std::string reason_;
};

} // namespace sse::detail

#endif
