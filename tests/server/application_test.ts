import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Application } from "../../server/application.ts";
import { HttpForbidden } from "../../server/_http_client_errors.ts";
import { json, text } from "../../server/responses.ts";
import { serve } from "../../server/run_app.ts";
import type { ServerHandle } from "../../server/run_app.ts";

const handles: ServerHandle[] = [];
after(async () => {
  for (const handle of handles) await handle.shutdown();
});

function app(): Application {
  const app = new Application({ clientMaxSize: 64, logger: { error() {}, info() {} } });
  app.router.get("/", () => text("home"));
  app.router.get("/users/:id", (req) => json({ id: req.params.id, q: req.query.getAll("q") }), {
    name: "user",
  });
  app.router.post("/echo", async (req) => json(await req.json()));
  app.router.get("/forbidden", () => {
    throw new HttpForbidden("not you");
  });
  app.router.get("/boom", () => {
    throw new Error("secret detail");
  });
  return app;
}

const at = (path: string, init?: RequestInit) => new Request(`http://localhost${path}`, init);

describe("Application", () => {
  test("Application.fetch() routes, decodes params and reads the query", async () => {
    const a = app();
    assert.equal(await (await a.fetch(at("/"))).text(), "home");
    const res = await a.fetch(at("/users/a%20b?q=1&q=2"));
    assert.deepEqual(await res.json(), { id: "a b", q: ["1", "2"] });
    assert.equal(a.router.url("user", { params: { id: "x y" } }), "/users/x%20y");
  });

  test("Application answers 404, 405 with Allow, automatic OPTIONS, and 400 for a bad escape", async () => {
    const a = app();
    assert.equal((await a.fetch(at("/missing"))).status, 404);
    const wrong = await a.fetch(at("/echo"));
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get("allow"), "OPTIONS, POST");
    const options = await a.fetch(at("/users/1", { method: "OPTIONS" }));
    assert.equal(options.status, 204);
    assert.match(options.headers.get("allow") ?? "", /GET/);
    assert.equal((await a.fetch(at("/users/%E0%A4%A"))).status, 400);
  });

  test("Application renders HttpError (JSON when asked), hides internals of 500, maps 413 and malformed JSON", async () => {
    const a = app();
    const forbidden = await a.fetch(at("/forbidden", { headers: { accept: "application/json" } }));
    assert.equal(forbidden.status, 403);
    assert.equal(((await forbidden.json()) as { message: string }).message, "not you");
    const boom = await a.fetch(at("/boom"));
    assert.equal(boom.status, 500);
    assert.doesNotMatch(await boom.text(), /secret/);
    const big = await a.fetch(
      at("/echo", { method: "POST", body: JSON.stringify("x".repeat(100)) }),
    );
    assert.equal(big.status, 413);
    const bad = await a.fetch(at("/echo", { method: "POST", body: "{nope" }));
    assert.equal(bad.status, 400);
  });

  test("Application middlewares run outermost first, also around 404s (thrown through them, as in aiohttp)", async () => {
    const a = app();
    const seen: string[] = [];
    a.use(async (req, next) => {
      seen.push(`outer ${req.pathname}`);
      const res = await next(req);
      return new Response(res.body, { status: res.status, headers: { "x-outer": "1" } });
    });
    a.use((req, next) => {
      seen.push("inner");
      return next(req);
    });
    const res = await a.fetch(at("/"));
    assert.equal(res.headers.get("x-outer"), "1");
    assert.equal(await res.text(), "home");
    const missing = await a.fetch(at("/nowhere"));
    assert.equal(missing.status, 404);
    // The 404 is an HttpNotFound thrown through the chain: the outer middleware did not return.
    assert.equal(missing.headers.get("x-outer"), null);
    assert.deepEqual(seen, ["outer /", "inner", "outer /nowhere", "inner"]);
    assert.throws(() => a.use(() => new Response()), /once requests are served/);
  });

  test("Application serves through serve() with its lifecycle hooks, on the runtime's default backend", async () => {
    const a = app();
    const order: string[] = [];
    a.onStartup.push(() => void order.push("startup"));
    a.onCleanup.push(() => void order.push("cleanup"));
    const handle = await serve(a, { hostname: "127.0.0.1", port: 0, shutdownTimeout: 1000 });
    handles.push(handle);
    const res = await fetch(`${handle.url}/users/42`);
    assert.deepEqual(await res.json(), { id: "42", q: [] });
    const head = await fetch(`${handle.url}/`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    await handle.shutdown();
    assert.deepEqual(order, ["startup", "cleanup"]);
  });
});
