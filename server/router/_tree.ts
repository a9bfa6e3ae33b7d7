/**
 * The segment tree under {@linkcode RouteMatcher} and the method router:
 * patterns filed by whole path segments, every route that can match a
 * pathname visited in precedence order until one is accepted, and the params
 * objects of the routes found. Internal.
 *
 * @module
 */

import { compile, type Shape } from "./_compile.ts";

/** A route that ends at a node: its value and the names of its groups, in the order of their values. */
export interface Leaf<T> {
  /** The value the route was added with. */
  readonly value: T;
  /** The group names, in the order of {@linkcode SegmentTree.values}. */
  readonly names: readonly string[];
  /** Whether one of `names` is `__proto__` (set it with `defineProperty`). */
  readonly proto: boolean;
  /**
   * Where `"0"` is in `names` when it is the only array-index name, else -1:
   * the params object then starts as the literal `{ 0: value }`. (Storing an
   * index key into an empty object takes V8 a slow path.)
   */
  readonly zero: number;
  /** With more index names: an object with every name, copied and then filled. */
  readonly template: Record<string, string> | null;
}

interface Tail<T> {
  regexp: RegExp;
  leaf: Leaf<T>;
}

interface ParamEdge<T> {
  /** The custom regular expression, or null for a plain `:name`. */
  source: string | null;
  test: RegExp | null;
  node: Node<T>;
}

/** Above this many static children, a node finds them through a {@linkcode Dispatch}. */
const SCAN_LIMIT = 4;

/**
 * A decision over the static keys of one length, built when routes are
 * added: a leaf holds the one key left (compared in full), an inner node the
 * position whose character splits the keys best and a table by that
 * character's code. A lookup reads a character or two and compares one key:
 * no hashing, no slice, and the same cost for 3 keys or 300.
 */
class Dispatch<T> {
  key: string | null = null;
  node: Node<T> | null = null;
  pos = 0;
  table: (Dispatch<T> | undefined)[] = [];
}

function dispatchOf<T>(keys: string[], nodes: Node<T>[]): Dispatch<T> {
  const d = new Dispatch<T>();
  if (keys.length === 1) {
    d.key = keys[0];
    d.node = nodes[0];
    return d;
  }
  // The position with the most distinct characters (keys differ somewhere).
  let best = 0;
  let bestCount = 0;
  for (let pos = 0; pos < keys[0].length; pos++) {
    const count = new Set(keys.map((k) => k.charCodeAt(pos))).size;
    if (count > bestCount) [best, bestCount] = [pos, count];
  }
  const groups = new Map<number, [string[], Node<T>[]]>();
  for (let i = 0; i < keys.length; i++) {
    const c = keys[i].charCodeAt(best);
    let group = groups.get(c);
    if (!group) groups.set(c, group = [[], []]);
    group[0].push(keys[i]);
    group[1].push(nodes[i]);
  }
  d.pos = best;
  d.table = new Array<Dispatch<T> | undefined>(Math.max(...groups.keys()) + 1).fill(undefined);
  for (const [c, [k, n]] of groups) d.table[c] = dispatchOf(k, n);
  return d;
}

/**
 * Whether `path` has `key` at `start`: `path.startsWith(key, start)`, which
 * a loop over a short key beats.
 */
function same(path: string, start: number, key: string): boolean {
  for (let k = 0; k < key.length; k++) {
    if (path.charCodeAt(start + k) !== key.charCodeAt(k)) return false;
  }
  return true;
}

/** Where the segment starting at `start` ends: the next `/`, or the end of `path`. */
function segmentEnd(path: string, start: number): number {
  const length = path.length;
  let i = start;
  while (i < length && path.charCodeAt(i) !== 47) i++;
  return i;
}

class Node<T> {
  /** Static children: compared in turn while few, else found through `byLength`. */
  keys: string[] = [];
  children: Node<T>[] = [];
  /** With many children: a {@linkcode Dispatch} per key length. */
  byLength: (Dispatch<T> | undefined)[] | null = null;
  /** Whether there are more than `SCAN_LIMIT` static children. */
  wide = false;
  params: ParamEdge<T>[] = [];
  tails: Tail<T>[] = [];
  /** Routes ending here, first added first. */
  end: Leaf<T>[] | null = null;
  /** Trailing-wildcard routes, first added first. */
  wildcard: Leaf<T>[] | null = null;

