/**
 * One request and its response on a raw engine connection: runs the handler,
 * then writes what it returned — one buffer for light and empty responses,
 * `Content-Length` or chunked framing for streams, with backpressure and
 * trailers — and tells the connection when both sides are done.
 *
 * @module
 */

import type { RequestHead } from "../../http1/mod.ts";
import { encodeLastChunk } from "../../http1/mod.ts";
import type { Address, Conn, TlsInfo } from "../../adapters/transport.ts";
import { BodyError } from "../errors.ts";
import { lightBodyBytes, lightParts, trailersOf } from "../responses.ts";
import type { ServeInfo } from "../types.ts";
import type { BodySource } from "./body_source.ts";
import { httpDate } from "./clock.ts";
import { EngineRequest } from "./engine_request.ts";
import { asciiLength, headAndText, headBytes, HeadFields, statusLine } from "./response_head.ts";
import type { EngineSettings } from "./settings.ts";

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
const LAST_CHUNK = encoder.encode("0\r\n\r\n");
/** Chunks up to this size are framed by copying into one buffer; larger ones are written in three parts. */
const COPY_FRAME_MAX = 16 * 1024;

/** What an exchange needs from its connection. */
export interface ExchangeOwner {
  readonly conn: Conn;
  readonly settings: EngineSettings;
  /** No further request will be read on this connection (shutdown, limits, errors). */
  readonly closing: boolean;
  /** The connection is gone. */
  readonly closed: boolean;
  /** Requests read so far on this connection, this one included. */
  readonly served: number;
  /** Writes bytes; `false` means wait for {@linkcode ExchangeOwner.drained}. */
  write(bytes: Uint8Array): boolean;
  /** Resolves when the write queue drained or the connection closed. */
  drained(): Promise<void>;
  /** The response is complete (or failed with the connection destroyed). */
  responseFinished(exchange: Exchange): void;
  /** Closes the connection at once (a response cannot be completed). */
  destroy(error?: Error): void;
}

/** A response's framing, decided before the head is written. */
const FRAMING = { LENGTH: 0, CHUNKED: 1, CLOSE: 2, NONE: 3 } as const;
type Framing = typeof FRAMING[keyof typeof FRAMING];

/** One request/response exchange; also the {@linkcode ServeInfo} the handler gets. */
export class Exchange implements ServeInfo {
  readonly request: EngineRequest;
  readonly head: RequestHead;
  readonly body: BodySource | null;
  /** When the request head arrived (ms since the epoch); read only for the access log. */
  readonly startTime: number;
  requestComplete = false;
  responseStarted = false;
  responseDone = false;
  /** Close the connection after this exchange. */
  closeAfter = false;
  status = 0;
  bytesSent = 0;
  /** The response's fields, kept for the access log. */
  responseFields: HeadFields | null = null;
  continueSent = false;
  onTakeover: ((conn: Conn, head: Uint8Array) => void) | null = null;
  /** The takeover was accepted: the connection is handed over once the request is complete. */
  takingOver = false;
  readonly #owner: ExchangeOwner;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #cancelled = false;

  constructor(
    owner: ExchangeOwner,
    head: RequestHead,
    body: BodySource | null,
    request: EngineRequest,
  ) {
    this.#owner = owner;
    this.startTime = owner.settings.onAccess === null ? 0 : Date.now();
    this.head = head;
    this.body = body;
    this.request = request;
  }

  get engine(): "sluice" {
    return "sluice";
  }
  get remoteAddress(): Address {
    return this.#owner.conn.remoteAddress;
  }
  get localAddress(): Address {
    return this.#owner.conn.localAddress;
  }
  get tls(): TlsInfo | null {
    return this.#owner.conn.tls;
  }
  get takeover(): (onTakeover: (conn: Conn, head: Uint8Array) => void) => void {
    return (onTakeover) => {
      if (typeof onTakeover !== "function") {
        throw new TypeError("Cannot take over: the callback is not a function");
      }
      if (this.responseStarted) {
        throw new TypeError("Cannot take over: the response was already sent");
      }
      this.onTakeover = onTakeover;
    };
  }

