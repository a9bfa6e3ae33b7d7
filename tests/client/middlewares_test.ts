// Client middlewares: retry (scripted `next`, injected sleep) and digest auth
// against a node:http server implementing RFC 7616 (MD5 and SHA-256, qop auth).

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ClientRequest, type ClientRequestBody } from "../../client/middleware.ts";
import type { ClientHandler } from "../../client/middleware.ts";
import { ClientResponse } from "../../client/response.ts";
import { ClientConnectionError, TimeoutError } from "../../client/errors.ts";
import { DigestAuth, parseChallenges } from "../../client/auth.ts";
import { Connector } from "../../client/pool.ts";
import {
  digestAuth,
  isRetriableError,
  parseRetryAfter,
  retry,
  type RetryInfo,
} from "../../client/middlewares/mod.ts";
import { hashHex } from "../../adapters/hash.ts";
import { within } from "../adapters/_net.ts";

const URL_ = new URL("http://127.0.0.1:1/x?y=1");

function response(
  status: number,
  headers: Record<string, string> = {},
  body: ReadableStream<Uint8Array> | null = null,
): ClientResponse {
  return new ClientResponse({
    response: {
      status,
      statusText: "",
      headers: new Headers(headers),
      body,
      httpVersion: "1.1",
      trailers: Promise.resolve(new Headers()),
    },
    connection: null,
    method: "GET",
    url: URL_,
  });
}

function request(
  method = "GET",
  body: ClientRequestBody = null,
  signal?: AbortSignal,
): ClientRequest {
  return new ClientRequest({ method, url: new URL(URL_), headers: new Headers(), body, signal });
}

/** A `next` that plays a script: a status/response to return, or an error to throw. */
function scripted(
  steps: (number | ClientResponse | Error)[],
): ClientHandler & { calls: number } {
  const handler = ((req: ClientRequest) => {
    const step = steps[Math.min(handler.calls, steps.length - 1)];
    handler.calls++;
    req.markSent();
    if (step instanceof Error) return Promise.reject(step);
    return Promise.resolve(typeof step === "number" ? response(step) : step);
  }) as ClientHandler & { calls: number };
  handler.calls = 0;
  return handler;
}

function recordingSleep(): { waits: number[]; sleep: (ms: number) => Promise<void> } {
  const waits: number[] = [];
  return { waits, sleep: (ms) => (waits.push(ms), Promise.resolve()) };
}

const refused = (): ClientConnectionError =>
  new ClientConnectionError("SLUICE_ERR_CLIENT_CONNECTION_REFUSED", "Cannot connect: refused", {
    host: "127.0.0.1",
    port: 1,
  });

