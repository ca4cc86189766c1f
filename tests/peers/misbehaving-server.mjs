// A node:http server whose every path misbehaves (or behaves) in one chosen way, for the client
// tests (tests/test_client.cpp) and the examples' smoke test (tests/examples_smoke.sh).
//
//   node misbehaving-server.mjs [--lifetime SECONDS] [--ignore-stdin]
//
// Prints its port, then serves (attempt = how many requests that path has had, from 1):
//
//   /cr-only                 three events whose lines end with CR only, then the end
//   /split-every-byte        a fixed stream (BOM, CRLF/LF/CR, UTF-8, comments, retry, an id reset,
//                            an unterminated last event) written one byte per write, head included,
//                            on the raw socket and ended by closing; ?chunked=1: through the
//                            response (one chunk per byte)
//   /huge?bytes=N            one event with a single data line of N bytes (default 20 MiB)
//   /drop-mid-event?n=N&per=K  events id 1..N (`event i` / `more i`) from after the request's
//                            Last-Event-ID; after K of them writes half of the next one (its id line
//                            included) and cuts the connection; ends cleanly when none are left
//   /204                     204 No Content
//   /wrong-type              200 text/plain with an event in the body
//   /status?code=N           an event stream with status N
//   /retry-50, /retry?ms=M   `retry: M` (50), one event `tick <attempt>`, the end
//   /429?after=S             attempt 1: 429 with Retry-After: S (1); then a stream with `finally`, kept open
//   /redirect?code=C&to=U    C (302) with Location U (/target)
//   /target                  one event with the lines `method=<method>` and `body=<body>`, the end
//   /echo                    an event `method` with the method, then the body as one event (each
//                            body line one data line), the end
//   /headers                 one event whose data is the request's headers as JSON, the end
//   /llm?n=N&ascii=1         POST an OpenAI-style chat request (JSON, stream: true): N (500)
//                            `data: {chunk}` events whose delta contents make the text of
//                            /llm/expected, then `data: [DONE]`, the end. ascii=1 escapes non-ASCII
//                            as \uXXXX (surrogate pairs beyond the BMP). 400 for a bad request.
//   /llm/expected?n=N&prompt=P  the text /llm streams for that prompt, as text/plain
//   /head-only-then-silence  the response head of a stream, then nothing
//   /no-head                 nothing at all (the request is never answered)
//   /accept-then-close?how=end|cut  a stream head, then at once the end (end: a clean chunked end;
//                            cut: TCP close without the last chunk)
//   /empty                   200 text/event-stream with Content-Length: 0 (kept alive)
//   /blank-lines-at-end      `data: a` and extra blank lines, the end
//   /last-event-id-sequence  attempt 1: `data: a` (no id); 2: `id: 7` `data: b`; 3: a bare `id`
//                            (resets the id) and `data: c`; 4 and on: `data: d`; each then ends
//   /bad-chunk               attempt 1: a chunk with an unterminated `data: partial` line, then a
//                            malformed chunk size and a close; then `data: b`, the end
//   /log[?path=P]            the requests seen so far (not /log itself), one JSON object a line:
//                            {seq, t (ms, monotonic), method, path, url, attempt, headers, body}

import http from 'node:http';
import { bindLifetime, listen, parseArgs, readBody, RequestLog } from './common.mjs';

const args = parseArgs();
bindLifetime(args);
const log = new RequestLog();

