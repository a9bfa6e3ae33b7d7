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
import { isHttpError, renderHttpError } from "./http_errors.ts";
import { compose, type Middleware } from "./middleware/compose.ts";
import { type AddRouteOptions, Router, type UrlOptions } from "./router/router.ts";
import { ServerRequest } from "./server_request.ts";
import type {
  CleanupContext,
  IncomingRequest,
  LifecycleHook,
  ServeInfo,
  ServerApp,
  ServerLogger,
} from "./types.ts";

/** A route handler of an {@linkcode Application}. */
export type Handler = (request: ServerRequest<Application>) => Response | Promise<Response>;

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
 * One verb of {@linkcode AppRouter}: registers `handler` on `path`.
 *
 * @example
 * ```ts
 * import { Application, type RouteVerb, text } from "@sluice/http/server";
 *
 * const app = new Application();
 * const get: RouteVerb = app.router.get;
 * get("/", () => text("home"));
 * ```
 */
export type RouteVerb = (path: string, handler: Handler, options?: AddRouteOptions) => void;

/**
 * The routes of an {@linkcode Application}: `get`, `post`, … register a
 * handler for a URLPattern pathname (`/users/:id`), `url()` builds a named
 * route's path back.
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
   */
  constructor(router: Router<Handler>) {
    this.#router = router;
    const verb = (method: string): RouteVerb => (path, handler, options) =>
      this.route(method, path, handler, options);
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
  route(method: string, path: string, handler: Handler, options?: AddRouteOptions): void {
    if (typeof handler !== "function") {
      throw new TypeError(`Cannot add route ${method} ${path}: the handler is not a function`);
    }
    this.#router.add(method, path, handler, options);
  }

  /** The path of the route named `name`, with `params` filled in and `query` appended. */
  url(name: string, options?: UrlOptions): string {
    return this.#router.url(name, options);
  }

  /** The router underneath. */
  get table(): Router<Handler> {
    return this.#router;
  }
}

/**
 * An application, as aiohttp's `web.Application`: routes, middleware, typed
 * state and lifecycle signals. `handleIncoming` is what servers call; `fetch`
 * takes a platform `Request`. Not yet here: sub-applications (`mount`),
 * class-based views and static files (see the open framework issue).
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
  /** Largest body the buffered reads accept. */
  readonly clientMaxSize: number;
  readonly #router: Router<Handler>;
  readonly #middlewares: Middleware<ServerRequest<Application>>[] = [];
  readonly #logger: ServerLogger;
  readonly #autoOptions: boolean;
  #run: ((request: ServerRequest<Application>) => Response | Promise<Response>) | null = null;

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
    this.router = new AppRouter(this.#router);
    this.#logger = options.logger ?? {
      error: (message, error) => console.error(message, error),
      info: (message) => console.log(message),
    };
  }

  /**
   * Adds a middleware, outermost first. Middlewares also run for 404 and
   * 405 answers (the router's errors are thrown inside the chain).
   */
  use(middleware: Middleware<ServerRequest<Application>>): this {
    if (typeof middleware !== "function") {
      throw new TypeError("Cannot use a middleware that is not a function");
    }
    if (this.#run !== null) throw new TypeError("Cannot add middleware once requests are served");
    this.#middlewares.push(middleware);
    return this;
  }

  /** The server's entry point (lazy request, no platform `Request` made). */
  readonly handleIncoming = (
    incoming: IncomingRequest,
    info: ServeInfo | null = null,
  ): Promise<Response> => {
    return this.#handle(incoming, info);
  };

  /** The edge entry point: a platform `Request` in, a `Response` out. */
  readonly fetch = (request: Request): Promise<Response> => {
    const req = ServerRequest.from(request, { app: this, params: {} });
    return this.#handle(req.incoming, null);
  };

  async #handle(incoming: IncomingRequest, info: ServeInfo | null): Promise<Response> {
    const run = this.#run ??= compose(this.#middlewares, (req) => this.#dispatch(req));
    const resolution = this.#router.resolve(incoming.method, incoming.pathname);
    const params = resolution.kind === "found" ? resolution.params : {};
    const request = new ServerRequest(incoming, {
      app: this as Application,
      params,
      clientMaxSize: this.clientMaxSize,
      info,
    });
    routed.set(request, resolution);
    try {
      return await run(request);
    } catch (error) {
      if (error instanceof BodyError) throw error;
      if (!isHttpError(error)) {
        this.#logger.error(`Handler failed for ${incoming.method} ${incoming.pathname}`, error);
      }
      return renderHttpError(error, incoming.header("accept"));
    }
  }

  #dispatch(request: ServerRequest<Application>): Response | Promise<Response> {
    const resolution = routed.get(request) ??
      this.#router.resolve(request.method, request.pathname);
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

/** Each request's route, found before the middleware chain runs. */
const routed = new WeakMap<object, ReturnType<Router<Handler>["resolve"]>>();
