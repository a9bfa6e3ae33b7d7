/**
 * The client side's push parser: bytes in, response heads and bodies out.
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
import { ParserCore } from "./_parser_core.ts";
import { parseStatusLine, statusLine } from "./_start_line.ts";
import { HttpParseError } from "./errors.ts";
import type {
  BodyFraming,
  ParserHandler,
  ParserOptions,
  ParserState,
  ResponseHead,
} from "./types.ts";

const facts = new FieldFacts();

/**
 * An incremental, sans-I/O HTTP/1.1 response parser (RFC 9112), strict by
 * default. Tell it the method of each request with {@linkcode expect} (a
 * response to `HEAD` has no body; a 2xx to `CONNECT` opens a tunnel); 1xx
 * heads arrive before the final one; `101` and tunnels stop the parser and
 * hold the unread bytes; a body without length ends at {@linkcode finish}.
 *
 * @example Parse a chunked response
 * ```ts
 * import { ResponseParser, type ResponseHead } from "@sluice/http/http1";
 * import assert from "node:assert/strict";
 *
 * let head: ResponseHead | undefined;
 * let body = "";
 * let trailers: string[] | null = null;
 * const parser = new ResponseParser({
 *   onHead: (h) => (head = h),
 *   onBody: (chunk) => (body += new TextDecoder().decode(chunk)),
 *   onComplete: (t) => (trailers = t),
 * });
 * parser.expect("GET");
 * parser.feed(new TextEncoder().encode(
 *   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n",
 * ));
 * assert.equal(head?.status, 200);
 * assert.equal(body, "hello");
 * assert.deepEqual(trailers, ["X-Sum", "1"]);
 * ```
 */
export class ResponseParser {
  readonly #core: ParserCore<ResponseHead>;
  readonly #methods: string[] = [];

  /**
   * Creates a parser for one connection's responses.
   *
   * @param handler Receives each response head, body slice and message end.
   * @param options Limits and lenient switches (all off).
   */
  constructor(handler: ParserHandler<ResponseHead>, options: ParserOptions = {}) {
    const methods = this.#methods;
    this.#core = new ParserCore(handler, options, {
      parseHead: (text, lines, exact, fieldOptions) =>
        parseResponseHead(text, lines, exact, fieldOptions, methods),
      isInterim: (head) => head.status < 200 && head.status !== 101,
      startLineError(partial) {
        try {
          parseStatusLine(partial, true);
        } catch (err) {
          if (err instanceof HttpParseError) return err;
          throw err;
        }
        return new HttpParseError(
          "SLUICE_ERR_HTTP_INVALID_STATUS_LINE",
          "Cannot parse status line: control character",
        );
      },
      tooLongStartLine: (limit) =>
        new HttpParseError(
          "SLUICE_ERR_HTTP_STATUS_LINE_TOO_LONG",
          `Cannot accept status line: longer than ${limit} bytes`,
        ),
    });
  }

  /**
   * Queues the method of a request whose response comes next (in order).
   * Responses with nothing queued are read as answers to `GET`.
   *
   * @param method The request method, e.g. `"HEAD"`.
   */
  expect(method: string): void {
    this.#methods.push(method);
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
   * parsers can be pooled. The `expect()` queue is emptied too. Throws `TypeError` when called from
   * inside one of the parser's own callbacks.
   */
  reset(): void {
    this.#core.reset();
    this.#methods.length = 0;
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

/** Builds a response head from its text; `methods` is the queue of expected request methods. */
function parseResponseHead(
  text: string,
  lines: LineMarks | null,
  exact: boolean,
  fieldOptions: FieldOptions,
  methods: string[],
): ResponseHead {
  const pos = parseStatusLine(text, exact);
  const { versionMinor, status, reason } = statusLine;
  facts.reset(false);
  let headers: string[];
  if (lines !== null) {
    headers = parseFieldsFast(text, 1, lines, facts, fieldOptions);
  } else {
    headers = [];
    parseFields(text, pos, headers, facts, fieldOptions, exact);
  }
  if (facts.transferEncoding !== null && facts.contentLength !== -1) {
    throw new HttpParseError(
      "SLUICE_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
      "Cannot accept response: both Content-Length and Transfer-Encoding",
    );
  }
  const interim = status < 200 && status !== 101;
  const method = interim ? methods[0] : methods.shift();
  const tunnel = method === "CONNECT" && status >= 200 && status < 300;
  const upgrade = status === 101 || tunnel;
  let keepAlive = versionMinor >= 1
    ? !facts.connectionClose
    : facts.connectionKeepAlive && !facts.connectionClose;
  let framing: BodyFraming = "none";
  let contentLength = -1;
  if (status < 200 || status === 204 || status === 304 || method === "HEAD" || tunnel) {
    // No content, whatever the framing fields say (RFC 9112 §6.3 items 1–2).
  } else if (facts.transferEncoding !== null) {
    checkTransferEncoding(facts.transferEncoding, false);
    framing = "chunked";
    // RFC 9112 §6.1: after an HTTP/1.0 message with Transfer-Encoding, close.
    if (versionMinor === 0) keepAlive = false;
  } else if (facts.contentLength !== -1) {
    framing = "length";
    contentLength = facts.contentLength;
  } else {
    framing = "close";
    keepAlive = false;
  }
  return { versionMinor, status, reason, headers, keepAlive, upgrade, framing, contentLength };
}
