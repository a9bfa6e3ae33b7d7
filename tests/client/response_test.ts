// ClientResponse over a real Connector against Sluice's own server: body
// readers, connection reuse and release, `await using`, raiseForStatus,
// cookies, clone, and the garbage-collector leak report.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Connector } from "../../client/pool.ts";
import type { ClientConnection } from "../../client/_connection.ts";
import { ResponseStatusError } from "../../client/errors.ts";
import { ClientResponse } from "../../client/response.ts";
import { LEAK_WARNING_CODE } from "../../client/_response_leak.ts";
import { serve, type ServerHandle } from "../../server/run_app.ts";
import { sleep, until, within } from "../adapters/_net.ts";

const connectors: Connector[] = [];
const handles: ServerHandle[] = [];

after(async () => {
  await Promise.all(connectors.map((c) => within(c.close(), 5000, "connector close")));
  await Promise.all(handles.map((h) => within(h.shutdown().catch(() => {}), 10_000, "shutdown")));
});

const BIG = 1024 * 1024;

let base: Promise<string> | null = null;

/** One Sluice server for the whole file. */
function server(): Promise<string> {
  base ??= serve((request) => {
    const path = new URL(request.url).pathname;
    switch (path) {
      case "/json":
        return Response.json({ a: 1, b: [true, null] });
      case "/text":
        return new Response("héllo wörld", {
          headers: { "content-type": "application/x-sluice-test" },
        });
      case "/small":
        return new Response("0123456789");
      case "/big":
        return new Response(new Uint8Array(BIG).fill(97));
      case "/trickle": {
        // One chunk now, the rest 300 ms later: a cancel leaves the connection draining.
        let step = 0;
        return new Response(
          new ReadableStream<Uint8Array>({
            async pull(controller) {
              if (step++ === 0) controller.enqueue(new Uint8Array(100).fill(97));
              else {
                await sleep(300);
                controller.enqueue(new Uint8Array(100).fill(98));
                controller.close();
              }
            },
          }),
        );
      }
      case "/missing":
        return new Response("no such thing", { status: 404, statusText: "Not Found" });
      case "/form":
        return new Response("x=1&y=two&x=3", {
          headers: { "content-type": "application/x-www-form-urlencoded" },
        });
      case "/cookies": {
        const headers = new Headers();
        headers.append("set-cookie", "sid=abc123; Path=/; HttpOnly");
        headers.append("set-cookie", "theme=dark; Max-Age=60");
        headers.append("set-cookie", "broken");
        return new Response("ok", { headers });
      }
      default:
        return new Response(null, { status: 204 });
    }
  }, { hostname: "127.0.0.1", port: 0, engine: "sluice" }).then((handle) => {
    handles.push(handle);
    return handle.url;
  });
  return base;
}

function connector(): Connector {
  const c = new Connector();
  connectors.push(c);
  return c;
}

interface Got {
  res: ClientResponse;
  connection: ClientConnection;
  reused: boolean;
}

async function get(c: Connector, path: string): Promise<Got> {
  const url = new URL(path, await server());
  const result = await within(c.request(url, { method: "GET", headers: [] }), 10_000, path);
  const res = new ClientResponse({ ...result, method: "GET", url });
  return { res, connection: result.connection, reused: result.reused };
}

async function idle(c: Connector): Promise<void> {
  await until(() => c.stats().idle === 1 && c.stats().inUse === 0, 5000, "connection idle");
}

