/**
 * The client side of the transport contract: opening TCP, TLS and Unix
 * socket connections on each runtime. A {@linkcode ClientTransport} dials and
 * resolves with a {@linkcode Conn}, the same push-based connection the server
 * engine drives (see `transport.ts`), not yet reading until `start()`.
 *
 * - Node (and the fallback elsewhere): `node:net` / `node:tls` `connect`.
 * - Deno: `Deno.connect` / `Deno.connectTls` / `Deno.startTls`; what Deno
 *   cannot do per connection (`tls.insecure`, `localAddress`, a client
 *   certificate together with a `servername`, TLS with an abort `signal`)
 *   goes through its `node:tls`.
 * - Bun: `Bun.connect` (TCP, TLS, Unix); `localAddress` goes through its
 *   `node:net`.
 * - Proxy tunnels (`tunnel`): the adapter itself dials the proxy, sends
 *   `CONNECT`, reads the proxy's response head and no byte further, then
 *   starts TLS to the target over the tunnel, and resolves one `Conn` as a
 *   direct connect does. This runs on `node:net`/`node:tls` on every runtime
 *   (Deno's and Bun's Node compatibility): `Deno.startTls` cannot skip
 *   verification (`insecure`) nor be aborted cleanly, and one path for all
 *   three behaves the same.
 *
 * Failures reject with a {@linkcode ConnectError} whose `code` says what went
 * wrong; an `AbortSignal` stops a connect in progress and closes any socket
 * that still arrives.
 *
 * @module
 */

import { SluiceError } from "../util/errors.ts";
import type { Conn } from "./transport.ts";
import {
  authorityOf,
  type Dial,
  type DialProgress,
  DNS,
  messageOf,
  nodeDial,
  ProxyAnswerError,
  REFUSED,
  RESET,
  syscallCodeOf,
  TLS_MESSAGE,
  validate,
} from "./_connect_node.ts";
import { denoDial } from "./_connect_deno.ts";
import { bunDial } from "./_connect_bun.ts";

export type { Address, Conn, ConnEvents, TlsInfo } from "./transport.ts";
export { SluiceError } from "../util/errors.ts";

/**
 * TLS settings of an outgoing connection. Verification is on unless
 * `insecure` is set.
 *
 * @example Trust a private CA and offer HTTP/1.1 through ALPN
 * ```ts
 * import type { ConnectTlsOptions } from "@sluice/http/adapters/connect";
 *
 * const tls: ConnectTlsOptions = { ca: "-----BEGIN CERTIFICATE-----…", alpnProtocols: ["http/1.1"] };
 * ```
 */
export interface ConnectTlsOptions {
  /** Server name sent through SNI and checked against the certificate. Default: `hostname` (when it is not an IP address). */
  servername?: string;
  /** Certificate authorities (PEM) trusted in addition to the runtime's default ones. */
  ca?: string | string[];
  /** Client certificate chain (PEM), with `key`. */
  cert?: string;
  /** Private key (PEM) of the client certificate. */
  key?: string;
  /** Skip verifying the server's certificate. For tests and trusted networks only. */
  insecure?: boolean;
  /** Protocols offered through ALPN, most preferred first; the choice is in `conn.tls.alpnProtocol`. */
  alpnProtocols?: string[];
}

/**
 * A `CONNECT` tunnel through an HTTP proxy: the connection goes to the proxy,
 * which is asked to connect to `hostname:port` of the {@linkcode ConnectOptions}.
 *
 * @example Through a proxy that wants credentials
 * ```ts
 * import type { ConnectTunnelOptions } from "@sluice/http/adapters/connect";
 *
 * const tunnel: ConnectTunnelOptions = {
 *   proxyHostname: "proxy.test",
 *   proxyPort: 3128,
 *   headers: [["proxy-authorization", "Basic dXNlcjpwYXNz"]],
 * };
 * ```
 */
