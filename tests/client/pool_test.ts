// Connector (the pool): reuse, limits, keep-alive expiry, stale-socket retry
// and close, counting connections on the server side by remote port.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { Connector, type PoolResponse } from "../../client/pool.ts";
import { ConnectionClosedError } from "../../client/_connection_errors.ts";
import { ClientConnectionError } from "../../client/errors.ts";
import { serve, type ServerHandle } from "../../server/run_app.ts";
import { sleep, until, within } from "../adapters/_net.ts";

const connectors: Connector[] = [];
const handles: ServerHandle[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];

after(async () => {
  await Promise.all(connectors.map((c) => within(c.close(), 5000, "connector close")));
  for (const s of sockets) s.destroy();
  await Promise.all(handles.map((h) => within(h.shutdown().catch(() => {}), 10_000, "shutdown")));
  await Promise.all(
    servers.map((s) => within(new Promise<void>((r) => s.close(() => r())), 5000, "close")),
  );
});

function connector(options: ConstructorParameters<typeof Connector>[0] = {}): Connector {
  const c = new Connector(options);
  connectors.push(c);
  return c;
}

async function readAll(body: ReadableStream<Uint8Array> | null): Promise<string> {
  if (body === null) return "";
  return await within(new Response(body).text(), 10_000, "body");
}

async function get(c: Connector, url: string, method = "GET"): Promise<PoolResponse> {
  return await within(c.request(new URL(url), { method, headers: [] }), 10_000, `${method} ${url}`);
}

/** A Sluice server that records client ports and the most requests in flight at once. */
interface Counted {
  url: string;
  ports: Set<number>;
  inFlight: number;
  maxInFlight: number;
}

async function sluice(delayMs = 0): Promise<Counted> {
  const counted: Counted = { url: "", ports: new Set(), inFlight: 0, maxInFlight: 0 };
  const server = await serve(async (_request, info) => {
    if (info.remoteAddress.transport === "tcp") counted.ports.add(info.remoteAddress.port);
    counted.inFlight++;
    counted.maxInFlight = Math.max(counted.maxInFlight, counted.inFlight);
    if (delayMs > 0) await sleep(delayMs);
    counted.inFlight--;
    return new Response("hello");
  }, { hostname: "127.0.0.1", port: 0, engine: "sluice" });
  handles.push(server);
  counted.url = server.url;
  return counted;
}

/**
 * A raw HTTP server; `onRequest` answers (or not) each request head, with the
 * socket's request count. Tracks open sockets.
 */
interface Raw {
  url: string;
  accepted: number;
  open: Set<Socket>;
}

