// The npm `eventsource` client (the WHATWG EventSource for Node) against the
// demo server, through a TCP proxy the test can cut: it receives published
// events, reconnects with Last-Event-ID after the cut, and gets exactly the
// events it missed from the replayer. Run with `node --test`; the demo server's
// path is in SSE_DEMO_SERVER.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { headerOf, publish, publishedAll, startProxy, startServer, stats, stopServer, testTimeout, until } from './helpers.mjs';

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

    // Nothing more arrives (no duplicates): a sentinel published now is the next event.
    await publish(port, 1);
    await until('the sentinel', () => received.length >= 9);
    assert.deepEqual(received.map((e) => e.id), ['0', '1', '2', '3', '4', '5', '6', '7', '8']);
    for (const e of received) {
      assert.match(e.data, /^t=\d+ s=\d+x*$/);
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

    // Each topic's events are told by their size: a stream that gets another topic's event fails.
    const sizes = { a: 64, b: 65, plain: 66, sentinel: 67 };
    let published = 0;
    const publishNow = async (n, topic, size) => { await publish(port, n, topic, size); await publishedAll(port, published += n); };
    await publishNow(2, 'b', sizes.b);
    await publishNow(1, undefined, sizes.plain); // the default topic
    await publishNow(1, 'a', sizes.a);
    // Sentinels, last: one on a (for a and ab), one on the default topic (for plain). Each
    // stream's sentinel is the last event it gets, so nothing else came before it.
    await publishNow(1, 'a', sizes.sentinel);
    await publishNow(1, undefined, sizes.sentinel);
    const ended = (s) => s.got.length > 0 && s.got[s.got.length - 1].length === sizes.sentinel;
    for (const [name, s] of Object.entries({ a, ab, plain })) await until(`the sentinel on ${name}`, () => ended(s));
    for (const s of [a, ab, plain]) for (const d of s.got) assert.match(d, /^t=\d+ s=\d+x*$/);
    assert.deepEqual(a.got.map((d) => d.length), [sizes.a, sizes.sentinel]);
    assert.deepEqual(ab.got.map((d) => d.length), [sizes.b, sizes.b, sizes.a, sizes.sentinel]);
    assert.deepEqual(plain.got.map((d) => d.length), [sizes.plain, sizes.sentinel]);
    // The same a events reached both of their subscribers; each event's data is unique (its timestamp).
    assert.deepEqual(ab.got.slice(2), a.got);
    assert.notEqual(plain.got[1], a.got[1]);
    assert.equal(new Set([...ab.got, ...plain.got]).size, 6);

    for (const s of streams.splice(0)) s.close();
    assert.equal(await stopServer(child), 0, 'the demo server did not shut down cleanly');
  } finally {
    for (const s of streams) s.close();
    await stopServer(child);
  }
});
