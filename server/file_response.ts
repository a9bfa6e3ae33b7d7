/**
 * {@linkcode fileResponse}: a file from disk as a `Response` (aiohttp's
 * `FileResponse`), streamed with backpressure, with validators, conditional
 * requests, byte ranges and precompressed siblings.
 *
 * @module
 */

import type { FileHandle, FileStat, FileSystem } from "../adapters/fs.ts";
import { nodeFs } from "../adapters/fs.ts";
import { HttpForbidden, HttpNotFound } from "./_http_client_errors.ts";
import { contentTypeFor } from "./_mime_types.ts";
import {
  type ByteRange,
  parseETags,
  parseHttpDate,
  parseRange,
  strongMatch,
  weakMatch,
} from "./_ranges.ts";

/** The request side {@linkcode fileResponse} reads: the method and the header fields. */
export interface FileRequest {
  /** The method token, e.g. `"GET"`. */
  readonly method: string;
  /** The first value of one field (case-insensitive name), or `null`. */
  header(name: string): string | null;
}

/** Options of {@linkcode fileResponse}. */
export interface FileResponseOptions {
  /** Bytes read from the file per chunk of the body (default 64 KiB). */
  chunkSize?: number;
  /** Extra header fields for the 200, 206 and 304 answers (e.g. `Cache-Control`). */
  headers?: HeadersInit;
  /** The `Content-Type`, instead of the one guessed from the file extension. */
  contentType?: string;
  /**
   * Serve `path + ".br"` or `path + ".gz"` instead of `path` when they exist
   * and `Accept-Encoding` allows them (brotli preferred at equal quality),
   * with `Content-Encoding` and the sibling's own length and validators; the
   * answer then carries `Vary: Accept-Encoding`. Default `false`.
   */
  precompressed?: boolean;
  /** Send an `ETag` and honour entity-tags in `If-Match`/`If-None-Match`/`If-Range` (default `true`). */
  etag?: boolean;
  /** The file access to use (default {@linkcode nodeFs}). */
  fs?: FileSystem;
}

const DEFAULT_CHUNK = 64 * 1024;
const encoder = new TextEncoder();

/**
 * Answers `request` with the file at `path`. The caller is responsible for
 * `path` (it is opened as given: join and check it against a root before).
 *
 * - Headers: `Content-Type` by extension (text types with
 *   `; charset=utf-8`, unknown ones `application/octet-stream`),
 *   `Content-Length`, `Last-Modified`, `Accept-Ranges: bytes` and a strong
 *   `ETag` made of the modification time and size, `"<mtime ms hex>-<size hex>"`
 *   (like nginx and aiohttp: it changes when the file is rewritten, without
 *   hashing it; byte-identical rewrites also change it).
 * - Conditional requests in RFC 9110 §13.2.2 order: `If-Match` (412),
 *   else `If-Unmodified-Since` (412); `If-None-Match` (304 for GET/HEAD,
 *   412 otherwise), else `If-Modified-Since` (304 for GET/HEAD).
 * - `Range` on GET: one range gives 206 with `Content-Range`, several give a
 *   206 `multipart/byteranges`; none satisfiable gives 416 with the size in
 *   `Content-Range`. A malformed `Range`, a unit other than
 *   `bytes`, or more than 16 ranges is ignored (200, whole file);
 *   overlapping or adjacent ranges are merged. `If-Range` (an entity-tag,
 *   compared strongly, or the exact `Last-Modified` date) lets the range
 *   through only when it matches.
 * - HEAD: the same fields and an empty body (an empty stream, not `null`, so
 *   that servers keep the `Content-Length`).
 *
 * The file is opened before this resolves only when there is a body to send
 * (not for HEAD, 304, 412 and 416), and closed at the end of the body, on a
 * read error and when the body is cancelled: like any streamed `Response`,
 * one that is not sent must have its body cancelled (servers do either).
 *
 * Rejects with {@linkcode HttpNotFound} when nothing is at `path` or it is a
 * directory (not revealing that it exists), with {@linkcode HttpForbidden}
 * when it may not be read (`EACCES`/`EPERM`), and with the runtime's error otherwise.
 *
 * @example Serve a file, then only its last 3 bytes
 * ```ts
 * import { fileResponse } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 * import { mkdtemp, writeFile } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const path = join(await mkdtemp(join(tmpdir(), "sluice-")), "hello.txt");
 * await writeFile(path, "Hello, world");
 * const get = (headers: Record<string, string>) => ({
 *   method: "GET",
 *   header: (name: string) => headers[name] ?? null,
 * });
 *
 * const whole = await fileResponse(get({}), path);
 * assert.equal(whole.headers.get("content-type"), "text/plain; charset=utf-8");
 * assert.equal(await whole.text(), "Hello, world");
 *
 * const tail = await fileResponse(get({ range: "bytes=-3" }), path);
 * assert.equal(tail.status, 206);
 * assert.equal(tail.headers.get("content-range"), "bytes 9-11/12");
 * assert.equal(await tail.text(), "rld");
 * ```
 */
