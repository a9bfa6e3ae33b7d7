// runApp and serve: child processes on the runtime under test for the signal
// paths (a script ending in `await runApp(app)`), and in-process runs for the
// rest, all with the runtime's default backend.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { ListenError } from "../../adapters/transport.ts";
import { LifecycleError } from "../../server/lifecycle.ts";
import { runApp, serve, type ServerHandle } from "../../server/run_app.ts";
import type { ServerApp } from "../../server/types.ts";
import { dial, readToEnd, str, until, within } from "../adapters/_net.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const tempDir = mkdtempSync(join(tmpdir(), "sluice-run-app-"));

const children: ChildProcess[] = [];
const sockets: Socket[] = [];
const handles: ServerHandle[] = [];
const servers: Server[] = [];

after(async () => {
  for (const socket of sockets) socket.destroy();
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await Promise.all(handles.map((h) => within(h.shutdown().catch(() => {}), 15_000, "shutdown")));
  await Promise.all(
    servers.map((s) => within(new Promise<void>((r) => s.close(() => r())), 5000, "close")),
  );
  rmSync(tempDir, { recursive: true, force: true });
});

/** Whether a connection attempt to a local port or a Unix path is refused. */
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

/**
 * Sends a signal to a child. Not `child.kill()`: under Deno, a child that
 * was sent a signal that way is reported as killed by it, whatever its real
 * exit status.
 */
function sendSignal(child: ChildProcess, name: "SIGTERM" | "SIGINT"): void {
  process.kill(child.pid!, name);
}

/** Starts _run_app_child.ts on this runtime; its stdout and stderr are collected. */
function startChild(mode: string, env: Record<string, string> = {}) {
  const helper = join(HERE, "_run_app_child.ts");
  const [command, ...args] = runtime === "deno"
    // --unstable-net: Deno's reusePort (the workers test) is behind that flag.
    ? [process.execPath, "run", "-A", "--unstable-net", helper]
    : runtime === "bun"
    ? [process.execPath, helper]
    : [process.execPath, ...process.execArgv.filter((a) => !a.startsWith("--test")), helper];
  const child = spawn(command, args, {
    env: { ...process.env, SLUICE_RUN_APP_MODE: mode, NO_COLOR: "1", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.push(child);
  const output = { stdout: "", stderr: "" };
  child.stdout!.on("data", (chunk: Uint8Array) => (output.stdout += str(chunk)));
  child.stderr!.on("data", (chunk: Uint8Array) => (output.stderr += str(chunk)));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal }))
  );
  const lines = () => output.stdout.split("\n").filter((line) => line !== "");
  /** Waits for a stdout line matching `pattern` and returns it. */
  const line = async (pattern: RegExp) => {
    let exitedEarly = false;
    exited.then(() => (exitedEarly = true));
    await until(
      () => lines().some((l) => pattern.test(l)) || exitedEarly,
      30_000,
      `a line matching ${pattern} from the child (stdout so far: ${JSON.stringify(output.stdout)})`,
    );
    const found = lines().find((l) => pattern.test(l));
    assert.ok(found, `the child exited first:\n${output.stdout}\n${output.stderr}`);
    return found;
  };
  const exit = () => within(exited, 30_000, "the child to exit");
  return { child, output, lines, line, exit };
}

