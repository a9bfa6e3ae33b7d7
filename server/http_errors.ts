/**
 * HTTP errors a handler throws to answer with a status: {@linkcode HttpError}
 * (aiohttp's `web.HTTPException`), {@linkcode isHttpError} and
 * {@linkcode renderHttpError}, which turns one into a plain-text or JSON
 * response. The subclasses, one per status (`HttpNotFound`, `HttpFound`…),
 * are in `_http_redirects.ts`, `_http_client_errors.ts` and `_http_server_errors.ts`.
 *
 * All of them share the code `"SLUICE_ERR_HTTP_STATUS"`: what a caller
 * branches on is the `status` (or the subclass), and a single code also
 * covers `new HttpError(418)` and statuses no subclass names.
 *
 * @module
 */

import { SluiceError } from "../util/errors.ts";
import { STATUS_TEXT } from "../http1/_status_text.ts";
import { json, text } from "./responses.ts";

const HTTP_ERROR = Symbol.for("sluice.httpError");

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

/** Options of {@linkcode HttpError} and its subclasses. */
export interface HttpErrorOptions {
  /** Extra response fields (e.g. `Cache-Control`). */
  headers?: HeadersInit;
  /**
   * The exact response body, sent as `text/plain; charset=utf-8` (or the
   * `Content-Type` given in `headers`) whatever `Accept` asks for. Without
   * it a body is generated from the status, the reason and the message.
   */
  body?: string;
  /**
   * Whether the message may be shown to the client. Defaults to `true` for
   * 3xx and 4xx, `false` for 5xx (their messages tend to hold internals).
   */
  expose?: boolean;
  /** The reason phrase, instead of the registered one (no control characters). */
  reason?: string;
  /** The underlying error; it is never rendered. */
  cause?: unknown;
}

/**
 * An error that answers the request with an HTTP status: throw it from a
 * handler or middleware and the application renders it with
 * {@linkcode renderHttpError}. Its `code` is always
 * `"SLUICE_ERR_HTTP_STATUS"`; tell errors apart by `status` or by subclass
 * (`HttpNotFound`, `HttpFound`…). `instanceof HttpError` also recognises
 * errors from another copy of Sluice.
 *
 * @example Throw a status without a dedicated subclass
 * ```ts
 * import { HttpError } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const err = new HttpError(418, "Short and stout");
 * assert.equal(err.status, 418);
 * assert.equal(err.reason, "I'm a teapot");
 * assert.equal(err.code, "SLUICE_ERR_HTTP_STATUS");
 * assert.equal(err.expose, true);
 * ```
 */
export class HttpError extends SluiceError {
  /** The response status, 300–599. */
  readonly status: number;
  /** The reason phrase (the response's `statusText`). */
  readonly reason: string;
  /** The response fields the error adds (`Location`, `Allow`…); mutable. */
  readonly headers: Headers;
  /** The exact response body, when one was given. */
  readonly body: string | undefined;
  /** Whether the message is shown to the client. */
  readonly expose: boolean;

  /**
   * Creates an HTTP error.
   *
   * @param status The status, an integer in 300–599.
   * @param message What went wrong, for the client when `expose` (default
   *   `"<status> <reason>"`).
   * @param options Headers, body, exposure, reason and cause.
   */
  constructor(status: number, message?: string, options?: HttpErrorOptions) {
    if (!Number.isInteger(status) || status < 300 || status > 599) {
      throw new RangeError(`Cannot create an HttpError with status ${status}: not in 300–599`);
    }
    const reason = options?.reason ?? STATUS_TEXT[status] ?? "";
    if (CONTROL.test(reason)) {
      throw new TypeError(
        `Cannot create an HttpError with reason ${
          JSON.stringify(reason)
        }: it holds a control character`,
      );
    }
    super("SLUICE_ERR_HTTP_STATUS", message ?? statusLine(status, reason), {
      cause: options?.cause,
    });
    this.status = status;
    this.reason = reason;
    this.headers = new Headers(options?.headers);
    this.body = options?.body;
    this.expose = options?.expose ?? status < 500;
  }

  /** Brand used by `instanceof` and {@linkcode isHttpError} across package copies. */
  get [HTTP_ERROR](): true {
    return true;
  }

