/**
 * The 4xx subclasses of {@linkcode HttpError}, named like aiohttp's
 * (`HTTPNotFound` is `HttpNotFound`); 401, 405, 416, 426 and 429 take the
 * fields their status calls for.
 *
 * @module
 */

import { HttpError, type HttpErrorOptions } from "./http_errors.ts";
import { fieldValue, retryAfterValue, TOKEN } from "./_http_error_fields.ts";

/**
 * 400: the request is malformed or invalid (a bad parameter, a bad body).
 *
 * @example
 * ```ts
 * import { HttpBadRequest } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpBadRequest("Missing field: name").status, 400);
 * ```
 */
export class HttpBadRequest extends HttpError {
  /** Creates a 400 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(400, message, options);
  }
}

/** Options of {@linkcode HttpUnauthorized}. */
export interface HttpUnauthorizedOptions extends HttpErrorOptions {
  /** The `WWW-Authenticate` challenge, e.g. `'Bearer realm="api"'` (RFC 9110 wants one on a 401). */
  wwwAuthenticate?: string;
}

/**
 * 401 Unauthorized: the request lacks valid credentials; give the
 * challenge in `wwwAuthenticate`.
 *
 * @example
 * ```ts
 * import { HttpUnauthorized } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const err = new HttpUnauthorized("Token expired", { wwwAuthenticate: 'Bearer realm="api"' });
 * assert.equal(err.headers.get("www-authenticate"), 'Bearer realm="api"');
 * ```
 */
export class HttpUnauthorized extends HttpError {
  /** Creates a 401 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpUnauthorizedOptions) {
    const challenge = options?.wwwAuthenticate;
    if (challenge !== undefined) fieldValue("WWW-Authenticate", challenge);
    super(401, message, options);
    if (challenge !== undefined) this.headers.set("www-authenticate", challenge);
  }
}

/**
 * 402: reserved for payment schemes.
 *
 * @example
 * ```ts
 * import { HttpPaymentRequired } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpPaymentRequired("Quota used up").status, 402);
 * ```
 */
export class HttpPaymentRequired extends HttpError {
  /** Creates a 402 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(402, message, options);
  }
}

/**
 * 403: the client is known but not allowed to do this.
 *
 * @example
 * ```ts
 * import { HttpForbidden } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpForbidden("Admins only").status, 403);
 * ```
 */
export class HttpForbidden extends HttpError {
  /** Creates a 403 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(403, message, options);
  }
}

/**
 * 404: nothing is at this URL (or the client must not know it is).
 *
 * @example
 * ```ts
 * import { HttpNotFound } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpNotFound("No user 42").status, 404);
 * ```
 */
export class HttpNotFound extends HttpError {
  /** Creates a 404 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(404, message, options);
  }
}

/**
 * 405 Method Not Allowed: the resource exists but not for this method;
 * `allow` lists the methods it takes and becomes the `Allow` field.
 *
 * @example
 * ```ts
 * import { HttpMethodNotAllowed } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const err = new HttpMethodNotAllowed(["GET", "HEAD"]);
 * assert.deepEqual(err.allow, ["GET", "HEAD"]);
 * assert.equal(err.headers.get("allow"), "GET, HEAD");
 * ```
 */
export class HttpMethodNotAllowed extends HttpError {
  /** The methods the resource allows. */
  readonly allow: readonly string[];

