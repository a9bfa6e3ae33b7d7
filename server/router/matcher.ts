/**
 * A route matcher for URLPattern pathname patterns, filed in a segment tree.
 *
 * @module
 */

import { paramsOf, SegmentTree } from "./_tree.ts";

/** What {@linkcode RouteMatcher.match} found: the route's value and its params. */
export interface RouteMatch<T> {
  /** The value the matching pattern was added with. */
  value: T;
  /**
   * The pattern's groups, percent-encoded exactly as URLPattern's
   * `pathname.groups` gives them; a group that took no part in the match
   * (an absent optional group) is left out.
   */
  params: Record<string, string>;
}

function acceptAll(): boolean {
  return true;
}

/**
 * Matches pathnames against routes written in URLPattern pathname syntax
 * (`/users/:id`, `/files/*`, `/:id(\\d+)`, `/posts{/:slug}?`, `/:path+`…),
 * returning what `URLPattern` would for each pattern, but filed in a tree of
 * path segments so that the cost of a match does not grow with the number of
 * routes.
 *
 * When several routes match, at each segment a static segment beats a param
 * (plain `:name` and `:name(regex)`, in the order first added), which beats a
 * pattern the tree cannot split (mixed segments such as `/:a-:b`, repeated
 * groups; in the order added), which beats a trailing wildcard; between
 * routes of the same shape, the first added wins.
 *
 * `match` takes a pathname as `URL` gives it (percent-encoded, dot segments
 * resolved); params are not decoded.
 *
 * @typeParam T The value stored with each route.
 *
 * @example Static, param and wildcard routes
 * ```ts
 * import { RouteMatcher } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const routes = new RouteMatcher<string>();
 * routes.add("/users/me", "me");
 * routes.add("/users/:id", "user");
 * routes.add("/files/*", "file");
 * assert.deepEqual(routes.match("/users/me"), { value: "me", params: {} });
 * assert.deepEqual(routes.match("/users/42"), { value: "user", params: { id: "42" } });
 * assert.deepEqual(routes.match("/files/a/b%20c"), { value: "file", params: { "0": "a/b%20c" } });
 * assert.deepEqual(routes.match("/nothing"), null);
 * ```
 */
export class RouteMatcher<T> {
  #tree: SegmentTree<T> = new SegmentTree();
  #size = 0;

  /**
   * How many patterns were added.
   *
   * @example
   * ```ts
   * import { RouteMatcher } from "@sluice/http/server";
   * import assert from "node:assert/strict";
   *
   * const routes = new RouteMatcher<number>();
   * routes.add("/a", 1);
   * assert.deepEqual(routes.size, 1);
   * ```
   */
  get size(): number {
    return this.#size;
  }

  /**
   * Adds a route. A pattern with the same shape as an earlier one (say
   * `/users/:name` after `/users/:id`) never matches: the first wins.
   *
   * @param pattern A URLPattern pathname pattern.
   * @param value What {@linkcode RouteMatcher.match} returns for it.
   * @throws {TypeError} When `pattern` is not valid URLPattern syntax.
   *
   * @example
   * ```ts
   * import { RouteMatcher } from "@sluice/http/server";
   * import assert from "node:assert/strict";
   *
   * const routes = new RouteMatcher<string>();
   * routes.add("/posts{/:slug}?", "posts");
   * assert.deepEqual(routes.match("/posts")?.params, {});
   * assert.deepEqual(routes.match("/posts/hello")?.params, { slug: "hello" });
   * assert.throws(() => routes.add("/:id(", "bad"), TypeError);
   * ```
   */
  add(pattern: string, value: T): void {
    if (typeof pattern !== "string") {
      throw new TypeError(`Cannot add route: pattern must be a string, got ${typeof pattern}`);
    }
    this.#tree.add(pattern, value);
    this.#size++;
  }

  /**
   * Finds the route for `pathname`.
   *
   * @param pathname A URL's pathname, as `new URL(...).pathname` gives it.
   * @returns The route's value and params, or `null` when no route matches.
   *
   * @example
   * ```ts
   * import { RouteMatcher } from "@sluice/http/server";
   * import assert from "node:assert/strict";
   *
   * const routes = new RouteMatcher<string>();
   * routes.add("/items/:id(\\d+)", "item");
   * assert.deepEqual(routes.match("/items/7"), { value: "item", params: { id: "7" } });
   * assert.deepEqual(routes.match("/items/x"), null);
   * ```
   */
  match(pathname: string): RouteMatch<T> | null {
    const tree = this.#tree;
    const leaf = tree.find(pathname, acceptAll, null);
    if (leaf === null) return null;
    return { value: leaf.value, params: paramsOf(leaf, tree.values, false)! };
  }
}
