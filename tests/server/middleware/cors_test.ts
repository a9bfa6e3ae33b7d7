import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Application } from "../../../server/application.ts";
import { HttpForbidden } from "../../../server/_http_client_errors.ts";
import { json, text } from "../../../server/responses.ts";
import { serve, type ServerHandle } from "../../../server/run_app.ts";
import { cors } from "../../../server/middleware/cors.ts";
import { errorPages } from "../../../server/middleware/error_pages.ts";
import type { ServerRequest } from "../../../server/server_request.ts";

const handles: ServerHandle[] = [];
after(async () => {
  for (const handle of handles) await handle.shutdown();
});

const quiet = { error() {}, info() {} };
const at = (path: string, init?: RequestInit) => new Request(`http://localhost${path}`, init);
const preflight = (origin: string, extra: Record<string, string> = {}) =>
  at("/api", {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "PUT", ...extra },
  });

function appWith(options: Parameters<typeof cors>[0]): { app: Application; hits: string[] } {
  const app = new Application({ logger: quiet });
  const hits: string[] = [];
  // Type check: a factory call fits app.use() without annotations.
  app.use(cors(options));
  app.router.get("/api", (req) => {
    hits.push(req.method);
    return json({ ok: true }, { headers: { vary: "Accept-Language" } });
  });
  app.router.put("/api", () => text("put"));
  app.router.options("/api", () => {
    hits.push("OPTIONS handler");
    return new Response(null, { status: 200, headers: { "x-handler": "1" } });
  });
  app.router.get("/forbidden", () => {
    throw new HttpForbidden("no");
  });
  app.router.get("/redirect", () => Response.redirect("http://localhost/api", 302));
  return { app, hits };
}

