// A slow, obviously correct event-stream parser written straight from the
// WHATWG steps, for differential fuzzing: it takes the whole input at once.
#ifndef SSE_FUZZ_REFERENCE_PARSER_HPP
#define SSE_FUZZ_REFERENCE_PARSER_HPP

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reference {

struct event {
    std::string type, data, id;
    bool operator==(const event&) const = default;
};

struct result {
    std::vector<event> events;
    std::optional<long long> retry;
    std::string last_event_id;
    std::vector<std::string> comments;
    bool too_large = false;  // sse::error::event_too_large: everything above is what came before it
    bool incomplete = false; // an event, or a line, was left unfinished (what parser::finish() drops)
};

struct options {
    /// sse::parser_options::max_event_size, as sse::parser counts it: each field line of an
    /// event costs its length plus one (comments and the blank line are free, but a comment line
    /// longer than the limit fails too); an unterminated last line costs its length. Empty: none.
    std::optional<std::size_t> max_event_size;
    /// The last event id of the stream before this one (sse::parser keeps it across finish()).
    std::string last_event_id;
};

inline result parse(std::string_view input, const options& o = {}) {
    result r;
    r.last_event_id = o.last_event_id;
    const std::size_t limit = o.max_event_size.value_or(static_cast<std::size_t>(-1));
    // One leading BOM is ignored.
    if (input.substr(0, 3) == "\xEF\xBB\xBF") input.remove_prefix(3);
    // Lines end at CRLF, LF or CR; an unterminated last line is not a line.
    std::vector<std::string> lines;
    std::string current;
    for (std::size_t i = 0; i < input.size(); ++i) {
        const char c = input[i];
        if (c == '\r') {
            lines.push_back(current);
            current.clear();
            if (i + 1 < input.size() && input[i + 1] == '\n') ++i;
        } else if (c == '\n') {
            lines.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    std::string data, type, id_buffer = o.last_event_id;
    std::size_t event_size = 0;
    for (const std::string& line : lines) {
        if (line.empty()) { // dispatch
            event_size = 0;
            r.last_event_id = id_buffer;
            if (data.empty()) {
                type.clear();
                continue;
            }
            if (data.back() == '\n') data.pop_back();
            r.events.push_back({type.empty() ? "message" : type, data, r.last_event_id});
            data.clear();
            type.clear();
            continue;
        }
        if (line[0] == ':') {
            if (line.size() > limit) {
                r.too_large = true;
                return r;
            }
            std::string text = line.substr(1);
            if (!text.empty() && text[0] == ' ') text.erase(0, 1);
            r.comments.push_back(text);
            continue;
        }
        event_size += line.size() + 1;
        if (event_size > limit) {
            r.too_large = true;
            return r;
        }
        std::string name = line, value;
        const std::size_t colon = line.find(':');
        if (colon != std::string::npos) {
            name = line.substr(0, colon);
            value = line.substr(colon + 1);
            if (!value.empty() && value[0] == ' ') value.erase(0, 1);
        }
        if (name == "event") {
            type = value;
        } else if (name == "data") {
            data += value;
            data += '\n';
        } else if (name == "id") {
            if (value.find('\0') == std::string::npos) id_buffer = value;
        } else if (name == "retry") {
            bool digits = !value.empty();
            for (char c : value) digits = digits && c >= '0' && c <= '9';
            if (digits && value.size() <= 18) r.retry = std::stoll(value); // longer: may not fit, ignored
            else if (digits) {
                // 19+ digits: fits only if <= the largest long long
                const std::string max = "9223372036854775807";
                const std::string v = value.substr(value.find_first_not_of('0') == std::string::npos ? value.size() - 1 : value.find_first_not_of('0'));
                if (v.size() < max.size() || (v.size() == max.size() && v <= max)) r.retry = std::stoll(v);
            }
        }
    }
    if (!current.empty()) { // the unterminated last line, as far as it came
        if (current.size() + (current[0] == ':' ? 0 : event_size) > limit) {
            r.too_large = true;
            return r;
        }
    }
    // Left unfinished: a field line since the last blank line (it counts toward an event that
    // never ended), or an unterminated line.
    r.incomplete = event_size > 0 || !current.empty();
    return r;
}

} // namespace reference

#endif
