// Conformance: request bodies — Content-Length and chunked, the reading
// methods, a large streamed upload, the body limit, unread bodies,
// `Expect: 100-continue`, and backpressure both ways.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { pattern, sleep, until } from "../adapters/_net.ts";
import type { RawClient } from "./_client.ts";
import { type Caps, isBodyError, it, saysClose, type Servers } from "./_conformance_fixture.ts";

const MiB = 1024 * 1024;

/** Writes `total` bytes of `chunk` repeats, waiting for `drain` (bounded) when the socket is full. */
async function upload(c: RawClient, chunk: Uint8Array, total: number): Promise<void> {
  for (let sent = 0; sent < total; sent += chunk.length) {
    const part = total - sent < chunk.length ? chunk.subarray(0, total - sent) : chunk;
    if (!c.send(part)) await drainOf(c, 10_000);
  }
}

function drainOf(c: RawClient, ms: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      c.socket.off("drain", done);
      reject(new Error(`Timed out after ${ms} ms: the client socket to drain`));
    }, ms);
    function done() {
      clearTimeout(timer);
      resolve();
    }
    c.socket.once("drain", done);
  });
}

function sha256(chunk: Uint8Array, total: number): string {
  const hash = createHash("sha256");
  for (let sent = 0; sent < total; sent += chunk.length) {
    hash.update(total - sent < chunk.length ? chunk.subarray(0, total - sent) : chunk);
  }
  return hash.digest("hex");
}

