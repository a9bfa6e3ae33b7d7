/**
 * The application: routes, middleware, shared state and lifecycle signals,
 * served by `runApp` (through its lazy `handleIncoming` entry point) or called
 * directly with a platform `Request` (`app.fetch`, for edge hosts and tests).
 *
 * @module
 */

import { HttpBadRequest, HttpMethodNotAllowed, HttpNotFound } from "./_http_client_errors.ts";
import { AppState } from "./app_key.ts";
import { BodyError } from "./errors.ts";
import { HttpError, isHttpError, renderHttpError } from "./http_errors.ts";
import { compose, type Middleware } from "./middleware/compose.ts";
import { AppRouter, type Handler } from "./app_router.ts";
import { Router, type RouteResolution } from "./router/router.ts";
import { runCleanup, runShutdown, runStartup } from "./lifecycle.ts";
import { ServerRequest } from "./server_request.ts";
import { PlatformIncoming } from "./_platform_request.ts";
import type {
  CleanupContext,
  IncomingRequest,
  LifecycleHook,
  ServeInfo,
  ServerApp,
  ServerLogger,
} from "./types.ts";

/** Options of {@linkcode Application}. */
export interface ApplicationOptions {
  /** Largest body the buffered reads accept (`req.json()`, …); 413 past it. Default 1 MiB. */
  clientMaxSize?: number;
  /** Answer `OPTIONS` with `204` and `Allow` for paths without their own `OPTIONS` route. Default `true`. */
  autoOptions?: boolean;
  /** Where unexpected handler errors are reported. Default: `console.error`. */
  logger?: ServerLogger;
}

/**
 * A hook of {@linkcode Application.onResponsePrepare}: sees every response
 * before it is sent (error answers too) while its headers can still change.
 *
 * @example
 * ```ts
 * import type { ResponsePrepareHook } from "@sluice/http/server";
 *
 * const securityHeaders: ResponsePrepareHook = (_req, res) => {
 *   res.headers.set("x-content-type-options", "nosniff");
 * };
 * ```
 */
export type ResponsePrepareHook = (
  request: ServerRequest<Application>,
  response: Response,
) => void | Promise<void>;

/**
 * An application, as aiohttp's `web.Application`: routes, middleware, typed
 * state, lifecycle signals and sub-applications. `handleIncoming` is what
 * servers call; `fetch` takes a platform `Request`.
 *
 * A sub-application (`app.mount("/api", api)`) keeps its own routes,
 * middlewares, state and signals: a request routed into it runs the parent's
 * middlewares, then its own, then the handler, and `req.app` is the
 * sub-application. Requests no sub-application routes (404, 405) run the
 * parent's middlewares only. Its startup, shutdown and cleanup run with the
 * parent's (its startup after the parent's `onStartup` hooks, its cleanup
 * before the parent's `onCleanup` hooks).
 *
 * @example Handle a request in-process
 * ```ts
 * import { Application, json } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const app = new Application();
 * app.router.get("/hello/:name", (req) => json({ hello: req.params.name }));
 * const res = await app.fetch(new Request("http://localhost/hello/Ada"));
 * assert.deepEqual(await res.json(), { hello: "Ada" });
 * assert.equal((await app.fetch(new Request("http://localhost/nope"))).status, 404);
 * ```
 *
 * @example A sub-application with its own middleware
 * ```ts
 * import { Application, json } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const api = new Application();
 * api.use(async (req, next) => {
 *   const res = await next(req);
 *   res.headers.set("x-api", "1");
 *   return res;
 * });
 * api.router.get("/items/:id", (req) => json({ id: req.params.id }), { name: "item" });
 *
 * const app = new Application();
 * app.mount("/api", api);
 * const res = await app.fetch(new Request("http://localhost/api/items/3"));
 * assert.deepEqual(await res.json(), { id: "3" });
 * assert.equal(res.headers.get("x-api"), "1");
 * assert.equal(api.router.url("item", { params: { id: 3 } }), "/api/items/3");
 * ```
 */