export async function fileResponse(
  request: FileRequest,
  path: string,
  options: FileResponseOptions = {},
): Promise<Response> {
  const fs = options.fs ?? nodeFs;
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    throw new RangeError(
      `Cannot serve file: chunkSize must be a positive integer, got ${chunkSize}`,
    );
  }
  const method = request.method;
  const stat = await statFile(fs, path);

  const headers = new Headers(options.headers);
  let file = path;
  let info = stat;
  if (options.precompressed) {
    appendVary(headers, "Accept-Encoding");
    const sibling = await pickEncoded(fs, path, request.header("accept-encoding"));
    if (sibling !== null) {
      file = sibling.path;
      info = sibling.stat;
      headers.set("content-encoding", sibling.encoding);
    }
  }
  const size = info.size;
  const lastModified = Math.floor(info.mtimeMs / 1000) * 1000;
  const etag = options.etag === false
    ? null
    : `"${Math.floor(info.mtimeMs).toString(16)}-${size.toString(16)}"`;
  if (etag !== null) headers.set("etag", etag);
  headers.set("last-modified", new Date(lastModified).toUTCString());
  headers.set("accept-ranges", "bytes");
  const type = options.contentType ?? contentTypeFor(path);

  const precondition = evaluate(request, method, etag, lastModified);
  if (precondition === 412) return new Response(null, { status: 412 });
  if (precondition === 304) return new Response(null, { status: 304, headers });

  const body = async (segments: Segment[]): Promise<ReadableStream<Uint8Array>> => {
    // HEAD: an empty body rather than none, so that servers keep the Content-Length set here.
    if (method === "HEAD") return new ReadableStream({ start: (c) => c.close() });
    const handle = size === 0 ? null : await openFile(fs, file);
    return fileStream(handle, segments, chunkSize);
  };

  const ranges = method === "GET" && ifRange(request.header("if-range"), etag, lastModified)
    ? parseRange(request.header("range"), size)
    : null;
  if (ranges !== null && ranges.length === 0) {
    const h = new Headers({ "content-range": `bytes */${size}` });
    return new Response(null, { status: 416, headers: h });
  }
  if (ranges === null) {
    headers.set("content-type", type);
    headers.set("content-length", String(size));
    return new Response(await body([[0, size - 1]]), { status: 200, headers });
  }
  if (ranges.length === 1) {
    const { start, end } = ranges[0];
    headers.set("content-type", type);
    headers.set("content-range", `bytes ${start}-${end}/${size}`);
    headers.set("content-length", String(end - start + 1));
    return new Response(await body([[start, end]]), { status: 206, headers });
  }
  const { segments, length, boundary } = multipart(ranges, type, size);
  headers.set("content-type", `multipart/byteranges; boundary=${boundary}`);
  headers.set("content-length", String(length));
  return new Response(await body(segments), { status: 206, headers });
}

/** Maps "not there" to {@linkcode HttpNotFound} and "not allowed" to {@linkcode HttpForbidden}. */
function fsError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "ENOENT" || code === "ENOTDIR" || code === "ENAMETOOLONG") {
    return new HttpNotFound(undefined, { cause: err });
  }
  if (code === "EACCES" || code === "EPERM") return new HttpForbidden(undefined, { cause: err });
  return err;
}

async function statFile(fs: FileSystem, path: string): Promise<FileStat> {
  let stat: FileStat;
  try {
    stat = await fs.stat(path);
  } catch (err) {
    throw fsError(err);
  }
  if (!stat.isFile) throw new HttpNotFound();
  return stat;
}

async function openFile(fs: FileSystem, path: string): Promise<FileHandle> {
  try {
    return await fs.open(path);
  } catch (err) {
    throw fsError(err);
  }
}

