/**
 * Request-body compression for the client's `compress` request option:
 * bytes are compressed at once (with their new length), streams as they are
 * read (sent chunked). Built on `server/_zlib.ts` (`node:zlib`).
 *
 * @module
 */

import * as zlib from "node:zlib";
import {
  createEncoder,
  defaultFlush,
  HAS_ZSTD,
  pipeZlib,
  syncFlush,
  type ZlibCoding,
} from "../server/_zlib.ts";

/** A coding {@linkcode compressRequestBody} can apply. */
export type RequestCoding = "gzip" | "deflate" | "br" | "zstd";

/** What {@linkcode compressRequestBody} returns. */
export interface CompressedRequestBody {
  /** The encoded body: bytes for bytes, a stream for a stream. */
  body: Uint8Array | ReadableStream<Uint8Array>;
  /** The encoded length for bytes; `null` for a stream (send it chunked). */
  contentLength: number | null;
}

/** Level range and default per coding (the server's defaults). */
const LEVELS: Record<RequestCoding, readonly [min: number, max: number, dflt: number]> = {
  gzip: [0, 9, 6],
  deflate: [0, 9, 6],
  br: [0, 11, 4],
  zstd: [1, 22, 3],
};

type ZstdSync = (data: Uint8Array, options?: unknown) => Uint8Array;

/**
 * Compresses a request body with `coding` (send it with
 * `Content-Encoding: <coding>`). Bytes are compressed synchronously and come
 * back with their length; a stream comes back as a stream, each source
 * chunk flushed through the encoder (so a slow stream stays live), without
 * a length. Cancelling the returned stream cancels the source.
 *
 * @param body The body to send.
 * @param coding `"gzip"`, `"deflate"` (zlib-wrapped), `"br"` or `"zstd"` (where the runtime has it).
 * @param level gzip/deflate 0–9 (default 6), br 0–11 (default 4), zstd 1–22 (default 3).
 * @returns The encoded body and its length (`null` for a stream).
 * @throws {RangeError} for an unknown coding, zstd on a runtime without it, or a level out of range.
 *
 * @example
 * ```ts
 * import { compressRequestBody } from "./_compress_request.ts";
 * import { gunzipSync } from "node:zlib";
 * import assert from "node:assert/strict";
 *
 * const data = new TextEncoder().encode("hello ".repeat(100));
 * const { body, contentLength } = compressRequestBody(data, "gzip");
 * assert.ok(body instanceof Uint8Array);
 * assert.equal(contentLength, body.byteLength);
 * assert.equal(gunzipSync(body).toString(), "hello ".repeat(100));
 * ```
 */
export function compressRequestBody(
  body: Uint8Array | ReadableStream<Uint8Array>,
  coding: RequestCoding,
  level?: number,
): CompressedRequestBody {
  const range = Object.hasOwn(LEVELS, coding) ? LEVELS[coding] : undefined;
  if (range === undefined) {
    throw new RangeError(`Cannot compress request body with "${String(coding)}": not a coding`);
  }
  if (coding === "zstd" && !HAS_ZSTD) {
    throw new RangeError(
      "Cannot compress request body with zstd: this runtime's node:zlib lacks it",
    );
  }
  const lvl = level ?? range[2];
  if (!(Number.isInteger(lvl) && lvl >= range[0] && lvl <= range[1])) {
    throw new RangeError(
      `Cannot compress request body with ${coding} level ${lvl}: not an integer in ${range[0]}–${
        range[1]
      }`,
    );
  }
  if (body instanceof Uint8Array) {
    const out = compressSync(body, coding, lvl);
    return { body: out, contentLength: out.byteLength };
  }
  if (!(body instanceof ReadableStream)) {
    throw new TypeError("Cannot compress request body: not a Uint8Array or ReadableStream");
  }
  const stream = pipeZlib(body, {
    create: () => createEncoder(coding as ZlibCoding, lvl),
    flushEach: coding === "gzip" || coding === "deflate" ? syncFlush : defaultFlush,
    mapError: (err) =>
      new TypeError(`Cannot compress request body: ${err.message}`, { cause: err }),
  });
  return { body: stream, contentLength: null };
}

/** Compresses `data` at once; the result is a plain `Uint8Array` view. */
function compressSync(data: Uint8Array, coding: RequestCoding, level: number): Uint8Array {
  let out: Uint8Array;
  switch (coding) {
    case "gzip":
      out = zlib.gzipSync(data, { level });
      break;
    case "deflate":
      out = zlib.deflateSync(data, { level });
      break;
    case "br":
      out = zlib.brotliCompressSync(data, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: level,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.byteLength,
        },
      });
      break;
    case "zstd":
      // 100 is ZSTD_c_compressionLevel.
      out = (zlib as unknown as { zstdCompressSync: ZstdSync }).zstdCompressSync(data, {
        params: { 100: level },
      });
      break;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
