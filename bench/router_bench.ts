/**
 * Route matching: Sluice's `RouteMatcher` (a segment tree over URLPattern
 * pathname patterns) against Hono's `RegExpRouter` and `TrieRouter` when
 * `hono` can be imported (it is not a dependency: install it next to the
 * repository to get those rows). Each case files 10 or 1,000 routes of four
 * shapes (static, one param, two params, trailing wildcard) and looks up
 * paths of one shape spread over the whole route set, checking every answer.
 *
 * @module
 */

import type { Batch, Case, Contender, Suite, Unavailable } from "./_suite.ts";

/** A route table under test: file the routes, then look a path up. */
interface Table {
  add(pattern: string, value: number): void;
  /** The matched route's value and its first param ("" when it has none), or null. */
  lookup(path: string): [value: number, param: string] | null;
}

type Shape = "static" | "one-param" | "two-param" | "wildcard";
const SHAPES: readonly Shape[] = ["static", "one-param", "two-param", "wildcard"];

/** Route `i` of a table: four shapes in turn, each family under its own prefix. */
function route(i: number): { pattern: string; shape: Shape } {
  const shape = SHAPES[i % 4];
  const n = Math.floor(i / 4);
  switch (shape) {
    case "static":
      return { pattern: `/api/v1/res${n}/list`, shape };
    case "one-param":
      return { pattern: `/api/v1/res${n}/:id`, shape };
    case "two-param":
      return { pattern: `/api/v1/res${n}/:id/items/:item`, shape };
    case "wildcard":
      return { pattern: `/static/res${n}/*`, shape };
  }
}

/** A path that route `i` matches, and its first param. */
function pathFor(i: number): { path: string; param: string } {
  const n = Math.floor(i / 4);
  switch (SHAPES[i % 4]) {
    case "static":
      return { path: `/api/v1/res${n}/list`, param: "" };
    case "one-param":
      return { path: `/api/v1/res${n}/u${i}`, param: `u${i}` };
    case "two-param":
      return { path: `/api/v1/res${n}/u${i}/items/7`, param: `u${i}` };
    case "wildcard":
      return { path: `/static/res${n}/css/site.css`, param: "css/site.css" };
  }
}

/** Eight lookups of `shape`, spread from the first routes to the last. */
function lookups(routes: number, shape: Shape): { path: string; value: number; param: string }[] {
  const offset = SHAPES.indexOf(shape);
  const families = routes / 4;
  return Array.from({ length: 8 }, (_, k) => {
    const i = Math.min(families - 1, Math.round((k * (families - 1)) / 7)) * 4 + offset;
    return { ...pathFor(i), value: i };
  });
}

function contender(who: string, routes: number, shape: Shape, make: () => Table): Contender {
  return {
    setup(): Batch {
      const table = make();
      for (let i = 0; i < routes; i++) table.add(route(i).pattern, i);
      const wanted = lookups(routes, shape);
      for (const w of wanted) {
        const got = table.lookup(w.path);
        if (!got || got[0] !== w.value || got[1] !== w.param) {
          throw new Error(
            `Cannot trust ${who}: ${w.path} gave ${JSON.stringify(got)}, ` +
              `expected ${JSON.stringify([w.value, w.param])}`,
          );
        }
      }
      const paths = wanted.map((w) => w.path);
      return (iterations) => {
        let found = 0;
        for (let i = 0; i < iterations; i++) if (table.lookup(paths[i & 7])) found++;
        if (found !== iterations) {
          throw new Error(`Cannot trust ${who}: ${iterations - found} lookups missed`);
        }
        return iterations;
      };
    },
  };
}

// Sluice --------------------------------------------------------------------

interface MatcherModule {
  RouteMatcher: new () => {
    add(pattern: string, value: number): void;
    match(path: string): { value: number; params: Record<string, string> } | null;
  };
}

async function loadSluice(): Promise<(() => Table) | string> {
  // Imported at run time so that a broken matcher fails its rows, not the run.
  const specifier = "../server/router/matcher.ts";
  try {
    const { RouteMatcher } = await import(specifier) as MatcherModule;
    return () => {
      const m = new RouteMatcher();
      return {
        add: (pattern, value) => m.add(pattern, value),
        lookup(path) {
          const found = m.match(path);
          if (!found) return null;
          const first = Object.values(found.params)[0];
          return [found.value, first ?? ""];
        },
      };
    };
  } catch (err) {
    return `Cannot load server/router/matcher.ts: ${(err as Error).message}`;
  }
}

// Hono ----------------------------------------------------------------------

/** Hono's `Router<T>`: `match` gives `[[handler, params][]]`, or `[[handler, indexes][], values]`. */
interface HonoRouter {
  add(method: string, path: string, handler: number): void;
  match(method: string, path: string): [[number, Record<string, unknown>][], unknown[]?];
}

async function loadHono(
  module: string,
  name: string,
): Promise<(() => Table) | string> {
  try {
    const mod = await import(module) as Record<string, new () => HonoRouter>;
    const Router = mod[name];
    if (typeof Router !== "function") return `${module} does not export ${name}`;
    return () => {
      const router = new Router();
      return {
        add: (pattern, value) => router.add("GET", pattern, value),
        lookup(path) {
          const [matches, stash] = router.match("GET", path);
          if (matches.length === 0) return null;
          const [value, params] = matches[0];
          let first = Object.values(params)[0];
          if (stash && typeof first === "number") first = stash[first];
          if (params["*"] === undefined && path.startsWith("/static/")) {
            // Hono does not capture `*`; the rest of the path is what URLPattern returns.
            first = path.split("/").slice(3).join("/");
          }
          return [value, typeof first === "string" ? first : ""];
        },
      };
    };
  } catch {
    return "hono is not installed here (not a dependency)";
  }
}

// Suite ---------------------------------------------------------------------

const sluice = await loadSluice();
const regExpRouter = await loadHono("hono/router/reg-exp-router", "RegExpRouter");
const trieRouter = await loadHono("hono/router/trie-router", "TrieRouter");

function entry(
  who: string,
  made: (() => Table) | string,
  routes: number,
  shape: Shape,
): Contender | Unavailable {
  return typeof made === "string" ? { unavailable: made } : contender(who, routes, shape, made);
}

function caseOf(routes: number, shape: Shape): Case {
  return {
    name: `${shape}-${routes}`,
    description: `${shape} lookups among ${routes} routes of four shapes`,
    unit: "match",
    contenders: {
      sluice: entry("sluice", sluice, routes, shape),
      "hono-regexp": entry("hono-regexp", regExpRouter, routes, shape),
      "hono-trie": entry("hono-trie", trieRouter, routes, shape),
    },
  };
}

/** Route matching: Sluice RouteMatcher vs Hono's RegExpRouter and TrieRouter. */
export const suite: Suite = {
  name: "router",
  description: "Sluice RouteMatcher vs Hono RegExpRouter/TrieRouter (when hono is installed)",
  cases: [10, 1000].flatMap((routes) => SHAPES.map((shape) => caseOf(routes, shape))),
};
