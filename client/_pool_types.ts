/**
 * The plain types of the connection pool: options, request, result, stats.
 *
 * @module
 */

import type { ClientTransport } from "../adapters/connect.ts";
import type { ClientConnection, ConnectionRequest, ConnectionResponse } from "./_connection.ts";
import type { ConnectorTlsOptions } from "./_pool_connect.ts";

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
