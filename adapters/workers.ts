/**
 * Worker processes: one primary starts copies of the current program, each
 * serving on the same port, and keeps them running.
 *
 * - Node: `node:cluster`. Workers' listening sockets are shared through the
 *   primary, which hands out connections in turn.
 * - Deno and Bun: plain child processes, each listening on the same port
 *   with `reusePort` (`SO_REUSEPORT`, Linux), the kernel spreading
 *   connections.
 *
 * A worker learns its number from the `SLUICE_WORKER` environment variable
 * ({@linkcode workerIndex}). Stdout and stderr of workers are the primary's;
 * on Deno and Bun their stdin is closed.
 *
 * How a Deno worker is started (workers listen with `reusePort`, which
 * Deno 2 offers only with `--unstable-net`): a compiled program (`deno
 * compile`, which must have been given `--unstable-net`) runs its own binary
 * again with the same arguments. Otherwise, when the primary has every
 * permission (`-A`), the worker gets the primary's exact command line (read
 * from `/proc/self/cmdline` on Linux), with its config, import map and
 * unstable flags, plus `--unstable-net`. Else the worker runs
 * `deno run --unstable-net` with each permission the primary holds without
 * restriction (`--allow-net`, …) plus read access to `SLUICE_WORKER`;
 * permissions granted only in part (`--allow-net=:8080`) cannot be read back
 * and are missing in the worker, and so are the other flags. Run the primary
 * with `-A`, or grant what workers need without a list. The primary itself
 * needs `--allow-run`.
 *
 * @module
 */

import cluster from "node:cluster";
import process from "node:process";
// Node's timers everywhere: Deno's global setInterval returns a number, with no unref().
import { clearInterval, clearTimeout, setInterval, setTimeout } from "node:timers";
import type { ServerLogger } from "../server/types.ts";

export type { ServerLogger };

/** How {@linkcode superviseWorkers} runs and stops its workers. */
export interface SuperviseOptions {
  /** Where starts, unexpected exits, restarts and forced stops are reported. */
  logger: ServerLogger;
  /** Stops every worker (as SIGTERM does) when aborted. */
  signal?: AbortSignal;
  /**
   * How long workers get to finish their requests after SIGTERM (their own
   * graceful shutdown timeout). The primary waits this long plus 5 s, then
   * kills what is left with SIGKILL.
   */
  shutdownTimeout: number;
  /** Stop the workers on SIGINT and SIGTERM to the primary. Default `false`. */
  handleSignals?: boolean;
}

const WORKER_ENV = "SLUICE_WORKER";
const SUPERVISOR_ENV = "SLUICE_SUPERVISOR";
/** Restarts of one worker allowed within {@linkcode RESTART_WINDOW} ms before the primary gives up. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW = 10_000;
/** Added to `shutdownTimeout` before SIGKILL. */
const KILL_GRACE = 5_000;

let watching = false;

/**
 * This process's worker number (0 to count − 1) when a supervisor started it
 * (the `SLUICE_WORKER` environment variable), else `null`: the process is the
 * primary, or runs alone.
 *
 * In a worker the first call also starts watching the primary: should the
 * primary die without stopping it (killed with SIGKILL), the worker sends
 * itself SIGTERM within a second, so no worker outlives its supervisor.
 *
 * @returns The worker number, or `null`.
 *
 * @example Serve in workers, supervise in the primary
 * ```ts
 * import { superviseWorkers, workerIndex } from "@sluice/http/adapters/workers";
 * import process from "node:process";
 *
 * if (workerIndex() === null) {
 *   const code = await superviseWorkers(4, { logger: console, shutdownTimeout: 10_000, handleSignals: true });
 *   process.exit(code);
 * } else {
 *   Deno.serve({ port: 8080, reusePort: true }, () => new Response(`worker ${workerIndex()}`));
 * }
 * ```
 */
export function workerIndex(): number | null {
  const value = readEnv(WORKER_ENV);
  if (value === undefined || !/^\d{1,9}$/.test(value)) return null;
  if (!watching) {
    watching = true;
    watchSupervisor(readEnv(SUPERVISOR_ENV));
  }
  return Number(value);
}

function readEnv(name: string): string | undefined {
  if ("Deno" in globalThis) {
    // Asking first: reading without the permission would prompt on a terminal.
    const { state } = Deno.permissions.querySync({ name: "env", variable: name });
    return state === "granted" ? Deno.env.get(name) : undefined;
  }
  return process.env[name];
}

function watchSupervisor(supervisor: string | undefined): void {
  const pid = Number(supervisor);
  if (!Number.isSafeInteger(pid) || pid <= 0) return;
  const timer = setInterval(() => {
    if (process.ppid === pid) return;
    clearInterval(timer);
    try {
      process.kill(process.pid, "SIGTERM");
    } catch {
      process.exit(1);
    }
  }, 1000);
  timer.unref();
}

/** One started worker, whatever the runtime. */
interface Child {
  readonly pid: number;
  kill(signal: "SIGTERM" | "SIGKILL"): void;
  /** Resolves with the exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
}

interface Slot {
  readonly index: number;
  child: Child | null;
  /** When the recent restarts happened (ms since the epoch). */
  restarts: number[];
  timer: ReturnType<typeof setTimeout> | null;
}

