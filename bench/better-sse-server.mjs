// The better-sse peer of bench/fanout: node:http + better-sse (pinned in bench/package.json),
// one channel, the publish convention every fan-out server here follows.
//
//   node bench/better-sse-server.mjs [--host 127.0.0.1] [--port 18104] [--lifetime SECONDS]
//
//   GET  /events                  a better-sse session registered on the one channel
//   POST /publish?n=M&size=B      broadcasts M messages whose data is exactly B bytes,
//                                 "t=<ns since the epoch, taken right before the broadcast> s=<1..M>"
//                                 padded with 'x'; one broadcast per event-loop turn
//                                 (await setImmediate()), so sockets drain between them
//   GET  /stats                   {"sessions":…,"published":…}
//
// better-sse's defaults otherwise: retry 2000 on connect, a keep-alive comment every 10 s, a random
// UUID id and `event: message` on every event, chunked transfer encoding (node:http's default).
// better-sse cannot leave the id and event lines out, so an event of 64 data bytes is ~131 bytes on
// the wire here against 72 for the demo and raw servers (sse_load reports bytes_per_event).
import http from "node:http";
import { setImmediate as nextTurn } from "node:timers/promises";
import { createChannel, createSession } from "better-sse";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const host = opt("--host", "127.0.0.1");
const port = Number(opt("--port", "18104"));
const lifetime = Number(opt("--lifetime", "0"));

// CLOCK_REALTIME in ns: one high-resolution wall-clock anchor, advanced by the monotonic clock.
const anchorWall = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
const anchorMono = process.hrtime.bigint();
const realtimeNs = () => anchorWall + (process.hrtime.bigint() - anchorMono);

const channel = createChannel();
let published = 0;

async function publish(n, size) {
    for (let i = 0; i < n; ++i) {
        const stamp = "t=" + realtimeNs().toString() + " s=" + (i + 1);
        channel.broadcast(stamp.padEnd(size, "x"));
        ++published;
        await nextTurn();
    }
}

const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/events" && req.method === "GET") {
        try {
            const session = await createSession(req, res, { serializer: String });
            channel.register(session);
        } catch (e) {
            if (!res.headersSent) res.writeHead(500).end(String(e) + "\n");
        }
        return;
    }
    if (url.pathname === "/publish" && req.method === "POST") {
        const n = Number(url.searchParams.get("n") ?? "1");
        const size = Number(url.searchParams.get("size") ?? "64");
        if (!Number.isInteger(n) || n < 0 || n > 1e8 || !Number.isInteger(size) || size < 21 || size > 16 << 20) {
            res.writeHead(400, { "Content-Type": "text/plain" }).end("bad n or size\n");
            return;
        }
        res.writeHead(200, { "Content-Type": "application/json", Connection: "close" }).end(`{"published":${n}}\n`);
        req.resume();
        publish(n, size);
        return;
    }
    if (url.pathname === "/stats") {
        res.writeHead(200, { "Content-Type": "application/json" })
            .end(JSON.stringify({ sessions: channel.sessionCount, published }) + "\n");
        return;
    }
    res.writeHead(404).end("not found\n");
});
// No request or header timeouts: streams live as long as the load generator wants.
server.requestTimeout = 0;
server.headersTimeout = 0;
server.keepAliveTimeout = 0;
server.maxConnections = Infinity;
server.listen({ host, port, backlog: 4096 }, () => {
    console.log(`better-sse-server: listening on http://${host}:${port}/ (better-sse, node ${process.version})`);
});
const stop = () => process.exit(0);
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
if (lifetime > 0) setTimeout(stop, lifetime * 1000).unref();
