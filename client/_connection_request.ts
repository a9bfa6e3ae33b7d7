/**
 * The request side of a client connection: the head with its framing fields,
 * and the Keep-Alive hint of a response.
 *
 * @module
 */

import { requestHeadOf } from "../http1/serializer.ts";

/** A request body: bytes sent with `Content-Length`, or a stream (chunked unless a length is given). */
export type RequestBody = Uint8Array | ReadableStream<Uint8Array> | null;

/** How the body goes on the wire, as {@linkcode requestHead} settled it. */
export interface RequestFraming {
  /** The head, a Latin-1 string (for `Conn.writeLatin1`). */
  head: string;
  /** Bytes the stream body must give, or `null` for a chunked (or absent / fixed) body. */
  length: number | null;
  /** The stream is sent with the chunked coding. */
  chunked: boolean;
  /** The request said `Connection: close`. */
  close: boolean;
  /** The head carries `Expect: 100-continue` for a non-empty body: hold it for `100 Continue`. */
  expect: boolean;
}

/** Methods whose requests carry `content-length: 0` when they have no body, as browsers do. */
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

/**
 * Builds the request head with the framing fields the body needs.
 *
 * @param method The method.
 * @param target The request-target.
 * @param headers The caller's fields (Host included); `Transfer-Encoding` is refused, a `Content-Length` must agree.
 * @param body The body.
 * @param contentLength A stream body's declared length, or `null`.
 * @param expect100 Ask for `100 Continue` before a non-empty body (adds `Expect: 100-continue` unless present).
 * @param host A `Host` value to send first, unless `headers` has one.
 * @returns The head and the framing decisions.
 * @throws {TypeError} on conflicting framing.
 */
export function requestHead(
  method: string,
  target: string,
  headers: ReadonlyArray<readonly [string, string]>,
  body: RequestBody,
  contentLength: number | null,
  expect100 = false,
  host?: string,
): RequestFraming {
  let declared: number | null = null;
  let close = false;
  let expectField = false;
  let hasHost = false;
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i][0];
    // Only names of the lengths looked for are lower-cased.
    const size = name.length;
    if (size !== 4 && size !== 6 && size !== 10 && size !== 14 && size !== 17) continue;
    const lower = name.toLowerCase();
    const value = headers[i][1];
    if (lower === "host") {
      hasHost = true;
    } else if (lower === "transfer-encoding") {
      throw new TypeError(
        "Cannot send request: Transfer-Encoding is chosen by the connection from the body",
      );
    } else if (lower === "content-length") {
      const n = /^\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : NaN;
      if (Number.isNaN(n) || (declared !== null && declared !== n)) {
        throw new TypeError(`Cannot send request: invalid Content-Length "${value}"`);
      }
      declared = n;
    } else if (lower === "connection") {
      if (/(^|,)\s*close\s*(,|$)/i.test(value)) close = true;
    } else if (lower === "expect") {
      if (/^\s*100-continue\s*$/i.test(value)) expectField = true;
    }
  }
  if (contentLength !== null && (!Number.isSafeInteger(contentLength) || contentLength < 0)) {
    throw new RangeError(
      `Cannot send request: contentLength ${contentLength} is not a non-negative integer`,
    );
  }
  if (declared !== null && contentLength !== null && declared !== contentLength) {
    throw new TypeError(
      `Cannot send request: Content-Length "${declared}" disagrees with contentLength ${contentLength}`,
    );
  }
  let after: Array<readonly [string, string]> | null = null;
  let length: number | null = null;
  let chunked = false;
  if (body instanceof Uint8Array) {
    const n = declared ?? contentLength;
    if (n !== null && n !== body.length) {
      throw new TypeError(
        `Cannot send request: Content-Length ${n} for a body of ${body.length} bytes`,
      );
    }
    if (declared === null) after = [["content-length", String(body.length)]];
  } else if (body !== null) {
    length = declared ?? contentLength;
    if (length === null) {
      chunked = true;
      after = [["transfer-encoding", "chunked"]];
    } else if (declared === null) {
      after = [["content-length", String(length)]];
    }
  } else if (declared !== null && declared !== 0) {
    throw new TypeError(`Cannot send request: Content-Length ${declared} without a body`);
  } else if (declared === null && BODY_METHODS.has(method)) {
    after = [["content-length", "0"]];
  }
  const expect = (expect100 || expectField) &&
    (body instanceof Uint8Array ? body.length > 0 : body !== null && length !== 0);
  if (expect && !expectField) (after ??= []).push(["expect", "100-continue"]);
  const before = host === undefined || hasHost ? null : [["host", host] as const];
  return {
    head: requestHeadOf(method, target, before, headers, after),
    length,
    chunked,
    close,
    expect,
  };
}

/**
 * The `timeout` of a `Keep-Alive` response field, in milliseconds.
 *
 * @param value The field value, e.g. `"timeout=5, max=100"`.
 * @returns The timeout in ms, or `null` when absent or malformed.
 */
export function keepAliveTimeout(value: string | null): number | null {
  if (value === null) return null;
  const match = /(?:^|[,;\s])timeout\s*=\s*"?(\d{1,9})"?/i.exec(value);
  return match === null ? null : Number(match[1]) * 1000;
}
