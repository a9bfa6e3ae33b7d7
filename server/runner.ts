/**
 * aiohttp's `AppRunner` and its sites: one application, set up once (its
 * startup signals), served on any number of addresses at once (TCP, Unix
 * sockets, adopted file descriptors), then stopped gracefully and cleaned up.
 *
 * ```
 * const runner = new AppRunner(app);
 * await runner.setup();                  // onStartup hooks, cleanup contexts entered
 * await new TCPSite(runner, { port: 8080 }).start();
 * await new UnixSite(runner, "/run/app.sock").start();
 * // ...
 * await runner.cleanup();                // sites stopped, onShutdown, contexts, onCleanup
 * ```
 *
 * At cleanup the order is the one of Sluice's graceful shutdown: every site
 * stops accepting, idle keep-alive connections close, the responses in
 * flight get `Connection: close` and may finish for up to `shutdownTimeout`
 * (then what is left is closed), and only then run the `onShutdown` hooks,
 * the cleanup contexts (in reverse order) and the `onCleanup` hooks. (aiohttp
 * runs `on_shutdown` before waiting for the requests in flight.)
 *
 * @module
 */

import { defaultBackend } from "../adapters/auto.ts";
import type { ListenOptions } from "../adapters/transport.ts";
import { createAccessLogger } from "./access_log.ts";
import {
  LifecycleError,
  runCleanup,
  runShutdown,
  runStartup,
  toIncomingHandler,
} from "./lifecycle.ts";
import type {
  AccessLogEntry,
  Address,
  FetchHandler,
  IncomingHandler,
  RunningServer,
  ServerApp,
  ServerBackend,
  ServerLogger,
  ServerOptions,
} from "./types.ts";
import { type BaseSite, runnerAccess } from "./_sites.ts";

export { BaseSite, SockSite, TCPSite, type TCPSiteOptions, UnixSite } from "./_sites.ts";

/**
 * The access log: `true` for aiohttp's default format on standard output, a
 * format string (see `compileAccessLogFormat`) for that format on standard
 * output, a function to receive each entry, or `false`/`null` for none.
 *
 * @example
 * ```ts
 * import type { AccessLogOption } from "@sluice/http";
 *
 * const short: AccessLogOption = '%a "%r" %s %Tf';
 * ```
 */
export type AccessLogOption = boolean | string | ((entry: AccessLogEntry) => void) | null;

/**
 * Options of an {@linkcode AppRunner}: how to serve (every
 * {@linkcode ServerOptions} field), with which backend, how long a graceful
 * stop may take and where the access log goes.
 *
 * @example
 * ```ts
 * import type { AppRunnerOptions } from "@sluice/http";
 *
 * const options: AppRunnerOptions = { shutdownTimeout: 10_000, accessLog: true, idleTimeout: 5_000 };
 * ```
 */
export interface AppRunnerOptions extends ServerOptions {
  /** The server to use. Default: `defaultBackend()`, the fastest one measured on this runtime. */
  backend?: ServerBackend;
  /** How long requests in flight may take to finish at cleanup, in ms, before their connections are closed. Default 60 000 (aiohttp's). */
  shutdownTimeout?: number;
  /** The access log. Default: none. */
  accessLog?: AccessLogOption;
}

/** Writes to the console. */
const consoleLogger: ServerLogger = {
  error: (message, error) =>
    error === undefined ? console.error(message) : console.error(message, error),
  info: (message) => console.log(message),
};

function accessLogger(
  option: AccessLogOption | undefined,
): ((entry: AccessLogEntry) => void) | null {
  if (option === undefined || option === null || option === false) return null;
  if (option === true) return createAccessLogger();
  if (typeof option === "string") return createAccessLogger(option);
  if (typeof option === "function") return option;
  throw new TypeError(
    `Cannot use accessLog ${
      String(option)
    }: it is neither a boolean, a format string nor a function`,
  );
}

function both<T>(a: ((value: T) => void) | null, b: ((value: T) => void) | null) {
  if (a === null || b === null) return a ?? b;
  return (value: T) => {
    a(value);
    b(value);
  };
}

/** The two stop failures (shutdown hooks, then cleanup) as one error. */
function merged(errors: LifecycleError[]): LifecycleError {
  if (errors.length === 1) return errors[0];
  return new LifecycleError("SLUICE_ERR_CLEANUP", errors.map((e) => e.message).join("; "), {
    hook: errors[0].hook,
    errors: errors.flatMap((e) => e.errors),
  });
}

/**
 * Sets an application up, serves it on any number of sites and stops it
 * gracefully: aiohttp's `AppRunner`. An application is a {@linkcode ServerApp}
 * (its `handleIncoming` or `fetch`, and its lifecycle signals) or a plain
 * fetch handler (no signals).
 *
 * `setup()` runs the startup signals; sites can start only after it.
 * `cleanup()` (or `await using`) stops every site (stop accepting, finish
 * the requests in flight for up to `shutdownTimeout`), then runs the
 * shutdown and cleanup signals. A failed `setup()` has torn down what it set
 * up; `cleanup()` after it stops nothing and runs no hook.
 *
 * @example Serve one application on two addresses
 * ```ts
 * import { AppRunner, TCPSite } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const app = { fetch: () => new Response("Hello") };
 * await using runner = new AppRunner(app, { shutdownTimeout: 5_000 });
 * await runner.setup();
 * const site = new TCPSite(runner, { hostname: "127.0.0.1", port: 0 });
 * await site.start();
 * await new TCPSite(runner, { hostname: "127.0.0.1", port: 0 }).start();
 * const response = await fetch(site.name);
 * assert.equal(await response.text(), "Hello");
 * assert.equal(runner.addresses.length, 2);
 * ```
 */
