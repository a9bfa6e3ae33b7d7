// Conformance: what responses look like on the wire — framing, HEAD, 204 and
// 304, Date and Server, keep-alive, HTTP/1.0, pipelining, Connection: close,
// handler failures, trailers and the access log.

import assert from "node:assert/strict";
import { sleep, until } from "../adapters/_net.ts";
import { type Caps, it, saysClose, type Servers } from "./_conformance_fixture.ts";

const GET = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

export function messageTests(servers: Servers, caps: Caps): void {
  it("text, json and bytes answers carry Content-Length, their content type and Date", async () => {
    const s = await servers.start();
    const c = await s.client();
    c.send(GET("/text") + GET("/json") + GET("/bytes"));
    const a = await c.response();
    assert.equal(a.status, 200);
    assert.equal(a.text, "hello");
    assert.equal(a.headers.get("content-length"), "5");
    assert.equal(a.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(a.chunked, false);
    const date = a.headers.get("date");
    assert.ok(date !== undefined && /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(date));
    assert.ok(Math.abs(Date.parse(date) - Date.now()) < 60_000);
    const b = await c.response();
    assert.equal(b.status, 200);
    assert.deepEqual(JSON.parse(b.text), { hello: "world", n: 1 });
    assert.match(b.headers.get("content-type") ?? "", /^application\/json/);
    assert.equal(b.headers.get("content-length"), String(b.body.length));
    const d = await c.response();
    assert.deepEqual([...d.body], [1, 2, 3]);
    assert.equal(d.headers.get("content-length"), "3");
    assert.equal(s.ctx.calls, 3);
  });

  it("a stream of unknown length is sent chunked; a declared Content-Length is kept", async () => {
    const s = await servers.start();
    const c = await s.client();
    // Bun 1.4 breaks the connection of a request pipelined behind a streamed response.
    c.send(GET("/stream") + (caps.pipelinesAfterStream ? GET("/stream-length") : ""));
    const a = await c.response();
    if (!caps.pipelinesAfterStream) c.send(GET("/stream-length"));
    assert.equal(a.status, 200);
    assert.equal(a.chunked, true);
    assert.equal(a.headers.get("content-length"), undefined);
    assert.equal(a.text, "abcdef");
    const b = await c.response();
    // Bun.serve sends every stream chunked, whatever Content-Length the Response declares.
    assert.equal(b.chunked, !caps.keepsStreamLength);
    if (caps.keepsStreamLength) assert.equal(b.headers.get("content-length"), "6");
    assert.equal(b.text, "abcdef");
  });

  it("an empty body is Content-Length: 0; 204 and 304 have no body and no framing", async () => {
    const s = await servers.start();
    const c = await s.client();
    c.send(GET("/empty") + GET("/204") + GET("/304") + GET("/text"));
    const a = await c.response();
    assert.equal(a.status, 200);
    assert.equal(a.headers.get("content-length"), "0");
    assert.equal(a.body.length, 0);
    for (const status of [204, 304]) {
      const r = await c.response();
      assert.equal(r.status, status);
      assert.equal(r.headers.get("transfer-encoding"), undefined);
      if (status === 204) assert.equal(r.headers.get("content-length"), undefined);
    }
    // The next response parses right after them: no stray body bytes.
    assert.equal((await c.response()).text, "hello");
  });

  it("HEAD gets the GET's fields and Content-Length, and no body", async () => {
    const s = await servers.start();
    const c = await s.client();
    c.send(`HEAD /text HTTP/1.1\r\nHost: x\r\n\r\n` + GET("/text"));
    const head = await c.response({ head: true });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), "5");
    assert.equal(head.headers.get("content-type"), "text/plain; charset=utf-8");
    const get = await c.response();
    assert.equal(get.text, "hello");
  });

  it("serverHeader adds a Server field; without it there is none", async () => {
    const plain = await servers.start();
    const named = await servers.start({ serverHeader: "sluice-conformance" });
    const c1 = await plain.client();
    c1.send(GET("/text"));
    assert.equal((await c1.response()).headers.get("server"), undefined);
    const c2 = await named.client();
    c2.send(GET("/text") + GET("/stream"));
    assert.equal((await c2.response()).headers.get("server"), "sluice-conformance");
    assert.equal((await c2.response()).headers.get("server"), "sluice-conformance");
  });

  it("keep-alive: several requests one after another on one connection", async () => {
    const s = await servers.start();
    const c = await s.client();
    for (let i = 0; i < 5; i++) {
      c.send(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nreq-${i}`);
      const r = await c.response();
      assert.equal(r.text, `req-${i}`);
      assert.notEqual(r.headers.get("connection"), "close");
    }
    assert.equal(c.ended, false);
    // Native servers count requests in flight: none between requests.
    assert.equal(s.server.connections, caps.countsConnections ? 1 : 0);
  });

  it("HTTP/1.0 closes by default and keeps alive on request", async () => {
    const s = await servers.start();
    const c1 = await s.client();
    c1.send("GET /text HTTP/1.0\r\n\r\n");
    const a = await c1.response();
    assert.equal(a.text, "hello");
    assert.notEqual(a.headers.get("connection"), "keep-alive");
    await c1.waitClosed(5000);
    assert.equal(c1.pending, 0);

    const c2 = await s.client();
    c2.send("GET /text HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    const b = await c2.response();
    assert.equal(b.text, "hello");
    if (caps.http10KeepAlive) {
      assert.equal(b.headers.get("connection")?.toLowerCase(), "keep-alive");
      c2.send("GET /json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      assert.equal((await c2.response()).status, 200);
      assert.equal(c2.ended, false);
    } else {
      // Bun: HTTP/1.0 connections close after one response, keep-alive or not.
      await c2.waitClosed(5000);
    }
    // HTTP/1.0 has no chunked coding: a stream of unknown length is delimited by the close.
    const c3 = await s.client();
    c3.send("GET /stream HTTP/1.0\r\n\r\n");
    const r = await c3.response();
    assert.equal(r.chunked, false);
    assert.equal(r.text, "abcdef");
  });

  it("pipelining: 20 requests in one write are answered in order, with bodies", async () => {
    const s = await servers.start();
    const c = await s.client();
    let wire = "";
    for (let i = 0; i < 20; i++) {
      wire += i % 2 === 0
        ? `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${
          String(i).length + 4
        }\r\n\r\nbody${i}`
        : i % 3 === 0 && caps.pipelinesAfterStream
        ? GET("/stream")
        : GET("/text");
    }
    c.send(wire);
    for (let i = 0; i < 20; i++) {
      const r = await c.response();
      assert.equal(r.status, 200, `response ${i}`);
      assert.equal(
        r.text,
        i % 2 === 0 ? `body${i}` : i % 3 === 0 && caps.pipelinesAfterStream ? "abcdef" : "hello",
      );
    }
    assert.equal(s.ctx.calls, 20);
  });

  it("Connection: close from the client, or from the handler, ends the connection after the response", async () => {
    const s = await servers.start();
    const c1 = await s.client();
    c1.send(GET("/text", "Connection: close\r\n") + GET("/json"));
    const a = await c1.response();
    assert.equal(a.text, "hello");
    assert.equal(saysClose(a), caps.echoesClose);
    assert.deepEqual(await c1.waitClosed(5000), { reset: false });
    assert.equal(c1.pending, 0, "nothing after the response");

    const c2 = await s.client();
    c2.send(GET("/close"));
    const b = await c2.response();
    assert.equal(b.text, "bye");
    assert.ok(saysClose(b));
    if (caps.closesAfterClose) await c2.waitClosed(5000);
    else {
      // Deno.serve keeps the connection: it still serves.
      c2.send(GET("/text"));
      assert.equal((await c2.response()).text, "hello");
    }
  });

  it("a handler that throws gets a bare 500, its error goes to the logger", async () => {
    const s = await servers.start();
    const c = await s.client();
    c.send(GET("/throw") + GET("/not-response") + GET("/text"));
    const a = await c.response();
    assert.equal(a.status, 500);
    assert.equal(a.text, "Internal Server Error");
    assert.doesNotMatch(a.head + a.text, /secret|etc/);
    const b = await c.response();
    assert.equal(b.status, 500);
    assert.equal(b.text, "Internal Server Error");
    // The connection survives a handler error.
    assert.equal((await c.response()).text, "hello");
    const logged = s.ctx.errors.map((e) => e.error);
    assert.ok(logged.some((e) => e instanceof Error && /secret internals/.test(e.message)));
    assert.ok(
      logged.some((e) => e instanceof TypeError),
      "the non-Response is logged as a TypeError",
    );
  });

  it("a response stream that errors midway destroys the connection: the body is cut short", async () => {
    const s = await servers.start();
    const c = await s.client();
    c.send(GET("/stream-error"));
    const r = await c.response({ allowIncomplete: true });
    assert.equal(r.status, 200);
    assert.equal(r.complete, false, "no terminating chunk");
    assert.equal(r.text, "partial body");
    await c.waitClosed(5000);
    if (caps.logsStreamErrors) {
      await until(() => s.ctx.errors.length > 0, 5000, "the failure to be logged");
    } else {
      // Bun.serve does not call its error hook for a failing response stream.
      await sleep(50);
      assert.deepEqual(s.ctx.errors, []);
    }
  });

  it("withTrailers sends trailer fields after a chunked body", async () => {
    const s = await servers.start();
    const c = await s.client();
    c.send(GET("/trailers", "TE: trailers\r\n") + (caps.pipelinesAfterStream ? GET("/text") : ""));
    const r = await c.response();
    if (!caps.pipelinesAfterStream) c.send(GET("/text"));
    assert.equal(r.text, "trailer");
    if (caps.trailers) {
      assert.equal(r.chunked, true);
      assert.equal(r.trailers.get("x-sum"), "42");
    } else {
      // Documented fallback: the body is sent, the trailers are dropped.
      assert.equal(r.trailers.size, 0);
    }
    assert.equal((await c.response()).text, "hello");
  });

  it("onAccess gets method, target, status and body bytes of each response", async () => {
    const s = await servers.start();
    const c = await s.client();
    c.send(GET("/text?x=1") + GET("/nowhere") + `HEAD /json HTTP/1.1\r\nHost: x\r\n\r\n`);
    await c.response();
    await c.response();
    await c.response({ head: true });
    await until(() => s.ctx.access.length >= 3, 5000, "three access entries");
    const [a, b, h] = s.ctx.access;
    assert.equal(a.method, "GET");
    assert.equal(a.target, "/text?x=1");
    assert.equal(a.status, 200);
    assert.equal(a.httpVersion, "1.1");
    assert.equal(a.requestHeader("host"), "x");
    assert.equal(a.responseHeader("content-type"), "text/plain; charset=utf-8");
    assert.equal(b.status, 404);
    if (caps.accessBytes) {
      assert.equal(a.bytesSent, 5);
      assert.equal(b.bytesSent, "not found".length);
    } else {
      // Native servers: the declared Content-Length, and text() declares none there.
      assert.equal(a.bytesSent, 0);
      assert.equal(b.bytesSent, 0);
    }
    assert.equal(h.method, "HEAD");
    assert.equal(h.bytesSent, 0);
    assert.ok(a.durationMs >= 0);
  });
}
