// The runtime-free layer of the native backends (server/_native_checks.ts,
// server/_native_request.ts, server/_native_server.ts), driven with platform
// Requests and a fake runtime, so it runs the same on every runtime.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  bodyError,
  checkRequest,
  isValidHost,
  limitBody,
  type NativeLimits,
  nativeLimits,
  refusal,
  type RuntimeParser,
} from "../../server/_native_checks.ts";
import { NativeIncomingRequest, type NativeSite } from "../../server/_native_request.ts";
import { type NativeRuntime, NativeServer } from "../../server/_native_server.ts";
import { BodyError } from "../../server/errors.ts";
import type { Address } from "../../adapters/transport.ts";
import type {
  AccessLogEntry,
  IncomingHandler,
  IncomingRequest,
  ServerOptions,
} from "../../server/types.ts";

const PEER: Address = { transport: "tcp", hostname: "127.0.0.1", port: 50000, family: "IPv4" };
const LOCAL: Address = { transport: "tcp", hostname: "127.0.0.1", port: 8080, family: "IPv4" };
const STRICT: RuntimeParser = {
  maxHeaders: 128,
  maxFieldLine: 65_000,
  acceptsDel: false,
  acceptsCodings: false,
  hostInUrl: false,
};
const text = (s: string) => new TextEncoder().encode(s);

function req(url: string, init: RequestInit & { duplex?: "half" } = {}): Request {
  return new Request(url, init);
}

function streamOf(chunks: string[], pulls?: { n: number }): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulls) pulls.n++;
      if (i < chunks.length) controller.enqueue(text(chunks[i++]));
      else controller.close();
    },
  }, { highWaterMark: 0 });
}

function limits(options: ServerOptions = {}, parser: RuntimeParser = STRICT): NativeLimits {
  return nativeLimits(options, parser);
}

describe("isValidHost()", () => {
  const valid = [
    "a",
    "example.com",
    "example.com:8080",
    "a:",
    "1.2.3.4",
    "1.2.3.4:5",
    "[::1]",
    "[::1]:8080",
    "xn--bcher-kva.example",
    "%41b",
    "a_b~c!$&'()*+;=",
    "",
  ];
  const invalid = [
    "a b",
    "a, b",
    "a.example, a.example",
    "a/b",
    "u@a",
    "a?b",
    "a#b",
    "a:b",
    "a:80:90",
    "[::1",
    "[]",
    "[::1]x",
    "[v1.fe80::a+en1]",
    "[fe80::1%25eth0]",
    "[:::]",
    "%25",
    "a%00b",
    "[::1]:x",
    "a%zz",
    "a%4",
    "caf\u00e9",
    "a\tb",
  ];
  for (const host of valid) {
    test(`isValidHost() accepts ${JSON.stringify(host)}`, () =>
      assert.equal(isValidHost(host), true));
  }
  for (const host of invalid) {
    test(`isValidHost() refuses ${JSON.stringify(host)}`, () =>
      assert.equal(isValidHost(host), false));
  }
});

describe("nativeLimits()", () => {
  test("nativeLimits() applies the defaults and leaves field limits to the runtime", () => {
    const l = limits();
    assert.equal(l.maxRequestLineSize, 8190);
    assert.equal(l.maxHeaderSize, 8190);
    assert.equal(l.maxHeaders, 128);
    assert.equal(l.maxBodySize, 128 * 1024 * 1024);
    assert.equal(l.walkFields, false);
    assert.equal(l.refuseDel, false);
  });

  test("nativeLimits() walks the fields only for explicit limits stricter than the runtime's", () => {
    assert.equal(limits({ maxHeaders: 128 }).walkFields, false);
    assert.equal(limits({ maxHeaders: 50 }).walkFields, true);
    assert.equal(limits({ maxHeaderSize: 70_000 }).walkFields, false);
    assert.equal(limits({ maxHeaderSize: 4096 }).walkFields, true);
    const lax = { ...STRICT, acceptsDel: true };
    assert.equal(limits({ maxHeaders: 50 }, lax).refuseDel, true);
    assert.equal(limits({}, lax).refuseDel, false);
  });

  test("nativeLimits() refuses negative or non-numeric limits with RangeError", () => {
    assert.throws(() => limits({ maxBodySize: -1 }), RangeError);
    assert.throws(() => limits({ maxHeaders: Number.NaN }), RangeError);
    assert.throws(() => limits({ maxRequestLineSize: "8190" as unknown as number }), RangeError);
    assert.equal(limits({ maxBodySize: Infinity }).maxBodySize, Infinity);
  });
});

