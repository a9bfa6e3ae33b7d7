import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { superviseWorkers, workerIndex } from "../../adapters/workers.ts";
import { dial, readToEnd, str, text, until, within } from "./_net.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const CHILD = join(HERE, "_workers_child.ts");
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

/**
 * The command that runs _workers_child.ts on this runtime. On Deno the
 * primary gets no --unstable-net: superviseWorkers() adds it for workers.
 */
function childCommand(args: string[], denoFlags = ["-A"]): string[] {
  if (runtime === "deno") return [process.execPath, "run", ...denoFlags, CHILD, ...args];
  if (runtime === "bun") return [process.execPath, CHILD, ...args];
  const flags = process.execArgv.filter((a) => !a.startsWith("--test"));
  return [process.execPath, ...flags, CHILD, ...args];
}

/** Per-test limit of the tests that start processes (Bun's default is 5 s). */
const SLOW = 120_000;

type Event = Record<string, unknown>;

interface Primary {
  child: ChildProcess;
  events: Event[];
  exit: Promise<number | null>;
  /** Every worker pid announced as ready, in order. */
  readyPids(): number[];
}

const started: Primary[] = [];

function startPrimary(
  mode: string,
  port: number,
  count: number,
  shutdownTimeout = 3000,
  denoFlags?: string[],
): Primary {
  const options = [mode, String(port), String(count), String(shutdownTimeout)];
  const [command, ...args] = childCommand(options, denoFlags);
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
  const events: Event[] = [];
  let buffer = "";
  child.stdout!.on("data", (chunk: Uint8Array) => {
    buffer += str(chunk);
    let at;
    while ((at = buffer.indexOf("\n")) !== -1) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
      try {
        events.push(JSON.parse(line));
      } catch {
        events.push({ text: line });
      }
    }
  });
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const primary = {
    child,
    events,
    exit,
    readyPids: () => events.filter((e) => e.ready).map((e) => e.pid as number),
  };
  started.push(primary);
  return primary;
}

/**
 * Signals the primary by pid: Deno's node:child_process reports a child it
 * signalled through `child.kill()` as ended by that signal, whatever its
 * real exit code.
 */
function signal(primary: Primary, name: "SIGTERM" | "SIGKILL"): void {
  process.kill(primary.child.pid!, name);
}

