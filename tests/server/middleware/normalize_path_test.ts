import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Application } from "../../../server/application.ts";
import { text } from "../../../server/responses.ts";
import { serve, type ServerHandle } from "../../../server/run_app.ts";
import { normalizePathMiddleware } from "../../../server/middleware/normalize_path.ts";
import type { ServerRequest } from "../../../server/server_request.ts";
import { portOf, RawClient } from "../_client.ts";

const handles: ServerHandle[] = [];
const clients: RawClient[] = [];
after(async () => {
  for (const client of clients) client.close();
  for (const handle of handles) await handle.shutdown();
});

const quiet = { error() {}, info() {} };
const at = (path: string, init?: RequestInit) => new Request(`http://localhost${path}`, init);

function appWith(options?: Parameters<typeof normalizePathMiddleware>[0]): Application {
  const app = new Application({ logger: quiet });
  app.use(normalizePathMiddleware(options));
  app.router.get("/docs/", () => text("docs"));
  app.router.get("/a/b", () => text("a/b"));
  app.router.post("/form/", () => text("posted"));
  app.router.get("/evil.example/", () => text("local"));
  return app;
}

describe("normalizePathMiddleware()", () => {
  test("normalizePathMiddleware() appends the slash and merges slashes with 308, keeping the query", async () => {
    const app = appWith();
    const res = await app.fetch(at("/docs?page=2&q=a%20b"));
    assert.equal(res.status, 308);
    assert.equal(res.headers.get("location"), "/docs/?page=2&q=a%20b");
    const merged = await app.fetch(at("/a//b"));
    assert.equal(merged.status, 308);
    assert.equal(merged.headers.get("location"), "/a/b");
    const both = await app.fetch(at("//docs"));
    assert.equal(both.headers.get("location"), "/docs/");
    assert.equal(await (await app.fetch(at("/docs/"))).text(), "docs");
  });

  test("normalizePathMiddleware() redirects only to paths that resolve for the method", async () => {
    const app = appWith();
    assert.equal((await app.fetch(at("/nothing"))).status, 404);
    const post = await app.fetch(at("/form", { method: "POST", body: "x" }));
    assert.equal(post.status, 308);
    assert.equal(post.headers.get("location"), "/form/");
    // /docs/ has no POST route: the request goes on to its 404.
    assert.equal((await app.fetch(at("/docs", { method: "POST", body: "x" }))).status, 404);
    const head = await app.fetch(at("/docs", { method: "HEAD" }));
    assert.equal(head.status, 308);
  });

  test("normalizePathMiddleware() status options keep the method for non-GET requests", async () => {
    const app = appWith({ status: 301 });
    assert.equal((await app.fetch(at("/docs"))).status, 301);
    assert.equal((await app.fetch(at("/form", { method: "POST", body: "x" }))).status, 308);
    const temporary = appWith({ status: 302 });
    assert.equal((await temporary.fetch(at("/docs"))).status, 302);
    assert.equal((await temporary.fetch(at("/form", { method: "POST", body: "x" }))).status, 307);
    assert.throws(() => normalizePathMiddleware({ status: 303 as 308 }), RangeError);
    assert.throws(
      () => normalizePathMiddleware({ appendSlash: true, removeSlash: true }),
      TypeError,
    );
  });

  test("normalizePathMiddleware() removeSlash, no merging, and a custom resolves", async () => {
    const app = appWith({ appendSlash: false, removeSlash: true, mergeSlashes: false });
    const res = await app.fetch(at("/a/b/"));
    assert.equal(res.headers.get("location"), "/a/b");
    assert.equal((await app.fetch(at("/a//b"))).status, 404);
    const custom = new Application({ logger: quiet });
    const asked: string[] = [];
    custom.use(normalizePathMiddleware({
      resolves: (method, path) => (asked.push(`${method} ${path}`), path === "/x/"),
    }));
    assert.equal((await custom.fetch(at("/x"))).headers.get("location"), "/x/");
    assert.deepEqual(asked, ["GET /x", "GET /x/"]);
  });

  test("normalizePathMiddleware() never redirects to another host", async () => {
    const app = appWith();
    const res = await app.fetch(at("//evil.example"));
    assert.equal(res.status, 308);
    assert.equal(res.headers.get("location"), "/evil.example/");
    // Every candidate "resolves" but the path as sent: only the refusal keeps them local.
    let current = "";
    const middleware = normalizePathMiddleware({ resolves: (_method, path) => path !== current });
    const passed: string[] = [];
    for (const pathname of ["/\\evil.example", "/a\tb", "*"]) {
      current = pathname;
      const req = { pathname, method: "GET", search: "" } as unknown as ServerRequest;
      await middleware(req, () => (passed.push(pathname), Promise.resolve(new Response("on"))));
    }
    assert.deepEqual(passed, ["/\\evil.example", "/a\tb", "*"]);
  });

  test("normalizePathMiddleware() over a real socket: //host and /\\host paths stay local", async () => {
    const handle = await serve(appWith(), {
      hostname: "127.0.0.1",
      port: 0,
      shutdownTimeout: 1000,
    });
    handles.push(handle);
    const client = await RawClient.open(portOf(handle.addresses[0]));
    clients.push(client);
    client.send("GET //evil.example HTTP/1.1\r\nhost: x\r\n\r\n");
    const res = await client.response();
    assert.equal(res.status, 308);
    assert.equal(res.headers.get("location"), "/evil.example/");
    client.send("GET /\\evil.example HTTP/1.1\r\nhost: x\r\n\r\n");
    const backslash = await client.response();
    // The raw engine passes the path as sent (no redirect); Bun's parser turns `\` into `/` first.
    const location = backslash.headers.get("location");
    assert.ok(location === undefined || location === "/evil.example/", location);
  });
});

describe("normalizePathMiddleware with sub-applications", () => {
  test("redirects to a path only a mounted application routes", async () => {
    const root = new Application({ logger: { error() {}, info() {} } });
    const api = new Application();
    api.router.get("/items/", () => new Response("items"));
    root.mount("/api", api);
    root.use(normalizePathMiddleware());
    const res = await root.fetch(new Request("http://localhost/api//items?x=1"));
    assert.equal(res.status, 308);
    assert.equal(res.headers.get("location"), "/api/items/?x=1");
    assert.equal((await root.fetch(new Request("http://localhost/api/nothing"))).status, 404);
  });
});
