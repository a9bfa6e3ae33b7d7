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
import type { ListenOptions, ListenTlsOptions } from "../adapters/transport.ts";
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

let listenThrough: (
  runner: AppRunner,
  site: BaseSite,
  options: ListenOptions,
) => Promise<RunningServer>;
let forgetSite: (runner: AppRunner, site: BaseSite) => void;

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
    listenThrough = (runner, site, options) => runner.#listen(site, options);
    forgetSite = (runner, site) => void runner.#sites.delete(site);
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

function hostText(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/** `http://127.0.0.1:8080`, `https://[::1]:8443`, `http://unix:/run/app.sock:` (aiohttp's site names). */
function siteName(where: Address | ListenOptions, secure: boolean): string {
  const scheme = secure ? "https" : "http";
  if ("transport" in where) {
    return where.transport === "unix"
      ? `${scheme}://unix:${where.path}:`
      : `${scheme}://${hostText(where.hostname)}:${where.port}`;
  }
  if (where.path !== undefined) return `${scheme}://unix:${where.path}:`;
  if (where.fd !== undefined) return `${scheme}://fd:${where.fd}`;
  return `${scheme}://${hostText(where.hostname ?? "0.0.0.0")}:${where.port ?? 0}`;
}

/**
 * One address an {@linkcode AppRunner} serves on: the common part of
 * {@linkcode TCPSite}, {@linkcode UnixSite} and {@linkcode SockSite}.
 *
 * @example List where a runner serves
 * ```ts
 * import type { AppRunner } from "@sluice/http";
 *
 * function where(runner: AppRunner): string {
 *   return runner.sites.map((site) => site.name).join(", ");
 * }
 * ```
 */
export class BaseSite {
  /** The runner whose application this site serves. */
  readonly runner: AppRunner;
  readonly #options: ListenOptions;
  #server: RunningServer | null = null;
  #start: Promise<void> | null = null;
  #stop: Promise<void> | null = null;

  /**
   * Makes a site; use a subclass.
   *
   * @param runner The runner whose application to serve.
   * @param options Where and how to listen.
   */
  constructor(runner: AppRunner, options: ListenOptions) {
    if (!(runner instanceof AppRunner)) {
      throw new TypeError("Cannot make a site: the runner is not an AppRunner");
    }
    this.runner = runner;
    this.#options = options;
  }

  /**
   * The site's URL-like name, as aiohttp prints it: `http://127.0.0.1:8080`,
   * `https://[::1]:8443`, `http://unix:/run/app.sock:`. Once started, it
   * shows the real address (the port the system picked for port 0).
   */
  get name(): string {
    return siteName(this.#server?.address ?? this.#options, this.#options.tls !== undefined);
  }

  /** Where it listens, or `null` until it has started (and after a failed start). */
  get address(): Address | null {
    return this.#server?.address ?? null;
  }

  /** The running server, or `null` until started. */
  get server(): RunningServer | null {
    return this.#server;
  }

  /**
   * Starts listening. The runner must be set up. Rejects with `ListenError`
   * when the address cannot be listened on, `TypeError` when called twice.
   *
   * @returns Resolves once the site accepts connections.
   */
  start(): Promise<void> {
    if (this.#start !== null || this.#stop !== null) {
      return Promise.reject(new TypeError(`Cannot start ${this.name}: start() was already called`));
    }
    this.#start = listenThrough(this.runner, this, this.#options).then((server) => {
      this.#server = server;
    });
    return this.#start;
  }

  /**
   * Stops gracefully: no new connections, idle ones closed, requests in
   * flight given the runner's `shutdownTimeout` to finish. Idempotent.
   *
   * @returns Resolves when every connection of the site is closed.
   */
  stop(): Promise<void> {
    return (this.#stop ??= this.#stopNow());
  }

  async #stopNow(): Promise<void> {
    try {
      await this.#start;
    } catch {
      return;
    }
    const server = this.#server;
    if (server === null) return;
    try {
      await server.shutdown(this.runner.shutdownTimeout);
    } catch (error) {
      this.runner.logger.error(`Cannot stop ${this.name} cleanly`, error);
    } finally {
      forgetSite(this.runner, this);
    }
  }
}