describe("retry middleware", () => {
  test("retries a retried status with exponential backoff, then returns the success", async () => {
    const { waits, sleep } = recordingSleep();
    const infos: RetryInfo[] = [];
    const next = scripted([503, 502, 200]);
    const mw = retry({ sleep, backoff: { jitter: "none" }, onRetry: (i) => void infos.push(i) });
    const res = await mw(request(), next);
    assert.equal(res.status, 200);
    assert.equal(next.calls, 3);
    assert.deepEqual(waits, [100, 200]);
    assert.deepEqual(infos.map((i) => [i.attempt, i.delay, i.response?.status]), [
      [1, 100, 503],
      [2, 200, 502],
    ]);
  });

  test("full jitter stays within the backoff and max caps it", async () => {
    const { waits, sleep } = recordingSleep();
    const next = scripted([500, 500, 500, 500, 200]);
    const mw = retry({ attempts: 5, sleep, backoff: { initial: 1000, factor: 10, max: 5000 } });
    assert.equal((await mw(request(), next)).status, 200);
    assert.equal(waits.length, 4);
    for (const [i, w] of waits.entries()) assert.ok(w >= 0 && w <= Math.min(5000, 1000 * 10 ** i));
  });

  test("Retry-After delta-seconds and HTTP-date set the wait", async () => {
    const { waits, sleep } = recordingSleep();
    const date = new Date(Date.now() + 3000).toUTCString();
    const next = scripted([
      response(429, { "retry-after": "2" }),
      response(503, { "retry-after": date }),
      200,
    ]);
    const res = await retry({ sleep, backoff: { jitter: "none" } })(request(), next);
    assert.equal(res.status, 200);
    assert.equal(waits[0], 2000);
    assert.ok(waits[1] > 0 && waits[1] <= 3000, `HTTP-date wait ${waits[1]}`);
  });

  test("Retry-After: 0 with the real timer", async () => {
    const next = scripted([response(503, { "retry-after": "0" }), 200]);
    const res = await within(retry()(request(), next), 5000, "retry");
    assert.equal(res.status, 200);
    assert.equal(next.calls, 2);
  });

  test("respectRetryAfter: false uses the backoff", async () => {
    const { waits, sleep } = recordingSleep();
    const next = scripted([response(503, { "retry-after": "30" }), 200]);
    await retry({ sleep, respectRetryAfter: false, backoff: { jitter: "none" } })(request(), next);
    assert.deepEqual(waits, [100]);
  });

  test("a Retry-After beyond maxRetryAfter returns the response as is", async () => {
    const { waits, sleep } = recordingSleep();
    const body = new ReadableStream<Uint8Array>({
      start: (c) => (c.enqueue(new TextEncoder().encode("busy")), c.close()),
    });
    const next = scripted([response(503, { "retry-after": "120" }, body), 200]);
    const res = await retry({ sleep, maxRetryAfter: 60_000 })(request(), next);
    assert.equal(res.status, 503);
    assert.equal(next.calls, 1);
    assert.deepEqual(waits, []);
    assert.equal(await res.text(), "busy");
  });

  test("a non-idempotent POST is not retried, unless listed", async () => {
    const { sleep } = recordingSleep();
    const next = scripted([503, 200]);
    assert.equal((await retry({ sleep })(request("POST"), next)).status, 503);
    assert.equal(next.calls, 1);
    const next2 = scripted([503, 200]);
    assert.equal((await retry({ sleep, methods: ["post"] })(request("POST"), next2)).status, 200);
    assert.equal(next2.calls, 2);
  });

  test("a non-replayable stream body is not retried (status nor error)", async () => {
    const { sleep } = recordingSleep();
    const stream = (): ReadableStream<Uint8Array> =>
      new ReadableStream({ start: (c) => c.close() });
    const next = scripted([503, 200]);
    assert.equal((await retry({ sleep })(request("PUT", stream()), next)).status, 503);
    assert.equal(next.calls, 1);
    const failing = scripted([refused(), 200]);
    await assert.rejects(
      retry({ sleep })(request("PUT", stream()), failing),
      ClientConnectionError,
    );
    assert.equal(failing.calls, 1);
    const bytes = scripted([503, 200]);
    const res = await retry({ sleep })(request("PUT", new Uint8Array([1, 2])), bytes);
    assert.equal(res.status, 200);
  });

  test("each dropped response is released (its body cancelled)", async () => {
    const { sleep } = recordingSleep();
    const cancelled: unknown[] = [];
    const body = (): ReadableStream<Uint8Array> =>
      new ReadableStream({ cancel: (reason) => void cancelled.push(reason ?? "cancelled") });
    const dropped = [response(500, {}, body()), response(502, {}, body())];
    const next = scripted([...dropped, 200]);
    assert.equal((await retry({ sleep })(request(), next)).status, 200);
    assert.equal(cancelled.length, 2);
    await assert.rejects(dropped[0].text(), /released/);
  });

  test("an abort during the wait rejects at once with the reason and clears the timer", async () => {
    const controller = new AbortController();
    const next = scripted([503, 200]);
    const reason = new Error("stop now");
    const mw = retry({
      backoff: { initial: 600_000, max: 600_000, jitter: "none" },
      onRetry: () => void setTimeout(() => controller.abort(reason), 20),
    });
    // Spy on the timers: the 600 s wait must be cleared (else the process would hang).
    const realSet = globalThis.setTimeout;
    const realClear = globalThis.clearTimeout;
    const long: unknown[] = [];
    const cleared: unknown[] = [];
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      const id = realSet(fn, ms);
      if (ms === 600_000) long.push(id);
      return id;
    }) as typeof setTimeout;
    globalThis.clearTimeout = ((id?: Parameters<typeof clearTimeout>[0]) => {
      cleared.push(id);
      realClear(id);
    }) as typeof clearTimeout;
    try {
      await assert.rejects(
        within(mw(request("GET", null, controller.signal), next), 5000, "abort"),
        (e) => e === reason,
      );
    } finally {
      globalThis.setTimeout = realSet;
      globalThis.clearTimeout = realClear;
    }
    assert.equal(long.length, 1);
    assert.ok(cleared.includes(long[0]), "the wait's timer was cleared");
    assert.equal(next.calls, 1);
    // An already aborted signal: no wait at all, and no retry of the error.
    const failing = scripted([refused(), 200]);
    await assert.rejects(
      retry()(request("GET", null, controller.signal), failing),
      ClientConnectionError,
    );
    assert.equal(failing.calls, 1);
  });

  test("default error retry: connection errors and connect timeouts only", async () => {
    const { waits, sleep } = recordingSleep();
    const next = scripted([refused(), new TimeoutError("connect", 50), 200]);
    assert.equal((await retry({ sleep })(request(), next)).status, 200);
    assert.equal(next.calls, 3);
    assert.equal(waits.length, 2);
    for (const phase of ["headers", "sockRead", "poolWait", "total"] as const) {
      const failing = scripted([new TimeoutError(phase, 50), 200]);
      await assert.rejects(retry({ sleep })(request(), failing), TimeoutError);
      assert.equal(failing.calls, 1, phase);
    }
    await assert.rejects(retry({ sleep })(request(), scripted([new TypeError("bug")])), TypeError);
    assert.equal(isRetriableError(refused()), true);
    assert.equal(isRetriableError(new Error("x")), false);
  });

  test("a retryOnError predicate decides, but never retries a total timeout", async () => {
    const { sleep } = recordingSleep();
    const seen: [string, number][] = [];
    const retryOnError = (e: unknown, attempt: number): boolean => {
      seen.push([(e as Error).message, attempt]);
      return (e as Error).message === "again";
    };
    const next = scripted([new Error("again"), new Error("again"), 200]);
    assert.equal((await retry({ sleep, retryOnError })(request(), next)).status, 200);
    assert.deepEqual(seen, [["again", 1], ["again", 2]]);
    const total = scripted([new TimeoutError("total", 50), 200]);
    await assert.rejects(
      retry({ sleep, retryOnError: () => true })(request(), total),
      TimeoutError,
    );
    assert.equal(total.calls, 1);
  });

  test("attempts exhausted: the last response is returned, the last error rethrown", async () => {
    const { waits, sleep } = recordingSleep();
    const last = response(504);
    const next = scripted([500, 503, last, 200]);
    assert.equal(await retry({ sleep })(request(), next), last);
    assert.equal(next.calls, 3);
    assert.equal(waits.length, 2);
    const errors = [refused(), refused(), refused()];
    const failing = scripted([...errors, 200]);
    await assert.rejects(retry({ sleep, attempts: 3 })(request(), failing), (e) => e === errors[2]);
    assert.equal(failing.calls, 3);
    const once = scripted([503, 200]);
    assert.equal((await retry({ sleep, attempts: 1 })(request(), once)).status, 503);
  });

  test("bad options throw RangeError", () => {
    assert.throws(() => retry({ attempts: 0 }), RangeError);
    assert.throws(() => retry({ backoff: { initial: -1 } }), RangeError);
    assert.throws(() => retry({ backoff: { jitter: "half" as "full" } }), RangeError);
  });

  test("parseRetryAfter", () => {
    assert.equal(parseRetryAfter("0"), 0);
    assert.equal(parseRetryAfter(" 5 "), 5000);
    assert.equal(parseRetryAfter(null), null);
    assert.equal(parseRetryAfter("-1"), null);
    assert.equal(parseRetryAfter("1.5"), null);
    const now = Date.UTC(2026, 0, 1, 0, 0, 0);
    assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:03 GMT", now), 3000);
    assert.equal(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now), 0);
  });
});

