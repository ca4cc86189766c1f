// The tables of bench/fanout.sh, from its results file (one JSON line per run, bench/sse_load.cpp
// documents the fields), and the same medians as one JSON document for bench/plot.mjs.
//
//   node bench/fanout-summary.mjs RESULTS.jsonl [--json OUT.json]
//
// Only verified runs count: a run with an error, an incomplete stream, a duplicate, a reorder, a
// missing or wrongly sized event (sse_load's "verified": false) is listed with its reason and left
// out of every median; the tables say how many were left out. Groups: "one at a time" (one message
// per publish handler: demo, raw-b1, better-sse), compared with raw-b64 (the ceiling: the issue #15
// goal is demo ≥ 0.5 of it, write coalescing in the library), raw-b1 and better-sse; "batched" (64
// messages per handler: demo-b64, raw-b64), like for like; "paced" (runs with a rate: each server's
// publisher waits for every message's due time), demo's p99 against raw-b64's in the same runs.
import fs from "node:fs";

const args = process.argv.slice(2);
const file = args[0];
const jsonOut = args.includes("--json") ? args[args.indexOf("--json") + 1] : "";
if (!file) {
    console.error("usage: node bench/fanout-summary.mjs RESULTS.jsonl [--json OUT.json]");
    process.exit(2);
}
const rows = fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map(l => JSON.parse(l));
const meta = rows.find(r => r.kind === "meta") ?? {};
const runs = rows.filter(r => r.kind === "run");

const GROUPS = { "demo": "one at a time", "raw-b1": "one at a time", "better-sse": "one at a time",
    "demo-b64": "batched", "raw-b64": "batched" };
const REF = { "one at a time": ["raw-b64", "raw-b1", "better-sse"], "batched": ["raw-b64"] };
const ORDER = ["demo", "raw-b1", "better-sse", "demo-b64", "raw-b64"];

const med = a => {
    const s = a.filter(x => typeof x === "number" && Number.isFinite(x) && x >= 0).sort((x, y) => x - y);
    if (!s.length) return NaN;
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x, d = 0) => Number.isFinite(x) ? x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }) : "–";

// Why a run does not count (empty if it does).
function reason(r) {
    if (r.failed) return String(r.failed);
    if (r.verified === true) return "";
    if (r.verified === undefined) return "not checked (an older sse_load)";
    const parts = [];
    const add = (n, what) => { if (n) parts.push(`${fmt(n)} ${what}`); };
    add(r.errors, "errors");
    add(r.incomplete, "incomplete streams");
    add(r.duplicates, "duplicates");
    add(r.reorders, "reorders");
    add(r.missing, "missing");
    add(r.wrong_size, "wrong size");
    add(r.unnumbered, "unnumbered");
    add(r.out_of_range, "out of range");
    add(r.extra_events, "extra");
    if (r.timed_out) parts.push("timed out");
    return parts.join(", ") || "not verified";
}

// Events per write() per stream, from the server's own counters (demo_server's /stats).
function eventsPerWrite(r) {
    const a = r.stats_after, b = r.stats_before;
    if (!a || !b || a.frames_written === undefined || a.writes === undefined) return NaN;
    const w = a.writes - b.writes;
    return w > 0 ? (a.frames_written - b.frames_written) / w : NaN;
}

