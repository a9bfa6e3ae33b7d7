import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Application } from "../../../server/application.ts";
import { json } from "../../../server/responses.ts";
import { Router } from "../../../server/router/router.ts";
import type { PathParams } from "../../../server/router/path_params.ts";

// Type-level assertions are checked by `deno check` (npm test) and `tsc`.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
type Loose = Record<string, string>;
type Empty = Record<never, never>;
type RequiredKeys<T> = { [K in keyof T]-?: Empty extends Pick<T, K> ? never : K }[keyof T];
type OptionalKeys<T> = { [K in keyof T]-?: Empty extends Pick<T, K> ? K : never }[keyof T];

/** `[]` when the listed keys are exactly the required and optional keys of `PathParams<P>`. */
type KeysMatch<P extends string, R extends readonly string[], O extends readonly string[]> =
  Equal<R[number], RequiredKeys<PathParams<P>>> extends false ? ["required keys differ from type"]
    : Equal<O[number], OptionalKeys<PathParams<P>>> extends false
      ? ["optional keys differ from type"]
    : [];

interface Case {
  path: string;
  required: readonly string[];
  optional: readonly string[];
  /** A URL where every optional group is present, and one where all are absent. */
  full: string;
  bare: string;
}

/** A pattern whose key lists are pinned, at compile time, to its `PathParams` type. */
function pattern<
  P extends string,
  const R extends readonly string[],
  const O extends readonly string[],
>(path: P, required: R, optional: O, full: string, bare = full, ..._: KeysMatch<P, R, O>): Case {
  return { path, required, optional, full, bare };
}

const cases: Case[] = [
  pattern("/users/:id", ["id"], [], "/users/1"),
  pattern("/users/:id/items/:item", ["id", "item"], [], "/users/1/items/2"),
  pattern("/users/:id/items/:item/", ["id", "item"], [], "/users/1/items/2/"),
  pattern("/u/:id?", [], ["id"], "/u/1", "/u"),
  pattern("/plus/:p+", ["p"], [], "/plus/a/b"),
  pattern("/star/:p*", [], ["p"], "/star/a/b", "/star"),
  pattern("/files-:p*", ["p"], [], "/files-a", "/files-"),
  pattern("/x{:p}*", ["p"], [], "/xa", "/x"),
  pattern("/files/*", ["0"], [], "/files/a/b"),
  pattern("/a/*/b/*", ["0", "1"], [], "/a/x/b/y/z"),
  pattern("/n/(\\d+)/*", ["0", "1"], [], "/n/12/x"),
  pattern("/books{/:id}?", [], ["id"], "/books/3", "/books"),
  pattern("/shelf{/:id}*", [], ["id"], "/shelf/3/4", "/shelf"),
  pattern("/r/:from-:to", ["from", "to"], [], "/r/a-b"),
  pattern("/f/:file.:ext", ["file", "ext"], [], "/f/a.json"),
  pattern("/w/**", [], ["0"], "/w/a", "/w"),
  pattern("/d/:id(\\d+)?", [], ["id"], "/d/5", "/d"),
  pattern("/d/:id(\\d+)/:slug", ["id", "slug"], [], "/d/5/hi"),
  pattern("/re/:a((?:x|\\))+)/:b", ["a", "b"], [], "/re/x)x/b"),
  pattern("/re/:a(.+)", ["a"], [], "/re/a/b"),
  pattern("/esc\\:x/:c", ["c"], [], "/esc:x/c"),
  pattern("/opt{/fixed}?/:y", ["y"], [], "/opt/fixed/y", "/opt/y"),
  pattern("/v{/:a}?{/:b(\\d+)}?", [], ["a", "b"], "/v/a/1", "/v"),
  pattern("/g{-:a-}?/:_b$1", ["_b$1"], ["a"], "/g-x-/y", "/g/y"),
  pattern("/m/:a/:b?", ["a"], ["b"], "/m/1/2", "/m/1"),
  pattern("/k/:a-:b/:c+", ["a", "b", "c"], [], "/k/1-2/3/4"),
  pattern("/e/:a/*", ["a", "0"], [], "/e/1/x/y"),
  pattern("/q/:a,b/:c.", ["a", "c"], [], "/q/1,b/2."),
  pattern("/t/:a/:rest*", ["a"], ["rest"], "/t/1/x/y", "/t/1"),
  pattern("/", [], [], "/"),
  pattern("/static/deep/path", [], [], "/static/deep/path"),
];

