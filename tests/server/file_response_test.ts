import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FileHandle, type FileSystem, nodeFs } from "../../adapters/fs.ts";
import { nodeTransport } from "../../adapters/node.ts";
import { type FileRequest, fileResponse } from "../../server/file_response.ts";
import { contentTypeFor } from "../../server/_mime_types.ts";
import { parseRange } from "../../server/_ranges.ts";
import { rawBackend } from "../../server/engine.ts";
import { HttpForbidden, HttpNotFound, renderHttpError } from "../../server/mod.ts";
import type { RunningServer } from "../../server/types.ts";
import { until, within } from "../adapters/_net.ts";
import { portOf, RawClient } from "./_client.ts";

const MTIME = new Date("2024-05-06T07:08:09Z");
const LAST_MODIFIED = MTIME.toUTCString();

let dir = "";
let file = ""; // "0123456789abcdefghij" x 5 = 100 bytes
let empty = "";
const CONTENT = "0123456789abcdefghij".repeat(5);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "sluice-file-"));
  file = join(dir, "data.txt");
  empty = join(dir, "empty.bin");
  await writeFile(file, CONTENT);
  await writeFile(empty, "");
  await writeFile(join(dir, "page.html"), "<p>plain</p>");
  await writeFile(join(dir, "page.html.gz"), "GZ-BYTES");
  await writeFile(join(dir, "page.html.br"), "BR");
  await writeFile(join(dir, "only.js"), "plain js");
  await writeFile(join(dir, "only.js.gz"), "gz js");
  await mkdir(join(dir, "sub"));
  for (const p of [file, empty]) await utimes(p, MTIME, MTIME);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A request with a method and fields. */
function req(headers: Record<string, string> = {}, method = "GET"): FileRequest {
  const h = new Headers(headers);
  return { method, header: (name) => h.get(name) };
}

/** A FileSystem that counts open handles. */
function counting(): { fs: FileSystem; open: () => number; opened: () => number } {
  let open = 0;
  let opened = 0;
  const fs: FileSystem = {
    stat: (path) => nodeFs.stat(path),
    async open(path): Promise<FileHandle> {
      const handle = await nodeFs.open(path);
      open++;
      opened++;
      let closed = false;
      return {
        read: (buffer, position) => handle.read(buffer, position),
        async close(): Promise<void> {
          if (!closed) open--;
          closed = true;
          await handle.close();
        },
      };
    },
  };
  return { fs, open: () => open, opened: () => opened };
}

/** The status of an answer, its body cancelled (closing the file). */
async function statusOf(answer: Promise<Response>): Promise<number> {
  const res = await answer;
  await res.body?.cancel();
  return res.status;
}

async function etagOf(path: string): Promise<string> {
  return (await fileResponse(req({}, "HEAD"), path)).headers.get("etag")!;
}

/** Splits a multipart/byteranges body into its parts. */
function parseMultipart(body: string, type: string): { headers: Headers; body: string }[] {
  const boundary = /boundary=([^;]+)/.exec(type)![1];
  const parts = body.split(`--${boundary}`);
  assert.equal(parts[0], "\r\n");
  assert.equal(parts[parts.length - 1], "--\r\n");
  return parts.slice(1, -1).map((part) => {
    assert.ok(part.startsWith("\r\n") && part.endsWith("\r\n"));
    const [head, ...rest] = part.slice(2, -2).split("\r\n\r\n");
    const headers = new Headers(head.split("\r\n").map((l) => l.split(": ") as [string, string]));
    return { headers, body: rest.join("\r\n\r\n") };
  });
}

