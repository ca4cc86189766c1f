// bench/plot.mjs: the benchmarks' JSON results as SVG charts (no dependencies: Node only).
//
//   node bench/plot.mjs [--fanout bench/results/fanout.json] [--parser bench/results/parser.json]
//                       [--out docs]
//
// Writes, for what it is given:
//   bench-fanout.svg   events/s per scenario and server (log scale), one-at-a-time and batched
//                      groups apart, each bar labelled with its p50 / p99 latency
//   bench-memory.svg   server RSS per stream, idle (connected) and after publishing, at >= 10,000
//                      streams
//   bench-parser.svg   parser throughput per corpus: ours, the memchr line scan, eventsource-parser
// Every figure comes from the JSON (bench/fanout.sh --json, bench/parser --json), so the charts are
// regenerated, never drawn by hand; each names the machine, commit and date it was measured on.
import fs from "node:fs";
import path from "node:path";

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const fanoutFile = opt("--fanout", path.join(root, "bench/results/fanout.json"));
const parserFile = opt("--parser", path.join(root, "bench/results/parser.json"));
const outDir = opt("--out", path.join(root, "docs"));

const esc = s => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const num = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }) : "–");
const short = x => (x >= 1e6 ? `${num(x / 1e6, x >= 1e7 ? 1 : 2)} M` : x >= 1e3 ? `${num(x / 1e3, x >= 1e5 ? 0 : 1)} k` : num(x));
const tick = t => (t >= 1e6 ? `${t / 1e6}M` : t >= 1e3 ? `${t / 1e3}k` : `${t}`);
const COLORS = ["#2b6cb0", "#dd6b20", "#718096", "#38a169", "#805ad5", "#c53030", "#d69e2e"];

