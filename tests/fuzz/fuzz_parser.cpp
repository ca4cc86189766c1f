// Differential fuzzing of sse::parser against the reference parser: the
// input is cut into chunks chosen by the fuzzer, and the events, comments,
// retry and last event id must match the reference exactly, also when an
// event exceeds max_event_size (chosen by the fuzzer too: then everything
// before it, and event_too_large). Then finish() must say whether something
// was left unfinished, clear the failure, and the parser must take the same
// bytes again as a new stream that keeps the last event id and retry.
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
#include <system_error>
#include <vector>

namespace {

struct outcome {
    std::vector<reference::event> events;
    std::vector<std::string> comments;
    std::error_code ec;
};

// Feeds `input` in chunks (`mode`, `seed`: see below) until it is all fed or the parser fails.
outcome feed(sse::parser& p, std::string_view input, unsigned mode, std::uint32_t seed) {
    outcome out;
    p.on_comment([&](std::string_view c) { out.comments.emplace_back(c); });
    auto on_event = [&](const sse::event_view& ev) {
        out.events.push_back({std::string(ev.type), std::string(ev.data), std::string(ev.last_event_id)});
    };
    std::size_t at = 0;
    while (at < input.size() && !out.ec) {
        seed = seed * 1103515245u + 12345u;
        const std::size_t rest = input.size() - at;
        const std::size_t span = mode == 0 ? 37 : mode == 1 ? 1024 : rest;
        const std::size_t n = mode == 2 ? rest : std::min<std::size_t>(rest, 1 + (seed >> 8) % span);
        // Each piece in its own exactly sized buffer: a read outside it is caught.
        const std::unique_ptr<char[]> piece(new char[n]);
        std::memcpy(piece.get(), input.data() + at, n);
        p.feed(std::string_view(piece.get(), n), on_event, out.ec);
        at += n;
    }
    p.on_comment({}); // (the handler refers to `out`)
    return out;
}

void check(const outcome& got, const reference::result& want, const sse::parser& p) {
    if (got.events != want.events || got.comments != want.comments) std::abort();
    if (want.too_large != (got.ec == sse::error::event_too_large)) std::abort();
    if (!want.too_large && got.ec) std::abort();
    if (p.failure() != got.ec) std::abort();
    if (want.last_event_id != p.last_event_id()) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size < 2) return 0;
    // The first byte seeds the chunking; its low two bits pick the chunk sizes: small (1-37), up
    // to 1 KiB, the whole input, or 1 byte up to all of it, so the scanner's paths for long runs
    // (64 and 256 bytes, then memchr) run too. The second picks max_event_size: 0-127, 0-4032 in
    // steps of 64, or none within the input. The rest is the stream.
    std::uint32_t seed = bytes[0] * 2654435761u + 1;
    const unsigned mode = bytes[0] & 3u;
    const std::string_view input(reinterpret_cast<const char*>(bytes) + 2, size - 2);
    const std::size_t limit = bytes[1] < 128   ? bytes[1]
                              : bytes[1] < 192 ? std::size_t(bytes[1] - 128) * 64
                                               : input.size() + 16;

    // A stream that is only the start of a BOM ("\xEF", "\xEF\xBB") is undecided for a streaming
    // parser: it may still be the BOM, so it is not counted toward max_event_size, while the
    // reference, seeing the end, counts it (tests/test_parser.cpp checks the parser's side).
    if (input == std::string_view("\xEF", 1) || input == std::string_view("\xEF\xBB", 2)) return 0;

    reference::options ro;
    ro.max_event_size = limit;
    const reference::result want = reference::parse(input, ro);
    sse::parser p(sse::parser_options{limit});
    const outcome got = feed(p, input, mode, seed);
    check(got, want, p);
    if (want.retry.has_value() != p.reconnection_time().has_value()) std::abort();
    if (want.retry && *want.retry != p.reconnection_time()->count()) std::abort();

    // The stream ends: finish() tells whether it dropped something unfinished (after a failure
    // the state at the failure is unspecified), and clears the failure.
    const bool dropped = p.finish();
    if (!want.too_large && dropped != want.incomplete) std::abort();
    if (p.failure()) std::abort();
    if (p.last_event_id() != want.last_event_id) std::abort();

    // A new stream on the same parser (a reconnection): the same bytes, in other chunks, parse as
    // the reference says for a stream that starts with the kept last event id and retry.
    ro.last_event_id = want.last_event_id;
    const reference::result again = reference::parse(input, ro);
    const outcome got_again = feed(p, input, (mode + 1) & 3u, seed ^ 0x9e3779b9u);
    check(got_again, again, p);
    const std::optional<long long> retry = again.retry ? again.retry : want.retry;
    if (retry.has_value() != p.reconnection_time().has_value()) std::abort();
    if (retry && *retry != p.reconnection_time()->count()) std::abort();
    return 0;
}
