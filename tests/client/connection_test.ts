// ClientConnection: one HTTP/1.1 connection of the client, against Sluice's
// own server and a raw node:net server for broken and edge-case responses.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { defaultClientTransport } from "../../adapters/connect.ts";
import { ClientConnection, type ConnectionRequest } from "../../client/_connection.ts";
import { ConnectionClosedError } from "../../client/_connection_errors.ts";
import { ClientPayloadError } from "../../client/errors.ts";
import { serve, type ServerHandle } from "../../server/run_app.ts";
import { concat, pattern, sameBytes, sleep, str, text, until, within } from "../adapters/_net.ts";

const connections: ClientConnection[] = [];
const sockets: Socket[] = [];
const handles: ServerHandle[] = [];
const servers: Server[] = [];

after(async () => {
  for (const c of connections) c.close().catch(() => {});
  for (const s of sockets) s.destroy();
  await Promise.all(connections.map((c) => within(c.closed, 5000, "connection close")));
  await Promise.all(handles.map((h) => within(h.shutdown().catch(() => {}), 10_000, "shutdown")));
  await Promise.all(
    servers.map((s) => within(new Promise<void>((r) => s.close(() => r())), 5000, "close")),
  );
});

async function dial(port: number, onIdle?: () => void): Promise<ClientConnection> {
  const conn = await within(
    defaultClientTransport().connect({ hostname: "127.0.0.1", port }),
    5000,
    "connect",
  );
  const connection = new ClientConnection(conn, { onIdle });
  connections.push(connection);
  return connection;
}

async function readAll(body: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  const reader = body.getReader();
  const read = async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      chunks.push(value);
    }
  };
  await within(read(), 10_000, "body");
  return concat(chunks);
}

function get(target: string, extra: Partial<ConnectionRequest> = {}): ConnectionRequest {
  return { method: "GET", target, headers: [["host", "127.0.0.1"]], ...extra };
}

function streamOf(parts: Uint8Array[], delayMs = 0): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    async pull(controller) {
      if (delayMs > 0) await sleep(delayMs);
      if (i < parts.length) controller.enqueue(parts[i++]);
      else controller.close();
    },
  });
}

const BIG = pattern(1024 * 1024) as Uint8Array<ArrayBuffer>;

/** Client ports seen by the Sluice server: one per connection. */
const ports = new Set<number>();
let started: Promise<number> | null = null;

/** Starts Sluice's server on first use (describe callbacks must register tests synchronously on Deno). */
function sluicePort(): Promise<number> {
  started ??= startSluice();
  return started;
}

async function startSluice(): Promise<number> {
  const server = await serve(async (request, info) => {
    if (info.remoteAddress.transport === "tcp") ports.add(info.remoteAddress.port);
    const path = new URL(request.url).pathname;
    if (path === "/echo") {
      const body = new Uint8Array(await request.arrayBuffer());
      return new Response(body, { headers: { "x-length": String(body.length) } });
    }
    if (path === "/204") return new Response(null, { status: 204 });
    if (path === "/chunked") {
      return new Response(streamOf([text("one,"), text("two,"), text("three")], 5));
    }
    if (path === "/big") return new Response(BIG);
    return new Response(`hello ${request.method}`, { headers: { "x-method": request.method } });
  }, { hostname: "127.0.0.1", port: 0, engine: "sluice" });
  handles.push(server);
  return Number(new URL(server.url).port);
}

