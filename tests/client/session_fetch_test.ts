// session.fetch (the standard signature over the session) and the upload
// and download progress callbacks, against a node:http server.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tracked } from "./_tracked.ts";
import type { Progress } from "../../client/_session_send.ts";
import { until, within } from "../adapters/_net.ts";

const { servers, session } = tracked();

/** Called with the bytes of a request body received so far, as they come. */
let onBodyBytes: ((received: number) => void) | null = null;

async function handler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of req) {
    chunks.push(chunk as Buffer);
    received += (chunk as Buffer).length;
    onBodyBytes?.(received);
  }
  const path = new URL(req.url!, "http://x").pathname;
  if (path === "/keep") {
    res.writeHead(307, { location: "/kept", "content-length": "0" });
    res.end();
    return;
  }
  if (path === "/count") {
    const body = `${req.headers["transfer-encoding"] ?? "length"} ${received}`;
    res.writeHead(200, { "content-length": String(body.length) });
    res.end(body);
    return;
  }
  if (path === "/moved") {
    res.writeHead(302, { location: "/final", "content-length": "0" });
    res.end();
    return;
  }
  if (path === "/choices" || path === "/nowhere") {
    // A 300 with a Location is no redirect to Fetch; a 302 without one is.
    const status = path === "/choices" ? 300 : 302;
    res.writeHead(
      status,
      path === "/choices" ? { location: "/final", "content-length": "2" } : {
        "content-length": "2",
      },
    );
    res.end("ok");
    return;
  }
  if (path === "/hang") return;
  if (path === "/big") {
    res.writeHead(200, { "content-length": String(64 * 1024) });
    res.end(Buffer.alloc(64 * 1024, 97));
    return;
  }
  const body = `${req.method} ${req.url} ${Buffer.concat(chunks).toString("utf8")}`;
  res.writeHead(200, { "content-length": String(Buffer.byteLength(body)), "x-path": path });
  res.end(body);
}

const base = await new Promise<string>((resolve) => {
  const s = createServer((req, res) => void handler(req, res));
  servers.push(s);
  s.listen(0, "127.0.0.1", () => {
    resolve(`http://127.0.0.1:${(s.address() as { port: number }).port}`);
  });
});

/** A body that gives 10 bytes, then nothing more, ever; `cancelled()` is the cancel reason. */
function stalledBody(): { body: ReadableStream<Uint8Array>; cancelled: () => unknown } {
  let cancelled: unknown = null;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array(10));
    },
    cancel(reason) {
      cancelled = reason ?? "cancelled";
    },
  });
  return { body, cancelled: () => cancelled };
}

