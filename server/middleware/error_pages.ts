/**
 * Error pages as a middleware: `HttpError`s and unexpected exceptions from
 * the inner layers rendered by your renderers, or as HTML, JSON or plain
 * text by the request's `Accept`.
 *
 * @module
 */

import { BodyError } from "../errors.ts";
import { HttpError, isHttpError, renderHttpError } from "../http_errors.ts";
import type { ServerRequest } from "../server_request.ts";
import type { ServerLogger } from "../types.ts";
import type { Middleware } from "./compose.ts";
import { editHeaders } from "./_headers.ts";
import { escapeHtml } from "../../util/html.ts";

/**
 * Renders an error as a response. `error` is the thrown `HttpError`, or a
 * 500 `HttpError` (its `cause` the thrown value) for anything else.
 */
export type ErrorRenderer<R = ServerRequest> = (
  error: HttpError,
  request: R,
) => Response | Promise<Response>;

/** Options of {@linkcode errorPages}. */
export interface ErrorPagesOptions<R = ServerRequest> {
  /** Renderers by status (`{ 404: notFoundPage }`); they win over `fallback`. */
  renderers?: Readonly<Record<number, ErrorRenderer<R>>>;
  /**
   * Renders the errors (status 400–599) that have no renderer in
   * `renderers`. Default: {@linkcode renderErrorPage} (HTML, JSON or text by `Accept`).
   */
  fallback?: ErrorRenderer<R>;
  /** Where unexpected errors (and renderers that fail) are reported. Default: `console.error`. */
  logger?: Pick<ServerLogger, "error">;
}

/**
 * Renders an `HttpError` (or any thrown value, as a bare 500) the way
 * {@linkcode errorPages} does by default: an HTML page when `Accept` prefers
 * `text/html` (a browser), otherwise what {@linkcode renderHttpError} makes
 * (JSON when `Accept` prefers `application/json`, else plain text). The
 * message appears only when the error is `expose`d, HTML-escaped.
 *
 * @param error The thrown value.
 * @param accept The request's `Accept` field, or `null`.
 * @returns The response.
 *
 * @example
 * ```ts
 * import { HttpNotFound, renderErrorPage } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const res = renderErrorPage(new HttpNotFound("No <page>"), "text/html,*\/*;q=0.8");
 * assert.equal(res.status, 404);
 * assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
 * assert.match(await res.text(), /No &lt;page&gt;/);
 * ```
 */
export function renderErrorPage(error: unknown, accept: string | null): Response {
  const err = isHttpError(error) ? error : new HttpError(500);
  if (err.status === 304 || typeof err.body === "string" || !prefersHtml(accept)) {
    return renderHttpError(err, accept);
  }
  const line = err.reason === "" ? `${err.status}` : `${err.status} ${err.reason}`;
  const message = err.expose && err.message !== line ? err.message : undefined;
  const headers = new Headers(err.headers);
  headers.set("content-type", "text/html; charset=utf-8");
  const title = escapeHtml(line);
  const body = `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${title}</title></head>` +
    `<body><h1>${title}</h1>${message === undefined ? "" : `<p>${escapeHtml(message)}</p>`}` +
    `</body></html>\n`;
  return new Response(body, { status: err.status, statusText: err.reason, headers });
}

/**
 * An error page middleware, for `app.use()` or for one route: catches what
 * the inner layers throw and answers with a rendered page.
 *
 * - An `HttpError` of status 400–599 goes to `renderers[status]`, else to
 *   `fallback` (default {@linkcode renderErrorPage}); a 3xx (`HttpFound`…)
 *   only to `renderers[status]`, else it is rendered as the application
 *   would. The error's `headers` (`Allow`, `Location`, CORS fields added by
 *   an inner `cors()`…) are added to whatever a renderer returns, unless the
 *   renderer set them itself.
 * - Anything else thrown is logged (`logger.error`) and rendered as a 500
 *   `HttpError` whose `cause` is the thrown value; nothing of it reaches the
 *   client unless a renderer puts it there.
 * - A thrown `Response` is returned as it is, and responses the inner
 *   layers return (whatever their status) are never touched.
 * - A `BodyError` (the client's body broke or was too large) is rethrown:
 *   the server answers it and closes the connection.
 * - A renderer that throws is logged and the default page is sent instead.
 *
 * @param options Renderers per status, fallback, logger.
 * @returns The middleware.
 *
 * @example A custom 404 page and JSON for the rest
 * ```ts
 * import { Application, errorPages, html, json } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const app = new Application();
 * app.use(errorPages({
 *   renderers: { 404: (_err, req) => html(`<h1>Nothing at ${req.pathname}</h1>`, { status: 404 }) },
 *   fallback: (err) => json({ error: err.status }, { status: err.status }),
 *   logger: { error() {} },
 * }));
 * app.router.get("/boom", () => {
 *   throw new Error("database password is hunter2");
 * });
 *
 * const missing = await app.fetch(new Request("http://localhost/nope"));
 * assert.equal(missing.status, 404);
 * assert.equal(await missing.text(), "<h1>Nothing at /nope</h1>");
 * const boom = await app.fetch(new Request("http://localhost/boom"));
 * assert.deepEqual(await boom.json(), { error: 500 });
 * ```
 */
