// The npm eventsource-parser (pinned in bench/package.json) over corpus files, measured
// the way bench/parser measures sse::parser: each file read whole into memory (untimed),
// 1 warm-up + N timed passes, median. Prints one JSON line per file and mode.
//
//   node bench/eventsource-parser.mjs [--reps N] [--bytes] FILE...
//   node bench/eventsource-parser.mjs --serve
//
// Modes:
//   string  the file decoded to a JS string once (untimed), fed as 65,536-char slices
//   bytes   (with --bytes, in addition) 65,536-byte Buffer views decoded by one
//           TextDecoder with {stream: true} and fed, decoding inside the timed region
//           (what a client reading a socket does)
// Each pass uses a new parser, counts events and sums data.length (UTF-16 code units);
// every pass must agree, else the script exits 1. Modes alternate inside each round.
//
// --serve: one pass per request, so that bench/parser alternates these passes with its own
// inside one run. Reads lines from stdin and answers each with one JSON line on stdout:
//   load FILE         reads FILE (untimed), runs one warm-up pass of each mode:
//                     {"loaded", "file", "bytes", "events", "data_chars", "version", "node"}
//   pass MODE         one timed pass over the loaded file: {"mode", "ns", "cpu_ns", "events",
//                     "data_chars"} (wall-clock and the process's CPU time)
// EOF or "quit" ends it; a bad request is answered {"error": "..."}.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createParser } from 'eventsource-parser';

const CHUNK = 65536;
const args = process.argv.slice(2);
let reps = 5;
let withBytes = false;
let serve = false;
const files = [];
const usage = 'usage: node eventsource-parser.mjs [--reps N] [--bytes] FILE... | --serve';
for (let i = 0; i < args.length; ++i) {
  if (args[i] === '--reps' && i + 1 < args.length) reps = Number(args[++i]);
  else if (args[i] === '--bytes') withBytes = true;
  else if (args[i] === '--serve') serve = true;
  else if (args[i].startsWith('--')) {
    console.error(usage);
    process.exit(2);
  } else files.push(args[i]);
}
if (serve ? files.length > 0 : !(reps >= 1) || files.length === 0) {
  console.error(usage);
  process.exit(2);
}

let version = 'unknown';
try {
  const pkg = new URL('./node_modules/eventsource-parser/package.json', import.meta.url);
  version = JSON.parse(readFileSync(pkg, 'utf8')).version;
} catch {
  // resolved from elsewhere: leave it unknown
}

function counter() {
  const c = { events: 0, dataChars: 0 };
  c.parser = createParser({
    onEvent: (ev) => {
      c.events += 1;
      c.dataChars += ev.data.length;
    },
  });
  return c;
}

// The process's CPU time (every thread: the garbage collector's and the compiler's too), ns.
function cpuNs() {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

function passString(text) {
  const c = counter();
  const c0 = cpuNs();
  const t0 = process.hrtime.bigint();
  for (let at = 0; at < text.length; at += CHUNK) c.parser.feed(text.slice(at, at + CHUNK));
  const ns = Number(process.hrtime.bigint() - t0);
  return { ns, cpuNs: cpuNs() - c0, events: c.events, dataChars: c.dataChars };
}

function passBytes(buf) {
  const c = counter();
  const c0 = cpuNs();
  const t0 = process.hrtime.bigint();
  const decoder = new TextDecoder('utf-8');
  for (let at = 0; at < buf.length; at += CHUNK) {
    c.parser.feed(decoder.decode(buf.subarray(at, at + CHUNK), { stream: true }));
  }
  const tail = decoder.decode();
  if (tail.length > 0) c.parser.feed(tail);
  const ns = Number(process.hrtime.bigint() - t0);
  return { ns, cpuNs: cpuNs() - c0, events: c.events, dataChars: c.dataChars };
}

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

if (serve) {
  let loaded = null; // { file, buf, text }
  const answer = (o) => process.stdout.write(JSON.stringify(o) + '\n');
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    const space = line.indexOf(' ');
    const cmd = space < 0 ? line : line.slice(0, space);
    const arg = space < 0 ? '' : line.slice(space + 1);
    if (cmd === 'quit') break;
    if (cmd === 'load') {
      loaded = null; // let the previous file go before reading the next
      let buf;
      try {
        buf = readFileSync(arg);
      } catch (e) {
        answer({ error: `cannot read ${arg}: ${e.message}` });
        continue;
      }
      loaded = { file: arg, buf, text: buf.toString('utf8') };
      const s = passString(loaded.text), b = passBytes(loaded.buf); // warm-up
      if (s.events !== b.events || s.dataChars !== b.dataChars) {
        answer({ error: `${arg}: string mode counted ${s.events} events, ${s.dataChars} chars; ` +
          `bytes mode ${b.events}, ${b.dataChars}` });
        continue;
      }
      answer({ loaded: true, file: arg, bytes: buf.length, events: s.events, data_chars: s.dataChars, version,
        node: process.version });
    } else if (cmd === 'pass' && loaded && (arg === 'string' || arg === 'bytes')) {
      const p = arg === 'string' ? passString(loaded.text) : passBytes(loaded.buf);
      answer({ mode: arg, ns: p.ns, cpu_ns: p.cpuNs, events: p.events, data_chars: p.dataChars });
    } else {
      answer({ error: `bad request: ${line}` + (cmd === 'pass' && !loaded ? ' (nothing loaded)' : '') });
    }
  }
  process.exit(0);
}

let failed = false;
for (const file of files) {
  const buf = readFileSync(file);
  const text = buf.toString('utf8'); // decoded once, untimed
  const modes = [{ name: 'string', run: () => passString(text) }];
  if (withBytes) modes.push({ name: 'bytes', run: () => passBytes(buf) });
  for (const m of modes) {
    m.first = m.run(); // warm-up
    m.ns = [];
  }
  for (let r = 0; r < reps; ++r) {
    for (const m of modes) {
      const p = m.run();
      if (p.events !== m.first.events || p.dataChars !== m.first.dataChars) {
        console.error(`${file} (${m.name}): pass ${r} counted ${p.events} events, ${p.dataChars} chars; ` +
          `the warm-up ${m.first.events}, ${m.first.dataChars}`);
        failed = true;
      }
      m.ns.push(p.ns);
    }
  }
  for (const m of modes) {
    const ns = median(m.ns);
    console.log(JSON.stringify({
      impl: 'eventsource-parser', version, node: process.version, mode: m.name, file, bytes: buf.length,
      events: m.first.events, data_chars: m.first.dataChars, reps, median_ns: ns,
      min_ns: Math.min(...m.ns), max_ns: Math.max(...m.ns),
      mb_per_s: buf.length / ns * 1e3, events_per_s: m.first.events / ns * 1e9,
    }));
  }
}
process.exit(failed ? 1 : 0);
