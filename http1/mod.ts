/**
 * The sans-I/O HTTP/1.1 codec: incremental request and response parsers,
 * head serializers and chunked framing. It knows nothing of sockets or
 * runtimes; the server engine and the client connection both sit on it.
 *
 * @example Parse a pipelined pair of requests
 * ```ts
 * import { RequestParser } from "@sluice/http/http1";
 * import assert from "node:assert/strict";
 *
 * const targets: string[] = [];
 * const parser = new RequestParser({
 *   onHead: (head) => targets.push(head.target),
 *   onBody: () => {},
 *   onComplete: () => {},
 * });
 * parser.feed(new TextEncoder().encode(
 *   "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
 * ));
 * assert.deepEqual(targets, ["/a", "/b"]);
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./types.ts";
export { RequestParser } from "./request_parser.ts";
export { ResponseParser } from "./response_parser.ts";
export { STATUS_TEXT } from "./_status_text.ts";
export {
  encodeChunk,
  encodeLastChunk,
  encodeRequest,
  encodeRequestHead,
  encodeRequestHeadText,
  encodeResponse,
  encodeResponseHead,
  type HeadersInput,
  type HeadOptions,
  latin1Into,
  type ResponseHeadOptions,
} from "./serializer.ts";