describe("checkRequest()", () => {
  const check = (request: Request, l: NativeLimits = limits()) => {
    const url = request.url;
    const start = url.indexOf("/", url.indexOf("://") + 3);
    return checkRequest(request, request.method, url, start, l);
  };

  test("checkRequest() passes a plain request", () => {
    assert.equal(check(req("http://a/x?y", { headers: { host: "a" } })), 0);
  });

  test("checkRequest() answers 414 to a request line over maxRequestLineSize", () => {
    const path = "/" + "a".repeat(8190 - 14);
    assert.equal(check(req(`http://a${path}`)), 0); // "GET " + target + " HTTP/1.1" = 8190
    assert.equal(check(req(`http://a${path}a`)), 414);
    assert.equal(check(req("http://a/abc"), limits({ maxRequestLineSize: 10 })), 414);
  });

  test("checkRequest() answers 400 to a Host that is not host[:port], or two joined", () => {
    assert.equal(check(req("http://a/", { headers: { host: "a b" } })), 400);
    assert.equal(check(req("http://a/", { headers: { host: "a:b" } })), 400);
    const joined = new Headers();
    joined.append("host", "a");
    joined.append("host", "b");
    assert.equal(joined.get("host"), "a, b");
    assert.equal(check(req("http://a/", { headers: joined })), 400);
  });

  test("checkRequest() checks the host on the URL where the runtime puts it there (Deno), without reading headers", () => {
    const inUrl = { ...STRICT, hostInUrl: true };
    const runtimeRequest = (url: string, method = "GET") => {
      const raw = req("http://placeholder/");
      Object.defineProperty(raw, "url", { value: url });
      Object.defineProperty(raw, "method", { value: method });
      Object.defineProperty(raw, "headers", {
        get() {
          throw new Error("headers read");
        },
      });
      return raw;
    };
    assert.equal(check(runtimeRequest("http://a.example:8080/x"), limits({}, inUrl)), 0);
    assert.equal(check(runtimeRequest("http://[::1]:81/x"), limits({}, inUrl)), 0);
    assert.equal(check(runtimeRequest("http://a b/x"), limits({}, inUrl)), 400);
    assert.equal(check(runtimeRequest("http://a:b/x"), limits({}, inUrl)), 400);
    assert.equal(check(runtimeRequest("http://u@a/x"), limits({}, inUrl)), 400);
    assert.equal(check(runtimeRequest("http://a?b/x"), limits({}, inUrl)), 400);
    // A Host with a slash cannot be told from the path on the URL (documented).
    assert.equal(check(runtimeRequest("http://a/b/x"), limits({}, inUrl)), 0);
    assert.throws(
      () => check(runtimeRequest("http://a/x", "POST"), limits({}, inUrl)),
      /headers read/,
    );
  });

  test("checkRequest() reads the Host field when the runtime made the URL relative (Bun)", () => {
    const inUrl = { ...STRICT, hostInUrl: true };
    const relative = (host: string | null) => {
      const raw = req("http://placeholder/", host === null ? {} : { headers: { host } });
      Object.defineProperty(raw, "url", { value: "/x?y" });
      return raw;
    };
    const at = (raw: Request) => checkRequest(raw, "GET", raw.url, 0, limits({}, inUrl));
    assert.equal(at(relative("a b")), 400);
    assert.equal(at(relative("u@a")), 400);
    assert.equal(at(relative("")), 0);
    assert.equal(at(relative(null)), 0);
  });

  test("checkRequest() lets a missing Host pass (no native runtime tells the HTTP version)", () => {
    assert.equal(check(req("http://a/")), 0);
  });

  test("checkRequest() answers 431 to too many fields or a too-long line when walking", () => {
    const many = new Headers();
    for (let i = 0; i < 11; i++) many.set(`x-${i}`, "v");
    assert.equal(
      check(req("http://a/", { headers: many }), limits({ maxHeaders: 10 })),
      431,
    );
    assert.equal(check(req("http://a/", { headers: many }), limits({ maxHeaders: 11 })), 0);
    const long = { "x-a": "v".repeat(100) };
    // "x-a: " + 100 = 105 bytes
    assert.equal(check(req("http://a/", { headers: long }), limits({ maxHeaderSize: 105 })), 0);
    assert.equal(
      check(req("http://a/", { headers: long }), limits({ maxHeaderSize: 104 })),
      431,
    );
  });

  test("checkRequest() does not walk the fields with the default limits", () => {
    const many = new Headers();
    for (let i = 0; i < 300; i++) many.set(`x-${i}`, "v");
    assert.equal(check(req("http://a/", { headers: many })), 0);
  });

  test("checkRequest() answers 400 to DEL in a value where the runtime lets it through", () => {
    const lax = { ...STRICT, acceptsDel: true };
    const headers = new Headers();
    // Headers refuses DEL in values on some runtimes: check what this one does
    let del = true;
    try {
      headers.set("x-a", "b\x7fc");
    } catch {
      del = false;
    }
    if (!del) return;
    assert.equal(
      check(req("http://a/", { headers }), limits({ maxHeaders: 100 }, lax)),
      400,
    );
  });

  test("checkRequest() answers 413 to a Content-Length over maxBodySize, before any byte", () => {
    const post = (length: string) =>
      req("http://a/", { method: "POST", headers: { "content-length": length } });
    assert.equal(check(post("10"), limits({ maxBodySize: 10 })), 0);
    assert.equal(check(post("11"), limits({ maxBodySize: 10 })), 413);
  });

  test("checkRequest() answers 400 to a Content-Length list (repeated fields joined)", () => {
    const headers = new Headers();
    headers.append("content-length", "3");
    headers.append("content-length", "3");
    assert.equal(check(req("http://a/", { method: "POST", headers })), 400);
  });

  test("checkRequest() answers 501 / 400 to transfer codings besides chunked where the runtime passes them", () => {
    const codings = { ...STRICT, acceptsCodings: true };
    const post = (te: string) =>
      req("http://a/", { method: "POST", headers: { "transfer-encoding": te } });
    assert.equal(check(post("chunked"), limits({}, codings)), 0);
    assert.equal(check(post("Chunked"), limits({}, codings)), 0);
    assert.equal(check(post("gzip, chunked"), limits({}, codings)), 501);
    assert.equal(check(post("chunked, gzip"), limits({}, codings)), 400);
    assert.equal(check(post("gzip, chunked"), limits()), 0);
  });

  test("refusal() is a bare text/plain answer with Connection: close unless told not to", async () => {
    const response = refusal(413);
    assert.equal(response.status, 413);
    assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(response.headers.get("connection"), "close");
    assert.equal(await response.text(), "Content Too Large");
    assert.equal(refusal(400, false).headers.get("connection"), null);
  });
});

