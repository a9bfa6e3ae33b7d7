/**
 * `runApp` (aiohttp's `web.run_app`): set an application up, serve it until
 * Ctrl-C, SIGTERM or an abort signal, stop it gracefully, clean it up. And
 * `serve`, the same as a handle for programs and tests that stop the server
 * themselves.
 *
 * @module
 */

import {
  defaultBackend,
  type EngineName,
  exitProcess,
  onTerminationSignals,
  releaseWorkerChannel,
  runtimeName,
  setExitCode,
} from "../adapters/auto.ts";
import type { ListenTlsOptions } from "../adapters/transport.ts";
import { superviseWorkers, workerIndex } from "../adapters/workers.ts";
import {
  AppRunner,
  type AppRunnerOptions,
  type BaseSite,
  SockSite,
  TCPSite,
  UnixSite,
} from "./runner.ts";
import type { Address, FetchHandler, ServerApp } from "./types.ts";

/**
 * Options of {@linkcode serve} and {@linkcode runApp}: where to listen, how to
 * stop, plus every {@linkcode AppRunnerOptions} field (backend, access log,
 * `shutdownTimeout`, server options).
 *
 * Where to listen follows aiohttp's `run_app`: a TCP site when `hostname` or
 * `port` is given, or when neither `path` nor `fd` is; a Unix site when
 * `path` is given; a site on an inherited socket when `fd` is. So
 * `{ path }` serves on the Unix socket alone and `{ path, port }` on both.
 *
 * @example
 * ```ts
 * import type { ServeOptions } from "@sluice/http";
 *
 * const options: ServeOptions = { hostname: "127.0.0.1", port: 8080, accessLog: true };
 * ```
 */
export interface ServeOptions extends AppRunnerOptions {
  /** Interface of the TCP site. Default `"0.0.0.0"`. */
  hostname?: string;
  /** Port of the TCP site; 0 lets the system pick. Default 8080 (8443 with `tls`). */
  port?: number;
  /** Also (or only) serve on this Unix socket path. */
  path?: string;
  /** Also (or only) serve on this inherited listening socket (e.g. systemd's fd 3). */
  fd?: number;
  /** Serve HTTPS on every site. */
  tls?: ListenTlsOptions;
  /** Share the TCP port with other processes (`SO_REUSEPORT`). */
  reusePort?: boolean;
  /** Length of the accept queue. */
  backlog?: number;
  /** Aborting it stops the server gracefully, as SIGTERM does. */
  signal?: AbortSignal;
  /**
   * Stop gracefully on SIGINT (Ctrl-C) and SIGTERM; a second signal ends the
   * process at once with status 1. Default `true` for `runApp`, `false` for
   * `serve`.
   */
  handleSignals?: boolean;
  /**
   * Where the `======== Running on … ========` banner goes: a function that
   * gets it, or `null` for none. Default `console.log` for `runApp`, none for
   * `serve`.
   */
  print?: ((line: string) => void) | null;
  /** `"sluice"` (the raw engine) or `"native"` (`Deno.serve`, `Bun.serve`). Default: the fastest measured on the runtime. Ignored when `backend` is given. */
  engine?: EngineName;
}

/**
 * Options of {@linkcode runApp}: {@linkcode ServeOptions} and `workers`.
 *
 * @example
 * ```ts
 * import type { RunAppOptions } from "@sluice/http";
 *
 * const options: RunAppOptions = { port: 8080, workers: 4, shutdownTimeout: 30_000 };
 * ```
 */
export interface RunAppOptions extends ServeOptions {
  /**
   * Processes that serve. Above 1, this process becomes a supervisor that
   * starts that many copies of the program (each serving, on Deno and Bun
   * with `reusePort`), restarts the ones that die and stops them all on
   * SIGINT/SIGTERM or `signal`; it runs no lifecycle hook itself. Default 1.
   */
  workers?: number;
}

/**
 * A server started by {@linkcode serve}.
 *
 * @example
 * ```ts
 * import type { ServerHandle } from "@sluice/http";
 *
 * async function get(server: ServerHandle, path: string): Promise<string> {
 *   const response = await fetch(new URL(path, server.url));
 *   return await response.text();
 * }
 * ```
 */
