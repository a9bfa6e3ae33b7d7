import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { Application } from "../../../server/application.ts";
import { json, text } from "../../../server/responses.ts";
import { serve, type ServerHandle } from "../../../server/run_app.ts";
import { bodyLimit } from "../../../server/middleware/body_limit.ts";
import { compress } from "../../../server/middleware/compress.ts";
import { portOf, RawClient } from "../_client.ts";

const handles: ServerHandle[] = [];
const clients: RawClient[] = [];
after(async () => {
  for (const client of clients) client.close();
  for (const handle of handles) await handle.shutdown();
});

const quiet = { error() {}, info() {} };
const at = (path: string, init?: RequestInit) => new Request(`http://localhost${path}`, init);

function chunked(...parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
}

function appWith(): { app: Application; ran: string[] } {
  const ran: string[] = [];
  const app = new Application({ clientMaxSize: 8, logger: quiet });
  app.router.post("/small", async (req) => {
    ran.push("small");
    return text(await req.text());
  }, { middlewares: [bodyLimit(4)] });
  app.router.post("/upload", async (req) => text(await req.text()), {
    middlewares: [bodyLimit(64)],
  });
  app.router.post("/stream", async (req) => {
    ran.push("stream");
    let total = 0;
    for await (const chunk of req.body!) total += chunk.length;
    return json({ total, max: req.clientMaxSize });
  }, { middlewares: [bodyLimit(10)] });
  app.router.post("/default", async (req) => text(await req.text()));
  return { app, ran };
}

const post = (body: BodyInit) => ({ method: "POST", body, duplex: "half" } as RequestInit);

describe("bodyLimit()", () => {
  test("bodyLimit() lowers and raises the buffered limit of a route", async () => {
    const { app } = appWith();
    assert.equal(await (await app.fetch(at("/small", post("abcd")))).text(), "abcd");
    assert.equal((await app.fetch(at("/default", post("x".repeat(20))))).status, 413);
    assert.equal(
      await (await app.fetch(at("/upload", post("x".repeat(20))))).text(),
      "x".repeat(20),
    );
    assert.equal((await app.fetch(at("/upload", post("x".repeat(65))))).status, 413);
  });

  test("bodyLimit() fails a streamed read of a chunked body past the limit with 413", async () => {
    const { app, ran } = appWith();
    const ok = await app.fetch(at("/stream", post(chunked("12345", "67890"))));
    assert.deepEqual(await ok.json(), { total: 10, max: 10 });
    const big = await app.fetch(at("/stream", post(chunked("12345", "67890", "1"))));
    assert.equal(big.status, 413);
    assert.deepEqual(ran, ["stream", "stream"]);
    // Buffered reads of a chunked body are bounded too.
    assert.equal((await app.fetch(at("/small", post(chunked("abc", "de"))))).status, 413);
  });

  test("bodyLimit() leaves a request without a body as it is (req.request is the runtime's)", async () => {
    const app = new Application({ logger: quiet });
    app.use(bodyLimit(100));
    let same: boolean | null = null;
    app.router.get("/ws", (req) => {
      same = req.request === original;
      return text("ok");
    });
    const original = at("/ws", { headers: { upgrade: "websocket", connection: "upgrade" } });
    assert.equal(await (await app.fetch(original)).text(), "ok");
    assert.equal(same, true);
  });

  test("bodyLimit() inside compress({ decompressRequests }) counts decoded bytes", async () => {
    const app = new Application({ logger: quiet });
    app.use(compress({ decompressRequests: true }));
    app.use(bodyLimit(100));
    app.router.post("/", async (req) => text(String((await req.text()).length)));
    const init = (body: string) => ({
      method: "POST",
      headers: { "content-encoding": "gzip" },
      body: gzipSync(body),
    });
    assert.equal(await (await app.fetch(at("/", init("a".repeat(100))))).text(), "100");
    assert.equal((await app.fetch(at("/", init("a".repeat(101))))).status, 413);
    assert.throws(() => bodyLimit(-1), RangeError);
    assert.throws(() => bodyLimit(1.5), RangeError);
  });

  test("bodyLimit() over a real socket: a larger Content-Length gets 413 before the handler runs; chunked too", async () => {
    const { app, ran } = appWith();
    const handle = await serve(app, { hostname: "127.0.0.1", port: 0, shutdownTimeout: 1000 });
    handles.push(handle);
    const client = await RawClient.open(portOf(handle.addresses[0]));
    clients.push(client);
    client.send(
      "POST /small HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\nexpect: 100-continue\r\n\r\n",
    );
    let res = await client.response();
    // Native servers may send 100 Continue on their own.
    if (res.status === 100) res = await client.response();
    assert.equal(res.status, 413);
    assert.match(res.text, /larger than 4 bytes/);
    assert.deepEqual(ran, []);
    const chunkedClient = await RawClient.open(portOf(handle.addresses[0]));
    clients.push(chunkedClient);
    chunkedClient.send(
      "POST /stream HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n" +
        "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n",
    );
    assert.equal((await chunkedClient.response()).status, 413);
  });
});
