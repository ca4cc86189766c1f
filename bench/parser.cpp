// Parser throughput: sse::parser fed in 64 KiB and 1 KiB chunks against a plain
// memchr line scan of the same bytes (the practical ceiling) and the npm
// eventsource-parser run by Node in the same run, on three deterministic corpora.
//
//   parser [--dir DIR] [--size-mib 64] [--reps 5] [--node bench/eventsource-parser.mjs | --no-node]
//   taskset -c 1 build/bench/bench/parser --dir /tmp/sse-corpus --node bench/eventsource-parser.mjs
//
// Exits non-zero only if a parser miscounts events (the goals are printed, not asserted).
#include <sse/parser.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <string>
#include <string_view>
#include <vector>

// Counts heap allocations, to show none happen per event in steady state.
static std::atomic<std::uint64_t> allocations{0};
void* operator new(std::size_t n) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

struct splitmix {
    std::uint64_t s;
    std::uint64_t next() {
        std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

struct corpus {
    std::string name;
    std::string bytes;
    std::size_t events = 0;
};

std::string text(splitmix& r, std::size_t len) {
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;-_";
    std::string s(len, ' ');
    for (char& c : s) c = alphabet[r.below(sizeof alphabet - 1)];
    return s;
}

// OpenAI-style streamed chunks: `data: {json ~150 B}` events, ending with [DONE].
corpus make_llm(std::size_t size) {
    corpus c{"llm", {}, 0};
    splitmix r{1};
    static const char* words[] = {"Hello", " world", " the", " quick", " caf\xC3\xA9", " \xE6\x97\xA5\xE6\x9C\xAC",
                                  " \\\"quoted\\\"", "\\n", " tokens", " stream"};
    while (c.bytes.size() < size) {
        c.bytes += "data: {\"id\":\"chatcmpl-";
        c.bytes += text(r, 12);
        c.bytes += "\",\"object\":\"chat.completion.chunk\",\"created\":17000";
        c.bytes += std::to_string(10000 + r.below(89999));
        c.bytes += ",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"";
        c.bytes += words[r.below(10)];
        c.bytes += "\"},\"finish_reason\":null}]}\n\n";
        ++c.events;
    }
    c.bytes += "data: [DONE]\n\n";
    ++c.events;
    return c;
}

// 64 KiB events: 64 lines of `data: <1017 chars>`.
corpus make_big(std::size_t size) {
    corpus c{"big", {}, 0};
    splitmix r{2};
    const std::string line = "data: " + text(r, 1017) + "\n";
    while (c.bytes.size() < size) {
        for (int i = 0; i < 64; ++i) c.bytes += line;
        c.bytes += "\n";
        ++c.events;
    }
    return c;
}

// CRLF; ids (70%), types (40%), retry (3%), unknown fields (2%), comments,
// comment-only blocks (5%, not events), 1-4 data lines of 10-200 chars.
corpus make_fields(std::size_t size) {
    corpus c{"fields", {}, 0};
    splitmix r{3};
    std::uint64_t id = 0;
    while (c.bytes.size() < size) {
        if (r.below(100) < 5) {
            c.bytes += ": keep-alive\r\n\r\n";
            continue;
        }
        if (r.below(100) < 70) c.bytes += "id: " + std::to_string(++id) + "\r\n";
        if (r.below(100) < 40) c.bytes += "event: update-" + std::to_string(r.below(8)) + "\r\n";
        if (r.below(100) < 3) c.bytes += "retry: " + std::to_string(1000 + r.below(9000)) + "\r\n";
        if (r.below(100) < 2) c.bytes += "x-unknown: " + text(r, 12) + "\r\n";
        if (r.below(100) < 10) c.bytes += ": note " + text(r, 20) + "\r\n";
        const std::size_t lines = 1 + r.below(4);
        for (std::size_t i = 0; i < lines; ++i) {
            c.bytes += r.below(100) < 10 ? "data:" : "data: ";
            c.bytes += text(r, 10 + r.below(191));
            c.bytes += "\r\n";
        }
        c.bytes += "\r\n";
        ++c.events;
    }
    return c;
}

struct run_result {
    double ns = 0;
    std::size_t events = 0;
    std::size_t data_bytes = 0;
    std::uint64_t allocations = 0;
};

run_result parse_chunked(const std::string& bytes, std::size_t chunk) {
    sse::parser p;
    run_result r;
    const std::uint64_t a0 = allocations.load();
    const auto t0 = std::chrono::steady_clock::now();
    std::string_view rest = bytes;
    auto on_event = [&](const sse::event_view& ev) {
        ++r.events;
        r.data_bytes += ev.data.size();
    };
    while (!rest.empty()) {
        const std::string_view piece = rest.substr(0, chunk);
        p.feed(piece, on_event);
        rest.remove_prefix(piece.size());
    }
    r.ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    r.allocations = allocations.load() - a0;
    return r;
}

run_result memchr_scan(const std::string& bytes) {
    run_result r;
    const auto t0 = std::chrono::steady_clock::now();
    const char* p = bytes.data();
    const char* const end = p + bytes.size();
    std::size_t lines = 0;
    while (p < end) {
        const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
        if (!nl) break;
        ++lines;
        p = static_cast<const char*>(nl) + 1;
    }
    r.ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    r.events = lines;
    return r;
}

template <class F>
run_result median_of(int reps, F f) {
    f(); // warm-up
    std::vector<run_result> runs;
    for (int i = 0; i < reps; ++i) runs.push_back(f());
    std::sort(runs.begin(), runs.end(), [](const run_result& a, const run_result& b) { return a.ns < b.ns; });
    return runs[runs.size() / 2];
}

double mbps(std::size_t bytes, double ns) { return static_cast<double>(bytes) / (ns / 1e9) / 1e6; }

// Ensures DIR/name holds exactly these bytes (regenerated when not).
std::string materialize(const std::filesystem::path& dir, const corpus& c) {
    const auto path = dir / c.name;
    std::error_code ec;
    if (std::filesystem::file_size(path, ec) != c.bytes.size() || ec) {
        std::ofstream out(path, std::ios::binary);
        out.write(c.bytes.data(), static_cast<std::streamsize>(c.bytes.size()));
    }
    return path.string();
}

} // namespace

int main(int argc, char** argv) {
    std::filesystem::path dir = "corpus";
    std::size_t size_mib = 64;
    int reps = 5;
    std::string node_script = "bench/eventsource-parser.mjs";
    bool use_node = true;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (a == "--size-mib" && i + 1 < argc) size_mib = std::strtoul(argv[++i], nullptr, 10);
        else if (a == "--reps" && i + 1 < argc) reps = std::atoi(argv[++i]);
        else if (a == "--node" && i + 1 < argc) node_script = argv[++i];
        else if (a == "--no-node") use_node = false;
        else {
            std::fprintf(stderr, "usage: %s [--dir DIR] [--size-mib N] [--reps N] [--node SCRIPT | --no-node]\n", argv[0]);
            return 2;
        }
    }
    std::filesystem::create_directories(dir);
    std::printf("bench/parser: corpora of %zu MiB in %s, median of %d passes; MB = 10^6 bytes\n", size_mib,
                dir.c_str(), reps);