export interface ServerHandle {
  /** The runner behind it (its sites, its backend). */
  readonly runner: AppRunner;
  /** Where it listens, in site order (the real port where 0 was asked for). */
  readonly addresses: readonly Address[];
  /**
   * The first site's URL, with a wildcard address replaced by loopback so a
   * client on this host can use it: `http://127.0.0.1:8080` for `0.0.0.0`,
   * `http://[::1]:8080` for `::`; `http://unix:/path:` for a Unix socket.
   * `""` when no site started (stopped during startup).
   */
  readonly url: string;
  /**
   * Stops gracefully (sites, then shutdown and cleanup signals) and resolves
   * when done, as SIGTERM would. Idempotent.
   */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped and cleaned up, however that was asked for; rejects with a `LifecycleError` when hooks failed at shutdown. */
  readonly finished: Promise<void>;
  /** Same as `shutdown()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

function bannerOf(sites: readonly BaseSite[]): string {
  const names = sites.map((site) => site.name).sort().join(", ");
  return `======== Running on ${names} ========\n(Press CTRL+C to quit)`;
}

function urlOf(site: BaseSite | undefined): string {
  const address = site?.address;
  if (!site || !address) return "";
  if (address.transport !== "tcp") return site.name;
  const scheme = site.name.startsWith("https:") ? "https" : "http";
  let host = address.hostname;
  if (host === "0.0.0.0") host = "127.0.0.1";
  else if (host === "::") host = "::1";
  return `${scheme}://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
}

async function start(
  app: ServerApp | FetchHandler,
  options: ServeOptions,
  defaults: {
    handleSignals: boolean;
    print: ((line: string) => void) | null;
    /** End the process at once on a second signal (not in a worker: its supervisor escalates). */
    forceOnSecondSignal?: boolean;
  },
): Promise<ServerHandle> {
  const {
    hostname,
    port,
    path,
    fd,
    tls,
    reusePort,
    backlog,
    signal,
    handleSignals = defaults.handleSignals,
    print = defaults.print,
    engine,
    ...runnerOptions
  } = options;
  delete (runnerOptions as RunAppOptions).workers;
  if (print !== null && typeof print !== "function") {
    throw new TypeError("Cannot use print: it is neither a function nor null");
  }
  signal?.throwIfAborted();
  const backend = runnerOptions.backend ??
    (engine === undefined ? undefined : defaultBackend(engine));
  const runner = new AppRunner(app, { ...runnerOptions, backend });

  const sites: BaseSite[] = [];
  if (hostname !== undefined || port !== undefined || (path === undefined && fd === undefined)) {
    sites.push(new TCPSite(runner, { hostname, port, reusePort, backlog, tls }));
  }
  if (path !== undefined) sites.push(new UnixSite(runner, path, { backlog, tls }));
  if (fd !== undefined) sites.push(new SockSite(runner, fd, { tls }));

  let requested = false;
  let requestStop!: () => void;
  const stopAsked = new Promise<void>((resolve) => (requestStop = resolve));
  const stop = () => {
    requested = true;
    requestStop();
  };
  let signals = 0;
  const unsubscribe = handleSignals
    ? onTerminationSignals((name) => {
      if (++signals === 1 || defaults.forceOnSecondSignal === false) return stop();
      runner.logger.error(`Received ${name} again while stopping: exiting now`);
      exitProcess(1);
    })
    : () => {};
  signal?.addEventListener("abort", stop, { once: true });
  const detach = () => {
    unsubscribe();
    signal?.removeEventListener("abort", stop);
  };

  try {
    await runner.setup();
  } catch (error) {
    detach();
    await runner.cleanup();
    throw error;
  }
  try {
    for (const site of sites) {
      if (requested) break;
      await site.start();
    }
  } catch (error) {
    detach();
    try {
      await runner.cleanup();
    } catch (cleanupError) {
      runner.logger.error("Cannot clean up after the failed start", cleanupError);
    }
    throw error;
  }
  const started = sites.filter((site) => site.address !== null);
  const addresses = started.map((site) => site.address!);
  const url = urlOf(started[0]);
  const finished = stopAsked.then(() => runner.cleanup()).finally(detach);
  // Whoever stops the server sees a failure through shutdown(); nobody has to await `finished`.
  finished.catch(() => {});
  if (print && !requested) print(bannerOf(started));
  const shutdown = () => {
    stop();
    return finished;
  };
  return { runner, addresses, url, shutdown, finished, [Symbol.asyncDispose]: shutdown };
}

