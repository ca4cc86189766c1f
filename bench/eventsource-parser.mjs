// Runs the npm eventsource-parser over corpus files for bench/parser, in the same
// way our parser is measured: whole file in memory first (untimed), 64 KiB slices,
// 1 warm-up + N timed passes, median. Prints one JSON line per file.
//
//   node bench/eventsource-parser.mjs --reps 5 FILE...
import { readFileSync } from 'node:fs';
import { createParser } from 'eventsource-parser';

const args = process.argv.slice(2);
let reps = 5;
const files = [];
for (let i = 0; i < args.length; ++i) {
  if (args[i] === '--reps') reps = Number(args[++i]);
  else files.push(args[i]);
}

function pass(text) {
  let events = 0;
  let dataBytes = 0;
  const parser = createParser({ onEvent: (ev) => { events += 1; dataBytes += ev.data.length; } });
  const t0 = process.hrtime.bigint();
  for (let at = 0; at < text.length; at += 65536) parser.feed(text.slice(at, at + 65536));
  const ns = Number(process.hrtime.bigint() - t0);
  return { ns, events, dataBytes };
}

for (const file of files) {
  const bytes = readFileSync(file);
  const text = bytes.toString('utf8'); // decoded once, untimed
  pass(text); // warm-up
  const runs = [];
  let last;
  for (let r = 0; r < reps; ++r) { last = pass(text); runs.push(last.ns); }
  runs.sort((a, b) => a - b);
  const median = runs[Math.floor(runs.length / 2)];
  console.log(JSON.stringify({ file, bytes: bytes.length, events: last.events, ns: median,
    mb_per_s: bytes.length / (median / 1e9) / 1e6, events_per_s: last.events / (median / 1e9) }));
}
