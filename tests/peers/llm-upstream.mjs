// A fake LLM streaming API for examples/llm_relay.cpp's test (tests/examples_run.sh):
//
//   node llm-upstream.mjs [--lifetime SECONDS]
//
// Prints its port, then answers POST /v1/chat/completions?n=N&ms=M (an OpenAI-style chat request,
// JSON with stream: true) with N (20) chunks `data: {"choices":[{"index":0,"delta":{"content":
// "tokK "}}]}` for K = 0..N-1, one every M (10) milliseconds, then `data: [DONE]` and the end.
// The first chunk's content is `You said: <prompt>. `, then tok1, tok2, ... Anything else: 400/404.

import http from 'node:http';
import { bindLifetime, listen, parseArgs, readBody } from './common.mjs';

bindLifetime(parseArgs());

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname !== '/v1/chat/completions') {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found\n');
    return;
  }
  let request = null;
  try {
    request = JSON.parse(await readBody(req));
  } catch {}
  const prompt = request?.messages?.at?.(-1)?.content;
  if (req.method !== 'POST' || request?.stream !== true || typeof prompt !== 'string') {
    res.writeHead(400, { 'Content-Type': 'application/json' });
    res.end('{"error":{"message":"expected a POSTed JSON chat request with stream: true"}}\n');
    return;
  }
  const n = Number(url.searchParams.get('n') ?? 20);
  const ms = Number(url.searchParams.get('ms') ?? 10);
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  for (let k = 0; k < n && !res.destroyed; ++k) {
    const content = k === 0 ? `You said: ${prompt}. ` : `tok${k} `;
    res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`);
    await new Promise((r) => setTimeout(r, ms));
  }
  res.end('data: [DONE]\n\n');
});
server.on('clientError', (err, socket) => socket.destroy());
listen(server);