export interface ConnectTunnelOptions {
  /** Host name or IP address of the proxy. */
  proxyHostname: string;
  /** TCP port of the proxy. */
  proxyPort: number;
  /** Speak TLS to the proxy itself (an `https:` proxy URL), with these settings. */
  proxyTls?: ConnectTlsOptions;
  /** Extra header fields of the `CONNECT` request, e.g. `Proxy-Authorization`. */
  headers?: ReadonlyArray<readonly [string, string]>;
}

/**
 * Where and how to connect: `hostname` and `port` (TCP), or `unix` (a Unix
 * domain socket path, which then replaces them). With `tunnel`, `hostname`
 * and `port` are the target asked of the proxy and `tls` the TLS to the
 * target inside the tunnel.
 *
 * @example
 * ```ts
 * import type { ConnectOptions } from "@sluice/http/adapters/connect";
 *
 * const options: ConnectOptions = { hostname: "example.com", port: 443, tls: {} };
 * ```
 */
export interface ConnectOptions {
  /** Host name or IP address to connect to. */
  hostname: string;
  /** TCP port. */
  port: number;
  /** Speak TLS on the connection, with these settings. */
  tls?: ConnectTlsOptions;
  /** Connect to this Unix domain socket path instead of `hostname`/`port`. */
  unix?: string;
  /** Local IP address to connect from. */
  localAddress?: string;
  /** Go through this HTTP proxy with a `CONNECT` tunnel (not with `unix`). */
  tunnel?: ConnectTunnelOptions;
  /** Aborts the connect in progress; a socket that arrives afterwards is closed. */
  signal?: AbortSignal;
}

/**
 * A runtime's way to open connections.
 *
 * @example Connect and send a line
 * ```ts
 * import { defaultClientTransport } from "@sluice/http/adapters/connect";
 * import { createServer } from "node:net";
 *
 * const server = createServer((socket) => socket.end());
 * await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
 * const { port } = server.address() as { port: number };
 * const conn = await defaultClientTransport().connect({ hostname: "127.0.0.1", port });
 * conn.start({ data() {}, end: () => conn.end(), drain() {}, close: () => server.close() });
 * conn.write(new TextEncoder().encode("hello\n"));
 * ```
 */
export interface ClientTransport {
  /**
   * Opens a connection (and completes its TLS handshake). Resolves with a
   * {@linkcode Conn} that reads nothing before `start()`; rejects with a
   * {@linkcode ConnectError}, or a `TypeError` for malformed options.
   */
  connect(options: ConnectOptions): Promise<Conn>;
}

/** A stable code of {@linkcode ConnectError}. */
export type ConnectErrorCode =
  | "SLUICE_ERR_CONNECT_REFUSED"
  | "SLUICE_ERR_CONNECT_RESET"
  | "SLUICE_ERR_CONNECT_TLS"
  | "SLUICE_ERR_CONNECT_DNS"
  | "SLUICE_ERR_CONNECT_PROXY"
  | "SLUICE_ERR_CONNECT_ABORTED";

/**
 * A connection could not be opened. `code` says why:
 * `SLUICE_ERR_CONNECT_REFUSED` (nothing listens there),
 * `SLUICE_ERR_CONNECT_RESET` (the peer or the network broke the connection,
 * or anything else the OS reported: see `syscallCode`),
 * `SLUICE_ERR_CONNECT_TLS` (certificate or handshake failure),
 * `SLUICE_ERR_CONNECT_DNS` (the name does not resolve),
 * `SLUICE_ERR_CONNECT_PROXY` (the proxy refused the `CONNECT` tunnel: its
 * status is in `status`, e.g. 407 or 502, or `null` when it did not answer
 * with HTTP), `SLUICE_ERR_CONNECT_ABORTED` (the signal fired). The runtime's
 * error is the `cause`.
 *
 * @example Tell a refused connection from other failures
 * ```ts
 * import { ConnectError, defaultClientTransport } from "@sluice/http/adapters/connect";
 * import assert from "node:assert/strict";
 *
 * try {
 *   await defaultClientTransport().connect({ hostname: "127.0.0.1", port: 1 });
 *   assert.fail("expected a refusal");
 * } catch (err) {
 *   assert.ok(err instanceof ConnectError);
 *   assert.equal(err.code, "SLUICE_ERR_CONNECT_REFUSED");
 * }
 * ```
 */
