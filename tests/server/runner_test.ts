// AppRunner and its sites over real sockets, with the default backend of the
// runtime the test runs on (the raw engine on Node, Deno.serve / Bun.serve on
// Deno and Bun).

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListenError } from "../../adapters/transport.ts";
import { LifecycleError } from "../../server/lifecycle.ts";
import { AppRunner, SockSite, TCPSite, UnixSite } from "../../server/runner.ts";
import type { AccessLogEntry, ServerApp } from "../../server/types.ts";
import { dial, readToEnd, str, until, within } from "../adapters/_net.ts";

const tempDir = mkdtempSync(join(tmpdir(), "sluice-runner-"));
const runners: AppRunner[] = [];
const sockets: Socket[] = [];
const servers: Server[] = [];
let pathCount = 0;

after(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(runners.map((r) => within(r.cleanup().catch(() => {}), 15_000, "cleanup")));
  await Promise.all(
    servers.map((s) => within(new Promise<void>((r) => s.close(() => r())), 5000, "close")),
  );
  rmSync(tempDir, { recursive: true, force: true });
});

function runnerFor(app: ServerApp | ((request: Request) => Response), options = {}): AppRunner {
  const runner = new AppRunner(app, { shutdownTimeout: 10_000, ...options });
  runners.push(runner);
  return runner;
}

function socketPath(): string {
  return join(tempDir, `s${++pathCount}.sock`);
}

function portOf(site: { address: unknown }): number {
  const address = site.address as { transport: string; port: number };
  assert.equal(address?.transport, "tcp");
  return address.port;
}

/** Sends one raw request and reads until the server closes. */
async function raw(to: number | string, request: string): Promise<string> {
  const socket = await dial(to);
  sockets.push(socket);
  const reply = readToEnd(socket, 15_000);
  socket.write(request);
  return str(await reply);
}

/** Whether a connection attempt is refused (or finds no socket file). */
function refuses(to: number | string): Promise<boolean> {
  return within(
    new Promise<boolean>((resolve) => {
      const socket = typeof to === "number" ? connect(to, "127.0.0.1") : connect({ path: to });
      socket.once("connect", () => {
        socket.destroy();
        resolve(false);
      });
      socket.once("error", () => resolve(true));
    }),
    5000,
    `a connection attempt to ${to}`,
  );
}

