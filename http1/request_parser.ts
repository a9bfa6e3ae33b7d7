/**
 * The server side's push parser: bytes in, request heads and bodies out.
 *
 * @module
 */

import {
  checkTransferEncoding,
  FieldFacts,
  type FieldOptions,
  type LineMarks,
  parseFields,
  parseFieldsFast,
} from "./_fields.ts";
import type { Dialect } from "./_dialect.ts";
import { ParserCore } from "./_parser_core.ts";
import { isHost, parseRequestLine, parseRequestLineBytes, requestLine } from "./_start_line.ts";
import { HttpParseError } from "./errors.ts";
import type {
  BodyFraming,
  ParserHandler,
  ParserOptions,
  ParserState,
  RequestHead,
} from "./types.ts";

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
export class RequestParser {
  readonly #core: ParserCore<RequestHead>;

  /**
   * Creates a parser for one connection's requests.
   *
   * @param handler Receives each request head, body slice and message end.
   * @param options Limits (aiohttp's defaults) and lenient switches (all off).
   */
  constructor(handler: ParserHandler<RequestHead>, options: ParserOptions = {}) {
    this.#core = new ParserCore(handler, options, REQUEST_DIALECT);
  }

  /**
   * Parses `bytes`, calling the handler for every head, body slice and
   * message end they complete (any number of pipelined messages). Throws
   * {@linkcode HttpParseError} on a malformed message; the parser then stays
   * failed and throws again on every call. While paused or upgraded, the
   * bytes are held for {@linkcode resume} / {@linkcode takeRemaining}; after
   * a message with `keepAlive` false, further bytes are ignored.
   *
   * @param bytes The next bytes of the stream, split anywhere.
   */
  feed(bytes: Uint8Array): void {
    this.#core.feed(bytes);
  }

  /**
   * Signals the end of input. Ends a read-until-close body; throws
   * `SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE` when a message was cut short.
   */
  finish(): void {
    this.#core.finish();
  }

  /**
   * Stops parsing after the current callback; the unparsed rest is held until
   * {@linkcode resume}. Called between feeds, it holds the next fed bytes.
   */
  pause(): void {
    this.#core.pause();
  }

  /**
   * Continues after {@linkcode pause}, parsing the held bytes now. After an
   * upgrade, it declines the upgrade: the held bytes are parsed as HTTP.
   */
  resume(): void {
    this.#core.resume();
  }

  /**
   * Forgets all state — a message in progress, held bytes, a failure — and
   * starts over as a new parser with the same handler and options, so that
   * parsers can be pooled. Throws `TypeError` when called from
   * inside one of the parser's own callbacks.
   */
  reset(): void {
    this.#core.reset();
  }

  /**
   * Returns and forgets the held bytes: after an upgrade, the first bytes of
   * the new protocol.
   *
   * @returns The bytes fed but not parsed (empty when there are none).
   */
  takeRemaining(): Uint8Array {
    return this.#core.takeRemaining();
  }

  /** Where the parser stands: between messages, inside one, handed over, or done. */
  get state(): ParserState {
    return this.#core.state;
  }

  /** Whether {@linkcode pause} is in effect. */
  get paused(): boolean {
    return this.#core.paused;
  }
}

const REQUEST_DIALECT: Dialect<RequestHead> = {
  parseHead: parseRequestHead,
  isInterim: () => false,
  startLineError(partial) {
    try {
      parseRequestLine(partial);
    } catch (err) {
      if (err instanceof HttpParseError) return err;
      throw err;
    }
    return new HttpParseError(
      "SLUICE_ERR_HTTP_INVALID_TARGET",
      "Cannot parse request line: control character",
    );
  },
  tooLongStartLine: (limit) =>
    new HttpParseError(
      "SLUICE_ERR_HTTP_REQUEST_LINE_TOO_LONG",
      `Cannot accept request line: longer than ${limit} bytes`,
    ),
};

/** Builds a request head from its text (see {@linkcode Dialect.parseHead}). */
function parseRequestHead(
  text: string,
  lines: LineMarks | null,
  exact: boolean,
  fieldOptions: FieldOptions,
): RequestHead {
  facts.reset(true);
  let headers: string[];
  if (lines !== null) {
    const lineEnd = lines.start + lines.marks[1];
    if (!parseRequestLineBytes(lines.bytes, lines.start, lineEnd, text)) parseRequestLine(text);
    headers = parseFieldsFast(text, 1, lines, facts, fieldOptions);
  } else {
    const pos = parseRequestLine(text);
    headers = [];
    parseFields(text, pos, headers, facts, fieldOptions, exact);
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