/** The precompressed sibling `Accept-Encoding` allows and that exists, or `null`. */
async function pickEncoded(
  fs: FileSystem,
  path: string,
  accept: string | null,
): Promise<{ path: string; stat: FileStat; encoding: string } | null> {
  if (accept === null) return null;
  const q = new Map<string, number>();
  for (const part of accept.split(",")) {
    const [coding, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    if (coding === "") continue;
    let weight = 1;
    for (const p of params) {
      const m = /^q\s*=\s*([\d.]+)$/.exec(p);
      if (m !== null) weight = Number(m[1]);
    }
    q.set(coding, Number.isNaN(weight) ? 0 : weight);
  }
  const weightOf = (c: string): number => q.get(c) ?? q.get("*") ?? 0;
  const candidates = [["br", ".br"], ["gzip", ".gz"]]
    .filter(([c]) => weightOf(c) > 0)
    .sort((a, b) => weightOf(b[0]) - weightOf(a[0]));
  for (const [encoding, suffix] of candidates) {
    try {
      const stat = await fs.stat(path + suffix);
      if (stat.isFile) return { path: path + suffix, stat, encoding };
    } catch {
      // no such sibling (or unreadable): try the next
    }
  }
  return null;
}

function appendVary(headers: Headers, name: string): void {
  const vary = headers.get("vary");
  if (vary === null) headers.set("vary", name);
  else if (!vary.toLowerCase().split(",").some((v) => v.trim() === name.toLowerCase())) {
    headers.set("vary", `${vary}, ${name}`);
  }
}

/** RFC 9110 §13.2.2 steps 1–4: 412, 304, or 0 to go on. */
function evaluate(
  request: FileRequest,
  method: string,
  etag: string | null,
  lastModified: number,
): 0 | 304 | 412 {
  const ifMatch = request.header("if-match");
  if (ifMatch !== null) {
    const tags = parseETags(ifMatch);
    const ok = tags === "*" || (etag !== null && tags.some((t) => strongMatch(t, etag)));
    if (!ok) return 412;
  } else {
    const since = parseHttpDate(request.header("if-unmodified-since"));
    if (since !== null && lastModified > since) return 412;
  }
  const safe = method === "GET" || method === "HEAD";
  const ifNoneMatch = request.header("if-none-match");
  if (ifNoneMatch !== null) {
    const tags = parseETags(ifNoneMatch);
    const match = tags === "*" || (etag !== null && tags.some((t) => weakMatch(t, etag)));
    if (match) return safe ? 304 : 412;
  } else if (safe) {
    const since = parseHttpDate(request.header("if-modified-since"));
    if (since !== null && lastModified <= since) return 304;
  }
  return 0;
}

/** RFC 9110 §13.1.5: whether the range may be applied. */
function ifRange(field: string | null, etag: string | null, lastModified: number): boolean {
  if (field === null) return true;
  const value = field.trim();
  if (value.startsWith('"') || value.startsWith("W/")) {
    return etag !== null && strongMatch(value, etag);
  }
  return parseHttpDate(value) === lastModified;
}

/** A body piece: bytes to send as they are, or an inclusive byte range of the file. */
type Segment = Uint8Array | [start: number, end: number];

function multipart(
  ranges: ByteRange[],
  type: string,
  size: number,
): { segments: Segment[]; length: number; boundary: string } {
  const random = crypto.getRandomValues(new Uint8Array(12));
  const boundary = `sluice-${Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  const segments: Segment[] = [];
  let length = 0;
  for (const { start, end } of ranges) {
    const head = encoder.encode(
      `\r\n--${boundary}\r\ncontent-type: ${type}\r\n` +
        `content-range: bytes ${start}-${end}/${size}\r\n\r\n`,
    );
    segments.push(head, [start, end]);
    length += head.length + end - start + 1;
  }
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  segments.push(tail);
  length += tail.length;
  return { segments, length, boundary };
}

/**
 * A pull stream over `segments`: one chunk per pull, so reads follow the
 * consumer. `handle` (`null` when no segment reads the file) is closed at
 * the end, on a read error and on cancel.
 */
function fileStream(
  handle: FileHandle | null,
  segments: Segment[],
  chunkSize: number,
): ReadableStream<Uint8Array> {
  let index = 0;
  let position = -1;
  const release = async (): Promise<void> => {
    const h = handle;
    handle = null;
    index = segments.length;
    if (h !== null) await h.close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller): Promise<void> {
      try {
        while (index < segments.length) {
          const segment = segments[index];
          if (segment instanceof Uint8Array) {
            index++;
            controller.enqueue(segment);
            return;
          }
          const [start, end] = segment;
          if (position < 0) position = start;
          if (position > end || handle === null) {
            index++;
            position = -1;
            continue;
          }
          const reader = handle;
          const buffer = new Uint8Array(Math.min(chunkSize, end - position + 1));
          let filled = 0;
          while (filled < buffer.length) {
            const n = await reader.read(buffer.subarray(filled), position + filled);
            if (n === 0) throw new Error("Cannot read file: it is shorter than when it was sized");
            filled += n;
          }
          position += filled;
          controller.enqueue(buffer);
          return;
        }
        await release();
        controller.close();
      } catch (err) {
        await release().catch(() => {});
        controller.error(err);
      }
    },
    async cancel(): Promise<void> {
      await release();
    },
  }, { highWaterMark: 0 });
}

/**
 * The same as {@linkcode fileResponse}, by the name the response helpers
 * (`json`, `text`, `redirect`, …) use: a file from disk, with ranges,
 * validators and conditional requests.
 *
 * @example
 * ```ts
 * import { Application, file } from "@sluice/http/server";
 *
 * const app = new Application();
 * app.router.get("/report", (req) => file(req, "./reports/latest.pdf"));
 * ```
 */
export const file: typeof fileResponse = fileResponse;
