// Differential fuzzing of sse::parser against the reference parser: the
// input is cut into chunks chosen by the fuzzer, and the events, comments,
// retry and last event id must match the reference exactly.
#include "reference_parser.hpp"

#include <sse/parser.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size < 1) return 0;
    // The first byte seeds the chunking; the rest is the stream. Its low two bits pick
    // the chunk sizes: small (1-37), up to 1 KiB, the whole input, or 1 byte up to all
    // of it, so the scanner's paths for long runs (64 and 256 bytes, then memchr) run too.
    std::uint32_t seed = bytes[0] * 2654435761u + 1;
    const unsigned mode = bytes[0] & 3u;
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
        const std::size_t rest = input.size() - at;
        const std::size_t span = mode == 0 ? 37 : mode == 1 ? 1024 : rest;
        const std::size_t n = mode == 2 ? rest : std::min<std::size_t>(rest, 1 + (seed >> 8) % span);
        // Each piece in its own exactly sized buffer: a read outside it is caught.
        const std::unique_ptr<char[]> piece(new char[n]);
        std::memcpy(piece.get(), input.data() + at, n);
        p.feed(std::string_view(piece.get(), n), on_event); // throws on error: no error is possible here
        at += n;
    }
    if (got != want.events || comments != want.comments) std::abort();
    if (want.retry.has_value() != p.reconnection_time().has_value()) std::abort();
    if (want.retry && *want.retry != p.reconnection_time()->count()) std::abort();
    if (want.last_event_id != p.last_event_id()) std::abort();
    return 0;
}