describe("ClientResponse", () => {
  test("reads json, text, bytes, arrayBuffer, blob and formData", async () => {
    const c = connector();
    const json = (await get(c, "/json")).res;
    assert.equal(json.status, 200);
    assert.equal(json.ok, true);
    assert.equal(json.type, "basic");
    assert.equal(json.redirected, false);
    assert.equal(json.method, "GET");
    assert.equal(json.url, `${await server()}/json`);
    assert.equal(json.bodyUsed, false);
    assert.deepEqual(await within(json.json(), 5000, "json"), { a: 1, b: [true, null] });
    assert.equal(json.bodyUsed, true);
    await assert.rejects(json.text(), TypeError);
    // Response-compatible by shape: assignable where a Response is expected.
    const asResponse: Response = json;
    assert.equal(asResponse.status, 200);

    assert.equal(await (await get(c, "/text")).res.text(), "héllo wörld");
    let streamed = "";
    for await (const part of (await get(c, "/text")).res.textStream()) streamed += part;
    assert.equal(streamed, "héllo wörld");
    const bytes = await (await get(c, "/small")).res.bytes();
    assert.ok(bytes instanceof Uint8Array);
    assert.equal(new TextDecoder().decode(bytes), "0123456789");
    const buffer = await (await get(c, "/big")).res.arrayBuffer();
    assert.ok(buffer instanceof ArrayBuffer);
    assert.equal(buffer.byteLength, BIG);
    assert.equal(new Uint8Array(buffer)[BIG - 1], 97);
    const blob = await (await get(c, "/text")).res.blob();
    assert.equal(blob.type, "application/x-sluice-test");
    assert.equal(await blob.text(), "héllo wörld");
    const form = await (await get(c, "/form")).res.formData();
    assert.deepEqual(form.getAll("x"), ["1", "3"]);
    assert.equal(form.get("y"), "two");
    const empty = (await get(c, "/none")).res;
    assert.equal(empty.status, 204);
    assert.equal(empty.body, null);
    assert.equal(await empty.text(), "");
  });

  test("reading the body to the end returns the connection to the pool", async () => {
    const c = connector();
    const first = await get(c, "/big");
    assert.equal(first.reused, false);
    let size = 0;
    for await (const chunk of first.res.body!) size += chunk.byteLength;
    assert.equal(size, BIG);
    assert.equal(first.res.bodyUsed, true);
    await idle(c);
    const second = await get(c, "/text");
    assert.equal(second.reused, true);
    assert.equal(second.connection, first.connection);
    assert.equal(await second.res.text(), "héllo wörld");
    await idle(c);
    assert.equal((await get(c, "/small")).reused, true);
  });

  test("release() of an unread 1 MiB body closes the socket", async () => {
    const c = connector();
    const { res, connection } = await get(c, "/big");
    assert.equal(connection.busy, true);
    const released = res.release();
    assert.equal(res.release(), released, "idempotent");
    await within(released, 5000, "release");
    await until(() => connection.isClosed, 5000, "socket closed");
    await until(() => c.stats().open === 0, 5000, "pool empty");
    await assert.rejects(res.text(), TypeError);
    const next = await get(c, "/small");
    assert.equal(next.reused, false);
    assert.equal(await next.res.text(), "0123456789");
  });

  test("release() of an unread 10-byte body keeps the connection", async () => {
    const c = connector();
    const { res, connection } = await get(c, "/small");
    await within(res.release(), 5000, "release");
    await idle(c);
    assert.equal(connection.isClosed, false);
    const next = await get(c, "/text");
    assert.equal(next.reused, true);
    assert.equal(await next.res.text(), "héllo wörld");
  });

  test("await using releases the response", async () => {
    const c = connector();
    let connection: ClientConnection;
    {
      const got = await get(c, "/big");
      await using res = got.res;
      connection = got.connection;
      assert.equal(res.status, 200);
    }
    await until(() => connection.isClosed, 5000, "socket closed after await using");
    {
      const got = await get(c, "/small");
      await using res = got.res;
      assert.equal(res.status, 200);
    }
    await idle(c);
    assert.equal((await get(c, "/small")).reused, true);
  });

  test("raiseForStatus() throws ResponseStatusError with the unread response", async () => {
    const c = connector();
    const ok = (await get(c, "/small")).res;
    assert.equal(ok.raiseForStatus(), ok);
    await ok.release();
    const { res } = await get(c, "/missing");
    assert.equal(res.ok, false);
    let caught: unknown;
    try {
      res.raiseForStatus();
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof ResponseStatusError);
    assert.equal(caught.code, "SLUICE_ERR_CLIENT_RESPONSE_STATUS");
    assert.equal(caught.status, 404);
    assert.equal(caught.statusText, "Not Found");
    assert.equal(caught.message, `Cannot GET ${await server()}/missing: 404 Not Found`);
    assert.equal(caught.response, res);
    assert.equal(caught.response.bodyUsed, false);
    assert.equal(await caught.response.text(), "no such thing");
  });

  test("cookies maps Set-Cookie names to values, skipping malformed ones", async () => {
    const c = connector();
    const { res } = await get(c, "/cookies");
    assert.deepEqual([...res.cookies], [["sid", "abc123"], ["theme", "dark"]]);
    assert.equal(res.cookies, res.cookies);
    await res.release();
  });

  test("clone() gives two independently readable bodies", async () => {
    const c = connector();
    const { res } = await get(c, "/big");
    const copy = res.clone();
    assert.equal(copy.status, 200);
    assert.equal(copy.url, res.url);
    const [a, b] = await within(Promise.all([res.bytes(), copy.bytes()]), 10_000, "both");
    assert.equal(a.byteLength, BIG);
    assert.equal(b.byteLength, BIG);
    assert.equal(b[BIG - 1], 97);
    assert.throws(() => res.clone(), TypeError);
    await idle(c);
    assert.equal((await get(c, "/small")).reused, true);
  });

  test("release() (or await using) of one copy of a clone leaves the other readable", async () => {
    const c = connector();
    for (const which of ["copy", "original"]) {
      const { res } = await get(c, "/trickle");
      const copy = res.clone();
      const [gone, kept] = which === "copy" ? [copy, res] : [res, copy];
      await gone.release();
      const bytes = await within(
        kept.bytes(),
        5000,
        `the ${which === "copy" ? "original" : "copy"}`,
      );
      assert.equal(bytes.length, 200);
      assert.equal(bytes[199], 98);
      await assert.rejects(gone.text(), /released/);
    }
    await idle(c);
    assert.equal((await get(c, "/small")).reused, true);
  });

  test("history is frozen and implies redirected", async () => {
    const c = connector();
    const first = (await get(c, "/small")).res;
    await first.release();
    const url = new URL("/text", await server());
    const result = await c.request(url, { method: "GET", headers: [] });
    const res = new ClientResponse({ ...result, method: "GET", url, history: [first] });
    assert.equal(res.redirected, true);
    assert.deepEqual(res.history, [first]);
    assert.ok(Object.isFrozen(res.history));
    assert.equal(await res.text(), "héllo wörld");
  });

  test("an unread response that is garbage-collected closes its connection and warns", async (t) => {
    await withGcWarnings(t, async (gc, warnings) => {
      const c = connector();
      let connection: ClientConnection | null = null;
      await (async () => {
        connection = (await get(c, "/big")).connection;
      })();
      assert.equal(connection!.busy, true);
      for (let i = 0; i < 100 && warnings.length === 0; i++) {
        gc();
        await sleep(20);
      }
      const leak = warnings.find((w) => w.code === LEAK_WARNING_CODE);
      assert.ok(leak !== undefined, "a leak warning");
      assert.match(leak.message, new RegExp(`GET ${await server()}/big`));
      await until(() => connection!.isClosed, 5000, "leaked connection closed");
    });
  });

  test("a cancelled body, collected while its connection drains: no warning, the connection kept", async (t) => {
    await withGcWarnings(t, async (gc, warnings) => {
      const c = connector();
      let connection: ClientConnection | null = null;
      await (async () => {
        const got = await get(c, "/trickle");
        connection = got.connection;
        const reader = got.res.body!.getReader();
        assert.equal((await within(reader.read(), 5000, "first chunk")).value?.[0], 97);
        await reader.cancel();
      })();
      assert.equal(connection!.draining, true, "the rest is still to come");
      for (let i = 0; i < 10; i++) {
        gc();
        await sleep(10);
      }
      await until(() => connection!.reusable, 5000, "the rest drained");
      assert.deepEqual(warnings.filter((w) => w.code === LEAK_WARNING_CODE), []);
      assert.equal((await get(c, "/small")).reused, true);
    });
  });
});

