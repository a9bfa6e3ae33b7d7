// ClientSession end to end against a node:http server: methods, bodies,
// params, base URL, fields, auth, cookies, decompression, reuse.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { brotliCompressSync, deflateSync, gunzipSync, gzipSync } from "node:zlib";
import { BasicAuth } from "../../client/auth.ts";
import { CookieJar, DummyCookieJar } from "../../client/cookie_jar.ts";
import { ClientSession } from "../../client/session.ts";
import { tracked } from "./_tracked.ts";
import { within } from "../adapters/_net.ts";

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  size: number;
  form?: Record<string, string>;
}

const { servers, session } = tracked();

let sockets = 0;

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const path = new URL(req.url!, "http://x").pathname;
  const send = (status: number, body: string | Buffer, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-length": String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };
  const text = "hello, compressed world! ".repeat(20);
  switch (path) {
    case "/set-cookie":
      res.setHeader("set-cookie", ["sid=abc; Path=/", "theme=dark"]);
      return send(200, "set");
    case "/gzip":
      return send(200, gzipSync(text), { "content-encoding": "gzip" });
    case "/br":
      return send(200, brotliCompressSync(text), { "content-encoding": "br" });
    case "/deflate":
      return send(200, deflateSync(text), { "content-encoding": "deflate" });
    case "/status/404":
      return send(404, "not here");
    case "/trailers":
      res.writeHead(200, { "transfer-encoding": "chunked", trailer: "x-sum" });
      res.write("abc");
      res.addTrailers({ "x-sum": "42" });
      res.end();
      return;
  }
  const echo: Echo = {
    method: req.method!,
    url: req.url!,
    headers: req.headers,
    body: raw.toString("utf8"),
    size: raw.length,
  };
  if (req.headers["content-encoding"] === "gzip") echo.body = gunzipSync(raw).toString("utf8");
  if (path === "/form") {
    const request = new Request("http://x/", {
      method: "POST",
      headers: { "content-type": req.headers["content-type"]! },
      body: raw,
    });
    const form = await request.formData();
    echo.form = {};
    for (const [name, value] of form) {
      echo.form[name] = typeof value === "string"
        ? value
        : `file:${value.name}:${value.type}:${await value.text()}`;
    }
  }
  send(200, req.method === "HEAD" ? "" : JSON.stringify(echo), {
    "content-type": "application/json",
  });
}

const base = await new Promise<string>((resolve) => {
  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  server.on("connection", (_s: Socket) => sockets++);
  servers.push(server);
  server.listen(0, "127.0.0.1", () => {
    const address = server.address() as { port: number };
    resolve(`http://127.0.0.1:${address.port}`);
  });
});

async function echo(p: Promise<{ json(): Promise<unknown> }>): Promise<Echo> {
  return await (await within(p, 5000, "request")).json() as Echo;
}