/**
 * Starts serving an application and returns a handle to stop it:
 * {@linkcode runApp} for programs and tests that stop the server
 * themselves. The startup signals run first; a failing hook rejects with
 * its `LifecycleError` (`SLUICE_ERR_STARTUP`), after tearing down what was
 * set up, and nothing listens. A site that cannot listen rejects with
 * `ListenError`, after the sites already started were stopped and the
 * shutdown and cleanup signals ran. By default it neither prints a banner
 * nor handles SIGINT/SIGTERM.
 *
 * @param app An application (`handleIncoming` or `fetch`, and signals) or a fetch handler.
 * @param options Where to listen and how (see {@linkcode ServeOptions}).
 * @returns The running server.
 *
 * @example
 * ```ts
 * import { serve } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * await using server = await serve(() => new Response("Hello"), { hostname: "127.0.0.1", port: 0 });
 * const response = await fetch(server.url);
 * assert.equal(await response.text(), "Hello");
 * ```
 */
export function serve(
  app: ServerApp | FetchHandler,
  options: ServeOptions = {},
): Promise<ServerHandle> {
  return start(app, options, { handleSignals: false, print: null });
}

/**
 * Runs an application until it is asked to stop: aiohttp's `web.run_app`.
 * It runs the startup signals, listens (see {@linkcode ServeOptions} for
 * where), prints `======== Running on http://0.0.0.0:8080 ========` and
 * serves until SIGINT (Ctrl-C), SIGTERM or `signal` aborts. Then it stops
 * gracefully: no new connections, idle keep-alive connections closed,
 * `Connection: close` on the responses in flight, which get up to
 * `shutdownTimeout` (60 s) to finish; then the shutdown and cleanup signals
 * (cleanup contexts in reverse order). The promise resolves once all of
 * that is done, so `await runApp(app)` ends a script cleanly.
 *
 * It rejects with the `LifecycleError` of a failing startup hook (nothing
 * listens then), with `ListenError` when an address cannot be listened on
 * (after the cleanup signals ran), or with a `LifecycleError` when
 * shutdown or cleanup hooks failed.
 *
 * The access log is off by default (aiohttp's goes to a logger that prints
 * nothing until logging is configured); `accessLog: true` prints it.
 *
 * With `workers` above 1 this process supervises that many serving copies
 * of the program instead of serving (see {@linkcode RunAppOptions}); it
 * resolves once they all stopped and sets a non-zero exit status when one
 * could not be kept running or stopped cleanly.
 *
 * @param app An application (`handleIncoming` or `fetch`, and signals) or a fetch handler.
 * @param options Where to listen and how (see {@linkcode RunAppOptions}).
 * @returns Resolves when the server has stopped and cleaned up.
 *
 * @example
 * ```ts ignore
 * import { runApp } from "@sluice/http";
 *
 * const app = {
 *   fetch: () => new Response("Hello"),
 *   onCleanup: [() => console.log("bye")],
 * };
 * await runApp(app, { hostname: "127.0.0.1", port: 8080, accessLog: true });
 * ```
 */
export async function runApp(
  app: ServerApp | FetchHandler,
  options: RunAppOptions = {},
): Promise<void> {
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(`Cannot run ${String(workers)} workers: not an integer ≥ 1`);
  }
  const index = workers > 1 ? workerIndex() : null;
  if (workers > 1 && index === null) {
    const code = await superviseWorkers(workers, {
      logger: options.logger ?? console,
      signal: options.signal,
      shutdownTimeout: options.shutdownTimeout ?? 60_000,
      handleSignals: options.handleSignals ?? true,
    });
    if (code !== 0) setExitCode(code);
    return;
  }
  const serving = { ...options };
  // A terminal's Ctrl-C reaches the whole process group, and the supervisor
  // then sends SIGTERM too: in a worker, that second signal is no reason to
  // give up on the graceful stop.
  const forceOnSecondSignal = index === null;
  if (index !== null) {
    // node:cluster shares one listening socket among the workers; Deno and Bun need SO_REUSEPORT.
    if (runtimeName() !== "node") serving.reusePort = true;
    // One banner for the group, from the first worker.
    if (index !== 0) serving.print = null;
  }
  const server = await start(app, serving, {
    handleSignals: true,
    print: (line) => console.log(line),
    forceOnSecondSignal,
  });
  try {
    await server.finished;
  } finally {
    if (index !== null) releaseWorkerChannel();
  }
}
