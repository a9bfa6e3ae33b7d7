/**
 * Class-based views, as aiohttp's `web.View`: one class per resource whose
 * methods `get()`, `post()`, … handle the verbs.
 *
 * @module
 */

import type { Application } from "./application.ts";
import type { ServerRequest } from "./server_request.ts";

/** The verbs a {@linkcode View} can handle, with the method name that handles each. */
export const VIEW_METHODS: ReadonlyArray<readonly [verb: string, method: ViewMethodName]> = [
  ["GET", "get"],
  ["HEAD", "head"],
  ["POST", "post"],
  ["PUT", "put"],
  ["PATCH", "patch"],
  ["DELETE", "delete"],
  ["OPTIONS", "options"],
];

/**
 * The name of a verb method of a {@linkcode View}.
 *
 * @example
 * ```ts
 * import type { ViewMethodName } from "@sluice/http/server";
 *
 * const name: ViewMethodName = "get";
 * ```
 */
export type ViewMethodName = "get" | "head" | "post" | "put" | "patch" | "delete" | "options";

/**
 * A class-based view: a new instance handles each request, `this.request`
 * is the request, and each verb the class defines a method for (`get()`,
 * `post()`, …) is routed to it. `HEAD` comes with `get()` unless the class
 * defines `head()`; other verbs answer `405` with `Allow` (and `OPTIONS`
 * is answered automatically unless the class defines `options()`).
 * Register a view with `app.router.view(path, ViewClass)`. Each verb method
 * returns a `Response` (or a promise of one).
 *
 * @example
 * ```ts
 * import { Application, json, View } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * class UserView extends View<{ id: string }> {
 *   get(): Response {
 *     return json({ id: this.request.params.id });
 *   }
 *   async post(): Promise<Response> {
 *     return json({ id: this.request.params.id, body: await this.request.json() }, { status: 201 });
 *   }
 * }
 *
 * const app = new Application();
 * app.router.view("/users/:id", UserView);
 * const res = await app.fetch(new Request("http://localhost/users/7"));
 * assert.deepEqual(await res.json(), { id: "7" });
 * const put = await app.fetch(new Request("http://localhost/users/7", { method: "PUT" }));
 * assert.equal(put.status, 405);
 * assert.equal(put.headers.get("allow"), "GET, HEAD, OPTIONS, POST");
 * ```
 */
export class View<P extends Record<string, string> = Record<string, string>> {
  /** The request this instance handles. */
  readonly request: ServerRequest<Application, P>;

  /**
   * Made by the router for each request.
   *
   * @param request The request to handle.
   */
  constructor(request: ServerRequest<Application, P>) {
    this.request = request;
  }
}

/**
 * A {@linkcode View} subclass, as `app.router.view()` takes it.
 *
 * @example
 * ```ts
 * import { text, View, type ViewClass } from "@sluice/http/server";
 *
 * class Hello extends View {
 *   get(): Response {
 *     return text("hello");
 *   }
 * }
 * const viewClass: ViewClass = Hello;
 * ```
 */
export type ViewClass<P extends Record<string, string> = Record<string, string>> = new (
  request: ServerRequest<Application, P>,
) => View<P>;

/**
 * The verbs `viewClass` handles, each with its method name: methods found on
 * its prototype chain (below `View` itself).
 *
 * @param viewClass The view class.
 * @returns The `[verb, method]` pairs, in {@linkcode VIEW_METHODS} order.
 */
export function viewVerbs(
  viewClass: { readonly prototype: unknown },
): Array<readonly [string, ViewMethodName]> {
  if (typeof viewClass !== "function" || !(viewClass.prototype instanceof View)) {
    throw new TypeError("Cannot register a view: not a subclass of View");
  }
  const proto = viewClass.prototype as Partial<Record<ViewMethodName, unknown>>;
  return VIEW_METHODS.filter(([, method]) => typeof proto[method] === "function");
}
