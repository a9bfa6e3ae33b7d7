import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { URLPattern as PolyfillURLPattern } from "urlpattern-polyfill";
import { Router } from "../../../server/router/router.ts";
import { RouteMatcher } from "../../../server/router/matcher.ts";

// The reference: the runtime's own URLPattern (Deno, Bun, Node 24), the
// polyfill where there is none (Node 20).
const Reference: typeof PolyfillURLPattern =
  (globalThis as { URLPattern?: typeof PolyfillURLPattern }).URLPattern ?? PolyfillURLPattern;

/** URLPattern's groups for `path`, decoded, absent groups left out; null when no match. */
function reference(pattern: string, path: string): Record<string, string> | null {
  const result = new Reference({ pathname: pattern }).exec({ pathname: path });
  if (!result) return null;
  const groups: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.pathname.groups)) {
    if (v !== undefined) groups[k] = decodeURIComponent(v);
  }
  return groups;
}

function found<H>(router: Router<H>, method: string, path: string) {
  const r = router.resolve(method, path);
  assert.equal(r.kind, "found", `${method} ${path} should resolve, got ${JSON.stringify(r)}`);
  return r as Extract<typeof r, { kind: "found" }>;
}

describe("Router with several patterns matching one path", () => {
  test("resolve() finds a later pattern of the same shape for another method", () => {
    const router = new Router<string>();
    router.add("GET", "/users/:id", "show");
    router.add("POST", "/users/:name", "rename");
    assert.deepEqual(found(router, "GET", "/users/7").params, { id: "7" });
    assert.equal(found(router, "GET", "/users/7").handler, "show");
    assert.deepEqual(found(router, "POST", "/users/ann").params, { name: "ann" });
    assert.equal(found(router, "POST", "/users/ann").handler, "rename");
    assert.equal(found(router, "HEAD", "/users/7").handler, "show");
    assert.deepEqual(router.resolve("PUT", "/users/7"), {
      kind: "method-not-allowed",
      allow: ["GET", "HEAD", "POST"],
    });
  });

  test("resolve() falls back from a param with a regexp to a plain param", () => {
    const router = new Router<string>();
    router.add("GET", "/a/:id(\\d+)", "by-id");
    router.add("POST", "/a/:slug", "by-slug");
    assert.deepEqual(found(router, "GET", "/a/7").params, { id: "7" });
    assert.equal(found(router, "POST", "/a/7").handler, "by-slug");
    assert.deepEqual(found(router, "POST", "/a/7").params, { slug: "7" });
    assert.equal(found(router, "POST", "/a/x").handler, "by-slug");
    // Allow lists the methods of the patterns that match this path only.
    assert.deepEqual(router.resolve("GET", "/a/x"), {
      kind: "method-not-allowed",
      allow: ["POST"],
    });
    assert.deepEqual(router.resolve("PUT", "/a/7"), {
      kind: "method-not-allowed",
      allow: ["GET", "HEAD", "POST"],
    });
    assert.deepEqual(router.allowedMethods("/a/7"), ["GET", "HEAD", "POST"]);
    assert.deepEqual(router.allowedMethods("/a/x"), ["POST"]);
    assert.equal(router.allowedMethods("/b"), null);
  });

  test("resolve() passes a static pattern without the method on to a param", () => {
    const router = new Router<string>();
    router.add("POST", "/items/new", "create");
    router.add("GET", "/items/:id", "show");
    router.add("GET", "/items/*", "rest");
    assert.equal(found(router, "POST", "/items/new").handler, "create");
    assert.equal(found(router, "GET", "/items/new").handler, "show");
    assert.deepEqual(found(router, "GET", "/items/new").params, { id: "new" });
    assert.equal(found(router, "GET", "/items/a/b").handler, "rest");
    assert.deepEqual(router.resolve("DELETE", "/items/new"), {
      kind: "method-not-allowed",
      allow: ["GET", "HEAD", "POST"],
    });
  });

  test("resolve() takes the first candidate that answers, HEAD by GET and * included", () => {
    const router = new Router<string>();
    router.add("GET", "/x/:a", "get-a");
    router.add("HEAD", "/x/:b", "head-b");
    router.add("*", "/y/:a", "any-a");
    router.add("PUT", "/y/:b", "put-b");
    // The first candidate answers HEAD with its GET route.
    assert.equal(found(router, "HEAD", "/x/1").handler, "get-a");
    // The first candidate's "*" route answers before a later exact one.
    assert.equal(found(router, "PUT", "/y/1").handler, "any-a");
    assert.equal(found(router, "BREW", "/y/1").handler, "any-a");
  });

  test("resolve() decodes the params of the candidate it picks", () => {
    const router = new Router<string>();
    router.add("GET", "/f/:id(\\d+)", "num");
    router.add("POST", "/f/:name", "name");
    assert.deepEqual(found(router, "POST", "/f/a%20b").params, { name: "a b" });
    assert.deepEqual(router.resolve("POST", "/f/%FF"), { kind: "bad-request" });
    assert.deepEqual(router.resolve("GET", "/f/%FF"), {
      kind: "method-not-allowed",
      allow: ["POST"],
    });
  });

  test("a wholly static route is still found among many", () => {
    const router = new Router<number>();
    for (let i = 0; i < 200; i++) {
      router.add("GET", `/api/r${i}`, i);
      router.add("GET", `/api/r${i}/:id`, 1000 + i);
    }
    router.add("POST", "/api/r5", 5000);
    router.add("GET", "/api/:any", 9999);
    assert.equal(found(router, "GET", "/api/r5").handler, 5);
    assert.equal(found(router, "POST", "/api/r5").handler, 5000);
    assert.equal(found(router, "GET", "/api/r199/x").handler, 1199);
    assert.equal(found(router, "GET", "/api/r200").handler, 9999);
    assert.deepEqual(router.resolve("PUT", "/api/r5"), {
      kind: "method-not-allowed",
      allow: ["GET", "HEAD", "POST"],
    });
    assert.deepEqual(router.resolve("GET", "/api/r200/x"), { kind: "not-found" });
  });

  test("RouteMatcher.match() still returns the first candidate only", () => {
    const m = new RouteMatcher<number>();
    for (let i = 0; i < 20; i++) m.add(`/s${i}`, i);
    m.add("/s3", 100);
    m.add("/:x", 200);
    assert.deepEqual(m.match("/s3"), { value: 3, params: {} });
    assert.deepEqual(m.match("/t"), { value: 200, params: { x: "t" } });
  });
});

