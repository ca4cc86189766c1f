// Helpers shared by the interop tests: start the demo server on a free port,
// a TCP proxy in front of it that can cut and hold connections, publishing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';

const serverPath = process.env.SSE_DEMO_SERVER;

// Bounded wait for a condition.
export async function until(what, condition, ms = 10000) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function startServer(args) {
  const child = spawn(serverPath, ['--host', '127.0.0.1', '--port', '0', '--lifetime', '60', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  await until('the server to listen', () => /listening on http:\/\/127\.0\.0\.1:(\d+)\//.test(out));
  const port = Number(out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)\//)[1]);
  return { child, port };
}

// A proxy that forwards connections to `port`, records each request head, can
// cut every connection, and can hold new ones until resumed.
export function startProxy(port) {
  const sockets = new Set();
  const heads = [];
  let held = [];
  let paused = false;
  const forward = (client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    let head = '';
    client.on('data', (d) => { if (!head.includes('\r\n\r\n')) { head += d; if (head.includes('\r\n\r\n')) heads.push(head); } });
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
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: server.address().port,
    heads,
    cut() { paused = true; for (const s of sockets) s.destroy(); sockets.clear(); },
    resume() { paused = false; const h = held; held = []; h.forEach(forward); },
    held() { return held.length; },
    close() { for (const s of sockets) s.destroy(); held.forEach((s) => s.destroy()); server.close(); },
  })));
}

export async function publish(port, n, topic) {
  const res = await fetch(`http://127.0.0.1:${port}/publish?n=${n}&size=64${topic ? `&topic=${topic}` : ''}`, { method: 'POST' });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { published: n });
}

