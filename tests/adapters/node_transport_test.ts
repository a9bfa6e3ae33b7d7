import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { connect as connectTls, type TLSSocket } from "node:tls";
import { fileURLToPath } from "node:url";
import {
  type Conn,
  type Listener,
  ListenError,
  type ListenOptions,
  nodeTransport,
  SluiceError,
} from "../../adapters/node.ts";
import {
  ConnQueue,
  dial,
  pattern,
  portOf,
  readToEnd,
  Recorder,
  sameBytes,
  sleep,
  socketClosed,
  str,
  text,
  until,
  watched,
  within,
} from "./_net.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(HERE, "..", "_fixtures", "tls");
const CERT = readFileSync(join(FIXTURES, "cert.pem"), "utf8");
const KEY = readFileSync(join(FIXTURES, "key.pem"), "utf8");
const KiB = 1024;
const MiB = 1024 * KiB;

const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

// Everything a test opens, closed in after() even when the test failed.
const listeners: Listener[] = [];
const sockets: Socket[] = [];
const servers: Server[] = [];
const children: ChildProcess[] = [];
const tempDir = mkdtempSync(join(tmpdir(), "sluice-adapters-"));

after(async () => {
  for (const socket of sockets) socket.destroy();
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await Promise.all(listeners.map((l) => within(l.close(), 5000, "listener close")));
  await Promise.all(
    servers.map((s) => within(new Promise<void>((r) => s.close(() => r())), 5000, "close")),
  );
  rmSync(tempDir, { recursive: true, force: true });
});

async function listen(options: ListenOptions, onError?: (error: Error) => void) {
  const queue = new ConnQueue();
  const listener = await nodeTransport.listen(options, queue.push, onError);
  listeners.push(listener);
  return { listener, queue };
}

async function client(to: number | string, host?: string): Promise<Socket> {
  const socket = await dial(to, host);
  sockets.push(socket);
  return socket;
}

/** Bytes a client receives until the server ends or the connection closes or breaks. */
function countUntilClosed(socket: Socket, ms: number): Promise<number> {
  let count = 0;
  socket.on("data", (chunk: Uint8Array) => (count += chunk.length));
  socket.on("end", () => socket.end());
  socket.on("error", () => {});
  return within(new Promise((resolve) => socket.once("close", () => resolve(count))), ms, "close");
}

/** Starts an echo on `conn`: every chunk is written back, the peer's EOF ends our side. */
function echo(raw: Conn): Recorder {
  const rec = new Recorder();
  const conn = watched(raw, rec);
  rec.onData = (chunk) => conn.write(chunk);
  rec.onEnd = () => conn.end();
  conn.start(rec);
  return rec;
}

function uniquePath(name: string): string {
  return join(tempDir, `${name}-${Math.random().toString(36).slice(2, 8)}.sock`);
}