// --- digest ---------------------------------------------------------------

interface DigestServer {
  url: string;
  /** Requests seen. */
  count: number;
  /** Authorization values seen (null when absent). */
  auths: (string | null)[];
  algorithm: "MD5" | "SHA-256";
  /** Replace the nonce: the old one is answered with stale=true. */
  rotate(): void;
  /** Replace the nonce and forget the old ones (a restart): answered without stale=true. */
  forget(): void;
  close(): Promise<void>;
}

const servers: DigestServer[] = [];
const connectors: Connector[] = [];

after(async () => {
  await Promise.all(connectors.map((c) => within(c.close(), 5000, "connector close")));
  await Promise.all(servers.map((s) => within(s.close(), 5000, "server close")));
});

async function digestServer(algorithm: "MD5" | "SHA-256"): Promise<DigestServer> {
  const realm = "sluice@test";
  const password = "Circle of Life";
  const hash = algorithm === "MD5" ? "md5" : "sha256";
  const old = new Set<string>();
  let serial = 0;
  let nonce = `nonce-${serial}`;
  const lastNc = new Map<string, number>();
  const challenge = (res: ServerResponse, stale: boolean): void => {
    res.writeHead(401, {
      "www-authenticate": `Digest realm="${realm}", qop="auth", algorithm=${algorithm}, ` +
        `nonce="${nonce}", opaque="op"${stale ? ", stale=true" : ""}`,
      "content-type": "text/plain",
    });
    res.end("unauthorized");
  };
  const check = (req: IncomingMessage, res: ServerResponse): void => {
    state.count++;
    const header = req.headers.authorization ?? null;
    state.auths.push(header);
    if (header === null) return challenge(res, false);
    const [c] = parseChallenges(header);
    const p = c.params;
    if (c.scheme !== "digest" || p.nonce === undefined) return challenge(res, false);
    if (p.nonce !== nonce) return challenge(res, old.has(p.nonce));
    const nc = parseInt(p.nc, 16);
    if (!(nc > (lastNc.get(p.nonce) ?? 0)) || p.uri !== req.url || p.opaque !== "op") {
      return challenge(res, false);
    }
    lastNc.set(p.nonce, nc);
    const ha1 = hashHex(hash, `${p.username}:${realm}:${password}`);
    const ha2 = hashHex(hash, `${req.method}:${p.uri}`);
    const expected = hashHex(hash, `${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`);
    if (p.username !== "Mufasa" || p.response !== expected) return challenge(res, false);
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`ok ${p.username}`);
  };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => check(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const state: DigestServer = {
    url: `http://127.0.0.1:${port}`,
    count: 0,
    auths: [],
    algorithm,
    rotate() {
      old.add(nonce);
      nonce = `nonce-${++serial}`;
    },
    forget() {
      old.clear();
      nonce = `nonce-${++serial}`;
    },
    close: () => {
      server.closeAllConnections?.();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  servers.push(state);
  return state;
}

function sender(): ClientHandler {
  const connector = new Connector();
  connectors.push(connector);
  return async (req) => {
    const body = req.body === null
      ? undefined
      : req.body instanceof Uint8Array
      ? req.body
      : req.body instanceof Blob
      ? new Uint8Array(await req.body.arrayBuffer())
      : req.body;
    if (body instanceof ReadableStream) req.markSent();
    const r = await within(
      connector.request(req.url, { method: req.method, headers: [...req.headers], body }),
      10_000,
      `${req.method} ${req.url}`,
    );
    return new ClientResponse({ ...r, method: req.method, url: req.url });
  };
}

async function status(pending: Promise<ClientResponse>): Promise<number> {
  const res = await pending;
  await res.release();
  return res.status;
}

function get(path: string, method = "GET", body: ClientRequestBody = null): ClientRequest {
  return new ClientRequest({ method, url: new URL(path), headers: new Headers(), body });
}

describe("digest auth middleware", () => {
  for (const algorithm of ["MD5", "SHA-256"] as const) {
    test(`${algorithm}: 401 then retried with credentials, later requests preemptive`, async () => {
      const server = await digestServer(algorithm);
      const send = sender();
      const mw = digestAuth("Mufasa", "Circle of Life");
      const res = await mw(get(`${server.url}/dir/index.html?a=1`), send);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "ok Mufasa");
      assert.equal(server.count, 2);
      assert.equal(server.auths[0], null);
      assert.match(server.auths[1]!, new RegExp(`algorithm=${algorithm},`));
      assert.match(server.auths[1]!, /uri="\/dir\/index.html\?a=1"/);
      assert.match(server.auths[1]!, /nc=00000001/);
      const second = await mw(get(`${server.url}/other`, "POST", new Uint8Array([1, 2, 3])), send);
      assert.equal(second.status, 200);
      await second.release();
      assert.equal(server.count, 3, "the second request went with credentials up front");
      assert.match(server.auths[2]!, /nc=00000002/);
    });
  }

  test("the digest uri is the request-target as sent, a bare ? included", async () => {
    const server = await digestServer("MD5");
    const mw = digestAuth("Mufasa", "Circle of Life");
    const res = await mw(get(`${server.url}/dir/index.html?`), sender());
    assert.equal(res.status, 200, "the server found uri and request-target equal");
    await res.release();
    assert.match(server.auths[1]!, /uri="\/dir\/index.html\?"/);
  });

  test("a stale nonce is refreshed with one more request", async () => {
    const server = await digestServer("SHA-256");
    const send = sender();
    const auth = new DigestAuth("Mufasa", "Circle of Life");
    const mw = digestAuth(auth);
    assert.equal(await status(mw(get(`${server.url}/a`), send)), 200);
    server.rotate();
    const res = await mw(get(`${server.url}/b`), send);
    assert.equal(res.status, 200);
    await res.release();
    assert.equal(server.count, 4); // 401, 200, stale 401, 200
    assert.match(server.auths[3]!, /nonce="nonce-1"/);
    assert.equal(auth.nonceCount, 1);
  });

  test("a server that forgot its nonces (no stale=true): one more request, then on as before", async () => {
    const server = await digestServer("MD5");
    const send = sender();
    const auth = new DigestAuth("Mufasa", "Circle of Life");
    const mw = digestAuth(auth);
    assert.equal(await status(mw(get(`${server.url}/a`), send)), 200);
    assert.equal(await status(mw(get(`${server.url}/b`), send)), 200);
    assert.equal(server.count, 3); // 401, 200, 200 (up front)
    server.forget();
    assert.equal(await status(mw(get(`${server.url}/c`), send)), 200);
    assert.equal(server.count, 5); // 401 (not stale), 200 with the new nonce
    assert.match(server.auths[4]!, /nonce="nonce-1", /);
    assert.match(server.auths[4]!, /nc=00000001/);
    assert.equal(await status(mw(get(`${server.url}/d`), send)), 200);
    assert.equal(server.count, 6, "up front again");
  });

  test("a wrong password: the second 401 is returned, once per request", async () => {
    const server = await digestServer("MD5");
    const send = sender();
    const mw = digestAuth("Mufasa", "wrong");
    const res = await mw(get(`${server.url}/`), send);
    assert.equal(res.status, 401);
    assert.equal(await res.text(), "unauthorized");
    assert.equal(server.count, 2);
    // Later requests: the credentials up front, one retry with the new challenge, then the 401.
    for (let i = 1; i <= 3; i++) {
      assert.equal(await status(mw(get(`${server.url}/`), send)), 401);
      assert.equal(server.count, 2 + 2 * i);
    }
  });

  test("no retry for a non-replayable body, nor without a Digest challenge", async () => {
    const server = await digestServer("MD5");
    const send = sender();
    const stream = new ReadableStream<Uint8Array>({
      start: (c) => (c.enqueue(new Uint8Array([1])), c.close()),
    });
    const res = await digestAuth("Mufasa", "Circle of Life")(
      get(`${server.url}/`, "PUT", stream),
      send,
    );
    assert.equal(res.status, 401);
    await res.release();
    assert.equal(server.count, 1);
    const basic = scripted([response(401, { "www-authenticate": 'Basic realm="x"' }), 200]);
    assert.equal((await digestAuth("a", "b")(request(), basic)).status, 401);
    assert.equal(basic.calls, 1);
    assert.throws(() => digestAuth("a" as string, undefined as unknown as string), TypeError);
  });

  test("credentials go up front only to the challenging origin", async () => {
    const server = await digestServer("MD5");
    const send = sender();
    const mw = digestAuth("Mufasa", "Circle of Life");
    assert.equal(await status(mw(get(`${server.url}/`), send)), 200);
    const elsewhere = scripted([200]);
    const req = get("http://127.0.0.2:1/");
    await mw(req, elsewhere);
    assert.equal(req.headers.get("authorization"), null);
  });
});
