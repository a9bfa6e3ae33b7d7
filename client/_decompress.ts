/**
 * Response-body decoding for the client: streaming, pull-based decoding of
 * `Content-Encoding` (`gzip`/`x-gzip`, `deflate` zlib-wrapped or raw, `br`,
 * `zstd` where the runtime has it), with zip-bomb caps, and the default
 * `Accept-Encoding` value. Built on `server/_zlib.ts` (`node:zlib`).
 *
 * The response's `Content-Encoding` and `Content-Length` fields are kept as
 * received (fetch semantics, as undici, browsers and aiohttp do): they
 * describe the message on the wire, not the decoded bytes.
 *
 * @module
 */

import { decodeChain, HAS_ZSTD, type ZlibCoding } from "../server/_zlib.ts";
import { concatBytes } from "../util/bytes.ts";
import { ClientPayloadError } from "./errors.ts";

/** Options of {@linkcode decodeBody}. */
export interface DecodeBodyOptions {
  /** The most decoded bytes allowed; past it the stream fails. Default: no cap. */
  maxSize?: number;
  /**
   * The largest decoded/encoded ratio allowed once more than 1 MiB has been
   * decoded (so small, highly compressible bodies pass); past it the stream
   * fails (a zip bomb). Default 1000.
   */
  maxRatio?: number;
  /** Aborting errors the decoded stream with the reason and cancels the source. */
  signal?: AbortSignal;
}

/** What {@linkcode decodeBody} returns. */
export interface DecodedBody {
  /** The decoded body, or the source itself when there is nothing to undo or a coding is unknown. */
  body: ReadableStream<Uint8Array>;
  /** Whether any coding is being undone. */
  decoded: boolean;
  /** The first coding this module cannot undo (the body is then passed through as received), else `null`. */
  unknown: string | null;
}

/** At most this many stacked codings are undone (undici's limit, against a CPU-bound stack). */
const MAX_CODINGS = 5;
/** Source chunks are fed to the decoder in slices of at most this many bytes, bounding the output of one step. */
const FEED_SLICE = 16 * 1024;

/**
 * The default `Accept-Encoding` of the client: the codings
 * {@linkcode decodeBody} can undo on this runtime.
 *
 * @returns `"gzip, deflate, br"`, plus `", zstd"` where `node:zlib` has zstd.
 *
 * @example
 * ```ts
 * import { acceptEncodingValue } from "./_decompress.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(acceptEncodingValue(), /^gzip, deflate, br(, zstd)?$/);
 * ```
 */
export function acceptEncodingValue(): string {
  return HAS_ZSTD ? "gzip, deflate, br, zstd" : "gzip, deflate, br";
}

/** Splits a `Content-Encoding` value into codings in the order they were applied. */
function parseCodings(contentEncoding: string): string[] {
  return contentEncoding.split(",").map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
}

/** The coding `node:zlib` decodes for a coding name, or `null` when unknown here. */
function zlibCodingOf(coding: string): ZlibCoding | null {
  switch (coding) {
    case "gzip":
    case "x-gzip":
      return "gzip";
    case "deflate":
    case "br":
      return coding;
    case "zstd":
      return HAS_ZSTD ? "zstd" : null;
    default:
      return null;
  }
}

/**
 * Decodes a response body sent with `Content-Encoding`, as the consumer
 * reads it. A list such as `"gzip, br"` is undone last coding first;
 * `identity` is skipped; `deflate` is accepted zlib-wrapped or raw (as
 * browsers do). When any coding is unknown (or `zstd` on a runtime without
 * it) the body is returned as received and the coding reported in
 * `unknown` (fetch semantics; aiohttp would raise).
 *
 * Decoding is pull-based: one source chunk (fed in 16 KiB slices) is read
 * only when the consumer asks for more and nothing is buffered, so a body
 * read partly is decoded partly. Once more than 1 MiB has been decoded, the
 * stream fails with `ClientPayloadError` `SLUICE_ERR_CLIENT_PAYLOAD_TOO_LARGE`
 * when the decoded bytes pass `maxRatio` times the encoded bytes read, or at
 * any point when they pass `maxSize`; the source is cancelled there, unread.
 * Corrupt or truncated data fails it with `SLUICE_ERR_CLIENT_PAYLOAD_DECOMPRESS`.
 * Cancelling the result cancels the source and frees the decoder.
 *
 * The response's `Content-Encoding` and `Content-Length` fields are left
 * as received (as fetch does).
 *
 * @param body The body as received.
 * @param contentEncoding The response's `Content-Encoding` value.
 * @param options `maxSize`, `maxRatio` and `signal`.
 * @returns The decoded body, whether anything is decoded, and an unknown coding if any.
 * @throws {RangeError} for a `maxSize` < 0 or a `maxRatio` ≤ 0.
 * @throws {ClientPayloadError} `SLUICE_ERR_CLIENT_PAYLOAD_DECOMPRESS` for more than 5 stacked codings.
 *
 * @example
 * ```ts
 * import { decodeBody } from "./_decompress.ts";
 * import { gzipSync } from "node:zlib";
 * import assert from "node:assert/strict";
 *
 * const encoded = new Response(gzipSync("hello")).body!;
 * const { body, decoded } = decodeBody(encoded, "gzip", {});
 * assert.equal(decoded, true);
 * assert.equal(await new Response(body).text(), "hello");
 * ```
 */