describe("limitBody()", () => {
  const read = async (stream: ReadableStream<Uint8Array>) => {
    let out = "";
    for await (const chunk of stream) out += new TextDecoder().decode(chunk);
    return out;
  };

  test("limitBody() passes a body up to the limit unchanged", async () => {
    assert.equal(await read(limitBody(streamOf(["ab", "cd", "ef"]), 6)), "abcdef");
  });

  test("limitBody() fails with a 413 BodyError past the limit and cancels the source", async () => {
    let cancelled: unknown = null;
    let i = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(text("abcd"));
        if (++i > 100) controller.close();
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    await assert.rejects(read(limitBody(source, 10)), (error: unknown) => {
      assert.ok(error instanceof BodyError);
      assert.equal(error.code, "SLUICE_ERR_BODY_TOO_LARGE");
      assert.equal(error.status, 413);
      return true;
    });
    assert.ok(cancelled instanceof BodyError);
    assert.ok(i < 10, `read ${i} chunks`);
  });

  test("limitBody() reads the source only as it is read (pull-based)", async () => {
    const pulls = { n: 0 };
    const limited = limitBody(streamOf(["a", "b", "c"], pulls), 100);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(pulls.n, 0);
    const reader = limited.getReader();
    await reader.read();
    assert.equal(pulls.n, 1);
    await reader.cancel();
  });

  test("limitBody() turns a failing source into a SLUICE_ERR_BODY_ABORTED BodyError", async () => {
    const cause = new Error("connection reset");
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(cause);
      },
    });
    await assert.rejects(read(limitBody(source, 100)), (error: unknown) => {
      assert.ok(error instanceof BodyError);
      assert.equal(error.code, "SLUICE_ERR_BODY_ABORTED");
      assert.equal(error.status, 400);
      assert.equal(error.cause, cause);
      return true;
    });
  });

  test("limitBody() passes a cancel on to the source", async () => {
    let cancelled: unknown = null;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(text("a"));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    await limitBody(source, 100).cancel("bye");
    assert.equal(cancelled, "bye");
  });

  test("bodyError() maps Bun's maxRequestBodySize error to a 413 and keeps BodyErrors", () => {
    const bun = new Error("Request body exceeded maxRequestBodySize");
    assert.equal(bodyError(bun, 10).code, "SLUICE_ERR_BODY_TOO_LARGE");
    assert.equal(bodyError(bun, 10).cause, bun);
    const own = new BodyError("SLUICE_ERR_BODY_TIMEOUT", "Cannot read request body: timed out");
    assert.equal(bodyError(own, 10), own);
    assert.equal(bodyError(new TypeError("x"), 10).code, "SLUICE_ERR_BODY_ABORTED");
  });
});