    const std::size_t size = size_mib * 1024 * 1024;
    std::vector<corpus> corpora;
    corpora.push_back(make_llm(size));
    corpora.push_back(make_big(size));
    corpora.push_back(make_fields(size));

    bool ok = true;
    struct row {
        std::string name;
        std::size_t bytes, events;
        run_result k64, k1, scan;
        double esp_mbps = 0;
    };
    std::vector<row> rows;
    std::vector<std::string> files;
    for (const corpus& c : corpora) {
        files.push_back(materialize(dir, c));
        row r{c.name, c.bytes.size(), c.events, {}, {}, {}};
        r.k64 = median_of(reps, [&] { return parse_chunked(c.bytes, 64 * 1024); });
        r.k1 = median_of(reps, [&] { return parse_chunked(c.bytes, 1024); });
        r.scan = median_of(reps, [&] { return memchr_scan(c.bytes); });
        if (r.k64.events != c.events || r.k1.events != c.events || r.k64.data_bytes != r.k1.data_bytes) {
            std::fprintf(stderr, "%s: events 64K=%zu 1K=%zu expected %zu (data bytes %zu vs %zu)\n", c.name.c_str(),
                         r.k64.events, r.k1.events, c.events, r.k64.data_bytes, r.k1.data_bytes);
            ok = false;
        }
        rows.push_back(r);
    }

