import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import {
  compressResponse,
  decompressBody,
  negotiateEncoding,
  supportedEncodings,
} from "../../server/compression.ts";
import { BodyError } from "../../server/errors.ts";
import { HttpUnsupportedMediaType } from "../../server/_http_client_errors.ts";
import { json, text, withTrailers } from "../../server/responses.ts";
import { trailersOf } from "../../server/responses.ts";
import { concat, runtime, within } from "../adapters/_net.ts";

const enc = new TextEncoder();
const HAS_ZSTD = supportedEncodings().includes("zstd");

type Z = typeof zlib & {
  zstdDecompressSync?: (b: Uint8Array) => Uint8Array;
  zstdCompressSync?: (b: Uint8Array) => Uint8Array;
};
const z = zlib as Z;

function decode(coding: string, bytes: Uint8Array): Uint8Array {
  switch (coding) {
    case "gzip":
      return zlib.gunzipSync(bytes);
    case "deflate":
      return zlib.inflateSync(bytes);
    case "br":
      return zlib.brotliDecompressSync(bytes);
    case "zstd":
      return z.zstdDecompressSync!(bytes);
  }
  throw new Error(coding);
}

function encode(coding: string, bytes: Uint8Array): Uint8Array {
  switch (coding) {
    case "gzip":
      return zlib.gzipSync(bytes);
    case "deflate":
      return zlib.deflateSync(bytes);
    case "br":
      return zlib.brotliCompressSync(bytes);
    case "zstd":
      return z.zstdCompressSync!(bytes);
  }
  throw new Error(coding);
}

function req(acceptEncoding: string | null, method = "GET") {
  const headers = new Headers();
  if (acceptEncoding !== null) headers.set("accept-encoding", acceptEncoding);
  return { method, headers };
}

const BIG = "The quick brown fox jumps over the lazy dog. ".repeat(200);

function textResponse(body: string, headers: HeadersInit = {}, status = 200): Response {
  const h = new Headers(headers);
  if (!h.has("content-type")) h.set("content-type", "text/plain; charset=utf-8");
  return new Response(body, { status, headers: h });
}

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (i < chunks.length) c.enqueue(chunks[i++]);
      else c.close();
    },
  });
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return concat(chunks);
    chunks.push(value);
  }
}

describe("negotiateEncoding", () => {
  const avail = ["br", "gzip", "deflate"];
  const table: [string | null, readonly string[], string | null][] = [
    [null, avail, null],
    ["", avail, null],
    ["gzip", avail, "gzip"],
    ["gzip, deflate, br", avail, "br"],
    ["GZIP", avail, "gzip"],
    ["x-gzip", avail, "gzip"],
    ["gzip;q=1.0, br;q=0.5", avail, "gzip"],
    ["br;q=0.5, gzip;q=0.5", avail, "br"],
    ["br;q=0.5, gzip;q=0.5", ["gzip", "br"], "gzip"],
    ["*", avail, "br"],
    ["*;q=0.1, gzip;q=0.5", avail, "gzip"],
    ["*;q=0.5, br;q=0", avail, "gzip"],
    ["br;q=0, gzip;q=0", avail, null],
    ["*;q=0", avail, null],
    ["identity;q=0", avail, null],
    ["identity", avail, null],
    ["gzip;q=0.000", avail, null],
    ["gzip;q=1.5, deflate", avail, "deflate"],
    ["gzip;q=abc, deflate;q=0.2", avail, "deflate"],
    ["gzip ; q=0.8 , br ; Q=0.9", avail, "br"],
    ["compress, zstd", avail, null],
    [" , ,gzip", avail, "gzip"],
  ];
  for (const [header, available, expected] of table) {
    test(`${JSON.stringify(header)} of [${available.join(",")}] → ${expected}`, () => {
      assert.equal(negotiateEncoding(header, available), expected);
    });
  }
});