describe("fileResponse() headers and body", () => {
  test("200 with type, length, validators and the whole file", async () => {
    const res = await fileResponse(req(), file);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(res.headers.get("content-length"), "100");
    assert.equal(res.headers.get("accept-ranges"), "bytes");
    assert.equal(res.headers.get("last-modified"), LAST_MODIFIED);
    assert.equal(res.headers.get("etag"), `"${MTIME.getTime().toString(16)}-64"`);
    assert.equal(await res.text(), CONTENT);
  });

  test("small chunks stream the same bytes; options set fields and type", async () => {
    const res = await fileResponse(req(), file, {
      chunkSize: 7,
      headers: { "cache-control": "max-age=60" },
      contentType: "application/x-custom",
      etag: false,
    });
    assert.equal(res.headers.get("content-type"), "application/x-custom");
    assert.equal(res.headers.get("cache-control"), "max-age=60");
    assert.equal(res.headers.get("etag"), null);
    const chunks: number[] = [];
    for await (const chunk of res.body!) chunks.push(chunk.length);
    assert.deepEqual(chunks, [...Array(14).fill(7), 2]);
  });

  test("content types by extension", () => {
    assert.equal(contentTypeFor("/a/b.HTML"), "text/html; charset=utf-8");
    assert.equal(contentTypeFor("x.json"), "application/json; charset=utf-8");
    assert.equal(contentTypeFor("x.svg"), "image/svg+xml; charset=utf-8");
    assert.equal(contentTypeFor("x.png"), "image/png");
    assert.equal(contentTypeFor("x.wasm"), "application/wasm");
    assert.equal(contentTypeFor("x.unknown"), "application/octet-stream");
    assert.equal(contentTypeFor("x.constructor"), "application/octet-stream");
    assert.equal(contentTypeFor(".bashrc"), "application/octet-stream");
    assert.equal(contentTypeFor("dir.d/noext"), "application/octet-stream");
  });

  test("HEAD: same fields, an empty body, the file is not opened", async () => {
    const c = counting();
    const res = await fileResponse(req({}, "HEAD"), file, { fs: c.fs });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), "100");
    assert.equal(await res.text(), "");
    assert.equal(c.opened(), 0);
  });

  test("an empty file: 200 with length 0 and nothing opened", async () => {
    const c = counting();
    const res = await fileResponse(req(), empty, { fs: c.fs });
    assert.equal(res.headers.get("content-length"), "0");
    assert.equal(await res.text(), "");
    assert.equal(c.opened(), 0);
  });

  test("missing file and directory are HttpNotFound, unreadable is HttpForbidden", async () => {
    await assert.rejects(fileResponse(req(), join(dir, "nope.txt")), HttpNotFound);
    await assert.rejects(fileResponse(req(), join(file, "below")), HttpNotFound);
    await assert.rejects(fileResponse(req(), join(dir, "sub")), HttpNotFound);
    const denied = (): Promise<never> =>
      Promise.reject(Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" }));
    const fs: FileSystem = { stat: denied, open: denied };
    await assert.rejects(fileResponse(req(), file, { fs }), HttpForbidden);
    await assert.rejects(fileResponse(req(), file, { chunkSize: 0 }), RangeError);
  });

  test("a file without read permission is HttpForbidden when opened (POSIX, not root)", {
    skip: process.platform === "win32" || process.getuid?.() === 0,
  }, async () => {
    const secret = join(dir, "secret.txt");
    await writeFile(secret, "x");
    await chmod(secret, 0o000);
    // stat works without read permission; the open fails
    await assert.rejects(fileResponse(req(), secret), HttpForbidden);
    assert.equal(await statusOf(fileResponse(req({}, "HEAD"), secret)), 200);
    await assert.rejects(fileResponse(req(), join(secret, "x")), HttpNotFound);
  });
});

