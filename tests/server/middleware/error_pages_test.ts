import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Application } from "../../../server/application.ts";
import { HttpForbidden, HttpNotFound } from "../../../server/_http_client_errors.ts";
import { HttpFound } from "../../../server/_http_redirects.ts";
import { HttpError } from "../../../server/http_errors.ts";
import { html, json, text } from "../../../server/responses.ts";
import { serve, type ServerHandle } from "../../../server/run_app.ts";
import { errorPages, renderErrorPage } from "../../../server/middleware/error_pages.ts";

const handles: ServerHandle[] = [];
after(async () => {
  for (const handle of handles) await handle.shutdown();
});

const quiet = { error() {}, info() {} };
const at = (path: string, init?: RequestInit) => new Request(`http://localhost${path}`, init);
const BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

function appWith(
  options: Parameters<typeof errorPages>[0] = {},
): { app: Application; logged: unknown[] } {
  const logged: unknown[] = [];
  const app = new Application({ logger: quiet });
  app.use(errorPages({ logger: { error: (_m, e) => void logged.push(e) }, ...options }));
  app.router.get("/boom", () => {
    throw new Error("password=hunter2");
  });
  app.router.get("/forbidden", () => {
    throw new HttpForbidden("Members <only>", { headers: { "www-authenticate": "Bearer" } });
  });
  app.router.get("/moved", () => {
    throw new HttpFound("/new");
  });
  app.router.get("/thrown-response", () => {
    throw new Response("as is", { status: 418 });
  });
  app.router.get("/returned", () => text("mine", { status: 404 }));
  app.router.post("/only-post", () => text("ok"));
  return { app, logged };
}

describe("errorPages()", () => {
  test("errorPages() renders HTML for browsers, JSON for JSON clients, text otherwise", async () => {
    const { app } = appWith();
    const page = await app.fetch(at("/forbidden", { headers: { accept: BROWSER } }));
    assert.equal(page.status, 403);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(page.headers.get("www-authenticate"), "Bearer");
    const body = await page.text();
    assert.match(body, /<title>403 Forbidden<\/title>/);
    assert.match(body, /Members &lt;only&gt;/);
    const api = await app.fetch(at("/forbidden", { headers: { accept: "application/json" } }));
    assert.deepEqual(await api.json(), {
      status: 403,
      reason: "Forbidden",
      message: "Members <only>",
    });
    const plain = await app.fetch(at("/forbidden", { headers: { accept: "*/*" } }));
    assert.equal(await plain.text(), "403 Forbidden: Members <only>");
    const head = await app.fetch(
      at("/nowhere", { headers: { accept: "text/html;q=0.5, text/plain" } }),
    );
    assert.equal(await head.text(), "404 Not Found");
  });

  test("errorPages() hides unexpected errors behind a 500 and logs them", async () => {
    const { app, logged } = appWith();
    const res = await app.fetch(at("/boom", { headers: { accept: BROWSER } }));
    assert.equal(res.status, 500);
    assert.doesNotMatch(await res.text(), /hunter2/);
    assert.equal(logged.length, 1);
    assert.match(String(logged[0]), /hunter2/);
  });

  test("errorPages() uses renderers per status, the fallback for 4xx/5xx, and keeps the error's headers", async () => {
    const seen: HttpError[] = [];
    const { app } = appWith({
      renderers: { 404: (_err, req) => html(`<p>No ${req.pathname}</p>`, { status: 404 }) },
      fallback: (err) => {
        seen.push(err);
        return json({ failed: err.status }, { status: err.status });
      },
    });
    const missing = await app.fetch(at("/nowhere"));
    assert.equal(await missing.text(), "<p>No /nowhere</p>");
    const wrong = await app.fetch(at("/only-post"));
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get("allow"), "OPTIONS, POST");
    assert.deepEqual(await wrong.json(), { failed: 405 });
    const boom = await app.fetch(at("/boom"));
    assert.deepEqual(await boom.json(), { failed: 500 });
    assert.equal((seen.at(-1)?.cause as Error).message, "password=hunter2");
    const moved = await app.fetch(at("/moved"));
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.get("location"), "/new");
  });

  test("errorPages() never touches returned or thrown responses, falls back when a renderer fails", async () => {
    const { app, logged } = appWith({
      renderers: {
        404: () => {
          throw new Error("renderer bug");
        },
      },
    });
    const returned = await app.fetch(at("/returned"));
    assert.equal(await returned.text(), "mine");
    const thrown = await app.fetch(at("/thrown-response"));
    assert.equal(thrown.status, 418);
    assert.equal(await thrown.text(), "as is");
    const missing = await app.fetch(at("/nowhere"));
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), "404 Not Found");
    assert.match(String(logged[0]), /renderer bug/);
    assert.throws(() => errorPages({ renderers: { 200: () => text("") } }), RangeError);
  });

  test("renderErrorPage() escapes the message and hides unexposed ones", async () => {
    const res = renderErrorPage(new HttpNotFound(`<script>alert("x")</script>`), "text/html");
    const body = await res.text();
    assert.doesNotMatch(body, /<script>/);
    assert.match(body, /&lt;script&gt;alert\(&quot;x&quot;\)/);
    const hidden = renderErrorPage(new HttpError(503, "db at 10.0.0.5 down"), "text/html");
    assert.doesNotMatch(await hidden.text(), /10\.0\.0\.5/);
  });

  test("errorPages() over a real socket: a browser gets an HTML 404, HEAD gets no body", async () => {
    const { app } = appWith();
    const handle = await serve(app, { hostname: "127.0.0.1", port: 0, shutdownTimeout: 1000 });
    handles.push(handle);
    const res = await fetch(`${handle.url}/nowhere`, { headers: { accept: BROWSER } });
    assert.equal(res.status, 404);
    assert.match(await res.text(), /<h1>404 Not Found<\/h1>/);
    const head = await fetch(`${handle.url}/nowhere`, {
      method: "HEAD",
      headers: { accept: BROWSER },
    });
    assert.equal(head.status, 404);
    assert.equal(await head.text(), "");
  });
});
