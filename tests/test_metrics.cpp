// sse::prometheus_writer and write_metrics: the output is parsed back line by
// line with the rules of the Prometheus text exposition format 0.0.4 (HELP and
// TYPE before a family's samples, one family per name, escaped label values,
// numbers Prometheus reads), and every value is the one the stats held.
// tests/interop/metrics.py parses a live demo_server's /metrics with the
// Prometheus project's own Python parser.
#include "sse_test.hpp"

#include <sse/error.hpp>
#include <sse/metrics.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace {

struct sample {
    std::string name;
    std::map<std::string, std::string> labels;
    std::string value;
};

struct exposition {
    std::map<std::string, std::string> help, type;
    std::vector<sample> samples;
};

bool is_name(std::string_view n, bool label) {
    if (n.empty()) return false;
    for (std::size_t i = 0; i < n.size(); ++i) {
        const char c = n[i];
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':') ||
                        (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

// Parses the text strictly; a FAIL names the offending line.
exposition parse(const std::string& text) {
    exposition e;
    REQUIRE(!text.empty());
    REQUIRE(text.back() == '\n');
    std::set<std::string> closed; // families whose samples are over
    std::string current;
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t end = text.find('\n', at);
        const std::string line = text.substr(at, end - at);
        at = end + 1;
        INFO("line: " << line);
        REQUIRE(!line.empty());
        if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
            const std::string rest = line.substr(7);
            const std::size_t sp = rest.find(' ');
            REQUIRE(sp != std::string::npos);
            const std::string name = rest.substr(0, sp);
            REQUIRE(is_name(name, false));
            REQUIRE(closed.count(name) == 0);
            if (name != current && !current.empty()) closed.insert(current);
            current = name;
            if (line[2] == 'H') {
                REQUIRE(e.help.count(name) == 0);
                e.help[name] = rest.substr(sp + 1);
            } else {
                REQUIRE(e.help.count(name) == 1); // HELP first, as the writer promises
                REQUIRE(e.type.count(name) == 0);
                const std::string type = rest.substr(sp + 1);
                REQUIRE((type == "counter" || type == "gauge"));
                e.type[name] = type;
            }
            continue;
        }
        REQUIRE(line[0] != '#');
        sample s;
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
        s.name = line.substr(0, i);
        REQUIRE(is_name(s.name, false));
        REQUIRE(s.name == current); // a family's samples follow its TYPE line
        REQUIRE(e.type.count(s.name) == 1);
        if (e.type[s.name] == "counter") REQUIRE(s.name.size() > 6);
        if (e.type[s.name] == "counter") REQUIRE(s.name.substr(s.name.size() - 6) == "_total");
        if (line[i] == '{') {
            ++i;
            while (line.at(i) != '}') {
                const std::size_t eq = line.find('=', i);
                REQUIRE(eq != std::string::npos);
                const std::string lname = line.substr(i, eq - i);
                REQUIRE(is_name(lname, true));
                REQUIRE(line.at(eq + 1) == '"');
                std::string value;
                std::size_t j = eq + 2;
                for (;; ++j) {
                    REQUIRE(j < line.size());
                    if (line[j] == '"') break;
                    if (line[j] == '\\') {
                        ++j;
                        REQUIRE(j < line.size());
                        REQUIRE((line[j] == '\\' || line[j] == '"' || line[j] == 'n'));
                        value += line[j] == 'n' ? '\n' : line[j];
                    } else {
                        value += line[j];
                    }
                }
                REQUIRE(s.labels.count(lname) == 0);
                s.labels[lname] = value;
                i = j + 1;
                if (line.at(i) == ',') ++i;
            }
            ++i;
        }
        REQUIRE(line.at(i) == ' ');
        s.value = line.substr(i + 1);
        REQUIRE(!s.value.empty());
        if (s.value != "NaN" && s.value != "+Inf" && s.value != "-Inf") {
            std::size_t used = 0;
            (void)std::stod(s.value, &used); // throws for anything that is not a number
            REQUIRE(used == s.value.size());
        }
        e.samples.push_back(std::move(s));
    }
    return e;
}

// The value of the one sample of `name` whose labels include `labels`.
std::string value_of(const exposition& e, const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    std::string found;
    int n = 0;
    for (const sample& s : e.samples) {
        if (s.name != name) continue;
        bool match = true;
        for (const auto& [k, v] : labels)
            if (!s.labels.count(k) || s.labels.at(k) != v) match = false;
        if (match) {
            found = s.value;
            ++n;
        }
    }
    INFO(name);
    CHECK(n == 1);
    return found;
}

} // namespace