describe("ClientConnection against Sluice's server", () => {
  test("GET, then two more requests reuse the same connection", async () => {
    ports.clear();
    let idles = 0;
    const c = await dial(await sluicePort(), () => idles++);
    for (let i = 0; i < 3; i++) {
      const res = await within(c.request(get("/hello")), 5000, "head");
      assert.equal(res.status, 200);
      assert.equal(res.httpVersion, "1.1");
      assert.equal(res.headers.get("x-method"), "GET");
      assert.equal(str(await readAll(res.body)), "hello GET");
      await until(() => c.reusable, 2000, "reusable");
    }
    assert.equal(c.requests, 3);
    assert.equal(ports.size, 1);
    await until(() => idles === 3, 2000, "three onIdle calls");
  });

  test("POST with a fixed body and with a streamed (chunked) body", async () => {
    const c = await dial(await sluicePort());
    const fixed = pattern(100_000);
    const res = await c.request({ ...get("/echo"), method: "POST", body: fixed });
    assert.ok(sameBytes(await readAll(res.body), fixed));
    await until(() => c.reusable, 2000, "reusable");
    const parts = [text("a".repeat(10)), pattern(70_000), text("end")];
    const res2 = await c.request({ ...get("/echo"), method: "POST", body: streamOf(parts) });
    assert.equal(res2.headers.get("x-length"), String(70_013));
    assert.ok(sameBytes(await readAll(res2.body), concat(parts)));
    await until(() => c.reusable, 2000, "reusable");
    const res3 = await c.request({
      ...get("/echo"),
      method: "POST",
      body: streamOf([text("abc"), text("de")]),
      contentLength: 5,
    });
    assert.equal(str(await readAll(res3.body)), "abcde");
  });

  test("a stream body shorter than contentLength fails with LENGTH_MISMATCH", async () => {
    const c = await dial(await sluicePort());
    await assert.rejects(
      within(
        c.request({
          ...get("/echo"),
          method: "POST",
          body: streamOf([text("abc")]),
          contentLength: 5,
        }),
        5000,
        "request",
      ),
      (err: unknown) =>
        err instanceof ClientPayloadError &&
        err.code === "SLUICE_ERR_CLIENT_PAYLOAD_LENGTH_MISMATCH",
    );
    await within(c.closed, 5000, "closed");
  });

  test("HEAD and 204 have no body and keep the connection", async () => {
    const c = await dial(await sluicePort());
    const head = await c.request(get("/hello", { method: "HEAD" }));
    assert.equal(head.status, 200);
    assert.equal(head.body, null);
    assert.ok(c.reusable);
    const none = await c.request(get("/204"));
    assert.equal(none.status, 204);
    assert.equal(none.body, null);
    assert.ok(c.reusable);
  });

  test("a chunked response, and a 1 MiB body read slowly", async () => {
    const c = await dial(await sluicePort());
    const res = await c.request(get("/chunked"));
    assert.equal(res.headers.get("transfer-encoding"), "chunked");
    assert.equal(str(await readAll(res.body)), "one,two,three");
    await until(() => c.reusable, 2000, "reusable");
    const big = await c.request(get("/big"));
    const reader = big.body!.getReader();
    const first = await within(reader.read(), 5000, "first chunk");
    await sleep(100); // nothing read meanwhile: the connection is paused
    const chunks = [first.value!];
    for (;;) {
      const { done, value } = await within(reader.read(), 5000, "chunk");
      if (done) break;
      chunks.push(value);
    }
    assert.ok(sameBytes(concat(chunks), BIG));
    await until(() => c.reusable, 2000, "reusable after 1 MiB");
  });

  test("a second concurrent request is refused with TypeError", async () => {
    const c = await dial(await sluicePort());
    const first = c.request(get("/hello"));
    await assert.rejects(c.request(get("/hello")), TypeError);
    const res = await first;
    assert.equal(str(await readAll(res.body)), "hello GET");
  });
});

