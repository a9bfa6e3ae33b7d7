/**
 * Route lookup: Sluice's `Router.resolve` (what `Application` calls: tree
 * match, method choice, params percent-decoded) against Hono's
 * `RegExpRouter` and `TrieRouter` and `find-my-way`, on realistic route
 * tables of 10 and 1,000 routes.
 *
 * Every contender does the same work per lookup: find the handler and build
 * the params object, decoded. For `RegExpRouter`, which returns index maps
 * into its match array, `hono-regexp` builds the object as Hono's
 * `c.req.param()` does; `hono-regexp-raw` is the match alone, for reference.
 * Hono does not capture a trailing `*`, so its rows take the rest of the path
 * for wildcard routes, as a Hono handler would from `c.req.path`: the
 * wildcard rows compare equal work (and `hono-regexp-raw` shows the match
 * without it).
 * Every answer is checked once in `setup`, outside the timed loop.
 *
 * The table is five routes per resource (`users`, `orders`…, then numbered):
 *
 * ```text
 * GET  /api/v1/<res>                     static
 * GET  /api/v1/stats/<res>               static
 * GET  /api/v1/<res>/:id                 one param
 * GET  /api/v1/<res>/:id/<sub>/:sub_id   two params
 * GET  /assets/<res>/*                   wildcard
 * ```
 *
 * (No static route next to a param, such as `/api/v1/<res>/search`:
 * `RegExpRouter` refuses those tables with `UnsupportedPathError`, and Hono's
 * default `SmartRouter` then falls back to `TrieRouter`.) Each case looks up
 * eight paths of one kind, spread from the first resource to the last.
 *
 * @module
 */

import type { Batch, Case, Contender, Suite, Unavailable } from "./_suite.ts";

/** A route table under test. */
interface Table {
  add(pattern: Pattern, value: number): void;
  /** The handler and the decoded params, or null when nothing matches. */
  lookup(path: string): Found | null;
}

interface Found {
  handler: number;
  params: Record<string, string | undefined>;
}

/** One route in each router's own syntax (they agree on `:name`; `*` differs). */
interface Pattern {
  path: string;
  /** The same route with its wildcard named, for routers that capture it. */
  wildcardName: string | null;
}

type Kind = "static" | "one-param" | "two-param" | "wildcard";
const KINDS: readonly Kind[] = ["static", "one-param", "two-param", "wildcard"];
const PER_RESOURCE = 5;
const NAMES = [
  "users",
  "orders",
  "products",
  "invoices",
  "customers",
  "payments",
  "shipments",
  "reviews",
  "carts",
  "coupons",
];
const SUBS = ["items", "comments", "events", "notes", "lines"];

function resource(k: number): string {
  return k < NAMES.length ? NAMES[k] : `${NAMES[k % NAMES.length]}${Math.floor(k / NAMES.length)}`;
}

function routeTable(count: number): Pattern[] {
  const routes: Pattern[] = [];
  for (let k = 0; routes.length < count; k++) {
    const res = resource(k);
    const sub = SUBS[k % SUBS.length];
    const all: Pattern[] = [
      { path: `/api/v1/${res}`, wildcardName: null },
      { path: `/api/v1/stats/${res}`, wildcardName: null },
      { path: `/api/v1/${res}/:id`, wildcardName: null },
      { path: `/api/v1/${res}/:id/${sub}/:sub_id`, wildcardName: null },
      { path: `/assets/${res}/*`, wildcardName: "*" },
    ];
    routes.push(...all.slice(0, count - routes.length));
  }
  return routes;
}

interface Lookup {
  path: string;
  handler: number;
  /** The params every router must give, the wildcard's under "*". */
  params: Record<string, string>;
}

