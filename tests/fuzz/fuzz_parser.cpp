// Differential fuzzing of sse::parser against the reference parser: the
// input is cut into chunks chosen by the fuzzer, and the events, comments,
// retry and last event id must match the reference exactly.
#include "reference_parser.hpp"

#include <sse/parser.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size < 1) return 0;
    // The first byte seeds the chunking; the rest is the stream.
    std::uint32_t seed = bytes[0] * 2654435761u + 1;
    const std::string_view input(reinterpret_cast<const char*>(bytes) + 1, size - 1);

    const reference::result want = reference::parse(input);

    sse::parser p(sse::parser_options{input.size() + 16}); // no limit within the input
    std::vector<reference::event> got;
    std::vector<std::string> comments;
    p.on_comment([&](std::string_view c) { comments.emplace_back(c); });
    auto on_event = [&](const sse::event_view& ev) {
        got.push_back({std::string(ev.type), std::string(ev.data), std::string(ev.last_event_id)});
    };
    std::size_t at = 0;
    while (at < input.size()) {
        seed = seed * 1103515245u + 12345u;
        const std::size_t n = std::min<std::size_t>(input.size() - at, 1 + (seed >> 16) % 37);
        p.feed(input.substr(at, n), on_event); // throws on error: no error is possible here
        at += n;
    }
    if (got != want.events || comments != want.comments) std::abort();
    if (want.retry.has_value() != p.reconnection_time().has_value()) std::abort();
    if (want.retry && *want.retry != p.reconnection_time()->count()) std::abort();
    if (want.last_event_id != p.last_event_id()) std::abort();
    return 0;
}