  child(key: string): Node<T> {
    const i = this.keys.indexOf(key);
    if (i !== -1) return this.children[i];
    const node = new Node<T>();
    this.keys.push(key);
    this.children.push(node);
    // Built again on the next lookup.
    this.byLength = null;
    this.wide = this.keys.length > SCAN_LIMIT;
    return node;
  }

  /** Builds `byLength`. */
  #index(): (Dispatch<T> | undefined)[] {
    const byLength: (Dispatch<T> | undefined)[] = new Array<Dispatch<T> | undefined>(
      Math.max(...this.keys.map((k) => k.length)) + 1,
    ).fill(undefined);
    for (let length = 0; length < byLength.length; length++) {
      const keys: string[] = [];
      const nodes: Node<T>[] = [];
      for (let i = 0; i < this.keys.length; i++) {
        if (this.keys[i].length !== length) continue;
        keys.push(this.keys[i]);
        nodes.push(this.children[i]);
      }
      if (keys.length !== 0) byLength[length] = dispatchOf(keys, nodes);
    }
    return this.byLength = byLength;
  }

  /** The static child for `path[start, stop)`, from `byLength`. */
  lookup(path: string, start: number, stop: number): Node<T> | undefined {
    const byLength = this.byLength ?? this.#index();
    const size = stop - start;
    if (size >= byLength.length) return undefined;
    let d = byLength[size];
    while (d !== undefined) {
      const key = d.key;
      if (key !== null) return same(path, start, key) ? d.node! : undefined;
      const table = d.table;
      const c = path.charCodeAt(start + d.pos);
      d = c < table.length ? table[c] : undefined;
    }
    return undefined;
  }
}

const FILTER_BITS = 16384;

/**
 * A cheap 14-bit digest of a pathname (its length, last and middle
 * characters) for the filter in front of the map of static routes.
 */
function sketch(path: string): number {
  const n = path.length;
  const h = n ^ (path.charCodeAt(n - 1) << 8) ^ (path.charCodeAt(n >> 1) << 16);
  return Math.imul(h, 0x9e3779b1) >>> 18;
}

const INDEX = /^(?:0|[1-9]\d{0,8})$/;

function leafOf<T>(value: T, names: string[]): Leaf<T> {
  const indexes = names.filter((n) => INDEX.test(n));
  const zero = indexes.length === 1 && indexes[0] === "0" ? names.indexOf("0") : -1;
  const template = indexes.length !== 0 && zero === -1
    ? Object.fromEntries(names.filter((n) => n !== "__proto__").map((n) => [n, ""]))
    : null;
  return { value, names, proto: names.includes("__proto__"), zero, template };
}