  /**
   * Creates a 405 error.
   *
   * @param allow The allowed methods (tokens such as `"GET"`; may be empty).
   * @param message What went wrong, shown to the client.
   * @param options Headers, body, exposure, reason and cause.
   */
  constructor(allow: Iterable<string>, message?: string, options?: HttpErrorOptions) {
    const methods = Object.freeze([...allow]);
    for (const method of methods) {
      if (typeof method !== "string" || !TOKEN.test(method)) {
        throw new TypeError(`Cannot list ${JSON.stringify(method)} in Allow: not a method token`);
      }
    }
    super(405, message, options);
    this.allow = methods;
    this.headers.set("allow", methods.join(", "));
  }
}

/**
 * 406: no representation matches the request's `Accept*` fields.
 *
 * @example
 * ```ts
 * import { HttpNotAcceptable } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpNotAcceptable("Only JSON is served").status, 406);
 * ```
 */
export class HttpNotAcceptable extends HttpError {
  /** Creates a 406 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(406, message, options);
  }
}

/**
 * 408: the client took too long to send its request.
 *
 * @example
 * ```ts
 * import { HttpRequestTimeout } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpRequestTimeout("Body too slow").status, 408);
 * ```
 */
export class HttpRequestTimeout extends HttpError {
  /** Creates a 408 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(408, message, options);
  }
}

/**
 * 409: the request conflicts with the resource's current state.
 *
 * @example
 * ```ts
 * import { HttpConflict } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpConflict("Name taken").status, 409);
 * ```
 */
export class HttpConflict extends HttpError {
  /** Creates a 409 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(409, message, options);
  }
}

/**
 * 410: the resource was here and is gone for good.
 *
 * @example
 * ```ts
 * import { HttpGone } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpGone("Post deleted").status, 410);
 * ```
 */
export class HttpGone extends HttpError {
  /** Creates a 410 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(410, message, options);
  }
}

/**
 * 411: the request needs a `Content-Length`.
 *
 * @example
 * ```ts
 * import { HttpLengthRequired } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpLengthRequired("Send Content-Length").status, 411);
 * ```
 */
export class HttpLengthRequired extends HttpError {
  /** Creates a 411 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(411, message, options);
  }
}

/**
 * 412: an `If-Match`/`If-Unmodified-Since` precondition is false.
 *
 * @example
 * ```ts
 * import { HttpPreconditionFailed } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpPreconditionFailed("ETag mismatch").status, 412);
 * ```
 */
export class HttpPreconditionFailed extends HttpError {
  /** Creates a 412 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(412, message, options);
  }
}

/**
 * 413: the request content is larger than the server accepts (reason "Content Too Large").
 *
 * @example
 * ```ts
 * import { HttpRequestEntityTooLarge } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpRequestEntityTooLarge("Upload over 10 MiB").status, 413);
 * ```
 */
export class HttpRequestEntityTooLarge extends HttpError {
  /** Creates a 413 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(413, message, options);
  }
}

/**
 * 414: the request-target is longer than the server accepts (reason "URI Too Long").
 *
 * @example
 * ```ts
 * import { HttpRequestUriTooLong } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpRequestUriTooLong("Query too long").status, 414);
 * ```
 */
export class HttpRequestUriTooLong extends HttpError {
  /** Creates a 414 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(414, message, options);
  }
}

/**
 * 415: the request content is in a format the handler does not take.
 *
 * @example
 * ```ts
 * import { HttpUnsupportedMediaType } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpUnsupportedMediaType("Send application/json").status, 415);
 * ```
 */
export class HttpUnsupportedMediaType extends HttpError {
  /** Creates a 415 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(415, message, options);
  }
}

/** Options of {@linkcode HttpRequestRangeNotSatisfiable}. */
export interface HttpRangeNotSatisfiableOptions extends HttpErrorOptions {
  /** The representation's length in bytes, sent as `Content-Range: bytes *\/<size>`. */
  size?: number;
}

/**
 * 416 Range Not Satisfiable: no requested range overlaps the
 * representation; give its length in `size`.
 *
 * @example
 * ```ts
 * import { HttpRequestRangeNotSatisfiable } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const err = new HttpRequestRangeNotSatisfiable(undefined, { size: 1234 });
 * assert.equal(err.headers.get("content-range"), "bytes *\/1234");
 * ```
 */
export class HttpRequestRangeNotSatisfiable extends HttpError {
  /** Creates a 416 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpRangeNotSatisfiableOptions) {
    const size = options?.size;
    if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
      throw new RangeError(`Cannot set Content-Range size ${size}: not a non-negative integer`);
    }
    super(416, message, options);
    if (size !== undefined) this.headers.set("content-range", `bytes */${size}`);
  }
}

/**
 * 417: the request's `Expect` field cannot be met.
 *
 * @example
 * ```ts
 * import { HttpExpectationFailed } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpExpectationFailed("Only 100-continue").status, 417);
 * ```
 */
export class HttpExpectationFailed extends HttpError {
  /** Creates a 417 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(417, message, options);
  }
}

/**
 * 421: the request reached a server that does not serve its authority.
 *
 * @example
 * ```ts
 * import { HttpMisdirectedRequest } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpMisdirectedRequest("Wrong host").status, 421);
 * ```
 */
export class HttpMisdirectedRequest extends HttpError {
  /** Creates a 421 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(421, message, options);
  }
}

/**
 * 422: the content is well-formed but its values are invalid (reason "Unprocessable Content").
 *
 * @example
 * ```ts
 * import { HttpUnprocessableEntity } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpUnprocessableEntity("age must be positive").status, 422);
 * ```
 */
export class HttpUnprocessableEntity extends HttpError {
  /** Creates a 422 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(422, message, options);
  }
}

/**
 * 425: the server will not process a request that might be replayed (TLS early data).
 *
 * @example
 * ```ts
 * import { HttpTooEarly } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpTooEarly("Retry after the handshake").status, 425);
 * ```
 */
export class HttpTooEarly extends HttpError {
  /** Creates a 425 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(425, message, options);
  }
}

/** Options of {@linkcode HttpUpgradeRequired}. */
export interface HttpUpgradeRequiredOptions extends HttpErrorOptions {
  /** The protocols to switch to, sent as `Upgrade` (RFC 9110 wants one on a 426). */
  upgrade?: string;
}

/**
 * 426 Upgrade Required: the client must switch protocols (`upgrade`).
 *
 * @example
 * ```ts
 * import { HttpUpgradeRequired } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const err = new HttpUpgradeRequired("WebSocket only", { upgrade: "websocket" });
 * assert.equal(err.headers.get("upgrade"), "websocket");
 * ```
 */
export class HttpUpgradeRequired extends HttpError {
  /** Creates a 426 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpUpgradeRequiredOptions) {
    const upgrade = options?.upgrade;
    if (upgrade !== undefined) fieldValue("Upgrade", upgrade);
    super(426, message, options);
    if (upgrade !== undefined) this.headers.set("upgrade", upgrade);
  }
}

/**
 * 428: the request must be conditional (`If-Match`) to avoid lost updates.
 *
 * @example
 * ```ts
 * import { HttpPreconditionRequired } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpPreconditionRequired("Send If-Match").status, 428);
 * ```
 */
export class HttpPreconditionRequired extends HttpError {
  /** Creates a 428 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(428, message, options);
  }
}

/** Options of {@linkcode HttpTooManyRequests} and {@linkcode HttpServiceUnavailable}. */
export interface HttpRetryAfterOptions extends HttpErrorOptions {
  /** When to retry: seconds from now (an integer) or a date; sent as `Retry-After`. */
  retryAfter?: number | Date;
}

/**
 * 429 Too Many Requests: the client is rate limited; say when to come back
 * with `retryAfter`.
 *
 * @example
 * ```ts
 * import { HttpTooManyRequests } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const err = new HttpTooManyRequests("Slow down", { retryAfter: 30 });
 * assert.equal(err.headers.get("retry-after"), "30");
 * ```
 */
export class HttpTooManyRequests extends HttpError {
  /** Creates a 429 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpRetryAfterOptions) {
    const retryAfter = options?.retryAfter === undefined
      ? undefined
      : retryAfterValue(options.retryAfter);
    super(429, message, options);
    if (retryAfter !== undefined) this.headers.set("retry-after", retryAfter);
  }
}

/**
 * 431: the request's header fields are too large.
 *
 * @example
 * ```ts
 * import { HttpRequestHeaderFieldsTooLarge } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpRequestHeaderFieldsTooLarge("Cookie too large").status, 431);
 * ```
 */
export class HttpRequestHeaderFieldsTooLarge extends HttpError {
  /** Creates a 431 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(431, message, options);
  }
}

/**
 * 451: the resource is withheld for legal reasons.
 *
 * @example
 * ```ts
 * import { HttpUnavailableForLegalReasons } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpUnavailableForLegalReasons("Blocked in your country").status, 451);
 * ```
 */
export class HttpUnavailableForLegalReasons extends HttpError {
  /** Creates a 451 error; the message is shown to the client. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(451, message, options);
  }
}
