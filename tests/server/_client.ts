// A raw HTTP/1.1 client for the server tests: a node:net socket (it works on
// Deno, Bun and Node alike) that sends exact bytes and reads responses with
// its own small parser, independent of `http1/`, so that the engine's bytes
// are checked by something that did not write them.

import { connect, type Socket } from "node:net";
import type { Address } from "../../adapters/transport.ts";
import { within } from "../adapters/_net.ts";

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder();

/** One response as read off the wire. */
export interface RawResponse {
  status: number;
  reason: string;
  /** `"1.1"` or `"1.0"`. */
  version: string;
  /** Field names in lower case; repeated fields joined with `", "`. */
  headers: Map<string, string>;
  /** The head as sent, up to its blank line (for exact checks). */
  head: string;
  body: Uint8Array;
  /** `body` as UTF-8. */
  text: string;
  chunked: boolean;
  /** Trailer fields of a chunked body (names in lower case). */
  trailers: Map<string, string>;
  /** `false` when the connection closed before the body was complete. */
  complete: boolean;
}

/** Options of {@linkcode RawClient.response}. */
export interface ReadOptions {
  /** The response answers a HEAD request: it has no body whatever its fields say. */
  head?: boolean;
  /** Give up after this long (default 10 s). */
  ms?: number;
  /** Return a response whose body was cut off by the connection closing, instead of failing. */
  allowIncomplete?: boolean;
}

/** The TCP port of a server address. */
export function portOf(address: Address): number {
  if (address.transport !== "tcp") throw new Error("not a TCP address");
  return address.port;
}

/** A client socket with a receive buffer and a response reader. */
export class RawClient {
  readonly socket: Socket;
  #buffer = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #wake: (() => void) | null = null;
  /** The server ended its side (EOF). */
  ended = false;
  /** The socket is closed. */
  closed = false;
  /** The socket error, if it broke (`ECONNRESET`, …). */
  error: Error | null = null;
  /** Bytes received in all. */
  received = 0;
  /** Resolves when the socket is closed. */
  readonly whenClosed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Uint8Array) => this.#append(chunk));
    socket.on("end", () => {
      this.ended = true;
      this.#notify();
    });
    socket.on("error", (error) => {
      this.error = error;
      this.#notify();
    });
    this.whenClosed = new Promise((resolve) =>
      socket.once("close", () => {
        this.closed = true;
        this.#notify();
        resolve();
      })
    );
  }

  /** Connects to `127.0.0.1:port`. */
  static open(port: number): Promise<RawClient> {
    const socket = connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    return within(
      new Promise<RawClient>((resolve, reject) => {
        socket.once("connect", () => {
          socket.off("error", reject);
          resolve(new RawClient(socket));
        });
        socket.once("error", reject);
      }),
      5000,
      `connect to port ${port}`,
    );
  }

  /** Sends bytes or Latin-1 text. Returns what `socket.write` returns. */
  send(data: string | Uint8Array): boolean {
    return this.socket.write(typeof data === "string" ? latin1Bytes(data) : data);
  }

  /** Bytes received and not yet read as a response. */
  get pending(): number {
    return this.#end - this.#start;
  }

  /** Takes the unread bytes. */
  take(): Uint8Array {
    const out = this.#buffer.slice(this.#start, this.#end);
    this.#start = this.#end = 0;
    return out;
  }

  /** Waits until at least `n` unread bytes are there (or fails after `ms`). */
  async waitBytes(n: number, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.pending < n) {
      if (this.ended || this.closed) {
        throw new Error(`Connection closed with ${this.pending} of ${n} expected bytes`);
      }
      await this.#wait(deadline, `${n} bytes`);
    }
  }

  /** Reads the next response (1xx included). */
  async response(options: ReadOptions = {}): Promise<RawResponse> {
    const deadline = Date.now() + (options.ms ?? 10_000);
    for (;;) {
      const done = this.ended || this.closed;
      const parsed = parseResponse(
        this.#buffer.subarray(this.#start, this.#end),
        options.head === true,
        done,
      );
      if (parsed !== null && (parsed.response.complete || options.allowIncomplete)) {
        this.#start += parsed.used;
        if (this.#start === this.#end) this.#start = this.#end = 0;
        return parsed.response;
      }
      if (done) {
        const got = latin1.decode(
          this.#buffer.subarray(this.#start, Math.min(this.#end, this.#start + 300)),
        );
        throw new Error(
          `Connection ${this.error ? `broke (${this.error.message})` : "closed"} before a ` +
            `complete response; unread: ${JSON.stringify(got)}`,
        );
      }
      await this.#wait(deadline, "a response");
    }
  }

  /** Waits for the server's EOF or the socket's close; returns whether it was a reset. */
  async waitClosed(ms = 10_000): Promise<{ reset: boolean }> {
    const deadline = Date.now() + ms;
    while (!this.ended && !this.closed) await this.#wait(deadline, "the connection to close");
    return { reset: this.error !== null };
  }

  /** Ends our side and destroys the socket. */
  close(): void {
    this.socket.destroy();
  }

  #wait(deadline: number, what: string): Promise<void> {
    const left = deadline - Date.now();
    if (left <= 0) return Promise.reject(new Error(`Timed out waiting for ${what}`));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        reject(
          new Error(
            `Timed out waiting for ${what}; unread: ${
              JSON.stringify(latin1.decode(this.#buffer.subarray(this.#start, this.#end)))
                .slice(0, 300)
            }`,
          ),
        );
      }, left);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #append(chunk: Uint8Array): void {
    this.received += chunk.length;
    const size = this.#end - this.#start;
    if (this.#end + chunk.length > this.#buffer.length) {
      if (this.#start > 0 && size + chunk.length <= this.#buffer.length) {
        this.#buffer.copyWithin(0, this.#start, this.#end);
      } else {
        let capacity = this.#buffer.length * 2;
        while (capacity < size + chunk.length) capacity *= 2;
        const grown = new Uint8Array(capacity);
        grown.set(this.#buffer.subarray(this.#start, this.#end));
        this.#buffer = grown;
      }
      this.#start = 0;
      this.#end = size;
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
    this.#notify();
  }
}

