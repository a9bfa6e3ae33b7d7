/**
 * Writing HTTP/1.1 heads and framing bodies. Every name and value is checked
 * before a byte is produced, so callers cannot inject CR/LF into a message.
 *
 * @module
 */

import { FIELD_VALUE, TARGET, TOKEN } from "./_abnf.ts";
import { STATUS_TEXT } from "./_status_text.ts";
import { HttpSerializeError } from "./errors.ts";

/** Header fields to write: a `Headers`, `[name, value]` pairs, or a plain record. */
export type HeadersInput = Headers | Iterable<readonly [string, string]> | Record<string, string>;

/** Options of the head encoders. */
export interface HeadOptions {
  /** `1` (default) for HTTP/1.1, `0` for HTTP/1.0. */
  versionMinor?: 0 | 1;
}

/** Options of {@linkcode encodeResponseHead} and {@linkcode encodeResponse}. */
export interface ResponseHeadOptions extends HeadOptions {
  /** The reason phrase; the registered one for the status by default. */
  reason?: string;
}

const encoder = new TextEncoder();
const CRLF = "\r\n";

const statusLines = new Map<number, string>();

function statusLine(status: number, options: ResponseHeadOptions | undefined): string {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new HttpSerializeError(
      "SLUICE_ERR_HTTP_SERIALIZE_STATUS",
      `Cannot write status ${status}: not an integer in 100–999`,
    );
  }
  const minor = options?.versionMinor ?? 1;
  const reason = options?.reason;
  if (reason === undefined && minor === 1) {
    let line = statusLines.get(status);
    if (line === undefined) {
      line = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ""}\r\n`;
      statusLines.set(status, line);
    }
    return line;
  }
  const text = reason ?? STATUS_TEXT[status] ?? "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (FIELD_VALUE[c] !== 1) {
      throw new HttpSerializeError(
        "SLUICE_ERR_HTTP_SERIALIZE_STATUS",
        `Cannot write reason phrase ${JSON.stringify(text)}: invalid character`,
      );
    }
  }
  return `HTTP/1.${minor} ${status} ${text}\r\n`;
}

function requestLine(method: string, target: string, options: HeadOptions | undefined): string {
  if (method.length === 0 || !all(method, TOKEN)) {
    throw new HttpSerializeError(
      "SLUICE_ERR_HTTP_SERIALIZE_METHOD",
      `Cannot write method ${JSON.stringify(method)}: not a token`,
    );
  }
  if (target.length === 0 || !all(target, TARGET)) {
    throw new HttpSerializeError(
      "SLUICE_ERR_HTTP_SERIALIZE_TARGET",
      `Cannot write request target ${
        JSON.stringify(target)
      }: only visible ASCII is allowed (percent-encode the rest)`,
    );
  }
  return `${method} ${target} HTTP/1.${options?.versionMinor ?? 1}\r\n`;
}

function all(s: string, table: Uint8Array): boolean {
  for (let i = 0; i < s.length; i++) if (table[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** Fields appended to a head string; tracks non-ASCII and the framing fields met. */
class FieldWriter {
  text = "";
  ascii = true;
  contentLength: string | null = null;
  transferEncoding = false;

  add(name: string, value: string, trailer: boolean): void {
    if (name.length === 0 || !all(name, TOKEN)) {
      throw new HttpSerializeError(
        trailer ? "SLUICE_ERR_HTTP_SERIALIZE_TRAILER" : "SLUICE_ERR_HTTP_SERIALIZE_HEADER_NAME",
        `Cannot write field name ${JSON.stringify(name)}: not a token`,
      );
    }
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (FIELD_VALUE[c] !== 1) {
        throw new HttpSerializeError(
          trailer ? "SLUICE_ERR_HTTP_SERIALIZE_TRAILER" : "SLUICE_ERR_HTTP_SERIALIZE_HEADER_VALUE",
          `Cannot write value of field "${name}": character ${
            c > 0xff ? "beyond Latin-1" : `0x${c.toString(16).padStart(2, "0")}`
          } is not allowed`,
        );
      }
      if (c >= 0x80) this.ascii = false;
    }
    if (name.length === 14 && name.toLowerCase() === "content-length") this.contentLength = value;
    else if (name.length === 17 && name.toLowerCase() === "transfer-encoding") {
      this.transferEncoding = true;
    }
    if (trailer && FORBIDDEN_TRAILERS.has(name.toLowerCase())) {
      throw new HttpSerializeError(
        "SLUICE_ERR_HTTP_SERIALIZE_TRAILER",
        `Cannot send field "${name}" as a trailer`,
      );
    }
    this.text += `${name}: ${value}\r\n`;
  }

  addAll(headers: HeadersInput, trailer = false): void {
    if (isIterable(headers)) {
      for (const [name, value] of headers) this.add(name, value, trailer);
    } else {
      for (const name in headers) this.add(name, headers[name], trailer);
    }
  }
}

function isIterable(value: HeadersInput): value is Iterable<readonly [string, string]> {
  return typeof (value as Iterable<unknown>)[Symbol.iterator] === "function";
}

/** Fields a sender must not put in a trailer section (RFC 9110 §6.5.1). */
const FORBIDDEN_TRAILERS = new Set([
  "content-length",
  "transfer-encoding",
  "host",
  "trailer",
  "content-type",
  "content-encoding",
  "content-range",
  "te",
  "connection",
  "keep-alive",
  "upgrade",
  "authorization",
  "set-cookie",
  "cache-control",
  "expect",
  "max-forwards",
  "proxy-authorization",
]);

/** Encodes a Latin-1 string (ASCII on the fast path) into `out` at `offset`. */
function writeLatin1(text: string, ascii: boolean, out: Uint8Array, offset: number): void {
  if (ascii) {
    encoder.encodeInto(text, out.subarray(offset));
    return;
  }
  for (let i = 0; i < text.length; i++) out[offset + i] = text.charCodeAt(i);
}

function toBytes(text: string, ascii: boolean, extra = 0): Uint8Array {
  const out = new Uint8Array(text.length + extra);
  writeLatin1(text, ascii, out, 0);
  return out;
}

/**
 * Encodes a response head: status line, the fields, and the empty line.
 *
 * @param status The status code, 100–999.
 * @param headers The fields, written in order (a `Headers` writes lowercase names).
 * @param options Reason phrase and version.
 * @returns The head's bytes, ending with CRLF CRLF.
 * @throws {HttpSerializeError} on an invalid status, name or value.
 *
 * @example
 * ```ts
 * import { encodeResponseHead } from "@sluice/http/http1";
 * import assert from "node:assert/strict";
 *
 * const head = encodeResponseHead(404, { "content-length": "0" });
 * assert.equal(new TextDecoder().decode(head), "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
 * ```
 */
export function encodeResponseHead(
  status: number,
  headers: HeadersInput,
  options?: ResponseHeadOptions,
): Uint8Array {
  const fields = new FieldWriter();
  fields.addAll(headers);
  return toBytes(statusLine(status, options) + fields.text + CRLF, fields.ascii);
}

/**
 * Encodes a request head: request line, the fields, and the empty line.
 *
 * @param method The method token, e.g. `"GET"`.
 * @param target The request-target (origin-form `/path?q`, absolute-form, authority-form or `*`).
 * @param headers The fields, written in order.
 * @param options The version.
 * @returns The head's bytes, ending with CRLF CRLF.
 * @throws {HttpSerializeError} on an invalid method, target, name or value.
 *
 * @example
 * ```ts
 * import { encodeRequestHead } from "@sluice/http/http1";
 * import assert from "node:assert/strict";
 *
 * const head = encodeRequestHead("GET", "/", [["Host", "example.com"]]);
 * assert.equal(new TextDecoder().decode(head), "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
 * ```
 */
export function encodeRequestHead(
  method: string,
  target: string,
  headers: HeadersInput,
  options?: HeadOptions,
): Uint8Array {
  const fields = new FieldWriter();
  fields.addAll(headers);
  return toBytes(requestLine(method, target, options) + fields.text + CRLF, fields.ascii);
}

/**
 * Same as {@linkcode encodeRequestHead}, as a Latin-1 string (one character
 * per byte) for `Conn.writeLatin1`: Node writes it without a copy in
 * JavaScript.
 *
 * @param method The method token, e.g. `"GET"`.
 * @param target The request-target.
 * @param headers The fields, written in order.
 * @param options The version.
 * @returns The head, ending with CRLF CRLF.
 * @throws {HttpSerializeError} on an invalid method, target, name or value.
 *
 * @example
 * ```ts
 * import { encodeRequestHeadText } from "@sluice/http/http1";
 * import assert from "node:assert/strict";
 *
 * const head = encodeRequestHeadText("GET", "/", [["Host", "example.com"]]);
 * assert.equal(head, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
 * ```
 */
export function encodeRequestHeadText(
  method: string,
  target: string,
  headers: HeadersInput,
  options?: HeadOptions,
): string {
  const fields = new FieldWriter();
  fields.addAll(headers);
  return requestLine(method, target, options) + fields.text + CRLF;
}

/** The checked text of field lists that cannot change (frozen, pairs too). */
const frozenBlocks = new WeakMap<object, string>();

/**
 * The fields of `headers` as head text, checked once and remembered, when
 * the list and its pairs are frozen (a client session's default fields,
 * shared by its requests); `undefined` for any other list.
 */
function frozenBlock(headers: ReadonlyArray<readonly [string, string]>): string | undefined {
  if (!Object.isFrozen(headers)) return undefined;
  let text = frozenBlocks.get(headers);
  if (text === undefined) {
    for (let i = 0; i < headers.length; i++) if (!Object.isFrozen(headers[i])) return undefined;
    const fields = new FieldWriter();
    for (let i = 0; i < headers.length; i++) fields.add(headers[i][0], headers[i][1], false);
    text = fields.text;
    frozenBlocks.set(headers, text);
  }
  return text;
}

/**
 * A request head as a Latin-1 string from three field lists written in
 * order (no list copied): for the client, which puts `Host` first and its
 * framing fields last around the caller's fields. Internal.
 */
export function requestHeadOf(
  method: string,
  target: string,
  before: ReadonlyArray<readonly [string, string]> | null,
  headers: ReadonlyArray<readonly [string, string]>,
  after: ReadonlyArray<readonly [string, string]> | null,
): string {
  const fields = new FieldWriter();
  if (before !== null) {
    for (let i = 0; i < before.length; i++) fields.add(before[i][0], before[i][1], false);
  }
  const block = frozenBlock(headers);
  if (block !== undefined) fields.text += block;
  else for (let i = 0; i < headers.length; i++) fields.add(headers[i][0], headers[i][1], false);
  if (after !== null) {
    for (let i = 0; i < after.length; i++) fields.add(after[i][0], after[i][1], false);
  }
  return requestLine(method, target, undefined) + fields.text + CRLF;
}

/**
 * Writes a Latin-1 string (one character per byte, all below U+0100) into
 * `out` at `offset`.
 *
 * @param text The string.
 * @param out Where to write (`text.length` bytes from `offset`).
 * @param offset Where to start.
 *
 * @example
 * ```ts
 * import { latin1Into } from "@sluice/http/http1";
 * import assert from "node:assert/strict";
 *
 * const out = new Uint8Array(3);
 * latin1Into("a\xe9", out, 1);
 * assert.deepEqual(out, new Uint8Array([0, 0x61, 0xe9]));
 * ```
 */
export function latin1Into(text: string, out: Uint8Array, offset: number): void {
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  writeLatin1(text, ascii, out, offset);
}

/** Reused for encoding small string bodies; larger ones get their own buffer. */
const SCRATCH_MAX = 64 * 1024;
const scratch = new Uint8Array(SCRATCH_MAX);

/** Head + `content-length` + body in one buffer: one write for small messages. */
function withBody(startLine: string, headers: HeadersInput, body: string | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (typeof body !== "string") {
    bytes = body;
  } else if (body.length * 3 <= SCRATCH_MAX) {
    bytes = scratch.subarray(0, encoder.encodeInto(body, scratch).written);
  } else {
    bytes = encoder.encode(body);
  }
  const fields = new FieldWriter();
  fields.addAll(headers);
  const length = String(bytes.length);
  if (fields.transferEncoding) {
    throw new HttpSerializeError(
      "SLUICE_ERR_HTTP_SERIALIZE_HEADER_VALUE",
      "Cannot write a message with a known body and Transfer-Encoding: the body is sent with Content-Length",
    );
  }
  if (fields.contentLength === null) {
    fields.text += `content-length: ${length}\r\n`;
  } else if (fields.contentLength !== length) {
    throw new HttpSerializeError(
      "SLUICE_ERR_HTTP_SERIALIZE_HEADER_VALUE",
      `Cannot write Content-Length "${fields.contentLength}" for a body of ${length} bytes`,
    );
  }
  const head = startLine + fields.text + CRLF;
  const out = toBytes(head, fields.ascii, bytes.length);
  out.set(bytes, head.length);
  return out;
}

/**
 * Encodes a whole response with a known body: head, `content-length` and
 * body in one buffer, ready for a single write.
 *
 * @param status The status code, 100–999.
 * @param headers The fields; a `content-length` is added (or must match), `transfer-encoding` is refused.
 * @param body The body; a string is written as UTF-8.
 * @param options Reason phrase and version.
 * @returns The message's bytes.
 * @throws {HttpSerializeError} on an invalid status, name or value, or conflicting framing.
 *
 * @example
 * ```ts
 * import { encodeResponse } from "@sluice/http/http1";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeResponse(200, { "content-type": "text/plain" }, "hi");
 * assert.equal(
 *   new TextDecoder().decode(bytes),
 *   "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nhi",
 * );
 * ```
 */
export function encodeResponse(
  status: number,
  headers: HeadersInput,
  body: string | Uint8Array,
  options?: ResponseHeadOptions,
): Uint8Array {
  return withBody(statusLine(status, options), headers, body);
}

/**
 * Encodes a whole request with a known body in one buffer (see {@linkcode encodeResponse}).
 *
 * @param method The method token.
 * @param target The request-target.
 * @param headers The fields; a `content-length` is added (or must match).
 * @param body The body; a string is written as UTF-8.
 * @param options The version.
 * @returns The message's bytes.
 * @throws {HttpSerializeError} on an invalid method, target, name or value, or conflicting framing.
 *
 * @example
 * ```ts
 * import { encodeRequest } from "@sluice/http/http1";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeRequest("POST", "/x", { host: "a" }, "{}");
 * assert.equal(new TextDecoder().decode(bytes), "POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: 2\r\n\r\n{}");
 * ```
 */
export function encodeRequest(
  method: string,
  target: string,
  headers: HeadersInput,
  body: string | Uint8Array,
  options?: HeadOptions,
): Uint8Array {
  return withBody(requestLine(method, target, options), headers, body);
}

/**
 * Frames one chunk of a chunked body: size in hex, CRLF, data, CRLF, in one
 * buffer. An empty input gives an empty output (an empty chunk would end the body).
 *
 * @param data The chunk's bytes.
 * @returns The framed chunk.
 *
 * @example
 * ```ts
 * import { encodeChunk } from "@sluice/http/http1";
 * import assert from "node:assert/strict";
 *
 * const framed = encodeChunk(new TextEncoder().encode("hello, world"));
 * assert.equal(new TextDecoder().decode(framed), "c\r\nhello, world\r\n");
 * ```
 */
export function encodeChunk(data: Uint8Array): Uint8Array {
  const n = data.length;
  if (n === 0) return new Uint8Array(0);
  const size = n.toString(16);
  const out = new Uint8Array(size.length + n + 4);
  for (let i = 0; i < size.length; i++) out[i] = size.charCodeAt(i);
  out[size.length] = 0x0d;
  out[size.length + 1] = 0x0a;
  out.set(data, size.length + 2);
  out[out.length - 2] = 0x0d;
  out[out.length - 1] = 0x0a;
  return out;
}

const LAST_CHUNK = encoder.encode("0\r\n\r\n");

/**
 * The end of a chunked body: the last chunk, optional trailer fields, and
 * the empty line. Framing and routing fields are refused as trailers.
 *
 * @param trailers Trailer fields to send, if any.
 * @returns The bytes that end the body.
 * @throws {HttpSerializeError} on an invalid or forbidden trailer field.
 *
 * @example
 * ```ts
 * import { encodeLastChunk } from "@sluice/http/http1";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new TextDecoder().decode(encodeLastChunk()), "0\r\n\r\n");
 * assert.equal(new TextDecoder().decode(encodeLastChunk({ "x-checksum": "abc" })), "0\r\nx-checksum: abc\r\n\r\n");
 * ```
 */
export function encodeLastChunk(trailers?: HeadersInput): Uint8Array {
  if (trailers === undefined) return LAST_CHUNK.slice();
  const fields = new FieldWriter();
  fields.addAll(trailers, true);
  return toBytes(`0\r\n${fields.text}\r\n`, fields.ascii);
}