/** A site like a server's, for NativeIncomingRequest alone. */
function site(overrides: Partial<NativeSite<null>> = {}): NativeSite<null> {
  return {
    engine: "deno",
    localAddress: LOCAL,
    tls: null,
    trust: undefined,
    bodyLimit: Infinity,
    byteBodies: true,
    maxBodySize: 128 * 1024 * 1024,
    peer: () => PEER,
    signal: (request) => request.ownSignal(),
    ...overrides,
  };
}

function incoming(
  url: string,
  init: RequestInit & { duplex?: "half" } = {},
  s: NativeSite<null> = site(),
): NativeIncomingRequest<null> {
  return new NativeIncomingRequest(req(url, init), null, s);
}

/** A Request whose `url` is what a runtime reports (Bun: relative or bare authority). */
function withUrl(
  url: string,
  method = "GET",
  headers: HeadersInit = {},
): NativeIncomingRequest<null> {
  // `new Request` normalises URLs and refuses CONNECT: runtimes' own requests do neither
  const raw = req("http://placeholder/", { headers });
  Object.defineProperty(raw, "url", { value: url });
  Object.defineProperty(raw, "method", { value: method });
  return new NativeIncomingRequest(raw, null, site());
}

describe("NativeIncomingRequest", () => {
  test("NativeIncomingRequest slices pathname and search off request.url", () => {
    const cases: [string, string, string][] = [
      ["http://a/", "/", ""],
      ["http://a/x/y", "/x/y", ""],
      ["http://a/x?y=1&z", "/x", "?y=1&z"],
      ["http://a:8080/x?", "/x", ""],
      ["http://[::1]:80/%2e%2e/a?q=/b", "/%2e%2e/a", "?q=/b"],
      ["https://a.example/?x", "/", "?x"],
      ["http://a//x//y", "//x//y", ""],
    ];
    for (const [url, pathname, search] of cases) {
      const r = withUrl(url);
      assert.equal(r.pathname, pathname, url);
      assert.equal(r.search, search, url);
      assert.equal(r.targetStart, url.indexOf("/", 8), url);
    }
  });

  test("NativeIncomingRequest reads Bun's relative URL and CONNECT authority", () => {
    const relative = withUrl("/x?y", "GET", { host: "" });
    assert.equal(relative.pathname, "/x");
    assert.equal(relative.search, "?y");
    assert.equal(relative.url, "http://127.0.0.1:8080/x?y");
    const connect = withUrl("a.example:443", "CONNECT");
    assert.equal(connect.pathname, "a.example:443");
    assert.equal(connect.url, "http://a.example:443/");
    const denoConnect = withUrl("http://a.example:443", "CONNECT");
    assert.equal(denoConnect.pathname, "a.example:443");
    assert.equal(denoConnect.url, "http://a.example:443/");
  });

  test("NativeIncomingRequest.url is request.url itself, and https behind TLS", () => {
    const r = incoming("http://a/x?y");
    assert.equal(r.url, "http://a/x?y");
    const tls = { protocol: null, alpnProtocol: null, servername: null, authorized: false };
    const secure = incoming("https://a/x", {}, site({ tls }));
    assert.equal(secure.url, "https://a/x");
    assert.equal(secure.secure, true);
  });

  test("NativeIncomingRequest believes proxy headers only with trustProxy", () => {
    const headers = {
      "x-forwarded-for": "6.6.6.6, 203.0.113.7",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "shop.example",
    };
    const plain = incoming("http://a/x?y", { headers });
    assert.deepEqual(plain.remoteAddress, PEER);
    assert.equal(plain.secure, false);
    assert.equal(plain.url, "http://a/x?y");
    assert.equal(plain.request, plain.raw);

    const trusted = incoming("http://a/x?y", { headers }, site({ trust: { from: ["loopback"] } }));
    assert.deepEqual(trusted.remoteAddress, {
      transport: "tcp",
      hostname: "203.0.113.7",
      port: 0,
      family: "IPv4",
    });
    assert.equal(trusted.secure, true);
    assert.equal(trusted.url, "https://shop.example/x?y");
    assert.equal(trusted.request.url, "https://shop.example/x?y");
    assert.notEqual(trusted.request, trusted.raw);
  });

  test("NativeIncomingRequest.header() and contentLength read the runtime's headers", () => {
    const r = incoming("http://a/", {
      method: "POST",
      headers: { "content-length": "5", "X-Token": "t" },
      body: "hello",
    });
    assert.equal(r.header("x-token"), "t");
    assert.equal(r.header("missing"), null);
    assert.equal(r.contentLength, 5);
    assert.equal(incoming("http://a/").contentLength, null);
    assert.equal(r.httpVersion, "1.1");
  });

  test("NativeIncomingRequest reads bodies through the runtime's Request when it enforces the limit", async () => {
    const r = incoming("http://a/", { method: "POST", body: '{"a":1}' });
    assert.equal(r.request, r.raw);
    assert.equal(r.bodyUsed, false);
    assert.deepEqual(await r.json(), { a: 1 });
    assert.equal(r.bodyUsed, true);
    const b = incoming("http://a/", { method: "POST", body: "abc" });
    assert.deepEqual(await b.bytes(), text("abc"));
    assert.equal(await incoming("http://a/", { method: "POST", body: "xyz" }).text(), "xyz");
    const buffer = await incoming("http://a/", { method: "POST", body: "12" }).arrayBuffer();
    assert.equal(buffer.byteLength, 2);
    const blob = await incoming("http://a/", {
      method: "POST",
      body: "q",
      headers: { "content-type": "text/x-q" },
    }).blob();
    assert.equal(blob.type, "text/x-q");
    assert.deepEqual(await incoming("http://a/").bytes(), new Uint8Array(0));
  });

  test("NativeIncomingRequest wraps a body without Content-Length and stops it at the limit", async () => {
    const over = () =>
      incoming("http://a/", {
        method: "POST",
        body: streamOf(["abcd", "efgh", "ijkl"]),
        duplex: "half",
      }, site({ bodyLimit: 10 }));
    const isTooLarge = (error: unknown) =>
      error instanceof BodyError && error.code === "SLUICE_ERR_BODY_TOO_LARGE";
    await assert.rejects(over().text(), isTooLarge);
    await assert.rejects(over().bytes(), isTooLarge);
    await assert.rejects(over().arrayBuffer(), isTooLarge);
    await assert.rejects(over().json(), isTooLarge);
    await assert.rejects(over().blob(), isTooLarge);
    const r = over();
    assert.notEqual(r.body, r.raw.body);
    assert.notEqual(r.request, r.raw);
    await assert.rejects(r.request.text());

    const under = incoming("http://a/", {
      method: "POST",
      body: streamOf(["abcd", "ef"]),
      duplex: "half",
    }, site({ bodyLimit: 10 }));
    assert.equal(await under.text(), "abcdef");
    assert.equal(under.bodyUsed, true);
  });

  test("NativeIncomingRequest leaves a declared length to the runtime (checked up front)", () => {
    const r = incoming("http://a/", {
      method: "POST",
      body: "abc",
      headers: { "content-length": "3" },
    }, site({ bodyLimit: 2 }));
    assert.equal(r.body, r.raw.body);
    assert.equal(r.request, r.raw);
  });

  test("NativeIncomingRequest: a runtime whose bodies are not byte streams gets one as body", async () => {
    const bun = site({ engine: "bun", byteBodies: false });
    const r = incoming("http://a/", { method: "POST", body: "abcdef" }, bun);
    const body = r.body!;
    assert.notEqual(body, r.raw.body);
    assert.equal(r.body, body, "made once");
    assert.equal(r.request, r.raw, "the buffered reads still use the runtime's own");
    assert.equal(r.bodyUsed, false);
    const reader = body.getReader({ mode: "byob" });
    assert.equal(r.bodyUsed, true);
    const first = await reader.read(new Uint8Array(4));
    assert.deepEqual(first.value, text("abcd"));
    const second = await reader.read(new Uint8Array(first.value!.buffer));
    assert.deepEqual(second.value, text("ef"));
    assert.equal((await reader.read(new Uint8Array(4))).done, true);
    // Not read yet: the runtime's body is left alone for the buffered reads.
    const untouched = incoming("http://a/", { method: "POST", body: "xyz" }, bun);
    assert.notEqual(untouched.body, null);
    assert.equal(await untouched.text(), "xyz");
    assert.equal(incoming("http://a/", {}, bun).body, null);
  });

  test("NativeIncomingRequest.signal comes from the site, once", () => {
    let made = 0;
    const r = incoming(
      "http://a/",
      {},
      site({
        signal: (request) => {
          made++;
          return request.ownSignal();
        },
      }),
    );
    assert.equal(r.aborted, false);
    const signal = r.signal;
    assert.equal(r.signal, signal);
    assert.equal(made, 1);
    r.abort(new DOMException("gone", "AbortError"));
    assert.equal(signal.aborted, true);
    assert.equal(r.aborted, true);
  });
});

