// The npm `eventsource` client (the WHATWG EventSource for Node) against the
// demo server, through a TCP proxy the test can cut: it receives published
// events, reconnects with Last-Event-ID after the cut, and gets exactly the
// events it missed from the replayer. Run with `node --test`; the demo server's
// path is in SSE_DEMO_SERVER.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { headerOf, publish, publishedAll, sleep, startProxy, startServer, stats, stopServer, testTimeout, until } from './helpers.mjs';

test('eventsource receives events, reconnects with Last-Event-ID and gets exactly what it missed', { timeout: testTimeout }, async () => {
  const { child, port } = await startServer(['--replay', 'finite:1000', '--retry', '100']);
  let proxy;
  let es;
  try {
    proxy = await startProxy(port);
    const received = [];
    const errors = [];
    es = new EventSource(`http://127.0.0.1:${proxy.port}/events`);
    es.onmessage = (e) => received.push({ id: e.lastEventId, data: e.data });
    es.onerror = (e) => errors.push(e);
    await until('the stream to open', () => es.readyState === EventSource.OPEN);
    await publish(port, 5);
    await until('5 events', () => received.length === 5);
    assert.deepEqual(received.map((e) => e.id), ['0', '1', '2', '3', '4']);

    proxy.cut(); // the stream drops; reconnections are held
    await until('the client to notice', () => es.readyState === EventSource.CONNECTING);
    await until('the client to reconnect', () => proxy.held() > 0);
    await publish(port, 3);
    await publishedAll(port, 8); // all 3 missed while away
    proxy.resume();
    await until('the 3 missed events', () => received.length >= 8);
    assert.equal(es.readyState, EventSource.OPEN);

    // Nothing more arrives (no duplicates).
    await sleep(300);
    assert.deepEqual(received.map((e) => e.id), ['0', '1', '2', '3', '4', '5', '6', '7']);
    for (const e of received) {
      assert.match(e.data, /^t=\d+x+$/);
      assert.equal(e.data.length, 64);
    }
    assert.equal(errors.length, 1, 'one error event: the cut');

    const heads = proxy.streamHeads();
    assert.equal(heads.length, 2, heads.join('\n'));
    assert.equal(headerOf(heads[0], 'Last-Event-ID'), undefined);
    assert.equal(headerOf(heads[1], 'Last-Event-ID'), '4');
    assert.match(headerOf(heads[1], 'Accept'), /text\/event-stream/);
    const s = await stats(port);
    assert.equal(s.replayed, 3);
    assert.equal(s.gaps, 0);

    es.close();
    es = undefined;
    assert.equal(await stopServer(child), 0, 'the demo server did not shut down cleanly');
  } finally {
    es?.close();
    proxy?.close();
    await stopServer(child);
  }
});

test('eventsource with a topic gets only that topic', { timeout: testTimeout }, async () => {
  const { child, port } = await startServer([]);
  const streams = [];
  try {
    const open = (query) => {
      const got = [];
      const es = new EventSource(`http://127.0.0.1:${port}/events${query}`);
      es.onmessage = (e) => got.push(e.data);
      streams.push(es);
      return { es, got };
    };
    const a = open('?topic=a');
    const ab = open('?topic=a&topic=b');
    const plain = open('');
    for (const s of [a, ab, plain]) await until('the streams to open', () => s.es.readyState === EventSource.OPEN);
    assert.equal((await stats(port)).subscribers, 3);

    await publish(port, 2, 'b');
    await publish(port, 1); // the default topic
    await publish(port, 1, 'a');
    await until('the topic a event', () => a.got.length === 1);
    await until('the topic a and b events', () => ab.got.length === 3);
    await until('the default topic event', () => plain.got.length === 1);
    await sleep(300); // nothing else arrives
    assert.equal(a.got.length, 1);
    assert.equal(ab.got.length, 3);
    assert.equal(plain.got.length, 1);
    // The same a event reached both of its subscribers; each event's data is unique (its timestamp).
    assert.ok(ab.got.includes(a.got[0]));
    assert.ok(!ab.got.includes(plain.got[0]));
    assert.equal(new Set([...ab.got, ...plain.got]).size, 4);

    for (const s of streams.splice(0)) s.close();
    assert.equal(await stopServer(child), 0, 'the demo server did not shut down cleanly');
  } finally {
    for (const s of streams) s.close();
    await stopServer(child);
  }
});