// Patterns of a few shapes that overlap on purpose, with one or two methods each.
const METHODS = ["GET", "POST", "PUT", "HEAD", "*"];
const PIECES = [
  "/a",
  "/b",
  "/:p",
  "/:q",
  "/:p(\\d+)",
  "/:q([ab]+)",
  "/*",
  "{/:o}?",
  "/:p-:q",
  "/:p+",
];
/** Patterns of 1–3 pieces, with the groups numbered so that no name repeats. */
const patternOf = (first: string[], pieces: string[]) =>
  fc.tuple(
    fc.constantFrom(...first),
    fc.array(fc.constantFrom(...pieces), { maxLength: 2 }),
  ).map(([head, rest]) => {
    let n = 0;
    return [head, ...rest].join("").replace(/:([pqo])/g, (_, g) => `:${g}${n++}`);
  });
const WORDS = ["a", "b", "ab", "1", "12", "x-y", "%20a", "%C3%A9"];
const pathOf = (first: string[], words: string[]) =>
  fc.tuple(fc.constantFrom(...first), fc.array(fc.constantFrom(...words), { maxLength: 3 }))
    .map(([head, rest]) => `/${[head, ...rest].join("/")}`);
// Many static siblings at the root, so that it looks its children up in a hash table.
const STATICS = Array.from({ length: 24 }, (_, i) => `s${i}`);
const SETS = [
  {
    name: "overlapping shapes",
    patterns: patternOf(PIECES, PIECES),
    paths: pathOf(WORDS, WORDS),
    min: 1,
  },
  {
    name: "many static siblings",
    patterns: patternOf([...STATICS.map((w) => `/${w}`), "/:p"], PIECES),
    paths: pathOf([...STATICS, "s24", "s"], WORDS),
    min: 20,
  },
];

describe("Router against URLPattern, every matching pattern considered", () => {
  for (const set of SETS) {
    test(`resolve() finds a route that answers, or 405 with every match's methods, or 404 (${set.name})`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.constantFrom(...METHODS), set.patterns), {
            minLength: set.min,
            maxLength: set.min + 20,
          }),
          fc.array(
            fc.tuple(fc.constantFrom("GET", "POST", "PUT", "HEAD", "DELETE"), set.paths),
            { minLength: 1, maxLength: 12 },
          ),
          (routes, requests) => {
            const router = new Router<number>();
            const added: { method: string; pattern: string }[] = [];
            for (const [method, pattern] of routes) {
              try {
                router.add(method, pattern, added.length);
              } catch {
                continue; // The same method twice on one pattern.
              }
              added.push({ method, pattern });
            }
            for (const [method, path] of requests) {
              const matching = added.filter((r) => reference(r.pattern, path) !== null);
              const answers = (r: { method: string; pattern: string }) =>
                r.method === method || r.method === "*" ||
                (method === "HEAD" && r.method === "GET" &&
                  !added.some((o) => o.pattern === r.pattern && o.method === "HEAD"));
              const got = router.resolve(method, path);
              const where = `${method} ${path} on ${JSON.stringify(added)}`;
              if (got.kind === "found") {
                const route = added[got.handler];
                assert.ok(answers(route), `${where}: ${route.method} ${route.pattern} picked`);
                assert.deepEqual({ ...got.params }, reference(route.pattern, path), where);
              } else if (got.kind === "method-not-allowed") {
                assert.notEqual(matching.length, 0, where);
                assert.ok(!matching.some(answers), `${where}: a matching route answers`);
                const allow = new Set(matching.map((r) => r.method));
                if (allow.has("GET")) allow.add("HEAD");
                assert.deepEqual(got.allow, [...allow].sort(), where);
              } else {
                assert.equal(got.kind, "not-found", where);
                assert.deepEqual(matching, [], where);
              }
            }
          },
        ),
        { numRuns: 250 },
      );
    });
  }
});