describe("cors()", () => {
  test("cors() with the default * answers preflights with 204 without calling the handler", async () => {
    const { app, hits } = appWith({});
    const res = await app.fetch(
      preflight("https://a.example", { "access-control-request-headers": "x-token, content-type" }),
    );
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.equal(
      res.headers.get("access-control-allow-methods"),
      "GET, HEAD, PUT, PATCH, POST, DELETE",
    );
    assert.equal(res.headers.get("access-control-allow-headers"), "x-token, content-type");
    assert.equal(res.headers.get("vary"), "Access-Control-Request-Headers");
    assert.equal(res.headers.get("access-control-allow-credentials"), null);
    assert.deepEqual(hits, []);
    // Not a preflight (no Access-Control-Request-Method): the handler answers.
    const plain = await app.fetch(
      at("/api", { method: "OPTIONS", headers: { origin: "https://a.example" } }),
    );
    assert.equal(plain.headers.get("x-handler"), "1");
    assert.deepEqual(hits, ["OPTIONS handler"]);
  });

  test("cors() adds * to simple responses, also without Origin, and keeps the handler's Vary", async () => {
    const { app } = appWith({ exposeHeaders: ["x-total"] });
    const res = await app.fetch(at("/api", { headers: { origin: "https://a.example" } }));
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.equal(res.headers.get("access-control-expose-headers"), "x-total");
    assert.equal(res.headers.get("vary"), "Accept-Language");
    const bare = await app.fetch(at("/api"));
    assert.equal(bare.headers.get("access-control-allow-origin"), "*");
  });

  test("cors() with a list reflects allowed origins, appends Vary: Origin, and leaves others without fields", async () => {
    const { app, hits } = appWith({ origin: ["https://a.example", "https://B.example:8443"] });
    const ok = await app.fetch(at("/api", { headers: { origin: "https://a.example" } }));
    assert.equal(ok.headers.get("access-control-allow-origin"), "https://a.example");
    assert.equal(ok.headers.get("vary"), "Accept-Language, Origin");
    const caseless = await app.fetch(at("/api", { headers: { origin: "https://b.example:8443" } }));
    assert.equal(caseless.headers.get("access-control-allow-origin"), "https://b.example:8443");
    const denied = await app.fetch(at("/api", { headers: { origin: "https://evil.example" } }));
    assert.equal(denied.status, 200);
    assert.equal(denied.headers.get("access-control-allow-origin"), null);
    assert.equal(denied.headers.get("vary"), "Accept-Language, Origin");
    const deniedPreflight = await app.fetch(preflight("https://evil.example"));
    assert.equal(deniedPreflight.status, 204);
    assert.equal(deniedPreflight.headers.get("access-control-allow-origin"), null);
    assert.equal(deniedPreflight.headers.get("access-control-allow-methods"), null);
    assert.deepEqual(hits, ["GET", "GET", "GET"]);
    const noOrigin = await app.fetch(at("/api"));
    assert.equal(noOrigin.headers.get("access-control-allow-origin"), null);
    assert.equal(noOrigin.headers.get("vary"), "Accept-Language, Origin");
  });

  test("cors() with credentials reflects only listed origins, never the null origin", async () => {
    const { app } = appWith({
      origin: ["https://a.example"],
      credentials: true,
      maxAge: 600,
      allowHeaders: ["x-token"],
    });
    const res = await app.fetch(
      preflight("https://a.example", { "access-control-request-headers": "x-other" }),
    );
    assert.equal(res.headers.get("access-control-allow-origin"), "https://a.example");
    assert.equal(res.headers.get("access-control-allow-credentials"), "true");
    assert.equal(res.headers.get("access-control-allow-headers"), "x-token");
    assert.equal(res.headers.get("access-control-max-age"), "600");
    assert.equal(res.headers.get("vary"), "Origin");
    const opaque = await app.fetch(at("/api", { headers: { origin: "null" } }));
    assert.equal(opaque.headers.get("access-control-allow-origin"), null);
    const evil = await app.fetch(at("/api", { headers: { origin: "https://evil.example" } }));
    assert.equal(evil.headers.get("access-control-allow-origin"), null);
    assert.equal(evil.headers.get("access-control-allow-credentials"), null);
  });

  test("cors() refuses credentials with the * origin (any site would read the user's data)", () => {
    assert.throws(
      () => cors({ credentials: true }),
      /Cannot use CORS credentials with origin "\*"/,
    );
    assert.throws(() => cors({ origin: "*", credentials: true }), TypeError);
    // Deliberate reflection stays possible, spelled out.
    assert.doesNotThrow(() => cors({ origin: () => true, credentials: true }));
  });

  test("cors() matches a RegExp against the whole origin, anchored or not", async () => {
    const { app } = appWith({ origin: /https:\/\/app\.example\.com|https:\/\/b\.example/i });
    for (const bad of ["https://app.example.com.evil.net", "https://evil.net/https://b.example"]) {
      const res = await app.fetch(at("/api", { headers: { origin: bad } }));
      assert.equal(res.headers.get("access-control-allow-origin"), null, bad);
    }
    for (const good of ["https://app.example.com", "https://B.example"]) {
      const res = await app.fetch(at("/api", { headers: { origin: good } }));
      assert.equal(res.headers.get("access-control-allow-origin"), good);
    }
  });

  test("cors() takes a RegExp and an async function (whose string answer is sent)", async () => {
    const re = appWith({ origin: /^https:\/\/[a-z]+\.example\.com$/g }).app;
    for (let i = 0; i < 2; i++) {
      const res = await re.fetch(at("/api", { headers: { origin: "https://x.example.com" } }));
      assert.equal(res.headers.get("access-control-allow-origin"), "https://x.example.com");
    }
    const fn = appWith({
      origin: async (origin: string, req: ServerRequest) => {
        await Promise.resolve();
        return origin.endsWith(".trusted") && req.pathname === "/api"
          ? "https://canonical.trusted"
          : false;
      },
    }).app;
    const yes = await fn.fetch(at("/api", { headers: { origin: "https://x.trusted" } }));
    assert.equal(yes.headers.get("access-control-allow-origin"), "https://canonical.trusted");
    const no = await fn.fetch(at("/api", { headers: { origin: "https://x.other" } }));
    assert.equal(no.headers.get("access-control-allow-origin"), null);
  });

  test("cors() decorates thrown HttpErrors, immutable responses, and 500s rendered by errorPages() inside", async () => {
    const { app } = appWith({ origin: "https://a.example" });
    const origin = { origin: "https://a.example" };
    const forbidden = await app.fetch(at("/forbidden", { headers: origin }));
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.headers.get("access-control-allow-origin"), "https://a.example");
    const missing = await app.fetch(at("/missing", { headers: origin }));
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("access-control-allow-origin"), "https://a.example");
    const redirect = await app.fetch(at("/redirect", { headers: origin }));
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get("location"), "http://localhost/api");
    assert.equal(redirect.headers.get("access-control-allow-origin"), "https://a.example");

    const withPages = new Application({ logger: quiet });
    withPages.use(cors({ origin: "https://a.example" }));
    withPages.use(errorPages({ logger: quiet }));
    withPages.router.get("/boom", () => {
      throw new Error("internal");
    });
    const boom = await withPages.fetch(at("/boom", { headers: origin }));
    assert.equal(boom.status, 500);
    assert.equal(boom.headers.get("access-control-allow-origin"), "https://a.example");
  });

  test("cors() with preflightContinue decorates the handler's answer; per-route use in a route's middlewares", async () => {
    const { app, hits } = appWith({ preflightContinue: true });
    const res = await app.fetch(preflight("https://a.example"));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-handler"), "1");
    assert.equal(
      res.headers.get("access-control-allow-methods"),
      "GET, HEAD, PUT, PATCH, POST, DELETE",
    );
    assert.deepEqual(hits, ["OPTIONS handler"]);

    const routeApp = new Application({ logger: quiet });
    routeApp.router.get("/open", () => text("open"), {
      middlewares: [cors({ origin: "https://a.example" })],
    });
    routeApp.router.get("/closed", () => text("closed"));
    const open = await routeApp.fetch(at("/open", { headers: { origin: "https://a.example" } }));
    assert.equal(open.headers.get("access-control-allow-origin"), "https://a.example");
    const closed = await routeApp.fetch(
      at("/closed", { headers: { origin: "https://a.example" } }),
    );
    assert.equal(closed.headers.get("access-control-allow-origin"), null);
  });

  test("cors() answers Private Network Access preflights only when allowed", async () => {
    const pna = { "access-control-request-private-network": "true" };
    const on = await appWith({ allowPrivateNetwork: true }).app.fetch(
      preflight("https://a.example", pna),
    );
    assert.equal(on.headers.get("access-control-allow-private-network"), "true");
    const off = await appWith({}).app.fetch(preflight("https://a.example", pna));
    assert.equal(off.headers.get("access-control-allow-private-network"), null);
  });

  test("cors() rejects malformed options", () => {
    assert.throws(() => cors({ origin: "https://a.example/" }), /without path or trailing slash/);
    assert.throws(() => cors({ origin: ["https://a.example", "a.example"] }), TypeError);
    assert.throws(() => cors({ methods: ["GET POST"] }), /not a token/);
    assert.throws(() => cors({ maxAge: -1 }), RangeError);
    assert.throws(() => cors({ optionsSuccessStatus: 301 }), RangeError);
  });

  test("cors() preflight and a credentialed request over a real socket", async () => {
    const { app } = appWith({ origin: "https://a.example", credentials: true });
    const handle = await serve(app, { hostname: "127.0.0.1", port: 0, shutdownTimeout: 1000 });
    handles.push(handle);
    const pre = await fetch(`${handle.url}/api`, {
      method: "OPTIONS",
      headers: { origin: "https://a.example", "access-control-request-method": "PUT" },
    });
    assert.equal(pre.status, 204);
    assert.equal(await pre.text(), "");
    assert.equal(pre.headers.get("access-control-allow-origin"), "https://a.example");
    assert.equal(pre.headers.get("access-control-allow-credentials"), "true");
    const res = await fetch(`${handle.url}/api`, { headers: { origin: "https://a.example" } });
    assert.deepEqual(await res.json(), { ok: true });
    assert.equal(res.headers.get("access-control-allow-origin"), "https://a.example");
    assert.equal(res.headers.get("vary"), "Accept-Language, Origin");
  });
});