describe("compressResponse round trips", () => {
  for (const coding of ["gzip", "deflate", "br", "zstd"]) {
    test(
      coding,
      { skip: coding === "zstd" && !HAS_ZSTD && "no zstd in this runtime's node:zlib" },
      async () => {
        const res = compressResponse(
          req(`${coding}`),
          textResponse(BIG, { "content-length": String(BIG.length), etag: '"v1"' }),
          { encodings: [coding] },
        );
        assert.equal(res.headers.get("content-encoding"), coding);
        assert.equal(res.headers.get("content-length"), null);
        assert.equal(res.headers.get("vary"), "Accept-Encoding");
        assert.equal(res.headers.get("etag"), 'W/"v1"');
        assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
        const bytes = new Uint8Array(await res.arrayBuffer());
        assert.ok(bytes.length < BIG.length / 5, `compressed to ${bytes.length}`);
        assert.equal(new TextDecoder().decode(decode(coding, bytes)), BIG);
      },
    );
  }

  test("default preference is br, and levels are validated", async () => {
    const res = compressResponse(req("gzip, br"), textResponse(BIG));
    assert.equal(res.headers.get("content-encoding"), "br");
    await res.body!.cancel();
    assert.throws(
      () => compressResponse(req("gzip"), textResponse(BIG), { levels: { gzip: 10 } }),
      RangeError,
    );
    assert.throws(
      () => compressResponse(req("gzip"), textResponse(BIG), { encodings: ["lzma"] }),
      RangeError,
    );
  });

  test("light responses (json/text) and trailers carry over", async () => {
    const value = { items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i}` })) };
    const trailers = () => ({ "x-sum": "1" });
    const res = compressResponse(req("gzip"), withTrailers(json(value), trailers));
    assert.equal(res.headers.get("content-encoding"), "gzip");
    assert.equal(trailersOf(res), trailers);
    const bytes = new Uint8Array(await res.arrayBuffer());
    assert.deepEqual(JSON.parse(zlib.gunzipSync(bytes).toString()), value);
  });

  test("a slow multi-chunk body is compressed progressively", async () => {
    let sent = 0;
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const source = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (sent === 3) return c.close();
        if (sent > 0) await gate;
        c.enqueue(enc.encode(`chunk ${sent} `.repeat(300)));
        sent++;
      },
    });
    const res = compressResponse(
      req("gzip"),
      new Response(source, { headers: { "content-type": "text/plain" } }),
    );
    const reader = res.body!.getReader();
    const got: Uint8Array[] = [];
    // The source is held at its second chunk: reading on must still give
    // (sync-flushed) bytes that decode to the whole first chunk.
    const chunk0 = "chunk 0 ".repeat(300);
    let partial = "";
    while (partial !== chunk0) {
      const { done, value } = await within(reader.read(), 10_000, "compressed first chunk");
      assert.equal(done, false);
      got.push(value!);
      partial = zlib.gunzipSync(concat(got), { finishFlush: zlib.constants.Z_SYNC_FLUSH })
        .toString();
    }
    assert.equal(sent, 1);
    release();
    gate = Promise.resolve();
    for (;;) {
      const { done, value } = await within(reader.read(), 10_000, "rest");
      if (done) break;
      got.push(value);
    }
    assert.equal(
      zlib.gunzipSync(concat(got)).toString(),
      "chunk 0 ".repeat(300) + "chunk 1 ".repeat(300) + "chunk 2 ".repeat(300),
    );
  });
});

describe("compressResponse cancellation", () => {
  test("cancelling the compressed body cancels the source", async () => {
    let cancelled: unknown = null;
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(enc.encode(BIG));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const res = compressResponse(
      req("br"),
      new Response(source, { headers: { "content-type": "text/plain" } }),
    );
    const reader = res.body!.getReader();
    const first = await within(reader.read(), 10_000, "first bytes");
    assert.equal(first.done, false);
    await within(reader.cancel("client gone"), 10_000, "cancel");
    assert.equal(cancelled, "client gone");
  });

  test("a failing source fails the compressed body with its error", async () => {
    const boom = new Error("handler broke");
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode(BIG));
        c.error(boom);
      },
    });
    const res = compressResponse(
      req("gzip"),
      new Response(source, { headers: { "content-type": "text/plain" } }),
    );
    const err = await within(res.arrayBuffer().then(() => null, (e) => e), 10_000, "error");
    assert.equal(err, boom);
  });
});

describe("compressResponse skip rules", () => {
  const cases: [string, () => [ReturnType<typeof req>, Response]][] = [
    ["HEAD", () => [req("gzip", "HEAD"), textResponse(BIG)]],
    ["204", () => [req("gzip"), new Response(null, { status: 204 })]],
    ["304", () => [req("gzip"), new Response(null, { status: 304 })]],
    ["206", () => [req("gzip"), textResponse(BIG, { "content-range": "bytes 0-9/99" }, 206)]],
    [
      "Content-Encoding already",
      () => [req("gzip"), textResponse(BIG, { "content-encoding": "br" })],
    ],
    [
      "no-transform",
      () => [req("gzip"), textResponse(BIG, { "cache-control": "public, no-transform" })],
    ],
    ["small known length", () => [req("gzip"), textResponse("tiny", { "content-length": "4" })]],
    ["small light response", () => [req("gzip"), text("tiny")]],
    ["image/png", () => [req("gzip"), textResponse(BIG, { "content-type": "image/png" })]],
    ["video/mp4", () => [req("gzip"), textResponse(BIG, { "content-type": "video/mp4" })]],
    [
      "application/zip",
      () => [req("gzip"), textResponse(BIG, { "content-type": "application/zip" })],
    ],
    [
      "octet-stream",
      () => [req("gzip"), textResponse(BIG, { "content-type": "application/octet-stream" })],
    ],
    [
      "event-stream",
      () => [req("gzip"), textResponse(BIG, { "content-type": "text/event-stream" })],
    ],
    ["no content type", () => [req("gzip"), new Response(new Blob([BIG]))]],
    [
      "no body",
      () => [req("gzip"), new Response(null, { headers: { "content-type": "text/plain" } })],
    ],
    ["nothing acceptable", () => [req("compress"), textResponse(BIG)]],
    ["no Accept-Encoding", () => [req(null), textResponse(BIG)]],
  ];
  // text() is a light response (with a known length) only on Node; on Deno
  // and Bun it is a platform Response without Content-Length, compressed
  // whatever its size.
  const lightOnly = runtime !== "node" && "text() is a platform Response on Deno and Bun";
  for (const [name, make] of cases) {
    test(name, { skip: name === "small light response" && lightOnly }, () => {
      const [request, response] = make();
      assert.equal(compressResponse(request, response), response);
      assert.equal(response.headers.get("content-encoding") !== "gzip", true);
    });
  }

  test("SVG is compressed; a zero threshold compresses small bodies", async () => {
    const svg = compressResponse(
      req("gzip"),
      textResponse(BIG, { "content-type": "image/svg+xml" }),
    );
    assert.equal(svg.headers.get("content-encoding"), "gzip");
    await svg.body!.cancel();
    const small = compressResponse(req("gzip"), text("tiny"), { threshold: 0 });
    assert.equal(small.headers.get("content-encoding"), "gzip");
    assert.equal(zlib.gunzipSync(new Uint8Array(await small.arrayBuffer())).toString(), "tiny");
  });
});

describe("Vary merging", () => {
  test("appends to an existing Vary", async () => {
    const res = compressResponse(req("gzip"), textResponse(BIG, { vary: "Origin" }));
    assert.equal(res.headers.get("vary"), "Origin, Accept-Encoding");
    await res.body!.cancel();
  });
  test("keeps Vary that has it already, or *", async () => {
    const a = compressResponse(req("gzip"), textResponse(BIG, { vary: "accept-encoding, origin" }));
    assert.equal(a.headers.get("vary"), "accept-encoding, origin");
    await a.body!.cancel();
    const b = compressResponse(req("gzip"), textResponse(BIG, { vary: "*" }));
    assert.equal(b.headers.get("vary"), "*");
    await b.body!.cancel();
  });
  test("an uncompressed answer chosen by Accept-Encoding still varies", () => {
    const response = textResponse(BIG);
    assert.equal(compressResponse(req("identity"), response), response);
    assert.equal(response.headers.get("vary"), "Accept-Encoding");
  });
  test("weak ETags stay as they are", async () => {
    const res = compressResponse(req("gzip"), textResponse(BIG, { etag: 'W/"x"' }));
    assert.equal(res.headers.get("etag"), 'W/"x"');
    await res.body!.cancel();
  });
});

describe("decompressBody", () => {
  const limits = { maxSize: 10 * 1024 * 1024, maxRatio: 100 };
  const payload = enc.encode(BIG);

  for (const coding of ["gzip", "deflate", "br", "zstd"]) {
    test(`round trip ${coding}`, {
      skip: coding === "zstd" && !HAS_ZSTD && "no zstd in this runtime's node:zlib",
    }, async () => {
      const encoded = encode(coding, payload);
      const chunks = [];
      for (let i = 0; i < encoded.length; i += 7) chunks.push(encoded.slice(i, i + 7));
      const out = await within(
        readAll(decompressBody(streamOf(chunks), coding, limits)),
        10_000,
        coding,
      );
      assert.deepEqual(out, payload);
    });
  }

  test("raw deflate, x-gzip, identity and stacked codings", async () => {
    const raw = zlib.deflateRawSync(payload);
    assert.deepEqual(await readAll(decompressBody(streamOf([raw]), "deflate", limits)), payload);
    const gz = zlib.gzipSync(payload);
    assert.deepEqual(await readAll(decompressBody(streamOf([gz]), "X-Gzip", limits)), payload);
    const plain = streamOf([payload]);
    assert.equal(decompressBody(plain, "identity", limits), plain);
    // "gzip, br": gzip applied first, then br.
    const stacked = zlib.brotliCompressSync(zlib.gzipSync(payload));
    assert.deepEqual(
      await readAll(decompressBody(streamOf([stacked]), "gzip, br", limits)),
      payload,
    );
  });

  test("unknown or too many codings are 415", () => {
    for (const value of ["compress", "gzip, gzip, gzip", "lzma"]) {
      assert.throws(
        () => decompressBody(streamOf([]), value, limits),
        (err: unknown) => err instanceof HttpUnsupportedMediaType && err.status === 415,
      );
    }
  });

  test("a zip bomb is stopped by the ratio cap without decoding it all", async () => {
    const bomb = zlib.gzipSync(new Uint8Array(10 * 1024 * 1024));
    assert.ok(bomb.length < 20_000, `bomb is ${bomb.length} bytes`);
    const chunks = [];
    for (let i = 0; i < bomb.length; i += 1024) chunks.push(bomb.slice(i, i + 1024));
    const reader = decompressBody(streamOf(chunks), "gzip", { maxSize: 1 << 30, maxRatio: 50 })
      .getReader();
    let decoded = 0;
    const err = await within(
      (async () => {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) return null;
            decoded += value.length;
          }
        } catch (e) {
          return e;
        }
      })(),
      10_000,
      "bomb",
    );
    assert.ok(err instanceof BodyError, String(err));
    assert.equal(err.code, "SLUICE_ERR_BODY_TOO_LARGE");
    assert.equal(err.status, 413);
    assert.match(err.message, /zip bomb/);
    assert.ok(decoded < 2 * 1024 * 1024, `decoded ${decoded} bytes`);
  });

  test("maxSize caps the decoded size", async () => {
    const encoded = zlib.gzipSync(payload);
    const err = await readAll(
      decompressBody(streamOf([encoded]), "gzip", { maxSize: 1000, maxRatio: 1000 }),
    ).then(() => null, (e) => e);
    assert.ok(err instanceof BodyError);
    assert.equal(err.code, "SLUICE_ERR_BODY_TOO_LARGE");
  });

  for (const coding of ["gzip", "deflate", "br", "zstd"]) {
    const skip = coding === "zstd" && !HAS_ZSTD && "no zstd in this runtime's node:zlib";
    test(`corrupt and truncated ${coding} input is 400`, { skip }, async () => {
      const good = encode(coding, payload);
      const corrupt = good.slice();
      for (let i = 10; i < corrupt.length - 10; i += 3) corrupt[i] ^= 0x5a;
      const truncated = good.slice(0, good.length >> 1);
      for (const bad of [corrupt, truncated]) {
        const err = await within(
          readAll(decompressBody(streamOf([bad]), coding, limits)).then(() => null, (e) => e),
          10_000,
          coding,
        );
        assert.ok(err instanceof BodyError, String(err));
        assert.equal(err.code, "SLUICE_ERR_BODY_ABORTED");
        assert.equal(err.status, 400);
      }
    });
  }

  test("a failing source body fails the decoded stream with its error", async () => {
    const boom = new BodyError("SLUICE_ERR_BODY_TIMEOUT", "Cannot read request body: timeout");
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(zlib.gzipSync(payload).slice(0, 50));
        c.error(boom);
      },
    });
    const err = await readAll(decompressBody(source, "gzip", limits)).then(() => null, (e) => e);
    assert.equal(err, boom);
  });
});