/** A TCP port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The body of one GET / on a fresh connection. */
async function getOnce(port: number): Promise<string> {
  const socket = await dial(port);
  sockets.push(socket);
  const reply = readToEnd(socket);
  socket.write("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  const text = str(await reply);
  return text.slice(text.indexOf("\r\n\r\n") + 4);
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

describe("server/run_app runApp() in a child process", () => {
  test("runApp() on SIGTERM: refuses new connections, finishes the request in flight, runs the signals, exits 0", async () => {
    const { child, output, lines, line, exit } = startChild("serve");
    const banner = await line(/^======== Running on /);
    const match = banner.match(/^======== Running on http:\/\/127\.0\.0\.1:(\d+) ========$/);
    assert.ok(match, banner);
    const port = Number(match[1]);
    assert.ok(lines().includes("(Press CTRL+C to quit)"));
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "hello");

    const socket = await dial(port);
    sockets.push(socket);
    const reply = readToEnd(socket, 30_000);
    socket.write("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    await line(/^in-flight$/);
    sendSignal(child, "SIGTERM");
    await untilRefused(port);
    assert.ok(
      !lines().includes("shutdown"),
      "onShutdown ran before the request in flight finished",
    );
    child.stdin!.end();

    const text = str(await reply);
    const [head, body] = text.split("\r\n\r\n", 2);
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.match(head, /\r\nconnection: close/i);
    assert.equal(body.replace(/[^x]/g, "").length, 100_000);
    const { code, signal } = await exit();
    assert.equal(signal, null, output.stderr);
    assert.equal(code, 0, output.stderr);
    assert.deepEqual(lines(), [
      "startup",
      "ctx:enter",
      banner,
      "(Press CTRL+C to quit)",
      "in-flight",
      "shutdown",
      "ctx:exit",
      "cleanup",
      "runApp resolved",
    ]);
  });

  test("runApp() on SIGINT (Ctrl-C) with no request in flight stops and exits 0", async () => {
    const { child, output, lines, line, exit } = startChild("serve");
    const banner = await line(/^======== Running on /);
    child.stdin!.end();
    sendSignal(child, "SIGINT");
    const { code } = await exit();
    assert.equal(code, 0, output.stderr);
    assert.deepEqual(lines().slice(-4), ["shutdown", "ctx:exit", "cleanup", "runApp resolved"]);
    assert.ok(lines().includes(banner));
  });

  test("runApp() with a failing startup hook exits non-zero, says why on stderr and never listens", async () => {
    const { output, lines, exit } = startChild("fail-startup");
    const { code } = await exit();
    assert.notEqual(code, 0);
    assert.match(
      output.stderr,
      /Cannot start the application: onStartup\[1\] \(openDatabase\): database unreachable/,
    );
    assert.deepEqual(lines(), ["startup"]);
  });

  test("runApp() ends the process at once on a second signal while stopping", async () => {
    const { child, output, line, exit } = startChild("serve");
    const banner = await line(/^======== Running on /);
    const port = Number(banner.match(/:(\d+) =/)![1]);
    const socket = await dial(port);
    sockets.push(socket);
    socket.on("error", () => {});
    socket.write("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    await line(/^in-flight$/);
    sendSignal(child, "SIGTERM");
    await untilRefused(port);
    sendSignal(child, "SIGTERM");
    const { code } = await exit();
    assert.equal(code, 1);
    assert.match(output.stderr, /Received SIGTERM again while stopping: exiting now/);
  });
});

describe("server/run_app runApp() with workers", () => {
  test("runApp() with workers: 2 serves from two processes, prints one banner and stops them all on SIGTERM", async () => {
    const port = await freePort();
    const { child, output, lines, line, exit } = startChild("workers", {
      SLUICE_RUN_APP_PORT: String(port),
      SLUICE_RUN_APP_WORKERS: "2",
    });
    const count = (text: string) => lines().filter((l) => l === text).length;
    await line(/^======== Running on /);
    await until(() => count("ctx:enter") === 2, 30_000, "both workers to start");
    const pids = new Set<string>();
    for (let attempt = 0; attempt < 100 && pids.size < 2; attempt++) pids.add(await getOnce(port));
    assert.equal(pids.size, 2, `answers came from ${[...pids].join(", ")}`);
    assert.ok(!pids.has(String(child.pid)), "the primary served a request");
    sendSignal(child, "SIGTERM");
    const { code } = await exit();
    assert.equal(code, 0, output.stderr);
    assert.equal(lines().filter((l) => l.startsWith("======== Running on ")).length, 1);
    assert.equal(count("startup"), 2);
    assert.equal(count("shutdown"), 2);
    assert.equal(count("cleanup"), 2);
    assert.equal(count("runApp resolved"), 3);
    assert.ok(await refuses(port));
  });
});

describe("server/run_app in process", () => {
  test("serve() starts, answers at its url and stops on shutdown() with every signal run", async () => {
    const log: string[] = [];
    const server = await serve(loggingApp(log), { hostname: "127.0.0.1", port: 0 });
    handles.push(server);
    assert.deepEqual(log, ["startup", "ctx:enter"]);
    const [address] = server.addresses;
    assert.equal(address.transport, "tcp");
    const port = address.transport === "tcp" ? address.port : 0;
    assert.equal(server.url, `http://127.0.0.1:${port}`);
    assert.equal(await (await fetch(new URL("/x", server.url))).text(), "ok");
    await within(server.shutdown(), 15_000, "shutdown");
    await server.finished;
    assert.deepEqual(log, ["startup", "ctx:enter", "shutdown", "ctx:exit", "cleanup"]);
    assert.ok(await refuses(port));
  });

  test("serve() with await using shuts down at the end of the block", async () => {
    const log: string[] = [];
    {
      await using server = await serve(loggingApp(log), { hostname: "127.0.0.1", port: 0 });
      assert.equal(await (await fetch(server.url)).text(), "ok");
    }
    assert.deepEqual(log.slice(-3), ["shutdown", "ctx:exit", "cleanup"]);
  });

  test("runApp() stops gracefully when its signal aborts, and resolves after cleanup", async () => {
    const log: string[] = [];
    const controller = new AbortController();
    const printed: string[] = [];
    const running = runApp(loggingApp(log), {
      hostname: "127.0.0.1",
      port: 0,
      signal: controller.signal,
      handleSignals: false,
      print: (line) => printed.push(line),
    });
    await until(() => printed.length === 1, 10_000, "the banner");
    const port = Number(
      printed[0].match(
        /^======== Running on http:\/\/127\.0\.0\.1:(\d+) ========\n\(Press CTRL\+C to quit\)$/,
      )![1],
    );
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "ok");
    controller.abort();
    await within(running, 15_000, "runApp to resolve");
    assert.deepEqual(log, ["startup", "ctx:enter", "shutdown", "ctx:exit", "cleanup"]);
    assert.ok(await refuses(port));
  });

  test("runApp() on a busy port rejects with ListenError after the shutdown and cleanup signals ran", async () => {
    const busy = createServer();
    servers.push(busy);
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as { port: number }).port;
    const log: string[] = [];
    const printed: string[] = [];
    await assert.rejects(
      runApp(loggingApp(log), {
        hostname: "127.0.0.1",
        port,
        handleSignals: false,
        print: (line) => printed.push(line),
      }),
      (error: unknown) => error instanceof ListenError && error.code === "SLUICE_ERR_LISTEN",
    );
    assert.deepEqual(log, ["startup", "ctx:enter", "shutdown", "ctx:exit", "cleanup"]);
    assert.deepEqual(printed, []);
  });

  test("runApp() with a failing startup hook rejects with its LifecycleError and never listens", async () => {
    const log: string[] = [];
    const app = loggingApp(log);
    app.onStartup.push(() => {
      throw new Error("boom");
    });
    const printed: string[] = [];
    await assert.rejects(
      runApp(app, {
        hostname: "127.0.0.1",
        port: 0,
        handleSignals: false,
        print: (l) => printed.push(l),
      }),
      (error: unknown) => error instanceof LifecycleError && error.code === "SLUICE_ERR_STARTUP",
    );
    assert.deepEqual(log, ["startup"]);
    assert.deepEqual(printed, []);
  });

  test("serve() with path and port serves on a Unix socket and TCP; with path alone, on the socket only", async () => {
    const both = await serve(() => new Response("both"), {
      hostname: "127.0.0.1",
      port: 0,
      path: join(tempDir, "both.sock"),
    });
    handles.push(both);
    assert.deepEqual(both.addresses.map((a) => a.transport), ["tcp", "unix"]);
    assert.deepEqual(both.runner.sites.map((s) => s.name).slice(1), [
      `http://unix:${join(tempDir, "both.sock")}:`,
    ]);
    assert.equal(await (await fetch(both.url)).text(), "both");
    await both.shutdown();

    const path = join(tempDir, "only.sock");
    const only = await serve(() => new Response("only"), { path });
    handles.push(only);
    assert.deepEqual(only.addresses, [{ transport: "unix", path }]);
    assert.equal(only.url, `http://unix:${path}:`);
    const socket = await dial(path);
    sockets.push(socket);
    const reply = readToEnd(socket);
    socket.write("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert.ok(str(await reply).endsWith("only"));
    await only.shutdown();
  });

  test("serve() on every interface by default gives a loopback url a client can use", async () => {
    const server = await serve(() => new Response("anywhere"), { port: 0 });
    handles.push(server);
    const [address] = server.addresses;
    assert.equal(address.transport === "tcp" && address.hostname, "0.0.0.0");
    const port = address.transport === "tcp" ? address.port : 0;
    assert.equal(server.runner.sites[0].name, `http://0.0.0.0:${port}`);
    assert.equal(server.url, `http://127.0.0.1:${port}`);
    assert.equal(await (await fetch(server.url)).text(), "anywhere");
    await server.shutdown();
  });

  test("serve() with an already aborted signal rejects with its reason and runs nothing", async () => {
    const log: string[] = [];
    const reason = new Error("not today");
    await assert.rejects(
      serve(loggingApp(log), { port: 0, signal: AbortSignal.abort(reason) }),
      (error: unknown) => error === reason,
    );
    assert.deepEqual(log, []);
  });

  test("runApp() and serve() validate their options", async () => {
    await assert.rejects(runApp(() => new Response(), { workers: 0 }), RangeError);
    await assert.rejects(runApp(() => new Response(), { workers: 1.5 }), RangeError);
    await assert.rejects(serve(() => new Response(), { print: "yes" as never }), TypeError);
    await assert.rejects(serve(() => new Response(), { engine: "fast" as never }), TypeError);
    await assert.rejects(serve({} as never), TypeError);
  });
});