export function errorPages<
  R extends ServerRequest<unknown, Record<string, string>> = ServerRequest,
>(
  options: ErrorPagesOptions<NoInfer<R>> = {},
): Middleware<R> {
  const renderers = new Map<number, ErrorRenderer<R>>();
  for (const [key, renderer] of Object.entries(options.renderers ?? {})) {
    const status = Number(key);
    if (!Number.isInteger(status) || status < 300 || status > 599) {
      throw new RangeError(`Cannot render error pages for status ${key}: not in 300–599`);
    }
    if (typeof renderer !== "function") {
      throw new TypeError(`Cannot render error pages for status ${key}: not a function`);
    }
    renderers.set(status, renderer);
  }
  const fallback = options.fallback;
  if (fallback !== undefined && typeof fallback !== "function") {
    throw new TypeError("Cannot use the error page fallback: not a function");
  }
  const logger = options.logger ?? { error: (message, error) => console.error(message, error) };

  return async (req, next) => {
    try {
      return await next(req);
    } catch (thrown) {
      if (thrown instanceof Response) return thrown;
      if (thrown instanceof BodyError) throw thrown;
      let error: HttpError;
      if (isHttpError(thrown)) error = thrown;
      else {
        logger.error(`Handler failed for ${req.method} ${req.pathname}`, thrown);
        error = new HttpError(500, undefined, { cause: thrown });
      }
      const renderer = renderers.get(error.status) ??
        (error.status >= 400 ? fallback : undefined);
      const accept = req.header("accept");
      if (renderer === undefined) return renderErrorPage(error, accept);
      let res: Response;
      try {
        res = await renderer(error, req);
        if (!(res instanceof Response)) {
          throw new TypeError(
            `Cannot use the ${error.status} page: the renderer returned no Response`,
          );
        }
      } catch (failure) {
        logger.error(`Error page renderer failed for ${req.method} ${req.pathname}`, failure);
        return renderErrorPage(error, accept);
      }
      const extra = [...error.headers];
      if (extra.length === 0) return res;
      return editHeaders(res, (headers) => {
        for (const [name, value] of extra) {
          if (name === "set-cookie") headers.append(name, value);
          else if (!headers.has(name)) headers.set(name, value);
        }
      });
    }
  };
}

const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** Whether `Accept` ranks `text/html` above both `application/json` and `text/plain`. */
function prefersHtml(accept: string | null): boolean {
  if (accept === null || accept.trim() === "") return false;
  const html = weigh(accept, "text", "html");
  if (html[0] === 0) return false;
  for (const other of [weigh(accept, "application", "json"), weigh(accept, "text", "plain")]) {
    if (other[0] > html[0] || (other[0] === html[0] && other[1] >= html[1])) return false;
  }
  return true;
}

/** `[q, specificity]` of the most specific range of `accept` matching `type/subtype`. */
function weigh(accept: string, type: string, subtype: string): [number, number] {
  let best: [number, number] = [0, 0];
  for (const element of accept.split(",")) {
    const [range, ...params] = element.split(";").map((s) => s.trim().toLowerCase());
    const slash = range.indexOf("/");
    if (slash <= 0) continue;
    const t = range.slice(0, slash);
    const s = range.slice(slash + 1);
    const specificity = t === "*" && s === "*"
      ? 1
      : t !== type
      ? 0
      : s === "*"
      ? 2
      : s === subtype
      ? 3
      : 0;
    if (specificity <= best[1]) continue;
    let q = 1;
    for (const param of params) {
      if (!param.startsWith("q=")) continue;
      const value = param.slice(2).trim();
      q = QVALUE.test(value) ? Number(value) : 0;
    }
    best = [q, specificity];
  }
  return best;
}