describe("ClientSession requests", () => {
  test("every method helper sends its method", async () => {
    const s = session();
    for (const name of ["get", "post", "put", "patch", "delete", "options"] as const) {
      const got = await echo(s[name](`${base}/m`));
      assert.equal(got.method, name.toUpperCase());
    }
    const head = await within(s.head(`${base}/m`), 5000, "head");
    assert.equal(head.status, 200);
    assert.equal(head.body, null);
    assert.equal(s.connector.stats().inUse, 0);
  });

  test("json body with content type", async () => {
    const s = session();
    const got = await echo(s.post(`${base}/j`, { json: { a: [1, 2] } }));
    assert.equal(got.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(got.body), { a: [1, 2] });
  });

  test("json and data together is a TypeError", async () => {
    const s = session();
    await assert.rejects(s.post(`${base}/j`, { json: 1, data: "x" }), TypeError);
  });

  test("every data kind", async () => {
    const s = session();
    const bytes = new TextEncoder().encode("bytes!");
    const cases: [unknown, string, string | undefined][] = [
      ["text", "text", "text/plain;charset=UTF-8"],
      [bytes, "bytes!", undefined],
      [bytes.slice().buffer, "bytes!", undefined],
      [new DataView(bytes.slice().buffer, 1, 3), "yte", undefined],
      [new Blob(["blob"], { type: "text/x-blob" }), "blob", "text/x-blob"],
      [new URLSearchParams({ a: "1", b: "x y" }), "a=1&b=x+y", undefined],
    ];
    for (const [data, body, type] of cases) {
      const got = await echo(s.post(`${base}/d`, { data: data as never }));
      assert.equal(got.body, body);
      if (type !== undefined) assert.equal(got.headers["content-type"], type);
    }
    const form = await echo(s.post(`${base}/d`, { data: new URLSearchParams({ a: "1" }) }));
    assert.match(String(form.headers["content-type"]), /^application\/x-www-form-urlencoded/);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("str"));
        c.enqueue(new TextEncoder().encode("eam"));
        c.close();
      },
    });
    const streamed = await echo(s.post(`${base}/d`, { data: stream }));
    assert.equal(streamed.body, "stream");
    assert.equal(streamed.headers["transfer-encoding"], "chunked");
    async function* gen(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode("gen");
      yield new TextEncoder().encode("erated");
    }
    assert.equal((await echo(s.post(`${base}/d`, { data: gen() }))).body, "generated");
  });

  test("FormData with a file is multipart", async () => {
    const s = session();
    const form = new FormData();
    form.append("name", "Ann");
    form.append("doc", new Blob(["file body"], { type: "text/plain" }), "a.txt");
    const got = await echo(s.post(`${base}/form`, { data: form }));
    assert.match(String(got.headers["content-type"]), /^multipart\/form-data; ?boundary=/);
    assert.equal(got.form?.name, "Ann");
    assert.match(got.form?.doc ?? "", /^file:a\.txt:text\/plain(;charset=utf-8)?:file body$/);
  });

  test("params: record with arrays, pairs, URLSearchParams, appended", async () => {
    const s = session();
    let got = await echo(s.get(`${base}/p?x=0`, { params: { a: "1", t: ["b", "c"], n: 2 } }));
    assert.equal(got.url, "/p?x=0&a=1&t=b&t=c&n=2");
    got = await echo(s.get(`${base}/p`, { params: [["a", "1"], ["a", "2"]] }));
    assert.equal(got.url, "/p?a=1&a=2");
    got = await echo(s.get(`${base}/p`, { params: new URLSearchParams("q=a b") }));
    assert.equal(got.url, "/p?q=a+b");
  });

  test("baseUrl resolution", async () => {
    const s = session({ baseUrl: `${base}/api/v1/` });
    assert.equal((await echo(s.get("users"))).url, "/api/v1/users");
    assert.equal((await echo(s.get("/root"))).url, "/root");
  });

  test("baseUrl credentials go with the URLs that resolve against its authority", async () => {
    const s = session({ baseUrl: `http://ann:s%20cret@${new URL(base).host}/api/` });
    const relative = await echo(s.get("items"));
    assert.equal(relative.url, "/api/items");
    assert.equal(relative.headers.authorization, `Basic ${btoa("ann:s cret")}`);
    // An absolute URL names its own authority: the base's credentials are not for it.
    const absolute = await echo(s.get(`${base}/other`));
    assert.equal(absolute.headers.authorization, undefined);
  });

  test("default fields, session fields, request fields win", async () => {
    const s = session({ headers: { "x-a": "session", "x-b": "session" } });
    const got = await echo(s.get(`${base}/h`, { headers: { "x-b": "request" } }));
    assert.equal(got.headers["x-a"], "session");
    assert.equal(got.headers["x-b"], "request");
    assert.equal(got.headers["user-agent"], "sluice");
    assert.equal(got.headers["accept"], "*/*");
    assert.match(String(got.headers["accept-encoding"]), /gzip/);
    assert.match(String(got.headers["accept-encoding"]), /deflate/);
  });

  test("credentials in the URL become Basic auth and leave the target", async () => {
    const s = session();
    const url = base.replace("http://", "http://ann:s%20cret@") + "/auth";
    const got = await echo(s.get(url));
    assert.equal(got.url, "/auth");
    assert.equal(got.headers.authorization, `Basic ${btoa("ann:s cret")}`);
    assert.equal(got.headers.host, base.slice("http://".length));
  });

  test("session auth, overridden per request", async () => {
    const s = session({ auth: new BasicAuth("u", "p") });
    assert.equal((await echo(s.get(`${base}/a`))).headers.authorization, `Basic ${btoa("u:p")}`);
    const none = await echo(s.get(`${base}/a`, { auth: null }));
    assert.equal(none.headers.authorization, undefined);
  });
});