export class ConnectError extends SluiceError {
  /** Stable machine-readable code, one of {@linkcode ConnectErrorCode}. */
  override readonly code: ConnectErrorCode;
  /** Where the connection went, as text: `example.com:443`, `[::1]:80`, `unix:/run/app.sock`. */
  readonly address: string;
  /** The OS error code (`"ECONNREFUSED"`, `"ENOTFOUND"`, …), or `null` when none applies. */
  readonly syscallCode: string | null;
  /** The proxy's status code for `SLUICE_ERR_CONNECT_PROXY`, else `null`. */
  readonly status: number | null;

  /**
   * Creates a connect error.
   *
   * @param code One of the stable connect error codes.
   * @param message "Cannot connect to <address>: reason".
   * @param details The address as text, the OS code, the proxy's status and the underlying error.
   */
  constructor(
    code: ConnectErrorCode,
    message: string,
    details: {
      address: string;
      syscallCode?: string | null;
      status?: number | null;
      cause?: unknown;
    },
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.address = details.address;
    this.syscallCode = details.syscallCode ?? null;
    this.status = details.status ?? null;
  }
}

/** The address of `options` as text, for messages. */
function describeTarget(options: ConnectOptions): string {
  if (options.unix !== undefined) return `unix:${options.unix}`;
  return authorityOf(options.hostname, options.port);
}

/** The address of `options` for messages: with the proxy of a tunnel. */
function describeRoute(options: ConnectOptions): string {
  const { tunnel } = options;
  const target = describeTarget(options);
  if (tunnel === undefined) return target;
  return `${target} through the proxy ${authorityOf(tunnel.proxyHostname, tunnel.proxyPort)}`;
}

/** Sorts a runtime's connect failure into a {@linkcode ConnectError}. */
function toConnectError(
  error: unknown,
  options: ConnectOptions,
  progress: DialProgress,
): ConnectError {
  if (error instanceof ConnectError) return error;
  const address = describeTarget(options);
  const route = describeRoute(options);
  if (error instanceof ProxyAnswerError) {
    return new ConnectError(
      "SLUICE_ERR_CONNECT_PROXY",
      `Cannot connect to ${route}: ${error.message}`,
      {
        address,
        status: error.status,
        cause: error,
      },
    );
  }
  const syscallCode = syscallCodeOf(error);
  const message = messageOf(error);
  const details = { address, syscallCode, cause: error };
  const reason = syscallCode !== null && !message.includes(syscallCode)
    ? `${message} (${syscallCode})`
    : message;
  const dns = syscallCode !== null && DNS.has(syscallCode) ||
    /failed to lookup address|getaddrinfo/i.test(message);
  if (dns && progress.phase === "tcp") {
    const name = options.tunnel?.proxyHostname ?? options.hostname;
    return new ConnectError(
      "SLUICE_ERR_CONNECT_DNS",
      `Cannot connect to ${route}: the name ${name} was not found (${reason})`,
      details,
    );
  }
  if (syscallCode !== null && REFUSED.has(syscallCode) || /refused/i.test(message)) {
    return new ConnectError(
      "SLUICE_ERR_CONNECT_REFUSED",
      `Cannot connect to ${route}: connection refused (${reason})`,
      details,
    );
  }
  const isReset = syscallCode !== null && RESET.has(syscallCode) ||
    /reset|socket hang up|closed|disconnected/i.test(message);
  if (progress.phase === "tls" && (!isReset || TLS_MESSAGE.test(message))) {
    const servername = progress.tlsName ?? options.tls?.servername ?? options.hostname;
    return new ConnectError(
      "SLUICE_ERR_CONNECT_TLS",
      `Cannot connect to ${route}: TLS with ${servername} failed: ${reason}`,
      details,
    );
  }
  return new ConnectError(
    "SLUICE_ERR_CONNECT_RESET",
    `Cannot connect to ${route}: ${isReset ? "connection reset" : "connection failed"} (${reason})`,
    details,
  );
}

