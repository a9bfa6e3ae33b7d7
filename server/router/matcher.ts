/**
 * A route matcher for URLPattern pathname patterns, filed in a segment tree.
 *
 * @module
 */

import { compile, type Shape } from "./_compile.ts";

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

/** A route that ends at a node: its value and the names of the params collected on the way. */
interface Leaf<T> {
  value: T;
  names: string[];
}

interface Tail<T> {
  regexp: RegExp;
  names: string[];
  value: T;
}

interface ParamEdge<T> {
  /** The custom regular expression, or null for a plain `:name`. */
  source: string | null;
  test: RegExp | null;
  node: Node<T>;
}

class Node<T> {
  statics: Map<string, Node<T>> | null = null;
  params: ParamEdge<T>[] = [];
  tails: Tail<T>[] = [];
  end: Leaf<T> | null = null;
  wildcard: Leaf<T> | null = null;
}

function setParam(params: Record<string, string>, name: string, value: string): void {
  if (name === "__proto__") {
    Object.defineProperty(params, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else params[name] = value;
}

function build<T>(leaf: Leaf<T>, values: readonly string[]): RouteMatch<T> {
  const params: Record<string, string> = {};
  for (let i = 0; i < leaf.names.length; i++) setParam(params, leaf.names[i], values[i]);
  return { value: leaf.value, params };
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
  #root: Node<T> = new Node();
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
    const shapes = compile(pattern);
    for (const shape of shapes) this.#file(shape, value);
    this.#size++;
  }

  #file(shape: Shape, value: T): void {
    let node = this.#root;
    const names: string[] = [];
    for (const step of shape.steps) {
      if (step.kind === "static") {
        node.statics ??= new Map();
        let child = node.statics.get(step.text);
        if (!child) node.statics.set(step.text, child = new Node());
        node = child;
        continue;
      }
      names.push(step.name);
      let edge = node.params.find((e) => e.source === step.regexp);
      if (!edge) {
        const test = step.regexp === null ? null : new RegExp(`^(?:${step.regexp})$`, "v");
        node.params.push(edge = { source: step.regexp, test, node: new Node() });
      }
      node = edge.node;
    }
    const tail = shape.tail;
    if (tail.kind === "end") node.end ??= { value, names };
    else if (tail.kind === "wildcard") node.wildcard ??= { value, names: [...names, tail.name] };
    else node.tails.push({ regexp: tail.regexp, names: tail.names, value });
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
    return this.#walk(this.#root, pathname, 0, []);
  }

  #walk(node: Node<T>, path: string, pos: number, values: string[]): RouteMatch<T> | null {
    const length = path.length;
    if (pos === length) {
      if (node.end) return build(node.end, values);
    } else if (path.charCodeAt(pos) === 47) {
      let end = path.indexOf("/", pos + 1);
      if (end === -1) end = length;
      const segment = path.slice(pos + 1, end);
      const child = node.statics?.get(segment);
      if (child) {
        const found = this.#walk(child, path, end, values);
        if (found) return found;
      }
      for (const edge of node.params) {
        if (edge.test === null ? segment === "" : !edge.test.test(segment)) continue;
        values.push(segment);
        const found = this.#walk(edge.node, path, end, values);
        if (found) return found;
        values.pop();
      }
    }
    for (const tail of node.tails) {
      const m = tail.regexp.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      for (let i = 0; i < tail.names.length; i++) {
        const v = m[i + 1];
        if (v !== undefined) setParam(params, tail.names[i], v);
      }
      return { value: tail.value, params };
    }
    if (node.wildcard && pos < length && path.charCodeAt(pos) === 47) {
      return build(node.wildcard, [...values, path.slice(pos + 1)]);
    }
    return null;
  }
}