describe("session.fetch", () => {
  test("a URL and RequestInit; a real Response", async () => {
    const s = session();
    const res = await within(
      s.fetch(`${base}/a`, { method: "POST", body: "hi", headers: { "x-a": "1" } }),
      5000,
      "fetch",
    );
    assert.ok(res instanceof Response);
    assert.equal(res.status, 200);
    assert.equal(res.url, `${base}/a`);
    assert.equal(res.redirected, false);
    assert.equal(res.headers.get("x-path"), "/a");
    assert.equal(await res.text(), "POST /a hi");
    assert.equal(s.connector.stats().inUse, 0);
  });

  test("a Request with a body", async () => {
    const s = session();
    const req = new Request(`${base}/r`, { method: "PUT", body: "from request" });
    const res = await within(s.fetch(req), 5000, "fetch");
    assert.equal(await res.text(), "PUT /r from request");
  });

  test("a Request's long stream body is streamed, not read whole first", async () => {
    const s = session();
    const piece = 512 * 1024;
    let serverHasMiB!: () => void;
    const reached = new Promise<void>((resolve) => serverHasMiB = resolve);
    onBodyBytes = (received) => {
      if (received >= 1024 * 1024) serverHasMiB();
    };
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        // The last piece waits until the server has a MiB: a client that reads
        // the whole body before sending never gets there.
        if (sent === 3) await reached;
        controller.enqueue(new Uint8Array(piece).fill(sent));
        if (++sent === 4) controller.close();
      },
    });
    try {
      const req = new Request(
        `${base}/count`,
        { method: "POST", body, duplex: "half" } as
          & RequestInit
          & { duplex: "half" },
      );
      const res = await within(s.fetch(req), 10_000, "streamed fetch");
      assert.equal(await res.text(), `chunked ${4 * piece}`);
    } finally {
      onBodyBytes = null;
    }
    assert.equal(s.connector.stats().inUse, 0);
  });

  test("a Request's short body is sent with its length and resent on a 307", async () => {
    const s = session();
    const req = new Request(`${base}/keep`, { method: "POST", body: "kept body" });
    const res = await within(s.fetch(req), 5000, "fetch");
    assert.equal(res.redirected, true);
    assert.equal(await res.text(), "POST /kept kept body");
    assert.equal(req.bodyUsed, true);
    await assert.rejects(s.fetch(req), /the Request's body was already used/);
    const counted = await within(
      s.fetch(new Request(`${base}/count`, { method: "POST", body: "x".repeat(1000) })),
      5000,
      "count",
    );
    assert.equal(await counted.text(), "length 1000");
  });

  test("a Request's long body is not resent on a 307: fetch failed, saying why", async () => {
    const s = session();
    const big = new Uint8Array(1024 * 1024 + 1);
    const req = new Request(`${base}/keep`, { method: "POST", body: big });
    const error = await within(s.fetch(req), 10_000, "fetch").catch((e: unknown) => e);
    assert.ok(error instanceof TypeError, String(error));
    assert.match(
      String((error.cause as Error).message),
      /Cannot follow 307 redirect .*: the request body was a stream and has been sent/,
    );
    assert.equal(s.connector.stats().inUse, 0);
  });

  test("a Request's body stream is cancelled when the request fails before sending it", async () => {
    const s = session();
    const refused = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    let cancelled: unknown = null;
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new Uint8Array(256 * 1024));
      },
      cancel(reason) {
        cancelled = reason ?? "cancelled";
      },
    });
    const req = new Request(
      `http://127.0.0.1:${refused}/`,
      {
        method: "POST",
        body,
        duplex: "half",
      } as RequestInit & { duplex: "half" },
    );
    await assert.rejects(within(s.fetch(req), 5000, "fetch"), TypeError);
    await until(() => cancelled !== null, 2000, "source cancelled");
    assert.ok(pulls <= 8, `read ahead ${pulls} chunks of 256 KiB`);
  });

  test("abort while a Request's body is read ahead: rejects with the reason, cancels the source", async () => {
    const s = session();
    const { body, cancelled } = stalledBody();
    const controller = new AbortController();
    const reason = new Error("stop reading ahead");
    const req = new Request(
      `${base}/count`,
      {
        method: "POST",
        body,
        duplex: "half",
        signal: controller.signal,
      } as RequestInit & { duplex: "half" },
    );
    setTimeout(() => controller.abort(reason), 30);
    await assert.rejects(within(s.fetch(req), 5000, "fetch"), (e: unknown) => e === reason);
    await until(() => cancelled() !== null, 2000, "source cancelled");
    assert.equal(s.connector.stats().inUse, 0);
  });

  test("a stalled Request body read ahead counts against the session's total", async () => {
    const s = session({ timeout: { total: 300 } });
    const { body, cancelled } = stalledBody();
    const req = new Request(
      `${base}/count`,
      { method: "POST", body, duplex: "half" } as RequestInit & { duplex: "half" },
    );
    await assert.rejects(within(s.fetch(req), 5000, "fetch"), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.equal((e.cause as { phase?: string }).phase, "total");
      return true;
    });
    await until(() => cancelled() !== null, 2000, "source cancelled");
  });

  test("a stream given as init.body is cancelled when the fetch is aborted before sending it", async () => {
    // One connection, held by a request the server never answers: the fetch waits for it.
    const s = session({ connector: { limit: 1 } });
    const holder = new AbortController();
    const held = s.get(`${base}/hang`, { signal: holder.signal }).catch(() => {});
    try {
      for (const when of ["before", "in the pool wait"]) {
        let cancelled: unknown = null;
        const body = new ReadableStream<Uint8Array>({
          cancel(reason) {
            cancelled = reason ?? "cancelled";
          },
        });
        const reason = new Error(`abort ${when}`);
        const controller = new AbortController();
        if (when === "before") controller.abort(reason);
        const init = { method: "POST", body, duplex: "half", signal: controller.signal };
        const fetching = s.fetch(`${base}/count`, init as RequestInit & { duplex: "half" });
        if (when !== "before") setTimeout(() => controller.abort(reason), 30);
        await assert.rejects(within(fetching, 5000, "fetch"), (e: unknown) => e === reason);
        await until(() => cancelled === reason, 2000, `source cancelled (${when})`);
      }
    } finally {
      holder.abort();
      await held;
    }
  });

  test("redirects: follow, manual, error", async () => {
    const s = session();
    const followed = await within(s.fetch(`${base}/moved`), 5000, "follow");
    assert.equal(followed.redirected, true);
    assert.equal(followed.url, `${base}/final`);
    assert.equal(await followed.text(), "GET /final ");
    const manual = await within(s.fetch(`${base}/moved`, { redirect: "manual" }), 5000, "manual");
    assert.equal(manual.status, 302);
    assert.equal(manual.headers.get("location"), "/final");
    await manual.body?.cancel();
    await assert.rejects(
      within(s.fetch(`${base}/moved`, { redirect: "error" }), 5000, "e"),
      TypeError,
    );
    await assert.rejects(
      within(s.fetch(`${base}/nowhere`, { redirect: "error" }), 5000, "e"),
      /302 redirect \(to nowhere\)/,
    );
    const choices = await within(s.fetch(`${base}/choices`, { redirect: "error" }), 5000, "300");
    assert.equal(choices.status, 300);
    assert.equal(await choices.text(), "ok");
    assert.equal(s.connector.stats().inUse, 0);
  });

  test("network failure → TypeError with the client error as cause", async () => {
    const s = session();
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, "127.0.0.1", () => {
        const port = (probe.address() as { port: number }).port;
        probe.close(() => resolve(port));
      });
    });
    const error = await within(s.fetch(`http://127.0.0.1:${closed}/`), 5000, "refused").then(
      () => assert.fail("no error"),
      (e) => e,
    );
    assert.ok(error instanceof TypeError);
    assert.match(String((error.cause as { code?: string }).code), /^SLUICE_ERR_CLIENT_/);
  });

  test("abort rejects with the signal's reason", async () => {
    const s = session();
    const controller = new AbortController();
    const reason = new Error("abandon");
    const pending = s.fetch(`${base}/hang`, { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    await assert.rejects(within(pending, 5000, "abort"), (e) => e === reason);
    await until(() => s.connector.stats().inUse === 0, 2000, "inUse 0");
  });
});