describe("fileResponse() conditional requests (RFC 9110 §13.2.2)", () => {
  const before = new Date(MTIME.getTime() - 60_000).toUTCString();
  const later = new Date(MTIME.getTime() + 60_000).toUTCString();

  test("If-Match: matching or * goes on, otherwise 412 (strong comparison)", async () => {
    const etag = await etagOf(file);
    assert.equal(await statusOf(fileResponse(req({ "if-match": etag }), file)), 200);
    assert.equal(await statusOf(fileResponse(req({ "if-match": `"x", ${etag}` }), file)), 200);
    assert.equal(await statusOf(fileResponse(req({ "if-match": "*" }), file)), 200);
    assert.equal(await statusOf(fileResponse(req({ "if-match": '"x"' }), file)), 412);
    assert.equal(await statusOf(fileResponse(req({ "if-match": `W/${etag}` }), file)), 412);
    assert.equal(
      await statusOf(fileResponse(req({ "if-match": etag }), file, { etag: false })),
      412,
    );
  });

  test("If-Unmodified-Since: 412 when modified after; ignored under If-Match", async () => {
    assert.equal(await statusOf(fileResponse(req({ "if-unmodified-since": before }), file)), 412);
    assert.equal(await statusOf(fileResponse(req({ "if-unmodified-since": later }), file)), 200);
    const same = fileResponse(req({ "if-unmodified-since": LAST_MODIFIED }), file);
    assert.equal(await statusOf(same), 200);
    const bad = fileResponse(req({ "if-unmodified-since": "garbage" }), file);
    assert.equal(await statusOf(bad), 200);
    const etag = await etagOf(file);
    const both = fileResponse(req({ "if-match": etag, "if-unmodified-since": before }), file);
    assert.equal(await statusOf(both), 200);
  });

  test("If-None-Match: 304 for GET/HEAD (weak comparison), 412 otherwise", async () => {
    const etag = await etagOf(file);
    const res = await fileResponse(req({ "if-none-match": `W/${etag}` }), file, {
      headers: { "cache-control": "no-cache" },
    });
    assert.equal(res.status, 304);
    assert.equal(res.headers.get("etag"), etag);
    assert.equal(res.headers.get("cache-control"), "no-cache");
    assert.equal(res.body, null);
    const head = await fileResponse(req({ "if-none-match": `"a", ${etag}` }, "HEAD"), file);
    assert.equal(head.status, 304);
    assert.equal(await statusOf(fileResponse(req({ "if-none-match": "*" }), file)), 304);
    assert.equal(await statusOf(fileResponse(req({ "if-none-match": etag }, "POST"), file)), 412);
    assert.equal(await statusOf(fileResponse(req({ "if-none-match": '"x"' }), file)), 200);
  });

  test("If-None-Match wins over If-Modified-Since", async () => {
    const res = fileResponse(
      req({ "if-none-match": '"other"', "if-modified-since": later }),
      file,
    );
    assert.equal(await statusOf(res), 200);
  });

  test("If-Modified-Since: 304 unless modified after; GET/HEAD only", async () => {
    assert.equal(
      await statusOf(fileResponse(req({ "if-modified-since": LAST_MODIFIED }), file)),
      304,
    );
    assert.equal(await statusOf(fileResponse(req({ "if-modified-since": later }), file)), 304);
    assert.equal(await statusOf(fileResponse(req({ "if-modified-since": before }), file)), 200);
    assert.equal(await statusOf(fileResponse(req({ "if-modified-since": "nope" }), file)), 200);
    const post = fileResponse(req({ "if-modified-since": later }, "POST"), file);
    assert.equal(await statusOf(post), 200);
  });

  test("If-Match failing wins over If-None-Match and Range", async () => {
    const etag = await etagOf(file);
    const res = await fileResponse(
      req({ "if-match": '"x"', "if-none-match": etag, range: "bytes=0-1" }),
      file,
    );
    assert.equal(res.status, 412);
  });

  test("a 304 wins over Range", async () => {
    const etag = await etagOf(file);
    const res = await fileResponse(req({ "if-none-match": etag, range: "bytes=0-1" }), file);
    assert.equal(res.status, 304);
  });
});

