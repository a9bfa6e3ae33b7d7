// testClient (in-process) and testServer (real socket): one application with
// JSON echo, cookies, redirects, streams and lifecycle counters, driven by the
// same tests through both clients, plus what only one of them has.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { Application } from "../../server/application.ts";
import { deleteCookie, setCookie } from "../../server/cookies.ts";
import { json, text } from "../../server/responses.ts";
import { streamResponse } from "../../server/streaming.ts";
import {
  type TestClient,
  testClient,
  TestCookieJar,
  testServer,
} from "../../server/test_client.ts";
import { within } from "../adapters/_net.ts";

interface Counters {
  startup: number;
  enter: number;
  exit: number;
  shutdown: number;
  cleanup: number;
}

const closers: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.all(closers.map((close) => within(close().catch(() => {}), 20_000, "close")));
});

function makeApp(): { app: Application; counts: Counters } {
  const counts: Counters = { startup: 0, enter: 0, exit: 0, shutdown: 0, cleanup: 0 };
  const app = new Application();
  app.onStartup.push(() => void counts.startup++);
  app.cleanupCtx.push(async function* () {
    counts.enter++;
    yield;
    counts.exit++;
  });
  app.onShutdown.push(() => void counts.shutdown++);
  app.onCleanup.push(() => void counts.cleanup++);
  const r = app.router;
  r.get("/query", (req) => json({ all: [...new URL(req.url).searchParams] }));
  r.get("/headers", (req) => json(Object.fromEntries(req.headers)));
  r.post("/echo", async (req) =>
    json({
      method: req.method,
      type: req.headers.get("content-type"),
      body: await req.text(),
    }));
  r.put("/echo", async (req) => json({ method: req.method, body: await req.text() }));
  r.patch("/echo", async (req) => json({ method: req.method, body: await req.text() }));
  r.delete("/echo", (req) => json({ method: req.method }));
  r.post("/form", async (req) => {
    const form = await req.formData();
    return json([...form].map(([name, value]) => [name, String(value)]));
  });
  r.post("/length", async (req) => text(String((await req.bytes()).length)));
  r.get("/login", () => {
    let res = setCookie(text("in"), "sid", "abc", { path: "/", httpOnly: true });
    res = setCookie(res, "theme", "dark", { path: "/account" });
    return setCookie(res, "short", "lived", { path: "/", maxAge: 3600 });
  });
  r.get("/whoami", (req) => json(Object.fromEntries(req.cookies)));
  r.get("/account/whoami", (req) => json(Object.fromEntries(req.cookies)));
  r.get("/logout", () => deleteCookie(text("out"), "sid", { path: "/" }));
  r.get("/redirect", () => setCookie(redirect(302, "/whoami"), "hop", "1", { path: "/" }));
  r.get("/loop", () => redirect(302, "/loop"));
  r.get("/away", () => redirect(302, "http://example.com/"));
  r.post("/see-other", () => redirect(303, "/echo-get"));
  r.get("/echo-get", (req) => json({ method: req.method, type: req.headers.get("content-type") }));
  r.post("/keep", () => redirect(307, "/echo"));
  r.get("/stream", () =>
    streamResponse(async (writer) => {
      for (let i = 1; i <= 3; i++) await writer.write(`chunk ${i}\n`);
    }));
  r.get("/forever", () =>
    streamResponse(async (writer) => {
      while (!writer.signal.aborted) await writer.write("x".repeat(1024));
    }));
  r.get("/slow", (req) =>
    new Promise<Response>((resolve) => {
      req.signal.addEventListener("abort", () => resolve(text("late")), { once: true });
    }));
  return { app, counts };
}

function redirect(status: number, location: string): Response {
  return new Response(null, { status, headers: { location } });
}

type Factory = (app: Application) => Promise<TestClient>;

const variants: Array<[string, Factory]> = [
  ["testClient (in-process)", (app) => testClient(app)],
  ["testServer (socket)", (app) => testServer(app)],
];

