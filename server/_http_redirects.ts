/**
 * The 3xx redirects of {@linkcode HttpError}: they take the `Location`.
 *
 * @module
 */

import { HttpError, type HttpErrorOptions } from "./http_errors.ts";
import { locationValue } from "./_http_error_fields.ts";

/** Options of the redirects: {@linkcode HttpErrorOptions} and a message. */
export interface HttpRedirectOptions extends HttpErrorOptions {
  /** A message for logs and the generated body. */
  message?: string;
}

/**
 * The base of the 3xx redirects: sets `Location`, percent-encoding spaces
 * and non-ASCII characters and refusing control characters (no header
 * injection through a redirect target). A relative URL is sent as given.
 *
 * @example Catch any redirect
 * ```ts
 * import { HttpFound, HttpRedirect } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const err: unknown = new HttpFound("/login?next=/caf\u00e9");
 * assert.ok(err instanceof HttpRedirect);
 * assert.equal(err.location, "/login?next=/caf%C3%A9");
 * assert.equal(err.headers.get("location"), "/login?next=/caf%C3%A9");
 * ```
 */
export class HttpRedirect extends HttpError {
  /** The `Location` sent, after encoding. */
  readonly location: string;

  /**
   * Creates a redirect.
   *
   * @param status A 3xx status.
   * @param location The target, absolute or relative.
   * @param options Headers, body, message, reason and cause.
   */
  constructor(status: number, location: string | URL, options?: HttpRedirectOptions) {
    if (!Number.isInteger(status) || status < 300 || status > 399) {
      throw new RangeError(`Cannot create a redirect with status ${status}: not in 300–399`);
    }
    const value = locationValue(location);
    super(status, options?.message, options);
    this.location = value;
    this.headers.set("location", value);
  }
}

/**
 * 301 Moved Permanently: the resource has a new URL for good (clients may
 * turn a `POST` into a `GET`; use 308 to keep the method).
 *
 * @example
 * ```ts
 * import { HttpMovedPermanently } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpMovedPermanently("/new").status, 301);
 * ```
 */
export class HttpMovedPermanently extends HttpRedirect {
  /** Creates a 301 redirect to `location`. */
  constructor(location: string | URL, options?: HttpRedirectOptions) {
    super(301, location, options);
  }
}

/**
 * 302 Found: the resource is temporarily elsewhere.
 *
 * @example
 * ```ts
 * import { HttpFound } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpFound("/login").headers.get("location"), "/login");
 * ```
 */
export class HttpFound extends HttpRedirect {
  /** Creates a 302 redirect to `location`. */
  constructor(location: string | URL, options?: HttpRedirectOptions) {
    super(302, location, options);
  }
}

/**
 * 303 See Other: the result is at another URL, fetched with `GET` (the
 * answer to a form `POST`).
 *
 * @example
 * ```ts
 * import { HttpSeeOther } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpSeeOther("/orders/7").status, 303);
 * ```
 */
export class HttpSeeOther extends HttpRedirect {
  /** Creates a 303 redirect to `location`. */
  constructor(location: string | URL, options?: HttpRedirectOptions) {
    super(303, location, options);
  }
}

/**
 * 307 Temporary Redirect: like 302, but the method and body are kept.
 *
 * @example
 * ```ts
 * import { HttpTemporaryRedirect } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpTemporaryRedirect("/v2/upload").status, 307);
 * ```
 */
export class HttpTemporaryRedirect extends HttpRedirect {
  /** Creates a 307 redirect to `location`. */
  constructor(location: string | URL, options?: HttpRedirectOptions) {
    super(307, location, options);
  }
}

/**
 * 308 Permanent Redirect: like 301, but the method and body are kept.
 *
 * @example
 * ```ts
 * import { HttpPermanentRedirect } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new HttpPermanentRedirect(new URL("https://example.com/")).status, 308);
 * ```
 */
export class HttpPermanentRedirect extends HttpRedirect {
  /** Creates a 308 redirect to `location`. */
  constructor(location: string | URL, options?: HttpRedirectOptions) {
    super(308, location, options);
  }
}
