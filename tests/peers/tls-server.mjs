// A node:https server with a self-signed certificate made at start-up (never stored in the
// repository), for the client's TLS tests (tests/test_client.cpp).
//
//   node tls-server.mjs [--name localhost] [--ip 127.0.0.1|none] [--lifetime SECONDS] [--ignore-stdin]
//
// Makes a key and a certificate for CN=NAME with subjectAltName DNS:NAME (and IP:IP unless none)
// with `openssl req -x509` in a fresh temporary directory, removed on exit. Prints its port, then
// the path of the certificate (the PEM file a client must trust), then the port of a plain HTTP
// listener for /log. Serves over HTTPS:
//
//   /events   one event `secure <attempt>` with id <attempt>, then the end
//
// and over plain HTTP (so that a test needs no TLS client to read it):
//
//   /log      the HTTPS requests seen (see common.mjs)

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { bindLifetime, listen, parseArgs, readBody, RequestLog } from './common.mjs';

const args = parseArgs();
const name = String(args.name ?? 'localhost');
const ip = String(args.ip ?? '127.0.0.1');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sse-tls-peer-'));
bindLifetime(args, () => fs.rmSync(dir, { recursive: true, force: true }));

const keyFile = path.join(dir, 'key.pem');
const certFile = path.join(dir, 'cert.pem');
const san = `subjectAltName=DNS:${name}` + (ip === 'none' ? '' : `,IP:${ip}`);
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`,
                         '-addext', san, '-keyout', keyFile, '-out', certFile],
             { stdio: ['ignore', 'ignore', 'pipe'] });

const log = new RequestLog();
const server = https.createServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) }, async (req, res) => {
  res.on('error', () => {});
  const url = new URL(req.url, 'https://peer');
  const body = await readBody(req);
  const attempt = log.record(req, url, body);
  if (url.pathname === '/events') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.end(`id: ${attempt}\ndata: secure ${attempt}\n\n`);
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end(`no route ${url.pathname}\n`);
});
server.on('tlsClientError', () => {}); // the untrusted-certificate tests make these on purpose
server.on('clientError', (err, socket) => socket.destroy());

const control = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://peer');
  if (url.pathname !== '/log') {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end(`no route ${url.pathname}\n`);
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
  res.end(log.ndjson(url.searchParams.get('path')));
});
control.listen(0, '127.0.0.1', () => listen(server, [certFile, String(control.address().port)]));