/** Percent-decodes a param value, or returns null when its escapes are not UTF-8. */
function decode(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

/**
 * The params object of a leaf found by {@linkcode SegmentTree.find}: its
 * names with the values left in `values`, percent-decoded when `decoded`.
 * Groups that took no part in the match are left out.
 *
 * @returns The params, or null when `decoded` and a value's escapes are not UTF-8.
 */
export function paramsOf<T>(
  leaf: Leaf<T>,
  values: readonly (string | undefined)[],
  decoded: boolean,
): Record<string, string> | null {
  const names = leaf.names;
  const zero = leaf.zero;
  let params: Record<string, string>;
  if (zero !== -1) {
    let value = values[zero];
    if (value !== undefined && decoded && value.indexOf("%") !== -1) {
      value = decode(value) ?? undefined;
      if (value === undefined) return null;
    }
    params = value === undefined ? {} : { 0: value };
  } else params = leaf.template === null ? {} : { ...leaf.template };
  for (let i = 0; i < names.length; i++) {
    if (i === zero) continue;
    let value = values[i];
    if (value === undefined) {
      if (leaf.template !== null) delete params[names[i]];
      continue;
    }
    if (decoded && value.indexOf("%") !== -1) {
      value = decode(value) ?? undefined;
      if (value === undefined) return null;
    }
    if (leaf.proto) setParam(params, names[i], value);
    else params[names[i]] = value;
  }
  return params;
}

/** Sets `params[name]`, as an own property even for `__proto__`. */
export function setParam(params: Record<string, string>, name: string, value: string): void {
  if (name === "__proto__") {
    Object.defineProperty(params, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else params[name] = value;
}

/**
 * The tree under {@linkcode RouteMatcher} and the method router: patterns
 * filed by whole path segments, with every route that can match a pathname
 * visited in precedence order until one is accepted. Not part of the public
 * API.
 *
 * @typeParam T The value stored with each route.
 */
export class SegmentTree<T> {
  #root: Node<T> = new Node();
  /** Wholly static routes by pathname: the first candidates of their paths. */
  #exact: Map<string, Leaf<T>[]> = new Map();
  /**
   * A one-bit-per-slot filter of {@linkcode sketch} over the keys of
   * `#exact`: a path whose slot is 0 is not in the map, and the lookup (and
   * the hashing of a fresh pathname string it takes) is skipped.
   */
  #filter: Int32Array = new Int32Array(FILTER_BITS >> 5);
  /**
   * After a successful {@linkcode SegmentTree.find}: the group values of the
   * leaf found, in the order of its names (`undefined` for a group that took
   * no part in the match). Overwritten by the next call.
   */
  values: (string | undefined)[] = [];

  /**
   * Files a pattern.
   *
   * @param pattern A URLPattern pathname pattern.
   * @param value What the pattern's leaves hold.
   * @throws {TypeError} When `pattern` is not valid.
   */
  add(pattern: string, value: T): void {
    for (const shape of compile(pattern)) this.#file(shape, value);
  }

  #file(shape: Shape, value: T): void {
    let node = this.#root;
    const names: string[] = [];
    let exact: string | null = "";
    for (const step of shape.steps) {
      if (step.kind === "static") {
        node = node.child(step.text);
        if (exact !== null) exact += `/${step.text}`;
        continue;
      }
      exact = null;
      names.push(step.name);
      let edge = node.params.find((e) => e.source === step.regexp);
      if (!edge) {
        const test = step.regexp === null ? null : new RegExp(`^(?:${step.regexp})$`, "v");
        node.params.push(edge = { source: step.regexp, test, node: new Node() });
      }
      node = edge.node;
    }
    const tail = shape.tail;
    if (tail.kind === "end") {
      if (node.end === null) {
        node.end = [];
        // A route of no steps matches nothing: the path is never "".
        if (exact !== null && exact !== "") {
          this.#exact.set(exact, node.end);
          const slot = sketch(exact);
          this.#filter[slot >> 5] |= 1 << (slot & 31);
        }
      }
      node.end.push(leafOf(value, names));
    } else if (tail.kind === "wildcard") {
      (node.wildcard ??= []).push(leafOf(value, [...names, tail.name]));
    } else node.tails.push({ regexp: tail.regexp, leaf: leafOf(value, tail.names) });
  }

  /**
   * The first route, in precedence order, that matches `path` and that
   * `accept` accepts; its group values are left in
   * {@linkcode SegmentTree.values}.
   *
   * @param path A percent-encoded pathname.
   * @param accept Called with each matching route's value, in order.
   * @param arg Passed to `accept`.
   * @returns The leaf found, or `null`.
   */
  find<A>(path: string, accept: (value: T, arg: A) => boolean, arg: A): Leaf<T> | null {
    const slot = sketch(path);
    if ((this.#filter[slot >> 5] & (1 << (slot & 31))) !== 0) {
      const exact = this.#exact.get(path);
      if (exact !== undefined) {
        for (let i = 0; i < exact.length; i++) if (accept(exact[i].value, arg)) return exact[i];
      }
    }
    const first = this.#first(path, accept, arg);
    return first !== undefined ? first : this.#walk(this.#root, path, 0, 0, accept, arg);
  }

  /**
   * The walk's first branch, without recursion: at each segment the static
   * child, else the first param edge that takes the segment, else the
   * wildcard. Returns `undefined` when the branch fails (or meets what it
   * does not handle) and the full walk may still find a route.
   */
  #first<A>(
    path: string,
    accept: (value: T, arg: A) => boolean,
    arg: A,
  ): Leaf<T> | null | undefined {
    const length = path.length;
    const values = this.values;
    let node = this.#root;
    let pos = 0;
    let count = 0;
    // Whether an alternative was passed over on the way.
    let branched = false;
    for (;;) {
      if (pos === length) {
        const end = node.end;
        if (end !== null) {
          for (let i = 0; i < end.length; i++) if (accept(end[i].value, arg)) return end[i];
        }
        return branched || node.tails.length !== 0 ? undefined : null;
      }
      if (path.charCodeAt(pos) !== 47) return undefined;
      const start = pos + 1;
      let stop = -1;
      let child: Node<T> | undefined;
      if (node.wide) {
        stop = segmentEnd(path, start);
        child = node.lookup(path, start, stop);
      } else {
        const keys = node.keys;
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i];
          const after = start + key.length;
          if ((after === length || path.charCodeAt(after) === 47) && same(path, start, key)) {
            child = node.children[i];
            stop = after;
            break;
          }
        }
      }
      const params = node.params;
      const more = node.tails.length !== 0 || node.wildcard !== null;
      if (child !== undefined) {
        if (params.length !== 0 || more) branched = true;
        node = child;
        pos = stop;
        continue;
      }
      if (params.length !== 0) {
        if (stop === -1) stop = segmentEnd(path, start);
        const segment = path.slice(start, stop);
        for (let i = 0; i < params.length; i++) {
          const edge = params[i];
          if (edge.test === null ? segment === "" : !edge.test.test(segment)) continue;
          if (i + 1 < params.length || more) branched = true;
          values[count++] = segment;
          child = edge.node;
          break;
        }
        if (child !== undefined) {
          node = child;
          pos = stop;
          continue;
        }
      }
      if (node.tails.length !== 0) return undefined;
      const wildcard = node.wildcard;
      if (wildcard !== null) {
        for (let i = 0; i < wildcard.length; i++) {
          if (!accept(wildcard[i].value, arg)) continue;
          values[count] = path.slice(start);
          return wildcard[i];
        }
      }
      return branched ? undefined : null;
    }
  }

  #walk<A>(
    node: Node<T>,
    path: string,
    pos: number,
    count: number,
    accept: (value: T, arg: A) => boolean,
    arg: A,
  ): Leaf<T> | null {
    const length = path.length;
    if (pos === length) {
      const end = node.end;
      if (end !== null) {
        for (let i = 0; i < end.length; i++) if (accept(end[i].value, arg)) return end[i];
      }
    } else if (path.charCodeAt(pos) === 47) {
      let stop = path.indexOf("/", pos + 1);
      if (stop === -1) stop = length;
      const start = pos + 1;
      let segment: string | null = null;
      let child: Node<T> | undefined;
      if (node.wide) child = node.lookup(path, start, stop);
      else {
        const keys = node.keys;
        const size = stop - start;
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i];
          if (key.length === size && same(path, start, key)) {
            child = node.children[i];
            break;
          }
        }
      }
      if (child !== undefined) {
        const found = this.#walk(child, path, stop, count, accept, arg);
        if (found !== null) return found;
      }
      const params = node.params;
      if (params.length !== 0) {
        segment ??= path.slice(start, stop);
        for (let i = 0; i < params.length; i++) {
          const edge = params[i];
          if (edge.test === null ? segment === "" : !edge.test.test(segment)) continue;
          this.values[count] = segment;
          const found = this.#walk(edge.node, path, stop, count + 1, accept, arg);
          if (found !== null) return found;
        }
      }
    }
    const tails = node.tails;
    for (let i = 0; i < tails.length; i++) {
      const tail = tails[i];
      const m = tail.regexp.exec(path);
      if (m === null || !accept(tail.leaf.value, arg)) continue;
      const values = this.values;
      for (let j = 1; j < m.length; j++) values[j - 1] = m[j];
      return tail.leaf;
    }
    const wildcard = node.wildcard;
    if (wildcard !== null && pos < length && path.charCodeAt(pos) === 47) {
      for (let i = 0; i < wildcard.length; i++) {
        if (!accept(wildcard[i].value, arg)) continue;
        this.values[count] = path.slice(pos + 1);
        return wildcard[i];
      }
    }
    return null;
  }
}
