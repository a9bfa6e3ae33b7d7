// The chunked transfer coding (RFC 9112 §7.1) as a byte-at-a-time state
// machine, so that any split of the input gives the same result. Chunk data
// is handed out as views of the input; only the framing bytes are examined.

import { HEX, QDTEXT, TOKEN, view } from "./_abnf.ts";
import { HttpParseError } from "./errors.ts";

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const SEMI = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** States of the chunked decoder. */
export const C_SIZE_START = 0;
const C_SIZE = 1;
const C_SIZE_LF = 2;
const C_DATA = 3;
const C_DATA_CR = 4;
const C_DATA_LF = 5;
const E_WS_BEFORE_SEMI = 6;
const E_WS_BEFORE_NAME = 7;
const E_NAME = 8;
const E_WS_AFTER_NAME = 9;
const E_WS_BEFORE_VALUE = 10;
const E_TOKEN_VALUE = 11;
const E_QUOTED = 12;
const E_QUOTED_ESCAPE = 13;
const E_AFTER_QUOTED = 14;

const MAX_SIZE = Number.MAX_SAFE_INTEGER;

/** Where the decoder stopped in the input. */
export const CHUNK_MORE = 0;
/** The last chunk's size line was read: trailers follow. */
export const CHUNK_LAST = 1;
/** The caller paused from inside `onBody`. */
export const CHUNK_PAUSED = 2;

function extError(c: number): HttpParseError {
  return new HttpParseError(
    "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
    `Cannot parse chunk extension: unexpected ${
      c === CR ? "end of line" : `byte 0x${c.toString(16).padStart(2, "0")}`
    }`,
  );
}

function bareCrError(where: string): HttpParseError {
  return new HttpParseError(
    "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
    `Cannot parse ${where}: bare CR where CRLF is required`,
  );
}

/** Decodes chunked framing; the parser owns one per connection and resets it per message. */
export class ChunkedDecoder {
  state = C_SIZE_START;
  /** Bytes left in the current chunk (also the size being read). */
  remaining = 0;
  digits = 0;
  extBytes = 0;
  /** The current size line has an extension (errors there are extension errors). */
  lineHasExt = false;
  /** Where {@linkcode decode} stopped: one of CHUNK_MORE, CHUNK_LAST, CHUNK_PAUSED. */
  stop = CHUNK_MORE;
  readonly maxExtBytes: number;

  constructor(maxExtBytes: number) {
    this.maxExtBytes = maxExtBytes;
  }

  reset(): void {
    this.state = C_SIZE_START;
    this.remaining = 0;
    this.digits = 0;
    this.extBytes = 0;
    this.lineHasExt = false;
  }

