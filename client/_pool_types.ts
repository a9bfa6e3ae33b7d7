/**
 * The plain types of the connection pool: options, request, result, stats.
 *
 * @module
 */

import type { ClientTransport } from "../adapters/connect.ts";
import type { ClientConnection, ConnectionRequest, ConnectionResponse } from "./_connection.ts";
import type { ConnectorTlsOptions } from "./_pool_connect.ts";
import type { ProxyInfo } from "./proxy_env.ts";
import type { AbortSource } from "./timeouts.ts";

/**
 * Options of a `Connector`.
 *
 * @example
 * ```ts
 * import type { ConnectorOptions } from "./pool.ts";
 *
 * const options: ConnectorOptions = { limit: 10, limitPerHost: 2, keepAliveTimeout: 5_000 };
 * ```
 */
export interface ConnectorOptions {
  /** Connections open at once in total (default 100; `0` = unlimited). */
  limit?: number;
  /** Connections open at once per key (default `0` = unlimited). */
  limitPerHost?: number;
  /** How long an idle connection is kept, in ms (default 15 000; capped by the server's `Keep-Alive: timeout` − 1 s). */
  keepAliveTimeout?: number;
  /** Close every connection after its response instead of keeping it (default `false`). */
  forceClose?: boolean;
  /** How connections are opened (default: the runtime's own sockets). */
  transport?: ClientTransport;
  /** TLS settings of `https:` connections. */
  tls?: ConnectorTlsOptions;
  /** Local IP address to connect from. */
  localAddress?: string;
  /** Cache resolved addresses for `ttlDnsCache` ms (default `true`). */
  useDnsCache?: boolean;
  /** How long resolved addresses are cached, in ms (default 10 000; `Infinity`: forever). */
  ttlDnsCache?: number;
  /** Address family to connect over: `4`, `6` or `0` for both (default `0`). */
  family?: 0 | 4 | 6;
  /**
   * Ms to wait for a connection attempt before also trying the next address
   * of the host (RFC 8305 Happy Eyeballs; default 250).
   */
  happyEyeballsDelay?: number;
  /**
   * Connect every connection to this Unix domain socket path instead of the
   * URL's host and port (aiohttp's `UnixConnector`); the URL still gives the
   * `Host` field and the request-target.
   */
  socketPath?: string;
  /** Resolves host names (default: `resolveHost` of `adapters/resolve.ts`). For tests and custom DNS. */
  resolver?: (
    hostname: string,
    options: { family?: 0 | 4 | 6; signal?: AbortSignal },
  ) => Promise<{ address: string; family: 4 | 6 }[]>;
}

/**
 * The phases a `Connector` request reports to its timer: the wait for a free
 * connection (only when it waits), opening one (DNS, TCP, TLS), and from
 * sending the request until the response head. Structurally what the
 * session's `PhaseTimer` offers. Every `start` is matched by an `end`, on
 * errors too.
 *
 * @example
 * ```ts
 * import type { PoolTimer } from "./pool.ts";
 *
 * const log: string[] = [];
 * const timer: PoolTimer = { start: (p) => log.push(`+${p}`), end: (p) => log.push(`-${p}`) };
 * ```
 */
export interface PoolTimer {
  /** A phase begins. */
  start(phase: "poolWait" | "connect" | "headers"): void;
  /** A phase ends. */
  end(phase: "poolWait" | "connect" | "headers"): void;
  /** Whether a phase has a deadline at all (lets the pool skip the calls when not). */
  hasTimeout?(phase: "poolWait" | "connect" | "headers"): boolean;
}

/**
 * Connection-level tracing callbacks, named as aiohttp's `TraceConfig`
 * signals (camelCase). All optional; an observer that throws is ignored.
 *
 * @example Count new connections and DNS cache hits
 * ```ts
 * import type { PoolObserver } from "./pool.ts";
 *
 * const counts = { created: 0, dnsHits: 0 };
 * const observer: PoolObserver = {
 *   connectionCreateEnd: () => counts.created++,
 *   dnsCacheHit: () => counts.dnsHits++,
 * };
 * ```
 */
