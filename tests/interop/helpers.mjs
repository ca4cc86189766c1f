// Helpers shared by the interop tests: start the demo server on a free port,
// a TCP proxy in front of it that can cut and hold connections, publishing.
// Every wait here is bounded.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';

const serverPath = process.env.SSE_DEMO_SERVER;

// Each test's own bound (node --test has none by default).
export const testTimeout = 60000;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Bounded wait for a condition.
export async function until(what, condition, ms = 10000) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

// Starts the demo server on a port of its choosing (--port 0) and reads the
// port from its "listening on http://127.0.0.1:PORT/" line. --lifetime bounds
// it even if the test never gets to kill it.
export async function startServer(args) {
  assert.ok(serverPath, 'SSE_DEMO_SERVER must name the demo_server executable');
  // --first-id 0: ids 0, 1, 2, ... that the tests can name (the demo's default is the time).
  const child = spawn(serverPath, ['--host', '127.0.0.1', '--port', '0', '--lifetime', '60', '--first-id', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  let exited = null;
  child.stdout.on('data', (d) => { out += d; });
  child.on('exit', (code, signal) => { exited = signal ?? code; });
  child.on('error', (e) => { exited = e.message; });
  const listening = /listening on http:\/\/127\.0\.0\.1:(\d+)\//;
  try {
    await until('the demo server to listen', () => listening.test(out) || exited !== null);
    if (exited !== null) throw new Error(`the demo server exited (${exited}) before listening: ${out}`);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return { child, port: Number(out.match(listening)[1]) };
}

// Ends the server: SIGTERM (a graceful shutdown, at most its 2 s deadline),
// SIGKILL if it has not exited 5 s later. Returns its exit code or signal.
export async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

// A proxy that forwards connections to `port`, records the head of every
// request it passes on (keep-alive connections carry several), can cut every
// connection, and holds new ones from the cut until resumed.
export function startProxy(port) {
  const sockets = new Set();
  const heads = [];
  let held = [];
  let paused = false;
  const forward = (client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    let pending = ''; // request bytes not yet split into heads (the requests sent through it have no bodies)
    client.on('data', (d) => {
      pending += d.toString('latin1');
      let end;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        heads.push(pending.slice(0, end + 4));
        pending = pending.slice(end + 4);
      }
      if (pending.length > 65536) pending = '';
    });
    client.pipe(upstream).pipe(client);
    const drop = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  };
  const server = net.createServer((client) => {
    if (paused) held.push(client);
    else forward(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({
      port: server.address().port,
      heads,
      // The heads of the event stream requests, in order.
      streamHeads() { return heads.filter((h) => /^GET \/events[ ?]/.test(h)); },
      cut() { paused = true; for (const s of sockets) s.destroy(); sockets.clear(); },
      resume() { paused = false; const h = held; held = []; h.forEach(forward); },
      held() { return held.length; },
      close() { for (const s of sockets) s.destroy(); held.forEach((s) => s.destroy()); server.close(); },
    }));
  });
}

// The value of a header in a request head, or undefined.
export function headerOf(head, name) {
  const m = head.match(new RegExp(`\\r\\n${name}:[ \\t]*([^\\r]*)\\r\\n`, 'i'));
  return m ? m[1] : undefined;
}

// Bounded wait for an async condition.
export async function untilAsync(what, condition, ms = 10000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

// POST /publish answers once the run is scheduled, not done: the server
// publishes the messages one per handler afterwards. Each message's data is
// exactly `size` bytes ("t=<ns>" padded with 'x'): tests tell events apart by it.
export async function publish(port, n, topic, size = 64) {
  const res = await fetch(`http://127.0.0.1:${port}/publish?n=${n}&size=${size}${topic ? `&topic=${topic}` : ''}`, {
    method: 'POST',
    signal: AbortSignal.timeout(10000),
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { published: n });
}

export async function stats(port) {
  const res = await fetch(`http://127.0.0.1:${port}/stats`, { signal: AbortSignal.timeout(10000) });
  assert.equal(res.status, 200);
  return res.json();
}

// Waits until the server has published `total` messages in all.
export async function publishedAll(port, total) {
  await untilAsync(`${total} messages published`, async () => (await stats(port)).published >= total);
  assert.equal((await stats(port)).published, total);
}
