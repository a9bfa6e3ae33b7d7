import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Router } from "../../../server/router/router.ts";
import { normalizePath } from "../../../server/router/normalize.ts";

function found<H>(router: Router<H>, method: string, path: string) {
  const r = router.resolve(method, path);
  assert.equal(r.kind, "found", `${method} ${path} should resolve, got ${r.kind}`);
  return r as Extract<typeof r, { kind: "found" }>;
}

describe("Router methods", () => {
  const router = new Router<string>();
  router.add("GET", "/users/:id", "show");
  router.add("PUT", "/users/:id", "update");
  router.add("delete", "/users/:id", "remove");
  router.add("PATCH", "/things", "patch-things");
  router.add("HEAD", "/head", "own-head");
  router.add("GET", "/head", "get-head");
  router.add("*", "/any", "any");
  router.add("GET", "/any", "any-get");
  router.add("PROPFIND", "/dav", "propfind");

  test("resolve() picks the route of the method", () => {
    assert.equal(found(router, "GET", "/users/1").handler, "show");
    assert.equal(found(router, "PUT", "/users/1").handler, "update");
    assert.equal(found(router, "DELETE", "/users/1").handler, "remove");
    assert.deepEqual(found(router, "GET", "/users/1").params, { id: "1" });
    assert.deepEqual(found(router, "GET", "/users/1").route, {
      method: "GET",
      path: "/users/:id",
      name: undefined,
    });
  });

  test("resolve() answers 404 and 405 with a sorted Allow", () => {
    assert.deepEqual(router.resolve("GET", "/nothing"), { kind: "not-found" });
    assert.deepEqual(router.resolve("GET", "/users/1/x"), { kind: "not-found" });
    assert.deepEqual(router.resolve("POST", "/users/1"), {
      kind: "method-not-allowed",
      allow: ["DELETE", "GET", "HEAD", "PUT"],
    });
    assert.deepEqual(router.resolve("GET", "/things"), {
      kind: "method-not-allowed",
      allow: ["PATCH"],
    });
  });

  test("resolve() answers HEAD with the GET route unless there is a HEAD route", () => {
    assert.equal(found(router, "HEAD", "/users/1").handler, "show");
    assert.equal(found(router, "HEAD", "/head").handler, "own-head");
    assert.equal(router.resolve("HEAD", "/things").kind, "method-not-allowed");
  });

  test("resolve() sends every other method to a * route", () => {
    assert.equal(found(router, "GET", "/any").handler, "any-get");
    assert.equal(found(router, "HEAD", "/any").handler, "any-get");
    assert.equal(found(router, "POST", "/any").handler, "any");
    assert.equal(found(router, "BREW", "/any").handler, "any");
  });

  test("methods are case-sensitive, except the six standard ones when added", () => {
    assert.equal(found(router, "PROPFIND", "/dav").handler, "propfind");
    assert.equal(router.resolve("propfind", "/dav").kind, "method-not-allowed");
    assert.equal(router.resolve("get", "/users/1").kind, "method-not-allowed");
  });

  test("allowedMethods() lists the methods of the matching pattern", () => {
    assert.deepEqual(router.allowedMethods("/users/9"), ["DELETE", "GET", "HEAD", "PUT"]);
    assert.deepEqual(router.allowedMethods("/any"), ["GET", "HEAD"]);
    assert.equal(router.allowedMethods("/none"), null);
  });

  test("autoOptions lists OPTIONS in Allow", () => {
    const r = new Router<string>({ autoOptions: true });
    r.add("POST", "/form", "post");
    assert.deepEqual(r.resolve("OPTIONS", "/form"), {
      kind: "method-not-allowed",
      allow: ["OPTIONS", "POST"],
    });
    r.add("OPTIONS", "/form", "own-options");
    assert.equal(found(r, "OPTIONS", "/form").handler, "own-options");
  });

  test("add() rejects bad methods, duplicates and bad patterns", () => {
    const r = new Router<string>();
    r.add("GET", "/a", "a", { name: "a" });
    r.add("*", "/a", "any");
    assert.throws(() => r.add("GET", "/a", "again"), TypeError);
    assert.throws(() => r.add("get", "/a", "again"), TypeError);
    assert.throws(() => r.add("*", "/a", "again"), TypeError);
    assert.throws(() => r.add("POST", "/b", "b", { name: "a" }), TypeError);
    assert.throws(() => r.add("", "/c", "c"), TypeError);
    assert.throws(() => r.add("GE T", "/c", "c"), TypeError);
    assert.throws(() => r.add("GET\r\n", "/c", "c"), TypeError);
    assert.throws(() => r.add("GET", "/:id(", "c"), TypeError);
    // Nothing half-added after a failure.
    assert.equal(r.resolve("GET", "/c").kind, "not-found");
    assert.deepEqual(r.routes(), [
      { method: "GET", path: "/a", name: "a" },
      { method: "*", path: "/a", name: undefined },
    ]);
  });
});