export class Application implements ServerApp {
  /** The routes. */
  readonly router: AppRouter;
  /** Shared objects, by typed `AppKey`; frozen once the application starts. */
  readonly state: AppState = new AppState();
  /** Run at startup, in order. */
  readonly onStartup: LifecycleHook<Application>[] = [];
  /** Set up at startup, torn down (in reverse) after shutdown. */
  readonly cleanupCtx: CleanupContext<Application>[] = [];
  /** Run when the server stops, after in-flight requests. */
  readonly onShutdown: LifecycleHook<Application>[] = [];
  /** Run last. */
  readonly onCleanup: LifecycleHook<Application>[] = [];
  /**
   * Run for every response of this application (and, for a sub-application,
   * of the requests routed into it), after the middlewares, before it is
   * sent: parents' hooks first.
   */
  readonly onResponsePrepare: ResponsePrepareHook[] = [];
  /** Largest body the buffered reads accept. */
  readonly clientMaxSize: number;
  readonly #router: Router<Handler>;
  readonly #middlewares: Middleware<ServerRequest<Application>>[] = [];
  readonly #mounts: Mount[] = [];
  readonly #logger: ServerLogger;
  readonly #autoOptions: boolean;
  #parent: Application | null = null;
  #mountPrefix = "";
  #frozen = false;
  /** The middlewares from the root down to this application, around routing; built on first use. */
  #chain: ((request: ServerRequest<Application>) => Response | Promise<Response>) | null = null;

  /**
   * Creates an application.
   *
   * @param options Body size limit, automatic `OPTIONS`, logger.
   */
  constructor(options: ApplicationOptions = {}) {
    this.clientMaxSize = options.clientMaxSize ?? 1024 * 1024;
    if (!(this.clientMaxSize >= 0)) {
      throw new RangeError(`Cannot use clientMaxSize ${this.clientMaxSize}: not a size ≥ 0`);
    }
    this.#autoOptions = options.autoOptions ?? true;
    this.#router = new Router<Handler>({ autoOptions: this.#autoOptions });
    this.router = new AppRouter(this.#router, () => this.prefix);
    this.#logger = options.logger ?? {
      error: (message, error) => console.error(message, error),
      info: (message) => console.log(message),
    };
  }

  /** The application this one is mounted in, or `null`. */
  get parent(): Application | null {
    return this.#parent;
  }

  /** The full path prefix this application is mounted at (`""` for a root). */
  get prefix(): string {
    return this.#parent === null ? "" : this.#parent.prefix + this.#mountPrefix;
  }