function abortError(options: ConnectOptions, reason: unknown): ConnectError {
  const address = describeTarget(options);
  return new ConnectError(
    "SLUICE_ERR_CONNECT_ABORTED",
    `Cannot connect to ${describeRoute(options)}: aborted by the signal`,
    { address, cause: reason },
  );
}

/**
 * Runs a dialer with the checks every runtime shares: option validation,
 * typed errors, and an abort that settles at once whatever the runtime does
 * (a connection that arrives after it is destroyed).
 */
function guardedConnect(dial: Dial, options: ConnectOptions): Promise<Conn> {
  try {
    validate(options);
  } catch (error) {
    return Promise.reject(error);
  }
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortError(options, signal.reason));
  const progress: DialProgress = { phase: "tcp" };
  return new Promise<Conn>((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      reject(abortError(options, signal!.reason));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    dial(options, progress).then(
      (conn) => {
        signal?.removeEventListener("abort", onAbort);
        if (settled || signal?.aborted) {
          conn.destroy();
          onAbort();
          return;
        }
        settled = true;
        resolve(conn);
      },
      (error: unknown) => {
        signal?.removeEventListener("abort", onAbort);
        if (settled) return;
        if (signal?.aborted) return onAbort();
        settled = true;
        reject(toConnectError(error, options, progress));
      },
    );
  });
}

/** A {@linkcode ClientTransport} over one runtime's dialer. */
class GuardedTransport implements ClientTransport {
  readonly #dial: Dial;
  constructor(dial: Dial) {
    this.#dial = dial;
  }
  connect(options: ConnectOptions): Promise<Conn> {
    return guardedConnect(this.#dial, options);
  }
}

/**
 * The {@linkcode ClientTransport} of `node:net` and `node:tls`. It works on
 * Deno and Bun too, through their Node compatibility.
 *
 * @example
 * ```ts
 * import { nodeClientTransport } from "@sluice/http/adapters/connect";
 *
 * const connecting = nodeClientTransport.connect({ hostname: "127.0.0.1", port: 1 });
 * await connecting.catch(() => {}); // SLUICE_ERR_CONNECT_REFUSED
 * ```
 */
export const nodeClientTransport: ClientTransport = new GuardedTransport(nodeDial);

/**
 * The {@linkcode ClientTransport} of Deno's own sockets (`Deno.connect`,
 * `Deno.connectTls`, `Deno.startTls`); only on Deno.
 *
 * @example
 * ```ts
 * import { denoClientTransport, nodeClientTransport } from "@sluice/http/adapters/connect";
 *
 * const transport = "Deno" in globalThis ? denoClientTransport : nodeClientTransport;
 * ```
 */
export const denoClientTransport: ClientTransport = new GuardedTransport(denoDial);

/**
 * The {@linkcode ClientTransport} of Bun's own sockets (`Bun.connect`); only
 * on Bun.
 *
 * @example
 * ```ts
 * import { bunClientTransport, nodeClientTransport } from "@sluice/http/adapters/connect";
 *
 * const transport = "Bun" in globalThis ? bunClientTransport : nodeClientTransport;
 * ```
 */
export const bunClientTransport: ClientTransport = new GuardedTransport(bunDial);

/**
 * The {@linkcode ClientTransport} for the runtime this code runs on:
 * Deno's, Bun's or Node's own sockets.
 *
 * @returns The transport to open client connections with.
 *
 * @example
 * ```ts
 * import { defaultClientTransport } from "@sluice/http/adapters/connect";
 * import assert from "node:assert/strict";
 *
 * assert.equal(typeof defaultClientTransport().connect, "function");
 * ```
 */
export function defaultClientTransport(): ClientTransport {
  if ("Deno" in globalThis) return denoClientTransport;
  if ("Bun" in globalThis) return bunClientTransport;
  return nodeClientTransport;
}