/** Eight lookups of `kind`, spread over the resources of a `count`-route table. */
function lookups(count: number, kind: Kind): Lookup[] {
  const resources = Math.floor(count / PER_RESOURCE);
  return Array.from({ length: 8 }, (_, j): Lookup => {
    const k = Math.round((j * (resources - 1)) / 7);
    const res = resource(k);
    const base = k * PER_RESOURCE;
    switch (kind) {
      case "static":
        return j % 2 === 0
          ? { path: `/api/v1/${res}`, handler: base, params: {} }
          : { path: `/api/v1/stats/${res}`, handler: base + 1, params: {} };
      case "one-param":
        // One in four has an escape to decode.
        return j % 4 === 0
          ? { path: `/api/v1/${res}/u${j}%20x`, handler: base + 2, params: { id: `u${j} x` } }
          : { path: `/api/v1/${res}/u${j}`, handler: base + 2, params: { id: `u${j}` } };
      case "two-param":
        return {
          path: `/api/v1/${res}/${1000 + j}/${SUBS[k % SUBS.length]}/${j}`,
          handler: base + 3,
          params: { id: `${1000 + j}`, sub_id: `${j}` },
        };
      case "wildcard":
        return {
          path: `/assets/${res}/css/site${j}.css`,
          handler: base + 4,
          params: { "*": `css/site${j}.css` },
        };
    }
  });
}