function streamHead(res, status = 200, extra = {}) {
  res.writeHead(status, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', ...extra });
}

// Writes `buf` one byte per write, each after a turn of the event loop.
function writeBytewise(write, buf, done) {
  let i = 0;
  const step = () => {
    if (i >= buf.length) return done();
    write(buf.subarray(i, i + 1));
    ++i;
    setImmediate(step);
  };
  step();
}

const splitBody =
  '\uFEFF' +
  'data: first\r\n\r\n' +
  ': a comment\n' +
  'event: typed\nid: 42\ndata: line one\ndata: line two\n\n' +
  'data: caf\u00e9 \u2615 \u{1F600}\r\r' +
  'retry: 1234\n' +
  'data:no-space\r\n' +
  'data\n\n' +
  'id: \ndata: after-id-reset\n\n' +
  'data: tail-without-blank-line\n';

// The pieces of the mock completion: the prompt first, then words with characters that JSON escapes.
function llmPieces(n, prompt) {
  const pieces = [];
  for (let i = 0; i < n; ++i) {
    let p = i === 0 ? `You said: ${prompt}.` : `w${i}`;
    if (i % 97 === 3) p += ' "quoted"';
    if (i % 89 === 5) p += ' back\\slash/';
    if (i % 83 === 7) p += ' caf\u00e9';
    if (i % 79 === 11) p += ' \u{1F600}';
    if (i % 71 === 13) p += ' tab\there';
    if (i % 67 === 17) p += ' <b>&amp;</b>';
    p += i % 50 === 49 ? '\n' : ' ';
    pieces.push(p);
  }
  return pieces;
}

function asciiJson(value) {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

async function llm(req, res, url, body) {
  const n = Number(url.searchParams.get('n') ?? 500);
  let request;
  try {
    request = JSON.parse(body);
  } catch {
    request = null;
  }
  const type = req.headers['content-type'] ?? '';
  const messages = request?.messages;
  if (req.method !== 'POST' || !type.startsWith('application/json') || request?.stream !== true ||
      !Array.isArray(messages) || messages.length === 0 || typeof messages.at(-1).content !== 'string') {
    res.writeHead(400, { 'Content-Type': 'application/json' });
    res.end('{"error":{"message":"expected a POSTed JSON chat request with stream: true"}}\n');
    return;
  }
  const pieces = llmPieces(n, messages.at(-1).content);
  const encode = url.searchParams.get('ascii') === '1' ? asciiJson : JSON.stringify;
  streamHead(res);
  for (let i = 0; i < pieces.length; ++i) {
    const delta = i === 0 ? { role: 'assistant', content: pieces[i] } : { content: pieces[i] };
    const chunk = {
      id: 'chatcmpl-test',
      object: 'chat.completion.chunk',
      created: 0,
      model: String(request.model ?? 'mock'),
      choices: [{ index: 0, delta, finish_reason: i === pieces.length - 1 ? 'stop' : null }],
    };
    res.write(`data: ${encode(chunk)}\n\n`);
    if (i % 10 === 9) await new Promise((r) => setImmediate(r)); // spread over many reads
  }
  res.end('data: [DONE]\n\n');
}

function dropMidEvent(req, res, url) {
  const n = Number(url.searchParams.get('n') ?? 30);
  const per = Number(url.searchParams.get('per') ?? 7);
  const from = Number.parseInt(req.headers['last-event-id'] ?? '0', 10) || 0;
  const text = (i) => `id: ${i}\ndata: event ${i}\ndata: more ${i}\n\n`;
  streamHead(res);
  let i = from + 1;
  for (; i <= n && i <= from + per; ++i) res.write(text(i));
  if (i > n) {
    res.end();
    return;
  }
  const half = text(i).slice(0, -5); // "id: i\ndata: event i\ndata: mor..."
  res.write(half, () => res.socket?.destroy());
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
  const attempt = log.record(req, url, body);
  const q = (name, fallback) => url.searchParams.get(name) ?? fallback;

  switch (url.pathname) {
    case '/cr-only':
      streamHead(res);
      res.end('data: one\rdata: two\r\revent: typed\rid: 1\rdata: three\r\r: comment\rdata: four\r\r');
      return;
    case '/split-every-byte': {
      if (q('chunked') === '1') {
        streamHead(res);
        writeBytewise((b) => res.write(b), Buffer.from(splitBody, 'utf8'), () => res.end());
        return;
      }
      const raw = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n' + splitBody, 'utf8');
      const socket = req.socket;
      writeBytewise((b) => socket.write(b), raw, () => socket.end());
      return;
    }
    case '/huge': {
      const bytes = Number(q('bytes', 20 * 1024 * 1024));
      streamHead(res);
      res.end(`data: ${'x'.repeat(bytes)}\n\n`);
      return;
    }
    case '/drop-mid-event':
      dropMidEvent(req, res, url);
      return;
    case '/204':
      res.writeHead(204);
      res.end();
      return;
    case '/wrong-type':
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('data: this is not an event stream\n\n');
      return;
    case '/status':
      streamHead(res, Number(q('code', 500)));
      res.end('data: status\n\n');
      return;
    case '/retry-50':
    case '/retry':
      streamHead(res);
      res.end(`retry: ${q('ms', '50')}\n\ndata: tick ${attempt}\n\n`);
      return;
    case '/429':
      if (attempt === 1) {
        res.writeHead(429, { 'Content-Type': 'text/plain', 'Retry-After': q('after', '1') });
        res.end('slow down\n');
        return;
      }
      streamHead(res);
      res.write('data: finally\n\n');
      return; // kept open: the test ends it
    case '/redirect':
      res.writeHead(Number(q('code', 302)), { Location: q('to', '/target'), 'Content-Type': 'text/plain' });
      res.end('moved\n');
      return;
    case '/target':
      streamHead(res);
      res.end(`data: method=${req.method}\ndata: body=${body}\n\n`);
      return;
    case '/echo':
      streamHead(res);
      res.end(`event: method\ndata: ${req.method}\n\n` + body.split(/\r\n|\r|\n/).map((l) => `data: ${l}\n`).join('') + '\n');
      return;
    case '/headers':
      streamHead(res);
      res.end(`data: ${JSON.stringify(req.headers)}\n\n`);
      return;
    case '/llm':
      await llm(req, res, url, body);
      return;
    case '/llm/expected':
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(llmPieces(Number(q('n', 500)), q('prompt', '')).join(''));
      return;
    case '/head-only-then-silence':
      streamHead(res);
      res.flushHeaders();
      return; // and nothing more
    case '/no-head':
      return; // never answered
    case '/accept-then-close':
      streamHead(res);
      res.flushHeaders();
      if (q('how', 'end') === 'cut') res.write('', () => res.socket?.end());
      else res.end();
      return;
    case '/empty':
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Content-Length': '0' });
      res.end(); // and the connection stays open (keep-alive)
      return;
    case '/blank-lines-at-end':
      streamHead(res);
      res.end('data: a\n\n\n\n');
      return;
    case '/last-event-id-sequence': {
      const bodies = ['data: a\n\n', 'id: 7\ndata: b\n\n', 'id\ndata: c\n\n'];
      streamHead(res);
      res.end(bodies[attempt - 1] ?? 'data: d\n\n');
      return;
    }
    case '/bad-chunk':
      if (attempt === 1) {
        const socket = req.socket;
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n' +
                     'd\r\ndata: partial\r\n');
        socket.write('zz\r\n', () => socket.end());
        return;
      }
      streamHead(res);
      res.end('data: b\n\n');
      return;
    default:
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end(`no route ${url.pathname}\n`);
  }
});
server.on('clientError', (err, socket) => socket.destroy());
listen(server);