  /**
   * `instanceof HttpError` that also recognises errors from another copy of
   * Sluice. Subclasses keep the ordinary prototype check.
   *
   * @param value Anything.
   * @returns Whether `value` is an HTTP error (of this class).
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === HttpError) return isHttpError(value);
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

function statusLine(status: number, reason: string): string {
  return reason === "" ? `${status}` : `${status} ${reason}`;
}

/**
 * Whether a value is an {@linkcode HttpError}, also one made by another copy
 * of Sluice (the check uses a registered symbol).
 *
 * @param value Anything, typically a caught exception.
 * @returns Whether it is an HTTP error.
 *
 * @example
 * ```ts
 * import { HttpError, isHttpError } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isHttpError(new HttpError(404)), true);
 * assert.equal(isHttpError(new Error("boom")), false);
 * ```
 */
export function isHttpError(value: unknown): value is HttpError {
  return typeof value === "object" && value !== null &&
    (value as Record<symbol, unknown>)[HTTP_ERROR] === true;
}

/**
 * Renders an error as the response to send. An {@linkcode HttpError} answers
 * with its status, reason phrase and headers, and a body that is its `body`
 * when one was given, otherwise:
 *
 * - JSON `{ "status", "reason", "message"? }` when `Accept` prefers
 *   `application/json` over `text/plain` (q-values and wildcards weighed as
 *   RFC 9110 §12.5.1 says; a tie goes to the range listed first, and to plain
 *   text when both match only by wildcard);
 * - plain text `"<status> <reason>"`, followed by `": <message>"`.
 *
 * The message is included only when `expose` is true and it was given (not
 * the default). Anything else thrown renders as a bare 500, so no exception
 * text, stack or cause ever reaches the client. Answering `HEAD` without the
 * body is the server's business.
 *
 * @param error The caught value.
 * @param accept The request's `Accept` field, or `null`.
 * @returns The response.
 *
 * @example Render for a JSON client
 * ```ts
 * import { HttpError, renderHttpError } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const res = renderHttpError(new HttpError(404, "No user 42"), "application/json");
 * assert.equal(res.status, 404);
 * assert.deepEqual(await res.json(), { status: 404, reason: "Not Found", message: "No user 42" });
 *
 * const hidden = renderHttpError(new Error("password=hunter2"), null);
 * assert.equal(await hidden.text(), "500 Internal Server Error");
 * ```
 */
export function renderHttpError(error: unknown, accept: string | null): Response {
  const err = isHttpError(error) ? error : new HttpError(500);
  const line = statusLine(err.status, err.reason);
  const headers = new Headers(err.headers);
  const init = { status: err.status, statusText: err.reason, headers };
  if (err.status === 304) return new Response(null, init);
  if (typeof err.body === "string") return text(err.body, init);
  headers.delete("content-type");
  const message = err.expose && err.message !== line ? err.message : undefined;
  if (prefersJson(accept)) {
    const value: { status: number; reason: string; message?: string } = {
      status: err.status,
      reason: err.reason,
    };
    if (message !== undefined) value.message = message;
    return json(value, init);
  }
  return text(message === undefined ? line : `${line}: ${message}`, init);
}

/** How well one media range of an `Accept` field matches a type. */
interface Match {
  q: number;
  /** 3 for `type/subtype`, 2 for `type/*`, 1 for `*\/*`, 0 for none. */
  specificity: number;
  index: number;
}

const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** Whether `Accept` prefers `application/json` to `text/plain`. */
function prefersJson(accept: string | null): boolean {
  if (accept === null || accept.trim() === "") return false;
  const jsonMatch = best(accept, "application", "json");
  if (jsonMatch.q === 0) return false;
  const textMatch = best(accept, "text", "plain");
  if (jsonMatch.q !== textMatch.q) return jsonMatch.q > textMatch.q;
  if (jsonMatch.specificity !== textMatch.specificity) {
    return jsonMatch.specificity > textMatch.specificity;
  }
  return jsonMatch.specificity > 1 && jsonMatch.index < textMatch.index;
}

/** The most specific range of `accept` that matches `type/subtype`. */
function best(accept: string, type: string, subtype: string): Match {
  let match: Match = { q: 0, specificity: 0, index: Infinity };
  splitOutsideQuotes(accept, ",").forEach((element, index) => {
    const [range, ...params] = splitOutsideQuotes(element, ";").map((s) => s.trim());
    const slash = range.indexOf("/");
    if (slash <= 0) return;
    const rangeType = range.slice(0, slash).toLowerCase();
    const rangeSubtype = range.slice(slash + 1).toLowerCase();
    let specificity = 0;
    if (rangeType === "*" && rangeSubtype === "*") specificity = 1;
    else if (rangeType === type && rangeSubtype === "*") specificity = 2;
    else if (rangeType === type && rangeSubtype === subtype) specificity = 3;
    if (specificity <= match.specificity) return;
    let q = 1;
    for (const param of params) {
      const eq = param.indexOf("=");
      if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== "q") continue;
      const value = param.slice(eq + 1).trim();
      // A malformed weight makes the range unusable rather than preferred.
      q = QVALUE.test(value) ? Number(value) : 0;
      break;
    }
    match = { q, specificity, index };
  });
  return match;
}

/** Splits on `separator` where it is not inside a quoted string. */
function splitOutsideQuotes(value: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted && c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === separator) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts;
}
