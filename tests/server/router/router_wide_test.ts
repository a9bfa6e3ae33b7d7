import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Router } from "../../../server/router/router.ts";
import { RouteMatcher } from "../../../server/router/matcher.ts";

// Nodes with many static children find them through a decision on length and
// characters; the map of static routes sits behind a filter. These tests
// check both against a plain reading of the route table.

/** Keys of equal length that differ at one position only, and at several. */
const KEYS = [
  "users",
  "userz",
  "uxers",
  "orders",
  "order",
  "a",
  "b",
  "ab",
  "ba",
  "users1",
  "users2",
  "users10",
  "%C3%A9t%C3%A9",
  "x-y",
  "X-Y",
];

function routerOf(keys: readonly string[]): Router<string> {
  const router = new Router<string>();
  for (const key of keys) {
    router.add("GET", `/api/${key}`, `static ${key}`);
    router.add("GET", `/api/${key}/:id`, `one ${key}`);
  }
  router.add("GET", "/api/:other", "param");
  return router;
}

describe("Router with a node of many static children", () => {
  test("resolve() finds every static child, and the param for any other segment", () => {
    const router = routerOf(KEYS);
    for (const key of KEYS) {
      const found = router.resolve("GET", `/api/${key}`);
      assert.equal(found.kind, "found");
      if (found.kind === "found") assert.equal(found.handler, `static ${key}`, key);
      const one = router.resolve("GET", `/api/${key}/7`);
      assert.equal(one.kind, "found");
      if (one.kind === "found") {
        assert.equal(one.handler, `one ${key}`, key);
        assert.deepEqual(one.params, { id: "7" });
      }
    }
    // Same length and same characters at the deciding positions, but not a key.
    for (
      const other of ["usera", "uzers", "orderz", "c", "aa", "users3", "users11", "x-Y", "USERS"]
    ) {
      const found = router.resolve("GET", `/api/${other}`);
      assert.equal(found.kind, "found", other);
      if (found.kind === "found") {
        assert.equal(found.handler, "param", other);
        assert.deepEqual(found.params, { other });
      }
      assert.deepEqual(router.resolve("GET", `/api/${other}/7`), { kind: "not-found" }, other);
    }
  });

  test("resolve() matches an empty segment and longer segments than any key", () => {
    const router = routerOf(KEYS);
    router.add("GET", "/api//x", "empty");
    assert.equal(router.resolve("GET", "/api/").kind, "not-found");
    const empty = router.resolve("GET", "/api//x");
    assert.equal(empty.kind === "found" && empty.handler, "empty");
    const long = router.resolve("GET", "/api/a-segment-longer-than-any-key");
    assert.equal(long.kind === "found" && long.handler, "param");
  });

  test("a child added after a lookup is found by the next lookup", () => {
    const matcher = new RouteMatcher<string>();
    // A param after the key: not in the map of static routes, found by the walk.
    for (const key of KEYS) matcher.add(`/k/${key}/:id`, key);
    assert.equal(matcher.match("/k/users/1")?.value, "users");
    assert.equal(matcher.match("/k/later/1"), null);
    matcher.add("/k/later/:id", "later");
    assert.deepEqual(matcher.match("/k/later/1"), { value: "later", params: { id: "1" } });
    assert.equal(matcher.match("/k/users/1")?.value, "users");
  });
});

describe("Router with many static routes", () => {
  test("resolve() finds each of 2,000 static routes and nothing else", () => {
    const router = new Router<number>();
    for (let i = 0; i < 2000; i++) router.add("GET", `/s/${i.toString(36)}/p${i}`, i);
    router.add("GET", "/s/:a/:b", -1);
    for (let i = 0; i < 2000; i++) {
      const found = router.resolve("GET", `/s/${i.toString(36)}/p${i}`);
      assert.equal(found.kind === "found" && found.handler, i);
      // Near misses go to the param route.
      const miss = router.resolve("GET", `/s/${i.toString(36)}/p${i + 1}`);
      assert.equal(miss.kind === "found" && miss.handler, -1);
    }
  });
});

describe("Router decoding", () => {
  test("resolve() decodes params only where the path has escapes, and rejects bad ones", () => {
    const router = new Router<string>();
    router.add("GET", "/a/:x/:y", "two");
    const plain = router.resolve("GET", "/a/b/c");
    assert.deepEqual(plain.kind === "found" && plain.params, { x: "b", y: "c" });
    const escaped = router.resolve("GET", "/a/b/%41%2F");
    assert.deepEqual(escaped.kind === "found" && escaped.params, { x: "b", y: "A/" });
    assert.deepEqual(router.resolve("GET", "/a/%FF/c"), { kind: "bad-request" });
  });
});