  /**
   * Adds a middleware, outermost first. Middlewares also run for 404 and
   * 405 answers (the router's errors are thrown inside the chain).
   */
  use(middleware: Middleware<ServerRequest<Application>>): this {
    if (typeof middleware !== "function") {
      throw new TypeError("Cannot use a middleware that is not a function");
    }
    if (this.#frozen) throw new TypeError("Cannot add middleware once requests are served");
    this.#middlewares.push(middleware);
    return this;
  }

  /**
   * Mounts `app` at `prefix` (static, like `/api`): paths under it are
   * routed by `app` with the prefix taken off. An application can be mounted
   * once, before requests are served; prefixes may nest but not repeat.
   */
  mount(prefix: string, app: Application): this {
    if (!(app instanceof Application)) {
      throw new TypeError("Cannot mount: not an Application");
    }
    if (typeof prefix !== "string" || !VALID_PREFIX.test(prefix)) {
      throw new TypeError(
        `Cannot mount at ${
          JSON.stringify(prefix)
        }: a prefix is a static path like "/api" (no trailing slash, no pattern syntax)`,
      );
    }
    if (this.#frozen || app.#frozen) {
      throw new TypeError(`Cannot mount at ${prefix}: requests are already being served`);
    }
    if (app.#parent !== null) {
      throw new TypeError(`Cannot mount at ${prefix}: the application is already mounted`);
    }
    if (app.#contains(this)) {
      throw new TypeError(`Cannot mount at ${prefix}: an application cannot be mounted in itself`);
    }
    if (this.#mounts.some((m) => m.prefix === prefix)) {
      throw new TypeError(`Cannot mount at ${prefix}: another application is mounted there`);
    }
    app.#parent = this;
    app.#mountPrefix = prefix;
    this.#mounts.push({ prefix, app });
    // Longest prefix first, so that "/api/v2" wins over "/api".
    this.#mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    this.cleanupCtx.push(subApplicationContext(prefix, app));
    this.onShutdown.push(
      nameHook(`shutdown of the application at ${prefix}`, () => runShutdown(app)),
    );
    return this;
  }

  /**
   * Whether a `method` request for `pathname` (as sent, not decoded) would
   * reach a handler here or in a mounted application.
   */
  resolves(method: string, pathname: string): boolean {
    return this.#locate(method, pathname).resolution.kind === "found";
  }

  /** The server's entry point (lazy request, no platform `Request` made). */
  readonly handleIncoming = (
    incoming: IncomingRequest,
    info: ServeInfo | null = null,
  ): Response | Promise<Response> => {
    return this.#handle(incoming, info);
  };

  /** The edge entry point: a platform `Request` in, a `Response` out (no body for `HEAD`). */
  readonly fetch = async (request: Request): Promise<Response> => {
    let response: Response;
    try {
      response = await this.#handle(new PlatformIncoming(request), null);
    } catch (error) {
      // A server answers these itself (and closes the connection); here, answer them.
      if (!(error instanceof BodyError)) throw error;
      response = renderHttpError(
        new HttpError(error.status, error.message, { cause: error }),
        request.headers.get("accept"),
      );
    }
    if (request.method !== "HEAD" || response.body === null) return response;
    await response.body.cancel().catch(() => {});
    return new Response(null, response);
  };

  /**
   * Routes and runs one request. Synchronous when the handler (and every
   * middleware) answered synchronously: the native servers then skip a
   * Promise per request.
   */
  #handle(incoming: IncomingRequest, info: ServeInfo | null): Response | Promise<Response> {
    if (!this.#frozen) this.#freeze();
    // Without mounted applications, skip the search (and its allocation).
    const found = this.#mounts.length === 0
      ? null
      : this.#locate(incoming.method, incoming.pathname);
    const app = found === null ? this : found.app;
    const resolution = found === null
      ? this.#router.resolve(incoming.method, incoming.pathname)
      : found.resolution;
    const prepare = found === null ? this.onResponsePrepare.length > 0 : found.prepare;
    const request = new ServerRequest(incoming, {
      app,
      params: resolution.kind === "found" ? resolution.params : {},
      clientMaxSize: app.clientMaxSize,
      info,
    });
    routed.set(request, resolution);
    let result: Response | Promise<Response>;
    try {
      result = (app.#chain ??= app.#buildChain())(request);
    } catch (error) {
      if (error instanceof BodyError) return Promise.reject(error);
      const response = this.#rendered(error, incoming);
      return prepare ? prepareResponse(app, request, response) : response;
    }
    if (result instanceof Response) {
      return prepare ? prepareResponse(app, request, result) : result;
    }
    return Promise.resolve(result).then(
      (response) => prepare ? prepareResponse(app, request, response) : response,
      (error) => {
        const response = this.#rendered(error, incoming);
        return prepare ? prepareResponse(app, request, response) : response;
      },
    );
  }

  /** The answer to what a handler or middleware threw (body errors are the server's to answer). */
  #rendered(error: unknown, incoming: IncomingRequest): Response {
    if (error instanceof BodyError) throw error;
    if (!isHttpError(error)) {
      this.#logger.error(`Handler failed for ${incoming.method} ${incoming.pathname}`, error);
    }
    return renderHttpError(error, incoming.header("accept"));
  }

  /** Finds the route of `pathname` here or in a mounted application. */
  #locate(method: string, pathname: string): Located {
    const own = this.#router.resolve(method, pathname);
    const mounts = this.#mounts;
    if (own.kind === "found" || own.kind === "bad-request" || mounts.length === 0) {
      return { app: this, resolution: own, prepare: this.onResponsePrepare.length > 0 };
    }
    let allowed: Located | null = own.kind === "method-not-allowed"
      ? { app: this, resolution: own, prepare: this.onResponsePrepare.length > 0 }
      : null;
    for (let i = 0; i < mounts.length; i++) {
      const prefix = mounts[i].prefix;
      if (
        pathname.length > prefix.length && pathname.charCodeAt(prefix.length) === 47 &&
        pathname.startsWith(prefix)
      ) {
        const inner = mounts[i].app.#locate(method, pathname.slice(prefix.length));
        const prepare = inner.prepare || this.onResponsePrepare.length > 0;
        if (inner.resolution.kind === "found") return { ...inner, prepare };
        if (inner.resolution.kind === "bad-request") {
          return { app: this, resolution: inner.resolution, prepare };
        }
        if (inner.resolution.kind === "method-not-allowed") {
          const allow = allowed !== null && allowed.resolution.kind === "method-not-allowed"
            ? [...new Set([...allowed.resolution.allow, ...inner.resolution.allow])].sort()
            : inner.resolution.allow;
          allowed = { app: this, resolution: { kind: "method-not-allowed", allow }, prepare };
        }
      }
    }
    return allowed ?? { app: this, resolution: own, prepare: this.onResponsePrepare.length > 0 };
  }

