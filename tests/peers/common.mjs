// What the test peers share: arguments, a bounded lifetime, a request log, and the start-up line.
//
// Every peer listens on 127.0.0.1 port 0 and prints the port it got as the first line on stdout
// (tls-server.mjs adds a second line). It exits when its stdin closes (the test that started it
// ended, however it ended), on SIGTERM or SIGINT, or after --lifetime seconds (default 120).

import { performance } from 'node:perf_hooks';

/** `--name value` pairs of the command line, as an object. */
export function parseArgs(argv = process.argv.slice(2)) {
  const out = {};
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[a.slice(2)] = true;
    else out[a.slice(2)] = argv[++i];
  }
  return out;
}

/** Exits on stdin's end, on a signal, or when the lifetime is over. */
export function bindLifetime(args, onExit = () => {}) {
  let done = false;
  const exit = (code) => {
    if (done) return;
    done = true;
    try {
      onExit();
    } finally {
      process.exit(code);
    }
  };
  if (!args['ignore-stdin']) {
    process.stdin.on('end', () => exit(0));
    process.stdin.on('close', () => exit(0));
    process.stdin.on('error', () => exit(0));
    process.stdin.resume();
  }
  process.on('SIGTERM', () => exit(0));
  process.on('SIGINT', () => exit(0));
  const lifetime = Number(args.lifetime ?? 120);
  setTimeout(() => {
    process.stderr.write(`peer: lifetime of ${lifetime} s is over\n`);
    exit(0);
  }, lifetime * 1000);
  return exit;
}

/** Keeps what requests a server saw, for GET /log. */
export class RequestLog {
  constructor() {
    this.entries = [];
    this.attempts = new Map(); // path -> requests so far
  }

  /** Records a request; returns its attempt number on that path (1, 2, ...). */
  record(req, url, body) {
    const attempt = (this.attempts.get(url.pathname) ?? 0) + 1;
    this.attempts.set(url.pathname, attempt);
    this.entries.push({
      seq: this.entries.length + 1,
      t: performance.now(), // ms, monotonic
      method: req.method,
      path: url.pathname,
      url: req.url,
      attempt,
      headers: req.headers, // names in lower case
      body,
    });
    return attempt;
  }

  /** One JSON object per line (newline-delimited JSON), optionally only for one path. */
  ndjson(path) {
    return this.entries
      .filter((e) => !path || e.path === path)
      .map((e) => JSON.stringify(e) + '\n')
      .join('');
  }
}

/** The whole request body as a string. */
export async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Listens on 127.0.0.1:0 and prints the port (and any extra lines). */
export function listen(server, extraLines = []) {
  server.listen(0, '127.0.0.1', () => {
    const lines = [String(server.address().port), ...extraLines];
    process.stdout.write(lines.join('\n') + '\n');
  });
}
