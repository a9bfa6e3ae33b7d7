import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Application } from "../../server/application.ts";
import { AppKey } from "../../server/app_key.ts";
import { BodyError } from "../../server/errors.ts";
import type { Middleware } from "../../server/middleware/compose.ts";
import type { ServerRequest } from "../../server/server_request.ts";
import { json, text } from "../../server/responses.ts";
import { serve, type ServerHandle } from "../../server/run_app.ts";

const quiet = { logger: { error() {}, info() {} } };
const at = (path: string, init?: RequestInit) => new Request(`http://localhost${path}`, init);

const handles: ServerHandle[] = [];
after(async () => {
  for (const handle of handles) await handle.shutdown();
});

/** A middleware that appends `name` to the `x-trail` response header. */
function trail(name: string, log?: string[]): Middleware<ServerRequest<Application>> {
  return async (req, next) => {
    log?.push(`${name} in`);
    const res = await next(req);
    log?.push(`${name} out`);
    res.headers.append("x-trail", name);
    return res;
  };
}

describe("Application.mount", () => {
  test("routes into the sub-application with the prefix taken off, req.app the sub-application", async () => {
    const root = new Application(quiet);
    const api = new Application(quiet);
    const name = new AppKey<string>("name");
    root.state.set(name, "root");
    api.state.set(name, "api");
    api.router.get(
      "/items/:id",
      (req) => json({ id: req.params.id, app: req.app.state.get(name) }),
    );
    api.router.get("/", () => text("api index"));
    root.router.get("/", () => text("root index"));
    root.mount("/api", api);

    assert.deepEqual(await (await root.fetch(at("/api/items/a%2Fb"))).json(), {
      id: "a/b",
      app: "api",
    });
    assert.equal(await (await root.fetch(at("/api/"))).text(), "api index");
    assert.equal(await (await root.fetch(at("/"))).text(), "root index");
    // The prefix alone, and a longer segment that merely starts with it, are not the sub-application's.
    assert.equal((await root.fetch(at("/api"))).status, 404);
    assert.equal((await root.fetch(at("/apix/items/1"))).status, 404);
  });

  test("middlewares run parent first, then the sub-application's; 404s run the parent's only", async () => {
    const log: string[] = [];
    const root = new Application(quiet).use(trail("root", log));
    const api = new Application(quiet).use(trail("api", log));
    api.router.get("/x", () => {
      log.push("handler");
      return text("x");
    });
    root.mount("/api", api);

    const res = await root.fetch(at("/api/x"));
    assert.equal(res.headers.get("x-trail"), "api, root");
    assert.deepEqual(log, ["root in", "api in", "handler", "api out", "root out"]);

    log.length = 0;
    const missing = await root.fetch(at("/api/nope"));
    assert.equal(missing.status, 404);
    assert.deepEqual(log, ["root in"]); // the 404 is thrown through the parent's middleware
  });

  test("405 merges Allow across the parent and the sub-application; OPTIONS answered", async () => {
    const root = new Application(quiet);
    const api = new Application(quiet);
    api.router.post("/things", () => text("made"));
    api.router.delete("/things", () => text("gone"));
    root.mount("/api", api);
    const res = await root.fetch(at("/api/things"));
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "DELETE, OPTIONS, POST");
    const options = await root.fetch(at("/api/things", { method: "OPTIONS" }));
    assert.equal(options.status, 204);
    assert.equal(options.headers.get("allow"), "DELETE, OPTIONS, POST");
    assert.equal(await (await root.fetch(at("/api/things", { method: "DELETE" }))).text(), "gone");
  });

  test("parent routes win over the sub-application; nested mounts; longest prefix first", async () => {
    const root = new Application(quiet);
    const v1 = new Application(quiet);
    const v2 = new Application(quiet);
    const admin = new Application(quiet);
    root.router.get("/api/status", () => text("root status"));
    v1.router.get("/status", () => text("v1 status"));
    v1.router.get("/who", (req) => text(req.app === v1 ? "v1" : "?"));
    v2.router.get("/who", () => text("v2"));
    admin.router.get("/who/:id", (req) => text(`admin ${req.params.id}`), { name: "who" });
    v2.mount("/admin", admin);
    root.mount("/api", v1);
    root.mount("/api/v2", v2);

    assert.equal(await (await root.fetch(at("/api/status"))).text(), "root status");
    assert.equal(await (await root.fetch(at("/api/who"))).text(), "v1");
    assert.equal(await (await root.fetch(at("/api/v2/who"))).text(), "v2");
    assert.equal(await (await root.fetch(at("/api/v2/admin/who/9"))).text(), "admin 9");
    assert.equal(admin.prefix, "/api/v2/admin");
    assert.equal(admin.router.url("who", { params: { id: "a b" } }), "/api/v2/admin/who/a%20b");
    assert.equal(admin.parent, v2);
  });

  test("refuses bad prefixes, double mounts, cycles and mounting once serving", async () => {
    const root = new Application(quiet);
    const sub = new Application(quiet);
    for (const bad of ["", "/", "api", "/api/", "/:id", "/a*", "/a b", "/a?b"]) {
      assert.throws(() => root.mount(bad, new Application(quiet)), TypeError, bad);
    }
    root.mount("/sub", sub);
    assert.throws(() => new Application(quiet).mount("/x", sub), /already mounted/);
    assert.throws(() => sub.mount("/root", root), /in itself/);
    assert.throws(() => root.mount("/sub", new Application(quiet)), /another application/);
    await root.fetch(at("/"));
    assert.throws(() => root.mount("/late", new Application(quiet)), /already being served/);
    assert.throws(() => sub.use(async (req, next) => await next(req)), /once requests are served/);
  });

  test("lifecycle signals propagate: startup after the parent's hooks, cleanup before the parent's", async () => {
    const log: string[] = [];
    const root = new Application(quiet);
    const sub = new Application(quiet);
    root.onStartup.push(() => void log.push("root startup"));
    sub.onStartup.push(() => void log.push("sub startup"));
    sub.cleanupCtx.push(async function* () {
      log.push("sub ctx in");
      yield;
      log.push("sub ctx out");
    });
    root.onShutdown.push(() => void log.push("root shutdown"));
    sub.onShutdown.push(() => void log.push("sub shutdown"));
    root.onCleanup.push(() => void log.push("root cleanup"));
    sub.onCleanup.push(() => void log.push("sub cleanup"));
    sub.router.get("/ping", () => text("pong"));
    root.mount("/sub", sub);

    const handle = await serve(root, {
      port: 0,
      hostname: "127.0.0.1",
      logger: quiet.logger,
    });
    handles.push(handle);
    assert.deepEqual(log, ["root startup", "sub startup", "sub ctx in"]);
    const res = await fetch(new URL("/sub/ping", handle.url));
    assert.equal(await res.text(), "pong");
    await handle.shutdown();
    assert.deepEqual(log.slice(3), [
      "root shutdown",
      "sub shutdown",
      "sub ctx out",
      "sub cleanup",
      "root cleanup",
    ]);
  });
});

