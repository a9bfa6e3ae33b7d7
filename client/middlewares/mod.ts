/**
 * Ready client middlewares: {@linkcode retry} (backoff and `Retry-After`)
 * and {@linkcode digestAuth} (RFC 7616).
 *
 * @module
 */

export {
  isRetriableError,
  parseRetryAfter,
  retry,
  type RetryBackoff,
  type RetryInfo,
  type RetryOptions,
} from "./retry.ts";
export { digestAuth } from "./digest_auth.ts";