const scenarios = [...new Set(runs.filter(r => r.scenario !== "check19k").map(r => r.scenario))];
const results = [];
for (const sc of scenarios) {
    const servers = [...new Set(runs.filter(r => r.scenario === sc).map(r => r.server))]
        .sort((a, b) => (ORDER.indexOf(a) + 99 * (ORDER.indexOf(a) < 0)) - (ORDER.indexOf(b) + 99 * (ORDER.indexOf(b) < 0)));
    for (const sv of servers) {
        const all = runs.filter(r => r.scenario === sc && r.server === sv);
        const ok = all.filter(r => !reason(r));
        const m = key => med(ok.map(r => typeof key === "function" ? key(r) : r[key]));
        const eps = ok.map(r => r.events_per_s);
        const rate = Number(all[0].rate ?? 0);
        results.push({
            name: sv, scenario: sc, group: rate > 0 ? "paced" : (GROUPS[sv] ?? "other"), rate,
            conns: all[0].conns, messages: all[0].expect, size: Number(all[0].size),
            runs_total: all.length, runs_used: ok.length, excluded: all.length - ok.length,
            median_events_per_s: m("events_per_s"),
            min_events_per_s: eps.length ? Math.min(...eps) : NaN, max_events_per_s: eps.length ? Math.max(...eps) : NaN,
            p50_ms: m("p50_ms"), p99_ms: m("p99_ms"),
            p99_first_half_ms: m("p99_first_half_ms"), p99_second_half_ms: m("p99_second_half_ms"),
            rss_idle_per_stream_kib: m("rss_per_conn_kib"), rss_after_per_stream_kib: m("rss_after_per_conn_kib"),
            server_ns_per_event: m("server_ns_per_event"), server_cpu_frac: m("server_cpu_frac"),
            load_cpu_frac: m("load_cpu_frac"), connect_ms: m("connect_ms"),
            events_per_write: m(eventsPerWrite), bytes_per_event: m("bytes_per_event"),
            runs: all.map(r => ({ rep: r.rep, verified: !reason(r), reason: reason(r) || undefined,
                events_per_s: r.events_per_s, p50_ms: r.p50_ms, p99_ms: r.p99_ms, events: r.events,
                p99_first_half_ms: r.p99_first_half_ms, p99_second_half_ms: r.p99_second_half_ms,
                seconds: r.seconds, rss_per_conn_kib: r.rss_per_conn_kib, rss_after_per_conn_kib: r.rss_after_per_conn_kib,
                server_ns_per_event: r.server_ns_per_event, events_per_write: eventsPerWrite(r),
                bytes_per_event: r.bytes_per_event, loadavg: r.loadavg })),
        });
    }
}