  /**
   * Decodes from `pos`, passing chunk data to `emit`, until the input ends,
   * the last chunk's size line ends, or `emit` returns true (paused).
   * Returns the position reached; {@linkcode stop} says why.
   */
  decode(bytes: Uint8Array, pos: number, emit: (chunk: Uint8Array) => boolean): number {
    const len = bytes.length;
    let state = this.state;
    this.stop = CHUNK_MORE;
    while (pos < len) {
      const c = bytes[pos];
      switch (state) {
        case C_SIZE_START: {
          const h = HEX[c];
          if (h === 255) throw sizeError(c);
          this.remaining = h;
          this.digits = 1;
          state = C_SIZE;
          pos++;
          break;
        }
        case C_SIZE: {
          const h = HEX[c];
          if (h !== 255) {
            if (++this.digits > 16 || this.remaining > (MAX_SIZE - h) / 16) {
              throw new HttpParseError(
                "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
                "Cannot parse chunk size: larger than 2^53-1",
              );
            }
            this.remaining = this.remaining * 16 + h;
            pos++;
          } else if (c === CR) {
            state = C_SIZE_LF;
            pos++;
          } else if (c === SEMI || c === SP || c === HTAB) {
            // Not consumed: the extension states count and check this byte.
            state = E_WS_BEFORE_SEMI;
            this.lineHasExt = true;
          } else {
            throw c === LF
              ? new HttpParseError(
                "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
                "Cannot parse chunk size line: bare LF where CRLF is required",
              )
              : sizeError(c);
          }
          break;
        }
        case C_SIZE_LF:
          if (c !== LF) throw this.lineHasExt ? extError(c) : bareCrError("chunk size line");
          this.lineHasExt = false;
          pos++;
          if (this.remaining === 0) {
            this.state = C_SIZE_START;
            this.stop = CHUNK_LAST;
            return pos;
          }
          state = C_DATA;
          break;
        case C_DATA: {
          const n = Math.min(this.remaining, len - pos);
          this.remaining -= n;
          if (this.remaining === 0) state = C_DATA_CR;
          this.state = state;
          const stop = emit(view(bytes, pos, n));
          pos += n;
          if (stop) {
            this.stop = CHUNK_PAUSED;
            return pos;
          }
          break;
        }
        case C_DATA_CR:
          if (c !== CR) {
            throw new HttpParseError(
              "SLUICE_ERR_HTTP_INVALID_CHUNK_DATA",
              "Cannot parse chunked body: chunk data is not followed by CRLF",
            );
          }
          state = C_DATA_LF;
          pos++;
          break;
        case C_DATA_LF:
          if (c !== LF) throw bareCrError("chunked body");
          state = C_SIZE_START;
          pos++;
          break;
        default:
          if (
            c === CR && (state === E_NAME || state === E_TOKEN_VALUE || state === E_AFTER_QUOTED)
          ) {
            state = C_SIZE_LF;
            pos++;
            break;
          }
          if (++this.extBytes > this.maxExtBytes) {
            throw new HttpParseError(
              "SLUICE_ERR_HTTP_CHUNK_EXTENSIONS_TOO_LARGE",
              `Cannot accept chunked body: chunk extensions exceed ${this.maxExtBytes} bytes`,
            );
          }
          state = extStep(state, c);
          pos++;
      }
    }
    this.state = state;
    return pos;
  }
}

function sizeError(c: number): HttpParseError {
  return new HttpParseError(
    "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
    `Cannot parse chunk size: unexpected byte 0x${c.toString(16).padStart(2, "0")}`,
  );
}

/** One byte of chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ). */
function extStep(state: number, c: number): number {
  switch (state) {
    case E_WS_BEFORE_SEMI:
      if (c === SP || c === HTAB) return state;
      if (c === SEMI) return E_WS_BEFORE_NAME;
      break;
    case E_WS_BEFORE_NAME:
      if (c === SP || c === HTAB) return state;
      if (TOKEN[c] === 1) return E_NAME;
      break;
    case E_NAME:
      if (TOKEN[c] === 1) return state;
      if (c === EQUALS) return E_WS_BEFORE_VALUE;
      if (c === SEMI) return E_WS_BEFORE_NAME;
      if (c === SP || c === HTAB) return E_WS_AFTER_NAME;
      break;
    case E_WS_AFTER_NAME:
      if (c === SP || c === HTAB) return state;
      if (c === EQUALS) return E_WS_BEFORE_VALUE;
      if (c === SEMI) return E_WS_BEFORE_NAME;
      break;
    case E_WS_BEFORE_VALUE:
      if (c === SP || c === HTAB) return state;
      if (c === DQUOTE) return E_QUOTED;
      if (TOKEN[c] === 1) return E_TOKEN_VALUE;
      break;
    case E_TOKEN_VALUE:
      if (TOKEN[c] === 1) return state;
      if (c === SEMI) return E_WS_BEFORE_NAME;
      if (c === SP || c === HTAB) return E_WS_BEFORE_SEMI;
      break;
    case E_QUOTED:
      if (c === DQUOTE) return E_AFTER_QUOTED;
      if (c === BACKSLASH) return E_QUOTED_ESCAPE;
      if (QDTEXT[c] === 1) return state;
      break;
    case E_QUOTED_ESCAPE:
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      if (c === HTAB || (c >= 0x20 && c !== 0x7f)) return E_QUOTED;
      break;
    case E_AFTER_QUOTED:
      if (c === SEMI) return E_WS_BEFORE_NAME;
      if (c === SP || c === HTAB) return E_WS_BEFORE_SEMI;
      break;
  }
  throw extError(c);
}