/** A runtime that is only JavaScript: a fake for the shared layer. */
function fakeRuntime(overrides: Partial<NativeRuntime<null>> = {}): NativeRuntime<null> {
  return {
    engine: "deno",
    parser: STRICT,
    limitsBodies: false,
    byteBodies: true,
    nativeSignal: false,
    canForceClose: false,
    honoursConnectionClose: true,
    peer: () => PEER,
    watch: () => {},
    completion: () => null,
    ...overrides,
  };
}

function serverWith(
  handler: IncomingHandler,
  options: ServerOptions = {},
  runtime: NativeRuntime<null> = fakeRuntime(),
): { server: NativeServer<null>; errors: [string, unknown][] } {
  const errors: [string, unknown][] = [];
  const server = new NativeServer(runtime, handler, {
    logger: { error: (message, error) => errors.push([message, error]), info: () => {} },
    ...options,
  }, null);
  server.localAddress = LOCAL;
  return { server, errors };
}

describe("NativeServer", () => {
  test("NativeServer.handle() stays synchronous for a synchronous handler", () => {
    const { server } = serverWith((r) => new Response(r.pathname));
    const result = server.handle(req("http://a/hi"), null);
    assert.ok(result instanceof Response);
    assert.equal(server.inFlight, 0);
  });

  test("NativeServer.handle() answers a handler's exception with a bare 500 and logs it", async () => {
    const { server, errors } = serverWith(() => {
      throw new Error("secret internals");
    });
    const response = await server.handle(req("http://a/x"), null);
    assert.equal(response.status, 500);
    assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(await response.text(), "Internal Server Error");
    assert.equal(errors.length, 1);
    assert.match(errors[0][0], /GET \/x/);
    assert.equal((errors[0][1] as Error).message, "secret internals");
  });

  test("NativeServer.handle() answers a rejected promise and a non-Response with 500", async () => {
    const { server, errors } = serverWith((r) =>
      r.pathname === "/a" ? Promise.reject(new Error("x")) : (42 as unknown as Response)
    );
    assert.equal((await server.handle(req("http://a/a"), null)).status, 500);
    assert.equal((await server.handle(req("http://a/b"), null)).status, 500);
    assert.equal(errors.length, 2);
    assert.match(String(errors[1][1]), /must return a Response/);
    assert.equal(server.inFlight, 0);
  });

  test("NativeServer.handle() answers an escaping BodyError with its status, unlogged", async () => {
    const { server, errors } = serverWith(async (r) => new Response(await r.text()), {
      maxBodySize: 4,
    });
    const response = await server.handle(
      req("http://a/", { method: "POST", body: streamOf(["abc", "def"]), duplex: "half" }),
      null,
    );
    assert.equal(response.status, 413);
    assert.equal(response.headers.get("connection"), "close");
    assert.equal(errors.length, 0);
  });

  test("NativeServer.handle() refuses what the checks refuse without calling the handler", async () => {
    let called = 0;
    const { server } = serverWith(() => {
      called++;
      return new Response("ok");
    }, { maxBodySize: 2 });
    const response = await server.handle(
      req("http://a/", { method: "POST", body: "abc", headers: { "content-length": "3" } }),
      null,
    );
    assert.equal(response.status, 413);
    assert.equal(
      (await server.handle(req("http://a/", { headers: { host: "a b" } }), null)).status,
      400,
    );
    assert.equal(called, 0);
  });

  test("NativeServer adds serverHeader unless present, also to immutable responses", async () => {
    const { server } = serverWith(
      (r) =>
        r.pathname === "/own"
          ? new Response("x", { headers: { server: "mine" } })
          : r.pathname === "/redirect"
          ? Response.redirect("http://a/elsewhere", 302)
          : new Response("x"),
      { serverHeader: "sluice" },
    );
    assert.equal((await server.handle(req("http://a/"), null)).headers.get("server"), "sluice");
    assert.equal((await server.handle(req("http://a/own"), null)).headers.get("server"), "mine");
    const redirect = await server.handle(req("http://a/redirect"), null);
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get("location"), "http://a/elsewhere");
    assert.equal(redirect.headers.get("server"), "sluice");
  });

  test("NativeServer refuses a serverHeader that is not a field value", () => {
    assert.throws(() => serverWith(() => new Response(), { serverHeader: "a\r\nb" }), TypeError);
    assert.throws(() => serverWith(null as unknown as IncomingHandler), TypeError);
  });

  test("NativeServer sets Connection: close on responses made after shutdown began", async () => {
    const { server } = serverWith(() => new Response("x"));
    assert.equal((await server.handle(req("http://a/"), null)).headers.get("connection"), null);
    server.beginShutdown();
    assert.equal((await server.handle(req("http://a/"), null)).headers.get("connection"), "close");
  });

  test("NativeServer.force() answers pending handlers 503 and aborts the signals it owns", async () => {
    let signal: AbortSignal | null = null;
    let finish!: (response: Response) => void;
    const { server } = serverWith((r) => {
      signal = r.signal;
      return new Promise<Response>((resolve) => (finish = resolve));
    });
    const answer = server.handle(req("http://a/"), null);
    assert.equal(server.inFlight, 1);
    server.beginShutdown();
    server.force();
    const response = await answer;
    assert.equal(response.status, 503);
    assert.equal(response.headers.get("connection"), "close");
    assert.equal(signal!.aborted, true);
    assert.equal(server.inFlight, 0);
    let cancelled = false;
    finish(new Response(new ReadableStream({ cancel: () => void (cancelled = true) })));
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(cancelled, true);
    assert.equal(server.inFlight, 0);
  });

  test("NativeServer gives the runtime's signal where it means the same (Bun)", () => {
    let seen: AbortSignal | null = null;
    const { server } = serverWith(
      (r) => {
        seen = r.signal;
        return new Response();
      },
      {},
      fakeRuntime({ nativeSignal: true, canForceClose: true }),
    );
    const raw = req("http://a/");
    server.handle(raw, null);
    assert.equal(seen, raw.signal);
  });

  test("NativeServer's own signal aborts when the runtime reports the client gone", () => {
    let abort!: (reason: unknown) => void;
    let seen: AbortSignal | null = null;
    const { server } = serverWith(
      (r) => {
        seen = r.signal;
        return new Response();
      },
      {},
      fakeRuntime({ watch: (_r, _n, a) => void (abort = a) }),
    );
    server.handle(req("http://a/"), null);
    assert.equal(seen!.aborted, false);
    abort(new DOMException("The client closed the connection", "AbortError"));
    assert.equal(seen!.aborted, true);
  });

  test("NativeServer.handle() asks expectContinue before calling the handler", async () => {
    const expect = { expect: "100-continue" };
    const { server } = serverWith(() => new Response("body wanted"), {
      expectContinue: (r) =>
        r.pathname === "/yes"
          ? true
          : r.pathname === "/own"
          ? new Response("no", { status: 401 })
          : false,
    });
    const yes = await server.handle(req("http://a/yes", { headers: expect }), null);
    assert.equal(await yes.text(), "body wanted");
    const no = await server.handle(req("http://a/no", { headers: expect }), null);
    assert.equal(no.status, 417);
    assert.equal(no.headers.get("connection"), "close");
    const own = await server.handle(req("http://a/own", { headers: expect }), null);
    assert.equal(own.status, 401);
    assert.equal(own.headers.get("connection"), "close");
    const none = await server.handle(req("http://a/no"), null);
    assert.equal(none.status, 200);
  });

  test("NativeServer reports each response to onAccess", async () => {
    const entries: AccessLogEntry[] = [];
    let complete!: () => void;
    const { server } = serverWith(
      () =>
        Promise.resolve(new Response("hello", { status: 201, headers: { "content-length": "5" } })),
      { onAccess: (entry) => entries.push(entry), trustProxy: true },
      fakeRuntime({ completion: () => new Promise<void>((resolve) => (complete = resolve)) }),
    );
    await server.handle(
      req("http://a/x?y", { headers: { "user-agent": "t", "x-forwarded-for": "203.0.113.9" } }),
      null,
    );
    assert.equal(entries.length, 0, "logged once the runtime says the response is out");
    complete();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(entries.length, 1);
    const entry = entries[0];
    assert.equal(entry.remote, "203.0.113.9");
    assert.equal(entry.method, "GET");
    assert.equal(entry.target, "/x?y");
    assert.equal(entry.httpVersion, "1.1");
    assert.equal(entry.status, 201);
    assert.equal(entry.bytesSent, 5);
    assert.ok(entry.durationMs >= 0);
    assert.ok(Math.abs(entry.startTime - Date.now()) < 60_000);
    assert.equal(entry.requestHeader("User-Agent"), "t");
    assert.equal(entry.responseHeader("content-length"), "5");
  });

  test("NativeServer counts handlers in flight", async () => {
    let finish!: () => void;
    const { server } = serverWith(
      async () => {
        await new Promise<void>((resolve) => (finish = resolve));
        return new Response("done");
      },
      {},
      fakeRuntime({ canForceClose: true }),
    );
    const answer = server.handle(req("http://a/"), null);
    assert.equal(server.inFlight, 1);
    finish();
    assert.equal((await answer).status, 200);
    assert.equal(server.inFlight, 0);
  });

  test("NativeServer validates trustProxy up front", () => {
    assert.throws(
      () => serverWith(() => new Response(), { trustProxy: { from: ["localhost"] } }),
      TypeError,
    );
  });

  test("NativeServer's handler gets a ServeInfo with takeover null", async () => {
    let info: unknown = null;
    const { server } = serverWith((_r: IncomingRequest, i) => {
      info = {
        engine: i.engine,
        remote: i.remoteAddress,
        local: i.localAddress,
        tls: i.tls,
        takeover: i.takeover,
      };
      return new Response();
    });
    await server.handle(req("http://a/"), null);
    assert.deepEqual(info, {
      engine: "deno",
      remote: PEER,
      local: LOCAL,
      tls: null,
      takeover: null,
    });
  });
});
