/**
 * A ready client middleware that retries failed requests: {@linkcode retry},
 * with exponential backoff (full jitter by default) and `Retry-After`.
 *
 * @module
 */

import { ClientConnectionError, TimeoutError } from "../errors.ts";
import type { ClientMiddleware, ClientRequest } from "../middleware.ts";
import type { ClientResponse } from "../response.ts";

/**
 * What {@linkcode RetryOptions.onRetry} is told before each wait.
 *
 * @example
 * ```ts
 * import type { RetryInfo } from "@sluice/http/client";
 *
 * const log = (info: RetryInfo): void =>
 *   console.log(`retry #${info.attempt} in ${info.delay} ms`, info.response?.status ?? info.error);
 * ```
 */
export interface RetryInfo {
  /** The attempt that failed, from 1. */
  attempt: number;
  /** How long the middleware waits before the next attempt, in ms. */
  delay: number;
  /** The error of the failed attempt, when it threw. */
  error?: unknown;
  /** The response of the failed attempt, when it had a retried status (already released). */
  response?: ClientResponse;
  /** The request being retried. */
  request: ClientRequest;
}

/**
 * The exponential backoff of {@linkcode retry}: the wait before retry `n`
 * (from 1) is `min(max, initial × factor^(n−1))`, or a random time between 0
 * and that with `jitter: "full"`.
 *
 * @example
 * ```ts
 * import type { RetryBackoff } from "@sluice/http/client";
 *
 * const backoff: RetryBackoff = { initial: 50, factor: 3, max: 2000, jitter: "none" };
 * ```
 */
export interface RetryBackoff {
  /** The first wait, in ms (default 100). */
  initial?: number;
  /** The growth per retry (default 2). */
  factor?: number;
  /** The longest wait, in ms (default 10 000). */
  max?: number;
  /** `"full"` (default): a random wait up to the computed one; `"none"`: exactly it. */
  jitter?: "full" | "none";
}

/**
 * Options of {@linkcode retry}.
 *
 * @example
 * ```ts
 * import type { RetryOptions } from "@sluice/http/client";
 *
 * const options: RetryOptions = { attempts: 5, statuses: [503], backoff: { initial: 200 } };
 * ```
 */
