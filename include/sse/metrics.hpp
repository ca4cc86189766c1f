// The server's counters in the Prometheus text exposition format (0.0.4),
// what operators scrape: prometheus_writer writes metric families, and
// write_metrics renders a server_stats or a provider_stats with it.
//
//     sse::prometheus_writer w;                 // names start with "sse_"
//     sse::write_metrics(w, server.stats());
//     sse::write_metrics(w, server.provider().stats());
//     return sse::response(200, w.take(), std::string(sse::prometheus_content_type));
#ifndef SSE_METRICS_HPP
#define SSE_METRICS_HPP

#include <sse/error.hpp>
#include <sse/joe.hpp>
#include <sse/server.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace sse {

/// The Content-Type of a Prometheus text exposition (format 0.0.4).
inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// One label of a sample: `name="value"`. The value is escaped as it is written.
struct prometheus_label {
    std::string_view name;  ///< [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__"
    std::string_view value; ///< any text
};

/// Writes metric families in the Prometheus text exposition format 0.0.4:
/// `# HELP`, `# TYPE`, then the family's samples. Calls with the name of the
/// family just written add a sample to it (e.g. the same counter with
/// another `reason` label); a family's samples must be written together.
class prometheus_writer {
public:
    /// Every name starts with `prefix`; `labels` go on every sample (e.g. which
    /// server this is). Errors: sse::error::invalid_argument for a prefix or a
    /// label name Prometheus does not accept.
    prometheus_writer(std::string prefix, const std::vector<std::pair<std::string, std::string>>& labels,
                      std::error_code& ec) {
        init(std::move(prefix), labels, ec);
    }
    /// Like the above, but throws std::system_error.
    explicit prometheus_writer(std::string prefix = "sse_", const std::vector<std::pair<std::string, std::string>>& labels = {}) {
        std::error_code ec;
        init(std::move(prefix), labels, ec);
        if (ec) detail::throw_error(ec, "sse::prometheus_writer: a prefix or label name Prometheus does not accept");
    }

    /// A counter sample: `name` should end in `_total` (and does in
    /// write_metrics); `value` only ever grows. Throws std::system_error
    /// (sse::error::invalid_argument) for a name or label name Prometheus
    /// does not accept: names are the program's constants.
    void counter(std::string_view name, std::string_view help, std::uint64_t value,
                 std::initializer_list<prometheus_label> labels = {}) {
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof buf, value);
        sample(name, "counter", help, std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)), labels);
    }

    /// A gauge sample: a value that goes up and down.
    void gauge(std::string_view name, std::string_view help, std::int64_t value,
               std::initializer_list<prometheus_label> labels = {}) {
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof buf, value);
        sample(name, "gauge", help, std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)), labels);
    }
    /// A gauge sample with a fractional value (NaN and the infinities as Prometheus spells them).
    void gauge(std::string_view name, std::string_view help, double value,
               std::initializer_list<prometheus_label> labels = {}) {
        char buf[32];
        std::string_view text;
        if (std::isnan(value)) text = "NaN";
        else if (std::isinf(value)) text = value > 0 ? "+Inf" : "-Inf";
        else text = std::string_view(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, value).ptr - buf));
        sample(name, "gauge", help, text, labels);
    }

    /// The text written so far.
    const std::string& str() const noexcept { return out_; }
    /// Takes the text; the writer starts over (same prefix and labels).
    std::string take() {
        family_.clear();
        return std::exchange(out_, std::string());
    }