/** Text as Latin-1 bytes (one byte per char code). */
export function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function indexOfCrlfCrlf(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

function indexOfCrlf(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 1 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10) return i;
  }
  return -1;
}

function parseFields(lines: string[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`Malformed field line ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const had = fields.get(name);
    fields.set(name, had === undefined ? value : `${had}, ${value}`);
  }
  return fields;
}

/**
 * Parses one response at the start of `bytes`; `null` when more bytes are
 * needed. With `eof`, a body cut short comes back with `complete: false`.
 */
export function parseResponse(
  bytes: Uint8Array,
  noBody: boolean,
  eof: boolean,
): { response: RawResponse; used: number } | null {
  const headEnd = indexOfCrlfCrlf(bytes, 0);
  if (headEnd < 0) return null;
  const head = latin1.decode(bytes.subarray(0, headEnd + 4));
  const lines = head.slice(0, -4).split("\r\n");
  const match = /^HTTP\/1\.([01]) (\d{3}) ?(.*)$/.exec(lines[0]);
  if (match === null) throw new Error(`Malformed status line ${JSON.stringify(lines[0])}`);
  const status = Number(match[2]);
  const headers = parseFields(lines.slice(1));
  const response: RawResponse = {
    status,
    reason: match[3],
    version: `1.${match[1]}`,
    headers,
    head,
    body: new Uint8Array(0),
    text: "",
    chunked: false,
    trailers: new Map(),
    complete: true,
  };
  let at = headEnd + 4;
  const finish = (body: Uint8Array, used: number, complete = true) => {
    response.body = body;
    response.text = utf8.decode(body);
    response.complete = complete;
    return { response, used };
  };
  if (noBody || status < 200 || status === 204 || status === 304) {
    return finish(new Uint8Array(0), at);
  }
  const te = headers.get("transfer-encoding");
  if (te !== undefined && te.toLowerCase() === "chunked") {
    response.chunked = true;
    const parts: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const lineEnd = indexOfCrlf(bytes, at);
      if (lineEnd < 0) return eof ? finish(join(parts, size), bytes.length, false) : null;
      const line = latin1.decode(bytes.subarray(at, lineEnd));
      const n = parseInt(line, 16);
      if (!/^[0-9a-fA-F]+/.test(line) || Number.isNaN(n)) {
        throw new Error(`Malformed chunk size line ${JSON.stringify(line)}`);
      }
      if (n === 0) {
        const trailerEnd = bytes[lineEnd + 2] === 13 && bytes[lineEnd + 3] === 10
          ? lineEnd
          : indexOfCrlfCrlf(bytes, lineEnd);
        if (trailerEnd < 0 || trailerEnd + 4 > bytes.length) {
          return eof ? finish(join(parts, size), bytes.length, false) : null;
        }
        if (trailerEnd > lineEnd) {
          const text = latin1.decode(bytes.subarray(lineEnd + 2, trailerEnd));
          response.trailers = parseFields(text.split("\r\n"));
        }
        return finish(join(parts, size), trailerEnd + 4);
      }
      if (lineEnd + 2 + n + 2 > bytes.length) {
        if (!eof) return null;
        parts.push(bytes.subarray(lineEnd + 2, Math.min(bytes.length, lineEnd + 2 + n)));
        return finish(join(parts, size + parts[parts.length - 1].length), bytes.length, false);
      }
      parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + n));
      size += n;
      if (bytes[lineEnd + 2 + n] !== 13 || bytes[lineEnd + 3 + n] !== 10) {
        throw new Error("Malformed chunk: no CRLF after its data");
      }
      at = lineEnd + 4 + n;
    }
  }
  const length = headers.get("content-length");
  if (length !== undefined) {
    const n = Number(length);
    if (bytes.length - at >= n) return finish(bytes.slice(at, at + n), at + n);
    return eof ? finish(bytes.slice(at), bytes.length, false) : null;
  }
  // Delimited by the close of the connection.
  return eof ? finish(bytes.slice(at), bytes.length) : null;
}

function join(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
