/**
 * Compression as a middleware: responses encoded with the best coding the
 * client accepts (`br`, `zstd`, `gzip`, `deflate`), and optionally request
 * bodies sent with `Content-Encoding` decoded for the handler.
 *
 * @module
 */

import { HttpUnsupportedMediaType } from "../_http_client_errors.ts";
import {
  type CompressionLevels,
  compressResponse,
  decompressBody,
  supportedEncodings,
} from "../compression.ts";
import type { ServerRequest } from "../server_request.ts";
import type { Middleware } from "./compose.ts";

/** Limits of the request-side decoding of {@linkcode compress}. */
export interface DecompressRequestOptions {
  /**
   * The most decoded bytes a body may have, also for streaming reads of
   * `req.body`; past it the read fails with 413. Default: no limit beyond
   * `clientMaxSize`, which bounds the buffered reads (`text()`, `json()`…)
   * by their decoded size.
   */
  maxSize?: number;
  /** The largest decoded/encoded ratio once 1 MiB has been decoded (a zip bomb); past it 413. Default 100. */
  maxRatio?: number;
}

/** Options of {@linkcode compress}. */
export interface CompressMiddlewareOptions<R = ServerRequest> {
  /** The codings to offer, most preferred first. Default: every one the runtime has (`br`, `zstd`, `gzip`, `deflate`). */
  encodings?: readonly string[];
  /** Bodies of a known length under this many bytes are sent as they are. Default 1024. */
  threshold?: number;
  /** Compression levels per coding (gzip/deflate 0–9, default 6; br 0–11, default 4; zstd 1–22, default 3). */
  levels?: CompressionLevels;
  /**
   * Return `false` to send a response as it is. It narrows the built-in
   * rule, which leaves alone images (but SVG), audio, video, fonts,
   * archives, PDF, `application/octet-stream`, `text/event-stream` and
   * bodies without `Content-Type`: those are never compressed.
   */
  filter?: (response: Response, request: R) => boolean;
  /**
   * Decode request bodies sent with `Content-Encoding` (`gzip`, `x-gzip`,
   * `deflate`, `br`, `zstd` where the runtime has it; at most two stacked),
   * so that `req.body`, `req.text()`, `req.json()`… yield the decoded bytes;
   * any other coding answers 415 with `Accept-Encoding` listing the known
   * ones (RFC 7694). `true` for the default limits. Default `false`: bodies
   * are read as sent.
   */
  decompressRequests?: boolean | DecompressRequestOptions;
}

const LEVELS: Record<string, [number, number]> = {
  gzip: [0, 9],
  deflate: [0, 9],
  br: [0, 11],
  zstd: [1, 22],
};

/**
 * A compression middleware, for `app.use()` or for one route; a thin layer
 * over {@linkcode compressResponse}, which says exactly what is left alone
 * (`204`, `206`, `304`, `Cache-Control: no-transform`, bodies already
 * encoded or under `threshold`, incompressible types) and how bodies stream
 * (each chunk flushed, so slow streams stay live). `Vary: Accept-Encoding`
 * is added whenever the client's `Accept-Encoding` decided. A compressed
 * response loses `Accept-Ranges` (ranges are served of the identity body).
 *
 * A `HEAD` request gets the fields its `GET` would have (`Content-Encoding`,
 * `Vary`, no `Content-Length`) and its body is cancelled unread. With
 * `decompressRequests`, a request body sent with `Content-Encoding` is
 * decoded as the handler reads it, bounded by `maxSize` and `maxRatio`: past
 * them the read fails with a `BodyError` that the server answers with 413
 * (closing the connection, as the rest of the body is unread); corrupt data
 * answers 400 the same way. The request's `Content-Encoding` field stays as
 * sent, `req.contentLength` becomes `null`.
 *
 * @param options Codings, threshold, levels, filter and request decoding.
 * @returns The middleware.
 *
 * @example
 * ```ts
 * import { Application, compress, text } from "@sluice/http/server";
 * import { gunzipSync } from "node:zlib";
 * import assert from "node:assert/strict";
 *
 * const app = new Application();
 * app.use(compress({ encodings: ["gzip"], decompressRequests: true }));
 * app.router.get("/", () => text("hello ".repeat(1000)));
 *
 * const res = await app.fetch(new Request("http://localhost/", {
 *   headers: { "accept-encoding": "gzip, br" },
 * }));
 * assert.equal(res.headers.get("content-encoding"), "gzip");
 * assert.equal(res.headers.get("vary"), "Accept-Encoding");
 * const body = gunzipSync(new Uint8Array(await res.arrayBuffer())).toString();
 * assert.equal(body, "hello ".repeat(1000));
 * ```
 */