describe("nodeTransport over TCP", () => {
  test("listen() on port 0 reports the real port; connections report both addresses", async () => {
    const { listener, queue } = await listen({ hostname: "127.0.0.1", port: 0 });
    const port = portOf(listener);
    assert.ok(port > 0);
    assert.deepEqual(listener.address, {
      transport: "tcp",
      hostname: "127.0.0.1",
      port,
      family: "IPv4",
    });
    const socket = await client(port);
    const conn = await queue.next();
    assert.deepEqual(conn.localAddress, listener.address);
    assert.deepEqual(conn.remoteAddress, {
      transport: "tcp",
      hostname: "127.0.0.1",
      port: socket.localPort,
      family: "IPv4",
    });
    assert.equal(conn.tls, null);
    conn.destroy();
  });

  test("listen() on ::1 reports an IPv6 address", async (t) => {
    let listener: Listener, queue: ConnQueue;
    try {
      ({ listener, queue } = await listen({ hostname: "::1", port: 0 }));
    } catch (error) {
      if (error instanceof ListenError && error.syscallCode === "EADDRNOTAVAIL") {
        t.skip("this host has no IPv6 loopback");
        return;
      }
      throw error;
    }
    assert.deepEqual(listener.address, {
      transport: "tcp",
      hostname: "::1",
      port: portOf(listener),
      family: "IPv6",
    });
    await client(portOf(listener), "::1");
    const conn = await queue.next();
    assert.equal(conn.remoteAddress.transport === "tcp" && conn.remoteAddress.family, "IPv6");
    conn.destroy();
  });

  test("Conn echoes bytes, reports the peer's EOF with end(), and may still write after it", async () => {
    const { listener, queue } = await listen({ hostname: "127.0.0.1", port: 0 });
    const socket = await client(portOf(listener));
    const rec = new Recorder();
    const conn = watched(await queue.next(), rec);
    conn.setNoDelay(true);
    rec.onData = (chunk) => conn.write(chunk);
    rec.onEnd = () => {
      conn.write(text(" and goodbye"));
      conn.end();
    };
    conn.start(rec);
    const reply = readToEnd(socket);
    socket.end("hello");
    assert.equal(str(await reply), "hello and goodbye");
    assert.equal(await within(rec.closed, 5000, "close()"), null);
    assert.ok(rec.ended);
    assert.deepEqual(rec.violations, []);
  });

  test("Conn.start() loses nothing sent before it; write() works before it; start() twice throws", async () => {
    const { listener, queue } = await listen({ hostname: "127.0.0.1", port: 0 });
    const socket = await client(portOf(listener));
    socket.write("early bytes");
    const conn = await queue.next();
    conn.write(text("greeting "));
    await sleep(100);
    const rec = echo(conn);
    assert.throws(() => conn.start(new Recorder()), TypeError);
    const reply = readToEnd(socket);
    await until(() => rec.bytes === 11, 5000, "the early bytes");
    socket.end();
    assert.equal(str(await reply), "greeting early bytes");
    assert.equal(await within(rec.closed, 5000, "close()"), null);
    assert.deepEqual(rec.violations, []);
  });

  test("Conn.start() on a connection destroyed before it reports close() afterwards, not inside start()", async () => {
    const { listener, queue } = await listen({ hostname: "127.0.0.1", port: 0 });
    await client(portOf(listener));
    const conn = await queue.next();
    conn.destroy();
    await sleep(50);
    const rec = new Recorder();
    conn.start(rec);
    assert.equal(rec.closes, 0);
    assert.equal(await within(rec.closed, 5000, "close()"), null);
    assert.equal(conn.write(text("x")), false);
    assert.deepEqual(rec.violations, []);
  });

  test("Conn.write() returns false to a peer that does not read, and drain() fires once it reads", async () => {
    const { listener, queue } = await listen({ hostname: "127.0.0.1", port: 0 });
    const socket = await client(portOf(listener));
    socket.pause();
    const rec = new Recorder();
    const conn = watched(await queue.next(), rec);
    conn.start(rec);
    const chunk = pattern(64 * KiB);
    let written = 0;
    let stuck = false;
    // Write until the kernel's buffers are full: write() says false and no drain() comes.
    while (written < 512 * MiB) {
      let below = true;
      while (below) {
        below = conn.write(chunk);
        written += chunk.length;
      }
      const drains = rec.drains;
      try {
        await until(() => rec.drains > drains, 300, "drain()");
      } catch {
        stuck = true;
        break;
      }
    }
    assert.ok(stuck, `the socket took all ${written} bytes`);
    assert.ok(conn.bufferedAmount > 0);
    const drains = rec.drains;
    const count = countUntilClosed(socket, 30_000);
    socket.resume();
    await until(() => rec.drains > drains, 10_000, "drain() after the peer reads");
    assert.equal(conn.bufferedAmount, 0);
    conn.end();
    assert.equal(await count, written);
    assert.equal(await within(rec.closed, 5000, "close()"), null);
    assert.deepEqual(rec.violations, []);
  });

  test("Conn.pause() stops data() and resume() restarts it with no byte lost (4 MiB)", async () => {
    const { listener, queue } = await listen({ hostname: "127.0.0.1", port: 0 });
    const socket = await client(portOf(listener));
    const rec = new Recorder();
    const conn = watched(await queue.next(), rec);
    let pausedAt = -1;
    rec.onData = () => {
      if (pausedAt < 0) {
        conn.pause();
        pausedAt = rec.bytes;
      }
    };
    rec.onEnd = () => conn.end();
    conn.start(rec);
    const payload = pattern(4 * MiB);
    socket.write(payload);
    socket.end();
    const closed = socketClosed(socket, 20_000);
    socket.resume();
    await until(() => pausedAt >= 0, 5000, "the first chunk");
    await sleep(300);
    assert.equal(rec.bytes, pausedAt, "data() while paused");
    assert.ok(!rec.ended, "end() while paused");
    assert.ok(rec.bytes < payload.length);
    conn.resume();
    await within(rec.closed, 20_000, "close()");
    await closed;
    assert.equal(rec.bytes, payload.length);
    assert.ok(sameBytes(rec.received(), payload), "the bytes differ from those sent");
    assert.deepEqual(rec.violations, []);
  });

  test("Conn.pause() in every data() and resume() on a timer lose nothing (4 MiB)", async () => {
    const { listener, queue } = await listen({ hostname: "127.0.0.1", port: 0 });
    const socket = await client(portOf(listener));
    const rec = new Recorder();
    const conn = watched(await queue.next(), rec);
    let paused = false;
    let pauses = 0;
    rec.onData = () => {
      if (paused) rec.violations.push("data() while paused");
      paused = true;
      pauses++;
      conn.pause();
      setTimeout(() => {
        paused = false;
        conn.resume();
      }, 0);
    };
    rec.onEnd = () => conn.end();
    conn.start(rec);
    const payload = pattern(4 * MiB);
    socket.end(payload);
    socket.resume();
    await within(rec.closed, 30_000, "close()");
    assert.equal(rec.bytes, payload.length);
    assert.ok(sameBytes(rec.received(), payload), "the bytes differ from those sent");
    assert.ok(pauses > 1);
    assert.deepEqual(rec.violations, []);
  });

  test("Conn.pause() before start() keeps data() from coming until resume()", async () => {
    const { listener, queue } = await listen({ hostname: "127.0.0.1", port: 0 });
    const socket = await client(portOf(listener));
    const conn = await queue.next();
    conn.pause();
    const rec = echo(conn);
    socket.write("waiting");
    await sleep(200);
    assert.equal(rec.bytes, 0);
    const reply = readToEnd(socket);
    conn.resume();
    socket.end();
    assert.equal(str(await reply), "waiting");
    assert.equal(await within(rec.closed, 5000, "close()"), null);
  });

  test("Conn.end() sends everything queued before closing (8 MiB to a slow reader)", async () => {
    const { listener, queue } = await listen({ hostname: "127.0.0.1", port: 0 });
    const socket = await client(portOf(listener));
    socket.pause();
    const rec = new Recorder();
    const conn = watched(await queue.next(), rec);
    conn.start(rec);
    const payload = pattern(8 * MiB);
    for (let at = 0; at < payload.length; at += 64 * KiB) {
      conn.write(payload.subarray(at, at + 64 * KiB));
    }
    conn.end();
    assert.ok(conn.bufferedAmount > 0, "nothing was queued");
    assert.equal(conn.write(text("after end")), false);
    await sleep(200);
    const reply = readToEnd(socket, 30_000);
    socket.resume();
    const got = await reply;
    assert.equal(got.length, payload.length);
    assert.ok(sameBytes(got, payload), "the bytes differ from those sent");
    assert.equal(await within(rec.closed, 5000, "close()"), null);
    assert.deepEqual(rec.violations, []);
  });

  test("Conn.destroy() closes at once, drops what is queued and reports close(null) once", async () => {
    const { listener, queue } = await listen({ hostname: "127.0.0.1", port: 0 });
    const socket = await client(portOf(listener));
    socket.pause();
    const rec = new Recorder();
    const conn = watched(await queue.next(), rec);
    conn.start(rec);
    const chunk = pattern(64 * KiB);
    const total = 32 * MiB;
    for (let at = 0; at < total; at += chunk.length) conn.write(chunk);
    const count = countUntilClosed(socket, 20_000);
    conn.destroy();
    conn.destroy();
    assert.equal(conn.write(chunk), false);
    assert.equal(await within(rec.closed, 2000, "close()"), null);
    socket.resume();
    assert.ok(await count < total, "every byte arrived");
    await sleep(50);
    assert.equal(rec.closes, 1);
    assert.equal(conn.bufferedAmount, 0);
    assert.deepEqual(rec.violations, []);
  });

  test("Conn.destroy(error) reports that error to close(), once", async () => {
    const { listener, queue } = await listen({ hostname: "127.0.0.1", port: 0 });
    const socket = await client(portOf(listener));
    const rec = new Recorder();
    const conn = watched(await queue.next(), rec);
    conn.start(rec);
    const closed = countUntilClosed(socket, 5000);
    const reason = new Error("idle timeout");
    conn.destroy(reason);
    assert.equal(await within(rec.closed, 2000, "close()"), reason);
    await closed;
    await sleep(50);
    assert.equal(rec.closes, 1);
  });

  test("Conn reports a peer's reset to close() with ECONNRESET or EPIPE", async () => {
    const { listener, queue } = await listen({ hostname: "127.0.0.1", port: 0 });
    const socket = await client(portOf(listener));
    socket.pause();
    const rec = new Recorder();
    const conn = watched(await queue.next(), rec);
    conn.start(rec);
    // Unread bytes in the client's receive buffer make its close a reset (RST).
    conn.write(pattern(MiB));
    await sleep(100);
    socket.on("error", () => {});
    socket.destroy();
    const error = await within(rec.closed, 5000, "close()");
    assert.ok(error instanceof Error, "close() without an error");
    assert.ok(
      ["ECONNRESET", "EPIPE"].includes((error as NodeJS.ErrnoException).code ?? ""),
      `code ${(error as NodeJS.ErrnoException).code}`,
    );
    await sleep(50);
    assert.equal(rec.closes, 1);
    assert.deepEqual(rec.violations, []);
  });

  test("Conn destroys itself and reports the error when a callback throws", async () => {
    const { listener, queue } = await listen({ hostname: "127.0.0.1", port: 0 });
    const socket = await client(portOf(listener));
    const rec = new Recorder();
    const conn = watched(await queue.next(), rec);
    const boom = new Error("boom");
    rec.onData = () => {
      throw boom;
    };
    conn.start(rec);
    const closed = countUntilClosed(socket, 5000);
    socket.write("x");
    assert.equal(await within(rec.closed, 5000, "close()"), boom);
    await closed;
  });

  test("Listener.close() stops accepting while an accepted connection keeps working", async () => {
    const { listener, queue } = await listen({ hostname: "127.0.0.1", port: 0 });
    const port = portOf(listener);
    const socket = await client(port);
    const conn = await queue.next();
    const rec = echo(conn);
    await within(listener.close(), 2000, "Listener.close()");
    await listener.close();
    await assert.rejects(dial(port), (error: NodeJS.ErrnoException) => {
      return error.code === "ECONNREFUSED";
    });
    const reply = readToEnd(socket);
    socket.end("still here");
    assert.equal(str(await reply), "still here");
    assert.equal(await within(rec.closed, 5000, "close()"), null);
  });

  test("listen() on a port in use rejects with ListenError SLUICE_ERR_LISTEN, EADDRINUSE", async () => {
    const { listener } = await listen({ hostname: "127.0.0.1", port: 0 });
    const port = portOf(listener);
    const error = await nodeTransport.listen({ hostname: "127.0.0.1", port }, () => {}).then(
      () => assert.fail("listened twice on one port"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ListenError);
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, "SLUICE_ERR_LISTEN");
    assert.equal(error.syscallCode, "EADDRINUSE");
    assert.equal(error.address, `127.0.0.1:${port}`);
    assert.match(error.message, new RegExp(`^Cannot listen on 127\\.0\\.0\\.1:${port}: `));
  });

  // Deno's node:net reports every bind failure but EADDRINUSE as EINVAL.
  const notAvailable = runtime === "deno" ? "EINVAL" : "EADDRNOTAVAIL";
  test(`listen() on an address this host does not have rejects with ${notAvailable}`, async () => {
    await assert.rejects(
      nodeTransport.listen({ hostname: "192.0.2.1", port: 0 }, () => {}),
      (error: unknown) =>
        error instanceof ListenError && error.code === "SLUICE_ERR_LISTEN" &&
        error.syscallCode === notAvailable && error.message.includes("192.0.2.1:0"),
    );
  });

  test("listen() rejects contradicting or malformed options with TypeError or RangeError", async () => {
    const cases: [ListenOptions, typeof TypeError | typeof RangeError][] = [
      [{ path: join(tempDir, "x.sock"), port: 80 }, TypeError],
      [{ path: join(tempDir, "x.sock"), reusePort: true }, TypeError],
      [{ path: "" }, TypeError],
      [{ fd: 3, hostname: "127.0.0.1" }, TypeError],
      [{ fd: 3, reusePort: true }, TypeError],
      [{ fd: -1 }, RangeError],
      [{ port: 65536 }, RangeError],
      [{ port: 1.5 }, RangeError],
      [{ port: 0, backlog: 0 }, RangeError],
      [{ port: 0, tls: { cert: CERT } as { cert: string; key: string } }, TypeError],
    ];
    for (const [options, kind] of cases) {
      await assert.rejects(nodeTransport.listen(options, () => {}), kind, JSON.stringify(options));
    }
  });

  test("listen({ backlog }) is accepted", async () => {
    const { listener, queue } = await listen({ hostname: "127.0.0.1", port: 0, backlog: 8 });
    await client(portOf(listener));
    (await queue.next()).destroy();
  });
});

