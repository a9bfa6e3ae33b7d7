/**
 * The native backend of Bun: {@linkcode ServerBackend} over `Bun.serve`
 * (uWebSockets underneath, HTTP/1.1).
 *
 * Bun parses; the checks of `server/_native_checks.ts` run above it. What
 * differs from the raw engine, and why, is in `docs/native_adapters.md`;
 * in short:
 *
 * - `maxBodySize` is Bun's `maxRequestBodySize`: Bun answers `413` itself
 *   (no body) to a larger `Content-Length`, and fails a chunked body that
 *   grows past it (reads reject with a `BodyError`, `413` is sent).
 * - `idleTimeout` is Bun's, in whole seconds, at most 255 (longer values
 *   are capped); it also bounds a slow head or body and a handler that
 *   sends nothing for that long. `headersTimeout`, `bodyTimeout`,
 *   `drainLimit` and `maxRequestsPerConnection` have no effect of their own.
 * - `request.signal` of Bun aborts when the client goes away and when the
 *   server is forced down, and not after a delivered response: it is the
 *   request's `signal` as it is.
 *
 * @module
 */

import { type NativeRuntime, NativeServer } from "../server/_native_server.ts";
import type {
  IncomingHandler,
  RunningServer,
  ServerBackend,
  ServerOptions,
  TlsInfo,
} from "../server/types.ts";
import {
  describeListen,
  onceShutdown,
  pemText,
  removeStaleSocket,
  settlesWithin,
  tcpAddress,
  toListenError,
  unsupported,
} from "./_native_listen.ts";
import type { Address, ListenOptions } from "./transport.ts";

/** The parts of Bun's `Server` used here. */
interface BunServer {
  readonly port?: number;
  readonly hostname?: string;
  readonly pendingRequests: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
  requestIP(request: Request): { address: string; family: string; port: number } | null;
}

/** The options of `Bun.serve` used here. */
interface BunServeOptions {
  hostname?: string;
  port?: number;
  unix?: string;
  reusePort?: boolean;
  tls?: { cert: string; key: string };
  idleTimeout: number;
  maxRequestBodySize: number;
  development: boolean;
  fetch(request: Request, server: BunServer): Response | Promise<Response>;
  error(error: unknown): Response;
}

interface BunGlobal {
  serve(options: BunServeOptions): BunServer;
}

/** Bun tells that a connection is TLS, not how the handshake went. */
const TLS: TlsInfo = { protocol: null, alpnProtocol: null, servername: null, authorized: false };

/** How long a forced shutdown waits for Bun to let go of its connections. */
const FORCE_GRACE_MS = 1000;

/** Bun's idle timeout (seconds, 0 = none, at most 255) for `idleTimeout` in milliseconds. */
function idleSeconds(ms: number | undefined): number {
  if (ms === undefined) return 75;
  if (typeof ms !== "number" || !(ms >= 0)) {
    throw new RangeError(`Cannot use idleTimeout ${ms}: not a number of milliseconds ≥ 0`);
  }
  return ms === 0 ? 0 : Math.min(255, Math.ceil(ms / 1000));
}

function bunRuntime(unix: boolean): NativeRuntime<BunServer> {
  return {
    engine: "bun",
    // Measured on Bun 1.4: 431 past 198 fields or a 16 KiB head; DEL let through; codings
    // refused; request.url from the first Host, relative when Bun finds the Host invalid.
    parser: {
      maxHeaders: 198,
      maxFieldLine: 16_300,
      acceptsDel: true,
      acceptsCodings: false,
      hostInUrl: true,
    },
    limitsBodies: true,
    byteBodies: false,
    nativeSignal: true,
    canForceClose: true,
    honoursConnectionClose: true,
    peer(request, server): Address {
      if (unix) return { transport: "unix", path: "" };
      const ip = server.requestIP(request);
      // null once the socket is gone
      if (ip === null) return { transport: "tcp", hostname: "", port: 0, family: "IPv4" };
      return tcpAddress(ip.address, ip.port);
    },
    watch() {},
    completion: () => null,
  };
}