interface WarningEmitter {
  on?: (event: "warning", listener: (warning: { message: string; code?: string }) => void) => void;
  off?: (event: "warning", listener: (warning: { message: string; code?: string }) => void) => void;
}

/** Runs `fn` with a full GC and the process warnings it collects; skips `t` without them. */
async function withGcWarnings(
  t: { skip(message: string): void },
  fn: (gc: () => void, warnings: Array<{ message: string; code?: string }>) => Promise<void>,
): Promise<void> {
  const gc = await findGc();
  if (typeof gc === "string") return t.skip(gc);
  const proc = (globalThis as { process?: WarningEmitter }).process;
  if (proc?.on === undefined) return t.skip("no process warning events on this runtime");
  const warnings: Array<{ message: string; code?: string }> = [];
  const listener = (warning: { message: string; code?: string }): void => {
    warnings.push(warning);
  };
  proc.on("warning", listener);
  try {
    await fn(gc, warnings);
  } finally {
    proc.off?.("warning", listener);
  }
}

/** A full garbage collection, or why none is available. */
async function findGc(): Promise<(() => void) | string> {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (typeof g.Bun?.gc === "function") return () => g.Bun!.gc(true);
  if (typeof g.gc === "function") return g.gc;
  try {
    const v8 = await import("node:v8");
    const vm = await import("node:vm");
    v8.setFlagsFromString("--expose-gc");
    const gc: unknown = vm.runInNewContext("gc");
    if (typeof gc === "function") return gc as () => void;
  } catch {
    // Fall through.
  }
  return "no garbage collector exposed (run Node with --expose-gc)";
}