describe("Application.onResponsePrepare", () => {
  test("sees every response, errors included, parents first, with mutable headers", async () => {
    const root = new Application(quiet);
    const sub = new Application(quiet);
    const seen: string[] = [];
    root.onResponsePrepare.push((req, res) => {
      seen.push(`root ${req.pathname} ${res.status}`);
      res.headers.set("x-frame-options", "DENY");
    });
    sub.onResponsePrepare.push((req, res) => {
      seen.push(`sub ${req.pathname} ${res.status}`);
    });
    sub.router.get("/go", () => Response.redirect("http://localhost/elsewhere", 302));
    root.router.get("/boom", () => {
      throw new Error("hidden");
    });
    root.mount("/sub", sub);

    const redirect = await root.fetch(at("/sub/go"));
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get("location"), "http://localhost/elsewhere");
    assert.equal(redirect.headers.get("x-frame-options"), "DENY");
    const boom = await root.fetch(at("/boom"));
    assert.equal(boom.status, 500);
    assert.equal(boom.headers.get("x-frame-options"), "DENY");
    assert.equal((await root.fetch(at("/none"))).headers.get("x-frame-options"), "DENY");
    assert.deepEqual(seen, [
      "root /sub/go 302",
      "sub /sub/go 302",
      "root /boom 500",
      "root /none 404",
    ]);
  });

  test("applies through a real server", async () => {
    const app = new Application(quiet);
    app.onResponsePrepare.push((_req, res) => res.headers.set("x-prepared", "yes"));
    app.router.get("/", () => text("hi"));
    const handle = await serve(app, {
      port: 0,
      hostname: "127.0.0.1",
      logger: quiet.logger,
    });
    handles.push(handle);
    const res = await fetch(handle.url);
    assert.equal(await res.text(), "hi");
    assert.equal(res.headers.get("x-prepared"), "yes");
  });
});

describe("per-route middlewares and HEAD through fetch", () => {
  test("route middlewares run inside the application's, for that route only", async () => {
    const log: string[] = [];
    const app = new Application(quiet).use(trail("app", log));
    app.router.get("/guarded", () => text("secret"), { middlewares: [trail("route", log)] });
    app.router.get("/open", () => text("open"));
    const guarded = await app.fetch(at("/guarded"));
    assert.equal(guarded.headers.get("x-trail"), "route, app");
    assert.deepEqual(log, ["app in", "route in", "route out", "app out"]);
    assert.equal((await app.fetch(at("/open"))).headers.get("x-trail"), "app");
  });

  test("app.fetch answers HEAD with GET's headers and no body", async () => {
    const app = new Application(quiet);
    app.router.get("/page", () => text("body text", { headers: { "x-kind": "page" } }));
    const res = await app.fetch(at("/page", { method: "HEAD" }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-kind"), "page");
    assert.equal(res.body, null);
  });
});

describe("app.fetch and body errors", () => {
  test("a body error a server would answer itself becomes an answer from app.fetch", async () => {
    const app = new Application(quiet);
    app.router.post("/limited", () => {
      throw new BodyError("SLUICE_ERR_BODY_TOO_LARGE", "Request body is larger than 10 bytes");
    });
    const res = await app.fetch(at("/limited", { method: "POST", body: "x".repeat(20) }));
    assert.equal(res.status, 413);
    assert.match(await res.text(), /413/);
  });
});
