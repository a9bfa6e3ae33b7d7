// ClientSession timeouts per phase and caller aborts: each fails with the
// right error, frees its connection and leaves no timer behind (the test
// process would not exit otherwise).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Connector } from "../../client/pool.ts";
import { TimeoutError } from "../../client/errors.ts";
import { retry } from "../../client/middlewares/mod.ts";
import { tracked } from "./_tracked.ts";
import { until, within } from "../adapters/_net.ts";

const { servers, session } = tracked();

function handler(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  switch (new URL(req.url!, "http://x").pathname) {
    case "/hang":
      return; // never answers
    case "/stall":
      res.writeHead(200, { "content-length": "100" });
      res.write("part of it");
      return; // and never the rest
    default:
      res.writeHead(200, { "content-length": "2" });
      res.end("ok");
  }
}

const base = await new Promise<string>((resolve) => {
  const s = createServer(handler);
  servers.push(s);
  s.listen(0, "127.0.0.1", () => {
    resolve(`http://127.0.0.1:${(s.address() as { port: number }).port}`);
  });
});

/** A lookup that never ends (but for its signal). */
function hangingResolver(_host: string, { signal }: { signal?: AbortSignal }): Promise<never> {
  return new Promise((_, reject) => {
    signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

async function failure(promise: Promise<unknown>): Promise<TimeoutError> {
  const error = await within(promise, 5000, "request").then(
    () => assert.fail("no error"),
    (e) => e,
  );
  assert.ok(error instanceof TimeoutError, String(error));
  return error;
}

describe("ClientSession timeouts", () => {
  test("headers: the server never answers", async () => {
    const s = session();
    const error = await failure(s.get(`${base}/hang`, { timeout: { headers: 150 } }));
    assert.equal(error.phase, "headers");
    assert.equal(error.code, "SLUICE_ERR_CLIENT_TIMEOUT_HEADERS");
    assert.match(error.message, /headers timeout of 150 ms/);
    await until(() => s.connector.stats().inUse === 0, 2000, "inUse 0");
  });

  test("sockRead: part of the body, then nothing", async () => {
    const s = session({ timeout: { sockRead: 150 } });
    const res = await within(s.get(`${base}/stall`), 5000, "head");
    assert.equal(res.status, 200);
    const error = await failure(res.text());
    assert.equal(error.phase, "sockRead");
    assert.match(error.message, /sockRead timeout of 150 ms/);
    await until(() => s.connector.stats().inUse === 0, 2000, "inUse 0");
  });

  test("total: over the whole request, body included", async () => {
    const s = session();
    const error = await failure(s.get(`${base}/hang`, { timeout: { total: 150 } }));
    assert.equal(error.phase, "total");
    const res = await within(s.get(`${base}/stall`, { timeout: { total: 200 } }), 5000, "head");
    const late = await failure(res.text());
    assert.equal(late.phase, "total");
    await until(() => s.connector.stats().inUse === 0, 2000, "inUse 0");
  });

  // Loopback has no reliable way to make a TCP connect hang (a full backlog
  // still completes the handshake on Linux): a name lookup that never ends
  // stands in, DNS being part of the `connect` phase.
  test("connect: a lookup that never ends", async () => {
    const lookups: string[] = [];
    const s = session({
      connector: {
        resolver: (host, { signal }) => {
          lookups.push(host);
          return new Promise((_, reject) => {
            signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
          });
        },
      },
    });
    const error = await failure(s.get("http://never.test/", { timeout: { connect: 150 } }));
    assert.equal(error.phase, "connect");
    assert.equal(error.code, "SLUICE_ERR_CLIENT_TIMEOUT_CONNECT");
    assert.match(error.message, /connect timeout of 150 ms/);
    assert.deepEqual(lookups, ["never.test"]);
    assert.equal(s.connector.stats().inUse, 0);
  });

  test("retry(): a connect timeout ends its attempt only; the next attempt may succeed", async () => {
    const lookups: number[] = [];
    const retried: unknown[] = [];
    const s = session({
      connector: {
        // Slower than the connect timeout: the first attempt times out, the second (which
        // joins the lookup in flight) connects.
        resolver: () => {
          lookups.push(Date.now());
          return new Promise((resolve) =>
            setTimeout(() => resolve([{ address: "127.0.0.1", family: 4 }]), 150)
          );
        },
      },
      middlewares: [retry({
        attempts: 3,
        backoff: { initial: 1, jitter: "none" },
        onRetry: ({ error }) => void retried.push(error),
      })],
    });
    const port = new URL(base).port;
    const res = await within(
      s.get(`http://named.test:${port}/`, { timeout: { connect: 100, total: 4000 } }),
      5000,
      "request",
    );
    assert.equal(await res.text(), "ok");
    assert.equal(lookups.length, 1);
    assert.deepEqual(retried.map((e) => (e as TimeoutError).phase), ["connect"]);
    // Every attempt failing: the last connect timeout is the error.
    const never = session({
      connector: {
        resolver: hangingResolver,
      },
      middlewares: [retry({ attempts: 3, backoff: { initial: 1, jitter: "none" } })],
    });
    const started = Date.now();
    const error = await failure(never.get("http://never.test/", { timeout: { connect: 100 } }));
    assert.equal(error.phase, "connect");
    assert.ok(Date.now() - started >= 250, "three attempts of 100 ms each");
    assert.equal(never.connector.stats().inUse, 0);
  });

  test("retry(): total bounds all the attempts together", async () => {
    const s = session({
      connector: {
        resolver: hangingResolver,
      },
      middlewares: [retry({ attempts: 10, backoff: { initial: 1, jitter: "none" } })],
    });
    const error = await failure(
      s.get("http://never.test/", { timeout: { connect: 100, total: 250 } }),
    );
    assert.equal(error.phase, "total");
    assert.equal(s.connector.stats().inUse, 0);
  });

  test("poolWait: limit 1 held by a body being received", async () => {
    const connector = new Connector({ limit: 1 });
    const s = session({ connector, connectorOwner: true });
    // A body still arriving holds the connection (a small one already received would not).
    const first = await within(s.get(`${base}/stall`), 5000, "first");
    const error = await failure(s.get(`${base}/ok`, { timeout: { poolWait: 100 } }));
    assert.equal(error.phase, "poolWait");
    assert.equal(error.code, "SLUICE_ERR_CLIENT_TIMEOUT_POOL_WAIT");
    await first.release();
    // The released remainder never comes: the connection is closed after a bounded drain.
    const again = await within(s.get(`${base}/ok`, { timeout: { poolWait: 3000 } }), 5000, "next");
    assert.equal(await again.text(), "ok");
    assert.deepEqual(
      { inUse: connector.stats().inUse, waiting: connector.stats().waiting },
      { inUse: 0, waiting: 0 },
    );
  });

  test("limit 1: a body cancelled while its rest stalls frees the connection after a bounded wait", async () => {
    const connector = new Connector({ limit: 1 });
    const s = session({ connector, connectorOwner: true });
    const first = await within(s.get(`${base}/stall`), 5000, "first");
    const reader = first.body!.getReader();
    await within(reader.read(), 5000, "first chunk");
    await reader.cancel();
    const again = await within(s.get(`${base}/ok`, { timeout: { poolWait: 3000 } }), 5000, "next");
    assert.equal(await again.text(), "ok");
    assert.deepEqual(
      { inUse: connector.stats().inUse, waiting: connector.stats().waiting },
      { inUse: 0, waiting: 0 },
    );
  });

  test("a caller signal aborting mid-body errors the body with its reason", async () => {
    const s = session();
    const controller = new AbortController();
    const res = await within(s.get(`${base}/stall`, { signal: controller.signal }), 5000, "head");
    const reader = res.body!.getReader();
    const { value } = await within(reader.read(), 5000, "first chunk");
    assert.equal(new TextDecoder().decode(value), "part of it");
    const reason = new Error("stop");
    const pending = reader.read();
    controller.abort(reason);
    await assert.rejects(within(pending, 5000, "abort"), (e) => e === reason);
    await until(() => s.connector.stats().inUse === 0, 2000, "inUse 0");
  });

  test("a signal aborted while waiting for the head rejects with its reason", async () => {
    const s = session();
    const controller = new AbortController();
    const reason = new Error("gone");
    const pending = s.get(`${base}/hang`, { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    await assert.rejects(within(pending, 5000, "abort"), (e) => e === reason);
    await until(() => s.connector.stats().inUse === 0, 2000, "inUse 0");
  });
});
