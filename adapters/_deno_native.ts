/**
 * The native backend of Deno: {@linkcode ServerBackend} over `Deno.serve`
 * (hyper underneath: HTTP/1.1, and HTTP/2 over TLS through ALPN).
 *
 * Deno parses; the checks of `server/_native_checks.ts` run above it. What
 * differs from the raw engine, and why, is in `docs/native_adapters.md`;
 * in short:
 *
 * - `request.signal` of `Deno.serve` also aborts after a successful
 *   response (Deno's "legacy abort", its default in 2.x). The request's
 *   `signal` here is our own, aborted only when Deno reports the client
 *   gone before the response completed (`info.completed` rejected, or the
 *   runtime's signal fired while the response was not yet complete). The
 *   first read of it makes Deno print a one-time notice about the legacy
 *   behaviour; `--unstable-no-legacy-abort` silences it.
 * - Deno has no idle, head or body timeout (a silent connection stays open
 *   for good), does not close a connection after a `Connection: close`
 *   response outside a shutdown, and cannot count requests per connection:
 *   `idleTimeout`, `headersTimeout`, `bodyTimeout`, `drainLimit` and
 *   `maxRequestsPerConnection` have no effect.
 * - Once `shutdown()` began, Deno offers no way to close the remaining
 *   connections (aborting the serve signal then throws `BadResource` from
 *   inside Deno). At the deadline the signals are aborted and handlers that
 *   have not answered get `503`; a response body that keeps streaming
 *   despite the aborted signal keeps its connection until it ends.
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

/** How long a forced shutdown waits for Deno to let go of its connections. */
const FORCE_GRACE_MS = 1000;

/** Deno tells that a connection is TLS, not how the handshake went. */
const TLS: TlsInfo = { protocol: null, alpnProtocol: null, servername: null, authorized: false };

const clientGone = () => new DOMException("The client closed the connection", "AbortError");

const denoRuntime: NativeRuntime<Deno.ServeHandlerInfo> = {
  engine: "deno",
  // Measured on Deno 2.9: 400 past 128 fields or a 64 KiB head, or for two Host fields;
  // DEL refused; `gzip, chunked` passed on; the Host as sent in request.url. Reading
  // request.headers costs Deno a Headers object and its slower response path.
  parser: {
    maxHeaders: 128,
    maxFieldLine: 65_000,
    acceptsDel: false,
    acceptsCodings: true,
    hostInUrl: true,
  },
  limitsBodies: false,
  byteBodies: true,
  nativeSignal: false,
  canForceClose: false,
  honoursConnectionClose: false,
  peer(_request, info) {
    const addr = info.remoteAddr;
    if (addr.transport === "tcp" || addr.transport === "udp") {
      return tcpAddress(addr.hostname, addr.port);
    }
    // Deno names the listener's path as the peer of a Unix socket; the peer has none.
    return { transport: "unix", path: "" };
  },
  watch(request, info, abort, done) {
    let complete = false;
    info.completed.then(
      () => {
        complete = true;
        done();
      },
      () => {
        abort(clientGone());
        done();
      },
    );
    // Legacy abort fires right after `completed` resolves: the check waits one
    // microtask, so that a delivered response is seen as such.
    request.signal.addEventListener(
      "abort",
      () => queueMicrotask(() => complete || abort(clientGone())),
      { once: true },
    );
  },
  completion: (info) => info.completed,
};

class DenoRunningServer implements RunningServer {
  readonly engine = "deno" as const;
  readonly address: Address;
  readonly #server: Deno.HttpServer;
  readonly #core: NativeServer<Deno.ServeHandlerInfo>;
  readonly #where: string;

  constructor(server: Deno.HttpServer, core: NativeServer<Deno.ServeHandlerInfo>, where: string) {
    this.#server = server;
    this.#core = core;
    this.#where = where;
    this.address = core.localAddress;
  }

  get connections(): number {
    return this.#core.inFlight;
  }

  readonly shutdown: (timeout: number) => Promise<void> = onceShutdown((timeout) =>
    this.#stop(timeout)
  );

  async #stop(timeout: number): Promise<void> {
    this.#core.beginShutdown();
    const finished = this.#server.shutdown();
    if (await settlesWithin(finished, timeout)) return;
    this.#core.force();
    if (await settlesWithin(finished, FORCE_GRACE_MS)) return;
    this.#core.logger.error(
      `Cannot close every connection of ${this.#where}: Deno.serve cannot close connections ` +
        "once its shutdown began, so response bodies still streaming keep theirs until they end",
    );
  }
}

/**
 * The {@linkcode ServerBackend} of `Deno.serve` (engine `"deno"`). Listens
 * on TCP (`hostname`, `port`, `reusePort`, `backlog`), a Unix socket
 * (`path`) or TLS (`tls.cert` and `tls.key`; Deno offers `h2` and
 * `http/1.1`). Options it cannot honour (`fd`, `tls.ca`, `tls.requestCert`,
 * `tls.alpnProtocols`) reject with `SLUICE_ERR_LISTEN_UNSUPPORTED`.
 *
 * @example Serve on a random port, then stop
 * ```ts ignore
 * import { denoNativeBackend } from "@sluice/http/adapters/deno";
 * import assert from "node:assert/strict";
 *
 * const server = await denoNativeBackend.listen(
 *   { hostname: "127.0.0.1", port: 0 },
 *   (req) => new Response(`Hello from ${req.pathname}`),
 *   {},
 * );
 * assert.equal(server.engine, "deno");
 * await server.shutdown(1000);
 * ```
 */
export const denoNativeBackend: ServerBackend = {
  engine: "deno",
  async listen(
    listen: ListenOptions,
    handler: IncomingHandler,
    options: ServerOptions,
  ): Promise<RunningServer> {
    const where = describeListen(listen);
    const deno = (globalThis as { Deno?: typeof Deno }).Deno;
    if (typeof deno?.serve !== "function") {
      throw unsupported(where, "Deno.serve", "this runtime is not Deno");
    }
    const { tls, path } = listen;
    if (listen.fd !== undefined) {
      throw unsupported(where, "Deno.serve", "it cannot adopt a file descriptor");
    }
    if (tls?.requestCert === true || tls?.ca !== undefined) {
      throw unsupported(where, "Deno.serve", "it cannot request or verify client certificates");
    }
    if (tls?.alpnProtocols !== undefined) {
      throw unsupported(
        where,
        "Deno.serve",
        "it always offers h2 and http/1.1 and takes no ALPN list",
      );
    }
    const core = new NativeServer(denoRuntime, handler, options, tls === undefined ? null : TLS);
    if (path !== undefined) await removeStaleSocket(path, where);
    let server: Deno.HttpServer;
    try {
      const common = { onListen: () => {}, onError: core.onError };
      server = path !== undefined ? deno.serve({ ...common, path }, core.handle) : deno.serve({
        ...common,
        hostname: listen.hostname ?? "0.0.0.0",
        port: listen.port ?? 0,
        reusePort: listen.reusePort === true,
        tcpBacklog: listen.backlog,
        ...(tls === undefined ? {} : { cert: pemText(tls.cert), key: pemText(tls.key) }),
      }, core.handle);
    } catch (error) {
      throw toListenError(error, where);
    }
    const addr = server.addr as Deno.Addr;
    core.localAddress = addr.transport === "unix"
      ? { transport: "unix", path: addr.path }
      : addr.transport === "tcp" || addr.transport === "udp"
      ? tcpAddress(addr.hostname, addr.port)
      : core.localAddress;
    return new DenoRunningServer(server, core, where);
  },
};
