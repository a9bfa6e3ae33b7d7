/**
 * The connector's helpers that need no pool state: the key of a URL, how a
 * transport's `ConnectError` maps onto the client's errors, and which
 * requests may be sent again after a stale keep-alive connection failed.
 *
 * @module
 */

import { InternedIds } from "./_interned_ids.ts";
import { ConnectError, type ConnectTlsOptions } from "../adapters/connect.ts";
import { ConnectionClosedError } from "./_connection_errors.ts";
import type { RequestBody } from "./_connection_request.ts";
import { ClientConnectionError, ClientTlsError, InvalidUrlError } from "./errors.ts";

/**
 * TLS settings of a connector's `https:` connections. Verification is on
 * unless `insecure` is set.
 *
 * @example
 * ```ts
 * import type { ConnectorTlsOptions } from "./pool.ts";
 *
 * const tls: ConnectorTlsOptions = { ca: "-----BEGIN CERTIFICATE-----…" };
 * ```
 */
export interface ConnectorTlsOptions {
  /** Certificate authorities (PEM) trusted in addition to the runtime's. */
  ca?: string | string[];
  /** Client certificate chain (PEM), with `key`. */
  cert?: string;
  /** Private key (PEM) of the client certificate. */
  key?: string;
  /** Skip verifying the server's certificate. For tests and trusted networks only. */
  insecure?: boolean;
}

/** Where a URL connects to: host name (no brackets), port, TLS or not. */
export interface Target {
  hostname: string;
  port: number;
  secure: boolean;
}

/** What a request needs of its URL: where to connect, `Host`, and the origin-form target. */
export interface UrlParts extends Target {
  /** `host[:port]` as in the URL (brackets kept), for the `Host` field. */
  host: string;
  /** Path and query (`/a?b=1`), without the fragment. */
  path: string;
}

/**
 * The host, port and scheme of a URL.
 *
 * @throws {InvalidUrlError} when the scheme is not `http:` or `https:`.
 */
export function targetOf(url: URL): Target {
  return urlParts(url);
}

/**
 * Splits an `http:`/`https:` URL from its serialization: one `href` read
 * and string scans instead of a getter per component (each getter makes a
 * string, and costs a native call on Bun). `href` is normalized by the URL
 * parser: lower-case scheme and host, default port left out, a path that
 * starts with `/`.
 *
 * @throws {InvalidUrlError} when the scheme is not `http:` or `https:`.
 */
export function urlParts(url: URL): UrlParts {
  const href = url.href;
  const secure = href.startsWith("https://");
  if (!secure && !href.startsWith("http://")) {
    throw new InvalidUrlError(href, `Cannot request "${href}": unsupported scheme ${url.protocol}`);
  }
  const from = secure ? 8 : 7;
  const slash = href.indexOf("/", from);
  const end = slash < 0 ? href.length : slash;
  const at = href.lastIndexOf("@", end);
  const host = href.slice(at < from ? from : at + 1, end);
  let hostname = host;
  let port = secure ? 443 : 80;
  const close = host.charCodeAt(0) === 0x5b ? host.indexOf("]") : -1; // [IPv6]
  const colon = host.indexOf(":", close < 0 ? 0 : close);
  if (close >= 0) hostname = host.slice(1, close);
  else if (colon >= 0) hostname = host.slice(0, colon);
  if (colon >= 0) port = Number(host.slice(colon + 1));
  const hash = href.indexOf("#", end);
  const path = slash < 0 ? "/" : hash < 0 ? href.slice(end) : href.slice(end, hash);
  return { hostname, port, secure, host, path };
}

/** Interned TLS settings: equal settings share an id, so a key never mixes two trust setups. */
const tlsIds = new InternedIds(1000);

/**
 * A short exact id of TLS settings. A connector computes its own once; a
 * key must not stringify PEM bundles on every request.
 */
export function tlsFingerprint(tls: ConnectorTlsOptions): string {
  const text = JSON.stringify([tls.ca ?? null, tls.cert ?? null, tls.key ?? null, !!tls.insecure]);
  return `t${tlsIds.idOf(text)}`;
}

/** The transport's TLS options of a connector's settings. */
export function connectTls(tls: ConnectorTlsOptions | undefined): ConnectTlsOptions {
  return {
    ca: tls?.ca,
    cert: tls?.cert,
    key: tls?.key,
    insecure: tls?.insecure,
    alpnProtocols: ["http/1.1"],
  };
}

/**
 * Maps a connect failure onto the client's errors: `signal.reason` when the
 * signal aborted it, {@linkcode ClientTlsError} for TLS,
 * {@linkcode ClientConnectionError} (refused, reset, DNS) otherwise, with the
 * `ConnectError` as `cause`. Other errors (e.g. `TypeError`) pass through.
 */
export function mapConnectError(
  error: unknown,
  target: Target,
  signal: AbortSignal | undefined,
): unknown {
  if (signal?.aborted) return signal.reason;
  if (!(error instanceof ConnectError)) return error;
  const details = { host: target.hostname, port: target.port, cause: error };
  switch (error.code) {
    case "SLUICE_ERR_CONNECT_TLS":
      return new ClientTlsError(error.message, details);
    case "SLUICE_ERR_CONNECT_REFUSED":
      return new ClientConnectionError(
        "SLUICE_ERR_CLIENT_CONNECTION_REFUSED",
        error.message,
        details,
      );
    case "SLUICE_ERR_CONNECT_DNS":
      return new ClientConnectionError("SLUICE_ERR_CLIENT_DNS", error.message, details);
    case "SLUICE_ERR_CONNECT_PROXY":
      return new ClientConnectionError("SLUICE_ERR_CLIENT_PROXY", error.message, details);
    default:
      return new ClientConnectionError(
        "SLUICE_ERR_CLIENT_CONNECTION_RESET",
        error.message,
        details,
      );
  }
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/**
 * Whether a request that failed on a reused connection may be sent again on
 * a fresh one: the connection ended before any byte of the response, the
 * method is idempotent and the body can be sent twice.
 */
export function mayRetry(error: unknown, method: string, body: RequestBody | undefined): boolean {
  return error instanceof ConnectionClosedError && error.beforeAnyByte &&
    IDEMPOTENT.has(method.toUpperCase()) &&
    (body === undefined || body === null || body instanceof Uint8Array);
}
