/**
 * Streaming responses: {@linkcode stream} and {@linkcode streamResponse}
 * (aiohttp's `StreamResponse`: a handler that writes as it goes) and
 * {@linkcode sse} (server-sent events).
 *
 * The writer respects backpressure: `write()` resolves once the chunk was
 * taken by the consumer (the server writing to the socket) or the bytes
 * still queued are below the high-water mark, so a handler that awaits each
 * write never buffers more than `highWaterMark` bytes plus one chunk. When
 * the client goes away the server cancels the response body: the writer's
 * `signal` aborts and pending and later writes reject with a
 * {@linkcode StreamError} of code `"SLUICE_ERR_STREAM_ABORTED"`.
 *
 * @module
 */

import { SluiceError } from "../util/errors.ts";

const encoder = new TextEncoder();

/** The default high-water mark of a streaming response, in bytes. */
const DEFAULT_HIGH_WATER_MARK = 16 * 1024;

/** A stable code of {@linkcode StreamError}. */
export type StreamErrorCode = "SLUICE_ERR_STREAM_CLOSED" | "SLUICE_ERR_STREAM_ABORTED";

/**
 * A write to a streaming response that cannot happen: the writer was closed
 * (`"SLUICE_ERR_STREAM_CLOSED"`), or the stream was aborted, by the client
 * going away or by `abort()` (`"SLUICE_ERR_STREAM_ABORTED"`, the reason in
 * `cause`).
 *
 * @example Stop producing when the client went away
 * ```ts
 * import { stream, StreamError } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const { response, writer } = stream();
 * await response.body!.cancel(new Error("client gone"));
 * const err = await writer.write("late").catch((e) => e);
 * assert.ok(err instanceof StreamError);
 * assert.equal(err.code, "SLUICE_ERR_STREAM_ABORTED");
 * ```
 */
export class StreamError extends SluiceError {
  /** Stable machine-readable code, one of {@linkcode StreamErrorCode}. */
  override readonly code: StreamErrorCode;

  /**
   * Creates a stream error.
   *
   * @param code One of the stable stream error codes.
   * @param message A human-readable message ("Cannot X: reason").
   * @param options Standard error options (`cause`: why the stream was aborted).
   */
  constructor(code: StreamErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.code = code;
  }
}

/** Options of {@linkcode stream} and {@linkcode streamResponse}: `ResponseInit` and a high-water mark. */
export interface StreamInit extends ResponseInit {
  /** Bytes that may wait unread before `write()` stays pending (default 16 KiB; 0: until taken). */
  highWaterMark?: number;
}

/** The producer's end of a streaming response. */
export interface ResponseWriter {
  /**
   * Queues a chunk (a string is sent as UTF-8). Resolves when the consumer
   * took it or the queue is below the high-water mark; rejects with a
   * {@linkcode StreamError} once the writer is closed or the stream aborted.
   */
  write(chunk: string | Uint8Array): Promise<void>;
  /** Ends the body. Resolves when the consumer has taken everything. Idempotent. */
  close(): Promise<void>;
  /** Ends the body with an error (the server cuts the response off) and aborts `signal`. */
  abort(reason?: unknown): void;
  /** Resolves when the body ended normally, rejects with the reason when it was aborted or cancelled. */
  readonly closed: Promise<void>;
  /** Aborted when the client goes away (the body is cancelled) or `abort()` is called. */
  readonly signal: AbortSignal;
}

type State = "open" | "closing" | "closed" | "aborted";

/** The writer over a byte `ReadableStream` it makes. */
class StreamWriter implements ResponseWriter {
  readonly readable: ReadableStream<Uint8Array>;
  readonly closed: Promise<void>;
  readonly #controller: AbortController = new AbortController();
  readonly #hwm: number;
  #stream!: ReadableStreamDefaultController<Uint8Array>;
  #state: State = "open";
  #reason: unknown = undefined;
  #waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #closeWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #resolveClosed!: () => void;
  #rejectClosed!: (reason: unknown) => void;
  #onEnd: (() => void) | null = null;

  constructor(highWaterMark: number) {
    this.#hwm = highWaterMark;
    this.closed = new Promise<void>((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.closed.catch(() => {});
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#stream = controller;
        },
        pull: () => this.#pulled(),
        cancel: (reason) => this.#fail(reason ?? new Error("The response body was cancelled")),
      },
      { highWaterMark, size: (chunk: Uint8Array) => chunk.byteLength },
    );
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Called once when the writer ends, however it ends. */
  set onEnd(callback: () => void) {
    this.#onEnd = callback;
  }

