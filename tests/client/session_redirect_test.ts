// ClientSession redirects, cookies across hops, trace events and
// middlewares, against node:http servers on 127.0.0.1 and localhost.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { BasicAuth } from "../../client/auth.ts";
import { CookieJar } from "../../client/cookie_jar.ts";
import { tracked } from "./_tracked.ts";
import { TraceConfig } from "../../client/trace.ts";
import type { ClientMiddleware } from "../../client/middleware.ts";
import { within } from "../adapters/_net.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

const { servers, session } = tracked(() => ({ cookieJar: new CookieJar({ unsafe: true }) }));

/** A server that logs every request and redirects on `/to/<status>?<location>`. */
async function server(host: string): Promise<{ url: string; log: Seen[] }> {
  const log: Seen[] = [];
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    log.push({
      method: req.method!,
      url: req.url!,
      headers: req.headers,
      body: Buffer.concat(chunks).toString("utf8"),
    });
    const url = new URL(req.url!, "http://x");
    const match = /^\/to\/(\d+)$/.exec(url.pathname);
    if (match !== null) {
      const headers: Record<string, string | string[]> = {
        location: decodeURIComponent(url.search.slice(1)),
        "content-length": "5",
      };
      if (url.searchParams.size > 0 && req.headers["x-set"] !== undefined) {
        headers["set-cookie"] = String(req.headers["x-set"]);
      }
      res.writeHead(Number(match[1]), headers);
      // Bytes: with a string body node:http writes the head as UTF-8, not a byte per code unit.
      res.end(Buffer.from("moved"));
      return;
    }
    if (url.pathname === "/loop") {
      res.writeHead(302, { location: "/loop", "content-length": "0" });
      res.end();
      return;
    }
    const body = `${req.method} ${req.url}`;
    res.writeHead(200, { "content-length": String(body.length) });
    res.end(body);
  };
  return await new Promise((resolve) => {
    const s = createServer((req, res) => void handler(req, res));
    servers.push(s);
    s.listen(0, "127.0.0.1", () => {
      resolve({ url: `http://${host}:${(s.address() as { port: number }).port}`, log });
    });
  });
}

const a = await server("127.0.0.1");
const b = await server("localhost");
const to = (status: number, location: string): string =>
  `${a.url}/to/${status}?${encodeURIComponent(location)}`;

