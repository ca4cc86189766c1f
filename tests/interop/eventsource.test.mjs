// The npm `eventsource` client (the WHATWG EventSource for Node) against the
// demo server, through a TCP proxy the test can cut: it receives published
// events, reconnects with Last-Event-ID after the cut, and gets exactly the
// events it missed from the replayer. Run with `node --test`; the demo server's
// path is in SSE_DEMO_SERVER.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { publish, startProxy, startServer, until } from './helpers.mjs';

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
