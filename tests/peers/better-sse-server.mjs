// A server built with better-sse (pinned in package.json): Sessions on one Channel, for the client
// tests (tests/test_client.cpp).
//
//   node better-sse-server.mjs [--lifetime SECONDS] [--ignore-stdin]
//
// Prints its port, then serves:
//
//   GET  /sse?retry=MS       a better-sse Session (retry MS, default 50; keep-alive every 10 s) on
//                            the channel; its first event is `welcome`, data {"lastId": the
//                            request's Last-Event-ID as better-sse saw it, "sessions": n}, sent with
//                            that same id (so the client's last event id does not change)
//   GET  /sse-204            a Session with status 204 (better-sse's way to stop a client)
//   GET  /iterate?n=N        a Session that sends N (5) events `iteration` from an async iterable
//   POST /publish            body {"data": any, "event": type, "id": id}: broadcast on the channel
//                            (better-sse JSON-serializes data); answers {"sessions": n}
//   POST /drop               cuts every session's connection; answers {"dropped": n}
//   GET  /log                the requests seen (see common.mjs)

import http from 'node:http';
import { createChannel, createSession } from 'better-sse';
import { bindLifetime, listen, parseArgs, readBody, RequestLog } from './common.mjs';

const args = parseArgs();
bindLifetime(args);
const log = new RequestLog();
const channel = createChannel();
const sockets = new Map(); // session -> its socket

function json(res, status, value) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(value) + '\n');
}

const server = http.createServer(async (req, res) => {
  res.on('error', () => {});
  const url = new URL(req.url, 'http://peer');
  const body = await readBody(req);
  if (url.pathname === '/log') {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    res.end(log.ndjson(url.searchParams.get('path')));
    return;
  }
  log.record(req, url, body);

  try {
    if (url.pathname === '/sse' && req.method === 'GET') {
      const retry = Number(url.searchParams.get('retry') ?? 50);
      const session = await createSession(req, res, { retry });
      sockets.set(session, req.socket);
      session.on('disconnected', () => sockets.delete(session));
      channel.register(session);
      session.push({ lastId: session.lastId, sessions: channel.sessionCount }, 'welcome', session.lastId);
      return;
    }
    if (url.pathname === '/sse-204') {
      await createSession(req, res, { statusCode: 204, retry: null, keepAlive: null });
      res.end();
      return;
    }
    if (url.pathname === '/iterate') {
      const n = Number(url.searchParams.get('n') ?? 5);
      const session = await createSession(req, res, { retry: null });
      async function* values() {
        for (let i = 1; i <= n; ++i) {
          await new Promise((r) => setImmediate(r));
          yield { i };
        }
      }
      await session.iterate(values(), { eventName: 'iteration' });
      return;
    }
    if (url.pathname === '/publish' && req.method === 'POST') {
      const m = JSON.parse(body);
      channel.broadcast(m.data, m.event ?? 'message', m.id === undefined ? {} : { eventId: String(m.id) });
      json(res, 200, { sessions: channel.sessionCount });
      return;
    }
    if (url.pathname === '/drop' && req.method === 'POST') {
      const n = sockets.size;
      for (const socket of sockets.values()) socket.destroy();
      sockets.clear();
      json(res, 200, { dropped: n });
      return;
    }
    json(res, 404, { error: `no route ${url.pathname}` });
  } catch (e) {
    process.stderr.write(`better-sse-server: ${e?.stack ?? e}\n`);
    if (!res.headersSent) json(res, 500, { error: String(e) });
    else res.destroy();
  }
});
server.on('clientError', (err, socket) => socket.destroy());
listen(server);