describe("fileResponse() ranges", () => {
  async function get(range: string, path = file, extra: Record<string, string> = {}) {
    const res = await fileResponse(req({ range, ...extra }), path);
    return { res, body: await res.text() };
  }

  test("single ranges: 0-0, last byte, open, suffix, clamped ends", async () => {
    const cases: [string, string, string][] = [
      ["bytes=0-0", "bytes 0-0/100", "0"],
      ["bytes=99-99", "bytes 99-99/100", "j"],
      ["bytes=90-", "bytes 90-99/100", "0123456789".slice(0, 0) + "abcdefghij"],
      ["bytes=-5", "bytes 95-99/100", "fghij"],
      ["bytes=-500", "bytes 0-99/100", CONTENT],
      ["bytes=95-1000", "bytes 95-99/100", "fghij"],
      ["BYTES = 10-12", "bytes 10-12/100", "abc"],
      ["bytes=10-12, 200-300", "bytes 10-12/100", "abc"],
    ];
    for (const [range, contentRange, body] of cases) {
      const r = await get(range);
      assert.equal(r.res.status, 206, range);
      assert.equal(r.res.headers.get("content-range"), contentRange, range);
      assert.equal(r.res.headers.get("content-length"), String(body.length), range);
      assert.equal(r.res.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(r.body, body, range);
    }
  });

  test("unsatisfiable: 416 with bytes */size", async () => {
    for (const range of ["bytes=100-", "bytes=100-200", "bytes=-0", "bytes=500-600, 101-"]) {
      const r = await get(range);
      assert.equal(r.res.status, 416, range);
      assert.equal(r.res.headers.get("content-range"), "bytes */100");
      assert.equal(r.body, "");
    }
    const e = await get("bytes=0-0", empty);
    assert.equal(e.res.status, 416);
    assert.equal(e.res.headers.get("content-range"), "bytes */0");
    assert.equal((await get("bytes=-5", empty)).res.status, 416);
  });

  test("malformed, other units and too many ranges are ignored (200)", async () => {
    const many = "bytes=" + Array.from({ length: 17 }, (_, i) => `${i * 2}-${i * 2}`).join(",");
    for (const range of ["bytes=5-2", "bytes=a-b", "bytes=-", "bytes=", "items=0-1", "0-1", many]) {
      const r = await get(range);
      assert.equal(r.res.status, 200, range);
      assert.equal(r.body, CONTENT);
    }
  });

  test("Range is for GET only: HEAD and POST get 200", async () => {
    const head = await fileResponse(req({ range: "bytes=0-1" }, "HEAD"), file);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), "100");
    const post = await fileResponse(req({ range: "bytes=0-1" }, "POST"), file);
    assert.equal(post.status, 200);
    await post.body?.cancel();
  });

  test("multiple ranges: 206 multipart/byteranges parsed back, length exact", async () => {
    const r = await get("bytes=0-1, 10-12, -2");
    assert.equal(r.res.status, 206);
    const type = r.res.headers.get("content-type")!;
    assert.match(type, /^multipart\/byteranges; boundary=/);
    assert.equal(
      Number(r.res.headers.get("content-length")),
      new TextEncoder().encode(r.body).length,
    );
    const parts = parseMultipart(r.body, type);
    assert.deepEqual(parts.map((p) => p.body), ["01", "abc", "ij"]);
    assert.deepEqual(parts.map((p) => p.headers.get("content-range")), [
      "bytes 0-1/100",
      "bytes 10-12/100",
      "bytes 98-99/100",
    ]);
    for (const p of parts) assert.equal(p.headers.get("content-type"), "text/plain; charset=utf-8");
  });

  test("overlapping ranges are merged; merging to one gives a single part", async () => {
    assert.deepEqual(parseRange("bytes=0-5, 3-8, 20-21", 100), [
      { start: 0, end: 8 },
      { start: 20, end: 21 },
    ]);
    assert.deepEqual(parseRange("bytes=20-21, 0-1", 100), [
      { start: 20, end: 21 },
      { start: 0, end: 1 },
    ]);
    const r = await get("bytes=0-50, 10-20, 51-60");
    assert.equal(r.res.headers.get("content-range"), "bytes 0-60/100");
    assert.equal(r.body, CONTENT.slice(0, 61));
  });

  test("If-Range with the ETag or the date applies the range only when it matches", async () => {
    const etag = await etagOf(file);
    assert.equal((await get("bytes=0-1", file, { "if-range": etag })).res.status, 206);
    assert.equal((await get("bytes=0-1", file, { "if-range": '"old"' })).res.status, 200);
    assert.equal((await get("bytes=0-1", file, { "if-range": `W/${etag}` })).res.status, 200);
    assert.equal((await get("bytes=0-1", file, { "if-range": LAST_MODIFIED })).res.status, 206);
    const other = new Date(MTIME.getTime() - 1000).toUTCString();
    assert.equal((await get("bytes=0-1", file, { "if-range": other })).res.status, 200);
    assert.equal((await get("bytes=0-1", file, { "if-range": "junk" })).res.status, 200);
  });
});