/**
 * Runs `count` workers, copies of the current program with `SLUICE_WORKER`
 * set to 0 … count − 1, and keeps them running until asked to stop.
 *
 * A worker that exits on its own is restarted (reported through
 * `logger.error`, then `logger.info`), after a pause that doubles with each
 * recent restart; after 5 restarts of one worker within 10 s the primary
 * gives up, stops the others and resolves with `1`. On `signal` abort (or
 * SIGINT/SIGTERM with `handleSignals`) every worker gets SIGTERM; those still
 * running `shutdownTimeout` + 5 s later get SIGKILL.
 *
 * @param count How many workers (a positive integer).
 * @param options Logger, stop signal, shutdown timeout and signal handling.
 * @returns `0` when every worker stopped cleanly when asked (exit code 0, or
 *   ended by the SIGTERM or SIGINT sent), else `1`: an exit code to pass to
 *   `process.exit`.
 * @throws {RangeError} When `count` or `shutdownTimeout` is out of range
 *   (the promise rejects, as for every error here).
 * @throws {TypeError} When called in a worker.
 *
 * @example A primary that stops its workers on Ctrl-C
 * ```ts
 * import { superviseWorkers, workerIndex } from "@sluice/http/adapters/workers";
 * import process from "node:process";
 *
 * if (workerIndex() === null) {
 *   const code = await superviseWorkers(2, { logger: console, shutdownTimeout: 5_000, handleSignals: true });
 *   process.exit(code);
 * }
 * ```
 */
export async function superviseWorkers(
  count: number,
  options: SuperviseOptions,
): Promise<number> {
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(
      `Cannot supervise workers: count must be a positive integer, got ${count}`,
    );
  }
  const { logger, signal, shutdownTimeout } = options;
  if (!(shutdownTimeout >= 0) || !Number.isFinite(shutdownTimeout)) {
    throw new RangeError(
      `Cannot supervise workers: shutdownTimeout must be a finite number ≥ 0, got ${shutdownTimeout}`,
    );
  }
  const self = workerIndex();
  if (self !== null) {
    throw new TypeError(`Cannot supervise workers: this process is worker ${self}`);
  }
  if (signal?.aborted) return 0;
  const spawn = spawner();

  return await new Promise<number>((resolve) => {
    const slots: Slot[] = Array.from({ length: count }, (_, index) => ({
      index,
      child: null,
      restarts: [],
      timer: null,
    }));
    let stopping = false;
    let failed = false;
    let killTimer: ReturnType<typeof setTimeout> | null = null;

    const start = (slot: Slot): void => {
      slot.timer = null;
      let child: Child;
      try {
        child = spawn(slot.index);
      } catch (error) {
        logger.error(`Cannot start worker ${slot.index}`, error);
        exited(slot, null, { code: null, signal: null });
        return;
      }
      slot.child = child;
      logger.info(`Worker ${slot.index} started (pid ${child.pid})`);
      child.exited.then((result) => exited(slot, child, result));
    };

    const exited = (
      slot: Slot,
      child: Child | null,
      { code, signal }: { code: number | null; signal: string | null },
    ): void => {
      slot.child = null;
      const pid = child === null ? "" : ` (pid ${child.pid})`;
      const how = signal !== null ? `signal ${signal}` : `code ${code}`;
      if (stopping) {
        const clean = code === 0 || signal === "SIGTERM" || signal === "SIGINT";
        if (!clean) {
          failed = true;
          logger.error(`Worker ${slot.index}${pid} stopped with ${how}`);
        }
        settle();
        return;
      }
      if (child !== null) {
        logger.error(`Worker ${slot.index}${pid} exited unexpectedly with ${how}`);
      }
      const now = Date.now();
      slot.restarts = slot.restarts.filter((at) => now - at < RESTART_WINDOW);
      if (slot.restarts.length >= MAX_RESTARTS) {
        logger.error(
          `Worker ${slot.index} failed ${MAX_RESTARTS + 1} times within ${
            RESTART_WINDOW / 1000
          } s: giving up`,
        );
        failed = true;
        stop();
        return;
      }
      const delay = slot.restarts.length === 0
        ? 0
        : Math.min(100 * 2 ** slot.restarts.length, 5000);
      slot.restarts.push(now);
      logger.info(`Restarting worker ${slot.index}${delay ? ` in ${delay} ms` : ""}`);
      slot.timer = setTimeout(() => start(slot), delay);
    };

    const kill = (child: Child, how: "SIGTERM" | "SIGKILL"): void => {
      try {
        child.kill(how);
      } catch {
        // Already gone: its exit is on the way.
      }
    };

    const forceStop = (grace: number): void => {
      for (const slot of slots) {
        if (slot.child === null) continue;
        failed = true;
        logger.error(
          `Worker ${slot.index} (pid ${slot.child.pid}) did not stop within ${grace} ms: killing it`,
        );
        kill(slot.child, "SIGKILL");
      }
    };

    function stop(): void {
      if (stopping) return;
      stopping = true;
      for (const slot of slots) {
        if (slot.timer !== null) clearTimeout(slot.timer);
        slot.timer = null;
        if (slot.child !== null) kill(slot.child, "SIGTERM");
      }
      const grace = shutdownTimeout + KILL_GRACE;
      killTimer = setTimeout(() => forceStop(grace), grace);
      settle();
    }

    // A repeated signal changes nothing: one signal is often delivered twice
    // (to the process and to its group), so it cannot mean "force".
    const onSignal = (name: string): void => {
      if (stopping) return;
      logger.info(`Got ${name}: stopping ${count} worker${count === 1 ? "" : "s"}`);
      stop();
    };
    const onAbort = (): void => stop();

    function settle(): void {
      if (!stopping || slots.some((slot) => slot.child !== null)) return;
      if (killTimer !== null) clearTimeout(killTimer);
      signal?.removeEventListener("abort", onAbort);
      if (options.handleSignals) {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
      resolve(failed ? 1 : 0);
    }

    signal?.addEventListener("abort", onAbort, { once: true });
    if (options.handleSignals) {
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
    }
    for (const slot of slots) start(slot);
  });
}

