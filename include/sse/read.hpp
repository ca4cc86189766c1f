// sse::read: the events of a whole byte source as a C++20 input range — the
// one-liner for reading an LLM's streamed response.
//
//     for (const sse::event& ev : sse::read(body)) { ... }      // throws on error
//     std::error_code ec;
//     for (const sse::event& ev : sse::read(body, ec)) { ... }  // stops, sets ec
#ifndef SSE_READ_HPP
#define SSE_READ_HPP

#include <sse/error.hpp>
#include <sse/event.hpp>
#include <sse/parser.hpp>

#include <asio/buffer.hpp>
#include <asio/error.hpp>

#include <concepts>
#include <cstddef>
#include <istream>
#include <iterator>
#include <memory>
#include <ranges>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>
#include <version>

namespace sse {

/// Configuration of sse::read.
struct read_options {
    /// The largest event accepted (see parser_options::max_event_size).
    std::size_t max_event_size = parser::default_max_event_size;
    /// Bytes asked of the source per read.
    std::size_t buffer_size = 16 * 1024;
};

/// A stream with Asio's SyncReadStream `read_some(buffer, error_code&)`.
template <class S>
concept sync_read_stream = requires(S& s, asio::mutable_buffer b, std::error_code& ec) {
    { s.read_some(b, ec) } -> std::convertible_to<std::size_t>;
};

namespace detail {

// A byte source yields chunks: next(ec) returns the next bytes, or an empty
// view at the end of input or on error (then ec is set).

/// A whole text, given at once (viewed, or owned when passed as an rvalue string).
template <class Text>
class text_source {
public:
    explicit text_source(Text text) : text_(std::move(text)) {}
    std::string_view next(std::error_code&) {
        if (done_) return {};
        done_ = true;
        return std::string_view(text_);
    }

private:
    Text text_;
    bool done_ = false;
};

/// A std::istream: returns what is available without waiting for a full buffer.
class istream_source {
public:
    istream_source(std::istream& is, std::size_t size) : is_(&is), buf_(size < 2 ? 2 : size) {}
    std::string_view next(std::error_code& ec) {
        is_->read(buf_.data(), 1); // waits for at least one byte
        if (is_->gcount() == 0) {
            if (is_->bad()) ec = std::make_error_code(std::errc::io_error);
            return {};
        }
        const std::streamsize more = is_->readsome(buf_.data() + 1, static_cast<std::streamsize>(buf_.size() - 1));
        if (is_->bad()) {
            ec = std::make_error_code(std::errc::io_error);
            return {};
        }
        return {buf_.data(), static_cast<std::size_t>(1 + (more > 0 ? more : 0))};
    }

private:
    std::istream* is_;
    std::vector<char> buf_;
};

/// An Asio SyncReadStream (a socket, a pipe, an SSL stream, ...): eof ends it.
template <class Stream>
class stream_source {
public:
    stream_source(Stream& s, std::size_t size) : s_(&s), buf_(size < 1 ? 1 : size) {}
    std::string_view next(std::error_code& ec) {
        while (true) {
            const std::size_t n = s_->read_some(asio::buffer(buf_.data(), buf_.size()), ec);
            if (ec) {
                if (ec == asio::error::eof) ec.clear();
                return {};
            }
            if (n > 0) return {buf_.data(), n};
        }
    }

private:
    Stream* s_;
    std::vector<char> buf_;
};

} // namespace detail

/// The input range sse::read returns: owning sse::event values, in stream
/// order. Each event is valid until the iterator is incremented. Iteration
/// ends at the end of the input (an unterminated last event is dropped, as
/// the spec says) or at the first error, which is thrown as
/// std::system_error or, with the error_code form, stored and iteration ends.
template <class Source>
class event_reader
#if defined(__cpp_lib_ranges)
    // (libc++ before 15 has no std::ranges::view_interface; range-for works without it)
    : public std::ranges::view_interface<event_reader<Source>>
#endif
{
public:
    /// An input iterator over the events; compare it with end().
    class iterator {
    public:
        using value_type = event;
        using difference_type = std::ptrdiff_t;
        using reference = event&;
        using iterator_concept = std::input_iterator_tag;

        /// A singular iterator (for the iterator concepts).
        iterator() = default;
        /// The current event, valid until the next increment.
        event& operator*() const { return r_->events_[r_->next_]; }
        event* operator->() const { return &r_->events_[r_->next_]; }
        /// The next event; reads and parses more input as needed (may block, may throw).
        iterator& operator++() {
            r_->advance();
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
            return it.done();
        }

    private:
        friend class event_reader;
        explicit iterator(event_reader* r) : r_(r) {}
        bool done() const noexcept { return r_->at_end(); }
        event_reader* r_ = nullptr;
    };

    /// Use sse::read, which makes the source; errors go to `*ec` if given, else are thrown.
    event_reader(Source source, const read_options& options, std::error_code* ec)
        : source_(std::move(source)), parser_(parser_options{options.max_event_size}), ec_(ec) {
        if (ec_) ec_->clear();
    }

    /// Movable before iteration starts (iterators point into the reader).
    event_reader(event_reader&&) = default;
    event_reader& operator=(event_reader&&) = default;

    /// Reads up to the first event (so it may block and may throw).
    iterator begin() {
        if (!started_) {
            started_ = true;
            fill();
        }
        return iterator(this);
    }
    /// Where the events end: the end of the input, or the first error.
    std::default_sentinel_t end() const noexcept { return {}; }

    /// The stream's last event id so far.
    std::string_view last_event_id() const noexcept { return parser_.last_event_id(); }

private:
    bool at_end() const noexcept { return next_ == count_; }

    void advance() {
        if (next_ < count_ && ++next_ == count_) fill();
    }

    // Reads and parses until at least one event is ready, or the end.
    void fill() {
        next_ = count_ = 0;
        while (count_ == 0) {
            if (pending_) return report(std::exchange(pending_, {}));
            if (done_) return;
            std::error_code ec;
            const std::string_view chunk = source_.next(ec);
            if (ec) return report(ec);
            if (chunk.empty()) {
                done_ = true;
                parser_.finish();
                return;
            }
            parser_.feed(
                chunk,
                [this](const event_view& ev) {
                    if (count_ == events_.size()) events_.emplace_back(ev);
                    else events_[count_] = ev; // reuses the strings' capacity
                    ++count_;
                },
                ec);
            if (ec) pending_ = ec; // deliver the events before the failure first
        }
    }

    void report(std::error_code ec) {
        done_ = true;
        if (ec_) {
            *ec_ = ec;
            return;
        }
        if (ec == error::event_too_large)
            detail::throw_error(ec, "sse::read: an event exceeds max_event_size (" +
                                        std::to_string(parser_.options().max_event_size) + " bytes)");
        detail::throw_error(ec, "sse::read");
    }

    Source source_;
    parser parser_;
    std::vector<event> events_; // the events of the last chunk; reused
    std::size_t next_ = 0;
    std::size_t count_ = 0;
    std::error_code pending_;
    std::error_code* ec_;
    bool started_ = false;
    bool done_ = false;
};

namespace detail {
template <class Source>
auto make_source(Source&& source, const read_options& options) {
    using S = std::remove_cvref_t<Source>;
    if constexpr (std::is_base_of_v<std::istream, S>) {
        static_assert(std::is_lvalue_reference_v<Source>, "sse::read: pass the stream as an lvalue");
        return istream_source(source, options.buffer_size);
    } else if constexpr (sync_read_stream<S>) {
        static_assert(std::is_lvalue_reference_v<Source>, "sse::read: pass the stream as an lvalue");
        return stream_source<S>(source, options.buffer_size);
    } else if constexpr (std::is_same_v<S, std::string> && !std::is_lvalue_reference_v<Source>) {
        return text_source<std::string>(std::move(source)); // keep a temporary string alive
    } else {
        static_assert(std::is_convertible_v<Source, std::string_view>,
                      "sse::read: the source must be a std::istream, an Asio SyncReadStream or text");
        return text_source<std::string_view>(std::string_view(source));
    }
}
} // namespace detail

/// The events of `source` — a std::istream, an Asio SyncReadStream (read
/// until eof) or a whole text — as an input range. Errors (I/O,
/// sse::error::event_too_large) are thrown as std::system_error.
template <class Source>
auto read(Source&& source, const read_options& options = {}) {
    using S = decltype(detail::make_source(std::forward<Source>(source), options));
    return event_reader<S>(detail::make_source(std::forward<Source>(source), options), options, nullptr);
}

/// Like read(source), but an error ends the iteration and is stored in `ec`
/// (cleared when reading starts).
template <class Source>
auto read(Source&& source, std::error_code& ec, const read_options& options = {}) {
    using S = decltype(detail::make_source(std::forward<Source>(source), options));
    return event_reader<S>(detail::make_source(std::forward<Source>(source), options), options, &ec);
}

} // namespace sse

#endif