describe("Router params decoding", () => {
  const router = new Router<string>();
  router.add("GET", "/users/:id", "user");
  router.add("GET", "/files/*", "file");
  router.add("GET", "/p/:__proto__", "proto");

  test("resolve() decodes params once", () => {
    assert.deepEqual(found(router, "GET", "/users/a%20b").params, { id: "a b" });
    assert.deepEqual(found(router, "GET", "/users/%C3%A9").params, { id: "é" });
    assert.deepEqual(found(router, "GET", "/users/%2541").params, { id: "%41" });
  });

  test("resolve() keeps %2F inside one param", () => {
    assert.deepEqual(found(router, "GET", "/users/a%2Fb").params, { id: "a/b" });
    assert.deepEqual(found(router, "GET", "/files/x/a%2Fb").params, { "0": "x/a/b" });
  });

  test("resolve() answers bad-request for malformed escapes", () => {
    assert.deepEqual(router.resolve("GET", "/users/%E0%A4%A"), { kind: "bad-request" });
    assert.deepEqual(router.resolve("GET", "/users/%FF"), { kind: "bad-request" });
    assert.deepEqual(router.resolve("GET", "/files/ok/%C3"), { kind: "bad-request" });
  });

  test("resolve() sets a __proto__ param as an own property", () => {
    const params = found(router, "GET", "/p/a%20b").params;
    assert.equal(Object.getPrototypeOf(params), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(params, "__proto__")?.value, "a b");
  });
});

describe("Router.url()", () => {
  const router = new Router<string>();
  router.add("GET", "/", "home", { name: "home" });
  router.add("GET", "/users/:id", "user", { name: "user" });
  router.add("GET", "/items/:id(\\d+)", "item", { name: "item" });
  router.add("GET", "/posts{/:slug}?", "posts", { name: "posts" });
  router.add("GET", "/old{/path}?", "old", { name: "old" });
  router.add("GET", "/files/*", "file", { name: "file" });
  router.add("GET", "/tags/:tag+", "tags", { name: "tags" });
  router.add("GET", "/book.:ext", "book", { name: "book" });

  const roundTrip = (name: string, params: Record<string, string>, handler: string): string => {
    const path = router.url(name, { params });
    assert.equal(new URL(path, "http://h").pathname, path, "URL keeps the path as built");
    const r = found(router, "GET", path);
    assert.equal(r.handler, handler);
    assert.deepEqual({ ...r.params }, params);
    return path;
  };

  test("url() builds paths that resolve back to the same route and params", () => {
    assert.equal(roundTrip("home", {}, "home"), "/");
    assert.equal(roundTrip("user", { id: "42" }, "user"), "/users/42");
    assert.equal(roundTrip("user", { id: "a b/c?d#e%" }, "user"), "/users/a%20b%2Fc%3Fd%23e%25");
    assert.equal(roundTrip("user", { id: "é:@+$" }, "user"), "/users/%C3%A9:@+$");
    assert.equal(roundTrip("item", { id: "7" }, "item"), "/items/7");
    assert.equal(roundTrip("posts", {}, "posts"), "/posts");
    assert.equal(roundTrip("posts", { slug: "hi" }, "posts"), "/posts/hi");
    assert.equal(roundTrip("old", {}, "old"), "/old");
    assert.equal(roundTrip("file", { "0": "a/b c/d" }, "file"), "/files/a/b%20c/d");
    assert.equal(roundTrip("file", { "0": "" }, "file"), "/files/");
    assert.equal(roundTrip("book", { ext: "pdf" }, "book"), "/book.pdf");
  });

  test("url() takes arrays for repeated groups and numbers", () => {
    assert.equal(router.url("tags", { params: { tag: ["a", "b c"] } }), "/tags/a/b%20c");
    assert.deepEqual(found(router, "GET", "/tags/a/b%20c").params, { tag: "a/b c" });
    assert.equal(router.url("item", { params: { id: 12 } }), "/items/12");
  });

  test("url() appends the query", () => {
    assert.equal(
      router.url("home", { query: { a: "1 2", b: ["x", "y"], c: true } }),
      "/?a=1+2&b=x&b=y&c=true",
    );
    assert.equal(router.url("home", { query: new URLSearchParams("q=%26") }), "/?q=%26");
    assert.equal(router.url("home", { query: {} }), "/");
  });

  test("url() rejects missing, unknown and unfit params", () => {
    assert.throws(() => router.url("nope"), TypeError);
    assert.throws(() => router.url("user"), TypeError);
    assert.throws(() => router.url("user", { params: { id: "" } }), TypeError);
    assert.throws(() => router.url("user", { params: { id: "1", other: "2" } }), TypeError);
    assert.throws(() => router.url("user", { params: { id: ["1", "2"] } }), TypeError);
    assert.throws(() => router.url("item", { params: { id: "x1" } }), TypeError);
    assert.throws(() => router.url("user", { params: { id: ".." } }), TypeError);
    assert.throws(() => router.url("file", { params: { "0": "a/../b" } }), TypeError);
    assert.throws(() => router.url("user", { params: { id: "\uD800" } }), TypeError);
    assert.throws(() => router.url("tags", { params: { tag: [] } }), TypeError);
  });

  test("url() round trips arbitrary param values", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1 }), (id) => {
        fc.pre(id !== "." && id !== "..");
        const path = router.url("user", { params: { id } });
        const r = router.resolve("GET", new URL(path, "http://h").pathname);
        return r.kind === "found" && r.handler === "user" && r.params.id === id;
      }),
      { numRuns: 300 },
    );
  });
});