/** The way this runtime starts worker `index`. */
function spawner(): (index: number) => Child {
  const env = (index: number) => ({
    [WORKER_ENV]: String(index),
    [SUPERVISOR_ENV]: String(process.pid),
  });
  if ("Deno" in globalThis) {
    const { command, args } = denoCommandLine();
    return (index) => {
      const child = new Deno.Command(command, {
        args,
        env: env(index),
        stdin: "null",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
      return {
        pid: child.pid,
        kill: (signal) => child.kill(signal),
        exited: child.status.then((s) => ({
          code: s.signal === null ? s.code : null,
          signal: s.signal,
        })),
      };
    };
  }
  const bun = (globalThis as { Bun?: BunRuntime }).Bun;
  if (bun !== undefined) {
    const argv = process.argv;
    // A compiled program (`bun build --compile`) names its embedded entry point in argv[1].
    const rest = /^(\/\$bunfs\/|B:[\\/]~BUN[\\/])/.test(argv[1] ?? "")
      ? argv.slice(2)
      : argv.slice(1);
    const cmd = [process.execPath, ...process.execArgv, ...rest];
    return (index) => {
      const child = bun.spawn({
        cmd,
        env: { ...process.env, ...env(index) },
        stdio: ["ignore", "inherit", "inherit"],
      });
      return {
        pid: child.pid,
        kill: (signal) => child.kill(signal),
        exited: child.exited.then(() => ({ code: child.exitCode, signal: child.signalCode })),
      };
    };
  }
  return (index) => {
    const worker = cluster.fork(env(index));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      worker.once(
        "exit",
        (code: number | null, signal: string | null) => resolve({ code, signal }),
      );
    });
    // An IPC failure is reported here; the exit that follows is what counts.
    worker.on("error", () => {});
    return {
      pid: worker.process.pid ?? 0,
      kill: (signal) => worker.process.kill(signal),
      exited,
    };
  };
}

/** Just what this file uses of Bun's subprocess API. */
interface BunRuntime {
  spawn(options: {
    cmd: string[];
    env: Record<string, string | undefined>;
    stdio: ["ignore", "inherit", "inherit"];
  }): {
    readonly pid: number;
    readonly exited: Promise<number>;
    readonly exitCode: number | null;
    readonly signalCode: string | null;
    kill(signal?: string): void;
  };
}

const DENO_PERMISSIONS = ["read", "write", "net", "env", "run", "ffi", "sys", "import"] as const;

/** How to run this Deno program again (see the module documentation). */
function denoCommandLine(): { command: string; args: string[] } {
  const command = Deno.execPath();
  if (Deno.build.standalone) return { command, args: Deno.args };
  const granted = DENO_PERMISSIONS.filter((name) =>
    Deno.permissions.querySync({ name }).state === "granted"
  );
  if (granted.length === DENO_PERMISSIONS.length) {
    try {
      const argv = Deno.readTextFileSync("/proc/self/cmdline").split("\0");
      if (argv.at(-1) === "") argv.pop();
      if (argv.length > 1) return { command, args: withUnstableNet(argv.slice(1)) };
    } catch {
      // Not Linux: rebuild the command line from the permissions below.
    }
  }
  // Workers listen with reusePort, which Deno still counts as unstable.
  const flags = ["--unstable-net", ...granted.map((name) => `--allow-${name}`)];
  if (!granted.includes("env")) flags.push(`--allow-env=${WORKER_ENV},${SUPERVISOR_ENV}`);
  return { command, args: ["run", ...flags, Deno.mainModule, ...Deno.args] };
}

/** `args` (a Deno command line without the executable) with `--unstable-net` after `run` or `serve`. */
function withUnstableNet(args: string[]): string[] {
  if (args.includes("--unstable-net")) return args;
  if (args[0] === "run" || args[0] === "serve") {
    return [args[0], "--unstable-net", ...args.slice(1)];
  }
  // `deno main.ts` is short for `deno run main.ts`.
  return ["run", "--unstable-net", ...args];
}
