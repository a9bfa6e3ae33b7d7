/**
 * The checks a native backend (`Deno.serve`, `Bun.serve`) makes above the
 * runtime's own HTTP parser, so that what handlers see matches the raw
 * engine as closely as the runtime allows: the request line and field
 * limits, a valid and single `Host`, `Content-Length` against the body
 * limit, and a body stream that stops at `maxBodySize`. Runtime-free: the
 * adapters say what their runtime's parser already refuses
 * ({@linkcode RuntimeParser}) and only the rest is checked here.
 *
 * What cannot be checked above a native parser (bare LF, obs-fold accepted
 * or not, absolute-form targets, …) is listed in `docs/native_adapters.md`.
 *
 * @module
 */

import { STATUS_TEXT } from "../http1/_status_text.ts";
import { BodyError } from "./errors.ts";
import { byteStream } from "../util/byte_stream.ts";
import type { ServerOptions } from "./types.ts";

/** What a runtime's own parser lets through, as measured (see docs/native_adapters.md). */
export interface RuntimeParser {
  /** The most header fields it accepts (it refuses more by itself). */
  readonly maxHeaders: number;
  /** The longest field line it accepts (it refuses longer by itself). */
  readonly maxFieldLine: number;
  /** It accepts DEL (0x7F) in field values. */
  readonly acceptsDel: boolean;
  /** It accepts transfer codings before `chunked` (`gzip, chunked`) and passes them on. */
  readonly acceptsCodings: boolean;
  /**
   * It builds `request.url` from the `Host` field (its first one), or makes
   * it relative when it will not (Bun, for a `Host` it finds invalid): the
   * host is then checked on the URL, and the field read only for a relative
   * URL, without making the runtime build `request.headers` for every
   * request (Deno: ~0.5 µs and its slower response path; Bun: 0.2–3 µs
   * with the field count). Repeated `Host` fields then pass where the
   * runtime does not refuse them itself (Bun).
   */
  readonly hostInUrl: boolean;
}

/** The limits of {@linkcode ServerOptions} that a native backend checks, with defaults applied. */
export interface NativeLimits {
  readonly maxRequestLineSize: number;
  readonly maxHeaderSize: number;
  readonly maxHeaders: number;
  readonly maxBodySize: number;
  /** Whether the fields must be walked: a count or a line within the runtime's limits may still pass ours. */
  readonly walkFields: boolean;
  /** Whether field values must be searched for DEL. */
  readonly refuseDel: boolean;
  /** Whether `Transfer-Encoding` must be checked to be `chunked` alone. */
  readonly checkCodings: boolean;
  /** Whether the host is checked on the URL rather than on the `Host` field. */
  readonly hostInUrl: boolean;
}

function limit(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= 0)) {
    throw new RangeError(`Cannot use ${name} ${value}: not a number of bytes ≥ 0`);
  }
  return value;
}

/**
 * The limits of `options` (defaults: 8190-byte request lines, 128 MiB
 * bodies) and which checks `parser` leaves to us.
 *
 * Field limits cost a walk over every field of every request (the spec's
 * sorted `Headers` iteration: ~2 µs per browser-like request on Deno and
 * Bun, 20 % of a hello-world's budget), so they are checked only when
 * `maxHeaders` or `maxHeaderSize` is given and stricter than the runtime's
 * own; by default the runtime's limits stand (Deno: 128 fields, 64 KiB per
 * head; Bun: 198 fields, 16 KiB per head). DEL in values is then not
 * refused either.
 */
export function nativeLimits(options: ServerOptions, parser: RuntimeParser): NativeLimits {
  const maxHeaderSize = limit(options.maxHeaderSize, 8190, "maxHeaderSize");
  const maxHeaders = limit(options.maxHeaders, 128, "maxHeaders");
  const walkFields = (options.maxHeaders !== undefined && maxHeaders < parser.maxHeaders) ||
    (options.maxHeaderSize !== undefined && maxHeaderSize < parser.maxFieldLine);
  return {
    maxRequestLineSize: limit(options.maxRequestLineSize, 8190, "maxRequestLineSize"),
    maxHeaderSize,
    maxHeaders,
    maxBodySize: limit(options.maxBodySize, 128 * 1024 * 1024, "maxBodySize"),
    walkFields,
    refuseDel: walkFields && parser.acceptsDel,
    checkCodings: parser.acceptsCodings,
    hostInUrl: parser.hostInUrl,
  };
}

