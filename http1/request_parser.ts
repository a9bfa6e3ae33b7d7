/**
 * The server side's push parser: bytes in, request heads and bodies out.
 *
 * @module
 */

import {
  checkTransferEncoding,
  FieldFacts,
  type LineMarks,
  parseFields,
  parseFieldsFast,
} from "./_fields.ts";
import { Http1Parser } from "./_parser_core.ts";
import { isHost, parseRequestLine, parseRequestLineBytes, requestLine } from "./_start_line.ts";
import { HttpParseError } from "./errors.ts";
import type { BodyFraming, ParserHandler, ParserOptions, RequestHead } from "./types.ts";

const facts = new FieldFacts();

/**
 * An incremental, sans-I/O HTTP/1.1 request parser (RFC 9112), strict by
 * default. Feed it bytes as they arrive, split anywhere; it calls the handler
 * for each head, body slice and message end, handles pipelined requests,
 * and stops after `CONNECT` or an `Upgrade` request, holding the unread bytes.
 *
 * @example Parse a request with a body
 * ```ts
 * import { RequestParser, type RequestHead } from "@sluice/http/http1";
 * import assert from "node:assert/strict";
 *
 * const heads: RequestHead[] = [];
 * let body = "";
 * const parser = new RequestParser({
 *   onHead: (head) => heads.push(head),
 *   onBody: (chunk) => (body += new TextDecoder().decode(chunk)),
 *   onComplete: () => {},
 * });
 * parser.feed(new TextEncoder().encode("POST /items HTTP/1.1\r\nHost: example.com\r\n"));
 * parser.feed(new TextEncoder().encode("Content-Length: 5\r\n\r\nhello"));
 * assert.equal(heads[0].method, "POST");
 * assert.equal(heads[0].target, "/items");
 * assert.deepEqual(heads[0].headers, ["Host", "example.com", "Content-Length", "5"]);
 * assert.equal(body, "hello");
 * ```
 */
export class RequestParser extends Http1Parser<RequestHead> {
  /**
   * @param handler Receives each request head, body slice and message end.
   * @param options Limits (aiohttp's defaults) and lenient switches (all off).
   */
  constructor(handler: ParserHandler<RequestHead>, options?: ParserOptions) {
    super(handler, options);
  }

  protected parseHead(text: string, lines: LineMarks | null, exact: boolean): RequestHead {
    facts.reset();
    let headers: string[];
    if (lines !== null) {
      const lineEnd = lines.start + lines.marks[1];
      if (!parseRequestLineBytes(lines.bytes, lines.start, lineEnd, text)) parseRequestLine(text);
      headers = parseFieldsFast(text, 1, lines, facts, this.fieldOptions);
    } else {
      const pos = parseRequestLine(text);
      headers = [];
      parseFields(text, pos, headers, facts, this.fieldOptions, exact);
    }
    const { method, target, versionMinor } = requestLine;
    const host = facts.host;
    if (host === null) {
      if (versionMinor >= 1) {
        throw new HttpParseError(
          "SLUICE_ERR_HTTP_MISSING_HOST",
          "Cannot accept HTTP/1.1 request: no Host field",
        );
      }
    } else if (!isHost(host, 0, host.length)) {
      throw new HttpParseError(
        "SLUICE_ERR_HTTP_INVALID_HOST",
        `Cannot accept Host "${host}": not a valid host`,
      );
    }
    let framing: BodyFraming = "none";
    let contentLength = -1;
    if (facts.transferEncoding !== null) {
      if (facts.contentLength !== -1) {
        throw new HttpParseError(
          "SLUICE_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
          "Cannot accept request: both Content-Length and Transfer-Encoding",
        );
      }
      if (versionMinor === 0) {
        throw new HttpParseError(
          "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
          "Cannot accept HTTP/1.0 request with Transfer-Encoding",
        );
      }
      checkTransferEncoding(facts.transferEncoding, true);
      framing = "chunked";
    } else if (facts.contentLength !== -1) {
      framing = "length";
      contentLength = facts.contentLength;
    }
    const connect = method === "CONNECT";
    if (connect && (framing === "chunked" || contentLength > 0)) {
      throw new HttpParseError(
        framing === "chunked"
          ? "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING"
          : "SLUICE_ERR_HTTP_INVALID_CONTENT_LENGTH",
        "Cannot accept CONNECT request with content",
      );
    }
    const keepAlive = versionMinor >= 1
      ? !facts.connectionClose
      : facts.connectionKeepAlive && !facts.connectionClose;
    return {
      method,
      target,
      versionMinor,
      headers,
      host,
      keepAlive,
      upgrade: connect || (versionMinor >= 1 && facts.hasUpgrade && facts.connectionUpgrade),
      expectContinue: versionMinor >= 1 && facts.expectContinue,
      framing,
      contentLength,
    };
  }

  protected isInterim(): boolean {
    return false;
  }

  protected startLineError(partial: string): HttpParseError {
    try {
      parseRequestLine(partial);
    } catch (err) {
      if (err instanceof HttpParseError) return err;
      throw err;
    }
    return new HttpParseError(
      "SLUICE_ERR_HTTP_INVALID_TARGET",
      "Cannot parse start line: control character",
    );
  }

  protected tooLongStartLine(limit: number): HttpParseError {
    return new HttpParseError(
      "SLUICE_ERR_HTTP_REQUEST_LINE_TOO_LONG",
      `Cannot accept request line: longer than ${limit} bytes`,
    );
  }
}
