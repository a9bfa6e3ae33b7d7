import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { nodeTransport } from "../../adapters/node.ts";
import { rawBackend } from "../../server/engine.ts";
import { isHttpError } from "../../server/http_errors.ts";
import { ServerRequest } from "../../server/server_request.ts";
import { text } from "../../server/responses.ts";
import type { RunningServer } from "../../server/types.ts";

const servers: RunningServer[] = [];
after(async () => {
  for (const server of servers) await server.shutdown(1000);
});

function platform(url: string, init?: RequestInit): ServerRequest<string, Record<string, string>> {
  return ServerRequest.from(new Request(url, init), { app: "app", params: {}, clientMaxSize: 16 });
}

async function status(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (error) {
    if (isHttpError(error)) return error.status;
    throw error;
  }
  return 0;
}

describe("ServerRequest", () => {
  test("ServerRequest exposes method, path, query (multi-valued), params and app", () => {
    const req = ServerRequest.from(new Request("http://h.example/a%20b/c?x=1&x=2&y=%C3%A9#frag"), {
      app: { name: "main" },
      params: { id: "7" },
    });
    assert.equal(req.method, "GET");
    assert.equal(req.pathname, "/a%20b/c");
    assert.equal(req.search, "?x=1&x=2&y=%C3%A9");
    assert.deepEqual(req.query.getAll("x"), ["1", "2"]);
    assert.equal(req.query.get("y"), "é");
    assert.equal(req.params.id, "7");
    assert.equal(req.app.name, "main");
    assert.equal(req.secure, false);
    assert.equal(req.clientMaxSize, 1024 * 1024);
  });

  test("ServerRequest.cookies parses the Cookie field once, first value of a repeated name", () => {
    const headers = new Headers();
    headers.append("cookie", 'a=1; b="two"; a=3');
    headers.append("cookie", "c=4");
    const req = ServerRequest.from(new Request("http://h/", { headers }), {
      app: null,
      params: {},
    });
    assert.equal(req.cookies.get("a"), "1");
    assert.equal(req.cookies.get("b"), "two");
    assert.equal(req.cookies.get("c"), "4");
    assert.equal(req.cookies, req.cookies);
  });

  test("ServerRequest buffered reads stop at clientMaxSize with 413, declared or streamed", async () => {
    assert.equal(
      await platform("http://h/", { method: "POST", body: "x".repeat(16) }).text(),
      "x".repeat(16),
    );
    assert.equal(
      await status(platform("http://h/", { method: "POST", body: "x".repeat(17) }).text()),
      413,
    );
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 5; i++) controller.enqueue(new Uint8Array(5));
        controller.close();
      },
    });
    const chunked = platform("http://h/", {
      method: "POST",
      body: stream,
      // @ts-ignore: duplex is required for stream bodies on Node and Deno
      duplex: "half",
    });
    assert.equal(await status(chunked.bytes()), 413);
  });

  test("ServerRequest.json() answers malformed JSON with 400; formData() reads urlencoded bodies", async () => {
    assert.equal(
      await status(platform("http://h/", { method: "POST", body: "{oops" }).json()),
      400,
    );
    const form = await platform("http://h/", {
      method: "POST",
      body: "a=1&b=2",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    }).formData();
    assert.equal(form.get("b"), "2");
  });

  test("ServerRequest.state is per request and typed by AppKey; multipart() and upgradeWebSocket() say not yet", async () => {
    const { AppKey } = await import("../../server/app_key.ts");
    const USER = new AppKey<string>("user");
    const a = platform("http://h/");
    const b = platform("http://h/");
    a.state.set(USER, "ada");
    assert.equal(a.state.get(USER), "ada");
    assert.equal(b.state.has(USER), false);
    assert.throws(() => a.multipart(), (e: unknown) => isHttpError(e) && e.status === 501);
    assert.throws(() => a.upgradeWebSocket(), (e: unknown) => isHttpError(e) && e.status === 501);
  });

  test("ServerRequest over the raw engine: remote address, lazy reads, a chunked upload over clientMaxSize is 413", async () => {
    const server = await rawBackend(nodeTransport).listen(
      { hostname: "127.0.0.1", port: 0 },
      async (incoming, info) => {
        const req = new ServerRequest(incoming, {
          app: null,
          params: {},
          clientMaxSize: 1000,
          info,
        });
        try {
          const body = await req.text();
          return text(`${req.remoteAddr} ${req.method} ${body.length} ${req.info?.engine}`);
        } catch (error) {
          if (isHttpError(error)) return text(String(error.status), { status: error.status });
          throw error;
        }
      },
      {},
    );
    servers.push(server);
    const port = server.address.transport === "tcp" ? server.address.port : 0;
    const ok = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "x".repeat(1000) });
    assert.equal(await ok.text(), "127.0.0.1 POST 1000 sluice");
    const big = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(new Uint8Array(400));
        controller.close();
      },
    });
    const refused = await fetch(`http://127.0.0.1:${port}/`, {
      method: "POST",
      body: big,
      // @ts-ignore: duplex is required for stream bodies on Node and Deno
      duplex: "half",
    });
    assert.equal(refused.status, 413);
    await refused.body?.cancel();
  });
});
