/**
 * Response compression and request decompression: content-coding
 * negotiation ({@linkcode negotiateEncoding}), compressing a response
 * ({@linkcode compressResponse}) and decoding a request body with size and
 * zip-bomb limits ({@linkcode decompressBody}). The compression middleware
 * calls these; they are usable on their own too.
 *
 * Codings: `gzip`, `deflate`, `br` everywhere, `zstd` where the runtime's
 * `node:zlib` has it (Node 22.15+, Bun, Deno; not Node 20). All of them run
 * on `node:zlib` (the one `node:*` module the server layer may use, behind
 * `_zlib.ts`), not on `CompressionStream`: the web stream cannot flush, so a
 * slow body would sit in the encoder until enough bytes piled up, and it has
 * no brotli anyway.
 *
 * @module
 */

import { HttpUnsupportedMediaType } from "./_http_client_errors.ts";
import { BodyError } from "./errors.ts";
import { lightBodyBytes, lightParts, trailersOf, withTrailers } from "./responses.ts";
import {
  createEncoder,
  decodeChain,
  defaultFlush,
  HAS_ZSTD,
  pipeZlib,
  syncFlush,
  type ZlibCoding,
} from "./_zlib.ts";

const ALL_CODINGS: readonly ZlibCoding[] = ["br", "zstd", "gzip", "deflate"];

/**
 * The content codings this runtime can encode and decode, in the default
 * server preference order (`br`, then `zstd` where available, `gzip`,
 * `deflate`).
 *
 * @example
 * ```ts
 * import { supportedEncodings } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.ok(supportedEncodings().includes("gzip"));
 * ```
 */
export function supportedEncodings(): string[] {
  return ALL_CODINGS.filter((c) => c !== "zstd" || HAS_ZSTD);
}

/** Parses a q-value (RFC 9110 §12.4.2); `null` when malformed. */
function parseQ(value: string): number | null {
  if (!/^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(value)) return null;
  return Number(value);
}

/**
 * Picks the content coding to answer with from an `Accept-Encoding` value
 * (RFC 9110 §12.5.3), or `null` for none (send the body as is).
 *
 * A coding's weight is its own entry's q, else the `*` entry's, else 0; the
 * highest weight above 0 wins and ties go to the earlier entry of
 * `available` (the server's preference order). `x-gzip` counts as `gzip`.
 * An absent field gives `null`: the RFC allows any coding then, but clients
 * that send no `Accept-Encoding` (scripts, `curl` without `--compressed`)
 * often cannot decode one. Malformed entries are ignored. When nothing is
 * acceptable the answer is `null` even if identity was refused
 * (`identity;q=0`): sending the body unencoded is what RFC 9110 suggests.
 *
 * @param acceptEncoding The request's `Accept-Encoding` value, or `null`.
 * @param available The codings the server offers, most preferred first.
 * @returns The chosen coding (as spelled in `available`), or `null`.
 *
 * @example
 * ```ts
 * import { negotiateEncoding } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(negotiateEncoding("gzip, br", ["br", "gzip"]), "br");
 * assert.equal(negotiateEncoding("gzip;q=1, br;q=0.5", ["br", "gzip"]), "gzip");
 * assert.equal(negotiateEncoding("*;q=0, identity", ["br", "gzip"]), null);
 * assert.equal(negotiateEncoding(null, ["gzip"]), null);
 * ```
 */
