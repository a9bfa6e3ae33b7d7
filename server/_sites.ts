/**
 * The sites of an {@linkcode AppRunner}: where it serves (aiohttp's
 * `TCPSite`, `UnixSite` and `SockSite`). Exported from runner.ts.
 *
 * @module
 */

import type { ListenOptions, ListenTlsOptions } from "../adapters/transport.ts";
import type { AppRunner } from "./runner.ts";
import type { Address, RunningServer } from "./types.ts";

/** What a site needs of its runner's private parts; AppRunner's static block fills it in. */
export const runnerAccess: {
  isRunner(value: unknown): value is AppRunner;
  listen(runner: AppRunner, site: BaseSite, options: ListenOptions): Promise<RunningServer>;
  forget(runner: AppRunner, site: BaseSite): void;
} = {
  isRunner: (_value: unknown): _value is AppRunner => false,
  listen: () => Promise.reject(new TypeError("Cannot start a site: no AppRunner")),
  forget: () => {},
};

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
    if (!runnerAccess.isRunner(runner)) {
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
    this.#start = runnerAccess.listen(this.runner, this, this.#options).then((server) => {
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
      runnerAccess.forget(this.runner, this);
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