async function raw(onRequest: (socket: Socket, n: number, head: string) => void): Promise<Raw> {
  const state: Raw = { url: "", accepted: 0, open: new Set() };
  const server = createServer((socket) => {
    state.accepted++;
    state.open.add(socket);
    sockets.push(socket);
    let buffered = "";
    let n = 0;
    socket.on("error", () => {});
    socket.on("close", () => state.open.delete(socket));
    socket.on("data", (chunk) => {
      buffered += chunk.toString("latin1");
      let at: number;
      while ((at = buffered.indexOf("\r\n\r\n")) !== -1) {
        const head = buffered.slice(0, at);
        buffered = buffered.slice(at + 4);
        const length = /content-length:\s*(\d+)/i.exec(head);
        if (length !== null) buffered = buffered.slice(Number(length[1]));
        onRequest(socket, ++n, head);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return state;
}

const OK = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

describe("Connector against Sluice's server", () => {
  test("sequential requests reuse one connection", async () => {
    const server = await sluice();
    const c = connector();
    const reused: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const { response, reused: r } = await get(c, `${server.url}/x`);
      assert.equal(response.status, 200);
      assert.equal(await readAll(response.body), "hello");
      reused.push(r);
      await until(() => c.stats().idle === 1, 2000, "idle again");
    }
    assert.deepEqual(reused, [false, true, true, true, true]);
    assert.equal(server.ports.size, 1);
    assert.deepEqual(c.stats(), { inUse: 0, waiting: 0, idle: 1, open: 1, opened: 1 });
  });

  test("limit 2: 10 concurrent requests use at most 2 connections, all succeed", async () => {
    const server = await sluice(20);
    const c = connector({ limit: 2 });
    let maxWaiting = 0;
    const all = Promise.all(Array.from({ length: 10 }, async (_, i) => {
      const { response } = await get(c, `${server.url}/${i}`);
      maxWaiting = Math.max(maxWaiting, c.stats().waiting);
      return await readAll(response.body);
    }));
    maxWaiting = Math.max(maxWaiting, c.stats().waiting);
    assert.deepEqual(await within(all, 10_000, "10 requests"), Array(10).fill("hello"));
    assert.ok(server.ports.size <= 2, `${server.ports.size} connections`);
    assert.equal(server.maxInFlight, 2);
    assert.ok(maxWaiting >= 7, `waiting ${maxWaiting}`);
    await until(() => c.stats().inUse === 0, 2000, "all slots released");
    assert.ok(c.stats().open <= 2);
  });

  test("limitPerHost 1 with two servers: one connection each, both served at once", async () => {
    const a = await sluice(20);
    const b = await sluice(20);
    const c = connector({ limit: 10, limitPerHost: 1 });
    const requests = [];
    for (let i = 0; i < 4; i++) {
      for (const s of [a, b]) {
        requests.push(get(c, `${s.url}/${i}`).then((r) => readAll(r.response.body)));
      }
    }
    assert.equal(c.stats().waiting, 6);
    await within(Promise.all(requests), 10_000, "8 requests");
    assert.equal(a.ports.size, 1);
    assert.equal(b.ports.size, 1);
    assert.equal(a.maxInFlight, 1);
    assert.equal(b.maxInFlight, 1);
    assert.notEqual(c.key(new URL(a.url)), c.key(new URL(b.url)));
  });

  test("key(): https keys tell TLS settings apart by content; http keys ignore them", () => {
    const tls = { ca: "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n" };
    const c = connector({ tls });
    const url = new URL("https://example.test/");
    assert.equal(c.key(url), c.key(url, tls));
    assert.equal(c.key(url), c.key(url, { ...tls }), "equal settings, another object");
    assert.notEqual(c.key(url), c.key(url, { ca: "other" }));
    assert.notEqual(c.key(url), c.key(url, {}), "no settings is a setting too");
    assert.equal(c.key(url), connector({ tls: { ...tls } }).key(url), "across connectors too");
    const plain = new URL("http://example.test/");
    assert.equal(c.key(plain), c.key(plain, { ca: "other" }));
    assert.ok(!c.key(url).includes("CERTIFICATE"), "no PEM in the key");
  });

  test("keepAliveTimeout: an idle connection is closed once expired", async () => {
    const server = await sluice();
    const c = connector({ keepAliveTimeout: 150 });
    const { response, connection } = await get(c, `${server.url}/`);
    await readAll(response.body);
    await until(() => c.stats().idle === 1, 2000, "idle");
    const started = Date.now();
    await within(connection.closed, 3000, "expired connection closed");
    assert.ok(Date.now() - started >= 100, "closed too early");
    assert.equal(c.stats().idle, 0);
    const again = await get(c, `${server.url}/`);
    assert.equal(again.reused, false);
    await readAll(again.response.body);
    assert.equal(server.ports.size, 2);
  });
});

describe("Connector: stale connections and retry", () => {
  test("a server closing idle sockets after each response: 200 GETs, 0 errors", async () => {
    let count = 0;
    let stale = 0;
    const server = await raw((socket, n) => {
      if (n > 1) {
        stale++;
        socket.destroy(); // came in after the server decided to close
        return;
      }
      socket.write(OK);
      const delay = count++ % 4;
      setTimeout(() => (count % 2 ? socket.end() : socket.destroy()), delay);
    });
    const c = connector();
    let errors = 0;
    for (let i = 0; i < 200; i++) {
      try {
        const { response } = await get(c, `${server.url}/${i}`);
        assert.equal(await readAll(response.body), "ok");
      } catch (error) {
        errors++;
        if (errors === 1) console.error(error);
      }
    }
    assert.equal(errors, 0);
    assert.ok(server.accepted >= 200, `${server.accepted} connections`);
    assert.ok(stale > 0, "no request ever met a stale socket: the retry was not exercised");
    await until(() => c.stats().inUse === 0, 2000, "slots released");
  });

  test("an idempotent GET on a stale reused socket is retried on a fresh one", async () => {
    const server = await raw((socket, n) => n === 1 ? socket.write(OK) : socket.destroy());
    const c = connector();
    const first = await get(c, `${server.url}/`);
    assert.equal(await readAll(first.response.body), "ok");
    await until(() => c.stats().idle === 1, 2000, "idle");
    const second = await get(c, `${server.url}/`);
    assert.equal(second.reused, false);
    assert.equal(await readAll(second.response.body), "ok");
    assert.equal(server.accepted, 2);
  });

  test("a POST on a stale reused socket is not retried: the error surfaces", async () => {
    const server = await raw((socket, n) => n === 1 ? socket.write(OK) : socket.destroy());
    const c = connector();
    const first = await get(c, `${server.url}/`);
    await readAll(first.response.body);
    await until(() => c.stats().idle === 1, 2000, "idle");
    const posting = c.request(new URL(`${server.url}/`), {
      method: "POST",
      headers: [],
      body: new TextEncoder().encode("x"),
    });
    const error = await within(posting.then(() => null, (e: unknown) => e), 5000, "POST");
    assert.ok(error instanceof ConnectionClosedError, String(error));
    assert.equal(error.beforeAnyByte, true);
    assert.equal(server.accepted, 1);
    await until(() => c.stats().inUse === 0 && c.stats().open === 0, 2000, "slot released");
  });
});

describe("Connector: errors, aborts and close", () => {
  test("a refused connect is a ClientConnectionError and frees the slot", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(probe.address() as { port: number }).port}`;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const c = connector({ limit: 1 });
    const error = await c.request(new URL(url), { method: "GET", headers: [] }).catch((e) => e);
    assert.ok(error instanceof ClientConnectionError, String(error));
    assert.equal(error.code, "SLUICE_ERR_CLIENT_CONNECTION_REFUSED");
    assert.equal(c.stats().inUse, 0);
  });

  test("an aborted wait for a slot rejects with the reason and strands nothing", async () => {
    const server = await sluice(30);
    const c = connector({ limit: 1 });
    const held = get(c, `${server.url}/a`);
    const abort = new AbortController();
    const waiting = c.request(new URL(`${server.url}/b`), { method: "GET", headers: [] }, {
      signal: abort.signal,
    });
    assert.equal(c.stats().waiting, 1);
    abort.abort(new Error("gave up"));
    await assert.rejects(waiting, /gave up/);
    assert.equal(await readAll((await held).response.body), "hello");
    const third = await get(c, `${server.url}/c`);
    assert.equal(third.reused, true);
    await readAll(third.response.body);
  });

  test("close() closes idle sockets, rejects waiters and later requests", async () => {
    const server = await raw((socket) => setTimeout(() => socket.write(OK), 20));
    const c = connector({ limit: 2 });
    const results = await Promise.allSettled(
      Array.from(
        { length: 4 },
        async () => readAll((await get(c, `${server.url}/`)).response.body),
      ),
    );
    assert.ok(results.every((r) => r.status === "fulfilled"));
    await until(() => c.stats().idle === 2, 2000, "two idle");
    assert.equal(server.open.size, 2);
    const busy = get(c, `${server.url}/`);
    const b2 = get(c, `${server.url}/`);
    const waiter = c.request(new URL(server.url), { method: "GET", headers: [] });
    await until(() => c.stats().idle === 0, 2000, "both idle connections in use");
    await within(c.close(), 5000, "close");
    await assert.rejects(waiter, { code: "SLUICE_ERR_CLIENT_POOL_CLOSED" });
    await assert.rejects(get(c, server.url), { code: "SLUICE_ERR_CLIENT_POOL_CLOSED" });
    // The two in flight finish, then their connections close too.
    assert.equal(await readAll((await busy).response.body), "ok");
    assert.equal(await readAll((await b2).response.body), "ok");
    await until(() => server.open.size === 0, 3000, "no open sockets");
    assert.deepEqual(c.stats(), { inUse: 0, waiting: 0, idle: 0, open: 0, opened: 2 });
  });
});