  /** Calls the handler and sends what it returns. */
  run(): void {
    let result: Response | Promise<Response>;
    try {
      result = this.#owner.settings.handler(this.request, this);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.settle(result);
  }

  /** Sends a handler's (or hook's) result. */
  settle(result: Response | Promise<Response>): void {
    if (result instanceof Response) {
      this.respond(result);
    } else if (result !== null && typeof (result as Promise<Response>)?.then === "function") {
      (result as Promise<Response>).then(
        (response) => this.respond(response),
        (error) => this.fail(error),
      );
    } else {
      this.fail(
        new TypeError(`Cannot send ${describe(result)}: the handler must return a Response`),
      );
    }
  }

  /** The handler failed: answer with a bare status unless the response is out already. */
  fail(error: unknown): void {
    if (this.responseStarted) {
      this.#owner.settings.logger.error(`Response to ${this.#line()} failed`, error);
      this.#owner.destroy();
      return;
    }
    if (this.#owner.closed) {
      this.#finish();
      return;
    }
    let status = 500;
    if (error instanceof BodyError) {
      status = error.status;
      this.closeAfter = true;
    } else if (!(this.request.aborted && isAbort(error))) {
      this.#owner.settings.logger.error(`Handler failed for ${this.#line()}`, error);
    }
    this.respondStatus(status);
  }

  /** Sends a bare `text/plain` status answer (errors, 417, 408). */
  respondStatus(status: number, close = false): void {
    if (close) this.closeAfter = true;
    const reason = status === 500 ? "Internal Server Error" : statusLine(status, "").slice(13, -2);
    const fields = new HeadFields();
    fields.text = "content-type: text/plain; charset=utf-8\r\n";
    this.#writeWhole(status, "", fields, reason);
  }

  /** Sends `100 Continue` when the handler first reads a body the client holds back. */
  sendContinue(): void {
    if (this.continueSent || this.responseStarted || !this.head.expectContinue) return;
    this.continueSent = true;
    this.#owner.write(encoder.encode("HTTP/1.1 100 Continue\r\n\r\n"));
  }

  /** Sends a response. */
  respond(response: Response): void {
    if (this.responseStarted) return;
    if (!(response instanceof Response)) {
      this.fail(
        new TypeError(`Cannot send ${describe(response)}: the handler must return a Response`),
      );
      return;
    }
    if (this.#owner.closed) {
      if (lightParts(response) === null) response.body?.cancel().catch(() => {});
      this.#finish();
      return;
    }
    const light = lightParts(response);
    const status = light?.status ?? response.status;
    const fields = new HeadFields();
    try {
      if (light !== null) {
        if (light.headers !== undefined) fields.addInit(light.headers);
        if (
          light.contentType !== "" &&
          (fields.text === "" || !/(^|\n)content-type:/i.test(fields.text))
        ) {
          fields.text += `content-type: ${light.contentType}\r\n`;
        }
      } else {
        fields.addHeaders(response.headers);
      }
      if (this.onTakeover !== null) {
        const accepted = this.head.upgrade &&
          (this.head.method === "CONNECT" ? status >= 200 && status < 300 : status === 101);
        if (accepted) {
          this.#sendTakeoverHead(status, light?.statusText ?? response.statusText, fields);
          if (light === null) response.body?.cancel().catch(() => {});
          return;
        }
        this.onTakeover = null;
        this.closeAfter = true;
      } else if (status === 101) {
        throw new TypeError(
          "Cannot send 101 Switching Protocols without taking the connection over",
        );
      }
      if (status < 200) {
        throw new TypeError(`Cannot send an interim status ${status} as the response`);
      }
      if (light !== null) {
        this.#writeWhole(status, light.statusText, fields, light.body);
        return;
      }
      const trailers = trailersOf(response);
      const body = response.body;
      if (body === null) {
        this.#writeWhole(status, response.statusText, fields, "");
        return;
      }
      this.#stream(status, response.statusText, fields, body, trailers);
    } catch (error) {
      if (light === null) response.body?.cancel().catch(() => {});
      this.fail(error);
    }
  }

  #noBody(status: number): boolean {
    return this.head.method === "HEAD" || status === 204 || status === 304 || status < 200;
  }