async function untilRefused(to: number | string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await refuses(to))) {
    if (Date.now() > deadline) throw new Error(`${to} still accepts connections`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An app whose hooks record their order in `log`. */
function loggingApp(log: string[], fetch: ServerApp["fetch"] = () => new Response("ok")) {
  return {
    fetch,
    onStartup: [() => void log.push("startup")],
    cleanupCtx: [async function* () {
      log.push("ctx:enter");
      yield;
      log.push("ctx:exit");
    }],
    onShutdown: [() => void log.push("shutdown")],
    onCleanup: [() => void log.push("cleanup")],
  } satisfies ServerApp;
}

describe("server/runner AppRunner and sites", () => {
  test("AppRunner serves one app on a TCP and a Unix site at once, named like aiohttp's", async () => {
    const log: string[] = [];
    const runner = runnerFor(
      loggingApp(log, (request) => new Response(new URL(request.url).pathname)),
    );
    await runner.setup();
    assert.deepEqual(log, ["startup", "ctx:enter"]);
    const path = socketPath();
    const tcp = new TCPSite(runner, { hostname: "127.0.0.1", port: 0 });
    const unix = new UnixSite(runner, path);
    assert.equal(tcp.name, "http://127.0.0.1:0");
    assert.equal(unix.name, `http://unix:${path}:`);
    assert.equal(tcp.address, null);
    await tcp.start();
    await unix.start();
    const port = portOf(tcp);
    assert.equal(tcp.name, `http://127.0.0.1:${port}`);
    assert.deepEqual(runner.sites, [tcp, unix]);
    assert.deepEqual(runner.addresses, [
      { transport: "tcp", hostname: "127.0.0.1", port, family: "IPv4" },
      { transport: "unix", path },
    ]);

    const viaTcp = await fetch(`${tcp.name}/over-tcp`);
    assert.equal(await viaTcp.text(), "/over-tcp");
    const viaUnix = await raw(
      path,
      "GET /over-unix HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert.match(viaUnix, /^HTTP\/1\.1 200 /);
    assert.ok(viaUnix.endsWith("/over-unix"), viaUnix);

    await within(runner.cleanup(), 15_000, "cleanup");
    assert.deepEqual(log, ["startup", "ctx:enter", "shutdown", "ctx:exit", "cleanup"]);
    assert.ok(await refuses(port), "the TCP site still accepts after cleanup");
    assert.ok(await refuses(path), "the Unix site still accepts after cleanup");
    assert.deepEqual(runner.sites, []);
    assert.deepEqual(runner.addresses, []);
  });

  test("AppRunner.cleanup() stops accepting, lets the request in flight finish, then runs onShutdown", async () => {
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    const runner = runnerFor(
      loggingApp(log, async () => {
        entered();
        await gate;
        return new Response("finished in time");
      }),
    );
    await runner.setup();
    const site = new TCPSite(runner, { hostname: "127.0.0.1", port: 0 });
    await site.start();
    const port = portOf(site);
    const socket = await dial(port);
    sockets.push(socket);
    const reply = readToEnd(socket, 15_000);
    socket.write("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    await within(inHandler, 5000, "the handler to be called");

    const cleaning = runner.cleanup();
    assert.equal(runner.cleanup(), cleaning, "cleanup() is idempotent");
    await untilRefused(port);
    assert.deepEqual(log, ["startup", "ctx:enter"], "onShutdown ran before the request finished");
    release();
    const text = str(await reply);
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, /\r\nconnection: close\r\n/i);
    assert.ok(text.endsWith("finished in time"), text);
    await within(cleaning, 15_000, "cleanup");
    assert.deepEqual(log, ["startup", "ctx:enter", "shutdown", "ctx:exit", "cleanup"]);
  });

  test("AppRunner shutdownTimeout bounds the wait for a request that never finishes", async () => {
    const log: string[] = [];
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    const runner = runnerFor(
      loggingApp(log, async (request) => {
        entered();
        await new Promise((resolve) => request.signal.addEventListener("abort", resolve));
        return new Response("too late");
      }),
      { shutdownTimeout: 200 },
    );
    await runner.setup();
    const site = new TCPSite(runner, { hostname: "127.0.0.1", port: 0 });
    await site.start();
    const socket = await dial(portOf(site));
    sockets.push(socket);
    const reply = readToEnd(socket, 15_000).catch(() => new Uint8Array());
    socket.write("GET /forever HTTP/1.1\r\nHost: a\r\n\r\n");
    await within(inHandler, 5000, "the handler to be called");
    await within(runner.cleanup(), 15_000, "cleanup past shutdownTimeout");
    assert.deepEqual(log, ["startup", "ctx:enter", "shutdown", "ctx:exit", "cleanup"]);
    assert.doesNotMatch(str(await reply), /too late/);
  });

  test("AppRunner installs the access log: a function gets each entry", async () => {
    const entries: AccessLogEntry[] = [];
    const runner = runnerFor(() => new Response("hi", { headers: { "x-id": "7" } }), {
      accessLog: (entry: AccessLogEntry) => entries.push(entry),
    });
    await runner.setup();
    const site = new TCPSite(runner, { hostname: "127.0.0.1", port: 0 });
    await site.start();
    const response = await fetch(`${site.name}/x?y=1`, {
      headers: { "user-agent": "runner-test" },
    });
    assert.equal(await response.text(), "hi");
    await until(() => entries.length === 1, 5000, "an access log entry");
    const [entry] = entries;
    assert.equal(entry.method, "GET");
    assert.equal(entry.target, "/x?y=1");
    assert.equal(entry.status, 200);
    // The native backends count body bytes from Content-Length only (0 here):
    // the runtime frames the body and does not say how much it sent.
    if (runner.backend.engine === "sluice") assert.equal(entry.bytesSent, 2);
    assert.equal(entry.requestHeader("User-Agent"), "runner-test");
    assert.equal(entry.responseHeader("X-Id"), "7");
    assert.match(entry.remote, /127\.0\.0\.1/);
    await runner.cleanup();
  });

  test("AppRunner accessLog as a format string prints formatted lines with console.log", async () => {
    const runner = runnerFor(() => new Response("hello"), { accessLog: '"%r" %s %b' });
    await runner.setup();
    const site = new TCPSite(runner, { hostname: "127.0.0.1", port: 0 });
    await site.start();
    const lines: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
    try {
      await (await fetch(`${site.name}/logged`)).text();
      await until(() => lines.length > 0, 5000, "an access log line");
    } finally {
      console.log = original;
    }
    const bytes = runner.backend.engine === "sluice" ? "5" : "\\d+";
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], new RegExp(`^"GET /logged HTTP/1\\.1" 200 ${bytes}$`));
    await runner.cleanup();
  });

  test("AppRunner.setup() failing: LifecycleError, no site can start, cleanup() runs no hook", async () => {
    const log: string[] = [];
    const app = loggingApp(log);
    app.onStartup.push(() => {
      throw new Error("no database");
    });
    const runner = runnerFor(app);
    await assert.rejects(runner.setup(), (error: unknown) => {
      assert.ok(error instanceof LifecycleError);
      assert.equal(error.code, "SLUICE_ERR_STARTUP");
      return true;
    });
    await assert.rejects(
      new TCPSite(runner, { hostname: "127.0.0.1", port: 0 }).start(),
      TypeError,
    );
    await runner.cleanup();
    assert.deepEqual(log, ["startup"]);
  });

  test("TCPSite.start() on a busy port rejects with ListenError; the other sites keep serving", async () => {
    const busy = createServer();
    servers.push(busy);
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const busyPort = (busy.address() as { port: number }).port;
    const log: string[] = [];
    const runner = runnerFor(loggingApp(log));
    await runner.setup();
    const good = new TCPSite(runner, { hostname: "127.0.0.1", port: 0 });
    await good.start();
    const bad = new TCPSite(runner, { hostname: "127.0.0.1", port: busyPort });
    await assert.rejects(bad.start(), (error: unknown) => {
      assert.ok(error instanceof ListenError);
      assert.equal(error.code, "SLUICE_ERR_LISTEN");
      return true;
    });
    assert.deepEqual(runner.sites, [good]);
    assert.equal(bad.address, null);
    assert.equal(await (await fetch(good.name)).text(), "ok");
    await bad.stop();
    await runner.cleanup();
    assert.deepEqual(log, ["startup", "ctx:enter", "shutdown", "ctx:exit", "cleanup"]);
  });

  test("AppRunner refuses misuse: sites before setup(), start() twice, setup() twice or after cleanup()", async () => {
    const runner = runnerFor(() => new Response("ok"));
    const early = new TCPSite(runner, { hostname: "127.0.0.1", port: 0 });
    await assert.rejects(early.start(), /call runner\.setup\(\) first/);
    await runner.setup();
    await assert.rejects(runner.setup(), TypeError);
    const site = new TCPSite(runner, { hostname: "127.0.0.1", port: 0 });
    await site.start();
    await assert.rejects(site.start(), /start\(\) was already called/);
    await runner.cleanup();
    await assert.rejects(runner.setup(), /cleaned up/);
    await assert.rejects(
      new TCPSite(runner, { hostname: "127.0.0.1", port: 0 }).start(),
      /cleaned up/,
    );
  });

  test("AppRunner.cleanup() before setup() runs no hook and resolves", async () => {
    const log: string[] = [];
    const runner = runnerFor(loggingApp(log));
    await runner.cleanup();
    await runner.cleanup();
    assert.deepEqual(log, []);
  });

  test("AppRunner with await using cleans up at the end of the block", async () => {
    const log: string[] = [];
    let port = 0;
    {
      await using runner = new AppRunner(loggingApp(log), { shutdownTimeout: 10_000 });
      await runner.setup();
      const site = new TCPSite(runner, { hostname: "127.0.0.1", port: 0 });
      await site.start();
      port = portOf(site);
      assert.equal(await (await fetch(site.name)).text(), "ok");
    }
    assert.deepEqual(log, ["startup", "ctx:enter", "shutdown", "ctx:exit", "cleanup"]);
    assert.ok(await refuses(port));
  });

  test("AppRunner and sites validate their arguments", () => {
    assert.throws(() => new AppRunner({} as never), TypeError);
    assert.throws(() => new AppRunner(() => new Response(), { shutdownTimeout: -1 }), RangeError);
    assert.throws(() => new AppRunner(() => new Response(), { accessLog: 3 as never }), TypeError);
    assert.throws(() => new AppRunner(() => new Response(), { accessLog: "%q" }), TypeError);
    const runner = new AppRunner(() => new Response());
    assert.throws(() => new TCPSite({} as never), TypeError);
    assert.throws(() => new UnixSite(runner, ""), TypeError);
    assert.throws(() => new SockSite(runner, -1), TypeError);
    assert.equal(new SockSite(runner, 3).name, "http://fd:3");
    assert.equal(new TCPSite(runner).name, "http://0.0.0.0:8080");
    assert.equal(new TCPSite(runner, { hostname: "::1", port: 80 }).name, "http://[::1]:80");
    assert.equal(
      new TCPSite(runner, { tls: { cert: "", key: "" } }).name,
      "https://0.0.0.0:8443",
    );
  });

  test("SockSite.start() on a descriptor that is no listening socket rejects with ListenError", async () => {
    const runner = runnerFor(() => new Response("ok"));
    await runner.setup();
    const site = new SockSite(runner, 99_999);
    // SLUICE_ERR_LISTEN where the backend adopts descriptors (node:net), UNSUPPORTED where it cannot.
    await assert.rejects(site.start(), ListenError);
    assert.deepEqual(runner.sites, []);
    await runner.cleanup();
  });
});