describe("normalizePath()", () => {
  test("normalizePath() without resolves returns the fully normalised path", () => {
    const cases: [string, Parameters<typeof normalizePath>[1], string | null][] = [
      ["/a//b", {}, "/a/b/"],
      ["/a/b", {}, "/a/b/"],
      ["/a/b/", {}, null],
      ["/", {}, null],
      ["/a//b", { trailingSlash: null }, "/a/b"],
      ["/a//b/", { trailingSlash: "remove" }, "/a/b"],
      ["/a/b/", { trailingSlash: "remove" }, "/a/b"],
      ["/", { trailingSlash: "remove" }, null],
      ["//", { trailingSlash: "remove" }, "/"],
      ["/a//b", { mergeSlashes: false, trailingSlash: "add" }, "/a//b/"],
      ["/a//b", { mergeSlashes: false, trailingSlash: null }, null],
      ["//evil.example", { mergeSlashes: false, trailingSlash: null }, "/evil.example"],
      ["//evil.example", { mergeSlashes: false }, "/evil.example/"],
      ["///x", { trailingSlash: null }, "/x"],
    ];
    for (const [path, options, expected] of cases) {
      assert.equal(normalizePath(path, options), expected, `${path} ${JSON.stringify(options)}`);
    }
  });

  test("normalizePath() with resolves tries aiohttp's candidates in order", () => {
    const routes = new Router<string>();
    routes.add("GET", "/a/b", "ab");
    routes.add("GET", "/c/", "c");
    routes.add("GET", "/d//e", "de");
    const resolves = (p: string): boolean => routes.resolve("GET", p).kind !== "not-found";
    assert.equal(normalizePath("/a//b", { resolves }), "/a/b");
    assert.equal(normalizePath("/c", { resolves }), "/c/");
    assert.equal(normalizePath("//c", { resolves }), "/c/");
    assert.equal(normalizePath("/a/b/", { trailingSlash: "remove", resolves }), "/a/b");
    assert.equal(normalizePath("/a//b//", { trailingSlash: "remove", resolves }), "/a/b");
    assert.equal(normalizePath("/d//e/", { trailingSlash: "remove", resolves }), "/d//e");
    assert.equal(normalizePath("/x//y", { resolves }), null);
    assert.equal(normalizePath("/a/b", { resolves }), null);
  });

  test("normalizePath() rejects a bad trailingSlash", () => {
    assert.throws(
      () => normalizePath("/a", { trailingSlash: "yes" as unknown as "add" }),
      TypeError,
    );
  });
});