/** Whether a process exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return true;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Asks a fresh connection which worker answers. */
async function ask(port: number): Promise<number> {
  const socket = await dial(port);
  socket.write(text("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const response = str(await readToEnd(socket));
  return Number(response.slice(response.indexOf("\r\n\r\n") + 4));
}

/** Asks fresh connections until `want` answered (at most `attempts` connections); returns the pids seen. */
async function askUntil(port: number, want: (seen: Set<number>) => boolean, attempts: number) {
  const seen = new Set<number>();
  for (let k = 0; k < attempts && !want(seen); k++) seen.add(await ask(port));
  return seen;
}

const log = (p: Primary, kind: "info" | "error") =>
  p.events.filter((e) => typeof e[kind] === "string").map((e) => e[kind] as string);

after(() => {
  for (const primary of started) {
    const pids = primary.readyPids();
    if (primary.child.exitCode === null && primary.child.signalCode === null) {
      primary.child.kill("SIGKILL");
    }
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
  }
});

describe("superviseWorkers()", () => {
  test(
    "superviseWorkers() shares one port among workers, restarts a killed one, stops all on SIGTERM",
    { timeout: SLOW },
    async () => {
      const port = await freePort();
      const primary = startPrimary("serve", port, 2);
      await until(() => primary.readyPids().length >= 2, 30_000, "2 workers ready");
      const first = primary.readyPids();
      assert.equal(new Set(first).size, 2);

      const seen = await askUntil(port, (s) => s.size >= 2, 300);
      assert.deepEqual([...seen].sort(), [...first].sort(), "both workers answer");

      const victim = first[0];
      process.kill(victim, "SIGKILL");
      await until(() => primary.readyPids().length >= 3, 30_000, "a replacement worker");
      const replacement = primary.readyPids()[2];
      assert.ok(!first.includes(replacement));
      assert.ok(
        log(primary, "error").some((m) =>
          m.includes(`pid ${victim}`) && m.includes("unexpectedly")
        ),
        "the unexpected exit is logged",
      );
      assert.ok(log(primary, "info").some((m) => m.startsWith("Restarting worker")));
      const later = await askUntil(port, (s) => s.has(replacement), 300);
      assert.ok(later.has(replacement), "the replacement answers");
      assert.ok(!later.has(victim));

      signal(primary, "SIGTERM");
      assert.equal(await within(primary.exit, 30_000, "the primary to exit"), 0);
      const stopped = primary.events.filter((e) => e.stopped).map((e) => e.pid).sort();
      assert.deepEqual(stopped, [first[1], replacement].sort(), "live workers stopped gracefully");
      await until(
        () => primary.readyPids().every((pid) => !alive(pid)),
        5000,
        "no worker outlives the primary",
      );
    },
  );

  test("superviseWorkers() gives up on a worker that keeps crashing, with exit code 1", {
    timeout: SLOW,
  }, async () => {
    const primary = startPrimary("crash", await freePort(), 1);
    assert.equal(await within(primary.exit, 60_000, "the primary to give up"), 1);
    assert.ok(log(primary, "error").some((m) => m.includes("giving up")));
    // Six starts unless the machine is so slow that some fell out of the 10 s window.
    assert.ok(log(primary, "info").filter((m) => m.includes("started")).length >= 6);
  });

  test("superviseWorkers() kills a worker that ignores SIGTERM after shutdownTimeout + 5 s", {
    timeout: SLOW,
  }, async () => {
    const port = await freePort();
    const primary = startPrimary("stubborn", port, 1, 0);
    await until(() => primary.readyPids().length >= 1, 30_000, "a worker ready");
    signal(primary, "SIGTERM");
    assert.equal(await within(primary.exit, 30_000, "the primary to exit"), 1);
    assert.ok(primary.events.some((e) => e.ignored === "SIGTERM"));
    assert.ok(log(primary, "error").some((m) => m.includes("did not stop within 5000 ms")));
    assert.ok(!alive(primary.readyPids()[0]));
  });

  test(
    "superviseWorkers() stops its workers when its signal aborts",
    { timeout: SLOW },
    async () => {
      const primary = startPrimary("abort", await freePort(), 1);
      await until(() => primary.readyPids().length >= 1, 30_000, "a worker ready");
      primary.child.stdin!.end();
      assert.equal(await within(primary.exit, 30_000, "the primary to exit"), 0);
      assert.ok(primary.events.some((e) => e.stopped));
    },
  );

  test(
    "a worker stops by itself when its primary is killed with SIGKILL",
    { timeout: SLOW },
    async () => {
      const primary = startPrimary("serve", await freePort(), 1);
      await until(() => primary.readyPids().length >= 1, 30_000, "a worker ready");
      signal(primary, "SIGKILL");
      await within(primary.exit, 10_000, "the primary to die");
      const [worker] = primary.readyPids();
      await until(() => !alive(worker), 15_000, "the orphaned worker to exit");
    },
  );

  test(
    "superviseWorkers() on Deno without -A gives workers the primary's permissions and --unstable-net",
    {
      timeout: SLOW,
      skip: runtime !== "deno" && "Deno only: the command line rebuilt from Deno.permissions",
    },
    async () => {
      const port = await freePort();
      const primary = startPrimary("serve", port, 1, 3000, [
        "--allow-net",
        "--allow-run",
        "--allow-read",
      ]);
      await until(() => primary.readyPids().length >= 1, 30_000, "a worker ready");
      assert.deepEqual([...await askUntil(port, (s) => s.size >= 1, 1)], primary.readyPids());
      signal(primary, "SIGTERM");
      assert.equal(await within(primary.exit, 30_000, "the primary to exit"), 0);
    },
  );

  test("superviseWorkers() rejects a bad count or shutdownTimeout with RangeError", async () => {
    const logger = { info() {}, error() {} };
    await assert.rejects(superviseWorkers(0, { logger, shutdownTimeout: 0 }), RangeError);
    await assert.rejects(superviseWorkers(1.5, { logger, shutdownTimeout: 0 }), RangeError);
    await assert.rejects(superviseWorkers(1, { logger, shutdownTimeout: -1 }), RangeError);
    await assert.rejects(superviseWorkers(1, { logger, shutdownTimeout: Infinity }), RangeError);
  });

  test("superviseWorkers() resolves 0 at once when its signal is already aborted", async () => {
    const logger = { info() {}, error() {} };
    const code = await superviseWorkers(2, {
      logger,
      shutdownTimeout: 0,
      signal: AbortSignal.abort(),
    });
    assert.equal(code, 0);
  });
});

describe("workerIndex()", () => {
  test("workerIndex() reads SLUICE_WORKER, null when unset or not a number", async () => {
    const saved = process.env.SLUICE_WORKER;
    try {
      delete process.env.SLUICE_WORKER;
      assert.equal(workerIndex(), null);
      process.env.SLUICE_WORKER = "abc";
      assert.equal(workerIndex(), null);
      process.env.SLUICE_WORKER = "3";
      assert.equal(workerIndex(), 3);
      await assert.rejects(
        superviseWorkers(1, { logger: { info() {}, error() {} }, shutdownTimeout: 0 }),
        TypeError,
      );
    } finally {
      if (saved === undefined) delete process.env.SLUICE_WORKER;
      else process.env.SLUICE_WORKER = saved;
    }
  });
});