TEST_CASE("metrics: a server's and a provider's stats, as Prometheus text that parses back to the same values") {
    sse::server_stats s;
    s.connections = 7;
    s.sessions = 5;
    s.queued_bytes = 12345;
    s.accepted = 100;
    s.frames_written = std::numeric_limits<std::uint64_t>::max(); // the largest counter, exact
    s.writes = 40;
    s.bytes_written = 99999;
    s.heartbeats = 3;
    s.overflows = 2;
    s.dropped_frames = 11;
    s.rejected_head_too_large = 4;
    s.rejected_bad_request = 6;
    s.rejected_too_many = 8;
    s.timed_out = 9;
    sse::provider_stats p;
    p.subscribers = 5;
    p.published = 1000;
    p.delivered = 5000;
    p.replayed = 12;
    p.overflows = 1;
    p.gaps = 2;

    sse::prometheus_writer w;
    sse::write_metrics(w, s);
    sse::write_metrics(w, p);
    const std::string text = w.take();
    CHECK(w.str().empty());
    const exposition e = parse(text);

    CHECK(e.type.size() == 18);
    CHECK(e.samples.size() == 20); // rejected_total has three reasons
    for (const auto& [name, help] : e.help) CHECK(!help.empty());
    CHECK(e.type.at("sse_connections") == "gauge");
    CHECK(e.type.at("sse_streams") == "gauge");
    CHECK(e.type.at("sse_provider_subscribers") == "gauge");
    CHECK(e.type.at("sse_frames_written_total") == "counter");
    CHECK(value_of(e, "sse_connections") == "7");
    CHECK(value_of(e, "sse_streams") == "5");
    CHECK(value_of(e, "sse_queued_bytes") == "12345");
    CHECK(value_of(e, "sse_connections_accepted_total") == "100");
    CHECK(value_of(e, "sse_frames_written_total") == "18446744073709551615");
    CHECK(value_of(e, "sse_writes_total") == "40");
    CHECK(value_of(e, "sse_written_bytes_total") == "99999");
    CHECK(value_of(e, "sse_heartbeats_total") == "3");
    CHECK(value_of(e, "sse_overflows_total") == "2");
    CHECK(value_of(e, "sse_dropped_frames_total") == "11");
    CHECK(value_of(e, "sse_rejected_total", {{"reason", "head_too_large"}}) == "4");
    CHECK(value_of(e, "sse_rejected_total", {{"reason", "bad_request"}}) == "6");
    CHECK(value_of(e, "sse_rejected_total", {{"reason", "too_many_connections"}}) == "8");
    CHECK(value_of(e, "sse_timed_out_total") == "9");
    CHECK(value_of(e, "sse_provider_subscribers") == "5");
    CHECK(value_of(e, "sse_provider_published_total") == "1000");
    CHECK(value_of(e, "sse_provider_delivered_total") == "5000");
    CHECK(value_of(e, "sse_provider_replayed_total") == "12");
    CHECK(value_of(e, "sse_provider_overflows_total") == "1");
    CHECK(value_of(e, "sse_provider_gaps_total") == "2");
    CHECK(sse::prometheus_content_type == "text/plain; version=0.0.4; charset=utf-8");
}

TEST_CASE("metrics: labels on every sample are escaped; fractional gauges, NaN and infinities; a custom prefix") {
    sse::prometheus_writer w("app_", {{"server", "a \"quoted\" back\\slash\nnewline"}, {"zone", "eu"}});
    w.gauge("ratio", "A help text with a back\\slash\nand a newline.", 0.25);
    w.gauge("nothing", "NaN.", std::numeric_limits<double>::quiet_NaN());
    w.gauge("big", "Infinities.", std::numeric_limits<double>::infinity(), {{"sign", "+"}});
    w.gauge("big", "Infinities.", -std::numeric_limits<double>::infinity(), {{"sign", "-"}});
    w.counter("events_total", "Events.", 42, {{"topic", ""}});
    const exposition e = parse(w.str());
    CHECK(e.help.at("app_ratio") == "A help text with a back\\\\slash\\nand a newline.");
    CHECK(value_of(e, "app_ratio") == "0.25");
    CHECK(value_of(e, "app_nothing") == "NaN");
    CHECK(value_of(e, "app_big", {{"sign", "+"}}) == "+Inf");
    CHECK(value_of(e, "app_big", {{"sign", "-"}}) == "-Inf");
    CHECK(value_of(e, "app_events_total", {{"topic", ""}}) == "42");
    for (const sample& s : e.samples) {
        CHECK(s.labels.at("server") == "a \"quoted\" back\\slash\nnewline");
        CHECK(s.labels.at("zone") == "eu");
    }
    CHECK(e.type.size() == 4); // "big": one family, two samples
}

TEST_CASE("metrics: names and label names Prometheus would reject are errors, never written") {
    std::error_code ec;
    sse::prometheus_writer bad_prefix("1sse_", {}, ec);
    CHECK(ec == sse::error::invalid_argument);
    sse::prometheus_writer bad_label("sse_", {{"le-gal", "x"}}, ec);
    CHECK(ec == sse::error::invalid_argument);
    sse::prometheus_writer reserved("sse_", {{"__name__", "x"}}, ec);
    CHECK(ec == sse::error::invalid_argument);
    sse::prometheus_writer fine("", {{"ok_1", "x"}}, ec);
    CHECK(!ec);
    CHECK_THROWS_AS(sse::prometheus_writer("sse-"), std::system_error);

    sse::prometheus_writer w;
    CHECK_THROWS_AS(w.counter("bad name_total", "x", 1), std::system_error);
    CHECK_THROWS_AS(w.gauge("ok", "x", std::int64_t{1}, {{"a:b", "x"}}), std::system_error);
    CHECK(w.str().empty());
    w.gauge("ok", "x", std::int64_t{-3});
    CHECK(w.str() == "# HELP sse_ok x\n# TYPE sse_ok gauge\nsse_ok -3\n");
}