const lines = [];
const out = s => lines.push(s);
const goals = [];
for (const group of ["one at a time", "batched"]) {
    const refs = REF[group];
    const inGroup = results.filter(x => x.group === group);
    if (!inGroup.length) continue;
    out(`### ${group === "batched" ? "Batched: 64 messages per publish handler" : "One at a time: one message per publish handler"}`);
    out("");
    out(`| scenario | server | events/s (median) | min–max | ${refs.map(r => `vs ${r}`).join(" | ")} | p50 / p99 ms | RSS/stream KiB idle → after | server CPU ns/event | events/write | wire B/event | runs used (excluded) |`);
    out(`|---|---|---|---|${refs.map(() => "---|").join("")}---|---|---|---|---|---|`);
    for (const x of inGroup) {
        const ratio = ref => {
            const y = results.find(z => z.scenario === x.scenario && z.name === ref);
            return y ? x.median_events_per_s / y.median_events_per_s : NaN;
        };
        out(`| ${x.scenario}: ${fmt(x.conns)} × ${fmt(x.messages)} × ${fmt(x.size)} B | ${x.name} | ${fmt(x.median_events_per_s)} | ${fmt(x.min_events_per_s)}–${fmt(x.max_events_per_s)} | ${refs.map(r => fmt(ratio(r), r === "better-sse" ? 1 : 3)).join(" | ")} | ${fmt(x.p50_ms, 1)} / ${fmt(x.p99_ms, 1)} | ${fmt(x.rss_idle_per_stream_kib, 2)} → ${fmt(x.rss_after_per_stream_kib, 2)} | ${fmt(x.server_ns_per_event)} | ${fmt(x.events_per_write, 2)} | ${fmt(x.bytes_per_event)} | ${x.runs_used} (${x.excluded}) |`);
        if (x.name === "demo-b64") {
            const r = ratio("raw-b64");
            goals.push(`${x.scenario}: demo-b64 ÷ raw-b64 = ${fmt(r, 3)} (goal ≥ 0.5: ${r >= 0.5 ? "met" : "MISSED"})`);
        }
        if (x.name === "demo") {
            const r = ratio("better-sse"), c = ratio("raw-b64");
            const cpu = results.find(z => z.scenario === x.scenario && z.name === "raw-b64");
            goals.push(`${x.scenario}: demo (one message per handler) ÷ raw-b64 (batching 64) = ${fmt(c, 3)} (goal ≥ 0.5: ${c >= 0.5 ? "met" : "MISSED"}); ÷ better-sse = ${fmt(r, 1)} (goal ≥ 10: ${r >= 10 ? "met" : "MISSED"}); ÷ raw-b1 = ${fmt(ratio("raw-b1"), 2)}; ${fmt(x.events_per_write, 1)} events per write; server CPU ${fmt(x.server_ns_per_event)} ns/event against raw-b64's ${fmt(cpu?.server_ns_per_event)}`);
            if (x.conns >= 10000)
                goals.push(`${x.scenario}: demo RSS per stream at ${fmt(x.conns)}: ${fmt(x.rss_idle_per_stream_kib, 2)} KiB idle, ${fmt(x.rss_after_per_stream_kib, 2)} KiB after publishing (goal ≤ 4: ${Math.max(x.rss_idle_per_stream_kib, x.rss_after_per_stream_kib) <= 4 ? "met" : "MISSED"})`);
        }
    }
    out("");
}
const paced = results.filter(x => x.group === "paced");
if (paced.length) {
    out("### Paced: the publisher waits for each message's due time (one message per handler for demo)");
    out("");
    out("| scenario | server | msg/s | events/s (median) | p50 / p99 ms | p99 first → second half ms | server CPU ns/event | events/write | runs used (excluded) |");
    out("|---|---|---|---|---|---|---|---|---|");
    for (const x of paced)
        out(`| ${x.scenario}: ${fmt(x.conns)} streams × ${fmt(x.messages)} × ${fmt(x.size)} B | ${x.name} | ${fmt(x.rate)} | ${fmt(x.median_events_per_s)} | ${fmt(x.p50_ms, 2)} / ${fmt(x.p99_ms, 2)} | ${fmt(x.p99_first_half_ms, 2)} → ${fmt(x.p99_second_half_ms, 2)} | ${fmt(x.server_ns_per_event)} | ${fmt(x.events_per_write, 2)} | ${x.runs_used} (${x.excluded}) |`);
    out("");
    for (const x of paced.filter(x => x.name === "demo")) {
        const raw = paced.find(z => z.scenario === x.scenario && z.name === "raw-b64");
        if (!raw) continue;
        const q = x.p99_ms / raw.p99_ms;
        const grows = x.p99_second_half_ms > 2 * x.p99_first_half_ms + 1;
        goals.push(`${x.scenario} (${fmt(x.conns)} streams at ${fmt(x.rate)} msg/s): demo p99 ${fmt(x.p99_ms, 2)} ms ÷ raw-b64's ${fmt(raw.p99_ms, 2)} ms = ${fmt(q, 2)} (goal ≤ 2: ${q <= 2 ? "met" : "MISSED"}); backlog: p99 ${fmt(x.p99_first_half_ms, 2)} → ${fmt(x.p99_second_half_ms, 2)} ms from the first to the second half (${grows ? "GROWS" : "steady"}); CPU ${fmt(x.server_ns_per_event)} ns/event against ${fmt(raw.server_ns_per_event)}`);
    }
}
const excludedRuns = runs.filter(r => reason(r));
if (excludedRuns.length) {
    out("Excluded runs:");
    for (const r of excludedRuns) out(`- ${r.scenario} ${r.server} rep ${r.rep}: ${reason(r)}`);
    out("");
}
let check = null;
for (const r of runs.filter(r => r.scenario === "check19k")) {
    check = { conns: r.conns, messages: r.expect, connected: r.connected, complete: r.complete, verified: !reason(r),
        reason: reason(r) || undefined, connect_ms: r.connect_ms, rss_idle_per_stream_kib: r.rss_per_conn_kib,
        rss_after_per_stream_kib: r.rss_after_per_conn_kib, p50_ms: r.p50_ms, p99_ms: r.p99_ms };
    goals.push(`check: ${fmt(r.connected)} of ${fmt(r.conns)} streams connected, every event of every stream verified: ${check.verified ? "yes" : "NO (" + check.reason + ")"}; connect ${fmt(r.connect_ms)} ms, RSS/stream ${fmt(r.rss_per_conn_kib, 2)} KiB idle, ${fmt(r.rss_after_per_conn_kib, 2)} KiB after (${check.verified && r.connected === r.conns ? "met" : "MISSED"})`);
}
for (const g of goals) out("- " + g);
const la = runs.map(r => Number(r.loadavg)).filter(Number.isFinite);
out("");
out(`${meta.date ?? "?"}, commit ${meta.git ?? "?"}, ${meta.cpu ?? ""} ${meta.host ?? ""}; load average at the runs' ends: median ${fmt(med(la), 2)}, max ${fmt(la.length ? Math.max(...la) : NaN, 2)}`);
console.log(lines.join("\n"));

if (jsonOut) {
    const doc = {
        bench: "fanout",
        machine: { cpu: meta.cpu, cores: meta.cores, kernel: meta.kernel, note: meta.note },
        commit: meta.git, date: meta.date, command: meta.command,
        load_average: { median: med(la), max: la.length ? Math.max(...la) : null },
        results, check,
    };
    fs.writeFileSync(jsonOut, JSON.stringify(doc, (k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 1) + "\n");
    console.error(`fanout-summary: wrote ${jsonOut}`);
}