  write(chunk: string | Uint8Array): Promise<void> {
    if (this.#state !== "open") return Promise.reject(this.#refusal("write to"));
    let bytes: Uint8Array;
    if (typeof chunk === "string") bytes = encoder.encode(chunk);
    else if (chunk instanceof Uint8Array) bytes = chunk;
    else {
      return Promise.reject(
        new TypeError(`Cannot write ${typeof chunk}: a chunk is a string or a Uint8Array`),
      );
    }
    if (bytes.byteLength === 0) return Promise.resolve();
    this.#stream.enqueue(bytes);
    if (this.#hasRoom()) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  close(): Promise<void> {
    if (this.#state === "aborted") return Promise.reject(this.#refusal("close"));
    if (this.#state === "closed") return Promise.resolve();
    this.#state = "closing";
    const done = new Promise<void>((resolve, reject) =>
      this.#closeWaiters.push({ resolve, reject })
    );
    if (this.#queueEmpty()) this.#finishClose();
    return done;
  }

  abort(reason?: unknown): void {
    if (this.#state === "closed" || this.#state === "aborted") return;
    const error = reason ?? new Error("The response stream was aborted");
    this.#stream.error(error);
    this.#fail(error);
  }

  /** Room below the high-water mark, or (high-water mark 0) the queue is empty. */
  #hasRoom(): boolean {
    const size = this.#stream.desiredSize ?? 0;
    return size > 0 || this.#queueEmpty();
  }

  #queueEmpty(): boolean {
    return (this.#stream.desiredSize ?? 0) >= this.#hwm;
  }

  /** The consumer asked for more: release waiting writers, finish a requested close. */
  #pulled(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.resolve();
    if (this.#state === "closing" && this.#queueEmpty()) this.#finishClose();
  }

  #finishClose(): void {
    this.#state = "closed";
    this.#stream.close();
    const waiters = [...this.#waiters, ...this.#closeWaiters];
    this.#waiters = [];
    this.#closeWaiters = [];
    for (const waiter of waiters) waiter.resolve();
    this.#resolveClosed();
    this.#end();
  }

  /** The body was cancelled (the client went away) or aborted. */
  #fail(reason: unknown): void {
    if (this.#state === "closed" || this.#state === "aborted") return;
    this.#state = "aborted";
    this.#reason = reason;
    const error = this.#refusal("write to");
    const waiters = [...this.#waiters, ...this.#closeWaiters];
    this.#waiters = [];
    this.#closeWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
    this.#rejectClosed(error);
    this.#controller.abort(reason);
    this.#end();
  }

  #end(): void {
    const callback = this.#onEnd;
    this.#onEnd = null;
    callback?.();
  }

  #refusal(what: string): StreamError {
    if (this.#state === "aborted") {
      return new StreamError(
        "SLUICE_ERR_STREAM_ABORTED",
        `Cannot ${what} the response stream: it was aborted (${describe(this.#reason)})`,
        { cause: this.#reason },
      );
    }
    return new StreamError(
      "SLUICE_ERR_STREAM_CLOSED",
      `Cannot ${what} the response stream: it is closed`,
    );
  }
}

function describe(reason: unknown): string {
  if (reason instanceof Error) return reason.message || reason.name;
  return String(reason);
}

function checkHighWaterMark(value: number | undefined): number {
  if (value === undefined) return DEFAULT_HIGH_WATER_MARK;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Cannot use a high-water mark of ${value}: not a non-negative integer`);
  }
  return value;
}

function open(
  init: StreamInit | undefined,
  defaults: Record<string, string>,
): { response: Response; writer: StreamWriter } {
  const writer = new StreamWriter(checkHighWaterMark(init?.highWaterMark));
  const headers = new Headers(init?.headers);
  for (const [name, value] of Object.entries(defaults)) {
    if (!headers.has(name)) headers.set(name, value);
  }
  const response = new Response(writer.readable, {
    status: init?.status ?? 200,
    statusText: init?.statusText,
    headers,
  });
  return { response, writer };
}

/**
 * A response whose body is written as the handler goes, with backpressure
 * (aiohttp's `StreamResponse`). Return `response` from the handler and
 * write in the background; the body is sent chunked (HTTP/1.1).
 *
 * @param init Status, status text, headers, and `highWaterMark` (bytes that
 *   may wait unread before `write()` stays pending; default 16 KiB).
 * @returns The response and its writer.
 *
 * @example
 * ```ts
 * import { stream } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const { response, writer } = stream({ headers: { "content-type": "text/plain" } });
 * (async () => {
 *   await writer.write("Hello, ");
 *   await writer.write("World!");
 *   await writer.close();
 * })();
 * assert.equal(await response.text(), "Hello, World!");
 * ```
 */
export function stream(init?: StreamInit): { response: Response; writer: ResponseWriter } {
  return open(init, {});
}

/**
 * A streaming response whose body `producer` writes; the body ends when the
 * producer returns, and is cut off (the server logs the error) when it
 * throws. The producer starts in a microtask, after this returns.
 *
 * @param producer Writes the body. It may stop early when `writer.signal` aborts.
 * @param init As for {@linkcode stream}.
 * @returns The response.
 *
 * @example
 * ```ts
 * import { streamResponse } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const response = streamResponse(async (writer) => {
 *   for (let i = 1; i <= 3; i++) await writer.write(`${i}\n`);
 * });
 * assert.equal(await response.text(), "1\n2\n3\n");
 * ```
 */
export function streamResponse(
  producer: (writer: ResponseWriter) => void | Promise<void>,
  init?: StreamInit,
): Response {
  const { response, writer } = open(init, {});
  queueMicrotask(async () => {
    try {
      await producer(writer);
      await writer.close().catch(() => {});
    } catch (error) {
      writer.abort(error);
    }
  });
  return response;
}

/** One server-sent event. */
export interface SseEvent {
  /** The data; each line becomes a `data:` line. */
  data: string;
  /** The event type (no CR, LF or NUL). */
  event?: string;
  /** The event id (no CR, LF or NUL). */
  id?: string;
  /** The reconnection time the client should use, in milliseconds. */
  retry?: number;
}

/** Options of {@linkcode sse}. */
export interface SseInit extends StreamInit {
  /** Send a comment line this often (milliseconds) so proxies keep the connection. */
  keepAlive?: number;
}

/** The producer's end of a server-sent events response. */
export interface SseWriter {
  /** Sends one event; resolves as {@linkcode ResponseWriter.write} does, rejects with a TypeError or RangeError on a bad field. */
  send(event: SseEvent): Promise<void>;
  /** Sends a comment (`: text`), which clients ignore. */
  comment(text?: string): Promise<void>;
  /** Ends the stream. */
  close(): Promise<void>;
  /** Cuts the stream off with an error. */
  abort(reason?: unknown): void;
  /** As {@linkcode ResponseWriter.closed}. */
  readonly closed: Promise<void>;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

const LINE_BREAK = /\r\n|\r|\n/;

function checkField(name: string, value: unknown): string {
  if (typeof value !== "string") {
    throw new TypeError(`Cannot send an event ${name} of type ${typeof value}: not a string`);
  }
  if (/[\r\n\0]/.test(value)) {
    throw new TypeError(`Cannot send an event ${name} ${JSON.stringify(value)}: CR, LF or NUL`);
  }
  return value;
}

/** The wire form of one event. */
function encodeEvent(event: SseEvent): string {
  if (typeof event !== "object" || event === null) {
    throw new TypeError("Cannot send an event: not an object");
  }
  let out = "";
  if (event.event !== undefined) out += `event: ${checkField("type", event.event)}\n`;
  if (event.id !== undefined) out += `id: ${checkField("id", event.id)}\n`;
  if (event.retry !== undefined) {
    const retry = event.retry;
    if (!Number.isSafeInteger(retry) || retry < 0) {
      throw new RangeError(`Cannot send a retry of ${retry}: not a non-negative integer`);
    }
    out += `retry: ${retry}\n`;
  }
  if (typeof event.data !== "string") {
    throw new TypeError(`Cannot send event data of type ${typeof event.data}: not a string`);
  }
  for (const line of event.data.split(LINE_BREAK)) out += `data: ${line}\n`;
  return out + "\n";
}

/**
 * A server-sent events response (`text/event-stream`) and its writer.
 * `Cache-Control: no-cache` and `X-Accel-Buffering: no` (nginx) are set
 * unless `init.headers` has them.
 *
 * @param init As for {@linkcode stream}, and `keepAlive` (ms): send a
 *   comment that often; the timer stops when the stream ends.
 * @returns The response and its event writer.
 *
 * @example
 * ```ts
 * import { sse } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const { response, events } = sse();
 * (async () => {
 *   await events.send({ event: "greeting", id: "1", data: "Hello,\nWorld!" });
 *   await events.close();
 * })();
 * assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
 * assert.equal(
 *   await response.text(),
 *   "event: greeting\nid: 1\ndata: Hello,\ndata: World!\n\n",
 * );
 * ```
 */
export function sse(init?: SseInit): { response: Response; events: SseWriter } {
  const keepAlive = init?.keepAlive;
  if (keepAlive !== undefined && (!Number.isFinite(keepAlive) || keepAlive <= 0)) {
    throw new RangeError(`Cannot keep alive every ${keepAlive} ms: not a positive number`);
  }
  const { response, writer } = open(init, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
  });
  if (keepAlive !== undefined) {
    let waiting = false;
    const timer = setInterval(() => {
      if (waiting) return; // the last one was not taken yet: do not pile up
      waiting = true;
      writer.write(":\n\n").then(() => (waiting = false), () => {});
    }, keepAlive);
    writer.onEnd = () => clearInterval(timer);
  }
  const events: SseWriter = {
    send: (event) => {
      let text: string;
      try {
        text = encodeEvent(event);
      } catch (error) {
        return Promise.reject(error);
      }
      return writer.write(text);
    },
    comment: (text = "") => {
      const lines = String(text).split(LINE_BREAK).map((line) => (line ? `: ${line}\n` : ":\n"));
      return writer.write(lines.join("") + "\n");
    },
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason),
    closed: writer.closed,
    signal: writer.signal,
  };
  return { response, events };
}
