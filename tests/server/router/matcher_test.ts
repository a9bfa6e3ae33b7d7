import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { URLPattern as PolyfillURLPattern } from "urlpattern-polyfill";
import { RouteMatcher } from "../../../server/router/matcher.ts";

// The reference: the runtime's own URLPattern (Deno, Bun, Node 24), the
// polyfill where there is none (Node 20; importing it installs it then).
const Reference: typeof PolyfillURLPattern =
  (globalThis as { URLPattern?: typeof PolyfillURLPattern }).URLPattern ?? PolyfillURLPattern;

/** URLPattern's groups for `path`, with groups that took no part left out; null when no match. */
function reference(pattern: string, path: string): Record<string, string> | null {
  const result = new Reference({ pathname: pattern }).exec({ pathname: path });
  if (!result) return null;
  const groups: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.pathname.groups)) if (v !== undefined) groups[k] = v;
  return groups;
}

function one(pattern: string, path: string): Record<string, string> | null {
  const m = new RouteMatcher<string>();
  m.add(pattern, pattern);
  const found = m.match(path);
  return found && { ...found.params };
}

describe("RouteMatcher table", () => {
  const cases: [pattern: string, path: string, params: Record<string, string> | null][] = [
    ["/", "/", {}],
    ["/", "/a", null],
    ["/users", "/users", {}],
    ["/users", "/users/", null],
    ["/users/", "/users/", {}],
    ["/users/:id", "/users/42", { id: "42" }],
    ["/users/:id", "/users/", null],
    ["/users/:id", "/users/a/b", null],
    ["/users/:id", "/users/%C3%A9%20x", { id: "%C3%A9%20x" }],
    ["/a//b", "/a//b", {}],
    ["/:a/:b", "/x/y", { a: "x", b: "y" }],
    ["/:id(\\d+)", "/12", { id: "12" }],
    ["/:id(\\d+)", "/1a", null],
    ["/:x(a|ab)/c", "/ab/c", { x: "ab" }],
    ["/(\\d+)/:y", "/3/z", { "0": "3", y: "z" }],
    ["/files/*", "/files/", { "0": "" }],
    ["/files/*", "/files/a/b", { "0": "a/b" }],
    ["/files/*", "/files", null],
    ["/files/:rest(.*)", "/files/a/b", { rest: "a/b" }],
    ["*", "/anything/at/all", { "0": "/anything/at/all" }],
    ["/a/*/b", "/a/x/y/b", { "0": "x/y" }],
    ["/posts{/:slug}?", "/posts", {}],
    ["/posts{/:slug}?", "/posts/hi", { slug: "hi" }],
    ["/posts/:slug?", "/posts", {}],
    ["/posts/:slug?", "/posts/", null],
    ["/a{/:b}?{/:c}?", "/a/x", { b: "x" }],
    ["{/:b}?{/a}?", "/a", { b: "a" }],
    ["/old{/path}?", "/old/path", {}],
    ["/:a-:b", "/x-y-z", { a: "x", b: "y-z" }],
    ["/book.:ext", "/book.pdf", { ext: "pdf" }],
    ["/:p+", "/a/b/c", { p: "a/b/c" }],
    ["/x/:p*", "/x", {}],
    ["/x/:p*", "/x/a/b", { p: "a/b" }],
    ["/a b", "/a%20b", {}],
    ["/é/:x", "/%C3%A9/1", { x: "1" }],
    ["/\\:x", "/:x", {}],
  ];
  for (const [pattern, path, params] of cases) {
    test(`RouteMatcher matches ${JSON.stringify(path)} against ${JSON.stringify(pattern)} as URLPattern`, () => {
      assert.deepEqual(one(pattern, path), params);
      assert.deepEqual(reference(pattern, path), params);
    });
  }

  test("RouteMatcher.match() prefers static over param over wildcard", () => {
    const m = new RouteMatcher<string>();
    m.add("/a/*", "wild");
    m.add("/a/:id", "param");
    m.add("/a/new", "static");
    assert.equal(m.match("/a/new")?.value, "static");
    assert.equal(m.match("/a/old")?.value, "param");
    assert.equal(m.match("/a/old/x")?.value, "wild");
    assert.equal(m.match("/b"), null);
    assert.equal(m.size, 3);
  });

  test("RouteMatcher.match() backtracks out of a static branch that dead-ends", () => {
    const m = new RouteMatcher<string>();
    m.add("/a/b/c", "abc");
    m.add("/a/:x/d", "axd");
    m.add("/:y/b/e", "ybe");
    assert.deepEqual(m.match("/a/b/d"), { value: "axd", params: { x: "b" } });
    assert.deepEqual(m.match("/a/b/e"), { value: "ybe", params: { y: "a" } });
  });

  test("RouteMatcher.match() lets the first of two routes of the same shape win", () => {
    const m = new RouteMatcher<number>();
    m.add("/u/:id", 1);
    m.add("/u/:name", 2);
    m.add("/v/:id(\\d+)", 3);
    m.add("/v/:n", 4);
    assert.deepEqual(m.match("/u/x"), { value: 1, params: { id: "x" } });
    assert.deepEqual(m.match("/v/7"), { value: 3, params: { id: "7" } });
    assert.deepEqual(m.match("/v/x"), { value: 4, params: { n: "x" } });
  });

  test("RouteMatcher.add() refuses invalid syntax with a TypeError", () => {
    const m = new RouteMatcher<number>();
    for (
      const bad of ["/:id(", "/:", "/(?x)", "/((a))", "/{a", "/:a/:a", "/a\\", "/:x(\\d+", "/:x([)"]
    ) {
      assert.throws(() => m.add(bad, 0), TypeError, bad);
    }
  });
});

