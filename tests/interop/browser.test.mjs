// Headless Chromium (Debian's, driven by playwright-core) loads the demo page,
// whose EventSource shows live events; after the stream is cut it reconnects
// with Last-Event-ID and receives exactly the missed events from the replayer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { publish, startProxy, startServer, until } from './helpers.mjs';

const chromiumPath = process.env.SSE_CHROMIUM || '/usr/bin/chromium';

test('Chromium EventSource: live events, then a cut, Last-Event-ID and exactly the missed events', async () => {
  assert.ok(existsSync(chromiumPath), `no Chromium at ${chromiumPath} (scripts/test.sh installs Debian's chromium)`);
  const { child, port } = await startServer(['--replay', 'finite:1000', '--retry', '100']);
  const proxy = await startProxy(port);
  let browser;
  try {
    // playwright-core gives every launch a fresh profile of its own.
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
      timeout: 30000,
    });
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${proxy.port}/`, { timeout: 15000 });
    const received = () => page.evaluate(() => window.received.slice());
    await page.waitForFunction(() => document.getElementById('state').textContent === 'open', null, { timeout: 10000 });

    await publish(port, 5);
    await page.waitForFunction(() => window.received.length === 5, null, { timeout: 10000 });

    proxy.cut(); // the stream drops; the browser's reconnection is held
    await until('the browser to reconnect', () => proxy.held() > 0);
    await publish(port, 3); // missed while away
    proxy.resume();
    await page.waitForFunction(() => window.received.length === 8, null, { timeout: 10000 });

    const got = await received();
    assert.deepEqual(got.map((e) => e.id), ['0', '1', '2', '3', '4', '5', '6', '7']);
    for (const e of got) assert.match(e.data, /^t=\d+x+$/);
    assert.match(proxy.heads[proxy.heads.length - 1], /\r\nlast-event-id: 4\r\n/i);
    // No duplicates arrive later.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await received()).length, 8);
  } finally {
    proxy.close();
    child.kill();
    if (browser) await browser.close();
  }
});
