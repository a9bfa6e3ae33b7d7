/**
 * The routes of an application: verbs, class-based views, per-route
 * middleware and named-route URL building, with params typed from the path.
 *
 * @module
 */

import type { Application } from "./application.ts";
import { compose, type Middleware } from "./middleware/compose.ts";
import type { PathParams } from "./router/path_params.ts";
import { type AddRouteOptions, Router, type UrlOptions } from "./router/router.ts";
import type { ServerRequest } from "./server_request.ts";
import { StaticFiles, type StaticFilesOptions } from "./static_files.ts";
import { type ViewClass, type ViewMethodName, viewVerbs } from "./view.ts";

/** A view instance, seen through its verb methods. */
type VerbMethods = Record<ViewMethodName, () => Response | Promise<Response>>;

/** Route params: names to percent-decoded values. */
export type Params = Record<string, string>;

/**
 * A route handler of an {@linkcode Application}; `P` is the params object,
 * typed from the route's path when registered with `app.router.get(…)`.
 *
 * @example
 * ```ts
 * import { type Handler, json } from "@sluice/http/server";
 *
 * const showUser: Handler<{ id: string }> = (req) => json({ id: req.params.id });
 * ```
 */
export type Handler<P extends Params = Params> = (
  request: ServerRequest<Application, P>,
) => Response | Promise<Response>;

/**
 * A middleware that runs for one route only (`{ middlewares: [...] }`).
 *
 * @example
 * ```ts
 * import type { RouteMiddleware } from "@sluice/http/server";
 *
 * const noStore: RouteMiddleware = async (req, next) => {
 *   const res = await next(req);
 *   res.headers.set("cache-control", "no-store");
 *   return res;
 * };
 * ```
 */
export type RouteMiddleware = Middleware<ServerRequest<Application, Params>>;

/**
 * Options of a route: its name (for `url()`) and its own middlewares, which
 * run inside the application's, around this route's handler only.
 *
 * @example
 * ```ts
 * import { Application, text, type RouteOptions } from "@sluice/http/server";
 *
 * const options: RouteOptions = { name: "home" };
 * new Application().router.get("/", () => text("home"), options);
 * ```
 */
export interface RouteOptions extends AddRouteOptions {
  /** Middlewares of this route, outermost first. */
  middlewares?: readonly RouteMiddleware[];
}

/**
 * One verb of {@linkcode AppRouter}: registers `handler` on `path`, with
 * `req.params` typed from `path`.
 *
 * @example
 * ```ts
 * import { Application, type RouteVerb, text } from "@sluice/http/server";
 *
 * const app = new Application();
 * const get: RouteVerb = app.router.get;
 * get("/users/:id", (req) => text(`user ${req.params.id}`));
 * ```
 */
export type RouteVerb = <Path extends string>(
  path: Path,
  handler: Handler<PathParams<Path>>,
  options?: RouteOptions,
) => void;

/**
 * The routes of an {@linkcode Application}: `get`, `post`, … register a
 * handler for a URLPattern pathname (`/users/:id`), `view` a class-based
 * view, `url()` builds a named route's path back (with the prefix of a
 * mounted sub-application).
 *
 * @example
 * ```ts
 * import { Application, text } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const app = new Application();
 * app.router.get("/users/:id", (req) => text(`user ${req.params.id}`), { name: "user" });
 * assert.equal(app.router.url("user", { params: { id: "7" } }), "/users/7");
 * ```
 */
export class AppRouter {
  readonly #router: Router<Handler>;
  readonly #prefix: () => string;
  readonly #statics = new Map<string, StaticFiles>();
  /** `GET` (also answers `HEAD`). */
  readonly get: RouteVerb;
  /** `POST`. */
  readonly post: RouteVerb;
  /** `PUT`. */
  readonly put: RouteVerb;
  /** `PATCH`. */
  readonly patch: RouteVerb;
  /** `DELETE`. */
  readonly delete: RouteVerb;
  /** `HEAD` (overrides the automatic one of a `GET` route). */
  readonly head: RouteVerb;
  /** `OPTIONS`. */
  readonly options: RouteVerb;
  /** Every method. */
  readonly all: RouteVerb;