describe("fileResponse() precompressed siblings", () => {
  const html = () => join(dir, "page.html");

  test("br preferred, gzip next, identity when not accepted; Vary always", async () => {
    const br = await fileResponse(req({ "accept-encoding": "gzip, br" }), html(), {
      precompressed: true,
    });
    assert.equal(br.headers.get("content-encoding"), "br");
    assert.equal(br.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(br.headers.get("content-length"), "2");
    assert.equal(br.headers.get("vary"), "Accept-Encoding");
    assert.equal(await br.text(), "BR");

    const gz = await fileResponse(req({ "accept-encoding": "gzip;q=1, br;q=0.5" }), html(), {
      precompressed: true,
      headers: { vary: "Origin" },
    });
    assert.equal(gz.headers.get("content-encoding"), "gzip");
    assert.equal(gz.headers.get("vary"), "Origin, Accept-Encoding");
    assert.equal(await gz.text(), "GZ-BYTES");
    const plain = await fileResponse(req({}), html(), { precompressed: true });
    assert.equal(plain.headers.get("content-encoding"), null);
    assert.equal(plain.headers.get("vary"), "Accept-Encoding");
    assert.equal(await plain.text(), "<p>plain</p>");
    const refused = await fileResponse(req({ "accept-encoding": "br;q=0, gzip;q=0" }), html(), {
      precompressed: true,
    });
    assert.equal(await refused.text(), "<p>plain</p>");
    const star = await fileResponse(req({ "accept-encoding": "*" }), html(), {
      precompressed: true,
    });
    assert.equal(star.headers.get("content-encoding"), "br");
    await star.body?.cancel();
  });

  test("a missing sibling falls back; each sibling has its own ETag; off by default", async () => {
    const js = join(dir, "only.js");
    const gz = await fileResponse(req({ "accept-encoding": "br, gzip" }), js, {
      precompressed: true,
    });
    assert.equal(gz.headers.get("content-encoding"), "gzip");
    assert.equal(gz.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(await gz.text(), "gz js");
    const plain = await fileResponse(req({ "accept-encoding": "br, gzip" }), js);
    assert.equal(plain.headers.get("vary"), null);
    assert.notEqual(gz.headers.get("etag"), plain.headers.get("etag"));
    assert.equal(await plain.text(), "plain js");
  });
});

describe("fileResponse() closes the file", () => {
  test("at the end, on cancel after a chunk, on cancel before reading", async () => {
    const c = counting();
    await (await fileResponse(req(), file, { fs: c.fs, chunkSize: 10 })).text();
    assert.equal(c.open(), 0);
    assert.equal(c.opened(), 1);

    const res = await fileResponse(req(), file, { fs: c.fs, chunkSize: 10 });
    const reader = res.body!.getReader();
    assert.equal((await reader.read()).value?.length, 10);
    assert.equal(c.open(), 1);
    await reader.cancel();
    assert.equal(c.open(), 0);

    const unread = await fileResponse(req({ range: "bytes=0-1,5-6" }), file, { fs: c.fs });
    assert.equal(c.open(), 1);
    await unread.body!.cancel();
    assert.equal(c.open(), 0);
    assert.equal(c.opened(), 3);
  });

  test("304, 412 and 416 answers do not open the file", async () => {
    const c = counting();
    const etag = await etagOf(file);
    const answers = [
      await fileResponse(req({ "if-none-match": etag }), file, { fs: c.fs }),
      await fileResponse(req({ "if-match": '"x"' }), file, { fs: c.fs }),
      await fileResponse(req({ range: "bytes=100-" }), file, { fs: c.fs }),
    ];
    assert.deepEqual(answers.map((r) => r.status), [304, 412, 416]);
    assert.equal(c.opened(), 0);
  });

  test("on a read error (the file shrank after it was sized)", async () => {
    const c = counting();
    const path = join(dir, "shrinks.txt");
    await writeFile(path, "x".repeat(50));
    const res = await fileResponse(req(), path, { fs: c.fs, chunkSize: 10 });
    await writeFile(path, "x".repeat(5));
    await assert.rejects(res.text(), /shorter/);
    assert.equal(c.open(), 0);
  });
});

describe("fileResponse() through the raw engine", () => {
  const counter = counting();
  let server: RunningServer | null = null;
  let port = 0;
  const clients: RawClient[] = [];

  before(async () => {
    server = await rawBackend(nodeTransport).listen(
      { hostname: "127.0.0.1", port: 0 },
      async (request) => {
        const count = request.header("x-count") !== null;
        try {
          return await fileResponse(request, join(dir, decodeURIComponent(request.pathname)), {
            chunkSize: count ? 1024 : 16,
            fs: count ? counter.fs : nodeFs,
          });
        } catch (err) {
          return renderHttpError(err, request.header("accept"));
        }
      },
      { logger: { error: () => {}, info: () => {} } },
    );
    port = portOf(server.address);
  });

  after(async () => {
    for (const c of clients) c.close();
    if (server !== null) await within(server.shutdown(1000), 5000, "shutdown");
  });

  async function client(): Promise<RawClient> {
    const c = await RawClient.open(port);
    clients.push(c);
    return c;
  }

  test("GET, HEAD, ranges, 304, 416 and 404 on one keep-alive connection", async () => {
    const c = await client();
    c.send("GET /data.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    const full = await c.response();
    assert.equal(full.status, 200);
    assert.equal(full.headers.get("content-length"), "100");
    assert.equal(full.text, CONTENT);
    const etag = full.headers.get("etag")!;

    c.send("HEAD /data.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    const head = await c.response({ head: true });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), "100");
    assert.equal(head.body.length, 0);

    c.send("GET /data.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=-3\r\n\r\n");
    const tail = await c.response();
    assert.equal(tail.status, 206);
    assert.equal(tail.headers.get("content-range"), "bytes 97-99/100");
    assert.equal(tail.text, "hij");

    c.send("GET /data.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-0,50-69\r\n\r\n");
    const multi = await c.response();
    assert.equal(multi.status, 206);
    const parts = parseMultipart(multi.text, multi.headers.get("content-type")!);
    assert.deepEqual(parts.map((p) => p.body), ["0", CONTENT.slice(50, 70)]);

    c.send(`GET /data.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: ${etag}\r\n\r\n`);
    const notModified = await c.response();
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.get("etag"), etag);
    assert.equal(notModified.body.length, 0);

    c.send("GET /data.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=100-\r\n\r\n");
    const unsatisfiable = await c.response();
    assert.equal(unsatisfiable.status, 416);
    assert.equal(unsatisfiable.headers.get("content-range"), "bytes */100");

    c.send("GET /missing.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    const missing = await c.response();
    assert.equal(missing.status, 404);

    c.send("GET /sub HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal((await c.response()).status, 404);
  });

  test("a client that goes away mid-body leaves no file open", async () => {
    const big = join(dir, "big.bin");
    await writeFile(big, new Uint8Array(4 * 1024 * 1024).fill(120));
    const c = await client();
    c.send("GET /big.bin HTTP/1.1\r\nHost: x\r\nX-Count: 1\r\n\r\n");
    await c.waitBytes(64 * 1024);
    assert.equal(counter.opened(), 1);
    c.socket.destroy();
    await until(() => counter.open() === 0, 10_000, "the file to be closed");
  });
});
