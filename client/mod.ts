/**
 * The HTTP client (`@sluice/http/client`): {@linkcode ClientSession} with
 * its connection pool ({@linkcode Connector}), cookie jar (RFC 6265bis),
 * per-phase timeouts, redirects, decompression, Basic and Digest
 * authentication, proxies, client middlewares and tracing hooks.
 *
 * @example
 * ```ts ignore
 * import { ClientSession } from "@sluice/http/client";
 *
 * await using session = new ClientSession({ baseUrl: "https://api.example.com/" });
 * await using res = await session.get("users/1", { timeout: { total: 5_000 } });
 * console.log(res.status, await res.json());
 * ```
 *
 * @module
 */

export { ClientSession } from "./session.ts";
export type {
  AutoDecompressOptions,
  ClientRequestOptions,
  ClientSessionOptions,
  RequestCoding,
} from "./_session_types.ts";
export type { QueryParams, RequestData } from "./_session_body.ts";
export type { Progress } from "./_session_send.ts";
export { ClientResponse, type ClientResponseInit } from "./response.ts";
export type {
  ClientConnection,
  ClientConnectionOptions,
  ConnectionRequest,
  ConnectionResponse,
} from "./_connection.ts";
export type { RequestBody } from "./_connection_request.ts";
export {
  type ClientHandler,
  type ClientMiddleware,
  ClientRequest,
  type ClientRequestBody,
  type ClientRequestInit,
  composeClientMiddlewares,
} from "./middleware.ts";
export {
  digestAuth,
  isRetriableError,
  parseRetryAfter,
  retry,
  type RetryBackoff,
  type RetryInfo,
  type RetryOptions,
} from "./middlewares/mod.ts";
export {
  type TraceChunkParams,
  TraceConfig,
  type TraceConnectionParams,
  type TraceDnsParams,
  type TraceEventBase,
  type TraceExceptionParams,
  type TraceHandler,
  type TraceRequestParams,
  type TraceResponseParams,
} from "./trace.ts";
export {
  Connector,
  type ConnectorOptions,
  type ConnectorStats,
  type ConnectorTlsOptions,
  type PoolObserver,
  type PoolRequest,
  type PoolRequestOptions,
  type PoolResponse,
  type PoolTimer,
} from "./pool.ts";

export { CookieJar, DummyCookieJar } from "./cookie_jar.ts";
export type {
  AbstractCookieJar,
  Cookie,
  CookieHeaderOptions,
  CookieJarOptions,
} from "./cookie_jar.ts";
export {
  ClientConnectionError,
  type ClientConnectionErrorCode,
  ClientError,
  type ClientErrorCode,
  ClientPayloadError,
  type ClientPayloadErrorCode,
  ClientTlsError,
  InvalidUrlError,
  ResponseStatusError,
  TimeoutError,
  type TimeoutErrorCode,
  type TimeoutPhase,
  TooManyRedirectsError,
} from "./errors.ts";
export {
  type AbortSource,
  type ClientTimeout,
  DEFAULT_TIMEOUTS,
  PhaseTimer,
  type PhaseTimerOptions,
  type ResolvedTimeouts,
  resolveTimeouts,
  type TimerFunctions,
  toAbortSignal,
} from "./timeouts.ts";
export {
  type AuthChallenge,
  BasicAuth,
  type DigestAlgorithm,
  DigestAuth,
  type DigestAuthOptions,
  parseChallenges,
} from "./auth.ts";
export {
  matchesNoProxy,
  parseProxyUrl,
  type ProxyEnv,
  proxyFromEnv,
  type ProxyInfo,
} from "./proxy_env.ts";