export function bodyTests(servers: Servers, caps: Caps): void {
  it("request bodies with Content-Length and chunked, in pieces, reach req.text()", async () => {
    const s = await servers.start();
    const c = await s.client();
    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello");
    await sleep(10);
    c.send(" world");
    assert.equal((await c.response()).text, "hello world");
    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    await sleep(10);
    c.send("1\r\n \r\n5\r\nworld\r\n");
    await sleep(10);
    c.send("0\r\n\r\n");
    assert.equal((await c.response()).text, "hello world");
  });

  it("req.json(), req.bytes() and the req.body stream read the whole body", async () => {
    const s = await servers.start();
    const c = await s.client();
    const body = JSON.stringify({ a: [1, 2, "ü"] });
    const size = new TextEncoder().encode(body).length;
    c.send(new TextEncoder().encode(
      `POST /echo-json HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n${body}`,
    ));
    assert.deepEqual(JSON.parse((await c.response()).text), { got: { a: [1, 2, "ü"] } });
    c.send("POST /echo-bytes HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n\x07\x08\x09");
    assert.deepEqual(JSON.parse((await c.response()).text), { length: 3, first: 7, last: 9 });
    // The head and a secret field share the socket's read with the body: none of it shows.
    const owned = "Authorization: Bearer secret-token\r\nContent-Length: 4\r\n\r\nbody";
    c.send(`POST /echo-owned HTTP/1.1\r\nHost: x\r\n${owned}`);
    assert.deepEqual(JSON.parse((await c.response()).text), {
      text: "body",
      bytesBuffer: 4,
      plain: true,
    });
    c.send(`POST /echo-array-buffer HTTP/1.1\r\nHost: x\r\n${owned}`);
    assert.deepEqual(JSON.parse((await c.response()).text), { text: "body", length: 4 });
    c.send("POST /echo-bytes HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    assert.deepEqual(JSON.parse((await c.response()).text), { length: 0, first: null, last: null });
    c.send(
      "POST /echo-stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    assert.deepEqual(JSON.parse((await c.response()).text), {
      length: 3,
      sha256: createHash("sha256").update("abc").digest("hex"),
    });
  });

  it("an 8 MiB upload streams through req.body to a hashing handler", async () => {
    const s = await servers.start();
    const c = await s.client();
    const chunk = pattern(256 * 1024);
    const total = 8 * MiB;
    c.send(`POST /echo-stream HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`);
    await upload(c, chunk, total);
    const r = await c.response({ ms: 20_000 });
    assert.deepEqual(JSON.parse(r.text), { length: total, sha256: sha256(chunk, total) });
    // The same, chunked.
    c.send(`POST /echo-stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const framed = new Uint8Array(chunk.length + 10);
    const sizeLine = new TextEncoder().encode(`${chunk.length.toString(16)}\r\n`);
    framed.set(sizeLine);
    framed.set(chunk, sizeLine.length);
    framed.set([13, 10], sizeLine.length + chunk.length);
    const one = framed.subarray(0, sizeLine.length + chunk.length + 2);
    for (let i = 0; i < total / chunk.length; i++) if (!c.send(one)) await drainOf(c, 10_000);
    c.send("0\r\n\r\n");
    const r2 = await c.response({ ms: 20_000 });
    assert.deepEqual(JSON.parse(r2.text), { length: total, sha256: sha256(chunk, total) });
  });

  it("req.body is a byte stream: a BYOB reader with a 1000-byte buffer gets every byte", async () => {
    const s = await servers.start();
    const c = await s.client();
    const chunk = pattern(64 * 1024 + 7);
    const total = 2 * MiB + 3;
    c.send(`POST /echo-byob HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`);
    await upload(c, chunk, total);
    const r = await c.response({ ms: 20_000 });
    assert.deepEqual(JSON.parse(r.text), { length: total, sha256: sha256(chunk, total) });
    c.send(
      "POST /echo-byob HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    assert.deepEqual(JSON.parse((await c.response()).text), {
      length: 3,
      sha256: createHash("sha256").update("abc").digest("hex"),
    });
  });

  it("maxBodySize: a declared Content-Length over it is refused with 413 and close", async () => {
    const s = await servers.start({ maxBodySize: 64 * 1024 });
    const c = await s.client();
    c.send(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${MiB}\r\n\r\n`);
    const r = await c.response();
    assert.equal(r.status, 413);
    if (caps.closesAfterClose) {
      assert.ok(saysClose(r));
      await c.waitClosed(5000);
    }
    assert.equal(s.ctx.calls, 0, "refused before the handler");
  });

  it("maxBodySize: an endless chunked body gets its 413, then the connection closes", async () => {
    const s = await servers.start({ maxBodySize: 64 * 1024 });
    const c = await s.client();
    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    const chunk = new TextEncoder().encode(`4000\r\n${"x".repeat(0x4000)}\r\n`);
    let sent = 0;
    c.socket.on("error", () => {});
    while (c.pending === 0 && !c.ended && !c.closed && sent < 16 * MiB) {
      sent += chunk.length;
      if (!c.send(chunk)) {
        await Promise.race([
          drainOf(c, 2000).catch(() => {}),
          c.waitBytes(1, 2000).catch(() => {}),
        ]);
      }
    }
    const r = await c.response();
    assert.equal(r.status, 413);
    if (caps.closesAfterClose) {
      assert.ok(saysClose(r));
      await c.waitClosed(10_000);
    }
    assert.ok(s.ctx.bodyErrors.some((e) => isBodyError(e, "SLUICE_ERR_BODY_TOO_LARGE")));
  });

  it("an unread small body is drained and the connection reused; a large one closes it", async () => {
    const s = await servers.start();
    const c1 = await s.client();
    c1.send(`POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${"y".repeat(1000)}`);
    const a = await c1.response();
    assert.equal(a.text, "ignored");
    if (caps.drainsUnreadBody) {
      assert.equal(saysClose(a), false);
      c1.send("GET /text HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.equal((await c1.response()).text, "hello");
    } else {
      // Deno.serve does not drain: the connection closes.
      assert.ok(saysClose(a));
      await c1.waitClosed(5000);
    }

    const c2 = await s.client();
    c2.socket.on("error", () => {});
    c2.send(`POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: ${64 * MiB}\r\n\r\n`);
    c2.send(new Uint8Array(64 * 1024));
    const b = await c2.response();
    assert.equal(b.text, "ignored");
    // Bun reads the rest on to reuse the connection, however large.
    assert.equal(saysClose(b), caps.closesOnLargeUnreadBody);
    if (caps.closesOnLargeUnreadBody && caps.closesAfterClose) await c2.waitClosed(10_000);
  });

  it("Expect: 100-continue: 100 goes out once the handler reads, never when it answers unread", async () => {
    const s = await servers.start();
    const c1 = await s.client();
    c1.send(
      "POST /expect HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    const interim = await c1.response();
    assert.equal(interim.status, 100);
    // Native servers send it as soon as the head is in.
    if (caps.lazyContinue) assert.equal(s.ctx.readStarted, true, "100 only once the handler reads");
    c1.send("hello");
    const r = await c1.response();
    assert.equal(r.status, 200);
    assert.equal(r.text, "hello");

    const c2 = await s.client();
    c2.send(
      "POST /ignore HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    let direct = await c2.response();
    if (!caps.lazyContinue) {
      assert.equal(direct.status, 100);
      direct = await c2.response();
    }
    assert.equal(direct.status, 200, "the final answer, with no 100 before it");
    assert.equal(direct.text, "ignored");
    // The client may or may not send the body now: the connection cannot be reused.
    if (caps.lazyContinue) {
      assert.ok(saysClose(direct));
      await c2.waitClosed(5000);
    }
  });

  it("expectContinue hook: false answers 417 without calling the handler", async () => {
    const s = await servers.start({ expectContinue: (req) => req.pathname !== "/expect" });
    const c = await s.client();
    c.send("POST /expect HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    let r = await c.response();
    if (!caps.lazyContinue) {
      // Native servers sent 100 before the hook could decide.
      assert.equal(r.status, 100);
      r = await c.response();
    }
    assert.equal(r.status, 417);
    assert.ok(saysClose(r));
    assert.equal(s.ctx.calls, 0);
  });

  it("slow reader: a client that reads nothing holds the producer back (backpressure)", async () => {
    const s = await servers.start();
    const c = await s.client();
    c.send("GET /huge HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.waitBytes(1);
    c.socket.pause();
    await sleep(1000);
    const pulled = s.ctx.pulls * 64 * 1024;
    assert.ok(s.ctx.pulls > 0);
    assert.ok(pulled < 16 * MiB, `pulled ${pulled} bytes for a client that reads nothing`);
    c.close();
    await until(() => s.ctx.cancelled, 5000, "the stream to be cancelled");
  });

  it("fast uploader: a handler that does not read makes the client's socket back up", async () => {
    const s = await servers.start();
    const c = await s.client();
    const chunk = pattern(MiB);
    const total = 64 * MiB;
    c.send(`POST /read-later HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`);
    for (let i = 0; i < 64; i++) c.send(chunk);
    await sleep(600);
    assert.equal(s.ctx.calls, 1);
    const queued = c.socket.writableLength;
    assert.ok(
      queued > 32 * MiB,
      `only ${queued} of ${total} bytes still queued in the client: the server took the rest unread`,
    );
    const r = await c.response({ ms: 30_000 });
    assert.deepEqual(JSON.parse(r.text), { length: total, sha256: sha256(chunk, total) });
  });
}
