// Conformance: the life of a connection — malformed heads, timeouts, the
// request limit, a client that goes away, takeover, graceful shutdown.

import assert from "node:assert/strict";
import { sleep, until, within } from "../adapters/_net.ts";
import { RawClient } from "./_client.ts";
import { type Caps, isBodyError, it, saysClose, type Servers } from "./_conformance_fixture.ts";

const GET = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

/** Malformed requests and the status the raw engine answers each with. */
export const MALFORMED: ReadonlyArray<{ name: string; wire: string; status: number }> = [
  { name: "a bad request line", wire: "GARBAGE\r\n\r\n", status: 400 },
  {
    name: "a bad header name",
    wire: "GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n",
    status: 400,
  },
  {
    name: "Content-Length with Transfer-Encoding",
    wire:
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    status: 400,
  },
  {
    name: "two Content-Length fields",
    wire: "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    status: 400,
  },
  {
    name: "HTTP/2.0 in the request line",
    wire: "GET /text HTTP/2.0\r\nHost: x\r\n\r\n",
    status: 505,
  },
  { name: "bare LF line endings", wire: "GET /text HTTP/1.1\nHost: x\n\n", status: 400 },
  { name: "obs-fold", wire: "GET /text HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  b\r\n\r\n", status: 400 },
  {
    name: "a control character in a value",
    wire: "GET /text HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
    status: 400,
  },
  { name: "no Host in HTTP/1.1", wire: "GET /text HTTP/1.1\r\n\r\n", status: 400 },
  {
    name: "a request line over 8190 bytes",
    wire: `GET /${"a".repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    status: 414,
  },
  {
    name: "a header line over 8190 bytes",
    wire: `GET /text HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(9000)}\r\n\r\n`,
    status: 431,
  },
  {
    name: "more than 128 header fields",
    wire: `GET /text HTTP/1.1\r\nHost: x\r\n${
      Array.from({ length: 130 }, (_, i) => `X-F${i}: v\r\n`).join("")
    }\r\n`,
    status: 431,
  },
  {
    name: "a transfer coding other than chunked last",
    wire: "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
    status: 400,
  },
  {
    name: "an unknown transfer coding before chunked",
    wire: "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    status: 501,
  },
];

export function connectionTests(servers: Servers, caps: Caps): void {
  it("malformed heads get their status and a close; the handler never sees them", async () => {
    // The raw engine's defaults, given explicitly: native servers keep the runtime's own otherwise.
    const s = await servers.start({
      maxRequestLineSize: 8190,
      maxHeaderSize: 8190,
      maxHeaders: 128,
    });
    const failures: string[] = [];
    await Promise.all(MALFORMED.map(async ({ name, wire, status }) => {
      const c = await s.client();
      c.socket.on("error", () => {});
      c.send(wire);
      if (caps.lenientHeads.includes(name)) {
        const r = await c.response({ ms: 5000 });
        if (r.status !== 200) failures.push(`${name}: ${r.status}, expected to be served`);
        return;
      }
      try {
        const r = await c.response({ ms: 5000 });
        if (caps.exactParser) {
          if (r.status !== status) failures.push(`${name}: ${r.status}, expected ${status}`);
        } else if (r.status < 400) failures.push(`${name}: accepted with ${r.status}`);
        // Deno.serve cannot close after a refusal, so it does not say it will.
        if (caps.closesAfterClose) {
          if (!saysClose(r)) failures.push(`${name}: no connection: close`);
          await c.waitClosed(5000);
        }
      } catch (error) {
        // A runtime's parser may close without an answer; Sluice's always answers.
        if (caps.exactParser || c.received > 0 || !(c.ended || c.closed)) {
          failures.push(`${name}: ${error}`);
        }
      }
    }));
    assert.deepEqual(failures, []);
    const served = MALFORMED.filter((row) => caps.lenientHeads.includes(row.name)).length;
    assert.equal(s.ctx.calls, served, "no handler call for a refused head");
  });

  it("a bad chunk size fails the handler's read and closes with 400", async () => {
    const s = await servers.start();
    const c = await s.client();
    c.socket.on("error", () => {});
    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n");
    if (caps.exactParser) {
      const r = await c.response();
      assert.equal(r.status, 400);
      assert.ok(saysClose(r));
    } else {
      // Deno.serve closes without an answer; Bun.serve answers 400.
      await c.waitClosed(5000);
      if (c.pending > 0) assert.equal((await c.response()).status, 400);
    }
    await c.waitClosed(5000);
    if (s.ctx.calls > 0) {
      await until(() => s.ctx.bodyErrors.length > 0, 5000, "the read to fail");
      assert.ok(
        isBodyError(s.ctx.bodyErrors[0], "SLUICE_ERR_BODY_ABORTED"),
        String(s.ctx.bodyErrors[0]),
      );
    }
  });

  it("headersTimeout, bodyTimeout and idleTimeout (1 s each): 408, a failed read, a close", async () => {
    const [head, body, idle] = await Promise.all([
      servers.start({ headersTimeout: 1000 }),
      servers.start({ bodyTimeout: 1000 }),
      servers.start({ idleTimeout: 1000 }),
    ]);
    await Promise.all([
      (async () => {
        const c = await head.client();
        c.socket.on("error", () => {});
        c.send("GET /text HTTP/1.1\r\nHost: x\r\n");
        if (caps.headersTimeout) {
          const r = await c.response({ ms: 5000 });
          assert.equal(r.status, 408);
          assert.ok(saysClose(r));
          await c.waitClosed(5000);
        } else {
          // No effect: the head may take its time.
          await sleep(2500);
          c.send("\r\n");
          assert.equal((await c.response()).text, "hello");
        }
        assert.equal(head.ctx.calls, caps.headersTimeout ? 0 : 1);
      })(),
      (async () => {
        const c = await body.client();
        c.socket.on("error", () => {});
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello");
        if (caps.bodyTimeout) {
          await until(() => body.ctx.bodyErrors.length > 0, 5000, "the read to fail");
          const error = body.ctx.bodyErrors[0];
          assert.ok(isBodyError(error, "SLUICE_ERR_BODY_TIMEOUT"), String(error));
          const r = await c.response();
          assert.equal(r.status, 408);
          assert.ok(saysClose(r));
          await c.waitClosed(5000);
        } else {
          await sleep(2500);
          assert.deepEqual(body.ctx.bodyErrors, []);
          c.send("world");
          assert.equal((await c.response()).text, "helloworld");
        }
      })(),
      (async () => {
        const c = await idle.client();
        c.send(GET("/text"));
        assert.equal((await c.response()).text, "hello");
        if (caps.idleTimeout !== false) {
          // Bun's timer ticks every 4 s.
          const bound = caps.idleTimeout === "exact" ? 5000 : 12_000;
          assert.deepEqual(await c.waitClosed(bound), { reset: false });
          assert.equal(c.pending, 0);
        } else {
          await sleep(2500);
          c.send(GET("/text"));
          assert.equal((await c.response()).text, "hello");
        }
      })(),
    ]);
  });

  it("maxRequestsPerConnection: the last allowed response carries connection: close", async () => {
    const s = await servers.start({ maxRequestsPerConnection: 3 });
    const c = await s.client();
    c.send(GET("/text") + GET("/json") + GET("/text") + GET("/text"));
    const rs = [await c.response(), await c.response(), await c.response()];
    assert.deepEqual(rs.map((r) => r.status), [200, 200, 200]);
    if (!caps.maxRequestsPerConnection) {
      // No effect: the fourth is answered too, on the same connection.
      assert.equal(saysClose(rs[2]), false);
      assert.equal((await c.response()).status, 200);
      return;
    }
    assert.notEqual(rs[0].headers.get("connection"), "close");
    assert.notEqual(rs[1].headers.get("connection"), "close");
    assert.equal(rs[2].headers.get("connection"), "close");
    await c.waitClosed(5000);
    assert.equal(c.pending, 0, "the fourth request is not answered");
    assert.equal(s.ctx.calls, 3);
  });

  it("a client that goes away cancels the response stream and aborts req.signal", async () => {
    const s = await servers.start();
    const c = await s.client();
    c.send(GET("/endless"));
    await c.waitBytes(20);
    c.close();
    await until(() => s.ctx.cancelled && s.ctx.aborted, 5000, "cancel() and the abort");
    const pulls = s.ctx.pulls;
    await sleep(200);
    assert.equal(s.ctx.pulls, pulls, "no pull after the cancel");
  });

  it("takeover: an Upgrade answered 101 hands over the connection and the bytes after the head", async () => {
    const s = await servers.start();
    const c = await s.client();
    if (!caps.takeover) {
      c.send(GET("/takeover-info"));
      assert.equal((await c.response()).text, "takeover=null");
      return;
    }
    c.send(GET("/upgrade", "Connection: Upgrade\r\nUpgrade: echo\r\n") + "HELLO");
    const r = await c.response();
    assert.equal(r.status, 101);
    assert.equal(r.headers.get("upgrade"), "echo");
    assert.match(r.headers.get("connection") ?? "", /upgrade/i);
    await c.waitBytes(5);
    assert.equal(new TextDecoder().decode(c.take()), "HELLO");
    c.send("ping");
    await c.waitBytes(4);
    assert.equal(new TextDecoder().decode(c.take()), "ping");
    c.socket.end();
    await c.waitClosed(5000);
  });

  it("takeover: CONNECT answered 200 becomes a tunnel", async () => {
    const s = await servers.start();
    if (!caps.takeover) return;
    const c = await s.client();
    c.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nabc");
    const r = await c.response({ head: true });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-length"), undefined);
    assert.equal(r.headers.get("transfer-encoding"), undefined);
    await c.waitBytes(3);
    assert.equal(new TextDecoder().decode(c.take()), "abc");
    c.send("tunnel");
    await c.waitBytes(6);
    assert.equal(new TextDecoder().decode(c.take()), "tunnel");
  });

  it("an Upgrade request not taken over gets a normal response; HTTP goes on", async () => {
    const s = await servers.start();
    const c = await s.client();
    c.send(GET("/text", "Connection: Upgrade\r\nUpgrade: foo\r\n") + GET("/json"));
    const a = await c.response();
    assert.equal(a.status, 200);
    assert.equal(a.text, "hello");
    assert.equal((await c.response()).status, 200);
    c.send(GET("/text"));
    assert.equal((await c.response()).text, "hello");
  });

  it("shutdown(): the in-flight request finishes with close, idle connections end cleanly, new ones are refused", async () => {
    const s = await servers.start();
    const idle = await s.client();
    idle.send(GET("/text"));
    await idle.response();
    const busy = await s.client();
    busy.send(GET("/slow"));
    await until(() => s.ctx.paths.includes("/slow"), 5000, "the slow handler to start");
    const done = s.server.shutdown(5000);
    assert.deepEqual(await idle.waitClosed(5000), { reset: false });
    assert.equal(idle.pending, 0);
    const r = await busy.response();
    assert.equal(r.text, "slow done");
    assert.equal(r.headers.get("connection"), "close");
    assert.deepEqual(await busy.waitClosed(5000), { reset: false });
    await refusedOrDropped(s.port);
    await within(done, 5000, "shutdown");
    assert.equal(s.server.connections, 0);
    assert.equal(s.server.shutdown(5000), done, "idempotent");
  });

  it("shutdown(100) with a handler that never finishes aborts its signal and resolves", async () => {
    const s = await servers.start();
    const c = await s.client();
    c.socket.on("error", () => {});
    c.send(GET("/hang"));
    await until(() => s.ctx.paths.includes("/hang"), 5000, "the handler to start");
    await within(s.server.shutdown(100), 5000, "shutdown(100)");
    await until(() => s.ctx.aborted, 5000, "req.signal to abort");
    await c.waitClosed(5000);
  });
}

/** A new connection is refused, or accepted and closed without a byte of answer. */
async function refusedOrDropped(port: number): Promise<void> {
  let c: RawClient;
  try {
    c = await RawClient.open(port);
  } catch (error) {
    assert.equal((error as { code?: string }).code, "ECONNREFUSED");
    return;
  }
  try {
    c.socket.on("error", () => {});
    c.send(GET("/text"));
    await c.waitClosed(5000);
    assert.equal(c.received, 0, "no answer after shutdown began");
  } finally {
    c.close();
  }
}