class BunRunningServer implements RunningServer {
  readonly engine = "bun" as const;
  readonly address: Address;
  readonly #server: BunServer;
  readonly #core: NativeServer<BunServer>;

  constructor(server: BunServer, core: NativeServer<BunServer>) {
    this.#server = server;
    this.#core = core;
    this.address = core.localAddress;
  }

  get connections(): number {
    return this.#server.pendingRequests;
  }

  readonly shutdown: (timeout: number) => Promise<void> = onceShutdown((timeout) =>
    this.#stop(timeout)
  );

  async #stop(timeout: number): Promise<void> {
    this.#core.beginShutdown();
    const graceful = this.#server.stop(false);
    if (await settlesWithin(graceful, timeout)) return;
    this.#core.force();
    await settlesWithin(this.#server.stop(true), FORCE_GRACE_MS);
    await settlesWithin(graceful, FORCE_GRACE_MS);
  }
}

/**
 * The {@linkcode ServerBackend} of `Bun.serve` (engine `"bun"`). Listens on
 * TCP (`hostname`, `port`, `reusePort`), a Unix socket (`path`) or TLS
 * (`tls.cert` and `tls.key`). Options it cannot honour (`fd`, `backlog`,
 * `tls.ca`, `tls.requestCert`, `tls.alpnProtocols`) reject with
 * `SLUICE_ERR_LISTEN_UNSUPPORTED`.
 *
 * @example Serve on a random port, then stop
 * ```ts ignore
 * import { bunNativeBackend } from "@sluice/http/adapters/bun";
 * import assert from "node:assert/strict";
 *
 * const server = await bunNativeBackend.listen(
 *   { hostname: "127.0.0.1", port: 0 },
 *   (req) => new Response(`Hello from ${req.pathname}`),
 *   {},
 * );
 * assert.equal(server.engine, "bun");
 * await server.shutdown(1000);
 * ```
 */
export const bunNativeBackend: ServerBackend = {
  engine: "bun",
  async listen(
    listen: ListenOptions,
    handler: IncomingHandler,
    options: ServerOptions,
  ): Promise<RunningServer> {
    const where = describeListen(listen);
    const bun = (globalThis as { Bun?: BunGlobal }).Bun;
    if (typeof bun?.serve !== "function") {
      throw unsupported(where, "Bun.serve", "this runtime is not Bun");
    }
    const { tls, path } = listen;
    if (listen.fd !== undefined) {
      throw unsupported(where, "Bun.serve", "it cannot adopt a file descriptor");
    }
    if (listen.backlog !== undefined) {
      throw unsupported(where, "Bun.serve", "it takes no backlog");
    }
    if (tls?.requestCert === true || tls?.ca !== undefined) {
      throw unsupported(where, "Bun.serve", "it cannot report client certificates");
    }
    if (tls?.alpnProtocols !== undefined) {
      throw unsupported(where, "Bun.serve", "it speaks http/1.1 only and takes no ALPN list");
    }
    const idleTimeout = idleSeconds(options.idleTimeout);
    const core = new NativeServer(
      bunRuntime(path !== undefined),
      handler,
      options,
      tls === undefined ? null : TLS,
    );
    if (path !== undefined) await removeStaleSocket(path, where);
    const max = core.limits.maxBodySize;
    let server: BunServer;
    try {
      server = bun.serve({
        ...(path !== undefined ? { unix: path } : {
          hostname: listen.hostname ?? "0.0.0.0",
          port: listen.port ?? 0,
          reusePort: listen.reusePort === true,
        }),
        ...(tls === undefined ? {} : { tls: { cert: pemText(tls.cert), key: pemText(tls.key) } }),
        idleTimeout,
        maxRequestBodySize: max > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : max,
        development: false,
        fetch: core.handle,
        error: core.onError,
      });
    } catch (error) {
      throw toListenError(error, where);
    }
    core.localAddress = path !== undefined
      ? { transport: "unix", path }
      : tcpAddress(server.hostname ?? listen.hostname ?? "0.0.0.0", server.port ?? 0);
    return new BunRunningServer(server, core);
  },
};