export class AppRunner {
  /** What is served. */
  readonly app: ServerApp | FetchHandler;
  /** How long a graceful stop waits for requests in flight, in ms. */
  readonly shutdownTimeout: number;
  /** Where the runner and its servers report errors. */
  readonly logger: ServerLogger;
  #backend: ServerBackend | null;
  readonly #handler: IncomingHandler;
  readonly #serverOptions: ServerOptions;
  readonly #sites = new Set<BaseSite>();
  readonly #pending = new Set<Promise<unknown>>();
  #state: "new" | "starting" | "ready" | "failed" | "stopping" = "new";
  #setup: Promise<void> | null = null;
  #started = false;
  #cleanup: Promise<void> | null = null;

  static {
    runnerAccess.isRunner = (value) => value instanceof AppRunner;
    runnerAccess.listen = (runner, site, options) => runner.#listen(site, options);
    runnerAccess.forget = (runner, site) => void runner.#sites.delete(site);
  }

  /**
   * Makes a runner. Nothing runs until {@linkcode AppRunner.setup}.
   *
   * @param app An application (`handleIncoming` or `fetch`, and signals) or a fetch handler.
   * @param options The backend, timeouts, access log and server options.
   */
  constructor(app: ServerApp | FetchHandler, options: AppRunnerOptions = {}) {
    const { backend, shutdownTimeout = 60_000, accessLog, ...serverOptions } = options;
    if (typeof shutdownTimeout !== "number" || !(shutdownTimeout >= 0)) {
      throw new RangeError(
        `Cannot use shutdownTimeout ${String(shutdownTimeout)}: not a number of milliseconds ≥ 0`,
      );
    }
    this.#handler = toIncomingHandler(app);
    this.app = app;
    this.shutdownTimeout = shutdownTimeout;
    this.logger = serverOptions.logger ?? consoleLogger;
    this.#backend = backend ?? null;
    const onAccess = both(accessLogger(accessLog), serverOptions.onAccess ?? null);
    this.#serverOptions = { ...serverOptions, logger: this.logger, onAccess };
  }

  /** The backend that serves (chosen on first use when none was given). */
  get backend(): ServerBackend {
    return (this.#backend ??= defaultBackend());
  }

  /** The sites serving now, in the order they started. */
  get sites(): readonly BaseSite[] {
    return [...this.#sites];
  }

  /** Where the sites listen, in the order they started (real ports where 0 was asked for). */
  get addresses(): Address[] {
    return [...this.#sites].map((site) => site.address).filter((a) => a !== null);
  }

  /**
   * Runs the startup signals: `onStartup` hooks, then cleanup contexts up to
   * their `yield`. Rejects with the `LifecycleError` `SLUICE_ERR_STARTUP` of
   * a failing hook, after tearing down what was entered. Call it once.
   *
   * @returns Resolves when the application is ready to serve.
   */
  setup(): Promise<void> {
    if (this.#state !== "new") {
      return Promise.reject(
        new TypeError(
          this.#state === "stopping"
            ? "Cannot set up the runner: it was cleaned up"
            : "Cannot set up the runner: setup() was already called",
        ),
      );
    }
    this.#state = "starting";
    this.#setup = (async () => {
      try {
        if (typeof this.app !== "function") await runStartup(this.app);
      } catch (error) {
        if (this.#state === "starting") this.#state = "failed";
        throw error;
      }
      this.#started = true;
      if (this.#state === "starting") this.#state = "ready";
    })();
    return this.#setup;
  }

  /**
   * Stops every site gracefully (all at once: stop accepting, let requests
   * in flight finish for up to `shutdownTimeout`), then runs the `onShutdown`
   * hooks, the cleanup contexts in reverse order and the `onCleanup` hooks.
   * Waits for a `setup()` or site start still running first. Idempotent: a
   * second call returns the same promise. Rejects with a `LifecycleError`
   * when hooks failed (after everything ran); a site that fails to stop is
   * reported to the logger.
   *
   * @returns Resolves when everything is stopped and cleaned up.
   */
  cleanup(): Promise<void> {
    return (this.#cleanup ??= this.#stop());
  }

  /**
   * Same as {@linkcode AppRunner.cleanup}, for `await using`.
   *
   * @returns Resolves when everything is stopped and cleaned up.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.cleanup();
  }

  async #stop(): Promise<void> {
    this.#state = "stopping";
    if (this.#setup !== null) await this.#setup.catch(() => {});
    await Promise.allSettled(this.#pending);
    await Promise.all(this.sites.map((site) => site.stop()));
    // A setup never called, or one that failed (and tore down what it set up), leaves nothing to run.
    if (!this.#started || typeof this.app === "function") return;
    const errors: LifecycleError[] = [];
    for (const run of [runShutdown, runCleanup]) {
      try {
        await run(this.app);
      } catch (error) {
        errors.push(error as LifecycleError);
      }
    }
    if (errors.length > 0) throw merged(errors);
  }

  async #listen(site: BaseSite, options: ListenOptions): Promise<RunningServer> {
    if (this.#state !== "ready") {
      throw new TypeError(
        this.#state === "stopping"
          ? `Cannot start ${site.name}: the runner was cleaned up`
          : `Cannot start ${site.name}: call runner.setup() first (and wait for it)`,
      );
    }
    const listening = this.backend.listen(options, this.#handler, this.#serverOptions);
    this.#pending.add(listening);
    try {
      const server = await listening;
      this.#sites.add(site);
      return server;
    } finally {
      this.#pending.delete(listening);
    }
  }
}
