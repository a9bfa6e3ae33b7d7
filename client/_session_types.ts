/**
 * The options of {@linkcode ClientSession} and of its requests.
 *
 * @module
 */

import type { BasicAuth } from "./auth.ts";
import type { AbstractCookieJar } from "./cookie_jar.ts";
import type { ClientMiddleware } from "./middleware.ts";
import type { Connector, ConnectorOptions } from "./pool.ts";
import type { QueryParams, RequestData } from "./_session_body.ts";
import type { Progress } from "./_session_send.ts";
import type { ClientTimeout } from "./timeouts.ts";
import type { TraceConfig } from "./trace.ts";

/**
 * Limits on decompressed response bodies (against zip bombs).
 *
 * @example
 * ```ts
 * import type { AutoDecompressOptions } from "@sluice/http/client";
 *
 * const caps: AutoDecompressOptions = { maxSize: 64 * 1024 ** 2, maxRatio: 200 };
 * ```
 */
export interface AutoDecompressOptions {
  /** Most decoded bytes of one body (default: no limit). */
  maxSize?: number;
  /** Most decoded bytes per encoded byte, checked past 1 MiB (default 1000). */
  maxRatio?: number;
}

/**
 * A request body coding for `compress`.
 *
 * @example
 * ```ts
 * import type { RequestCoding } from "@sluice/http/client";
 *
 * const coding: RequestCoding = "gzip";
 * ```
 */
export type RequestCoding = "gzip" | "deflate" | "br" | "zstd";

/**
 * Options of a {@linkcode ClientSession}; every request inherits them.
 *
 * @example
 * ```ts
 * import type { ClientSessionOptions } from "@sluice/http/client";
 *
 * const options: ClientSessionOptions = {
 *   baseUrl: "https://api.example.com/v1/",
 *   headers: { accept: "application/json" },
 *   timeout: { total: 30_000, connect: 5_000 },
 *   raiseForStatus: true,
 * };
 * ```
 */
export interface ClientSessionOptions {
  /** Relative request URLs are resolved against it (RFC 3986: `"users"` → `…/v1/users`, `"/users"` → `/users`). */
  baseUrl?: string | URL;
  /** Fields sent with every request (a request's own fields win). */
  headers?: HeadersInit;
  /** Where cookies are kept (default a new `CookieJar`; `DummyCookieJar` to ignore them). */
  cookieJar?: AbstractCookieJar;
  /** Default timeouts per phase (`total` 300 s by default). */
  timeout?: ClientTimeout;
  /** A pool to use (shared, not closed with the session unless `connectorOwner`), or options for a new one. */
  connector?: Connector | ConnectorOptions;
  /** Whether `close()` closes the connector (default: only one the session created). */
  connectorOwner?: boolean;
  /** Basic credentials sent with every request to the first origin. */
  auth?: BasicAuth | null;
  /** Throw `ResponseStatusError` for 4xx/5xx responses (default `false`). */
  raiseForStatus?: boolean;
  /** Client middlewares, outermost first; they run for each hop of a redirect chain. */
  middlewares?: readonly ClientMiddleware[];
  /** Tracing hooks. */
  trace?: readonly TraceConfig[];
  /** Most redirects followed (default 10). */
  maxRedirects?: number;
  /** Decode `gzip`, `deflate`, `br` (and `zstd` where the runtime has it) bodies (default `true`; an object sets the caps). */
  autoDecompress?: boolean | AutoDecompressOptions;
  /** How `json` bodies become text (default `JSON.stringify`). */
  jsonSerialize?: (value: unknown) => string;
  /** A proxy for every request (`http://user:pass@host:port`), unless a request says otherwise. */
  proxy?: string | URL | null;
  /** Credentials for the proxy (instead of the ones in its URL). */
  proxyAuth?: BasicAuth | null;
  /** Take proxies from `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` (default `false`). */
  trustEnv?: boolean;
  /** The `User-Agent` field (default `sluice`; `null` to send none). */
  userAgent?: string | null;
}

/**
 * Options of one request.
 *
 * @example
 * ```ts
 * import type { ClientRequestOptions } from "@sluice/http/client";
 *
 * const options: ClientRequestOptions = {
 *   params: { q: "x", tag: ["a", "b"] },
 *   json: { name: "Ann" },
 *   timeout: { total: 5_000 },
 * };
 * ```
 */
export interface ClientRequestOptions {
  /** Query parameters appended to the URL. */
  params?: QueryParams;
  /** Fields of this request (over the session's). */
  headers?: HeadersInit;
  /** A value sent as JSON (`Content-Type: application/json`). */
  json?: unknown;
  /** A body: text, bytes, `Blob`, stream, async iterable, `FormData`, `URLSearchParams`. */
  data?: RequestData | null;
  /** Timeouts of this request (over the session's). */
  timeout?: ClientTimeout;
  /** Aborts the request at any point, body reading included. */
  signal?: AbortSignal;
  /** Follow redirects (default `true`). */
  allowRedirects?: boolean;
  /** Most redirects followed (default: the session's). */
  maxRedirects?: number;
  /** A proxy for this request; `null` for none (even with `trustEnv`). */
  proxy?: string | URL | null;
  /** Credentials for the proxy. */
  proxyAuth?: BasicAuth | null;
  /** Basic credentials (over the session's; `null` for none). */
  auth?: BasicAuth | null;
  /** Send `Expect: 100-continue` and wait for the go-ahead (`true` = up to 1 s, or ms). */
  expect100?: boolean | number;
  /** Compress the body with this coding (sets `Content-Encoding`). */
  compress?: RequestCoding;
  /** Throw for 4xx/5xx (default: the session's). */
  raiseForStatus?: boolean;
  /** Decode compressed responses (default: the session's). */
  autoDecompress?: boolean;
  /** Extra cookies for this request only. */
  cookies?: Readonly<Record<string, string>>;
  /** Called as the body is sent. */
  onUploadProgress?: (progress: Progress) => void;
  /** Called as the response body is received. */
  onDownloadProgress?: (progress: Progress) => void;
}
