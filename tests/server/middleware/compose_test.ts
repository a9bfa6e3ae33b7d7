import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { compose, type Middleware } from "../../../server/middleware/compose.ts";
import { AppKey, AppState } from "../../../server/app_key.ts";

describe("compose()", () => {
  test("compose() runs middlewares outermost first, around the handler, and passes replaced requests on", async () => {
    const seen: string[] = [];
    const tag = (name: string): Middleware<string[]> => async (req, next) => {
      seen.push(`${name} in`);
      const res = await next([...req, name]);
      seen.push(`${name} out`);
      res.headers.set(`x-${name}`, "1");
      return res;
    };
    const run = compose([tag("a"), tag("b")], (req) => new Response(req.join(",")));
    const res = await run(["start"]);
    assert.equal(await res.text(), "start,a,b");
    assert.deepEqual(seen, ["a in", "b in", "b out", "a out"]);
    assert.equal(res.headers.get("x-a"), "1");
    assert.equal(res.headers.get("x-b"), "1");
  });

  test("compose() lets a middleware answer without calling next()", async () => {
    let reached = false;
    const run = compose<number>([() => new Response("short", { status: 401 })], () => {
      reached = true;
      return new Response("handler");
    });
    const res = await run(1);
    assert.equal(res.status, 401);
    assert.equal(reached, false);
  });

  test("compose() returns the handler itself when there is no middleware", () => {
    const handler = () => new Response("x");
    assert.equal(compose([], handler), handler);
  });

  test("compose() rejects next() called twice, and a non-Response result with its position", async () => {
    const twice = compose<number>([async (req, next) => {
      await next(req);
      return await next(req);
    }], () => new Response("x"));
    await assert.rejects(() => Promise.resolve(twice(1)), /next\(\) twice from middleware 0/);
    const bad = compose<number>(
      [(req, next) => next(req), () => "nope" as unknown as Response],
      () => new Response("x"),
    );
    await assert.rejects(() => Promise.resolve(bad(1)), /middleware 1: it is not a Response/);
    const badHandler = compose<number>(
      [(req, next) => next(req)],
      () => 42 as unknown as Response,
    );
    await assert.rejects(() => Promise.resolve(badHandler(1)), /the handler: it is not a Response/);
  });

  test("compose() turns a throwing middleware or handler into a rejection that outer middlewares can catch", async () => {
    const run = compose<number>([async (req, next) => {
      try {
        return await next(req);
      } catch (error) {
        return new Response(`caught ${(error as Error).message}`, { status: 500 });
      }
    }, () => {
      throw new Error("inner");
    }], () => new Response("x"));
    const res = await run(1);
    assert.equal(await res.text(), "caught inner");
  });

  test("compose() refuses a middleware that is not a function", () => {
    assert.throws(
      () => compose([null as unknown as Middleware<number>], () => new Response("x")),
      /middleware 0: not a function/,
    );
  });
});

describe("AppKey and AppState", () => {
  test("AppState.get() returns what set() stored, typed by the key; keys compare by identity", () => {
    const a = new AppKey<number>("n");
    const b = new AppKey<number>("n");
    const state = new AppState().set(a, 1);
    const n: number = state.get(a);
    assert.equal(n, 1);
    assert.equal(state.has(b), false);
    assert.throws(() => state.get(b), /Cannot get AppKey\(n\): it was never set/);
    assert.equal(state.maybe(b), undefined);
  });

  test("AppState.freeze() refuses set() and delete(); AppKey needs a name; set() needs an AppKey", () => {
    const key = new AppKey<string>("s");
    const state = new AppState().set(key, "x");
    assert.equal(state.delete(key), true);
    state.set(key, "y").freeze();
    assert.equal(state.frozen, true);
    assert.throws(() => state.set(key, "z"), /application is running/);
    assert.throws(() => state.delete(key), /application is running/);
    assert.equal(state.get(key), "y");
    assert.throws(() => new AppKey(""), TypeError);
    assert.throws(() => new AppState().set("k" as unknown as AppKey<string>, "v"), /not an AppKey/);
  });
});

describe("compose() and synchronous throws", () => {
  test("next() returns a rejected Promise when the handler throws before returning", async () => {
    let caught: unknown = null;
    const run = compose<string>([(req, next) =>
      next(req).catch((error) => {
        caught = error;
        return new Response("recovered");
      })], () => {
      throw new Error("sync boom");
    });
    const res = await run("x");
    assert.equal(await res.text(), "recovered");
    assert.equal((caught as Error).message, "sync boom");
  });
});
