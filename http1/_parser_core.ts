// The push parser shared by RequestParser and ResponseParser: the run loop,
// the head scanner (limits enforced before anything is buffered), body
// framing, pause/resume and upgrade hand-over.

import { asciiFast, latin1Exact, TOKEN, VALUE_ASCII, view } from "./_abnf.ts";
import { CHUNK_LAST, ChunkedDecoder } from "./_chunked.ts";
import { type Dialect, sharedMarks } from "./_dialect.ts";
import {
  controlError,
  type FieldOptions,
  lineEndingError,
  type LineMarks,
  NEEDS_EXACT_DECODE,
  parseFields,
  parseFieldsFast,
} from "./_fields.ts";
import { HttpParseError } from "./errors.ts";
import type {
  ParserHandler,
  ParserOptions,
  ParserState,
  RequestHead,
  ResponseHead,
} from "./types.ts";

const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const EMPTY = new Uint8Array(0);

/** The head holds a byte ≥ 0x80: decode it byte for byte. */
const F_NON_ASCII = 1;
/** The head needs the careful parser (it will name what is wrong, or accept obs-fold leniently). */
const F_CAREFUL = 2;

const S_HEAD = 0;
const S_LENGTH = 1;
const S_CHUNKED = 2;
const S_TRAILERS = 3;
const S_CLOSE = 4;
const S_DONE = 5;
const S_UPGRADED = 6;
const S_FINISHED = 7;
const S_FAILED = 8;

/**
 * The machinery shared by RequestParser and ResponseParser: everything about
 * bytes, framing and state. The public classes wrap one and supply a dialect.
 */
export class ParserCore<Head extends RequestHead | ResponseHead> {
  readonly #handler: ParserHandler<Head>;
  readonly #maxLine: number;
  readonly #maxField: number;
  readonly #maxFields: number;
  /** Lines up to this length pass both line limits. */
  readonly #fastLimit: number;
  readonly #fieldOptions: FieldOptions;
  readonly #dialect: Dialect<Head>;
  #chunked: ChunkedDecoder | null = null;
  readonly #maxChunkExt: number;
  readonly #emit: (chunk: Uint8Array) => boolean;

  #state = S_HEAD;
  #paused = false;
  #running = false;
  #held: Uint8Array | null = null;
  #eofPending = false;
  #error: unknown = null;

  // Head scanning. Offsets are absolute in the buffer being scanned: the fed
  // chunk, or #buf once a head spans chunks.
  #buf: Uint8Array = EMPTY;
  #bufLen = 0;
  #hs = 0;
  #ls = 0;
  #sf = 0;
  #lines = 0;
  #skipped = 0;
  #inName = false;
  #flags = 0;
  /** Field marks of the head being scanned: the shared array, or this parser's own while a head spans feeds. */
  #marks: Uint32Array;
  readonly #marksSize: number;
  readonly #lineMarks: LineMarks;

  #remaining = 0;
  #trailers: string[] | null = null;
  #keepAlive = true;
  #upgrade = false;
  #interim = false;
  #afterUpgrade = S_HEAD;