describe("nodeTransport reusePort", () => {
  const [major, minor] = process.versions.node.split(".").map(Number);
  const supported = runtime !== "node" || major > 23 || (major === 23 && minor >= 1) ||
    (major === 22 && minor >= 12);

  test(
    supported
      ? `listen({ reusePort }) lets two listeners share a port (${runtime} ${process.version})`
      : `listen({ reusePort }) rejects with SLUICE_ERR_LISTEN_UNSUPPORTED on Node ${process.version}`,
    async () => {
      const options = { hostname: "127.0.0.1", port: 0, reusePort: true };
      if (!supported) {
        await assert.rejects(
          nodeTransport.listen(options, () => {}),
          (error: unknown) =>
            error instanceof ListenError && error.code === "SLUICE_ERR_LISTEN_UNSUPPORTED" &&
            /reusePort/.test(error.message) && error.address === "127.0.0.1:0",
        );
        return;
      }
      const a = await listen(options);
      const port = portOf(a.listener);
      const b = await listen({ ...options, port });
      assert.equal(portOf(b.listener), port);
      // The kernel spreads connections over both (by a hash of the peer's port).
      for (let i = 0; i < 32; i++) (await client(port)).destroy();
      await until(() => a.queue.all.length + b.queue.all.length === 32, 5000, "32 accepts");
      assert.ok(a.queue.all.length > 0 && b.queue.all.length > 0, "one listener got all");
      for (const conn of [...a.queue.all, ...b.queue.all]) conn.destroy();
    },
  );
});

