import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { brotliCompressSync, gunzipSync, gzipSync } from "node:zlib";
import { Application } from "../../../server/application.ts";
import { json, text } from "../../../server/responses.ts";
import { serve, type ServerHandle } from "../../../server/run_app.ts";
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
const BIG = "hello sluice ".repeat(400);
const gzipped = { "accept-encoding": "gzip" };

function appWith(options: Parameters<typeof compress>[0] = {}): Application {
  const app = new Application({ logger: quiet });
  app.use(compress(options));
  app.router.get("/big", () => text(BIG, { headers: { etag: '"v1"' } }));
  app.router.get(
    "/small",
    () =>
      new Response("tiny", { headers: { "content-type": "text/plain", "content-length": "4" } }),
  );
  app.router.get("/png", () => new Response(BIG, { headers: { "content-type": "image/png" } }));
  app.router.get("/partial", () =>
    new Response(BIG.slice(0, 2000), {
      status: 206,
      headers: { "content-type": "text/plain", "content-range": `bytes 0-1999/${BIG.length}` },
    }));
  app.router.get("/none", () => new Response(null, { status: 204 }));
  app.router.post("/echo", async (req) =>
    json({
      text: await req.text(),
      length: req.contentLength,
      encoding: req.header("content-encoding"),
      platform: req.request.headers.get("content-encoding"),
    }));
  app.router.post("/stream", async (req) => {
    let total = 0;
    for await (const chunk of req.body!) total += chunk.length;
    return json({ total });
  });
  return app;
}

async function gunzipText(res: Response): Promise<string> {
  return gunzipSync(new Uint8Array(await res.arrayBuffer())).toString();
}