  /**
   * @param handler Receives heads, body chunks and message ends.
   * @param options Limits and lenient switches.
   */
  constructor(handler: ParserHandler<Head>, options: ParserOptions, dialect: Dialect<Head>) {
    this.#handler = handler;
    this.#dialect = dialect;
    this.#maxLine = options.maxRequestLineSize ?? 8190;
    this.#maxField = options.maxHeaderSize ?? 8190;
    this.#maxFields = options.maxHeaders ?? 128;
    this.#fastLimit = Math.min(this.#maxLine, this.#maxField);
    this.#fieldOptions = {
      obsFold: options.lenient?.obsFold === true,
      duplicateContentLength: options.lenient?.duplicateContentLength === true,
    };
    this.#maxChunkExt = options.maxChunkExtensionsSize ?? 16384;
    this.#marksSize = 2 * (this.#maxFields + 2);
    this.#marks = sharedMarks(this.#marksSize);
    this.#lineMarks = { marks: this.#marks, count: 0, bytes: EMPTY, start: 0 };
    this.#emit = (chunk) => {
      handler.onBody(chunk);
      return this.#paused;
    };
  }

  /** Where the parser stands: between messages, inside one, handed over, or done. */
  get state(): ParserState {
    switch (this.#state) {
      case S_HEAD:
        return this.#bufLen > this.#hs ? "head" : "idle";
      case S_UPGRADED:
        return "upgraded";
      case S_FINISHED:
        return "finished";
      case S_FAILED:
        return "failed";
      default:
        return "body";
    }
  }

  /** Whether {@linkcode pause} is in effect. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Parses `bytes`, calling the handler for every head, body slice and
   * message end they complete. Throws {@linkcode HttpParseError} on a
   * malformed message; the parser then stays failed. While paused or
   * upgraded, the bytes are held for {@linkcode resume} / {@linkcode takeRemaining}.
   */
  feed(bytes: Uint8Array): void {
    if (this.#state === S_FAILED) throw this.#error;
    if (this.#paused || this.#state === S_UPGRADED) {
      this.#hold(bytes, 0);
      return;
    }
    if (this.#state === S_FINISHED) return;
    this.#guarded(bytes);
  }

  /**
   * Signals the end of input. Ends a read-until-close body; throws
   * `SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE` when a message was cut short.
   */
  finish(): void {
    if (this.#state === S_FAILED) throw this.#error;
    if (this.#paused) {
      this.#eofPending = true;
      return;
    }
    switch (this.#state) {
      case S_HEAD:
        // Nothing, or only the CR of an empty line, is no message.
        if (
          this.#bufLen > this.#hs && !(this.#bufLen - this.#hs === 1 && this.#buf[this.#hs] === CR)
        ) {
          break;
        }
        this.#state = S_FINISHED;
        return;
      case S_CLOSE:
        this.#complete(null);
        this.#state = S_FINISHED;
        return;
      case S_UPGRADED:
      case S_FINISHED:
        return;
    }
    this.#state = S_FAILED;
    this.#error = new HttpParseError(
      "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE",
      "Cannot complete message: the input ended in the middle of it",
    );
    throw this.#error;
  }

  /**
   * Stops parsing after the current callback; the unparsed rest is held until
   * {@linkcode resume}. Called between feeds, it holds the next fed bytes.
   */
  pause(): void {
    this.#paused = true;
  }

  /**
   * Continues after {@linkcode pause}, parsing the held bytes now. After an
   * upgrade, it declines the upgrade: the held bytes are parsed as HTTP.
   */
  resume(): void {
    if (this.#state === S_UPGRADED) this.#state = this.#afterUpgrade;
    else if (!this.#paused) return;
    this.#paused = false;
    // From inside a callback: the running loop simply goes on.
    if (this.#running) return;
    const held = this.#held ?? EMPTY;
    this.#held = null;
    if (this.#state === S_FINISHED || this.#state === S_FAILED) return;
    this.#guarded(held);
    if (this.#eofPending && !this.#paused) {
      this.#eofPending = false;
      this.finish();
    }
  }

  /** Forgets everything, as if just made (same handler and options). */
  reset(): void {
    if (this.#running) throw new TypeError("Cannot reset a parser from inside its own callback");
    this.#state = S_HEAD;
    this.#paused = false;
    this.#held = null;
    this.#eofPending = false;
    this.#error = null;
    this.#buf = EMPTY;
    this.#bufLen = 0;
    this.#hs = this.#ls = this.#sf = 0;
    this.#lines = 0;
    this.#skipped = 0;
    this.#inName = false;
    this.#flags = 0;
    this.#marks = sharedMarks(this.#marksSize);
    this.#remaining = 0;
    this.#trailers = null;
    this.#keepAlive = true;
    this.#upgrade = false;
    this.#interim = false;
    this.#afterUpgrade = S_HEAD;
  }

  /** Returns and forgets the held bytes: after an upgrade, the first bytes of the new protocol. */
  takeRemaining(): Uint8Array {
    const held = this.#held ?? EMPTY;
    this.#held = null;
    return held;
  }

  #guarded(bytes: Uint8Array): void {
    this.#running = true;
    try {
      this.#run(bytes, 0);
    } catch (err) {
      this.#state = S_FAILED;
      this.#error = err;
      throw err;
    } finally {
      this.#running = false;
    }
  }

  #hold(bytes: Uint8Array, pos: number): void {
    if (pos >= bytes.length) return;
    const rest = bytes.subarray(pos);
    const held = this.#held;
    if (held === null) {
      // A copy (`new Uint8Array`: a Buffer's `slice` would be a view of the caller's bytes).
      this.#held = new Uint8Array(rest);
      return;
    }
    const joined = new Uint8Array(held.length + rest.length);
    joined.set(held);
    joined.set(rest, held.length);
    this.#held = joined;
  }

  #run(bytes: Uint8Array, pos: number): void {
    const len = bytes.length;
    for (;;) {
      if (this.#paused) {
        this.#hold(bytes, pos);
        return;
      }
      switch (this.#state) {
        case S_DONE:
          this.#complete(this.#trailers);
          continue;
        case S_UPGRADED:
          this.#hold(bytes, pos);
          return;
        case S_FINISHED:
          return;
      }
      if (pos >= len) return;
      switch (this.#state) {
        case S_HEAD:
        case S_TRAILERS:
          pos = this.#headStep(bytes, pos);
          break;
        case S_LENGTH: {
          const n = Math.min(this.#remaining, len - pos);
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = S_DONE;
          this.#handler.onBody(n === len ? bytes : view(bytes, pos, n));
          pos += n;
          break;
        }
        case S_CHUNKED: {
          const decoder = this.#chunked!;
          pos = decoder.decode(bytes, pos, this.#emit);
          if (decoder.stop === CHUNK_LAST) this.#startHead(S_TRAILERS);
          break;
        }
        case S_CLOSE:
          this.#handler.onBody(pos === 0 ? bytes : view(bytes, pos, len - pos));
          pos = len;
          break;
      }
    }
  }

  #startHead(state: number): void {
    this.#state = state;
    this.#bufLen = 0;
    this.#hs = this.#ls = this.#sf = 0;
    this.#lines = 0;
    this.#skipped = 0;
    this.#inName = state === S_TRAILERS;
    this.#flags = 0;
  }

  /** Scans for the end of a head (or trailer section); parses it once complete. */
  #headStep(bytes: Uint8Array, pos: number): number {
    const len = bytes.length;
    if (this.#bufLen === 0) {
      this.#hs = this.#ls = this.#sf = pos;
      this.#lines = 0;
      // #skipped is kept: empty lines before a start line count across feeds.
      this.#inName = this.#state === S_TRAILERS;
      this.#flags = 0;
      // A head parsed within one feed uses the marks shared by all parsers
      // (parsing is synchronous), so an idle connection holds none.
      this.#marks = sharedMarks(this.#marksSize);
      const end = this.#scan(bytes, len);
      if (end !== -1) {
        this.#headDone(bytes, this.#hs, end);
        return end;
      }
      // Incomplete: keep the partial head and its marks, offsets rebased to the buffer.
      const own = new Uint32Array(this.#marksSize);
      own.set(this.#marks.subarray(0, Math.min(this.#marksSize, 2 * (this.#lines + 1))));
      this.#marks = own;
      const hs = this.#hs;
      this.#append(bytes, hs);
      this.#ls -= hs;
      this.#sf -= hs;
      this.#hs = 0;
      return len;
    }
    const before = this.#bufLen;
    this.#append(bytes, pos);
    const buf = this.#buf.subarray(0, this.#bufLen);
    const end = this.#scan(buf, this.#bufLen);
    if (end === -1) return len;
    this.#bufLen = 0;
    this.#headDone(buf, this.#hs, end);
    // The head is parsed: let the spanning buffer and marks go (idle connections keep nothing).
    this.#buf = EMPTY;
    this.#marks = sharedMarks(this.#marksSize);
    return pos + (end - before);
  }

  #append(bytes: Uint8Array, from: number): void {
    const n = bytes.length - from;
    const need = this.#bufLen + n;
    if (this.#buf.length < need) {
      const grown = new Uint8Array(Math.max(need, this.#buf.length * 2, 1024));
      grown.set(this.#buf.subarray(0, this.#bufLen));
      this.#buf = grown;
    }
    this.#buf.set(from === 0 ? bytes : bytes.subarray(from), this.#bufLen);
    this.#bufLen = need;
  }

  /**
   * Finds the empty line that ends the head in one pass over the bytes,
   * checking each line's length and the number of lines as they arrive (so
   * nothing past a limit is kept), rejecting bare CR and bare LF, and
   * recording where each field's colon and line end are. Anything else that
   * is wrong (a control character, a name that is not a token, obs-fold) only
   * flags the head for the careful parser, which names the error. Returns the
   * offset after the empty line, or -1 when more input is needed.
   */
  #scan(buf: Uint8Array, end: number): number {
    const trailers = this.#state === S_TRAILERS;
    const marks = this.#marks;
    let i = this.#sf;
    let ls = this.#ls;
    let lines = this.#lines;
    let inName = this.#inName;
    let flags = this.#flags;
    let hs = this.#hs;
    const fastLimit = this.#fastLimit;
    for (;;) {
      if (inName) {
        // Letters four at a time (SWAR: each byte, case folded, in a..z), then
        // tight, bounded loops: a read past the end would deoptimize V8.
        while (i + 4 <= end) {
          const w = buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
          const x = w | 0x20202020;
          if (((x + 0x05050505) | (x - 0x61616161) | w) & 0x80808080) break;
          i += 4;
        }
        while (i < end && TOKEN[buf[i]] === 1) i++;
        if (i < end) {
          const c = buf[i];
          if (c === COLON && i > ls) {
            marks[2 * lines] = i - hs;
            inName = false;
            i++;
          } else if (c !== CR) {
            // CR keeps inName: a line without a colon is flagged at its end.
            if (c < 0x80 && VALUE_ASCII[c] === 0 && c !== LF) {
              this.#checkLine(i - ls, lines, trailers);
              throw controlError(c, "field name");
            }
            flags |= F_CAREFUL;
            inName = false;
          }
        }
      }
      // Four bytes at a time while all are SP..~ (SWAR: no byte < 0x20, none >= 0x7f).
      while (i + 4 <= end) {
        const w = buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
        if ((((w - 0x20202020) & ~w) | (w + 0x01010101) | w) & 0x80808080) break;
        i += 4;
      }
      while (i < end && VALUE_ASCII[buf[i]] === 1) i++;
      if (i >= end || (buf[i] === CR && i + 1 >= end)) {
        this.#checkLine((i < end ? i : end) - ls, lines, trailers);
        this.#sf = i < end ? i : end;
        this.#ls = ls;
        this.#lines = lines;
        this.#inName = inName;
        this.#flags = flags;
        return -1;
      }
      const c = buf[i];
      // Any error at i reports an over-long line first, as a feed split before i would.
      if (i - ls > fastLimit) this.#checkLine(i - ls, lines, trailers);
      if (c !== CR) {
        if (c === LF) throw lineEndingError("LF", trailers);
        if (c < 0x80) {
          // A control character: refused at once, with the error the careful parser would name.
          throw lines === 0 && !trailers
            ? this.#dialect.startLineError(asciiFast(buf, hs, i + 1))
            : controlError(c, "field value");
        }
        flags |= F_NON_ASCII;
        i++;
        continue;
      }
      if (buf[i + 1] !== LF) throw lineEndingError("CR", trailers);
      const length = i - ls;
      if (length === 0) {
        if (lines > 0 || trailers) {
          this.#lines = lines;
          this.#flags = flags;
          return i + 2;
        }
        // Empty lines before a start line are ignored (RFC 9112 §2.2), within the line limit.
        this.#skipped += 2;
        if (this.#skipped > this.#maxLine) {
          throw new HttpParseError(
            "SLUICE_ERR_HTTP_REQUEST_LINE_TOO_LONG",
            `Cannot parse head: more than ${this.#maxLine} bytes of empty lines before the start line`,
          );
        }
        i += 2;
        this.#hs = hs = ls = i;
        continue;
      }
      if (inName) flags |= F_CAREFUL; // a field line without a colon
      if (lines > this.#maxFields + (trailers ? -1 : 0)) {
        throw new HttpParseError(
          "SLUICE_ERR_HTTP_TOO_MANY_HEADERS",
          `Cannot accept ${
            trailers ? "trailer section" : "head"
          }: more than ${this.#maxFields} fields`,
        );
      }
      marks[2 * lines + 1] = i - hs;
      lines++;
      i += 2;
      ls = i;
      inName = true;
    }
  }

  #checkLine(length: number, lines: number, trailers: boolean): void {
    if (lines === 0 && !trailers) {
      if (length > this.#maxLine) throw this.#dialect.tooLongStartLine(this.#maxLine);
    } else if (length > this.#maxField) {
      throw new HttpParseError(
        "SLUICE_ERR_HTTP_HEADER_TOO_LARGE",
        `Cannot accept field line: longer than ${this.#maxField} bytes`,
      );
    }
  }

  /** Parses the complete head (or trailers) in `buf[start, end)` and moves on to the body. */
  #headDone(buf: Uint8Array, start: number, end: number): void {
    if (this.#state === S_TRAILERS) {
      this.#trailers = end - start === 2 ? null : this.#parseTrailers(buf, start, end);
      this.#state = S_DONE;
      return;
    }
    let head: Head;
    const dialect = this.#dialect;
    const flags = this.#flags;
    if (flags === 0) {
      const lineMarks = this.#lineMarks;
      lineMarks.marks = this.#marks;
      lineMarks.count = this.#lines;
      lineMarks.bytes = buf;
      lineMarks.start = start;
      head = dialect.parseHead(
        asciiFast(buf, start, end),
        this.#lineMarks,
        false,
        this.#fieldOptions,
      );
      lineMarks.bytes = EMPTY;
    } else if (flags === F_NON_ASCII) {
      head = dialect.parseHead(latin1Exact(buf, start, end), null, true, this.#fieldOptions);
    } else {
      try {
        head = dialect.parseHead(asciiFast(buf, start, end), null, false, this.#fieldOptions);
      } catch (err) {
        if (err !== NEEDS_EXACT_DECODE) throw err;
        head = dialect.parseHead(latin1Exact(buf, start, end), null, true, this.#fieldOptions);
      }
    }
    this.#keepAlive = head.keepAlive;
    this.#upgrade = head.upgrade;
    this.#interim = dialect.isInterim(head);
    this.#trailers = null;
    switch (head.framing) {
      case "length":
        this.#remaining = head.contentLength;
        this.#state = head.contentLength > 0 ? S_LENGTH : S_DONE;
        break;
      case "chunked":
        this.#state = S_CHUNKED;
        if (this.#chunked === null) this.#chunked = new ChunkedDecoder(this.#maxChunkExt);
        else this.#chunked.reset();
        break;
      case "close":
        this.#state = S_CLOSE;
        break;
      default:
        this.#state = S_DONE;
    }
    this.#handler.onHead(head);
  }

  #parseTrailers(buf: Uint8Array, start: number, end: number): string[] {
    if (this.#flags === 0) {
      this.#lineMarks.marks = this.#marks;
      this.#lineMarks.count = this.#lines;
      return parseFieldsFast(asciiFast(buf, start, end), 0, this.#lineMarks, null);
    }
    const out: string[] = [];
    try {
      parseFields(asciiFast(buf, start, end), 0, out, null, this.#fieldOptions, false);
    } catch (err) {
      if (err !== NEEDS_EXACT_DECODE) throw err;
      out.length = 0;
      parseFields(latin1Exact(buf, start, end), 0, out, null, this.#fieldOptions, true);
    }
    return out;
  }

  #complete(trailers: string[] | null): void {
    this.#startHead(S_HEAD);
    this.#trailers = null;
    if (this.#interim) {
      // Another head follows for the same request.
    } else if (this.#upgrade) {
      this.#state = S_UPGRADED;
      this.#afterUpgrade = this.#keepAlive ? S_HEAD : S_FINISHED;
    } else if (!this.#keepAlive) {
      this.#state = S_FINISHED;
    }
    this.#handler.onComplete(trailers);
  }
}
