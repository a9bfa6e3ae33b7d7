// ClientResponse.body is a byte stream, as fetch's is: BYOB readers on
// Content-Length, chunked and decoded bodies, switching readers mid-body,
// cancelling, and the connection going back to the pool afterwards.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { gzipSync } from "node:zlib";
import { ClientSession } from "../../client/session.ts";
import { concat, pattern, sameBytes, within } from "../adapters/_net.ts";

const sessions: ClientSession[] = [];
let server: Server | null = null;
let sockets = 0;

after(async () => {
  await Promise.all(sessions.map((s) => within(s.close(), 5000, "session close")));
  if (server !== null) {
    server.closeAllConnections();
    await within(new Promise<void>((r) => server!.close(() => r())), 5000, "server close");
  }
});

const BODY = pattern(3 * 1024 * 1024 + 17);
const ZIPPED = gzipSync(BODY.subarray(0, 1024 * 1024));

/** Writes `body` in pieces of uneven sizes (7 KiB, 13 B, 60 KiB, …). */
function writeUneven(res: import("node:http").ServerResponse, body: Uint8Array): void {
  const sizes = [7168, 13, 61440, 1, 4096, 33333];
  let at = 0;
  for (let i = 0; at < body.length; i++) {
    const size = sizes[i % sizes.length];
    res.write(body.subarray(at, at + size));
    at += size;
  }
  res.end();
}

let base: Promise<string> | null = null;
function url(path: string): Promise<string> {
  base ??= new Promise((resolve) => {
    server = createServer((req, res) => {
      const size = Number(new URL(req.url!, "http://x").searchParams.get("size") ?? BODY.length);
      const body = BODY.subarray(0, size);
      if (req.url!.startsWith("/fixed")) {
        res.writeHead(200, { "content-length": body.length });
        writeUneven(res, body);
      } else if (req.url!.startsWith("/chunked")) {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        writeUneven(res, body);
      } else {
        res.writeHead(200, { "content-encoding": "gzip", "content-length": ZIPPED.length });
        writeUneven(res, ZIPPED);
      }
    });
    server.on("connection", () => sockets++);
    server.listen(0, "127.0.0.1", () => {
      const address = server!.address() as { port: number };
      resolve(`http://127.0.0.1:${address.port}`);
    });
  });
  return base.then((b) => b + path);
}

function session(): ClientSession {
  const s = new ClientSession();
  sessions.push(s);
  return s;
}

/** Reads `body` to its end with a BYOB reader, `size` bytes at a time, reusing one buffer. */
async function readByob(body: ReadableStream<Uint8Array>, size: number): Promise<Uint8Array> {
  const reader = body.getReader({ mode: "byob" });
  const parts: Uint8Array[] = [];
  let buffer = new ArrayBuffer(size);
  for (;;) {
    const { done, value } = await reader.read(new Uint8Array(buffer));
    if (done) break;
    assert.ok(value.byteLength > 0 && value.byteLength <= size);
    parts.push(value.slice());
    buffer = value.buffer as ArrayBuffer;
  }
  return concat(parts);
}

describe("ClientResponse.body as a byte stream", () => {
  test("a BYOB reader reads a 3 MiB Content-Length body exactly; the connection is reused after", async () => {
    const s = session();
    const before = sockets;
    const res = await within(s.get(await url("/fixed")), 10_000, "GET");
    const got = await within(readByob(res.body!, 10_000), 20_000, "BYOB read");
    assert.ok(sameBytes(got, BODY), "the body as sent");
    assert.equal(res.bodyUsed, true);
    const again = await within(s.get(await url("/fixed?size=10")), 10_000, "GET again");
    assert.equal(await again.text(), new TextDecoder().decode(BODY.subarray(0, 10)));
    assert.equal(sockets - before, 1, "one socket for both requests");
  });

  test("a BYOB reader with 1 KiB views reads a chunked body", async () => {
    const res = await within(session().get(await url("/chunked?size=1048576")), 10_000, "GET");
    const got = await within(readByob(res.body!, 1024), 20_000, "BYOB read");
    assert.ok(sameBytes(got, BODY.subarray(0, 1048576)));
  });

  test("a BYOB reader reads a decoded (gzip) body, what does not fit kept for the next read", async () => {
    const res = await within(session().get(await url("/gzip")), 10_000, "GET");
    const got = await within(readByob(res.body!, 777), 20_000, "BYOB read");
    assert.ok(sameBytes(got, BODY.subarray(0, 1024 * 1024)));
  });

  test("a default reader still gets chunks (for await), each one its own buffer", async () => {
    const res = await within(session().get(await url("/chunked")), 10_000, "GET");
    const parts: Uint8Array[] = [];
    for await (const chunk of res.body!) {
      assert.equal(chunk.byteLength, chunk.buffer.byteLength, "a chunk owns its buffer");
      parts.push(chunk);
    }
    assert.ok(sameBytes(concat(parts), BODY));
  });

  test("reading 5 bytes with a BYOB reader, then the rest with a default reader", async () => {
    const res = await within(session().get(await url("/fixed?size=200000")), 10_000, "GET");
    const body = res.body!;
    const byob = body.getReader({ mode: "byob" });
    const { value } = await within(byob.read(new Uint8Array(5)), 5000, "BYOB read");
    byob.releaseLock();
    const reader = body.getReader();
    const parts = [value!];
    for (;;) {
      const { done, value } = await within(reader.read(), 5000, "default read");
      if (done) break;
      parts.push(value);
    }
    assert.ok(sameBytes(concat(parts), BODY.subarray(0, 200000)));
  });

  test("cancelling a BYOB reader mid-body gives the body up; the session goes on", async () => {
    const s = session();
    const res = await within(s.get(await url("/fixed")), 10_000, "GET");
    const reader = res.body!.getReader({ mode: "byob" });
    const { value } = await within(reader.read(new Uint8Array(4096)), 5000, "first read");
    assert.ok(sameBytes(value!, BODY.subarray(0, value!.length)));
    await within(reader.cancel("enough"), 5000, "cancel");
    await assert.rejects(res.text(), /already used|released|locked/);
    const next = await within(s.get(await url("/fixed?size=3")), 10_000, "next GET");
    assert.equal((await next.bytes()).length, 3);
  });
});