export function negotiateEncoding(
  acceptEncoding: string | null,
  available: readonly string[],
): string | null {
  if (acceptEncoding === null) return null;
  const weights = new Map<string, number>();
  for (const part of acceptEncoding.split(",")) {
    const [rawName, ...params] = part.split(";");
    let name = rawName.trim().toLowerCase();
    if (name === "") continue;
    if (name === "x-gzip") name = "gzip";
    let q: number | null = 1;
    for (const param of params) {
      const eq = param.indexOf("=");
      if (eq === -1) continue;
      if (param.slice(0, eq).trim().toLowerCase() !== "q") continue;
      q = parseQ(param.slice(eq + 1).trim());
    }
    if (q === null || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) continue;
    // The most specific entry wins; among duplicates, keep the highest.
    weights.set(name, Math.max(q, weights.get(name) ?? 0));
  }
  const star = weights.get("*");
  let best: string | null = null;
  let bestQ = 0;
  for (const coding of available) {
    const q = weights.get(coding.toLowerCase()) ?? star ?? 0;
    if (q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  return best;
}

/** Per-coding compression levels of {@linkcode CompressOptions}. */
export interface CompressionLevels {
  /** gzip level 0–9; default 6. */
  gzip?: number;
  /** deflate level 0–9; default 6. */
  deflate?: number;
  /** Brotli quality 0–11; default 4 (11, zlib's default, is far too slow for live responses). */
  br?: number;
  /** zstd level 1–22; default 3. */
  zstd?: number;
}

/** Options of {@linkcode compressResponse}. */
export interface CompressOptions {
  /**
   * Bodies of a known length below this many bytes are sent as they are;
   * default 1024. The length is known from `Content-Length` or, for the
   * light responses of `text()`/`json()`/`html()` on Node, from their body.
   * A body of unknown length (a stream, or a platform `Response` made from a
   * string, which has no `Content-Length`) is compressed whatever its size.
   */
  threshold?: number;
  /**
   * The codings to offer, most preferred first; default
   * {@linkcode supportedEncodings}. `zstd` is dropped silently where the
   * runtime lacks it, so a list can be portable.
   */
  encodings?: readonly string[];
  /** Compression levels per coding. */
  levels?: CompressionLevels;
}

const LEVEL_RANGE: Record<ZlibCoding, [number, number, number]> = {
  gzip: [0, 9, 6],
  deflate: [0, 9, 6],
  br: [0, 11, 4],
  zstd: [1, 22, 3],
};

/** Content types left alone (see {@linkcode compressResponse}); `image|video|audio/*` are checked apart. */
const INCOMPRESSIBLE = new Set([
  "font/woff",
  "font/woff2",
  "application/zip",
  "application/gzip",
  "application/x-gzip",
  "application/zstd",
  "application/x-bzip2",
  "application/x-xz",
  "application/x-7z-compressed",
  "application/x-rar-compressed",
  "application/vnd.rar",
  "application/pdf",
  "application/octet-stream",
  "text/event-stream",
]);

/** Whether a `Content-Type` value is worth compressing. */
function compressibleType(contentType: string | null): boolean {
  if (contentType === null) return false;
  const type = contentType.split(";")[0].trim().toLowerCase();
  if (type === "") return false;
  if (type === "image/svg+xml") return true;
  if (/^(?:image|video|audio)\//.test(type)) return false;
  return !INCOMPRESSIBLE.has(type);
}

/** The codings to offer from the options, validated. */
function offered(encodings: readonly string[] | undefined): ZlibCoding[] {
  if (encodings === undefined) return supportedEncodings() as ZlibCoding[];
  const out: ZlibCoding[] = [];
  for (const e of encodings) {
    const coding = e.toLowerCase();
    if (!(ALL_CODINGS as readonly string[]).includes(coding)) {
      throw new RangeError(`Cannot compress with "${e}": not one of ${ALL_CODINGS.join(", ")}`);
    }
    if (coding === "zstd" && !HAS_ZSTD) continue;
    out.push(coding as ZlibCoding);
  }
  return out;
}

function levelOf(coding: ZlibCoding, levels: CompressionLevels | undefined): number {
  const [min, max, fallback] = LEVEL_RANGE[coding];
  const level = levels?.[coding] ?? fallback;
  if (!Number.isInteger(level) || level < min || level > max) {
    throw new RangeError(`Cannot use ${coding} level ${level}: not an integer in ${min}–${max}`);
  }
  return level;
}

/** The body length of `response` (or a lower bound of it, when that is at least `threshold`), or `null`. */
function knownLength(response: Response, threshold: number): number | null {
  const parts = lightParts(response);
  if (parts !== null) {
    const body = parts.body;
    // UTF-8 needs 1–3 bytes per UTF-16 unit: encode only when that is unclear.
    if (typeof body === "string" && body.length >= threshold) return body.length;
    return lightBodyBytes(body).byteLength;
  }
  const value = response.headers.get("content-length");
  if (value === null || !/^\d+$/.test(value.trim())) return null;
  return Number(value);
}

/** Adds `Accept-Encoding` to a `Vary` value unless it is there (or `*`). */
function mergeVary(headers: Headers): void {
  const vary = headers.get("vary");
  if (vary === null || vary.trim() === "") {
    headers.set("vary", "Accept-Encoding");
    return;
  }
  const names = vary.split(",").map((n) => n.trim().toLowerCase());
  if (names.includes("*") || names.includes("accept-encoding")) return;
  headers.set("vary", `${vary}, Accept-Encoding`);
}

/**
 * Compresses `response` for `request` when that is worthwhile and allowed;
 * otherwise returns `response` itself, unchanged.
 *
 * Left alone: a `HEAD` request; status 1xx, 204, 206 and 304; a response
 * that has `Content-Encoding` or `Content-Range` already, or
 * `Cache-Control: no-transform`; no body; a known length under `threshold`;
 * no coding acceptable to the client; or a content type that is compressed
 * already or of unknown kind: `image/*` except `image/svg+xml`, `video/*`,
 * `audio/*`, `font/woff`, `font/woff2`, `application/zip`,
 * `application/gzip`, `application/x-gzip`, `application/zstd`,
 * `application/x-bzip2`, `application/x-xz`, `application/x-7z-compressed`,
 * `application/x-rar-compressed`, `application/vnd.rar`, `application/pdf`,
 * `application/octet-stream` and no `Content-Type` at all (RFC 9110 §8.3
 * lets a recipient treat it as octet-stream); and `text/event-stream`, so
 * that events are never held in an encoder. Even a
 * response left alone gets `Vary: Accept-Encoding` when only the client's
 * `Accept-Encoding` decided it, so caches keep the variants apart.
 *
 * A compressed response streams: each body chunk is encoded and flushed as
 * it comes, so a slow body reaches the client progressively. The trade-off
 * is ratio: a flush per chunk costs a few bytes each and resets nothing, so
 * bodies written in many tiny chunks compress a little worse than one
 * buffered pass would. `Content-Length` is removed, `Content-Encoding` set,
 * `Vary` merged and a strong `ETag` weakened (the bytes differ from the
 * identity representation's). Trailers attached with `withTrailers()` carry
 * over.
 *
 * @param request The request's method and headers (an `IncomingRequest` fits).
 * @param response The response to compress.
 * @param options Threshold, offered codings and levels.
 * @returns A new compressed response, or `response` unchanged.
 *
 * @example
 * ```ts
 * import { compressResponse } from "@sluice/http";
 * import { gunzipSync } from "node:zlib";
 * import assert from "node:assert/strict";
 *
 * const request = { method: "GET", headers: new Headers({ "accept-encoding": "gzip" }) };
 * const body = "hello ".repeat(500);
 * const res = compressResponse(request, new Response(body, { headers: { "content-type": "text/plain" } }));
 * assert.equal(res.headers.get("content-encoding"), "gzip");
 * assert.equal(res.headers.get("vary"), "Accept-Encoding");
 * const bytes = new Uint8Array(await res.arrayBuffer());
 * assert.equal(gunzipSync(bytes).toString(), body);
 * ```
 */
export function compressResponse(
  request: { readonly method: string; readonly headers: Headers },
  response: Response,
  options?: CompressOptions,
): Response {
  const threshold = options?.threshold ?? 1024;
  if (!Number.isSafeInteger(threshold) || threshold < 0) {
    throw new RangeError(`Cannot compress with threshold ${threshold}: not a non-negative integer`);
  }
  const codings = offered(options?.encodings);
  const status = response.status;
  if (request.method.toUpperCase() === "HEAD") return response;
  if (status < 200 || status === 204 || status === 206 || status === 304) return response;
  const length = knownLength(response, threshold);
  if (length !== null && length < threshold) return response;
  const headers = response.headers;
  if (headers.has("content-encoding") || headers.has("content-range")) return response;
  if (/(?:^|,)\s*no-transform\s*(?:,|$)/i.test(headers.get("cache-control") ?? "")) {
    return response;
  }
  if (!compressibleType(headers.get("content-type"))) return response;
  if (response.body === null) return response;
  const coding = negotiateEncoding(request.headers.get("accept-encoding"), codings) as
    | ZlibCoding
    | null;
  if (coding === null) {
    try {
      mergeVary(headers);
    } catch {
      // immutable headers (e.g. a fetched response): leave them
    }
    return response;
  }
  const level = levelOf(coding, options?.levels);
  const out = new Headers(headers);
  out.delete("content-length");
  // Ranges would be of the identity body, not of what is sent.
  out.delete("accept-ranges");
  out.set("content-encoding", coding);
  mergeVary(out);
  const etag = out.get("etag");
  if (etag !== null && etag.startsWith('"')) out.set("etag", `W/${etag}`);
  const body = pipeZlib(response.body, {
    create: () => createEncoder(coding, level),
    flushEach: coding === "gzip" || coding === "deflate" ? syncFlush : defaultFlush,
    mapError: (err) => new TypeError(`Cannot compress response body: ${err.message}`),
  });
  const compressed = new Response(body, {
    status,
    statusText: response.statusText,
    headers: out,
  });
  const trailers = trailersOf(response);
  return trailers === null ? compressed : withTrailers(compressed, trailers);
}

/** Limits of {@linkcode decompressBody}. */
export interface DecompressOptions {
  /** The most decoded bytes allowed; past it the stream fails with 413. */
  maxSize: number;
  /**
   * The largest decoded/encoded ratio allowed once 1 MiB has been decoded;
   * past it the stream fails with 413 (a zip bomb). Text compresses ~3–10×,
   * so 50–100 is a generous cap.
   */
  maxRatio: number;
}

/** Splits a `Content-Encoding` value into the codings to undo, last applied first. */
function codingsToUndo(contentEncoding: string): ZlibCoding[] {
  const list = contentEncoding.split(",").map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
  if (list.length > 2) {
    throw new HttpUnsupportedMediaType(
      `Cannot decode request body: ${list.length} stacked content codings (at most 2)`,
      { headers: { "accept-encoding": supportedEncodings().join(", ") } },
    );
  }
  const out: ZlibCoding[] = [];
  for (const raw of list) {
    const c = raw === "x-gzip" ? "gzip" : raw;
    if (!(ALL_CODINGS as readonly string[]).includes(c) || (c === "zstd" && !HAS_ZSTD)) {
      throw new HttpUnsupportedMediaType(
        `Cannot decode request body: unsupported content coding "${raw}"`,
        { headers: { "accept-encoding": supportedEncodings().join(", ") } },
      );
    }
    out.push(c as ZlibCoding);
  }
  return out.reverse();
}

/**
 * Decodes a request body sent with `Content-Encoding` (`gzip`, `deflate`
 * (zlib-wrapped or raw), `br`, `zstd` where available; `identity` and
 * `x-gzip` are understood; at most two stacked codings such as
 * `"gzip, br"`), with limits.
 *
 * The stream fails with `BodyError` `SLUICE_ERR_BODY_TOO_LARGE` (413) once
 * more than `maxSize` decoded bytes came, or once past the first 1 MiB the
 * decoded bytes exceed `maxRatio` times the encoded bytes read (a zip bomb):
 * decoding stops there, without inflating the rest. Corrupt or truncated
 * input fails it with `BodyError` `SLUICE_ERR_BODY_ABORTED` (400). The
 * limits apply to the final decoded bytes against the bytes received.
 *
 * @param body The encoded body.
 * @param contentEncoding The request's `Content-Encoding` value.
 * @param options `maxSize` and `maxRatio`.
 * @returns The decoded body (`body` itself when there is nothing to undo).
 * @throws {HttpUnsupportedMediaType} An unknown coding or more than two (415).
 *
 * @example
 * ```ts
 * import { decompressBody } from "@sluice/http";
 * import { gzipSync } from "node:zlib";
 * import assert from "node:assert/strict";
 *
 * const encoded = new Response(gzipSync("hello")).body!;
 * const decoded = decompressBody(encoded, "gzip", { maxSize: 1 << 20, maxRatio: 100 });
 * assert.equal(await new Response(decoded).text(), "hello");
 * ```
 */
export function decompressBody(
  body: ReadableStream<Uint8Array>,
  contentEncoding: string,
  options: DecompressOptions,
): ReadableStream<Uint8Array> {
  const { maxSize, maxRatio } = options;
  if (!(maxSize >= 0)) throw new RangeError(`Cannot decode with maxSize ${maxSize}: not >= 0`);
  if (!(maxRatio > 0)) throw new RangeError(`Cannot decode with maxRatio ${maxRatio}: not > 0`);
  const codings = codingsToUndo(contentEncoding);
  if (codings.length === 0) return body;
  return decodeChain(body, codings, {
    maxSize,
    maxRatio,
    tooLarge: (detail) =>
      new BodyError("SLUICE_ERR_BODY_TOO_LARGE", `Cannot read request body: ${detail}`),
    corrupt: (coding, err) =>
      new BodyError(
        "SLUICE_ERR_BODY_ABORTED",
        `Cannot read request body: corrupt ${coding} data (${err.message})`,
        { cause: err },
      ),
  });
}