describe("ClientSession redirects", () => {
  test("301/302 POST → GET drops body and content fields", async () => {
    const s = session();
    for (const status of [301, 302]) {
      a.log.length = 0;
      const res = await within(s.post(to(status, "/final"), { data: "payload" }), 5000, "post");
      assert.equal(await res.text(), "GET /final");
      assert.equal(a.log[0].body, "payload");
      assert.equal(a.log[1].method, "GET");
      assert.equal(a.log[1].body, "");
      assert.equal(a.log[1].headers["content-type"], undefined);
      assert.equal(a.log[1].headers["content-length"], undefined);
    }
  });

  test("303 PUT → GET", async () => {
    const s = session();
    const res = await within(s.put(to(303, "/final"), { data: "x" }), 5000, "put");
    assert.equal(await res.text(), "GET /final");
  });

  test("307/308 keep the method and the bytes body", async () => {
    const s = session();
    for (const status of [307, 308]) {
      a.log.length = 0;
      const res = await within(s.put(to(status, "/final"), { json: { n: 1 } }), 5000, "put");
      assert.equal(await res.text(), "PUT /final");
      assert.deepEqual(a.log.map((x) => x.body), ['{"n":1}', '{"n":1}']);
      assert.equal(a.log[1].headers["content-type"], "application/json");
    }
  });

  test("307 with a stream body → SLUICE_ERR_CLIENT_REDIRECT_BODY", async () => {
    const s = session();
    const data = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("once"));
        c.close();
      },
    });
    await assert.rejects(within(s.post(to(307, "/final"), { data }), 5000, "307"), {
      code: "SLUICE_ERR_CLIENT_REDIRECT_BODY",
    });
    assert.equal(s.connector.stats().inUse, 0);
  });

  test("relative Location, history, redirected, url; connections returned", async () => {
    const s = session();
    const second = to(302, "/final?x=1");
    const res = await within(s.get(to(301, second)), 5000, "chain");
    assert.equal(res.redirected, true);
    assert.equal(res.url, `${a.url}/final?x=1`);
    assert.deepEqual(res.history.map((r) => r.status), [301, 302]);
    assert.deepEqual(res.history.map((r) => r.url), [to(301, second), second]);
    assert.equal(await res.text(), "GET /final?x=1");
    assert.equal(s.connector.stats().inUse, 0);
    assert.equal(s.connector.stats().opened, 1);
  });

  test("maxRedirects exceeded → TooManyRedirectsError with history", async () => {
    const s = session({ maxRedirects: 3 });
    const error = await within(s.get(`${a.url}/loop`), 5000, "loop").then(
      () => assert.fail("no error"),
      (e) => e,
    );
    assert.equal(error.code, "SLUICE_ERR_CLIENT_TOO_MANY_REDIRECTS");
    assert.equal(error.history.length, 4);
    assert.equal(s.connector.stats().inUse, 0);
  });

  test("cross-origin drops Authorization, Cookie and a Host set by the caller; cookies set on a hop apply next", async () => {
    const s = session({ auth: new BasicAuth("u", "p") });
    b.log.length = 0;
    a.log.length = 0;
    const res = await within(
      s.get(to(302, `${a.url}/to/302?${encodeURIComponent(`${b.url}/end`)}`), {
        headers: { cookie: "mine=1", "x-set": "hop=1; Path=/", host: "app.example" },
        cookies: { extra: "2" },
      }),
      5000,
      "cross",
    );
    assert.equal(await res.text(), "GET /end");
    assert.equal(a.log[0].headers.authorization, `Basic ${btoa("u:p")}`);
    assert.equal(a.log[0].headers.cookie, "mine=1; extra=2");
    // The first hop set `hop=1`: the second (same origin) sends it.
    assert.equal(a.log[1].headers.cookie, "mine=1; extra=2; hop=1");
    assert.equal(b.log[0].headers.authorization, undefined);
    assert.equal(b.log[0].headers.cookie, undefined);
    // The caller's Host goes to its origin only; the new origin gets its own.
    assert.deepEqual(a.log.map((seen) => seen.headers.host), ["app.example", "app.example"]);
    assert.equal(b.log[0].headers.host, new URL(b.url).host);
    assert.equal(s.connector.stats().inUse, 0);
  });

  test("a Location of raw UTF-8 bytes is read as UTF-8; other bytes stay as they came", async () => {
    const s = session();
    a.log.length = 0;
    // node:http writes each code unit below U+0100 as one byte: these are UTF-8 é and ü.
    const utf8 = await within(s.get(to(302, "/caf\xc3\xa9?q=\xc3\xbc")), 5000, "utf8");
    assert.equal(await utf8.text(), "GET /caf%C3%A9?q=%C3%BC");
    // A lone 0xE9 is no UTF-8: it stays the Latin-1 é, which the URL then encodes.
    const latin1 = await within(s.get(to(302, "/caf\xe9")), 5000, "latin1");
    assert.equal(await latin1.text(), "GET /caf%C3%A9");
    assert.equal(a.log[1].url, "/caf%C3%A9?q=%C3%BC");
    assert.equal(s.connector.stats().inUse, 0);
  });

  test("allowRedirects false returns the 302; ftp: Location → InvalidUrlError", async () => {
    const s = session();
    const res = await within(s.get(to(302, "/final"), { allowRedirects: false }), 5000, "302");
    assert.equal(res.status, 302);
    assert.equal(await res.text(), "moved");
    await assert.rejects(within(s.get(to(302, "ftp://x/file")), 5000, "ftp"), {
      code: "SLUICE_ERR_CLIENT_INVALID_URL",
    });
    assert.equal(s.connector.stats().inUse, 0);
  });
});

