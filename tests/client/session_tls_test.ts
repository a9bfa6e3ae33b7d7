// ClientSession over TLS to a node:https server, on Deno (Deno.connectTls), Bun (Bun.connect)
// and Node (node:tls, whose reads are Buffers): bodies read every way on one kept-alive
// connection, and what the buffered reads return owns its memory (no TLS record around it).

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Server, Socket } from "node:net";
import { createServer as createHttpsServer } from "node:https";
import { ClientSession } from "../../client/mod.ts";
import { within } from "../adapters/_net.ts";
import { ca, cert, key } from "../_fixtures/tls_chain.ts";

const servers: Server[] = [];
const sessions: ClientSession[] = [];

after(async () => {
  await Promise.all(sessions.map((s) => within(s.close(), 5000, "session close")));
  for (const server of servers) {
    (server as unknown as { closeAllConnections(): void }).closeAllConnections();
  }
  await Promise.all(
    servers.map((s) => within(new Promise<void>((r) => s.close(() => r())), 5000, "close")),
  );
});

/** An https origin: `/small` answers "secret-free body", `/big?n=` n bytes of a pattern. */
async function origin(): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server = createHttpsServer({ cert, key }, (req, res) => {
    const url = new URL(req.url!, "https://localhost");
    res.setHeader("x-secret-looking-field", "do-not-leak");
    if (url.pathname === "/small") return res.end("secret-free body");
    res.end(pattern(Number(url.searchParams.get("n"))));
  }) as unknown as Server;
  server.on("secureConnection", (socket: Socket) => {
    connections++;
    socket.on("error", () => {});
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as { port: number }).port, connections: () => connections };
}

function pattern(n: number): Uint8Array {
  const body = new Uint8Array(n);
  for (let i = 0; i < n; i++) body[i] = (i * 31 + 7) & 0xff;
  return body;
}

function session(): ClientSession {
  const s = new ClientSession({ connector: { tls: { ca }, limit: 1 } });
  sessions.push(s);
  return s;
}

describe("ClientSession over TLS", () => {
  test("arrayBuffer() and bytes() own their memory: .buffer is the body alone", async () => {
    const { port } = await origin();
    const s = session();
    const url = `https://localhost:${port}/small`;
    const buffer = await within((await s.get(url)).arrayBuffer(), 5000, "arrayBuffer");
    assert.equal(buffer.byteLength, "secret-free body".length);
    assert.equal(new TextDecoder().decode(buffer), "secret-free body");
    const bytes = await within((await s.get(url)).bytes(), 5000, "bytes");
    assert.equal(bytes.buffer.byteLength, bytes.byteLength);
    assert.equal(bytes.constructor, Uint8Array);
  });

  test("bodies read by bytes(), a default reader and a BYOB reader, on one connection", async () => {
    const { port, connections } = await origin();
    const s = session();
    const base = `https://localhost:${port}`;
    for (let round = 0; round < 3; round++) {
      for (const n of [1, 1000, 70_000, 300_000]) {
        const expected = pattern(n);
        // A default reader: the stream takes its chunks (copies of views, never the read's buffer).
        const streamed = await s.get(`${base}/big?n=${n}`);
        const parts: Uint8Array[] = [];
        for await (const chunk of streamed.body!) parts.push(chunk);
        assert.deepEqual(Buffer.concat(parts), Buffer.from(expected), `stream ${n}`);
        // A BYOB reader with a buffer smaller than most chunks.
        const byob = await s.get(`${base}/big?n=${n}`);
        const reader = byob.body!.getReader({ mode: "byob" });
        const got = new Uint8Array(n);
        let at = 0;
        let buffer = new Uint8Array(4096);
        for (;;) {
          const { done, value } = await within(reader.read(buffer), 5000, "byob read");
          if (done) break;
          got.set(value, at);
          at += value.byteLength;
          buffer = new Uint8Array(value.buffer);
        }
        assert.equal(at, n);
        assert.deepEqual(got, expected, `byob ${n}`);
        const whole = await s.get(`${base}/big?n=${n}`);
        assert.deepEqual(await whole.bytes(), expected, `bytes ${n}`);
      }
    }
    assert.equal(connections(), 1, "every request on the one kept-alive connection");
  });
});
