/**
 * Plain data shared by the parser and the serializer.
 *
 * @module
 */

/**
 * How a message's body is delimited (RFC 9112 §6.3):
 * - `"none"`: no body (no framing headers on a request, `HEAD`, 1xx, 204, 304);
 * - `"length"`: exactly `contentLength` bytes;
 * - `"chunked"`: the chunked transfer coding, possibly with trailers;
 * - `"close"`: until the connection closes (responses only).
 */
export type BodyFraming = "none" | "length" | "chunked" | "close";

/** The head of a request, as the server-side parser yields it. */
export interface RequestHead {
  /** The method token as sent (case-sensitive, e.g. `"GET"`). */
  method: string;
  /** The request-target as sent (origin, absolute, authority or asterisk form). */
  target: string;
  /** The minor version: `1` for HTTP/1.1 (and higher 1.x), `0` for HTTP/1.0. */
  versionMinor: number;
  /** Raw header fields in order, flat: `[name0, value0, name1, value1, ...]`. Names keep their case; values are trimmed of surrounding whitespace. */
  headers: string[];
  /** The `Host` field value, or `null` when absent (allowed only in HTTP/1.0). */
  host: string | null;
  /** Whether the connection may be kept open after this message. */
  keepAlive: boolean;
  /** `CONNECT`, or an HTTP/1.1 `Upgrade` request: the parser pauses after this message. */
  upgrade: boolean;
  /** `Expect: 100-continue` on an HTTP/1.1 request. */
  expectContinue: boolean;
  /** How the body is delimited. */
  framing: BodyFraming;
  /** The declared body length for `"length"` framing, else -1. */
  contentLength: number;
}

/** The head of a response, as the client-side parser yields it. */
export interface ResponseHead {
  /** The minor version: `1` for HTTP/1.1 (and higher 1.x), `0` for HTTP/1.0. */
  versionMinor: number;
  /** The status code, 100–999. */
  status: number;
  /** The reason phrase as sent (may be empty). */
  reason: string;
  /** Raw header fields in order, flat: `[name0, value0, name1, value1, ...]`. */
  headers: string[];
  /** Whether the connection may be reused after this message. */
  keepAlive: boolean;
  /** `101 Switching Protocols`, or a 2xx answer to `CONNECT`: the parser pauses after the head. */
  upgrade: boolean;
  /** How the body is delimited. */
  framing: BodyFraming;
  /** The declared body length for `"length"` framing, else -1. */
  contentLength: number;
}

/**
 * What the parser calls as it reads. Body chunks are views into the bytes
 * that were fed (never copied); copy them if you reuse the buffer you feed.
 */
export interface ParserHandler<Head> {
  /** A complete head was read. 1xx responses arrive here too, each followed by `onComplete`. */
  onHead(head: Head): void;
  /** A slice of body bytes (never empty). */
  onBody(chunk: Uint8Array): void;
  /** The message ended; `trailers` holds chunked trailer fields (flat pairs) or is `null`. */
  onComplete(trailers: string[] | null): void;
}

/**
 * Per-quirk lenient switches, all off by default. Each one accepts something
 * RFC 9112 lets a recipient accept but that strict parsing refuses.
 */
export interface LenientFlags {
  /** Accept obs-fold (a header line starting with SP/HTAB) and replace it by one SP (RFC 9112 §5.2). */
  obsFold?: boolean;
  /** Accept repeated `Content-Length` fields or lists whose values are all identical (RFC 9110 §8.6). */
  duplicateContentLength?: boolean;
}

/** Limits and switches of {@linkcode RequestParser} and {@linkcode ResponseParser}. */
export interface ParserOptions {
  /** Longest request line (or status line), without CRLF. Default 8190 (aiohttp). */
  maxRequestLineSize?: number;
  /** Longest header or trailer field line, without CRLF. Default 8190 (aiohttp). */
  maxHeaderSize?: number;
  /** Most header fields in one head (and trailer fields in one trailer section). Default 128. */
  maxHeaders?: number;
  /** Most bytes of chunk extensions in one message. Default 16384. */
  maxChunkExtensionsSize?: number;
  /** Lenient switches, one per quirk; strict when omitted. */
  lenient?: LenientFlags;
}

/** The parser's position, as {@linkcode RequestParser.state} reports it. */
export type ParserState =
  | "idle"
  | "head"
  | "body"
  | "upgraded"
  | "finished"
  | "failed";