    // One 8 MiB single-line event: in 1 KiB chunks vs in one piece (linear, no rescans).
    const std::string huge = "data: " + std::string(8 * 1024 * 1024 - 8, 'x') + "\n\n";
    const run_result whole = median_of(reps, [&] { return parse_chunked(huge, huge.size()); });
    const run_result small = median_of(reps, [&] { return parse_chunked(huge, 1024); });

    if (use_node) {
        std::string cmd = "node " + node_script + " --reps " + std::to_string(reps);
        for (const auto& f : files) cmd += " " + f;
        if (FILE* pipe = popen(cmd.c_str(), "r")) {
            char line[4096];
            std::size_t i = 0;
            while (std::fgets(line, sizeof line, pipe) && i < rows.size()) {
                const char* at = std::strstr(line, "\"mb_per_s\":");
                const char* events = std::strstr(line, "\"events\":");
                if (!at || !events) continue;
                rows[i].esp_mbps = std::strtod(at + 11, nullptr);
                if (std::strtoull(events + 9, nullptr, 10) != rows[i].events) {
                    std::fprintf(stderr, "%s: eventsource-parser counted %s events, expected %zu\n",
                                 rows[i].name.c_str(), events + 9, rows[i].events);
                    ok = false;
                }
                ++i;
            }
            if (pclose(pipe) != 0 || i != rows.size()) std::fprintf(stderr, "eventsource-parser run failed: %s\n", cmd.c_str());
        }
    }

    std::printf("\n%-7s %9s %9s | %10s %11s | %10s | %10s | %10s | %9s %9s %7s | %s\n", "corpus", "MB", "events",
                "ours 64K", "events/s", "ours 1K", "memchr", "esp", "/memchr", "/esp", "1K/64K", "allocs/event");
    for (const row& r : rows) {
        const double ours = mbps(r.bytes, r.k64.ns);
        const double ratio_scan = ours / mbps(r.bytes, r.scan.ns);
        const double ratio_esp = r.esp_mbps > 0 ? ours / r.esp_mbps : 0;
        std::printf("%-7s %9.1f %9zu | %7.0f MB/s %9.2fM | %5.0f MB/s | %5.0f MB/s | %5.0f MB/s | %8.2fx %8.1fx %6.2fx | %.4f\n",
                    r.name.c_str(), r.bytes / 1e6, r.events, ours, r.events / (r.k64.ns / 1e9) / 1e6, mbps(r.bytes, r.k1.ns),
                    mbps(r.bytes, r.scan.ns), r.esp_mbps, ratio_scan, ratio_esp, r.k1.ns / r.k64.ns,
                    static_cast<double>(r.k64.allocations) / static_cast<double>(r.events));
    }
    std::printf("\n8 MiB single-line event: whole %.1f ms, in 1 KiB chunks %.1f ms (%.2fx)\n", whole.ns / 1e6,
                small.ns / 1e6, small.ns / whole.ns);
    std::printf("goals: ours/memchr >= 0.4 on every corpus; ours/esp >= 8 on llm and fields; 1K/64K <= 1.5; "
                "no allocation per event\n");
    for (const row& r : rows) {
        const double ours = mbps(r.bytes, r.k64.ns);
        std::printf("  %-7s memchr %s", r.name.c_str(), ours / mbps(r.bytes, r.scan.ns) >= 0.4 ? "PASS" : "MISS");
        if (r.name != "big" && r.esp_mbps > 0) std::printf(", esp %s", ours / r.esp_mbps >= 8 ? "PASS" : "MISS");
        std::printf(", 1K/64K %s\n", r.k1.ns / r.k64.ns <= 1.5 ? "PASS" : "MISS");
    }
    return ok ? 0 : 1;
}
