/**
 * The 5xx subclasses of {@linkcode HttpError}; 503 takes `Retry-After`.
 *
 * @module
 */

import { HttpError, type HttpErrorOptions } from "./http_errors.ts";
import type { HttpRetryAfterOptions } from "./_http_client_errors.ts";
import { retryAfterValue } from "./_http_error_fields.ts";

/**
 * 500: the server failed; its message is hidden from the client unless `expose` is set.
 *
 * @example
 * ```ts
 * import { HttpInternalServerError } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpInternalServerError("Database down").status, 500);
 * ```
 */
export class HttpInternalServerError extends HttpError {
  /** Creates a 500 error; the message is hidden unless `expose`. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(500, message, options);
  }
}

/**
 * 501: the server does not support what the request needs; message hidden by default.
 *
 * @example
 * ```ts
 * import { HttpNotImplemented } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpNotImplemented("PATCH not supported yet").status, 501);
 * ```
 */
export class HttpNotImplemented extends HttpError {
  /** Creates a 501 error; the message is hidden unless `expose`. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(501, message, options);
  }
}

/**
 * 502: an upstream server answered badly; message hidden by default.
 *
 * @example
 * ```ts
 * import { HttpBadGateway } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpBadGateway("Upstream reset").status, 502);
 * ```
 */
export class HttpBadGateway extends HttpError {
  /** Creates a 502 error; the message is hidden unless `expose`. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(502, message, options);
  }
}

/**
 * 503 Service Unavailable: the server cannot answer now (overload,
 * maintenance); say when to come back with `retryAfter`. The message is
 * hidden from the client by default.
 *
 * @example
 * ```ts
 * import { HttpServiceUnavailable } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const until = new Date(Date.UTC(2030, 0, 1));
 * const err = new HttpServiceUnavailable("Maintenance", { retryAfter: until });
 * assert.equal(err.headers.get("retry-after"), "Tue, 01 Jan 2030 00:00:00 GMT");
 * ```
 */
export class HttpServiceUnavailable extends HttpError {
  /** Creates a 503 error; the message is hidden unless `expose`. */
  constructor(message?: string, options?: HttpRetryAfterOptions) {
    const retryAfter = options?.retryAfter === undefined
      ? undefined
      : retryAfterValue(options.retryAfter);
    super(503, message, options);
    if (retryAfter !== undefined) this.headers.set("retry-after", retryAfter);
  }
}

/**
 * 504: an upstream server did not answer in time; message hidden by default.
 *
 * @example
 * ```ts
 * import { HttpGatewayTimeout } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpGatewayTimeout("Upstream timed out").status, 504);
 * ```
 */
export class HttpGatewayTimeout extends HttpError {
  /** Creates a 504 error; the message is hidden unless `expose`. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(504, message, options);
  }
}

/**
 * 505: the request's HTTP version is not supported; message hidden by default.
 *
 * @example
 * ```ts
 * import { HttpVersionNotSupported } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpVersionNotSupported("HTTP/1.x only").status, 505);
 * ```
 */
export class HttpVersionNotSupported extends HttpError {
  /** Creates a 505 error; the message is hidden unless `expose`. */
  constructor(message?: string, options?: HttpErrorOptions) {
    super(505, message, options);
  }
}