for (const [name, make] of variants) {
  describe(name, () => {
    const { app, counts } = makeApp();
    let started: Promise<TestClient> | null = null;
    const client = (): Promise<TestClient> => {
      if (started === null) {
        started = make(app);
        closers.push(async () => (await started!).close());
      }
      return started;
    };

    test("runs the startup signals before the first request", async () => {
      await client();
      assert.deepEqual(counts, { startup: 1, enter: 1, exit: 0, shutdown: 0, cleanup: 0 });
    });

    test("query: records with arrays, URLSearchParams, existing query kept", async () => {
      const c = await client();
      const res = await c.get("/query?a=0", {
        query: { a: [1, 2], b: true, skip: undefined, n: null, s: "x y" },
      });
      assert.equal(res.status, 200);
      assert.deepEqual((await res.json()).all, [["a", "0"], ["a", "1"], ["a", "2"], ["b", "true"], [
        "s",
        "x y",
      ]]);
      const viaParams = await c.get("/query", { params: new URLSearchParams("k=v&k=w") });
      assert.deepEqual((await viaParams.json()).all, [["k", "v"], ["k", "w"]]);
      await assert.rejects(c.get("/query", { query: {}, params: {} }), TypeError);
    });

    test("json is serialised with its content type; every verb reaches its route", async () => {
      const c = await client();
      const res = await c.post("/echo", { json: { hello: "wörld", n: [1] } });
      assert.deepEqual(await res.json(), {
        method: "POST",
        type: "application/json",
        body: '{"hello":"wörld","n":[1]}',
      });
      assert.equal((await (await c.put("/echo", { body: "p" })).json()).body, "p");
      assert.equal((await (await c.patch("/echo", { data: "q" })).json()).method, "PATCH");
      assert.equal((await (await c.delete("/echo")).json()).method, "DELETE");
      const typed = await c.post("/echo", {
        json: [1],
        headers: { "content-type": "application/vnd.x+json" },
      });
      assert.equal((await typed.json()).type, "application/vnd.x+json");
    });

    test("bodies: bytes, Blob, stream, FormData, URLSearchParams and plain records", async () => {
      const c = await client();
      const length = async (body: Parameters<TestClient["post"]>[1]) =>
        await (await c.post("/length", body)).text();
      assert.equal(await length({ body: new Uint8Array(1000) }), "1000");
      assert.equal(await length({ body: new Blob(["abc", "de"]) }), "5");
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new Uint8Array(3));
          controller.enqueue(new Uint8Array(4));
          controller.close();
        },
      });
      assert.equal(await length({ body: stream }), "7");
      const form = new FormData();
      form.append("a", "1");
      form.append("b", "2");
      assert.deepEqual(await (await c.post("/form", { body: form })).json(), [["a", "1"], [
        "b",
        "2",
      ]]);
      const record = await c.post("/form", { data: { tag: ["x", "y"], n: 3 } });
      assert.deepEqual(await record.json(), [["tag", "x"], ["tag", "y"], ["n", "3"]]);
      const urlencoded = await c.post("/echo", { body: new URLSearchParams("q=1") });
      assert.equal(
        (await urlencoded.json()).type,
        "application/x-www-form-urlencoded;charset=UTF-8",
      );
    });

    test("default and per-request headers", async () => {
      const c = await client();
      const res = await c.get("/headers", { headers: { "x-one": "1" } });
      assert.equal((await res.json())["x-one"], "1");
    });

    test("cookie jar: stored by path, sent back, overridden per request, deleted by Max-Age=0", async () => {
      const c = await client();
      c.clearCookies();
      const login = await c.get("/login");
      assert.equal(await login.text(), "in");
      assert.equal(c.cookies.get("sid"), "abc");
      assert.equal(c.cookies.get("theme"), "dark");
      assert.equal(c.cookies.size, 3);
      assert.deepEqual(await (await c.get("/whoami")).json(), { sid: "abc", short: "lived" });
      assert.deepEqual(await (await c.get("/account/whoami")).json(), {
        theme: "dark",
        sid: "abc",
        short: "lived",
      });
      const over = await c.get("/whoami", { cookies: { sid: "mine", extra: "1" } });
      assert.deepEqual(await over.json(), { short: "lived", sid: "mine", extra: "1" });
      assert.equal(c.cookies.get("sid"), "abc");
      const explicit = await c.get("/whoami", { headers: { cookie: "only=this" } });
      assert.deepEqual(await explicit.json(), { only: "this" });
      await (await c.get("/logout")).text();
      assert.equal(c.cookies.has("sid"), false);
      assert.deepEqual(await (await c.get("/whoami")).json(), { short: "lived" });
      c.clearCookies();
      assert.equal(c.cookies.size, 0);
      assert.deepEqual(await (await c.get("/whoami")).json(), {});
    });

    test("redirects are returned by default, followed on request (cookies kept per hop)", async () => {
      const c = await client();
      c.clearCookies();
      const manual = await c.get("/redirect");
      assert.equal(manual.status, 302);
      assert.equal(manual.headers.get("location"), "/whoami");
      await manual.body?.cancel();
      c.clearCookies();
      const followed = await c.get("/redirect", { redirect: "follow" });
      assert.equal(followed.status, 200);
      assert.deepEqual(await followed.json(), { hop: "1" });
      const seeOther = await c.post("/see-other", { json: { a: 1 }, redirect: "follow" });
      assert.deepEqual(await seeOther.json(), { method: "GET", type: null });
      const kept = await c.post("/keep", { body: "again", redirect: "follow" });
      assert.equal((await kept.json()).body, "again");
      await assert.rejects(c.get("/loop", { redirect: "follow" }), {
        name: "TypeError",
        message: /more than 10 redirects/,
      });
      await assert.rejects(c.get("/away", { redirect: "follow" }), {
        name: "TypeError",
        message: /only reaches/,
      });
    });

    test("streamed responses arrive whole", async () => {
      const c = await client();
      const res = await c.get("/stream");
      assert.equal(await res.text(), "chunk 1\nchunk 2\nchunk 3\n");
    });

    test("404, 405 with Allow, automatic OPTIONS and HEAD without a body", async () => {
      const c = await client();
      const missing = await c.get("/missing");
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
      const wrong = await c.post("/whoami");
      assert.equal(wrong.status, 405);
      assert.match(wrong.headers.get("allow") ?? "", /GET/);
      await wrong.body?.cancel();
      const options = await c.options("/echo");
      assert.equal(options.status, 204);
      assert.match(options.headers.get("allow") ?? "", /POST/);
      const head = await c.head("/stream");
      assert.equal(head.status, 200);
      assert.equal(head.body, null);
    });

    test("misuse is a TypeError: bad method, other origin, body with GET", async () => {
      const c = await client();
      await assert.rejects(c.request("GE T", "/"), { name: "TypeError", message: /token/ });
      await assert.rejects(c.request("", "/"), TypeError);
      await assert.rejects(c.request("CONNECT", "/"), TypeError);
      await assert.rejects(c.get("http://example.com/whoami"), {
        name: "TypeError",
        message: /only reaches/,
      });
      await assert.rejects(c.get("/echo", { body: "x" }), TypeError);
      await assert.rejects(c.post("/echo", { json: 1, body: "x" }), TypeError);
      const same = await c.get(new URL("/whoami", c.baseUrl).href);
      assert.equal(same.status, 200);
      await same.body?.cancel();
      const custom = await c.request("propfind", "/whoami");
      assert.equal(custom.status, 405);
      await custom.body?.cancel();
    });

    test("a signal aborts a request", async () => {
      const c = await client();
      const controller = new AbortController();
      const pending = c.get("/slow", { signal: controller.signal });
      controller.abort(new Error("enough"));
      await assert.rejects(within(pending, 10_000, "abort"), /enough|abort/i);
      await assert.rejects(c.get("/query", { signal: controller.signal }), /enough/);
    });

    test("aborting the signal after the response fails its unread body", async () => {
      const c = await client();
      const controller = new AbortController();
      const res = await c.get("/forever", { signal: controller.signal });
      const reader = res.body!.getReader();
      await within(reader.read(), 10_000, "first chunk");
      controller.abort(new Error("stop reading"));
      // Chunks already queued may still come; then the read fails (bounded: /forever never ends).
      await assert.rejects(async () => {
        for (let reads = 0; reads < 1000; reads++) {
          const { done } = await within(reader.read(), 10_000, "read after abort");
          if (done) return;
        }
        throw new Error("sentinel: the body kept streaming after the abort");
      }, (error: Error) => !/sentinel/.test(error.message));
    });

    test("close() runs shutdown and cleanup once; later requests are a TypeError", async () => {
      const c = await client();
      const first = c.close();
      assert.equal(c.close(), first);
      await within(first, 20_000, "close");
      await c[Symbol.asyncDispose]();
      assert.deepEqual(counts, { startup: 1, enter: 1, exit: 1, shutdown: 1, cleanup: 1 });
      assert.equal(c.closed, true);
      await assert.rejects(c.get("/whoami"), { name: "TypeError", message: /closed/ });
    });
  });
}

