// message: what a server publishes. An id, a type, a retry hint, and data and
// comment lines in the order they were appended; serialized with write_to.
#ifndef SSE_MESSAGE_HPP
#define SSE_MESSAGE_HPP

#include <sse/detail/config.hpp>
#include <sse/error.hpp>
#include <sse/field.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace sse {

/// One server-sent event to publish.
///
/// Wire format (LF line endings, fixed field order):
///   id: <id>        only if `id` is set (an empty id writes "id: ")
///   event: <type>   only if `type` is set
///   retry: <ms>     only if `retry` >= 1 ms
///   data: <line> / : <comment>, in the order appended
///   a blank line    only if anything was written before it
class message {
public:
    /// Whether a line is a `data:` line or a comment (`: text`).
    enum class line_kind : unsigned char { data, comment };

    /// One line of the message, borrowed from it.
    struct line {
        line_kind kind; ///< data or comment
        std::string_view text; ///< the line without field name or line break
        friend bool operator==(const line&, const line&) = default;
    };

    /// The `id:` field; unset by default (nothing written).
    event_id id;
    /// The `event:` field; unset by default (clients see "message").
    event_type type;
    /// The reconnection time hint; written only when at least 1 ms.
    std::chrono::milliseconds retry{0};

    /// An empty message: it serializes to nothing.
    message() = default;

    /// A message of one or more data lines (split as append_data splits),
    /// e.g. `server.publish(sse::message("hello"), "room")`.
    explicit message(std::string_view data) { append_data(data); }

    /// A typed message: `sse::message(sse::event_type("token"), json)`, the
    /// one-line form of setting `type` and calling append_data.
    message(event_type t, std::string_view data) : type(std::move(t)) { append_data(data); }

    /// Appends data lines. Each chunk is split at CR, LF and CRLF, and every
    /// piece becomes one `data:` line. An empty chunk adds nothing; a line
    /// break at the very end of a chunk does not add an empty line (append
    /// "\n" for one empty data line).
    template <class... Chunks>
    message& append_data(const Chunks&... chunks) {
        (append_lines(line_kind::data, std::string_view(chunks)), ...);
        return *this;
    }

    /// Appends comment lines, split like append_data.
    template <class... Chunks>
    message& append_comment(const Chunks&... chunks) {
        (append_lines(line_kind::comment, std::string_view(chunks)), ...);
        return *this;
    }

    /// Number of data and comment lines.
    std::size_t line_count() const noexcept { return lines_.size(); }

    /// The i-th line, 0 <= i < line_count().
    line line_at(std::size_t i) const noexcept {
        const entry& e = lines_[i];
        return {e.kind, std::string_view(text_).substr(e.offset, e.size)};
    }

    /// The data lines joined by LF: what a client receives as the event's data.
    std::string data() const;

    /// Removes every data and comment line (id, type and retry stay).
    void clear_lines() noexcept {
        lines_.clear();
        text_.clear();
    }

    /// True when the message serializes to nothing.
    bool empty() const noexcept {
        return lines_.empty() && !id.is_set() && !type.is_set() && retry.count() < 1;
    }

    /// The exact number of bytes write_to appends.
    std::size_t serialized_size() const noexcept;

    /// Appends the serialized message to `out`: one size computation, one
    /// resize, then straight copies (no allocation per line).
    void write_to(std::string& out) const;

    /// Writes the serialized message to `out`, which must have room for
    /// serialized_size() bytes. Returns the number of bytes written.
    std::size_t write_to(char* out) const noexcept;

    /// The serialized message.
    std::string to_string() const {
        std::string s;
        write_to(s);
        return s;
    }

    /// Parses the first message of `text` (up to its first blank line),
    /// keeping comments, so that parse(m.to_string()) == m for any message m
    /// whose retry is a whole number of milliseconds. A leading BOM and
    /// leading blank lines are skipped; unknown fields and ids holding NUL
    /// are ignored; the text must end with a line break or a blank line.
    /// Errors: sse::error::invalid_retry (not all ASCII digits, or too big),
    /// sse::error::unexpected_end (the last line is unterminated). On error
    /// the result is an empty message.
    static message parse(std::string_view text, std::error_code& ec);

    /// Like parse(text, ec) but throws std::system_error naming the field.
    static message parse(std::string_view text);

    friend bool operator==(const message& a, const message& b) noexcept {
        if (a.id != b.id || a.type != b.type || a.retry != b.retry || a.lines_.size() != b.lines_.size())
            return false;
        for (std::size_t i = 0; i < a.lines_.size(); ++i)
            if (a.line_at(i) != b.line_at(i)) return false;
        return true;
    }

private:
    struct entry {
        std::size_t offset;
        std::size_t size;
        line_kind kind;
    };

    void append_lines(line_kind kind, std::string_view chunk);
    void push_line(line_kind kind, std::string_view text) {
        lines_.push_back({text_.size(), text.size(), kind});
        text_.append(text);
    }

    std::string text_;          // every line's text, back to back
    std::vector<entry> lines_;  // where each line is in text_
};

} // namespace sse

#include <sse/impl/message.ipp>

#endif
