import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Application } from "../../../server/application.ts";
import { HttpNotFound } from "../../../server/_http_client_errors.ts";
import { text } from "../../../server/responses.ts";
import { serve, type ServerHandle } from "../../../server/run_app.ts";
import { REQUEST_ID, requestId } from "../../../server/middleware/request_id.ts";

const handles: ServerHandle[] = [];
after(async () => {
  for (const handle of handles) await handle.shutdown();
});

const quiet = { error() {}, info() {} };
const at = (path: string, init?: RequestInit) => new Request(`http://localhost${path}`, init);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function appWith(options: Parameters<typeof requestId>[0] = {}): Application {
  const app = new Application({ logger: quiet });
  app.use(requestId(options));
  app.router.get("/", (req) => text(req.state.get(REQUEST_ID)));
  app.router.get("/missing", () => {
    throw new HttpNotFound("gone");
  });
  app.router.get("/redirect", () => Response.redirect("http://localhost/", 307));
  return app;
}

describe("requestId()", () => {
  test("requestId() generates a UUID, stores it in req.state and echoes it", async () => {
    const res = await appWith().fetch(at("/"));
    const id = res.headers.get("x-request-id") ?? "";
    assert.match(id, UUID);
    assert.equal(await res.text(), id);
    const again = await appWith().fetch(at("/"));
    assert.notEqual(again.headers.get("x-request-id"), id);
  });

  test("requestId() keeps a valid incoming ID and replaces invalid or untrusted ones", async () => {
    const app = appWith();
    const kept = await app.fetch(at("/", { headers: { "x-request-id": "edge-42 / pod 7" } }));
    assert.equal(await kept.text(), "edge-42 / pod 7");
    for (const bad of ["x".repeat(201), "tab\there", "\u00e9t\u00e9"]) {
      const res = await app.fetch(at("/", { headers: { "x-request-id": bad } }));
      assert.match(await res.text(), UUID, bad);
    }
    const longest = "y".repeat(200);
    assert.equal(
      await (await app.fetch(at("/", { headers: { "x-request-id": longest } }))).text(),
      longest,
    );
    const untrusted = await appWith({ trustIncoming: false }).fetch(
      at("/", { headers: { "x-request-id": "client-chosen" } }),
    );
    assert.match(await untrusted.text(), UUID);
  });

  test("requestId() options: header name, generator, echo off; bad generator output is refused", async () => {
    let n = 0;
    const app = appWith({ header: "X-Correlation-Id", generator: () => `c-${++n}` });
    const res = await app.fetch(at("/", { headers: { "x-request-id": "ignored" } }));
    assert.equal(res.headers.get("x-correlation-id"), "c-1");
    assert.equal(res.headers.get("x-request-id"), null);
    const silent = await appWith({ echo: false }).fetch(at("/"));
    assert.equal(silent.headers.get("x-request-id"), null);
    assert.match(await silent.text(), UUID);
    const broken = await appWith({ generator: () => "bad\nid" }).fetch(at("/"));
    assert.equal(broken.status, 500);
    assert.throws(() => requestId({ header: "bad header" }), TypeError);
  });

  test("requestId() is echoed on thrown HttpErrors, 404s and immutable responses", async () => {
    const app = appWith();
    const headers = { "x-request-id": "trace-1" };
    for (const path of ["/missing", "/nowhere", "/redirect"]) {
      const res = await app.fetch(at(path, { headers }));
      assert.equal(res.headers.get("x-request-id"), "trace-1", path);
    }
  });

  test("requestId() over a real socket", async () => {
    const handle = await serve(appWith(), {
      hostname: "127.0.0.1",
      port: 0,
      shutdownTimeout: 1000,
    });
    handles.push(handle);
    const res = await fetch(`${handle.url}/`, { headers: { "x-request-id": "wire-1" } });
    assert.equal(res.headers.get("x-request-id"), "wire-1");
    assert.equal(await res.text(), "wire-1");
  });
});
