// Headless Chromium (Debian's, driven by playwright-core) loads the demo page on
// the default topic only (/?topic=), whose EventSource shows live events; after
// the network cuts the stream it reconnects with Last-Event-ID and receives
// exactly the missed events from the replayer. (demo_page.test.mjs tests the
// rest of the page.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { headerOf, publish, publishedAll, startProxy, startServer, stats, stopServer, testTimeout, until } from './helpers.mjs';

const chromiumPath = process.env.SSE_CHROMIUM || '/usr/bin/chromium';

test('Chromium EventSource: live events, then a cut, Last-Event-ID and exactly the missed events', { timeout: testTimeout }, async () => {
  assert.ok(existsSync(chromiumPath),
    `no Chromium at ${chromiumPath}: install Debian's chromium (scripts/test.sh does: scripts/deps.sh chromium)`);
  const { child, port } = await startServer(['--replay', 'finite:1000', '--retry', '100']);
  let proxy;
  let browser;
  try {
    proxy = await startProxy(port);
    // playwright-core gives every launch a fresh, empty profile (--user-data-dir) of its own.
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
      timeout: 30000,
    });
    const page = await browser.newPage();
    const received = () => page.evaluate(() => window.received.slice());
    await page.goto(`http://127.0.0.1:${proxy.port}/?topic=`, { timeout: 15000 });
    await page.waitForFunction(() => document.getElementById('state').textContent === 'open', null, { timeout: 10000 });
    await page.waitForFunction(() => window.demo.refOpen, null, { timeout: 10000 }); // the reference stream too

    await publish(port, 5);
    await page.waitForFunction(() => window.received.length === 5, null, { timeout: 10000 });
    assert.deepEqual((await received()).map((e) => e.id), ['0', '1', '2', '3', '4']);

    proxy.cut(); // the stream drops; the browser's reconnection is held
    await until('the browser to reconnect', () => proxy.held() > 0);
    await page.waitForFunction(() => document.getElementById('state').textContent === 'reconnecting', null, { timeout: 10000 });
    await publish(port, 3);
    await publishedAll(port, 8); // all 3 missed while away
    proxy.resume();
    await page.waitForFunction(() => window.received.length >= 8, null, { timeout: 10000 });
    await page.waitForFunction(() => document.getElementById('state').textContent === 'open', null, { timeout: 10000 });

    // No duplicates arrive later: a sentinel published now is the next event.
    await publish(port, 1);
    await page.waitForFunction(() => window.received.length >= 9, null, { timeout: 10000 });
    const got = await received();
    assert.deepEqual(got.map((e) => e.id), ['0', '1', '2', '3', '4', '5', '6', '7', '8']);
    for (const e of got) assert.match(e.data, /^t=\d+ s=\d+x*$/);
    for (const e of got) assert.equal(e.data.length, 64);

    // One request before the cut, without Last-Event-ID; one after, resuming from the last id seen.
    // (The page's second stream, its reference for the missed/duplicated check, has no sid.)
    const heads = proxy.streamHeads().filter((h) => /^GET \/events\?[^ ]*sid=/.test(h));
    assert.equal(heads.length, 2, heads.join('\n'));
    assert.equal(headerOf(heads[0], 'Last-Event-ID'), undefined);
    assert.equal(headerOf(heads[1], 'Last-Event-ID'), '4');
    const s = await stats(port);
    assert.equal(s.replayed, 6); // the 3 missed, to each of the page's two streams
    assert.equal(s.gaps, 0);

    await browser.close();
    browser = undefined;
    assert.equal(await stopServer(child), 0, 'the demo server did not shut down cleanly');
  } finally {
    if (browser) await browser.close().catch(() => {});
    proxy?.close();
    await stopServer(child);
  }
});