describe("testClient specifics", () => {
  test("await using runs startup, then shutdown and cleanup at the end of the block", async () => {
    const { app, counts } = makeApp();
    {
      await using client = await testClient(app);
      assert.equal(counts.startup, 1);
      assert.equal((await client.get("/whoami")).status, 200);
      assert.equal(counts.cleanup, 0);
    }
    assert.deepEqual(counts, { startup: 1, enter: 1, exit: 1, shutdown: 1, cleanup: 1 });
  });

  test("lifecycle: false leaves the signals alone; plain fetch handlers work", async () => {
    const { app, counts } = makeApp();
    const client = await testClient(app, { lifecycle: false, headers: { "x-default": "d" } });
    const res = await client.get("/headers", { headers: { "x-own": "o" } });
    const headers = await res.json();
    assert.equal(headers["x-default"], "d");
    assert.equal(headers["x-own"], "o");
    await client.close();
    assert.deepEqual(counts, { startup: 0, enter: 0, exit: 0, shutdown: 0, cleanup: 0 });
    await using handler = await testClient((req: Request) => text(new URL(req.url).href), {
      baseUrl: "https://api.test/v1/",
    });
    assert.equal(await (await handler.get("users")).text(), "https://api.test/v1/users");
  });

  test("thousands of requests leave no abort listeners behind (Node warns past 1500)", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => void warnings.push(warning.name);
    process.on("warning", onWarning);
    try {
      const { app } = makeApp();
      await using client = await testClient(app);
      for (let i = 0; i < 1600; i++) await (await client.get("/whoami")).text();
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      process.off("warning", onWarning);
    }
    assert.deepEqual(warnings.filter((name) => name === "MaxListenersExceededWarning"), []);
  });

  test("close() cancels unread in-process bodies, so the application's streams stop", async () => {
    const app = new Application();
    let stopped: () => void;
    const streamStopped = new Promise<void>((resolve) => stopped = resolve);
    let timer: ReturnType<typeof setInterval> | undefined;
    app.router.get("/events", () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            timer = setInterval(() => c.enqueue(new TextEncoder().encode("data: x\n\n")), 5);
          },
          cancel() {
            clearInterval(timer);
            stopped();
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      ));
    const client = await testClient(app);
    closers.push(() => client.close());
    const res = await client.get("/events");
    await within(client.close(), 10_000, "close");
    try {
      await within(streamStopped, 10_000, "the stream to be cancelled");
    } finally {
      clearInterval(timer);
    }
    await assert.rejects(res.text(), /closed|abort/i);
  });

  test("a response that comes after its request was aborted has its body cancelled", async () => {
    const app = new Application();
    let cancelled: () => void;
    const bodyCancelled = new Promise<void>((resolve) => cancelled = resolve);
    let release: () => void;
    const released = new Promise<void>((resolve) => release = resolve);
    app.router.get("/late", async () => {
      await released;
      return new Response(new ReadableStream({ cancel: () => cancelled() }));
    });
    await using client = await testClient(app);
    const controller = new AbortController();
    const pending = client.get("/late", { signal: controller.signal });
    controller.abort(new Error("gave up"));
    await assert.rejects(pending, /gave up/);
    release!();
    await within(bodyCancelled, 10_000, "the late body to be cancelled");
  });

  test("a failing startup hook rejects", async () => {
    const app = new Application();
    app.onStartup.push(() => {
      throw new Error("no database");
    });
    await assert.rejects(testClient(app), /no database|start/);
  });
});