describe("PathParams: the type", () => {
  test("types of common patterns", () => {
    const checks: true[] = [
      true as Equal<PathParams<"/users/:id">, { id: string }>,
      true as Equal<PathParams<"/users/:id?">, { id?: string }>,
      true as Equal<PathParams<"/files/:p+">, { p: string }>,
      true as Equal<PathParams<"/files/:p*">, { p?: string }>,
      true as Equal<PathParams<"/files/*">, { "0": string }>,
      true as Equal<PathParams<"/(\\d+)/*">, { "0": string; "1": string }>,
      true as Equal<PathParams<"/books{/:id}?">, { id?: string }>,
      true as Equal<PathParams<"/:from-:to">, { from: string; to: string }>,
      true as Equal<PathParams<"/:id(\\d+)/:slug">, { id: string; slug: string }>,
      true as Equal<PathParams<"/">, Empty>,
      true as Equal<PathParams<"/a/b/c">, Empty>,
    ];
    assert.equal(checks.length, 11);
  });

  test("a string path, unusual names and invalid patterns give Record<string, string>", () => {
    const checks: true[] = [
      true as Equal<PathParams<string>, Loose>,
      // Non-ASCII names may continue past where ASCII rules would stop.
      true as Equal<PathParams<"/:café">, Loose>,
      // Invalid at runtime (Router.add throws): not typed.
      true as Equal<PathParams<"/a?">, Loose>,
      true as Equal<PathParams<"/:a(x(y)z)">, Loose>,
      true as Equal<PathParams<"/:a(x">, Loose>,
      true as Equal<PathParams<"/:1a">, Loose>,
      true as Equal<PathParams<"/{:a*}">, Loose>,
    ];
    assert.equal(checks.length, 7);
    for (const path of ["/a?", "/:a(x(y)z)", "/:a(x", "/:1a", "/{:a*}"]) {
      assert.throws(() => new Router<string>().add("GET", path, "x"), TypeError, path);
    }
    const router = new Router<string>();
    router.add("GET", "/:café", "x");
    const found = router.resolve("GET", "/1");
    assert.deepEqual(found.kind === "found" ? found.params : null, { "café": "1" });
  });

  test("handlers read typed params; unknown ones are type errors", async () => {
    const app = new Application();
    app.router.get("/users/:id/items/:item", (req) => {
      const id: string = req.params.id;
      // @ts-expect-error: the path has no "name"
      req.params.name;
      return json({ id, item: req.params.item });
    });
    app.router.get("/books{/:id}?", (req) => {
      // @ts-expect-error: optional params may be undefined
      const id: string = req.params.id;
      return json({ id: id ?? null });
    });
    app.router.get("/plain", (req) => {
      // @ts-expect-error: a path without params has none
      req.params.id;
      return json(Object.keys(req.params));
    });
    const wide: string = "/wide/:x";
    app.router.get(wide, (req) => json({ x: req.params.anything ?? null }));
    const get = async (path: string) =>
      await (await app.fetch(new Request(`http://localhost${path}`))).json();
    assert.deepEqual(await get("/users/1/items/2"), { id: "1", item: "2" });
    assert.deepEqual(await get("/books"), { id: null });
    assert.deepEqual(await get("/books/9"), { id: "9" });
    assert.deepEqual(await get("/plain"), []);
    assert.deepEqual(await get("/wide/1"), { x: null });
  });
});

describe("PathParams: the keys the application gives at runtime", () => {
  const app = new Application();
  for (const c of cases) {
    app.router.get(c.path, (req) => json({ path: c.path, keys: Object.keys(req.params) }));
  }
  const keysAt = async (url: string): Promise<{ path: string; keys: string[] }> => {
    const res = await app.fetch(new Request(`http://localhost${url}`));
    assert.equal(res.status, 200, url);
    return await res.json();
  };

  for (const c of cases) {
    test(`${c.path}: ${c.full} gives the required and optional keys`, async () => {
      const got = await keysAt(c.full);
      assert.equal(got.path, c.path);
      assert.deepEqual(got.keys.sort(), [...c.required, ...c.optional].sort());
    });
    test(`${c.path}: ${c.bare} gives the required keys`, async () => {
      const got = await keysAt(c.bare);
      assert.equal(got.path, c.path);
      assert.deepEqual(got.keys.sort(), [...c.required].sort());
    });
  }
});