/** A raw server: each connection's first request head goes to `script`. */
async function rawServer(
  script: (socket: Socket, head: string) => void,
): Promise<{ port: number; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.push(socket);
    let buffered = "";
    socket.on("error", () => {});
    socket.on("data", (chunk) => {
      buffered += chunk.toString("latin1");
      let at: number;
      while ((at = buffered.indexOf("\r\n\r\n")) !== -1) {
        const head = buffered.slice(0, at);
        buffered = buffered.slice(at + 4);
        script(socket, head);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    accepted: () => accepted,
  };
}

const isCode = (code: string) => (err: unknown) =>
  err instanceof ClientPayloadError && err.code === code;

describe("ClientConnection against a raw server", () => {
  test("a malformed head rejects with a payload error", async () => {
    const { port } = await rawServer((s) => s.write("HTTP/1.1 2x0 OK\r\n\r\n"));
    const c = await dial(port);
    await assert.rejects(
      within(c.request(get("/")), 5000, "request"),
      isCode("SLUICE_ERR_CLIENT_PAYLOAD_MALFORMED"),
    );
    await within(c.closed, 5000, "closed");
  });

  test("a truncated body errors the stream with TRUNCATED", async () => {
    const { port } = await rawServer((s) =>
      s.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    );
    const c = await dial(port);
    const res = await within(c.request(get("/")), 5000, "head");
    await assert.rejects(readAll(res.body), isCode("SLUICE_ERR_CLIENT_PAYLOAD_TRUNCATED"));
    assert.equal(c.reusable, false);
  });

  test("bad chunking errors the stream with BAD_CHUNKING", async () => {
    const { port } = await rawServer((s) =>
      s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n")
    );
    const c = await dial(port);
    const res = await within(c.request(get("/")), 5000, "head");
    await assert.rejects(readAll(res.body), isCode("SLUICE_ERR_CLIENT_PAYLOAD_BAD_CHUNKING"));
    await within(c.closed, 5000, "closed");
  });

  test("a close before any response byte is CLOSED with beforeAnyByte", async () => {
    const { port } = await rawServer((s) => s.end());
    const c = await dial(port);
    await assert.rejects(within(c.request(get("/")), 5000, "request"), (err: unknown) => {
      assert.ok(err instanceof ConnectionClosedError);
      assert.equal(err.code, "SLUICE_ERR_CLIENT_CONNECTION_CLOSED");
      assert.equal(err.beforeAnyByte, true);
      return true;
    });
    const { port: port2 } = await rawServer((s) => s.end("HTTP/1.1 200 OK\r\nConte"));
    const c2 = await dial(port2);
    await assert.rejects(within(c2.request(get("/")), 5000, "request"), (err: unknown) => {
      assert.ok(err instanceof ConnectionClosedError);
      assert.equal(err.beforeAnyByte, false);
      return true;
    });
  });

  test("Connection: close and close-delimited HTTP/1.0 bodies are not reusable", async () => {
    const { port } = await rawServer((s, head) => {
      if (head.startsWith("GET /close")) {
        s.write("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
      } else if (head.startsWith("GET /ka10")) {
        s.write(
          "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5, max=9\r\nContent-Length: 2\r\n\r\nok",
        );
      } else {
        s.end("HTTP/1.0 200 OK\r\n\r\nuntil close");
      }
    });
    const c = await dial(port);
    const res = await c.request(get("/close"));
    assert.equal(str(await readAll(res.body)), "ok");
    assert.equal(c.reusable, false);
    await within(c.closed, 5000, "closed");

    const c2 = await dial(port);
    const res2 = await c2.request(get("/ka10"));
    assert.equal(res2.httpVersion, "1.0");
    assert.equal(str(await readAll(res2.body)), "ok");
    assert.equal(c2.reusable, true);
    assert.equal(c2.keepAliveHint, 5000);
    const res3 = await c2.request(get("/plain"));
    assert.equal(str(await readAll(res3.body)), "until close");
    assert.equal(c2.reusable, false);
    await within(c2.closed, 5000, "closed");
  });

  test("a request with Connection: close leaves the connection unusable", async () => {
    const { port } = await rawServer((s) =>
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    );
    const c = await dial(port);
    const res = await c.request({ ...get("/"), headers: [["host", "x"], ["connection", "close"]] });
    assert.equal(str(await readAll(res.body)), "");
    assert.equal(c.reusable, false);
    await within(c.closed, 5000, "closed");
  });

  test("interim 100 and 103 heads are skipped", async () => {
    const { port } = await rawServer((s) =>
      s.write(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" +
          "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone",
      )
    );
    const c = await dial(port);
    const res = await within(c.request(get("/")), 5000, "head");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("link"), null);
    assert.equal(str(await readAll(res.body)), "done");
    assert.ok(c.reusable);
  });

  test("a server closing an idle connection marks it dead", async () => {
    const { port } = await rawServer((s) => {
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      setTimeout(() => s.end(), 30);
    });
    const c = await dial(port);
    const res = await c.request(get("/"));
    assert.equal(str(await readAll(res.body)), "ok");
    assert.ok(c.reusable);
    await within(c.closed, 5000, "closed while idle");
    assert.equal(c.isClosed, true);
    assert.equal(c.reusable, false);
    await assert.rejects(c.request(get("/")), ConnectionClosedError);
  });

  test("an early 413 stops the upload and keeps the response", async () => {
    const { port } = await rawServer((s) =>
      s.write("HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbig")
    );
    const c = await dial(port);
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await sleep(5);
        controller.enqueue(pattern(1000));
      },
      cancel() {
        cancelled = true;
      },
    });
    const res = await within(
      c.request({ ...get("/"), method: "POST", body: endless }),
      5000,
      "head",
    );
    assert.equal(res.status, 413);
    assert.equal(str(await readAll(res.body)), "big");
    await until(() => cancelled, 2000, "upload cancelled");
    await within(c.closed, 5000, "closed");
  });

  test("abort rejects with the reason and destroys the connection", async () => {
    const { port } = await rawServer(() => {});
    const c = await dial(port);
    const ac = new AbortController();
    const pending = c.request(get("/", { signal: ac.signal }));
    setTimeout(() => ac.abort(new Error("stop")), 20);
    await assert.rejects(within(pending, 5000, "request"), /stop/);
    await within(c.closed, 5000, "closed");
  });

  test("a released or cancelled body whose rest never comes: closed after a bounded wait", async () => {
    const { port, accepted } = await rawServer((s) => {
      // 10 of 1000 bytes, then nothing: the server stalls.
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789`);
    });
    for (const how of ["release", "cancel"] as const) {
      const c = await dial(port);
      const res = await within(c.request(get(`/${how}`)), 5000, "head");
      const reader = res.body!.getReader();
      const { value } = await within(reader.read(), 5000, "first bytes");
      assert.equal(new TextDecoder().decode(value), "0123456789");
      if (how === "release") c.release();
      else await reader.cancel();
      assert.equal(c.isClosed, false, "closed at once: the drain was not tried");
      await within(c.closed, 3000, `closed after ${how}`);
    }
    assert.equal(accepted(), 2);
  });

  test("release() drains a small remainder and keeps the connection", async () => {
    const { port } = await rawServer((s, head) => {
      const size = head.startsWith("GET /small") ? 1000 : 500_000;
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`);
      setTimeout(() => s.write(Buffer.alloc(size, 97)), 20);
    });
    const c = await dial(port);
    const res = await c.request(get("/small"));
    assert.equal(res.status, 200);
    c.release();
    await until(() => c.reusable, 2000, "reusable after release");
    const res2 = await c.request(get("/large"));
    assert.equal(res2.status, 200);
    c.release();
    await within(c.closed, 5000, "closed after releasing a large body");
  });
});
