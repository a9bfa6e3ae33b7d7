/**
 * Request IDs as a middleware: each request gets an ID (the one a trusted
 * proxy sent, or a new one), kept in `req.state` for handlers and logs and
 * echoed on the response.
 *
 * @module
 */

import { AppKey } from "../app_key.ts";
import { isHttpError } from "../http_errors.ts";
import type { ServerRequest } from "../server_request.ts";
import type { Middleware } from "./compose.ts";
import { editHeaders, isToken } from "./_headers.ts";

/**
 * The `req.state` key of the request's ID, set by {@linkcode requestId}.
 *
 * @example
 * ```ts
 * import { Application, REQUEST_ID, requestId, text } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const app = new Application();
 * app.use(requestId());
 * app.router.get("/", (req) => text(`you are ${req.state.get(REQUEST_ID)}`));
 * const res = await app.fetch(new Request("http://localhost/", { headers: { "x-request-id": "abc-1" } }));
 * assert.equal(await res.text(), "you are abc-1");
 * ```
 */
export const REQUEST_ID: AppKey<string> = new AppKey<string>("requestId");

/** Options of {@linkcode requestId}. */
export interface RequestIdOptions<R = ServerRequest> {
  /** The request and response field. Default `x-request-id`. */
  header?: string;
  /**
   * Whether to keep an ID the client (typically a proxy in front) sent in
   * `header`. It is kept only when it is 1–200 visible ASCII characters
   * (inner spaces allowed), else a new one is made. Default `true`; set
   * `false` when clients reach the server directly and their IDs must not
   * end up in logs.
   */
  trustIncoming?: boolean;
  /** Makes a new ID. Default `crypto.randomUUID()`. */
  generator?: (request: R) => string;
  /** Whether to echo the ID on the response. Default `true`. */
  echo?: boolean;
}

const VALID = /^[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?$/;

/**
 * A request ID middleware, for `app.use()` (outermost, so every later
 * middleware and the handler can see the ID) or for one route.
 *
 * The ID is the incoming `header` field when `trustIncoming` and it is valid
 * (1–200 visible ASCII characters: anything else, such as a value with
 * control characters meant to forge log lines, is replaced), else
 * `generator(req)`. It is stored in `req.state` under
 * {@linkcode REQUEST_ID} and set on the response (also on the answer to an
 * `HttpError` thrown further in, through the error's `headers`).
 *
 * @param options The field name, trust, generator and echo.
 * @returns The middleware.
 *
 * @example
 * ```ts
 * import { Application, REQUEST_ID, requestId, text } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const app = new Application();
 * let n = 0;
 * app.use(requestId({ generator: () => `req-${++n}` }));
 * app.router.get("/", (req) => text(req.state.get(REQUEST_ID)));
 * const res = await app.fetch(new Request("http://localhost/"));
 * assert.equal(res.headers.get("x-request-id"), "req-1");
 * assert.equal(await res.text(), "req-1");
 * ```
 */
export function requestId<R extends ServerRequest<unknown, Record<string, string>> = ServerRequest>(
  options: RequestIdOptions<NoInfer<R>> = {},
): Middleware<R> {
  const header = options.header ?? "x-request-id";
  if (typeof header !== "string" || !isToken(header)) {
    throw new TypeError(`Cannot use request ID header "${String(header)}": not a field name`);
  }
  const trust = options.trustIncoming ?? true;
  const echo = options.echo ?? true;
  const generator = options.generator ?? (() => crypto.randomUUID());
  if (typeof generator !== "function") {
    throw new TypeError("Cannot use the request ID generator: not a function");
  }

  return async (req, next) => {
    const incoming = trust ? req.header(header) : null;
    let id: string;
    if (incoming !== null && VALID.test(incoming)) id = incoming;
    else {
      id = generator(req);
      if (typeof id !== "string" || !VALID.test(id)) {
        throw new TypeError(
          `Cannot use generated request ID ${
            JSON.stringify(id)
          }: not 1–200 visible ASCII characters`,
        );
      }
    }
    req.state.set(REQUEST_ID, id);
    if (!echo) return next(req);
    const set = (headers: Headers): void => headers.set(header, id);
    let res: Response;
    try {
      res = await next(req);
    } catch (error) {
      if (isHttpError(error)) set(error.headers);
      throw error;
    }
    return editHeaders(res, set);
  };
}