/** Params as JSON with sorted keys, to compare whatever order a router fills them in. */
function canonical(params: Record<string, string | undefined>): string {
  return JSON.stringify(Object.entries(params).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Where the batches put what they found, so that no work can be optimised away. */
export let sink: unknown = null;

function contender(
  who: string,
  count: number,
  kind: Kind,
  make: () => Table,
  lookupCount: number,
): Contender {
  return {
    setup(): Batch {
      const table = make();
      routeTable(count).forEach((p, i) => table.add(p, i));
      const wanted = lookups(lookupCount, kind);
      for (const w of wanted) {
        const got = table.lookup(w.path);
        const params = got && { ...got.params };
        // URLPattern names the wildcard's group "0".
        if (params && who === "sluice" && "0" in params) {
          params["*"] = params["0"];
          delete params["0"];
        }
        // The raw row builds no params.
        if (params && who === "hono-regexp-raw") Object.assign(params, w.params);
        if (
          !got || !params || got.handler !== w.handler ||
          canonical(params) !== canonical(w.params)
        ) {
          throw new Error(
            `Cannot trust ${who}: ${w.path} gave ${JSON.stringify(got)}, ` +
              `expected ${JSON.stringify(w)}`,
          );
        }
      }
      const paths = wanted.map((w) => w.path);
      return (iterations) => {
        let sum = 0;
        let last: Found | null = null;
        for (let i = 0; i < iterations; i++) {
          last = table.lookup(paths[i & 7]);
          if (last !== null) sum += last.handler;
        }
        sink = last;
        if (last === null || sum < 0) {
          throw new Error(`Cannot trust ${who}: a lookup missed`);
        }
        return iterations;
      };
    },
  };
}

// Sluice --------------------------------------------------------------------

interface RouterModule {
  Router: new () => {
    add(method: string, path: string, handler: number): void;
    resolve(
      method: string,
      path: string,
    ): { kind: string; handler?: number; params?: Record<string, string> };
  };
}

async function loadSluice(): Promise<(() => Table) | string> {
  // Imported at run time so that a broken router fails its rows, not the run.
  const specifier = "../server/router/router.ts";
  try {
    const { Router } = await import(specifier) as RouterModule;
    return () => {
      const router = new Router();
      return {
        add: (p, value) => router.add("GET", p.path, value),
        lookup(path) {
          const r = router.resolve("GET", path);
          return r.kind === "found" ? { handler: r.handler!, params: r.params! } : null;
        },
      };
    };
  } catch (err) {
    return `Cannot load server/router/router.ts: ${(err as Error).message}`;
  }
}

// Hono ----------------------------------------------------------------------

/** Hono's `Router<T>`: `match` gives `[[handler, params][]]`, or `[[handler, indexes][], stash]`. */
interface HonoRouter {
  add(method: string, path: string, handler: number): void;
  match(
    method: string,
    path: string,
  ): [[number, Record<string, string | number>][], (string | undefined)[]?];
}

/** Hono's `tryDecodeURIComponent` (hono/utils/url), as `c.req.param()` applies it. */
function tryDecode(value: string): string {
  if (value.indexOf("%") === -1) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value.replace(/(?:%[0-9A-Fa-f]{2})+/g, (m) => {
      try {
        return decodeURIComponent(m);
      } catch {
        return m;
      }
    });
  }
}

const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

async function loadHono(
  module: string,
  name: string,
  buildParams: boolean,
): Promise<(() => Table) | string> {
  try {
    const mod = await import(module) as Record<string, new () => HonoRouter>;
    const HonoRouter = mod[name];
    if (typeof HonoRouter !== "function") return `${module} does not export ${name}`;
    return () => {
      const router = new HonoRouter();
      // Hono does not capture `*`: a handler takes the rest of `c.req.path`
      // itself. For equal work, the lookup does that for the wildcard routes:
      // the length of the text before `*`, by handler.
      const wildcardAt: number[] = [];
      return {
        add(p, value) {
          router.add("GET", p.path, value);
          if (p.wildcardName !== null) wildcardAt[value] = p.path.length - 1;
        },
        lookup(path) {
          const [matches, stash] = router.match("GET", path);
          if (matches.length === 0) return null;
          const [handler, map] = matches[0];
          if (!buildParams) return { handler, params: NO_PARAMS };
          // HonoRequest#getAllDecodedParams.
          const params: Record<string, string> = {};
          for (const key of Object.keys(map)) {
            const value = stash ? stash[map[key] as number] : map[key] as string;
            if (value !== undefined) params[key] = tryDecode(value);
          }
          const at = wildcardAt[handler];
          if (at !== undefined) params["*"] = tryDecode(path.slice(at));
          return { handler, params };
        },
      };
    };
  } catch {
    return "hono is not installed";
  }
}

// find-my-way ---------------------------------------------------------------

interface FindMyWay {
  on(method: string, path: string, handler: () => void, store: { value: number }): void;
  find(
    method: string,
    path: string,
  ): { store: { value: number }; params: Record<string, string> } | null;
}

async function loadFindMyWay(): Promise<(() => Table) | string> {
  try {
    const mod = await import("find-my-way") as { default: () => FindMyWay };
    return () => {
      const router = mod.default();
      const noop = () => {};
      return {
        add: (p, value) => router.on("GET", p.path, noop, { value }),
        lookup(path) {
          const found = router.find("GET", path);
          return found && { handler: found.store.value, params: found.params };
        },
      };
    };
  } catch {
    return "find-my-way is not installed";
  }
}

// Suite ---------------------------------------------------------------------

const made: Record<string, (() => Table) | string> = {
  sluice: await loadSluice(),
  "hono-regexp": await loadHono("hono/router/reg-exp-router", "RegExpRouter", true),
  "hono-regexp-raw": await loadHono("hono/router/reg-exp-router", "RegExpRouter", false),
  "hono-trie": await loadHono("hono/router/trie-router", "TrieRouter", true),
  "find-my-way": await loadFindMyWay(),
};

/**
 * One case: `kind` lookups among `count` routes. With `lookupCount` below
 * `count`, the lookups are those of the `lookupCount`-route case (the same
 * paths, which the bigger table also holds): the cost of the table's size
 * alone, apart from the lookups being more varied.
 */
function caseOf(count: number, kind: Kind, lookupCount = count): Case {
  const contenders: Record<string, Contender | Unavailable> = {};
  for (const [who, make] of Object.entries(made)) {
    contenders[who] = typeof make === "string"
      ? { unavailable: make }
      : contender(who, count, kind, make, lookupCount);
  }
  const same = lookupCount === count ? "" : `-same-as-${lookupCount}`;
  return {
    name: `${kind}-${count}${same}`,
    description: same === ""
      ? `${kind} lookups among ${count} routes (handler + decoded params)`
      : `the ${kind}-${lookupCount} lookups among ${count} routes (handler + decoded params)`,
    unit: "match",
    contenders,
  };
}

/** Route lookup: Sluice Router.resolve vs Hono RegExpRouter/TrieRouter and find-my-way. */
export const suite: Suite = {
  name: "router",
  description: "Sluice Router.resolve vs Hono RegExpRouter/TrieRouter and find-my-way",
  cases: [
    ...[10, 1000].flatMap((count) => KINDS.map((kind) => caseOf(count, kind))),
    ...KINDS.map((kind) => caseOf(1000, kind, 10)),
  ],
};