  /**
   * Wraps a method router.
   *
   * @param router The method router underneath.
   * @param prefix Where the application is mounted (`""` at the root), asked when building URLs.
   */
  constructor(router: Router<Handler>, prefix: () => string = () => "") {
    this.#router = router;
    this.#prefix = prefix;
    const verb = (method: string): RouteVerb => (path, handler, options) =>
      this.route(method, path, handler as Handler, options);
    this.get = verb("GET");
    this.post = verb("POST");
    this.put = verb("PUT");
    this.patch = verb("PATCH");
    this.delete = verb("DELETE");
    this.head = verb("HEAD");
    this.options = verb("OPTIONS");
    this.all = verb("*");
  }

  /** Registers `handler` for `method` (`"*"` for any) on `path`. */
  route<Path extends string>(
    method: string,
    path: Path,
    handler: Handler<PathParams<Path>>,
    options?: RouteOptions,
  ): void {
    if (typeof handler !== "function") {
      throw new TypeError(`Cannot add route ${method} ${path}: the handler is not a function`);
    }
    const middlewares = options?.middlewares;
    let run = handler as Handler;
    if (middlewares !== undefined && middlewares.length > 0) {
      if (!Array.isArray(middlewares)) {
        throw new TypeError(`Cannot add route ${method} ${path}: middlewares is not an array`);
      }
      run = compose(middlewares, run);
    }
    this.#router.add(
      method,
      path,
      run,
      options?.name === undefined ? undefined : { name: options.name },
    );
  }

  /**
   * Registers a class-based view on `path`: one route per verb method the
   * class defines (`get()` also answers `HEAD`). A name, when given, names
   * the first of them.
   */
  view<Path extends string>(
    path: Path,
    viewClass: ViewClass<PathParams<Path>>,
    options?: RouteOptions,
  ): void {
    const verbs = viewVerbs(viewClass);
    if (verbs.length === 0) {
      throw new TypeError(`Cannot add view ${path}: the class defines none of get(), post(), …`);
    }
    for (let i = 0; i < verbs.length; i++) {
      const [verb, method] = verbs[i];
      const handler: Handler<PathParams<Path>> = (request) => {
        const view = new viewClass(request) as unknown as VerbMethods;
        return view[method]();
      };
      this.route(verb, path, handler, i === 0 ? options : { ...options, name: undefined });
    }
  }

  /**
   * Serves the files of `directory` under `prefix` (`GET` and `HEAD` of
   * `prefix/*`) through `fileResponse`, never outside `directory`; see
   * {@linkcode StaticFiles} for the options (listing, index file, symbolic
   * links, dot-files, versioned URLs). A name makes
   * `url(name, { params: { filename } })` build the URL of a file.
   *
   * @returns The static files, e.g. for versioned URLs (`await files.url("app.css", { appendVersion: true })`,
   *   a path within this application: add `app.prefix` for a mounted one).
   */
  static(
    prefix: string,
    directory: string,
    options: StaticFilesOptions & { name?: string; middlewares?: readonly RouteMiddleware[] } = {},
  ): StaticFiles {
    const { name, middlewares, ...fileOptions } = options;
    if (name !== undefined && this.#statics.has(name)) {
      throw new TypeError(
        `Cannot add static files named ${JSON.stringify(name)}: the name is taken`,
      );
    }
    const files = new StaticFiles(prefix, directory, fileOptions);
    const base = files.prefix.length + 1;
    const pattern = files.prefix + "/*";
    this.route("GET", pattern, (req) => {
      // The path below the prefixes, as sent (StaticFiles decodes it once itself).
      const rest = req.pathname.slice(this.#prefix().length + base);
      return files.serve(req, rest);
    }, { name, middlewares });
    if (name !== undefined) this.#statics.set(name, files);
    return files;
  }

  /**
   * The path of the route named `name`, with `params` filled in and `query`
   * appended; for static files, `params.filename` is the file.
   */
  url(name: string, options?: UrlOptions): string {
    const files = this.#statics.get(name);
    if (files !== undefined) {
      const filename = options?.params?.filename;
      if (typeof filename !== "string") {
        throw new TypeError(
          `Cannot build the URL of static files ${
            JSON.stringify(name)
          }: params.filename is not a string`,
        );
      }
      const path = this.#prefix() + files.url(filename, { appendVersion: false });
      const query = options?.query === undefined ? "" : new URLSearchParams(
        options.query instanceof URLSearchParams
          ? options.query
          : Object.entries(options.query).flatMap(
            ([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => [k, String(x)]),
          ),
      ).toString();
      return query === "" ? path : `${path}?${query}`;
    }
    return this.#prefix() + this.#router.url(name, options);
  }

  /** The router underneath. */
  get table(): Router<Handler> {
    return this.#router;
  }
}