export interface PoolObserver {
  /** The request waits for a free connection. */
  connectionQueuedStart?(event: { key: string }): void;
  /** The wait for a free connection ended (a slot, an abort or a close). */
  connectionQueuedEnd?(event: { key: string }): void;
  /** A new connection is being opened. */
  connectionCreateStart?(event: { key: string }): void;
  /** Opening the new connection ended (opened or failed). */
  connectionCreateEnd?(event: { key: string }): void;
  /** An idle keep-alive connection is reused. */
  connectionReuseconn?(event: { key: string }): void;
  /** A host name is being resolved (a DNS cache miss, or no cache). */
  dnsResolveHostStart?(event: { host: string }): void;
  /** The resolution ended; `addresses` is empty when it failed. */
  dnsResolveHostEnd?(event: { host: string; addresses: string[] }): void;
  /** The host's addresses came from the DNS cache. */
  dnsCacheHit?(event: { host: string }): void;
  /** The DNS cache had no live answer for the host. */
  dnsCacheMiss?(event: { host: string }): void;
}

/**
 * Per-request options of `Connector.request`.
 *
 * @example
 * ```ts
 * import type { PoolRequestOptions } from "./pool.ts";
 *
 * const options: PoolRequestOptions = { signal: AbortSignal.timeout(5_000) };
 * ```
 */
export interface PoolRequestOptions {
  /** Aborts the wait for a slot, the connect and the exchange (an `AbortSignal`, or a `PhaseTimer`). */
  signal?: AbortSource;
  /** Told when each phase starts and ends. */
  timer?: PoolTimer;
  /** Connection and DNS tracing callbacks. */
  trace?: PoolObserver;
  /**
   * Send the request through this proxy: absolute-form to the proxy for an
   * `http:` URL, a `CONNECT` tunnel for `https:`. Part of the pool key.
   */
  proxy?: ProxyInfo | null;
}

/**
 * A request for `Connector.request`: a {@linkcode ConnectionRequest}
 * whose `target` defaults to the URL's path and query, and whose `Host` field
 * is added from the URL when missing.
 *
 * @example
 * ```ts
 * import type { PoolRequest } from "./pool.ts";
 *
 * const request: PoolRequest = { method: "GET", headers: [["accept", "text/plain"]] };
 * ```
 */
export interface PoolRequest extends Omit<ConnectionRequest, "target" | "signal"> {
  /** The request-target (default: the URL's pathname and search). */
  target?: string;
}

/**
 * What `Connector.request` resolves with: the response head (the
 * body still to read) and the connection it came on, which goes back to the
 * pool by itself once the body is read or cancelled.
 *
 * @example
 * ```ts
 * import type { PoolResponse } from "./pool.ts";
 *
 * const status = (result: PoolResponse): number => result.response.status;
 * ```
 */
export interface PoolResponse {
  /** The status, fields and body stream. */
  response: ConnectionResponse;
  /** The connection it came on. */
  connection: ClientConnection;
  /** Whether the connection had served a request before this one. */
  reused: boolean;
}

/**
 * A snapshot of `Connector.stats`.
 *
 * @example
 * ```ts
 * import type { ConnectorStats } from "./pool.ts";
 *
 * const busy = (s: ConnectorStats): boolean => s.inUse > 0 || s.waiting > 0;
 * ```
 */
export interface ConnectorStats {
  /** Connections serving a request (or being opened for one). */
  inUse: number;
  /** Requests waiting for a free slot. */
  waiting: number;
  /** Idle keep-alive connections. */
  idle: number;
  /** Open connections, in use or idle. */
  open: number;
  /** Connections opened since the start. */
  opened: number;
}
