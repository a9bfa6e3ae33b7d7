/**
 * The method router: routes by method and URLPattern pathname pattern, with
 * 404/405 answers, automatic `HEAD`, decoded params and named routes.
 *
 * @module
 */

import { paramsOf, SegmentTree } from "./_tree.ts";
import { parse, type Part } from "./_compile.ts";
import { buildPath } from "./_build_url.ts";

/** One route, as {@linkcode Router.routes} lists it. */
export interface RouteInfo {
  /** The method, upper-cased for the six standard ones, or `"*"` for any method. */
  readonly method: string;
  /** The pattern, as added. */
  readonly path: string;
  /** The route's name, when it was given one. */
  readonly name: string | undefined;
}

/** Options for {@linkcode Router.add}. */
export interface AddRouteOptions {
  /** A name for {@linkcode Router.url}; unique in the router. */
  name?: string;
}

/** Options for {@linkcode Router}. */
export interface RouterOptions {
  /**
   * Whether the application answers `OPTIONS` itself for paths that have no
   * `OPTIONS` route: when true, `OPTIONS` is listed in every `Allow`.
   * Default `false`.
   */
  autoOptions?: boolean;
}

/** What {@linkcode Router.resolve} found. */
export type RouteResolution<H> =
  | {
    kind: "found";
    handler: H;
    /** The params, percent-decoded once. */
    params: Record<string, string>;
    route: RouteInfo;
  }
  | { kind: "method-not-allowed"; allow: readonly string[] }
  | { kind: "not-found" }
  | { kind: "bad-request" };

/** Params for {@linkcode Router.url}: arrays for repeated groups (`:p+`, `:p*`). */
export type UrlParams = Record<string, string | number | readonly (string | number)[]>;

/** Query values for {@linkcode Router.url}: arrays give a repeated key. */
export type UrlQuery =
  | URLSearchParams
  | Record<string, string | number | boolean | readonly (string | number | boolean)[]>;

/** Options for {@linkcode Router.url}. */
export interface UrlOptions {
  /** Values for the pattern's groups, not encoded. */
  params?: UrlParams;
  /** The query string. */
  query?: UrlQuery;
}

interface Route<H> {
  handler: H;
  info: RouteInfo;
  parts: Part[];
}

/** All the routes of one pattern, keyed by method. */
interface Entry<H> {
  methods: Map<string, Route<H>>;
  /** `methods.get("GET")`, `methods.get("HEAD")`, kept apart for the common lookups. */
  get: Route<H> | undefined;
  head: Route<H> | undefined;
  any: Route<H> | undefined;
  allow: readonly string[];
}

/** The route of `entry` that answers `method`: its own, `GET` for `HEAD`, or `"*"`. */
function pick<H>(entry: Entry<H>, method: string): Route<H> | undefined {
  if (method === "GET") return entry.get ?? entry.any;
  if (method === "HEAD") return entry.head ?? entry.get ?? entry.any;
  return entry.methods.get(method) ?? entry.any;
}

function answers<H>(entry: Entry<H>, method: string): boolean {
  return pick(entry, method) !== undefined;
}

/** What a walk over every matching pattern saw: how many, and their methods. */
interface Allowed {
  count: number;
  first: readonly string[];
  union: Set<string> | null;
}