  /** The middlewares of every application from the root down to this one, around routing. */
  #buildChain(): (request: ServerRequest<Application>) => Response | Promise<Response> {
    const middlewares: Middleware<ServerRequest<Application>>[] = [];
    // The root's middlewares first.
    for (let up: Application | null = this.#parent; up !== null; up = up.#parent) {
      middlewares.unshift(...up.#middlewares);
    }
    middlewares.push(...this.#middlewares);
    return compose(middlewares, (req) => this.#dispatch(req));
  }

  /** Whether `app` is this application or mounted somewhere below it. */
  #contains(app: Application): boolean {
    return app === this || this.#mounts.some((m) => m.app.#contains(app));
  }

  #root(): Application {
    return this.#parent === null ? this : this.#parent.#root();
  }

  #freeze(): void {
    const freeze = (app: Application): void => {
      app.#frozen = true;
      for (const m of app.#mounts) freeze(m.app);
    };
    freeze(this.#root());
  }

  #dispatch(request: ServerRequest<Application>): Response | Promise<Response> {
    // A middleware that passed on a request of its own: route it again, here.
    const resolution = routed.get(request) ??
      this.#router.resolve(request.method, request.pathname.slice(this.prefix.length) || "/");
    switch (resolution.kind) {
      case "found":
        return resolution.handler(request);
      case "method-not-allowed":
        if (request.method === "OPTIONS" && this.#autoOptions) {
          return new Response(null, {
            status: 204,
            headers: { allow: resolution.allow.join(", ") },
          });
        }
        throw new HttpMethodNotAllowed([...resolution.allow]);
      case "bad-request":
        throw new HttpBadRequest("Malformed percent-encoding in the path");
      default:
        throw new HttpNotFound();
    }
  }
}

/** A sub-application and where it is mounted. */
interface Mount {
  readonly prefix: string;
  readonly app: Application;
}

/** Where a request goes: the application that routes it, and what its router found. */
interface Located {
  readonly app: Application;
  readonly resolution: RouteResolution<Handler>;
  /** Whether any application on the way has `onResponsePrepare` hooks. */
  readonly prepare: boolean;
}

/** Static paths only: segments of URL path characters, no pattern syntax, no trailing slash. */
const VALID_PREFIX = /^(?:\/[A-Za-z0-9\-._~!$&'@=;,%]+)+$/;

/** Each request's route, found before the middleware chain runs. */
const routed = new WeakMap<object, RouteResolution<Handler>>();

/** Runs the `onResponsePrepare` hooks from the root down to `app`; headers made mutable first. */
async function prepareResponse(
  app: Application,
  request: ServerRequest<Application>,
  response: Response,
): Promise<Response> {
  const apps: Application[] = [];
  for (let up: Application | null = app; up !== null; up = up.parent) apps.unshift(up);
  let res = response;
  try {
    // A Response.redirect() or a fetched Response has immutable headers.
    res.headers.delete("x-sluice-probe");
  } catch {
    res = new Response(res.body, res);
  }
  for (const each of apps) {
    for (const hook of each.onResponsePrepare) await hook(request, res);
  }
  return res;
}

/** A sub-application's startup and cleanup as one of its parent's cleanup contexts. */
function subApplicationContext(prefix: string, app: Application): CleanupContext<Application> {
  const context = async function* (): AsyncGenerator<unknown, void, unknown> {
    await runStartup(app);
    yield;
    await runCleanup(app);
  };
  Object.defineProperty(context, "name", { value: `the application at ${prefix}` });
  return context;
}

function nameHook(name: string, hook: LifecycleHook<Application>): LifecycleHook<Application> {
  Object.defineProperty(hook, "name", { value: name });
  return hook;
}