export interface RetryOptions {
  /** Total tries, the first included (default 3). */
  attempts?: number;
  /** The methods retried (default the idempotent ones: GET HEAD OPTIONS PUT DELETE TRACE). */
  methods?: Iterable<string>;
  /** The response statuses retried (default 408, 429, 500, 502, 503, 504). */
  statuses?: Iterable<number>;
  /**
   * Whether an error is worth another attempt (`attempt` is the one that
   * failed, from 1). Default: {@linkcode ClientConnectionError} refused,
   * reset or closed, and a `connect` {@linkcode TimeoutError}. Whatever it
   * answers, a `total` timeout and a `req.signal` aborted by the caller are
   * never retried; a phase timeout (`connect`, `poolWait`, `headers`,
   * `sockRead`) ends its attempt only, within what is left of `total`.
   */
  retryOnError?: (error: unknown, attempt: number) => boolean;
  /** The waits between attempts. */
  backoff?: RetryBackoff;
  /** Wait as long as a retried response's `Retry-After` asks (default `true`). */
  respectRetryAfter?: boolean;
  /** The longest `Retry-After` honoured, in ms (default 60 000): beyond it the response is returned. */
  maxRetryAfter?: number;
  /** Called before each wait (a rejection fails the request). */
  onRetry?: (info: RetryInfo) => void | Promise<void>;
  /**
   * How to wait (for tests): resolves after `ms`, rejects with the signal's
   * reason once it aborts. Default: a timer cleared on abort.
   */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

const IDEMPOTENT = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"];
const STATUSES = [408, 429, 500, 502, 503, 504];
const RETRIED_CODES: ReadonlySet<string> = new Set([
  "SLUICE_ERR_CLIENT_CONNECTION_REFUSED",
  "SLUICE_ERR_CLIENT_CONNECTION_RESET",
  "SLUICE_ERR_CLIENT_CONNECTION_CLOSED",
]);

/**
 * The default of {@linkcode RetryOptions.retryOnError}: connection refused,
 * reset or closed by the peer, and a `connect` timeout.
 *
 * @param error The error of the failed attempt.
 * @returns Whether to try again.
 *
 * @example
 * ```ts
 * import { isRetriableError, TimeoutError } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isRetriableError(new TimeoutError("connect", 100)), true);
 * assert.equal(isRetriableError(new TimeoutError("headers", 100)), false);
 * ```
 */
export function isRetriableError(error: unknown): boolean {
  if (error instanceof TimeoutError) return error.phase === "connect";
  return error instanceof ClientConnectionError && RETRIED_CODES.has(error.code);
}

/**
 * Reads a `Retry-After` value (RFC 9110 §10.2.3): delay-seconds or an
 * HTTP-date, as milliseconds from `now` (a date in the past gives 0).
 *
 * @param value The header value, or `null`.
 * @param now The current time (default `Date.now()`).
 * @returns The delay in ms, or `null` when absent or malformed.
 *
 * @example
 * ```ts
 * import { parseRetryAfter } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseRetryAfter("120"), 120_000);
 * assert.equal(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", Date.UTC(1994, 10, 6, 8, 49, 30)), 7000);
 * assert.equal(parseRetryAfter("soon"), null);
 * ```
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/^[A-Za-z]{3},? /.test(text)) return null;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted", "AbortError");
}

function defaultSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function positive(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v)) {
    throw new RangeError(`Cannot create retry middleware: ${what} must be a finite number >= 0`);
  }
  return v;
}

/**
 * A client middleware that tries a request again when it fails: on the
 * retried statuses (the last response is returned when attempts run out) and
 * on the retried errors (the last error is rethrown). Only the listed
 * methods (idempotent ones by default) and only replayable bodies are
 * retried; each dropped response is released first. The wait grows
 * exponentially with jitter, or follows `Retry-After` (a value beyond
 * `maxRetryAfter` ends the retries: that response is returned), and ends at
 * once, rejecting with the reason, when `req.signal` aborts.
 *
 * @param options Attempts, methods, statuses, error predicate, backoff, `Retry-After`.
 * @returns The middleware.
 *
 * @example
 * ```ts ignore
 * import { ClientSession, retry } from "@sluice/http/client";
 *
 * await using session = new ClientSession({
 *   middlewares: [retry({ attempts: 4, statuses: [503], backoff: { initial: 250 } })],
 * });
 * const res = await session.get("http://127.0.0.1:8080/flaky");
 * ```
 */
export function retry(options: RetryOptions = {}): ClientMiddleware {
  const attempts = options.attempts ?? 3;
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError("Cannot create retry middleware: attempts must be an integer >= 1");
  }
  const methods = new Set([...(options.methods ?? IDEMPOTENT)].map((m) => m.toUpperCase()));
  const statuses = new Set(options.statuses ?? STATUSES);
  const retryOnError = options.retryOnError ?? isRetriableError;
  const initial = positive(options.backoff?.initial, 100, "backoff.initial");
  const factor = positive(options.backoff?.factor, 2, "backoff.factor");
  const max = positive(options.backoff?.max, 10_000, "backoff.max");
  const jitter = options.backoff?.jitter ?? "full";
  if (jitter !== "full" && jitter !== "none") {
    throw new RangeError('Cannot create retry middleware: backoff.jitter must be "full" or "none"');
  }
  const respectRetryAfter = options.respectRetryAfter ?? true;
  const maxRetryAfter = positive(options.maxRetryAfter, 60_000, "maxRetryAfter");
  const sleep = options.sleep ?? defaultSleep;
  const onRetry = options.onRetry;

  const backoff = (attempt: number): number => {
    const ceiling = Math.min(max, initial * factor ** (attempt - 1));
    return jitter === "full" ? Math.floor(Math.random() * ceiling) : ceiling;
  };

  return async (req, next) => {
    if (!methods.has(req.method.toUpperCase())) return await next(req);
    for (let attempt = 1;; attempt++) {
      let response: ClientResponse;
      try {
        response = await next(req);
      } catch (error) {
        // A phase deadline (connect, …) aborted the request's timer for this attempt only.
        const source = req.abortSource;
        const phaseTimeout = error instanceof TimeoutError && error.phase !== "total" &&
          source?.aborted === true && source.reason === error;
        const fatal = (source?.aborted === true && !phaseTimeout) ||
          (error instanceof TimeoutError && error.phase === "total");
        if (fatal || attempt >= attempts || !req.replayable || !retryOnError(error, attempt)) {
          throw error;
        }
        if (phaseTimeout && source.recover?.(error) !== true) throw error;
        const delay = backoff(attempt);
        await onRetry?.({ attempt, delay, error, request: req });
        await sleep(delay, req.signal);
        continue;
      }
      if (!statuses.has(response.status) || attempt >= attempts || !req.replayable) {
        return response;
      }
      let delay = backoff(attempt);
      if (respectRetryAfter) {
        const asked = parseRetryAfter(response.headers.get("retry-after"));
        if (asked !== null) {
          if (asked > maxRetryAfter) return response;
          delay = asked;
        }
      }
      await response.release();
      await onRetry?.({ attempt, delay, response, request: req });
      await sleep(delay, req.signal);
    }
  };
}