  /** Decides `closeAfter` and writes the connection fields; returns the head text up to its blank line. */
  #head(
    status: number,
    reason: string,
    fields: HeadFields,
    framing: Framing,
    length: number,
  ): string {
    const owner = this.#owner;
    const head = this.head;
    if (
      fields.close || !head.keepAlive || owner.closing ||
      owner.served >= owner.settings.maxRequests ||
      framing === FRAMING.CLOSE || !this.#bodyReusable()
    ) {
      this.closeAfter = true;
    }
    let text = statusLine(status, reason) + fields.text;
    if (framing === FRAMING.LENGTH) {
      if (status !== 204 && status !== 304) text += `content-length: ${length}\r\n`;
    } else if (framing === FRAMING.CHUNKED) {
      text += "transfer-encoding: chunked\r\n";
    }
    if (this.closeAfter) text += "connection: close\r\n";
    else if (head.versionMinor === 0) text += "connection: keep-alive\r\n";
    if (!fields.hasDate) text += `date: ${httpDate()}\r\n`;
    const server = owner.settings.serverHeader;
    if (server !== null && !fields.hasServer) text += `server: ${server}\r\n`;
    this.responseStarted = true;
    this.status = status;
    this.responseFields = fields;
    return text + "\r\n";
  }

  /**
   * Whether the rest of an unread request body can be drained so that the
   * connection is reused; otherwise it closes after the response.
   */
  #bodyReusable(): boolean {
    const body = this.body;
    if (body === null || this.requestComplete) return true;
    if (body.failed !== null) return false;
    if (this.head.expectContinue && !this.continueSent && body.received === 0) return false;
    if (this.head.framing !== "length") return false;
    return this.head.contentLength - body.received <= this.#owner.settings.drainLimit;
  }

  /** A whole response in one write: a light body, an empty body or a status answer. */
  #writeWhole(
    status: number,
    reason: string,
    fields: HeadFields,
    body: string | Uint8Array,
  ): void {
    const noBody = this.#noBody(status);
    let bytes: Uint8Array | null = null;
    let length: number;
    if (typeof body === "string") {
      length = asciiLength(body);
      if (length < 0) {
        bytes = lightBodyBytes(body);
        length = bytes.length;
      }
    } else {
      bytes = body;
      length = body.length;
    }
    if (fields.contentLength >= 0 && fields.contentLength !== length && !noBody) {
      throw new TypeError(
        `Cannot send Content-Length ${fields.contentLength} with a body of ${length} bytes`,
      );
    }
    // A bodiless answer (HEAD) keeps the length the application declared.
    const declared = noBody && fields.contentLength >= 0 ? fields.contentLength : length;
    const head = this.#head(status, reason, fields, FRAMING.LENGTH, declared);
    let out: Uint8Array;
    if (noBody || length === 0) {
      out = headBytes(head, fields.ascii, 0);
    } else if (typeof body === "string" && bytes === null && fields.ascii) {
      // An ASCII answer: the transport encodes it (Node without a JavaScript Buffer).
      this.bytesSent = length;
      this.#owner.conn.writeLatin1(head + body);
      this.#finish();
      return;
    } else if (typeof body === "string") {
      out = headAndText(head, fields.ascii, body, bytes);
      this.bytesSent = length;
    } else {
      out = headBytes(head, fields.ascii, length);
      out.set(body, head.length);
      this.bytesSent = length;
    }
    this.#owner.write(out);
    this.#finish();
  }

  #sendTakeoverHead(status: number, reason: string, fields: HeadFields): void {
    if (fields.connection !== null) fields.text += `connection: ${fields.connection}\r\n`;
    let text = statusLine(status, reason) + fields.text;
    if (!fields.hasDate) text += `date: ${httpDate()}\r\n`;
    this.responseStarted = true;
    this.status = status;
    this.responseFields = fields;
    this.takingOver = true;
    this.#owner.write(headBytes(text + "\r\n", fields.ascii, 0));
    this.#finish();
  }

  /** Streams a platform `Response` body. */
  async #stream(
    status: number,
    reason: string,
    fields: HeadFields,
    body: ReadableStream<Uint8Array>,
    trailers: (() => HeadersInit | Promise<HeadersInit>) | null,
  ): Promise<void> {
    const owner = this.#owner;
    if (this.#noBody(status)) {
      let length = fields.contentLength;
      if (length < 0 && this.head.method === "HEAD" && status !== 204 && status !== 304) {
        // A body that is there at once (a string or bytes Response) gives HEAD the GET's Content-Length.
        length = await readyLength(body);
        if (this.#cancelled || owner.closed) return this.#finish();
      } else body.cancel().catch(() => {});
      const framing = length >= 0 ? FRAMING.LENGTH : FRAMING.NONE;
      this.#owner.write(
        headBytes(this.#head(status, reason, fields, framing, length), fields.ascii, 0),
      );
      this.#finish();
      return;
    }
    const reader = body.getReader();
    this.#reader = reader;
    try {
      let first: Uint8Array | null = null;
      let second: Uint8Array | null = null;
      let pendingRead: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
      let ended = false;
      if (fields.contentLength < 0 && trailers === null) {
        // Peek: a body that ends at once (a string or bytes Response) gets a Content-Length.
        const a = await reader.read();
        if (a.done) ended = true;
        else {
          first = checkChunk(a.value);
          const read = reader.read();
          const b = await settledNow(read);
          if (b === null) pendingRead = read; // still producing: stream it
          else if (b.done) ended = true;
          else second = checkChunk(b.value);
        }
      }
      if (this.#cancelled || owner.closed) return this.#abandon(reader);
      if (ended) {
        const bytes = first ?? new Uint8Array(0);
        this.#writeWhole(status, reason, fields, bytes);
        return;
      }
      let framing: Framing;
      if (fields.contentLength >= 0) framing = FRAMING.LENGTH;
      else if (this.head.versionMinor >= 1) framing = FRAMING.CHUNKED;
      else framing = FRAMING.CLOSE;
      const head = this.#head(status, reason, fields, framing, fields.contentLength);
      owner.write(headBytes(head, fields.ascii, 0));
      const chunked = framing === FRAMING.CHUNKED;
      const limit = framing === FRAMING.LENGTH ? fields.contentLength : Infinity;
      let pending: Uint8Array | null = first;
      let next: Uint8Array | null = second;
      for (;;) {
        let chunk: Uint8Array;
        if (pending !== null) {
          chunk = pending;
          pending = next;
          next = null;
        } else {
          const r = await (pendingRead ?? reader.read());
          pendingRead = null;
          if (this.#cancelled || owner.closed) return this.#abandon(reader);
          if (r.done) break;
          chunk = checkChunk(r.value);
        }
        if (chunk.length === 0) continue;
        if (this.bytesSent + chunk.length > limit) {
          throw new TypeError(`Cannot send more than the Content-Length of ${limit} bytes`);
        }
        this.bytesSent += chunk.length;
        let ok: boolean;
        if (!chunked) ok = owner.write(chunk);
        else if (chunk.length <= COPY_FRAME_MAX) ok = owner.write(frame(chunk));
        else {
          owner.write(encoder.encode(chunk.length.toString(16) + "\r\n"));
          owner.write(chunk);
          ok = owner.write(CRLF);
        }
        if (!ok) {
          await owner.drained();
          if (this.#cancelled || owner.closed) return this.#abandon(reader);
        }
      }
      if (this.bytesSent < limit && limit !== Infinity) {
        throw new TypeError(
          `Cannot end the body after ${this.bytesSent} of ${limit} bytes (Content-Length)`,
        );
      }
      if (chunked) {
        if (trailers !== null) owner.write(encodeLastChunk(new Headers(await trailers())));
        else owner.write(LAST_CHUNK);
      }
      this.#reader = null;
      this.#finish();
    } catch (error) {
      this.#reader = null;
      if (owner.closed || this.#cancelled) return;
      if (!this.responseStarted) {
        reader.cancel(error).catch(() => {});
        this.fail(error);
        return;
      }
      owner.settings.logger.error(`Response body of ${this.#line()} failed`, error);
      reader.cancel(error).catch(() => {});
      this.#finish();
      owner.destroy();
    }
  }

  #abandon(reader: ReadableStreamDefaultReader<Uint8Array>): void {
    this.#reader = null;
    reader.cancel(this.#cancelReason()).catch(() => {});
    this.#finish();
  }

  #cancelReason(): unknown {
    return new DOMException("The client closed the connection", "AbortError");
  }

  /** The client went away: abort the request's signal and stop producing the response. */
  abort(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    const reason = this.#cancelReason();
    this.request.abort(reason);
    this.body?.fail(
      new BodyError(
        "SLUICE_ERR_BODY_ABORTED",
        "Cannot read request body: the client closed the connection",
      ),
    );
    const reader = this.#reader;
    if (reader !== null) {
      this.#reader = null;
      reader.cancel(reason).catch(() => {});
    }
  }

  #finish(): void {
    if (this.responseDone) return;
    this.responseDone = true;
    this.#owner.responseFinished(this);
  }

  #line(): string {
    return `${this.head.method} ${this.head.target}`;
  }
}

/** The length of a body that ends within this task, else -1; the body is cancelled either way. */
async function readyLength(body: ReadableStream<Uint8Array>): Promise<number> {
  const reader = body.getReader();
  try {
    const a = await settledNow(reader.read());
    if (a === null) return -1;
    if (a.done) return 0;
    const b = await settledNow(reader.read());
    return b !== null && b.done && a.value instanceof Uint8Array ? a.value.length : -1;
  } catch {
    return -1;
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** Resolves with `read`'s result if it settles within this task, else `null` (it stays pending). */
function settledNow<T>(read: Promise<T>): Promise<T | null> {
  return Promise.race([read, nextTask()]);
}

const setImmediateLike: (callback: () => void) => void =
  (globalThis as { setImmediate?: (callback: () => void) => void }).setImmediate ??
    ((callback) => setTimeout(callback, 0));

function nextTask(): Promise<null> {
  return new Promise((resolve) => setImmediateLike(() => resolve(null)));
}

function checkChunk(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new TypeError(`Cannot send a body chunk of ${describe(value)}: chunks must be Uint8Array`);
}

function frame(chunk: Uint8Array): Uint8Array {
  const size = chunk.length.toString(16);
  const out = new Uint8Array(size.length + chunk.length + 4);
  for (let i = 0; i < size.length; i++) out[i] = size.charCodeAt(i);
  out[size.length] = 13;
  out[size.length + 1] = 10;
  out.set(chunk, size.length + 2);
  out[out.length - 2] = 13;
  out[out.length - 1] = 10;
  return out;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === "AbortError" || error instanceof BodyError;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return `an object (${Object.prototype.toString.call(value)})`;
  return typeof value;
}