describe("nodeTransport over Unix sockets", () => {
  test("Conn echoes over a Unix socket; addresses name the path", async () => {
    const path = uniquePath("echo");
    const { listener, queue } = await listen({ path });
    assert.deepEqual(listener.address, { transport: "unix", path });
    assert.ok(statSync(path).isSocket());
    const socket = await client(path);
    const conn = await queue.next();
    conn.setNoDelay(true);
    assert.deepEqual(conn.localAddress, { transport: "unix", path });
    assert.deepEqual(conn.remoteAddress, { transport: "unix", path: "" });
    const rec = echo(conn);
    const reply = readToEnd(socket);
    socket.end(pattern(MiB));
    assert.ok(sameBytes(await reply, pattern(MiB)));
    assert.equal(await within(rec.closed, 5000, "close()"), null);
    assert.deepEqual(rec.violations, []);
  });

  test("Listener.close() removes the socket file", async () => {
    const path = uniquePath("remove");
    const { listener } = await listen({ path });
    await listener.close();
    assert.equal(existsSync(path), false);
  });

  test("listen({ path }) replaces a stale socket file that nothing accepts on", async () => {
    const path = uniquePath("stale");
    // A socket file whose listener is gone, as a crashed process leaves it.
    const bound = uniquePath("bound");
    const old = createNetServer();
    await within(new Promise<void>((r) => old.listen(bound, () => r())), 5000, "listen");
    renameSync(bound, path);
    await within(new Promise<void>((r) => old.close(() => r())), 5000, "close");
    assert.ok(statSync(path).isSocket());
    const { queue } = await listen({ path });
    const socket = await client(path);
    const rec = echo(await queue.next());
    const reply = readToEnd(socket);
    socket.end("fresh");
    assert.equal(str(await reply), "fresh");
    await within(rec.closed, 5000, "close()");
  });

  test("listen({ path }) leaves a live socket alone and rejects with EADDRINUSE", async () => {
    const path = uniquePath("live");
    const other = createNetServer((socket) => {
      socket.on("error", () => {});
      socket.end("other");
    });
    servers.push(other);
    await within(new Promise<void>((r) => other.listen(path, () => r())), 5000, "listen");
    await assert.rejects(
      nodeTransport.listen({ path }, () => {}),
      (error: unknown) =>
        error instanceof ListenError && error.syscallCode === "EADDRINUSE" &&
        error.address === `unix:${path}`,
    );
    const socket = await client(path);
    assert.equal(str(await readToEnd(socket)), "other");
  });

  test("listen({ path }) never deletes a regular file in the way", async () => {
    const path = uniquePath("regular");
    writeFileSync(path, "precious");
    await assert.rejects(
      nodeTransport.listen({ path }, () => {}),
      (error: unknown) =>
        error instanceof ListenError && error.code === "SLUICE_ERR_LISTEN" &&
        error.syscallCode === "EADDRINUSE" && /not a socket/.test(error.message),
    );
    assert.equal(readFileSync(path, "utf8"), "precious");
  });
});

