/**
 * aiohttp's `normalize_path_middleware`: requests whose path has no route
 * are redirected to the path with merged slashes and the trailing slash
 * added (or removed), when that one has a route.
 *
 * @module
 */

import { Application } from "../application.ts";
import {
  HttpFound,
  HttpMovedPermanently,
  HttpPermanentRedirect,
  HttpTemporaryRedirect,
} from "../_http_redirects.ts";
import { normalizePath } from "../router/normalize.ts";
import type { ServerRequest } from "../server_request.ts";
import type { Middleware } from "./compose.ts";

/** Options of {@linkcode normalizePathMiddleware}. */
export interface NormalizePathMiddlewareOptions {
  /** Try the path with a trailing `/` added (`/docs` → `/docs/`). Default `true`. */
  appendSlash?: boolean;
  /** Try the path with its trailing `/` removed (`/docs/` → `/docs`). Default `false`; not with `appendSlash`. */
  removeSlash?: boolean;
  /** Try the path with runs of `/` merged (`/a//b` → `/a/b`). Default `true`. */
  mergeSlashes?: boolean;
  /**
   * The redirect status: `308` (permanent) or `307` (temporary), which keep
   * the method and body, or `301`/`302`, which are sent for `GET` and `HEAD`
   * only (other methods get `308`/`307`, as browsers turn a 301/302 `POST`
   * into a `GET`). Default `308`, as aiohttp.
   */
  status?: 301 | 302 | 307 | 308;
  /**
   * Whether `method` has a route at `pathname` (percent-encoded, as sent).
   * Default: asks the router of `req.app`, which must then be an
   * {@linkcode Application}.
   */
  resolves?: (method: string, pathname: string) => boolean;
}

/**
 * Redirects requests for paths without a route to their normalised path,
 * as aiohttp's `normalize_path_middleware`, for `app.use()`.
 *
 * Only when the request's own path does not resolve for its method are the
 * candidates tried, in aiohttp's order (slashes merged; trailing slash added
 * or removed; both), and only one that resolves for the method is
 * redirected to; otherwise the request goes on (to its 404 or 405). The
 * query string is kept. The target is always a path on this host: a leading
 * `//` becomes `/`, and paths holding `\` or control characters (which
 * browsers may read as another host, `/\evil.example`) are never redirected.
 * Default status `308` for every method, as aiohttp (`301`/`302` only for
 * `GET`/`HEAD` when chosen).
 *
 * @param options Which normalisations, the status, how to tell a path resolves.
 * @returns The middleware.
 *
 * @example
 * ```ts
 * import { Application, normalizePathMiddleware, text } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const app = new Application();
 * app.use(normalizePathMiddleware());
 * app.router.get("/docs/", () => text("docs"));
 *
 * const res = await app.fetch(new Request("http://localhost//docs?page=2"));
 * assert.equal(res.status, 308);
 * assert.equal(res.headers.get("location"), "/docs/?page=2");
 * assert.equal((await app.fetch(new Request("http://localhost/nothing"))).status, 404);
 * ```
 */
export function normalizePathMiddleware<
  R extends ServerRequest<unknown, Record<string, string>> = ServerRequest,
>(options: NormalizePathMiddlewareOptions = {}): Middleware<R> {
  const append = options.appendSlash ?? true;
  const remove = options.removeSlash ?? false;
  if (append && remove) {
    throw new TypeError("Cannot normalize paths: appendSlash and removeSlash exclude each other");
  }
  const merge = options.mergeSlashes ?? true;
  const trailingSlash = append ? "add" : remove ? "remove" : null;
  const status = options.status ?? 308;
  if (![301, 302, 307, 308].includes(status)) {
    throw new RangeError(`Cannot normalize paths with status ${status}: not 301, 302, 307 or 308`);
  }
  const given = options.resolves;
  if (given !== undefined && typeof given !== "function") {
    throw new TypeError("Cannot normalize paths: resolves is not a function");
  }

  return (req, next) => {
    const pathname = req.pathname;
    // deno-lint-ignore no-control-regex
    if (!pathname.startsWith("/") || /[\\\x00-\x1f\x7f]/.test(pathname)) return next(req);
    const resolves = given ?? appResolver(req.app);
    const method = req.method;
    if (resolves(method, pathname)) return next(req);
    const target = normalizePath(pathname, {
      mergeSlashes: merge,
      trailingSlash,
      resolves: (candidate) => resolves(method, candidate),
    });
    if (target === null || !target.startsWith("/") || target.startsWith("//")) return next(req);
    const location = target + req.search;
    const safe = method === "GET" || method === "HEAD";
    switch (status) {
      case 301:
        throw safe ? new HttpMovedPermanently(location) : new HttpPermanentRedirect(location);
      case 302:
        throw safe ? new HttpFound(location) : new HttpTemporaryRedirect(location);
      case 307:
        throw new HttpTemporaryRedirect(location);
      default:
        throw new HttpPermanentRedirect(location);
    }
  };
}

function appResolver(app: unknown): (method: string, pathname: string) => boolean {
  if (!(app instanceof Application)) {
    throw new TypeError(
      "Cannot normalize paths: req.app is not an Application; pass the resolves option",
    );
  }
  // Paths are asked of the root, which sees every mounted application's routes.
  let root: Application = app;
  while (root.parent !== null) root = root.parent;
  return (method, pathname) => root.resolves(method, pathname);
}