describe("compress()", () => {
  test("compress() gzips a large text response, weakens its ETag and adds Vary", async () => {
    const app = appWith();
    const res = await app.fetch(at("/big", { headers: gzipped }));
    assert.equal(res.headers.get("content-encoding"), "gzip");
    assert.equal(res.headers.get("vary"), "Accept-Encoding");
    assert.equal(res.headers.get("etag"), 'W/"v1"');
    assert.equal(res.headers.get("content-length"), null);
    assert.equal(await gunzipText(res), BIG);
    const br = await app.fetch(at("/big", { headers: { "accept-encoding": "gzip, br" } }));
    assert.equal(br.headers.get("content-encoding"), "br");
    await br.body?.cancel();
  });

  test("compress() leaves alone small bodies, images, 204, 206 and clients that accept nothing", async () => {
    const app = appWith();
    const small = await app.fetch(at("/small", { headers: gzipped }));
    assert.equal(small.headers.get("content-encoding"), null);
    assert.equal(await small.text(), "tiny");
    const png = await app.fetch(at("/png", { headers: gzipped }));
    assert.equal(png.headers.get("content-encoding"), null);
    assert.equal((await png.text()).length, BIG.length);
    const none = await app.fetch(at("/none", { headers: gzipped }));
    assert.equal(none.status, 204);
    const partial = await app.fetch(
      at("/partial", { headers: { ...gzipped, range: "bytes=0-1999" } }),
    );
    assert.equal(partial.status, 206);
    assert.equal(partial.headers.get("content-encoding"), null);
    assert.equal((await partial.text()).length, 2000);
    const plain = await app.fetch(at("/big"));
    assert.equal(plain.headers.get("content-encoding"), null);
    assert.equal(await plain.text(), BIG);
  });

  test("compress() options: encodings order, threshold, filter; and they are validated", async () => {
    const app = appWith({
      encodings: ["gzip", "br"],
      threshold: 0,
      filter: (_res, req) => req.pathname !== "/big",
    });
    const small = await app.fetch(at("/small", { headers: { "accept-encoding": "br, gzip" } }));
    assert.equal(small.headers.get("content-encoding"), "gzip");
    assert.equal(await gunzipText(small), "tiny");
    const filtered = await app.fetch(at("/big", { headers: gzipped }));
    assert.equal(filtered.headers.get("content-encoding"), null);
    assert.throws(() => compress({ encodings: ["lzma"] }), RangeError);
    assert.throws(() => compress({ threshold: -1 }), RangeError);
    assert.throws(() => compress({ levels: { gzip: 12 } }), RangeError);
    assert.throws(() => compress({ decompressRequests: { maxRatio: 0 } }), RangeError);
  });

  test("compress() answers HEAD with the fields GET would have, without a body", async () => {
    const app = appWith();
    const res = await app.fetch(at("/big", { method: "HEAD", headers: gzipped }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-encoding"), "gzip");
    assert.equal(res.headers.get("vary"), "Accept-Encoding");
    assert.equal(res.headers.get("content-length"), null);
    assert.equal(res.body, null);
  });

  test("compress() drops Accept-Ranges from what it compresses (ranges are of the identity body)", async () => {
    const app = new Application({ logger: quiet });
    app.use(compress({ encodings: ["gzip"] }));
    app.router.get(
      "/file",
      () => text(BIG, { headers: { "accept-ranges": "bytes", etag: '"f1"' } }),
    );
    for (const method of ["GET", "HEAD"]) {
      const res = await app.fetch(at("/file", { method, headers: gzipped }));
      assert.equal(res.headers.get("content-encoding"), "gzip", method);
      assert.equal(res.headers.get("accept-ranges"), null, method);
      assert.equal(res.headers.get("etag"), 'W/"f1"', method);
      await res.body?.cancel();
    }
    const identity = await app.fetch(at("/file"));
    assert.equal(identity.headers.get("accept-ranges"), "bytes");
    assert.equal(identity.headers.get("etag"), '"f1"');
    await identity.body?.cancel();
  });

  test("compress() passes server-sent events through unbuffered and unencoded", async () => {
    const app = new Application({ logger: quiet });
    app.use(compress({ threshold: 0 }));
    let cancelled = false;
    app.router.get("/events", () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new TextEncoder().encode("data: first\n\n"));
          },
          cancel() {
            cancelled = true;
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      ));
    const res = await app.fetch(at("/events", { headers: { "accept-encoding": "gzip, br" } }));
    assert.equal(res.headers.get("content-encoding"), null);
    const reader = res.body!.getReader();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const first = await Promise.race([
      reader.read(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("the first event did not arrive")), 5000);
      }),
    ]).finally(() => clearTimeout(timer));
    assert.equal(new TextDecoder().decode(first.value), "data: first\n\n");
    await reader.cancel();
    assert.equal(cancelled, true);
  });

  test("compress({ decompressRequests }) stops a bomb by its ratio while streaming, with no size cap", async () => {
    const app = appWith({ decompressRequests: { maxRatio: 50 } });
    let seen = 0;
    app.router.post("/count", async (req) => {
      try {
        for await (const chunk of req.body!) seen += chunk.length;
      } catch (error) {
        return text(String((error as Error).message), { status: 413 });
      }
      return text("read it all");
    });
    const bomb = gzipSync(new Uint8Array(32 * 1024 * 1024), { level: 9 });
    const res = await app.fetch(
      at("/count", { method: "POST", headers: { "content-encoding": "gzip" }, body: bomb }),
    );
    assert.equal(res.status, 413);
    assert.match(await res.text(), /zip bomb/);
    // Decoding stopped near the ratio, far from the 32 MiB the body inflates to.
    assert.ok(seen <= Math.max(1024 * 1024, bomb.length * 50) + 64 * 1024, `read ${seen}`);
  });

  test("compress({ decompressRequests }) decodes gzip, x-gzip and stacked bodies for text() and body", async () => {
    const app = appWith({ decompressRequests: true });
    const body = JSON.stringify({ words: BIG });
    const res = await app.fetch(at("/echo", {
      method: "POST",
      headers: { "content-encoding": "gzip" },
      body: gzipSync(body),
    }));
    assert.deepEqual(await res.json(), {
      text: body,
      length: null,
      encoding: "gzip",
      platform: null,
    });
    const x = await app.fetch(at("/echo", {
      method: "POST",
      headers: { "content-encoding": "x-gzip" },
      body: gzipSync("x"),
    }));
    assert.equal(((await x.json()) as { text: string }).text, "x");
    const stacked = await app.fetch(at("/stream", {
      method: "POST",
      headers: { "content-encoding": "gzip, br" },
      body: brotliCompressSync(gzipSync(BIG)),
    }));
    assert.deepEqual(await stacked.json(), { total: BIG.length });
  });

  test("compress({ decompressRequests }) answers 415 with Accept-Encoding for unknown codings; off, bodies stay encoded", async () => {
    const app = appWith({ decompressRequests: true });
    const res = await app.fetch(at("/echo", {
      method: "POST",
      headers: { "content-encoding": "compress" },
      body: "abc",
    }));
    assert.equal(res.status, 415);
    assert.match(res.headers.get("accept-encoding") ?? "", /gzip/);
    const triple = await app.fetch(at("/echo", {
      method: "POST",
      headers: { "content-encoding": "gzip, gzip, gzip" },
      body: "abc",
    }));
    assert.equal(triple.status, 415);
    const identity = await app.fetch(at("/echo", {
      method: "POST",
      headers: { "content-encoding": "identity" },
      body: "abc",
    }));
    assert.equal(((await identity.json()) as { text: string }).text, "abc");

    const off = await appWith().fetch(at("/stream", {
      method: "POST",
      headers: { "content-encoding": "gzip" },
      body: gzipSync(BIG),
    }));
    assert.equal(((await off.json()) as { total: number }).total, gzipSync(BIG).length);
  });

  test("compress() over a real socket: gzip on the wire, a gzip upload decoded, a bomb refused with 413", async () => {
    const app = appWith({ decompressRequests: { maxSize: 64 * 1024 } });
    const handle = await serve(app, { hostname: "127.0.0.1", port: 0, shutdownTimeout: 1000 });
    handles.push(handle);
    const client = await RawClient.open(portOf(handle.addresses[0]));
    clients.push(client);
    client.send("GET /big HTTP/1.1\r\nhost: x\r\naccept-encoding: gzip\r\n\r\n");
    const res = await client.response();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-encoding"), "gzip");
    assert.equal(gunzipSync(res.body).toString(), BIG);

    const upload = await fetch(`${handle.url}/echo`, {
      method: "POST",
      headers: { "content-encoding": "gzip", "content-type": "text/plain" },
      body: gzipSync("over the wire"),
    });
    assert.equal(((await upload.json()) as { text: string }).text, "over the wire");

    const bomb = gzipSync(new Uint8Array(1024 * 1024));
    const refused = await fetch(`${handle.url}/stream`, {
      method: "POST",
      headers: { "content-encoding": "gzip" },
      body: bomb,
    });
    assert.equal(refused.status, 413);
    await refused.body?.cancel();
  });
});