private:
    void init(std::string prefix, const std::vector<std::pair<std::string, std::string>>& labels, std::error_code& ec) {
        ec.clear();
        if (!prefix.empty() && !valid_name(prefix)) {
            ec = error::invalid_argument;
            return;
        }
        for (const auto& [name, value] : labels) {
            if (!valid_label_name(name)) {
                constant_labels_.clear();
                ec = error::invalid_argument;
                return;
            }
            append_label(constant_labels_, name, value);
        }
        prefix_ = std::move(prefix);
    }

    static bool name_char(char c, bool first) noexcept {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
    }
    static bool valid_name(std::string_view n) noexcept {
        if (n.empty()) return false;
        for (std::size_t i = 0; i < n.size(); ++i)
            if (!name_char(n[i], i == 0)) return false;
        return true;
    }
    static bool valid_label_name(std::string_view n) noexcept {
        return valid_name(n) && n.find(':') == std::string_view::npos && n.rfind("__", 0) != 0;
    }

    static void append_label(std::string& out, std::string_view name, std::string_view value) {
        if (!out.empty()) out += ',';
        out += name;
        out += "=\"";
        for (const char c : value) {
            if (c == '\\') out += "\\\\";
            else if (c == '"') out += "\\\"";
            else if (c == '\n') out += "\\n";
            else out += c;
        }
        out += '"';
    }

    void sample(std::string_view name, std::string_view type, std::string_view help, std::string_view value,
                std::initializer_list<prometheus_label> labels) {
        const std::string full = prefix_ + std::string(name);
        if (!valid_name(full)) detail::throw_error(error::invalid_argument, "sse::prometheus_writer: bad metric name " + full);
        std::string l = constant_labels_;
        for (const prometheus_label& x : labels) {
            if (!valid_label_name(x.name))
                detail::throw_error(error::invalid_argument, "sse::prometheus_writer: bad label name " + std::string(x.name));
            append_label(l, x.name, x.value);
        }
        if (full != family_) {
            out_ += "# HELP ";
            out_ += full;
            out_ += ' ';
            for (const char c : help) {
                if (c == '\\') out_ += "\\\\";
                else if (c == '\n') out_ += "\\n";
                else out_ += c;
            }
            out_ += "\n# TYPE ";
            out_ += full;
            out_ += ' ';
            out_ += type;
            out_ += '\n';
            family_ = full;
        }
        out_ += full;
        if (!l.empty()) {
            out_ += '{';
            out_ += l;
            out_ += '}';
        }
        out_ += ' ';
        out_ += value;
        out_ += '\n';
    }

    std::string prefix_;
    std::string constant_labels_; // written out: a="x",b="y"
    std::string family_;          // the family of the last sample
    std::string out_;
};

/// A server's counters: connections, streams and queued bytes now (gauges),
/// and since the start: connections accepted, frames, writes and bytes
/// written, heartbeats, overflows, dropped frames, rejected requests (by
/// `reason`) and timeouts (counters).
inline void write_metrics(prometheus_writer& w, const server_stats& s) {
    w.gauge("connections", "Open connections, event streams included.", s.connections);
    w.gauge("streams", "Open event streams.", s.sessions);
    w.gauge("queued_bytes", "Bytes queued in all streams, not yet written.", s.queued_bytes);
    w.counter("connections_accepted_total", "Connections accepted.", s.accepted);
    w.counter("frames_written_total", "Frames written to streams, heartbeats included.", s.frames_written);
    w.counter("writes_total", "Write calls on streams (frames_written_total / writes_total: the batching).", s.writes);
    w.counter("written_bytes_total", "Bytes written to streams, response heads included.", s.bytes_written);
    w.counter("heartbeats_total", "Heartbeat comments sent.", s.heartbeats);
    w.counter("overflows_total", "Streams closed because their queue went over its budget.", s.overflows);
    w.counter("dropped_frames_total", "Frames dropped by overflow_policy::drop_oldest.", s.dropped_frames);
    const char* rejected = "Requests answered with an error status, by reason.";
    w.counter("rejected_total", rejected, s.rejected_head_too_large, {{"reason", "head_too_large"}});
    w.counter("rejected_total", rejected, s.rejected_bad_request, {{"reason", "bad_request"}});
    w.counter("rejected_total", rejected, s.rejected_too_many, {{"reason", "too_many_connections"}});
    w.counter("timed_out_total", "Connections closed for a slow request head or an idle keep-alive.", s.timed_out);
}

/// A provider's counters (joe's): subscribers now (a gauge); messages
/// published, frames delivered live and replayed, overflows and gaps since
/// the start (counters). Names start with `provider_`.
inline void write_metrics(prometheus_writer& w, const provider_stats& p) {
    w.gauge("provider_subscribers", "Live subscriptions.", static_cast<std::int64_t>(p.subscribers));
    w.counter("provider_published_total", "Messages published.", p.published);
    w.counter("provider_delivered_total", "Frames queued to subscribers live.", p.delivered);
    w.counter("provider_replayed_total", "Frames sent from the replay history.", p.replayed);
    w.counter("provider_overflows_total", "Subscriptions dropped because their sink overflowed.", p.overflows);
    w.counter("provider_gaps_total", "Subscribers whose Last-Event-ID the history could not reach.", p.gaps);
}

} // namespace sse

#endif