describe("ClientSession cookies", () => {
  test("Set-Cookie stored and sent next request; per-request cookies", async () => {
    // 127.0.0.1 is an IP host: a jar refuses it unless `unsafe`.
    const s = session({ cookieJar: new CookieJar({ unsafe: true }) });
    const res = await within(s.get(`${base}/set-cookie`), 5000, "set-cookie");
    assert.equal(res.cookies.get("sid"), "abc");
    await res.text();
    const got = await echo(s.get(`${base}/c`, { cookies: { extra: "1" } }));
    assert.equal(got.headers.cookie, "extra=1; sid=abc; theme=dark");
    const plain = await echo(s.get(`${base}/c`));
    assert.equal(plain.headers.cookie, "sid=abc; theme=dark");
  });

  test("DummyCookieJar keeps nothing", async () => {
    const s = session({ cookieJar: new DummyCookieJar() });
    await (await within(s.get(`${base}/set-cookie`), 5000, "set")).text();
    const got = await echo(s.get(`${base}/c`));
    assert.equal(got.headers.cookie, undefined);
  });
});

describe("ClientSession bodies", () => {
  test("gzip, br, deflate decoded; autoDecompress false gives raw bytes", async () => {
    const s = session();
    const want = "hello, compressed world! ".repeat(20);
    for (const coding of ["gzip", "br", "deflate"]) {
      const res = await within(s.get(`${base}/${coding}`), 5000, coding);
      assert.equal(await res.text(), want, coding);
    }
    const raw = session({ autoDecompress: false });
    const res = await within(raw.get(`${base}/gzip`), 5000, "raw");
    const bytes = await res.bytes();
    assert.equal(gunzipSync(bytes).toString("utf8"), want);
    assert.equal(s.connector.stats().inUse, 0);
  });

  test("compress: gzip sends a gzipped body", async () => {
    const s = session();
    const got = await echo(s.post(`${base}/z`, { data: "squeeze me", compress: "gzip" }));
    assert.equal(got.headers["content-encoding"], "gzip");
    assert.equal(got.body, "squeeze me");
  });

  test("raiseForStatus: status error with a readable body, connection back", async () => {
    const s = session({ raiseForStatus: true });
    const error = await within(s.get(`${base}/status/404`), 5000, "404").then(
      () => assert.fail("no error"),
      (e) => e,
    );
    assert.equal(error.code, "SLUICE_ERR_CLIENT_RESPONSE_STATUS");
    assert.equal(error.status, 404);
    assert.equal(await error.response.text(), "not here");
    assert.equal(s.connector.stats().inUse, 0);
    const plain = session();
    const res = await within(plain.get(`${base}/status/404`, { raiseForStatus: true }), 5000, "x")
      .then(() => null, (e) => e);
    assert.equal(res?.status, 404);
    assert.equal(plain.connector.stats().inUse, 0);
  });

  test("chunked body with trailers", async () => {
    const s = session();
    const res = await within(s.get(`${base}/trailers`), 5000, "trailers");
    assert.equal(await res.text(), "abc");
    assert.equal((await res.trailers).get("x-sum"), "42");
  });

  test("sequential requests reuse one connection", async () => {
    const s = session();
    const before = sockets;
    for (let i = 0; i < 5; i++) await echo(s.get(`${base}/r${i}`));
    assert.equal(sockets - before, 1);
    assert.equal(s.connector.stats().opened, 1);
  });

  test("await using releases; close() refuses later requests", async () => {
    const s = new ClientSession();
    {
      await using res = await within(s.get(`${base}/u`), 5000, "using");
      assert.equal(res.status, 200);
    }
    assert.equal(s.connector.stats().inUse, 0);
    await s.close();
    await assert.rejects(s.get(`${base}/u`), { code: "SLUICE_ERR_CLIENT_SESSION_CLOSED" });
  });
});
