// How redis_provider lays messages out in Redis: Stream ids, the topic list
// of a log entry, reading entries out of hiredis replies, the frame of an
// entry (id line + stored body), and the Lua script that appends a message
// to the log and its topics' streams in one step.
#ifndef SSE_DETAIL_REDIS_WIRE_HPP
#define SSE_DETAIL_REDIS_WIRE_HPP

#include <sse/frame.hpp>

#include <hiredis/hiredis.h>

#include <charconv>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace sse::detail {

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

} // namespace sse::detail

#endif