const PLAIN = "text/plain; charset=utf-8";

/**
 * A bare `text/plain` answer whose body is the reason phrase, with
 * `Connection: close` unless `close` is `false` (as the raw engine answers
 * what it refuses; Deno ignores the field, so it is not claimed there).
 */
export function refusal(status: number, close = true): Response {
  return new Response(STATUS_TEXT[status] ?? "Error", {
    status,
    headers: close ? { "content-type": PLAIN, connection: "close" } : { "content-type": PLAIN },
  });
}

const DIGIT = (c: number) => c >= 0x30 && c <= 0x39;
const HEXDIG = (c: number) => DIGIT(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
/** unreserved / sub-delims of RFC 3986 (a reg-name, less pct-encoded). */
const REG_NAME = new Uint8Array(128);
for (const c of "-._~!$&'()*+,;=") REG_NAME[c.charCodeAt(0)] = 1;
for (let c = 0; c < 128; c++) {
  if (DIGIT(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) REG_NAME[c] = 1;
}

/**
 * Whether `value` is a `Host` field value: `uri-host [":" port]` of RFC 9110
 * §7.2 (an IPv6 literal in brackets, or a reg-name / IPv4 address of
 * unreserved, sub-delims and percent-encoded octets; the port all digits)
 * that also makes a valid WHATWG URL, so that `new URL(request.url)` in a
 * handler cannot fail (IPvFuture literals and zone IDs are refused, and a
 * percent-encoded octet must not decode to a forbidden code point). An
 * empty value is valid (a target URI without authority). Two `Host` fields
 * joined with `", "` by a runtime are not (the space).
 */
export function isValidHost(value: string): boolean {
  const n = value.length;
  let i = 0;
  let unusual = false;
  if (n > 0 && value.charCodeAt(0) === 0x5b /* [ */) {
    const close = value.indexOf("]");
    if (close < 3) return false;
    for (i = 1; i < close; i++) {
      const c = value.charCodeAt(i);
      if (!(HEXDIG(c) || c === 0x3a /* : */ || c === 0x2e /* . */)) return false;
    }
    i = close + 1;
    unusual = true;
  } else {
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c === 0x3a /* : */) break;
      if (c < 128 && REG_NAME[c] === 1) continue;
      if (
        c === 0x25 /* % */ && HEXDIG(value.charCodeAt(i + 1)) && HEXDIG(value.charCodeAt(i + 2))
      ) {
        i += 2;
        unusual = true;
        continue;
      }
      return false;
    }
  }
  if (i < n) {
    if (value.charCodeAt(i) !== 0x3a) return false;
    for (i++; i < n; i++) if (!DIGIT(value.charCodeAt(i))) return false;
  }
  // The rare shapes get the URL parser's word (the common ones cannot fail it).
  return !unusual || URL.canParse(`http://${value}/`);
}

// The field walk runs synchronously: module state spares a closure per request.
let walkCount = 0;
let walkStatus = 0;
let walkLimits: NativeLimits | null = null;

function visitField(value: string, name: string): void {
  const limits = walkLimits!;
  walkCount++;
  if (walkStatus !== 0) return;
  // "name: value", as the raw engine measures a field line (without CRLF)
  if (name.length + 2 + value.length > limits.maxHeaderSize) walkStatus = 431;
  else if (limits.refuseDel && value.includes("\x7f")) walkStatus = 400;
}

/**
 * Walks the fields: 431 for too many or a too-long line, 400 for DEL in a
 * value (where the runtime lets it through), else 0. Runtimes join repeated
 * fields with `", "` before we see them, so the count is of distinct names
 * (and `Set-Cookie` lines) and a joined line is measured whole.
 */
function walkFields(headers: Headers, limits: NativeLimits): number {
  walkCount = 0;
  walkStatus = 0;
  walkLimits = limits;
  headers.forEach(visitField);
  walkLimits = null;
  if (walkStatus !== 0) return walkStatus;
  return walkCount > limits.maxHeaders ? 431 : 0;
}