describe("nodeTransport over TLS", () => {
  function tlsClient(port: number, options: Record<string, unknown> = {}): Promise<TLSSocket> {
    const socket = connectTls({
      port,
      host: "127.0.0.1",
      servername: "localhost",
      ca: CERT,
      ...options,
    });
    sockets.push(socket);
    return within(
      new Promise<TLSSocket>((resolve, reject) => {
        socket.once("secureConnect", () => resolve(socket));
        socket.once("error", reject);
      }),
      5000,
      "TLS handshake",
    );
  }

  test("Conn over TLS echoes and reports protocol, ALPN and server name", async () => {
    const { listener, queue } = await listen({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: CERT, key: text(KEY), alpnProtocols: ["h2", "http/1.1"] },
    });
    const socket = await tlsClient(portOf(listener), { ALPNProtocols: ["http/1.1"] });
    const conn = await queue.next();
    assert.ok(conn.tls !== null);
    assert.match(conn.tls.protocol ?? "", /^TLSv1\.[23]$/);
    assert.deepEqual(
      { ...conn.tls, protocol: null },
      { protocol: null, alpnProtocol: "http/1.1", servername: "localhost", authorized: false },
    );
    const rec = echo(conn);
    const reply = readToEnd(socket);
    socket.end(pattern(256 * KiB));
    assert.ok(sameBytes(await reply, pattern(256 * KiB)));
    assert.equal(await within(rec.closed, 5000, "close()"), null);
    assert.deepEqual(rec.violations, []);
  });

  test("Conn over TLS reports alpnProtocol null when the client offers none", async () => {
    const { listener, queue } = await listen({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: CERT, key: KEY, alpnProtocols: ["http/1.1"] },
    });
    await tlsClient(portOf(listener));
    const conn = await queue.next();
    assert.equal(conn.tls?.alpnProtocol, null);
    conn.destroy();
  });

  test("listen({ tls: { requestCert } }) reports whether the client certificate verified", async () => {
    const { listener, queue } = await listen({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: CERT, key: KEY, ca: CERT, requestCert: true },
    });
    await tlsClient(portOf(listener), { cert: CERT, key: KEY });
    const withCert = await queue.next();
    assert.equal(withCert.tls?.authorized, true);
    withCert.destroy();
    await tlsClient(portOf(listener));
    const without = await queue.next();
    assert.equal(without.tls?.authorized, false);
    without.destroy();
  });

  test("a failed TLS handshake goes to onError and the listener keeps serving", async () => {
    const errors: Error[] = [];
    const { listener, queue } = await listen(
      { hostname: "127.0.0.1", port: 0, tls: { cert: CERT, key: KEY } },
      (error) => errors.push(error),
    );
    const plain = await client(portOf(listener));
    const closed = countUntilClosed(plain, 5000);
    plain.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await closed;
    await until(() => errors.length > 0, 5000, "onError");
    assert.ok(errors[0] instanceof Error);
    assert.equal(queue.all.length, 0);
    await tlsClient(portOf(listener));
    (await queue.next()).destroy();
  });
});

