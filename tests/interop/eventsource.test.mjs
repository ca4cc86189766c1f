// The npm `eventsource` client (the WHATWG EventSource for Node) against the
// demo server, through a TCP proxy the test can cut: it receives published
// events, reconnects with Last-Event-ID after the cut, and gets exactly the
// events it missed from the replayer. Run with `node --test`; the demo server's
// path is in SSE_DEMO_SERVER.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { EventSource } from 'eventsource';

const serverPath = process.env.SSE_DEMO_SERVER;

// Bounded wait for a condition.
async function until(what, condition, ms = 10000) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function startServer(args) {
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
function startProxy(port) {
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
    close() { for (const s of sockets) s.destroy(); held.forEach((s) => s.destroy()); server.close(); },
  })));
}

async function publish(port, n, topic) {
  const res = await fetch(`http://127.0.0.1:${port}/publish?n=${n}&size=64${topic ? `&topic=${topic}` : ''}`, { method: 'POST' });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { published: n });
}

test('eventsource receives events, reconnects with Last-Event-ID and gets exactly what it missed', async () => {
  const { child, port } = await startServer(['--replay', 'finite:1000', '--retry', '100']);
  const proxy = await startProxy(port);
  const received = [];
  const es = new EventSource(`http://127.0.0.1:${proxy.port}/events`);
  try {
    es.onmessage = (e) => received.push({ id: e.lastEventId, data: e.data });
    await until('the stream to open', () => es.readyState === EventSource.OPEN);
    await publish(port, 5);
    await until('5 events', () => received.length === 5);

    proxy.cut(); // the stream drops; reconnections are held
    await until('the client to notice', () => es.readyState === EventSource.CONNECTING);
    await publish(port, 3); // missed while away
    proxy.resume();
    await until('the 3 missed events', () => received.length === 8);

    assert.deepEqual(received.map((e) => e.id), ['0', '1', '2', '3', '4', '5', '6', '7']);
    for (const e of received) assert.match(e.data, /^t=\d+x*$/);
    assert.equal(received[0].data.length, 64);
    const reconnect = proxy.heads[proxy.heads.length - 1];
    assert.match(reconnect, /\r\nlast-event-id: 4\r\n/i);
    // Nothing more arrives (no duplicates).
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(received.length, 8);
  } finally {
    es.close();
    proxy.close();
    child.kill();
  }
});

test('eventsource with a topic gets only that topic', async () => {
  const { child, port } = await startServer([]);
  const received = [];
  const es = new EventSource(`http://127.0.0.1:${port}/events?topic=a`);
  try {
    es.onmessage = (e) => received.push(e.data);
    await until('the stream to open', () => es.readyState === EventSource.OPEN);
    await publish(port, 2, 'b');
    await publish(port, 1, 'a');
    await until('the topic a event', () => received.length === 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(received.length, 1);
  } finally {
    es.close();
    child.kill();
  }
});
