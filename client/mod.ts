/**
 * The HTTP client (`@sluice/http/client`), being built: what exists so far
 * are the pieces `ClientSession` will use — the cookie jar (RFC 6265bis),
 * the typed errors, per-phase timeouts, Basic and Digest authentication,
 * and proxy settings from the environment.
 *
 * @example
 * ```ts
 * import { CookieJar } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const jar = new CookieJar();
 * jar.update(["sid=abc; Path=/; HttpOnly"], "https://example.com/login");
 * assert.equal(jar.header("https://example.com/account"), "sid=abc");
 * ```
 *
 * @module
 */

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
  type ClientTimeout,
  DEFAULT_TIMEOUTS,
  PhaseTimer,
  type PhaseTimerOptions,
  type ResolvedTimeouts,
  resolveTimeouts,
  type TimerFunctions,
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
