// The demo page (examples/demo_page.html) in headless Chromium (Debian's, driven by
// playwright-core), against demo_server: it loads with no console error and says which protocol
// it is on; its chart and counters advance as the ticker, the stats topic, the chat topic and a
// load run arrive; "Cut my connection" makes the server end the stream, the browser resumes with
// the Last-Event-ID it last saw, events are replayed, and the page's check (ids compared with a
// second stream that is never cut) stays at missed 0 / duplicated 0; a POST /chat answer arrives
// in pieces and is assembled exactly. Saves a screenshot (SSE_DEMO_SCREENSHOT, default a file in
// the temporary directory): scripts/demo_screenshot.sh makes docs/demo.png with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, stopServer, testTimeout } from './helpers.mjs';

const chromiumPath = process.env.SSE_CHROMIUM || '/usr/bin/chromium';
const screenshot = process.env.SSE_DEMO_SCREENSHOT || join(tmpdir(), `sse-demo-${process.pid}.png`);

async function post(port, path, body) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body, signal: AbortSignal.timeout(10000) });
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${text}`);
  return text;
}

test('the demo page: live chart and counters, cut and resume with nothing missed or duplicated, a streamed POST answer', { timeout: 2 * testTimeout }, async () => {
  assert.ok(existsSync(chromiumPath),
    `no Chromium at ${chromiumPath}: install Debian's chromium (scripts/test.sh does: scripts/deps.sh chromium)`);
  // A retry of 1 s: the browser stays away at least that long after the cut, so events published
  // meanwhile (the ticker's four a second, and the paced load below) must come from the history.
  const { child, port } = await startServer(['--replay', 'finite:100000', '--retry', '1000']);
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
      timeout: 30000,
    });
    const page = await browser.newPage({ viewport: { width: 1180, height: 860 } });
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    const demo = () => page.evaluate(() => JSON.parse(JSON.stringify(window.demo, (k, v) => (typeof v === 'bigint' ? String(v) : v))));
    const waitFor = (what, fn, arg, timeout = 15000) =>
      page.waitForFunction(fn, arg, { timeout, polling: 50 }).catch((e) => { throw new Error(`waiting for ${what}: ${e.message}`); });

    await page.goto(`http://127.0.0.1:${port}/`, { timeout: 15000 });
    await waitFor('the stream to open', () => document.getElementById('state').textContent === 'open');
    assert.equal(await page.textContent('#protocol'), 'HTTP/1.1');

    // The ticker and the stats topic arrive by themselves; the chart gets a point a second.
    await waitFor('ticker events and two stats', () => window.demo.byKind.ticker >= 4 && window.demo.byKind.stats >= 2);
    await waitFor('three chart points', () => window.demo.chart.points >= 3);
    const early = await demo();
    assert.ok(early.stats.streams >= 2, JSON.stringify(early.stats)); // this page's stream and its reference
    assert.ok(early.stats.connections >= 2);
    assert.equal(early.lastEventIdSent, null); // the first connection sends none
    assert.equal(early.opens, 1);
    assert.match(await page.textContent('#feed-ticker'), /SSE \d+\.\d\d/);

    // The chat topic, posted from the page, comes back on it.
    await page.fill('#say', 'hello from chromium');
    await page.click('#send');
    await waitFor('the chat line', () => document.getElementById('feed-chat').textContent.includes('hello from chromium'));

    // A load run from the page's button: every message arrives, the counters and chart follow.
    await page.fill('#load-n', '20000');
    await page.fill('#load-b', '64');
    await page.click('#load');
    await waitFor('the 20000 load messages', () => window.demo.byKind.message === 20000, undefined, 30000);
    await waitFor('a chart point with the load', () => window.demo.peakRx >= 100);
    assert.match(await page.textContent('#load-status'), /20\.0 k × 64 B/);

    // Cut: a paced load keeps publishing while the browser is away (at least the 1 s retry).
    await post(port, '/publish?n=300&size=64&rate=100');
    await page.click('#cut');
    await waitFor('the reconnection', () => window.demo.opens === 2 && window.demo.lastEventIdSent !== null);
    await waitFor('every load message', () => window.demo.byKind.message === 20300, undefined, 20000);
    // Both streams past the same point: the check has compared every id up to it.
    const target = (await demo()).lastId;
    await waitFor('both streams past the resume', (t) => BigInt(window.demo.lastId) > BigInt(t) && window.demo.refLast !== '' &&
      BigInt(window.demo.refLast) > BigInt(t), target);
    const after = await demo();
    assert.equal(after.lastEventIdSent, after.lastIdAtCut, 'the browser resumed from the last id it saw');
    assert.ok(after.replayed >= 1, `replayed ${after.replayed}`);
    assert.equal(after.missed, 0);
    assert.equal(after.duplicated, 0);
    assert.ok(after.checked >= 20300, `checked ${after.checked}`);
    assert.equal(after.byKind.message, 20300); // exactly: none lost, none twice
    assert.match(await page.textContent('#check'), /^missed: 0 \/ duplicated: 0$/);
    assert.equal(await page.textContent('#state'), 'open');

    // The LLM-style answer: many reads of the POST's body, assembled exactly.
    const prompt = 'Why "server-sent events"? A \\ and é.';
    await page.fill('#prompt', prompt);
    await page.click('#ask');
    await waitFor('the answer', () => window.demo.chat.done);
    const whole = JSON.parse(await post(port, '/chat?stream=0', prompt)).text;
    const chat = (await demo()).chat;
    assert.equal(chat.text, whole);
    assert.ok(whole.includes(prompt));
    assert.ok(chat.tokens >= 40, `tokens ${chat.tokens}`);
    assert.ok(chat.reads >= 10, `reads ${chat.reads}: the answer must arrive in pieces`);
    assert.equal(await page.textContent('#reply'), whole);

    // The chart has drawn something: its canvas is not blank.
    const inked = await page.evaluate(() => {
      const c = document.getElementById('chart');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n += 1;
      return n;
    });
    assert.ok(inked > 1000, `chart pixels drawn: ${inked}`);

    await page.screenshot({ path: screenshot, fullPage: true });
    assert.deepEqual(problems, []);
    await browser.close();
    browser = undefined;
    assert.equal(await stopServer(child), 0, 'the demo server did not shut down cleanly');
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopServer(child);
  }
});