describe("nodeTransport adopting a listening socket", () => {
  // A small Node program binds the socket and starts this runtime on
  // _fd_child.ts with it as fd 3, as systemd socket activation would. A Unix
  // socket file is renamed away while the program closes its own copy, since
  // closing one unlinks the path.
  const provider = `
    const fs = require("node:fs");
    const net = require("node:net");
    const { spawn } = require("node:child_process");
    const [command, ...args] = JSON.parse(process.env.SLUICE_FD_CHILD);
    const path = process.env.SLUICE_FD_PATH;
    const server = net.createServer();
    server.listen(...(path ? [path] : [0, "127.0.0.1"]), () => {
      const child = spawn(command, args, { stdio: ["inherit", "inherit", "inherit", server._handle.fd] });
      if (path) fs.renameSync(path, path + ".away");
      server.close();
      if (path) fs.renameSync(path + ".away", path);
      child.on("exit", (code) => process.exit(code ?? 1));
    });`;

  /** Runs _fd_child.ts on an inherited socket; null when no Node binary can hand it over. */
  async function adoptInChild(path: string | null) {
    const helper = join(HERE, "_fd_child.ts");
    const command = runtime === "deno"
      ? [process.execPath, "run", "-A", helper]
      : runtime === "bun"
      ? [process.execPath, helper]
      : [process.execPath, ...process.execArgv.filter((a) => !a.startsWith("--test")), helper];
    const child = spawn(runtime === "node" ? process.execPath : "node", ["-e", provider], {
      env: {
        ...process.env,
        SLUICE_FD_CHILD: JSON.stringify(command),
        ...(path ? { SLUICE_FD_PATH: path } : {}),
      },
      stdio: ["pipe", "pipe", "inherit"],
    });
    children.push(child);
    const spawnError = await within(
      new Promise<Error | null>((resolve) => {
        child.once("spawn", () => resolve(null));
        child.once("error", resolve);
      }),
      5000,
      "spawn",
    );
    if (spawnError !== null) return { child, spawnError, line: () => Promise.resolve("") };
    let out = "";
    let exited = false;
    child.stdout!.on("data", (chunk: Uint8Array) => (out += str(chunk)));
    child.once("exit", () => (exited = true));
    /** The next line the child prints (within 20 s). */
    const line = async () => {
      await until(() => out.includes("\n") || exited, 20_000, "a line from the child");
      const at = out.indexOf("\n");
      const first = at < 0 ? out : out.slice(0, at);
      out = at < 0 ? "" : out.slice(at + 1);
      return first;
    };
    return { child, spawnError, line };
  }

  async function stopChild(child: ChildProcess): Promise<void> {
    const exited = within(new Promise((r) => child.once("exit", r)), 10_000, "child exit");
    child.stdin!.end();
    assert.equal(await exited, 0);
  }

  test("listen({ fd }) adopts a TCP socket inherited from the parent process", async (t) => {
    const { child, spawnError, line } = await adoptInChild(null);
    if (spawnError !== null) {
      t.skip(`no Node binary on PATH to hand a listening socket over (${spawnError.message})`);
      return;
    }
    const first = await line();
    const reply = JSON.parse(first);
    assert.equal(reply.error, undefined, `the child failed: ${first}`);
    assert.equal(reply.address.transport, "tcp");
    assert.equal(reply.address.hostname, "127.0.0.1");
    const socket = await client(reply.address.port);
    const clientPort = socket.localPort;
    const echoed = readToEnd(socket);
    socket.end("through an adopted socket");
    assert.equal(str(await echoed), "through an adopted socket");
    const conn = JSON.parse(await line());
    assert.deepEqual(conn.localAddress, reply.address);
    assert.equal(conn.remoteAddress.port, clientPort);
    await stopChild(child);
  });

  test("listen({ fd }) adopts a Unix socket; its path reads as an empty string", async (t) => {
    const path = uniquePath("adopted");
    const { child, spawnError, line } = await adoptInChild(path);
    if (spawnError !== null) {
      t.skip(`no Node binary on PATH to hand a listening socket over (${spawnError.message})`);
      return;
    }
    const first = await line();
    const reply = JSON.parse(first);
    assert.equal(reply.error, undefined, `the child failed: ${first}`);
    assert.deepEqual(reply.address, { transport: "unix", path: "" });
    const socket = await client(path);
    const echoed = readToEnd(socket);
    socket.end("through an adopted Unix socket");
    assert.equal(str(await echoed), "through an adopted Unix socket");
    assert.deepEqual(JSON.parse(await line()), {
      localAddress: { transport: "unix", path: "" },
      remoteAddress: { transport: "unix", path: "" },
    });
    await stopChild(child);
  });

  test("listen({ fd }) on a descriptor that is not a listening socket rejects with ListenError", async () => {
    await assert.rejects(
      nodeTransport.listen({ fd: 99_999 }, () => {}),
      (error: unknown) =>
        error instanceof ListenError && error.code === "SLUICE_ERR_LISTEN" &&
        error.syscallCode === "EINVAL" && error.address === "fd 99999",
    );
  });
});