export function compress<R extends ServerRequest<unknown, Record<string, string>> = ServerRequest>(
  options: CompressMiddlewareOptions<NoInfer<R>> = {},
): Middleware<R> {
  const settings = {
    encodings: options.encodings,
    threshold: options.threshold,
    levels: options.levels,
  };
  // Validates threshold and encodings now rather than on the first request.
  compressResponse({ method: "HEAD", headers: new Headers() }, new Response(null), settings);
  for (const [coding, level] of Object.entries(options.levels ?? {})) {
    const range = LEVELS[coding];
    if (range === undefined) {
      throw new RangeError(`Cannot use a level for "${coding}": not a coding`);
    }
    if (
      level !== undefined && !(Number.isInteger(level) && level >= range[0] && level <= range[1])
    ) {
      throw new RangeError(
        `Cannot use ${coding} level ${level}: not an integer in ${range[0]}–${range[1]}`,
      );
    }
  }
  const filter = options.filter;
  if (filter !== undefined && typeof filter !== "function") {
    throw new TypeError("Cannot use the compress filter: not a function");
  }
  const decode = decodeSettings(options.decompressRequests);

  return async (req, next) => {
    if (decode !== null) {
      const contentEncoding = req.header("content-encoding");
      if (contentEncoding !== null && req.contentLength !== 0 && needsDecoding(contentEncoding)) {
        req.transformBody(
          (body) => decompressBody(body, contentEncoding, decode),
          { decoded: true },
        );
      }
    }
    const res = await next(req);
    if (filter !== undefined && !filter(res, req)) return res;
    const method = req.method === "HEAD" ? "GET" : req.method;
    const shaped = compressResponse({ method, headers: req.headers }, res, settings);
    if (shaped === res) return res;
    // Byte ranges would be of the identity body (206s are not compressed), not of this one:
    // a client resuming a compressed download must not be invited to ask for them (as nginx).
    shaped.headers.delete("accept-ranges");
    if (req.method !== "HEAD") return shaped;
    shaped.body?.cancel().catch(() => {});
    return new Response(null, {
      status: shaped.status,
      statusText: shaped.statusText,
      headers: shaped.headers,
    });
  };
}

function decodeSettings(
  option: boolean | DecompressRequestOptions | undefined,
): { maxSize: number; maxRatio: number } | null {
  if (option === undefined || option === false) return null;
  const limits = option === true ? {} : option;
  const maxSize = limits.maxSize ?? Infinity;
  const maxRatio = limits.maxRatio ?? 100;
  if (!(maxSize >= 0)) {
    throw new RangeError(`Cannot decode requests with maxSize ${maxSize}: not a size ≥ 0`);
  }
  if (!(maxRatio > 0)) {
    throw new RangeError(`Cannot decode requests with maxRatio ${maxRatio}: not > 0`);
  }
  return { maxSize, maxRatio };
}

/** Whether a `Content-Encoding` value needs decoding; 415 when it cannot be decoded. */
function needsDecoding(contentEncoding: string): boolean {
  const known = supportedEncodings();
  const list = contentEncoding.split(",").map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
  const refuse = (why: string): never => {
    throw new HttpUnsupportedMediaType(`Cannot decode request body: ${why}`, {
      headers: { "accept-encoding": known.join(", ") },
    });
  };
  if (list.length > 2) refuse(`${list.length} stacked content codings (at most 2)`);
  for (const coding of list) {
    if (!known.includes(coding === "x-gzip" ? "gzip" : coding)) {
      refuse(`unsupported content coding "${coding}"`);
    }
  }
  return list.length > 0;
}