// Horizontal grouped bars. groups: [{label, bars: [{series, value, text}]}]; series gives the color.
function hbars({ title, subtitle, groups, series, log = false, unit = "", footer = [] }) {
    const W = 820, left = 250, right = 190, barH = 15, gap = 3, groupGap = 16, top = 62;
    const plotW = W - left - right;
    const values = groups.flatMap(g => g.bars.map(b => b.value)).filter(v => Number.isFinite(v) && v > 0);
    const vmax = Math.max(...values), vmin = Math.min(...values);
    const lo = log ? Math.pow(10, Math.floor(Math.log10(vmin))) : 0;
    const hi = log ? Math.pow(10, Math.ceil(Math.log10(vmax))) : vmax * 1.05;
    const x = v => (log ? (Math.log10(v / lo) / Math.log10(hi / lo)) * plotW : (v / hi) * plotW);
    let y = top;
    const body = [];
    for (const g of groups) {
        body.push(`<text x="8" y="${y + 11}" class="g">${esc(g.label)}</text>`);
        y += 16;
        for (const b of g.bars) {
            const c = COLORS[series.indexOf(b.series) % COLORS.length];
            const w = Number.isFinite(b.value) && b.value > 0 ? Math.max(1, x(b.value)) : 0;
            body.push(`<text x="${left - 6}" y="${y + barH - 3}" class="l" text-anchor="end">${esc(b.label ?? b.series)}</text>`);
            if (w > 0) body.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${c}"><title>${esc(b.series)}: ${esc(b.text)}</title></rect>`);
            body.push(`<text x="${left + w + 5}" y="${y + barH - 3}" class="v">${esc(w > 0 ? b.text : "no verified run")}</text>`);
            y += barH + gap;
        }
        y += groupGap;
    }
    const axisY = y - groupGap + 4;
    const ticks = [];
    if (log) {
        for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
    } else {
        const step = Math.pow(10, Math.floor(Math.log10(hi / 4)));
        const s = hi / step > 20 ? step * 5 : hi / step > 8 ? step * 2 : step;
        for (let t = 0; t <= hi; t += s) ticks.push(t);
    }
    const grid = ticks.map(t => {
        const tx = left + x(t);
        return `<line x1="${tx.toFixed(1)}" y1="${top - 4}" x2="${tx.toFixed(1)}" y2="${axisY}" class="grid"/>` +
            `<text x="${tx.toFixed(1)}" y="${axisY + 13}" class="t" text-anchor="middle">${esc(tick(t))}</text>`;
    });
    const H = axisY + 30 + footer.length * 14;
    const foot = footer.map((f, i) => `<text x="8" y="${axisY + 34 + i * 14}" class="f">${esc(f)}</text>`);
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">
<style>
.h{font-size:15px;font-weight:600;fill:#1a202c}.s{font-size:11.5px;fill:#4a5568}.g{font-size:12px;font-weight:600;fill:#2d3748}
.l{font-size:11.5px;fill:#2d3748}.v{font-size:11px;fill:#2d3748}.t{font-size:10.5px;fill:#4a5568}.f{font-size:10.5px;fill:#718096}
.grid{stroke:#e2e8f0;stroke-width:1}
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="8" y="20" class="h">${esc(title)}</text>
<text x="8" y="38" class="s">${esc(subtitle)}</text>
<text x="${left + plotW}" y="${top - 8}" class="t" text-anchor="end">${esc(unit)}${log ? " (log scale)" : ""}</text>
${grid.join("\n")}
${body.join("\n")}
${foot.join("\n")}
</svg>
`;
}

const machineLine = d => `${d.date ?? "?"}, commit ${d.commit ?? "?"}, ` +
    (typeof d.machine === "string" ? d.machine : `${d.machine?.cpu ?? ""}, ${d.machine?.cores ?? "?"} cores`) + " (a VM shared with other builds)";
const written = [];
function write(name, svg) {
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, name), svg);
    written.push(path.join(outDir, name));
}

if (fs.existsSync(fanoutFile)) {
    const d = JSON.parse(fs.readFileSync(fanoutFile, "utf8"));
    const scen = [...new Set(d.results.map(r => r.scenario))];
    const label = r => `${r.scenario}: ${num(r.conns)} streams × ${num(r.messages)} × ${num(r.size)} B`;
    const groups = [];
    const series = ["demo", "raw-b1", "better-sse", "demo-b64", "raw-b64"];
    for (const grp of ["one at a time", "batched"]) {
        for (const sc of scen) {
            // One at a time is measured against the ceiling too: raw-b64, batching 64 per send.
            const rs = d.results.filter(r => r.scenario === sc && (r.group === grp || (grp === "one at a time" && r.name === "raw-b64")));
            if (!rs.length) continue;
            groups.push({
                label: `${label(rs[0])}, ${grp === "batched" ? "batched (64 per publish)" : "one message per publish"}`,
                bars: rs.map(r => ({ series: r.name, value: r.median_events_per_s,
                    text: `${short(r.median_events_per_s)}/s · p50/p99 ${num(r.p50_ms, 1)}/${num(r.p99_ms, 1)} ms` +
                        (r.excluded ? ` · ${r.excluded} excl.` : "") })),
            });
        }
    }
    write("bench-fanout.svg", hbars({
        title: "Fan-out over loopback: events delivered per second (median of verified runs)",
        subtitle: "demo = examples/demo_server; raw = pre-serialized epoll server (b1: one send per event, b64: 64); better-sse 0.16.1 on Node",
        groups, series, log: true, unit: "events/s",
        footer: [machineLine(d) + "; server on CPU 1, load generator on CPU 0.",
            "Every event of every stream checked (numbers 1..M in order, size); runs with any error or gap are excluded.",
            "demo publishes one message per handler (its write coalescing batches), against raw-b64 (the ceiling), raw-b1 and better-sse;",
            "demo-b64 publishes 64 per handler, raw-b64's like-for-like peer. Paced runs: bench/results/fanout.json."],
    }));

    // Per-stream memory only where streams dominate it (10,000 or more): at 100 or 1,000 a
    // runtime's own heap and the queued burst do (bench/results/fanout.json has every scenario).
    const mem = [];
    for (const sc of scen) {
        const rs = d.results.filter(r => r.scenario === sc && r.conns >= 10000);
        if (!rs.length) continue;
        mem.push({ label: label(rs[0]), bars: rs.flatMap(r => [
            { series: "idle", label: `${r.name}, connected`, value: r.rss_idle_per_stream_kib, text: `${num(r.rss_idle_per_stream_kib, 2)} KiB` },
            { series: "after", label: `${r.name}, after publishing`, value: r.rss_after_per_stream_kib, text: `${num(r.rss_after_per_stream_kib, 2)} KiB` },
        ]) });
    }
    if (d.check) mem.push({ label: `check: ${num(d.check.conns)} streams × ${num(d.check.messages)} (demo)`, bars: [
        { series: "idle", label: "demo, connected", value: d.check.rss_idle_per_stream_kib, text: `${num(d.check.rss_idle_per_stream_kib, 2)} KiB` },
        { series: "after", label: "demo, after publishing", value: d.check.rss_after_per_stream_kib, text: `${num(d.check.rss_after_per_stream_kib, 2)} KiB` }] });
    write("bench-memory.svg", hbars({
        title: "Server memory per stream (RSS growth over the idle process ÷ streams)",
        subtitle: "connected = after every stream's head, before publishing; after publishing = once every event was delivered",
        groups: mem, series: ["idle", "after"], log: true, unit: "KiB per stream",
        footer: [machineLine(d) + "; kernel socket buffers are not in RSS for any server",
            "Scenarios with 10,000 streams or more; at 100 or 1,000 a runtime's heap and the queued burst dominate (see bench/README.md)."],
    }));
}

if (fs.existsSync(parserFile)) {
    const d = JSON.parse(fs.readFileSync(parserFile, "utf8"));
    // The corpora and modes of the headline comparison (bench/parser writes more: cached passes,
    // a memchr-and-copy loop, single long lines).
    const series = ["sse::parser 64 KiB chunks", "sse::parser 1 KiB chunks", "memchr LF scan",
        "eventsource-parser string", "eventsource-parser bytes"];
    const labels = { "memchr LF scan": "memchr LF scan (baseline)" };
    const corpora = ["llm", "big", "fields"].filter(c => d.results.some(r => r.corpus === c));
    // On a loaded machine the wall clock mostly measures the scheduler: when bench/parser gives
    // CPU-time medians, those are drawn, the wall-clock median in the label.
    const cpu = d.results.some(r => Number.isFinite(r.median_cpu_mb_s));
    const groups = corpora.map(c => ({ label: `corpus ${c}`, bars: series.map(name => d.results.find(r => r.corpus === c && r.name === name))
        .filter(Boolean).map(r => ({ series: r.name, label: labels[r.name] ?? r.name, value: cpu ? r.median_cpu_mb_s : r.median_mb_s,
            text: cpu ? `${num(r.median_cpu_mb_s)} MB/s (wall ${num(r.median_mb_s)})` : `${num(r.median_mb_s)} MB/s` })) }));
    write("bench-parser.svg", hbars({
        title: `Parsing throughput, in memory, one core (median${cpu ? ", by the process's CPU time" : ""})`,
        subtitle: "sse::parser fed in 64 KiB and 1 KiB chunks; eventsource-parser 4.1.3 on Node, alternating with ours in one run",
        groups, series, log: true, unit: "MB/s",
        footer: [machineLine(d),
            "memchr line scan: one libc call per LF over the whole unchunked buffer, no parsing: a reference, not a ceiling."],
    }));
}

if (!written.length) {
    console.error(`plot: nothing to draw (no ${fanoutFile}, no ${parserFile})`);
    process.exit(1);
}
for (const w of written) console.log(`plot: wrote ${w}`);
