// curl against the demo server's event stream: `curl -N -s -D -` (no output
// buffering, the response head on stdout, then the body) must show the whole
// head of /events before any event is published, then the event once it is;
// and curl's own Last-Event-ID header gets the replay after that id.
//
// Not `-i`: curl (7.88, Debian 12) writes an -i head to stdout unflushed even
// with -N, so when stdout is a pipe the head waits in curl's stdio buffer until
// the first body bytes (an event) flush it. With `-D -`, -N flushes the head.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { publish, publishedAll, startServer, stats, stopServer, testTimeout, until } from './helpers.mjs';

const curlPath = process.env.SSE_CURL || 'curl';

// Runs curl in the background, collecting its stdout.
function startCurl(args) {
  const child = spawn(curlPath, ['-N', '-s', '-D', '-', '--max-time', '30', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const c = { child, out: '', exited: null };
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (d) => { c.out += d; });
  child.on('exit', (code, signal) => { c.exited = signal ?? code; });
  child.on('error', (e) => { c.exited = e.message; });
  return c;
}

function stopCurl(c) {
  if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
}

test('curl is there', () => {
  const r = spawnSync(curlPath, ['--version'], { timeout: 10000 });
  assert.equal(r.status, 0, `no working curl (${curlPath}): install Debian's curl (scripts/test.sh does)`);
});

test('curl -N sees the whole response head before any event, then the event', { timeout: testTimeout }, async () => {
  // No heartbeat and no retry hint: nothing may follow the head until a publish.
  const { child, port } = await startServer(['--heartbeat', '0']);
  const c = startCurl([`http://127.0.0.1:${port}/events`]);
  try {
    await until('the response head on curl\'s stdout', () => c.out.includes('\r\n\r\n') || c.exited !== null);
    assert.equal(c.exited, null, `curl ended early: ${c.out}`);
    const [head] = c.out.split('\r\n\r\n');
    const lines = head.split('\r\n');
    assert.equal(lines[0], 'HTTP/1.1 200 OK');
    const fields = new Map(lines.slice(1).map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
    }));
    assert.match(fields.get('content-type'), /^text\/event-stream\b/);
    assert.equal(fields.get('cache-control'), 'no-cache');
    assert.ok(!fields.has('content-length'), 'a stream has no Content-Length');

    assert.equal(c.out, `${head}\r\n\r\n`);
    assert.equal((await stats(port)).published, 0);

    // The event, then a sentinel (told by its size): what came before, between or with them is
    // in the body, which must be exactly the two events.
    await publish(port, 1);
    await until('the event on curl\'s stdout', () => /\ndata: t=\d+ s=\d+x*\n\n/.test(c.out));
    await publish(port, 1, undefined, 80);
    await until('the sentinel on curl\'s stdout', () => /\ndata: t=\d+ s=\d+x*\n\n$/.test(c.out) &&
      c.out.slice(c.out.lastIndexOf('\ndata: ') + 7).length === 80 + 2);
    const body = c.out.slice(head.length + 4);
    const events = body.split('\n\n');
    assert.equal(events.pop(), '');
    assert.equal(events.length, 2, body);
    assert.match(events[0], /^data: t=\d+ s=\d+x*$/);
    assert.equal(events[0].length, 'data: '.length + 64);
    assert.match(events[1], /^data: t=\d+ s=\d+x*$/);
    assert.equal(events[1].length, 'data: '.length + 80);

    stopCurl(c);
    assert.equal(await stopServer(child), 0, 'the demo server did not shut down cleanly');
  } finally {
    stopCurl(c);
    await stopServer(child);
  }
});

test('curl with a Last-Event-ID header gets the events after it replayed', { timeout: testTimeout }, async () => {
  const { child, port } = await startServer(['--heartbeat', '0', '--replay', 'finite:10']);
  let c;
  try {
    await publish(port, 4);
    await publishedAll(port, 4);
    c = startCurl(['-H', 'Last-Event-ID: 1', `http://127.0.0.1:${port}/events`]);
    await until('ids 2 and 3 on curl\'s stdout', () => /\nid: 3\ndata: [^\n]*\n\n/.test(c.out) || c.exited !== null);
    // A sentinel, published live: it is the next event, so nothing came in between.
    await publish(port, 1);
    await until('the sentinel (id 4) on curl\'s stdout', () => /\nid: 4\ndata: [^\n]*\n\n/.test(c.out) || c.exited !== null);
    const body = c.out.slice(c.out.indexOf('\r\n\r\n') + 4);
    assert.deepEqual([...body.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]), ['2', '3', '4']);
    assert.match(body, /^(id: \d+\ndata: t=\d+ s=\d+x*\n\n){3}$/);

    stopCurl(c);
    assert.equal(await stopServer(child), 0, 'the demo server did not shut down cleanly');
  } finally {
    if (c) stopCurl(c);
    await stopServer(child);
  }
});
