import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Application } from "../../../server/application.ts";
import { HttpConflict } from "../../../server/_http_client_errors.ts";
import { text } from "../../../server/responses.ts";
import { serve, type ServerHandle } from "../../../server/run_app.ts";
import { serverTiming, timing } from "../../../server/middleware/server_timing.ts";

const handles: ServerHandle[] = [];
after(async () => {
  for (const handle of handles) await handle.shutdown();
});

const quiet = { error() {}, info() {} };
const at = (path: string, init?: RequestInit) => new Request(`http://localhost${path}`, init);
const DUR = String.raw`\d+(?:\.\d)?`;

function appWith(options?: Parameters<typeof serverTiming>[0]): Application {
  const app = new Application({ logger: quiet });
  app.use(serverTiming(options));
  app.router.get("/", async (req) => {
    const t = timing(req);
    t.start("db", "users table");
    await new Promise((resolve) => setTimeout(resolve, 5));
    t.end("db");
    t.add("cache", undefined, "miss");
    t.add("cpu", 1.26);
    t.start("never-ended");
    assert.equal(await t.measure("render", () => 42), 42);
    return text("ok", { headers: { "server-timing": "edge;dur=1" } });
  });
  app.router.get("/weird", (req) => {
    timing(req).add("a b/c", 2, 'say "hi" \\ \u00e9\n');
    return text("ok");
  });
  app.router.get("/conflict", (req) => {
    timing(req).add("check", 3);
    throw new HttpConflict("taken");
  });
  return app;
}

describe("serverTiming()", () => {
  test("serverTiming() sends the recorded metrics then total, after the handler's own field", async () => {
    const res = await appWith().fetch(at("/"));
    const value = res.headers.get("server-timing") ?? "";
    assert.match(
      value,
      new RegExp(
        `^edge;dur=1, db;dur=${DUR};desc="users table", cache;desc=miss, cpu;dur=1\\.3, render;dur=${DUR}, total;dur=${DUR}$`,
      ),
    );
    const db = Number(/db;dur=([\d.]+)/.exec(value)?.[1]);
    assert.ok(db >= 4, `db took ${db} ms`);
    assert.doesNotMatch(value, /never-ended/);
    assert.equal(res.headers.get("timing-allow-origin"), null);
  });

  test("serverTiming() makes names tokens and quotes descriptions per the grammar", async () => {
    const res = await appWith({ total: false }).fetch(at("/weird"));
    assert.equal(res.headers.get("server-timing"), 'a_b_c;dur=2;desc="say \\"hi\\" \\\\ ??"');
  });

  test("serverTiming() also decorates thrown HttpErrors; Timing-Allow-Origin on request", async () => {
    const res = await appWith({ timingAllowOrigin: ["https://a.example", "https://b.example"] })
      .fetch(at("/conflict"));
    assert.equal(res.status, 409);
    assert.match(
      res.headers.get("server-timing") ?? "",
      new RegExp(`^check;dur=3, total;dur=${DUR}$`),
    );
    assert.equal(res.headers.get("timing-allow-origin"), "https://a.example, https://b.example");
  });

  test("serverTiming({ enabled: false }) sends nothing and timing() still works without the middleware", async () => {
    const res = await appWith({ enabled: false }).fetch(at("/"));
    assert.equal(res.headers.get("server-timing"), "edge;dur=1");
    const bare = new Application({ logger: quiet });
    bare.router.get("/", async (req) => {
      const t = timing(req);
      t.start("x");
      assert.equal(t.end("x"), undefined);
      return text(String(await t.measure("y", () => 7)));
    });
    assert.equal(await (await bare.fetch(at("/"))).text(), "7");
    assert.throws(() => serverTiming({ timingAllowOrigin: "bad origin" }), TypeError);
  });

  test("serverTiming() over a real socket", async () => {
    const handle = await serve(appWith(), {
      hostname: "127.0.0.1",
      port: 0,
      shutdownTimeout: 1000,
    });
    handles.push(handle);
    const res = await fetch(`${handle.url}/`);
    assert.equal(await res.text(), "ok");
    assert.match(res.headers.get("server-timing") ?? "", new RegExp(`, total;dur=${DUR}$`));
  });
});