export function decodeBody(
  body: ReadableStream<Uint8Array>,
  contentEncoding: string,
  options: DecodeBodyOptions = {},
): DecodedBody {
  const maxSize = options.maxSize ?? Infinity;
  const maxRatio = options.maxRatio ?? 1000;
  if (typeof maxSize !== "number" || !(maxSize >= 0)) {
    throw new RangeError(`Cannot decode response body with maxSize ${String(maxSize)}: not >= 0`);
  }
  if (typeof maxRatio !== "number" || !(maxRatio > 0)) {
    throw new RangeError(`Cannot decode response body with maxRatio ${String(maxRatio)}: not > 0`);
  }
  const list = parseCodings(contentEncoding);
  if (list.length > MAX_CODINGS) {
    body.cancel().catch(() => {});
    throw new ClientPayloadError(
      "SLUICE_ERR_CLIENT_PAYLOAD_DECOMPRESS",
      `Cannot read response body: ${list.length} stacked content codings (at most ${MAX_CODINGS})`,
    );
  }
  const codings: ZlibCoding[] = [];
  for (const name of list) {
    const coding = zlibCodingOf(name);
    if (coding === null) return { body, decoded: false, unknown: name };
    codings.push(coding);
  }
  if (codings.length === 0) return { body, decoded: false, unknown: null };
  codings.reverse();

  const stream = decodeChain(body, codings, {
    maxSize,
    maxRatio,
    // Bounded slices; raw and zlib-wrapped deflate are told apart by the first two bytes.
    input: (source, coding) => sliced(source, coding === "deflate" ? 2 : 1),
    tooLarge: (detail) =>
      new ClientPayloadError(
        "SLUICE_ERR_CLIENT_PAYLOAD_TOO_LARGE",
        `Cannot read response body: ${detail}`,
      ),
    corrupt: (coding, err) =>
      new ClientPayloadError(
        "SLUICE_ERR_CLIENT_PAYLOAD_DECOMPRESS",
        `Cannot read response body: corrupt or truncated ${coding} data (${err.message})`,
        { cause: err },
      ),
  });
  const signal = options.signal;
  return { body: signal ? abortable(stream, signal) : stream, decoded: true, unknown: null };
}

/**
 * Re-chunks `source` into slices of at most {@linkcode FEED_SLICE} bytes,
 * pulled one at a time; the first slice has at least `minFirst` bytes
 * unless the source ends sooner.
 */
function sliced(source: ReadableStream<Uint8Array>, minFirst: number): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let rest: Uint8Array | null = null;
  let first = true;
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      if (first) {
        first = false;
        const parts: Uint8Array[] = [];
        let size = 0;
        while (size < minFirst || size === 0) {
          const { done, value } = await reader.read();
          if (done) break;
          parts.push(value);
          size += value.byteLength;
        }
        if (size === 0) return ctrl.close();
        rest = parts.length === 1 ? parts[0] : concatBytes(parts, size);
      } else if (rest === null) {
        const { done, value } = await reader.read();
        if (done) return ctrl.close();
        rest = value;
      }
      const chunk: Uint8Array = rest;
      if (chunk.byteLength <= FEED_SLICE) {
        rest = null;
        ctrl.enqueue(chunk);
      } else {
        rest = chunk.subarray(FEED_SLICE);
        ctrl.enqueue(chunk.subarray(0, FEED_SLICE));
      }
    },
    cancel(reason) {
      rest = null;
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** Wraps `inner` so that aborting `signal` errors the result and cancels `inner`. */
function abortable(
  inner: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  const reader = inner.getReader();
  let onAbort: (() => void) | null = null;
  const detach = (): void => {
    if (onAbort !== null) signal.removeEventListener("abort", onAbort);
    onAbort = null;
  };
  return new ReadableStream<Uint8Array>({
    start(ctrl) {
      onAbort = () => {
        detach();
        try {
          ctrl.error(signal.reason);
        } catch {
          // already closed
        }
        reader.cancel(signal.reason).catch(() => {});
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    },
    async pull(ctrl) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (err) {
        detach();
        throw err;
      }
      if (signal.aborted) return;
      if (result.done) {
        detach();
        ctrl.close();
      } else ctrl.enqueue(result.value);
    },
    cancel(reason) {
      detach();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