describe("ClientSession trace and middlewares", () => {
  test("trace events of a redirect with reuse, and of an error", async () => {
    const events: string[] = [];
    const trace = new TraceConfig();
    for (const name of Object.keys(trace) as (keyof TraceConfig)[]) {
      const list = trace[name];
      if (Array.isArray(list)) list.push(() => void events.push(name));
    }
    const s = session({ trace: [trace] });
    const res = await within(s.get(to(302, "/final")), 5000, "traced");
    await res.text();
    const order = events.filter((e) => !e.startsWith("onDns") && !e.includes("Chunk"));
    assert.deepEqual(order, [
      "onRequestStart",
      "onConnectionCreateStart",
      "onConnectionCreateEnd",
      "onRequestHeadersSent",
      "onRequestRedirect",
      "onConnectionReuseconn",
      "onRequestHeadersSent",
      "onRequestEnd",
    ]);
    events.length = 0;
    await assert.rejects(within(s.get(to(302, "ftp://x/")), 5000, "bad"));
    assert.equal(events.at(-1), "onRequestException");
  });

  test("a throwing trace callback fails the request and frees the connection", async () => {
    for (const name of ["onRequestHeadersSent", "onRequestRedirect", "onRequestEnd"] as const) {
      const trace = new TraceConfig();
      const boom = new Error(name);
      trace[name].push(() => {
        throw boom;
      });
      const s = session({ trace: [trace] });
      await assert.rejects(within(s.get(to(302, "/final")), 5000, name), (e) => e === boom);
      assert.equal(s.connector.stats().inUse, 0, name);
    }
  });

  test("chunk events: sent and received sizes", async () => {
    const sent: number[] = [];
    const received: number[] = [];
    const trace = new TraceConfig();
    trace.onRequestChunkSent.push((_s, _c, p) => void sent.push(p.total));
    trace.onResponseChunkReceived.push((_s, _c, p) => void received.push(p.total));
    const s = session({ trace: [trace] });
    const res = await within(s.post(`${a.url}/final`, { data: "12345" }), 5000, "chunks");
    assert.equal(await res.text(), "POST /final");
    assert.equal(sent.at(-1), 5);
    assert.equal(received.at(-1), "POST /final".length);
  });

  test("onRequestHeadersSent comes as the head goes out: before the body's chunks, and for a request that fails later", async () => {
    const events: string[] = [];
    const trace = new TraceConfig();
    for (
      const name of ["onRequestHeadersSent", "onRequestChunkSent", "onRequestException"] as const
    ) {
      trace[name].push(() => void events.push(name));
    }
    const s = session({ trace: [trace] });
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("ab"));
        controller.enqueue(new TextEncoder().encode("cd"));
        controller.close();
      },
    });
    const res = await within(s.post(`${a.url}/final`, { data: body }), 5000, "streamed");
    assert.equal(await res.text(), "POST /final");
    assert.deepEqual(events, ["onRequestHeadersSent", "onRequestChunkSent", "onRequestChunkSent"]);
    // The head went out, then the server never answered in time.
    events.length = 0;
    const server = createServer(() => {}); // reads the request, never answers
    servers.push(server);
    const port = await new Promise<number>((resolve) => {
      server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
    });
    await assert.rejects(
      within(s.get(`http://127.0.0.1:${port}/`, { timeout: { headers: 100 } }), 5000, "silent"),
      { code: "SLUICE_ERR_CLIENT_TIMEOUT_HEADERS" },
    );
    assert.deepEqual(events, ["onRequestHeadersSent", "onRequestException"]);
  });

  test("middlewares run per hop and may retry", async () => {
    const seen: string[] = [];
    const log: ClientMiddleware = async (req, next) => {
      seen.push(new URL(req.url).pathname);
      return await next(req);
    };
    let calls = 0;
    const retry: ClientMiddleware = async (req, next) => {
      const first = await next(req);
      if (calls++ > 0) return first;
      await first.release();
      return await next(req);
    };
    const s = session({ middlewares: [log, retry] });
    a.log.length = 0;
    const res = await within(s.post(to(307, "/final"), { data: "x" }), 5000, "mw");
    assert.equal(await res.text(), "POST /final");
    assert.deepEqual(seen, ["/to/307", "/final"]);
    assert.deepEqual(a.log.map((x) => `${x.method} ${new URL(x.url, "http://x").pathname}`), [
      "POST /to/307",
      "POST /to/307",
      "POST /final",
    ]);
    assert.equal(s.connector.stats().inUse, 0);
  });

  test("a retry cannot resend a stream body: TypeError, connection back", async () => {
    const twice: ClientMiddleware = async (req, next) => {
      await (await next(req)).release();
      return await next(req);
    };
    const s = session({ middlewares: [twice] });
    const data = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("once"));
        c.close();
      },
    });
    await assert.rejects(within(s.post(`${a.url}/final`, { data }), 5000, "retry"), {
      name: "TypeError",
      message: /already sent/,
    });
    assert.equal(s.connector.stats().inUse, 0);
  });
});