function collect<H>(entry: Entry<H>, seen: Allowed): boolean {
  if (seen.count++ === 0) seen.first = entry.allow;
  else {
    seen.union ??= new Set(seen.first);
    for (const method of entry.allow) seen.union.add(method);
  }
  return false;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const STANDARD = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
const NOT_FOUND: RouteResolution<never> = Object.freeze({ kind: "not-found" });
const BAD_REQUEST: RouteResolution<never> = Object.freeze({ kind: "bad-request" });

function normalizeMethod(method: string): string {
  if (typeof method !== "string" || !TOKEN.test(method)) {
    throw new TypeError(`Cannot add route: method "${String(method)}" is not an HTTP token`);
  }
  const upper = method.toUpperCase();
  return STANDARD.has(upper) ? upper : method;
}

/**
 * Routes requests by method and pathname. Paths use URLPattern pathname
 * syntax, matched as {@linkcode RouteMatcher} matches them.
 *
 * Every pattern that matches the path is a candidate, in the matcher's order
 * of precedence (at each segment static text, then params, then what the
 * tree cannot split, then a trailing wildcard; patterns of the same shape,
 * such as `/users/:id` and `/users/:name`, in the order added). The first
 * candidate with a route for the method wins: its own route for the method,
 * else (for `HEAD`) its `GET` route, else its `"*"` route. When candidates
 * match but none has a route for the method, the path resolves to
 * `method-not-allowed` with the sorted `Allow` list of all of them.
 *
 * @typeParam H The handler type.
 *
 * @example Resolving requests
 * ```ts
 * import { Router } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const router = new Router<string>();
 * router.add("GET", "/users/:id", "show", { name: "user" });
 * router.add("DELETE", "/users/:id", "delete");
 *
 * const found = router.resolve("HEAD", "/users/a%20b");
 * assert.equal(found.kind, "found");
 * if (found.kind === "found") {
 *   assert.equal(found.handler, "show");
 *   assert.deepEqual(found.params, { id: "a b" });
 * }
 * assert.deepEqual(router.resolve("POST", "/users/1"), {
 *   kind: "method-not-allowed",
 *   allow: ["DELETE", "GET", "HEAD"],
 * });
 * assert.deepEqual(router.resolve("GET", "/nope"), { kind: "not-found" });
 * assert.equal(router.url("user", { params: { id: "a b" } }), "/users/a%20b");
 * ```
 */
export class Router<H> {
  #tree: SegmentTree<Entry<H>> = new SegmentTree();
  #entries: Map<string, Entry<H>> = new Map();
  #names: Map<string, Route<H>> = new Map();
  #list: RouteInfo[] = [];
  #autoOptions: boolean;

  /**
   * Creates an empty router.
   *
   * @param options Whether `OPTIONS` is answered by the application.
   *
   * @example
   * ```ts
   * import { Router } from "@sluice/http/server";
   * import assert from "node:assert/strict";
   *
   * const router = new Router<string>({ autoOptions: true });
   * router.add("GET", "/", "home");
   * assert.deepEqual(router.allowedMethods("/"), ["GET", "HEAD", "OPTIONS"]);
   * ```
   */
  constructor(options: RouterOptions = {}) {
    this.#autoOptions = options.autoOptions === true;
  }

  /**
   * Adds a route.
   *
   * @param method An HTTP method (the six standard ones in any case, others
   * exactly as requests will send them), or `"*"` for every method.
   * @param path A URLPattern pathname pattern.
   * @param handler What {@linkcode Router.resolve} returns for the route.
   * @param options The route's name.
   * @throws {TypeError} When the method is not a token, the pattern is
   * invalid, the pattern already has a route for the method, or the name is
   * taken.
   *
   * @example
   * ```ts
   * import { Router } from "@sluice/http/server";
   * import assert from "node:assert/strict";
   *
   * const router = new Router<string>();
   * router.add("get", "/", "home", { name: "home" });
   * assert.throws(() => router.add("GET", "/", "again"), TypeError);
   * assert.throws(() => router.add("POST", "/x", "x", { name: "home" }), TypeError);
   * assert.throws(() => router.add("BAD METHOD", "/y", "y"), TypeError);
   * ```
   */
  add(method: string, path: string, handler: H, options: AddRouteOptions = {}): void {
    const verb = normalizeMethod(method);
    if (typeof path !== "string") {
      throw new TypeError(`Cannot add route: path must be a string, got ${typeof path}`);
    }
    const name = options.name;
    if (name !== undefined) {
      if (typeof name !== "string" || name === "") {
        throw new TypeError(`Cannot add route "${path}": name must be a non-empty string`);
      }
      if (this.#names.has(name)) {
        throw new TypeError(`Cannot add route "${path}": the name "${name}" is taken`);
      }
    }
    let entry = this.#entries.get(path);
    if (entry && (verb === "*" ? entry.any : entry.methods.get(verb))) {
      throw new TypeError(`Cannot add route: "${path}" already has a ${verb} route`);
    }
    const parts = parse(path);
    if (!entry) {
      entry = { methods: new Map(), get: undefined, head: undefined, any: undefined, allow: [] };
      this.#tree.add(path, entry);
      this.#entries.set(path, entry);
    }
    const info: RouteInfo = Object.freeze({ method: verb, path, name });
    const route: Route<H> = { handler, info, parts };
    if (verb === "*") entry.any = route;
    else {
      entry.methods.set(verb, route);
      if (verb === "GET") entry.get = route;
      else if (verb === "HEAD") entry.head = route;
    }
    entry.allow = this.#allow(entry);
    if (name !== undefined) this.#names.set(name, route);
    this.#list.push(info);
  }

  #allow(entry: Entry<H>): readonly string[] {
    const allow = new Set(entry.methods.keys());
    if (allow.has("GET")) allow.add("HEAD");
    if (this.#autoOptions) allow.add("OPTIONS");
    return Object.freeze([...allow].sort());
  }

  /**
   * Finds the route for a request. The method must match exactly (a request's
   * method as sent); `HEAD` falls back to the `GET` route, then any method to
   * the `"*"` route.
   *
   * Params are percent-decoded once, after matching, so `%2F` in a param
   * gives `/` in its value and never splits segments. A param whose escapes
   * are not UTF-8 (`%E0%A4%A`, `%FF`) gives `bad-request`: answer 400.
   *
   * With `autoOptions`, an `OPTIONS` request to a pattern without an `OPTIONS`
   * route resolves to `method-not-allowed`, whose `allow` is the answer.
   *
   * @param method The request's method.
   * @param pathname The request URL's pathname, percent-encoded as `URL` gives it.
   * @returns The route, the `Allow` list, or why there is none.
   *
   * @example
   * ```ts
   * import { Router } from "@sluice/http/server";
   * import assert from "node:assert/strict";
   *
   * const router = new Router<string>();
   * router.add("*", "/files/*", "files");
   * const found = router.resolve("PUT", "/files/a%2Fb/c");
   * assert.equal(found.kind, "found");
   * if (found.kind === "found") assert.deepEqual(found.params, { "0": "a/b/c" });
   * assert.deepEqual(router.resolve("GET", "/files/%E0%A4%A"), { kind: "bad-request" });
   * ```
   */
  resolve(method: string, pathname: string): RouteResolution<H> {
    const tree = this.#tree;
    const leaf = tree.find(pathname, answers, method);
    if (leaf === null) {
      const allow = this.allowedMethods(pathname);
      return allow === null ? NOT_FOUND : { kind: "method-not-allowed", allow };
    }
    const route = pick(leaf.value, method)!;
    // Without a "%" in the path, no value has an escape to decode.
    const params = leaf.names.length === 0
      ? {}
      : paramsOf(leaf, tree.values, pathname.indexOf("%") !== -1);
    if (params === null) return BAD_REQUEST;
    return { kind: "found", handler: route.handler, params, route: route.info };
  }

  /**
   * The methods the patterns matching `pathname` have routes for, sorted,
   * with `HEAD` when one has `GET` and `OPTIONS` with `autoOptions`. A `"*"`
   * route is not listed (it takes every method).
   *
   * @param pathname A percent-encoded pathname.
   * @returns The `Allow` list, or `null` when no pattern matches.
   *
   * @example
   * ```ts
   * import { Router } from "@sluice/http/server";
   * import assert from "node:assert/strict";
   *
   * const router = new Router<string>();
   * router.add("POST", "/items", "create");
   * router.add("GET", "/items", "list");
   * assert.deepEqual(router.allowedMethods("/items"), ["GET", "HEAD", "POST"]);
   * assert.equal(router.allowedMethods("/other"), null);
   * ```
   */
  allowedMethods(pathname: string): readonly string[] | null {
    const seen: Allowed = { count: 0, first: [], union: null };
    this.#tree.find(pathname, collect, seen);
    if (seen.count === 0) return null;
    return seen.union === null ? seen.first : Object.freeze([...seen.union].sort());
  }

  /**
   * Every route, in the order added.
   *
   * @returns One {@linkcode RouteInfo} per route.
   *
   * @example
   * ```ts
   * import { Router } from "@sluice/http/server";
   * import assert from "node:assert/strict";
   *
   * const router = new Router<string>();
   * router.add("GET", "/", "home", { name: "home" });
   * assert.deepEqual(router.routes(), [{ method: "GET", path: "/", name: "home" }]);
   * ```
   */
  routes(): RouteInfo[] {
    return [...this.#list];
  }

  /**
   * Builds the URL (pathname and query) of a named route. Param values are
   * percent-encoded (a `/` in a `:name` value becomes `%2F`; a `*` value keeps
   * its slashes), checked against their group's regular expression, and
   * required ones must be given. Optional groups whose param is absent are left
   * out; so are optional fixed parts (`{/path}?`). Repeated groups (`:p+`,
   * `:p*`) take an array.
   *
   * @param name The route's name.
   * @param options Params and query.
   * @returns A path such as `/users/42?tab=info`.
   * @throws {TypeError} When there is no such route, a param is missing,
   * unknown or does not fit its group.
   *
   * @example
   * ```ts
   * import { Router } from "@sluice/http/server";
   * import assert from "node:assert/strict";
   *
   * const router = new Router<string>();
   * router.add("GET", "/posts/:id(\\d+){/:slug}?", "post", { name: "post" });
   * assert.equal(router.url("post", { params: { id: 7 } }), "/posts/7");
   * assert.equal(
   *   router.url("post", { params: { id: 7, slug: "hi there" }, query: { a: ["1", "2"] } }),
   *   "/posts/7/hi%20there?a=1&a=2",
   * );
   * assert.throws(() => router.url("post", { params: { id: "x" } }), TypeError);
   * ```
   */
  url(name: string, options: UrlOptions = {}): string {
    const route = this.#names.get(name);
    if (!route) throw new TypeError(`Cannot build URL: there is no route named "${name}"`);
    const path = buildPath(route.info.path, route.parts, options.params ?? {});
    const query = options.query;
    if (query === undefined) return path;
    let search: URLSearchParams;
    if (query instanceof URLSearchParams) search = query;
    else {
      search = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) {
        if (Array.isArray(value)) { for (const v of value) search.append(key, String(v)); }
        else search.append(key, String(value));
      }
    }
    const text = search.toString();
    return text === "" ? path : `${path}?${text}`;
  }
}