describe("progress callbacks", () => {
  test("upload totals for bytes and for a stream", async () => {
    const s = session();
    const seen: Progress[] = [];
    const data = new Uint8Array(10_000).fill(98);
    await (await within(
      s.post(`${base}/u`, { data, onUploadProgress: (p) => seen.push(p) }),
      5000,
      "bytes",
    )).text();
    assert.ok(seen.length > 0);
    assert.deepEqual(seen.at(-1), { loaded: 10_000, total: 10_000 });
    seen.length = 0;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(300));
        c.enqueue(new Uint8Array(700));
        c.close();
      },
    });
    await (await within(
      s.post(`${base}/u`, { data: stream, onUploadProgress: (p) => seen.push(p) }),
      5000,
      "stream",
    )).text();
    assert.deepEqual(seen.at(-1), { loaded: 1000, total: null });
  });

  test("download totals with Content-Length", async () => {
    const s = session();
    const seen: Progress[] = [];
    const res = await within(
      s.get(`${base}/big`, { onDownloadProgress: (p) => seen.push(p) }),
      5000,
      "download",
    );
    assert.equal((await res.bytes()).length, 64 * 1024);
    assert.ok(seen.length > 0);
    assert.deepEqual(seen.at(-1), { loaded: 64 * 1024, total: 64 * 1024 });
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].loaded > seen[i - 1].loaded);
  });
});