/**
 * Checks a request head above a native parser. Returns the status to answer
 * with instead of calling the handler (400, 413, 414, 431 or 501; see
 * {@linkcode refusal}), or 0 when the request may go on.
 *
 * - the request line (`method SP target SP HTTP/1.1`) longer than
 *   `maxRequestLineSize`: 414;
 * - a `Host` that is not `host[:port]`, or several joined: 400 (a missing
 *   one passes: no native runtime tells the HTTP version). With
 *   `limits.hostInUrl` the authority of `request.url` is checked instead
 *   (the field when the URL is relative): the same verdict except for a
 *   `Host` holding a `/` (Deno), which the URL cannot tell from the path,
 *   and for repeated fields (Bun), of which the URL shows the first;
 * - more than `maxHeaders` fields or a field line longer than
 *   `maxHeaderSize`: 431 (when `limits.walkFields`);
 * - on methods other than GET and HEAD, a `Content-Length` list (`3, 3`,
 *   repeated fields joined): 400; one larger than `maxBodySize`: 413; a
 *   transfer coding besides `chunked` (when `limits.checkCodings`): 501 when
 *   `chunked` is last, else 400.
 *
 * @param request The runtime's request.
 * @param method Its method.
 * @param url Its `url`.
 * @param start Where the request-target starts in `url`.
 * @param limits The server's limits.
 */
export function checkRequest(
  request: Request,
  method: string,
  url: string,
  start: number,
  limits: NativeLimits,
): number {
  if (method.length + url.length - start + 10 > limits.maxRequestLineSize) return 414;
  if (limits.hostInUrl && start > 0) {
    const scheme = url.indexOf("://");
    if (scheme > 0 && scheme + 3 < start && !isValidHost(url.slice(scheme + 3, start))) return 400;
    if (!limits.walkFields && (method === "GET" || method === "HEAD")) return 0;
  }
  const headers = request.headers;
  if (!limits.hostInUrl || start === 0) {
    const host = headers.get("host");
    if (host !== null && !isValidHost(host)) return 400;
  }
  if (limits.walkFields) {
    const status = walkFields(headers, limits);
    if (status !== 0) return status;
  }
  if (method === "GET" || method === "HEAD") return 0;
  const length = headers.get("content-length");
  if (length !== null) {
    if (length.includes(",")) return 400;
    if (Number(length) > limits.maxBodySize) return 413;
  }
  if (limits.checkCodings) {
    const codings = headers.get("transfer-encoding");
    if (codings !== null && codings.toLowerCase() !== "chunked") {
      return /(^|,)\s*chunked$/i.test(codings) ? 501 : 400;
    }
  }
  return 0;
}

/** The error a body stream fails with past `max` bytes. */
export function tooLarge(max: number, cause?: unknown): BodyError {
  return new BodyError(
    "SLUICE_ERR_BODY_TOO_LARGE",
    `Cannot read request body: it is larger than maxBodySize (${max} bytes)`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * A body error for what a runtime's body stream failed with: a
 * {@linkcode BodyError} as it is; Bun's "exceeded maxRequestBodySize" as
 * `SLUICE_ERR_BODY_TOO_LARGE`; anything else (the client went away, a
 * malformed chunk) as `SLUICE_ERR_BODY_ABORTED` with the error as `cause`.
 */
export function bodyError(error: unknown, max: number): BodyError {
  if (error instanceof BodyError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes("maxRequestBodySize")) return tooLarge(max, error);
  return new BodyError(
    "SLUICE_ERR_BODY_ABORTED",
    `Cannot read request body: ${message}`,
    { cause: error },
  );
}

/**
 * `source` as a byte stream (BYOB readers work on it, whatever the runtime
 * gives) that fails with a {@linkcode BodyError} (413) as soon as more than
 * `max` bytes came, and cancels `source` then. Pull-based: it reads one
 * chunk per read of its own, so backpressure reaches the runtime. Failures
 * of `source` become `SLUICE_ERR_BODY_ABORTED` body errors.
 */
export function limitBody(
  source: ReadableStream<Uint8Array>,
  max: number,
): ReadableStream<Uint8Array> {
  // Locked on the first read: until then the source can still be read another way.
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  let received = 0;
  const read = async (): Promise<ReadableStreamReadResult<Uint8Array>> => {
    reader ??= source.getReader();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw bodyError(error, max);
      }
      if (chunk.done) return chunk;
      const size = chunk.value.byteLength;
      if (size === 0) continue;
      received += size;
      if (received > max) {
        const error = tooLarge(max);
        reader.cancel(error).catch(() => {});
        throw error;
      }
      return chunk;
    }
  };
  const cancel = (reason: unknown): Promise<void> =>
    reader === null ? source.cancel(reason) : reader.cancel(reason);
  return byteStream({ read, readInto: () => null, cancel });
}