// Patterns built from pieces that cover every syntax the matcher files
// differently; paths built from the same words, so that many match.
const WORDS = ["a", "b", "ab", "1", "12", "x-y", "a.b", "%20a", "%C3%A9", ""];
const piece = (n: number): fc.Arbitrary<string> =>
  fc.constantFrom(
    "/a",
    "/b",
    "/ab",
    "/é",
    "/",
    `/:p${n}`,
    `/:p${n}`,
    `/:p${n}(\\d+)`,
    `/:p${n}([ab]+)`,
    `/:p${n}(a|ab)`,
    `/:p${n}(.*)`,
    `/:p${n}([^\\-]+)`,
    `/:p${n}-:q${n}`,
    `/a.:p${n}`,
    `{/:p${n}}?`,
    `/:p${n}?`,
    "{/a}?",
    `{-:p${n}}?`,
    `/:p${n}+`,
    `/:p${n}*`,
    "{/b}+",
    "/*",
    "/(\\d+)",
    `{/:p${n}(\\d+)}?`,
    `/:p${n}(\\d+)?`,
    `/:p${n}(\\d+)+`,
    `{/a/:p${n}}?`,
    `{/:p${n}.}?`,
    `{/:p${n}}*`,
    `-:p${n}`,
    "/*?",
    "/**",
  );
const pattern = fc.integer({ min: 1, max: 4 }).chain((count) =>
  fc.tuple(...Array.from({ length: count }, (_, i) => piece(i))).map((ps) => ps.join(""))
);
// The first segment is never empty: the polyfill reads a path starting with
// "//" as an authority ("//a/b" becomes "/b"), which the platform does not.
const path = fc.tuple(
  fc.constantFrom(...WORDS.filter((w) => w !== "")),
  fc.array(fc.constantFrom(...WORDS), { maxLength: 4 }),
).map(([first, rest]) => `/${[first, ...rest].join("/")}`);

describe("RouteMatcher against URLPattern", () => {
  test("RouteMatcher with one pattern matches exactly what URLPattern matches", () => {
    fc.assert(
      fc.property(pattern, fc.array(path, { minLength: 1, maxLength: 20 }), (p, paths) => {
        const m = new RouteMatcher<string>();
        m.add(p, p);
        for (const x of paths) {
          const found = m.match(x);
          assert.deepEqual(found && { ...found.params }, reference(p, x), `${p} on ${x}`);
        }
      }),
      { numRuns: 1500 },
    );
  });

  test("RouteMatcher with many patterns returns a route URLPattern matches, or none when none does", () => {
    fc.assert(
      fc.property(
        fc.array(pattern, { minLength: 1, maxLength: 12 }),
        fc.array(path, { maxLength: 20 }),
        (ps, paths) => {
          const m = new RouteMatcher<number>();
          ps.forEach((p, i) => m.add(p, i));
          for (const x of paths) {
            const found = m.match(x);
            if (found) {
              assert.deepEqual(
                { ...found.params },
                reference(ps[found.value], x),
                `${ps[found.value]} on ${x}`,
              );
            } else {
              for (const p of ps) assert.equal(reference(p, x), null, `${p} on ${x}`);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