describe("testServer specifics", () => {
  test("close() aborts unread bodies and leaves the server no connection", async () => {
    const { app, counts } = makeApp();
    const server = await testServer(app, { engine: "sluice", shutdownTimeout: 60_000 });
    closers.push(() => server.close());
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const running = server.server.runner.sites[0].server!;
    for (let i = 0; i < 3; i++) await (await server.get("/whoami")).text();
    const forever = await server.get("/forever");
    const reader = forever.body!.getReader();
    await reader.read();
    assert.ok(running.connections >= 1);
    // The infinite body is never read again: only the client's abort ends it
    // before the 60 s shutdown timeout.
    await within(server.close(), 20_000, "close with an unread body");
    assert.equal(running.connections, 0);
    assert.equal(counts.cleanup, 1);
    await assert.rejects(reader.read());
  });

  test("options go to serve(); client options to the client", async () => {
    const { app } = makeApp();
    await using server = await testServer(app, {
      engine: "sluice",
      client: { headers: { "x-default": "d" }, redirect: "follow" },
    });
    assert.equal(server.server.runner.backend.engine, "sluice");
    assert.equal((await (await server.get("/headers")).json())["x-default"], "d");
    assert.equal((await server.get("/redirect")).status, 200);
    assert.equal(server.baseUrl.href, `${server.url}/`);
  });
});

describe("TestCookieJar", () => {
  test("expiry by Max-Age and Expires, default path, longest path first", () => {
    let now = Date.parse("2030-01-01T00:00:00Z");
    const jar = new TestCookieJar(() => now);
    jar.store([
      "a=1; Max-Age=10",
      "b=2; Expires=Wed, 01 Jan 2031 00:00:00 GMT",
      "c=3; Expires=Wed, 01 Jan 2020 00:00:00 GMT",
      "d=4; Path=/x/y/z",
      "junk",
      "=nameless",
    ], "/docs/page");
    assert.deepEqual(jar.list().map((c) => [c.name, c.path]), [
      ["d", "/x/y/z"],
      ["a", "/docs"],
      ["b", "/docs"],
    ]);
    assert.equal(jar.header("/docs"), "a=1; b=2");
    assert.equal(jar.header("/docsx"), null);
    assert.equal(jar.header("/x/y/z/w"), "d=4");
    now += 11_000;
    assert.equal(jar.has("a"), false);
    assert.equal(jar.get("b"), "2");
    jar.set("e", "5");
    assert.deepEqual([...jar.keys()].sort(), ["b", "d", "e"]);
    assert.equal(jar.delete("e"), true);
    assert.throws(() => jar.set("bad name", "v"), TypeError);
  });
});
