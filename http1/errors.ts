/**
 * Typed errors of the HTTP/1.1 codec.
 *
 * @module
 */

import { SluiceError } from "../util/errors.ts";

/**
 * The codes a {@linkcode HttpParseError} can carry, with the HTTP status a
 * server answers for each. The table in `docs/errors.md` mirrors this one.
 */
export const PARSE_ERROR_STATUS: Readonly<Record<ParseErrorCode, number>> = {
  SLUICE_ERR_HTTP_INVALID_METHOD: 400,
  SLUICE_ERR_HTTP_INVALID_TARGET: 400,
  SLUICE_ERR_HTTP_INVALID_VERSION: 400,
  SLUICE_ERR_HTTP_VERSION_NOT_SUPPORTED: 505,
  SLUICE_ERR_HTTP_REQUEST_LINE_TOO_LONG: 414,
  SLUICE_ERR_HTTP_INVALID_STATUS_LINE: 400,
  SLUICE_ERR_HTTP_STATUS_LINE_TOO_LONG: 400,
  SLUICE_ERR_HTTP_HEADER_TOO_LARGE: 431,
  SLUICE_ERR_HTTP_TOO_MANY_HEADERS: 431,
  SLUICE_ERR_HTTP_INVALID_HEADER_NAME: 400,
  SLUICE_ERR_HTTP_INVALID_HEADER_VALUE: 400,
  SLUICE_ERR_HTTP_SPACE_BEFORE_COLON: 400,
  SLUICE_ERR_HTTP_OBS_FOLD: 400,
  SLUICE_ERR_HTTP_INVALID_LINE_ENDING: 400,
  SLUICE_ERR_HTTP_MISSING_HOST: 400,
  SLUICE_ERR_HTTP_DUPLICATE_HOST: 400,
  SLUICE_ERR_HTTP_INVALID_HOST: 400,
  SLUICE_ERR_HTTP_INVALID_CONTENT_LENGTH: 400,
  SLUICE_ERR_HTTP_DUPLICATE_CONTENT_LENGTH: 400,
  SLUICE_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING: 400,
  SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING: 400,
  SLUICE_ERR_HTTP_UNSUPPORTED_TRANSFER_ENCODING: 501,
  SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE: 400,
  SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION: 400,
  SLUICE_ERR_HTTP_CHUNK_EXTENSIONS_TOO_LARGE: 413,
  SLUICE_ERR_HTTP_INVALID_CHUNK_DATA: 400,
  SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE: 400,
};

/** A stable code of {@linkcode HttpParseError}. */
export type ParseErrorCode =
  | "SLUICE_ERR_HTTP_INVALID_METHOD"
  | "SLUICE_ERR_HTTP_INVALID_TARGET"
  | "SLUICE_ERR_HTTP_INVALID_VERSION"
  | "SLUICE_ERR_HTTP_VERSION_NOT_SUPPORTED"
  | "SLUICE_ERR_HTTP_REQUEST_LINE_TOO_LONG"
  | "SLUICE_ERR_HTTP_INVALID_STATUS_LINE"
  | "SLUICE_ERR_HTTP_STATUS_LINE_TOO_LONG"
  | "SLUICE_ERR_HTTP_HEADER_TOO_LARGE"
  | "SLUICE_ERR_HTTP_TOO_MANY_HEADERS"
  | "SLUICE_ERR_HTTP_INVALID_HEADER_NAME"
  | "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE"
  | "SLUICE_ERR_HTTP_SPACE_BEFORE_COLON"
  | "SLUICE_ERR_HTTP_OBS_FOLD"
  | "SLUICE_ERR_HTTP_INVALID_LINE_ENDING"
  | "SLUICE_ERR_HTTP_MISSING_HOST"
  | "SLUICE_ERR_HTTP_DUPLICATE_HOST"
  | "SLUICE_ERR_HTTP_INVALID_HOST"
  | "SLUICE_ERR_HTTP_INVALID_CONTENT_LENGTH"
  | "SLUICE_ERR_HTTP_DUPLICATE_CONTENT_LENGTH"
  | "SLUICE_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING"
  | "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING"
  | "SLUICE_ERR_HTTP_UNSUPPORTED_TRANSFER_ENCODING"
  | "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE"
  | "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION"
  | "SLUICE_ERR_HTTP_CHUNK_EXTENSIONS_TOO_LARGE"
  | "SLUICE_ERR_HTTP_INVALID_CHUNK_DATA"
  | "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE";

/**
 * A message that the HTTP/1.1 parser refuses. `status` is the HTTP status a
 * server should answer with before closing the connection; `code` is stable.
 *
 * @example Map a parse failure to a response status
 * ```ts
 * import { HttpParseError, RequestParser } from "@sluice/http/http1";
 * import assert from "node:assert/strict";
 *
 * const parser = new RequestParser({ onHead() {}, onBody() {}, onComplete() {} });
 * try {
 *   parser.feed(new TextEncoder().encode("GET / HTTP/2.0\r\n\r\n"));
 *   assert.fail("expected an error");
 * } catch (err) {
 *   assert.ok(err instanceof HttpParseError);
 *   assert.equal(err.code, "SLUICE_ERR_HTTP_VERSION_NOT_SUPPORTED");
 *   assert.equal(err.status, 505);
 * }
 * ```
 */
export class HttpParseError extends SluiceError {
  /** The HTTP status that a server answers this error with. */
  readonly status: number;
  /** Byte offset into the chunk being fed when the error was found, or -1. */
  readonly offset: number;
  /** Stable machine-readable code, one of {@linkcode ParseErrorCode}. */
  override readonly code: ParseErrorCode;

  /**
   * Creates a parse error; `status` is derived from `code`.
   *
   * @param code One of the stable parse error codes.
   * @param message What was wrong, naming the offending part.
   * @param offset Offset into the fed chunk, or -1 when unknown.
   */
  constructor(code: ParseErrorCode, message: string, offset = -1) {
    super(code, message);
    this.code = code;
    this.status = PARSE_ERROR_STATUS[code];
    this.offset = offset;
  }
}

/** A stable code of {@linkcode HttpSerializeError}. */
export type SerializeErrorCode =
  | "SLUICE_ERR_HTTP_SERIALIZE_METHOD"
  | "SLUICE_ERR_HTTP_SERIALIZE_TARGET"
  | "SLUICE_ERR_HTTP_SERIALIZE_STATUS"
  | "SLUICE_ERR_HTTP_SERIALIZE_HEADER_NAME"
  | "SLUICE_ERR_HTTP_SERIALIZE_HEADER_VALUE"
  | "SLUICE_ERR_HTTP_SERIALIZE_TRAILER";

/**
 * A head or trailer that cannot be written safely: a name that is not a token,
 * a value with CR, LF, NUL or another control character (header injection),
 * a status outside 100–999. Thrown by the serializer before any byte is made.
 *
 * @example Header injection is refused
 * ```ts
 * import { encodeResponseHead, HttpSerializeError } from "@sluice/http/http1";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => encodeResponseHead(200, [["x-a", "1\r\nSet-Cookie: evil=1"]]),
 *   HttpSerializeError,
 * );
 * ```
 */
export class HttpSerializeError extends SluiceError {
  /** Stable machine-readable code, one of {@linkcode SerializeErrorCode}. */
  override readonly code: SerializeErrorCode;

  /**
   * Creates a serializer error.
   *
   * @param code One of the stable serializer error codes.
   * @param message What was wrong, with the offending value quoted.
   */
  constructor(code: SerializeErrorCode, message: string) {
    super(code, message);
    this.code = code;
  }
}