/**
 * Options of a {@linkcode TCPSite}.
 *
 * @example
 * ```ts
 * import type { TCPSiteOptions } from "@sluice/http";
 *
 * const options: TCPSiteOptions = { hostname: "::", port: 8080, backlog: 1024 };
 * ```
 */
export interface TCPSiteOptions {
  /** Interface to bind. Default `"0.0.0.0"` (every IPv4 interface). */
  hostname?: string;
  /** TCP port; 0 lets the system pick one. Default 8080 (8443 with `tls`), as aiohttp. */
  port?: number;
  /** Share the port with other processes (`SO_REUSEPORT`), where the runtime can. */
  reusePort?: boolean;
  /** Length of the queue of connections not yet accepted. */
  backlog?: number;
  /** Serve HTTPS with this certificate and key. */
  tls?: ListenTlsOptions;
}

/**
 * Serves a runner's application on a TCP address (aiohttp's `TCPSite`).
 *
 * @example
 * ```ts
 * import { AppRunner, TCPSite } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * await using runner = new AppRunner(() => new Response("ok"));
 * await runner.setup();
 * const site = new TCPSite(runner, { hostname: "127.0.0.1", port: 0 });
 * await site.start();
 * assert.match(site.name, /^http:\/\/127\.0\.0\.1:\d+$/);
 * ```
 */
export class TCPSite extends BaseSite {
  /**
   * Makes a TCP site of a runner.
   *
   * @param runner The runner whose application to serve.
   * @param options Address, port, TLS and socket options.
   */
  constructor(runner: AppRunner, options: TCPSiteOptions = {}) {
    const { hostname = "0.0.0.0", port, reusePort, backlog, tls } = options;
    super(runner, {
      hostname,
      port: port ?? (tls ? 8443 : 8080),
      ...(reusePort !== undefined ? { reusePort } : {}),
      ...(backlog !== undefined ? { backlog } : {}),
      ...(tls !== undefined ? { tls } : {}),
    });
  }
}

/**
 * Serves a runner's application on a Unix domain socket (aiohttp's
 * `UnixSite`). The socket file is removed when the site stops.
 *
 * @example
 * ```ts
 * import { AppRunner, UnixSite } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * await using runner = new AppRunner(() => new Response("ok"));
 * await runner.setup();
 * const site = new UnixSite(runner, `/tmp/sluice-doc-${Date.now()}.sock`);
 * assert.match(site.name, /^http:\/\/unix:\/tmp\/sluice-doc-\d+\.sock:$/);
 * ```
 */
export class UnixSite extends BaseSite {
  /**
   * Makes a Unix socket site of a runner.
   *
   * @param runner The runner whose application to serve.
   * @param path The socket file's path.
   * @param options TLS and the accept queue's length.
   */
  constructor(
    runner: AppRunner,
    path: string,
    options: { backlog?: number; tls?: ListenTlsOptions } = {},
  ) {
    if (typeof path !== "string" || path === "") {
      throw new TypeError("Cannot make a Unix site: the path is not a non-empty string");
    }
    super(runner, { path, ...options });
  }
}

/**
 * Serves a runner's application on a socket that is already bound and
 * listening, given by its file descriptor, e.g. from systemd socket
 * activation (aiohttp's `SockSite`). Where the backend cannot adopt a
 * descriptor, `start()` rejects with `ListenError`
 * `SLUICE_ERR_LISTEN_UNSUPPORTED`.
 *
 * @example
 * ```ts
 * import { AppRunner, SockSite } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const runner = new AppRunner(() => new Response("ok"));
 * const site = new SockSite(runner, 3);
 * assert.equal(site.name, "http://fd:3");
 * ```
 */
export class SockSite extends BaseSite {
  /**
   * Makes a site of a runner on an inherited socket.
   *
   * @param runner The runner whose application to serve.
   * @param fd The file descriptor of a listening socket.
   * @param options TLS.
   */
  constructor(runner: AppRunner, fd: number, options: { tls?: ListenTlsOptions } = {}) {
    if (!Number.isInteger(fd) || fd < 0) {
      throw new TypeError(`Cannot make a socket site: ${String(fd)} is not a file descriptor`);
    }
    super(runner, { fd, ...options });
  }
}
