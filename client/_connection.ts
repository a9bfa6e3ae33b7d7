/**
 * One HTTP/1.1 client connection over a transport `Conn`: one request at a
 * time (no pipelining), the response head as a promise, the body as a pull
 * stream with backpressure, and the keep-alive decision for the pool.
 *
 * @module
 */

import type { Conn, ConnEvents } from "../adapters/transport.ts";
import { latin1Into, type ResponseHead, ResponseParser } from "../http1/mod.ts";
import { closedBeforeHead, mapParseError, peerOf, truncated } from "./_connection_errors.ts";
import {
  dropHeld,
  holdBody,
  type PumpHost,
  sendBody,
  sentBytes,
  SMALL_CHUNK,
} from "./_connection_pump.ts";
import { BodyChannel } from "./_body_channel.ts";
import {
  endExchange,
  ExchangeResponse,
  fieldValue,
  settleTrailers,
} from "./_connection_response.ts";
import { keepAliveTimeout, requestHead } from "./_connection_request.ts";
import type {
  ClientConnectionOptions,
  ConnectionRequest,
  ConnectionResponse,
  Exchange,
} from "./_connection_types.ts";

export type { ClientConnectionOptions, ConnectionRequest, ConnectionResponse };

/** Queued body bytes above which reading from the socket pauses. */
const BODY_HIGH_WATER = 64 * 1024;
/** Most body bytes `release()` reads and drops to keep a connection. */
const RELEASE_DRAIN_MAX = 64 * 1024;
/** How long `release()` waits for the rest of a body before closing, in ms. */
const RELEASE_DRAIN_WAIT = 500;
/** How long `expect100: true` waits for `100 Continue`, in ms. */
const CONTINUE_WAIT = 1000;

/**
 * An HTTP/1.1 connection of the client over a transport connection. Internal:
 * the pool owns these.
 *
 * @example GET over a dialled connection
 * ```ts ignore
 * import { defaultClientTransport } from "../adapters/connect.ts";
 * import { ClientConnection } from "./_connection.ts";
 *
 * const conn = await defaultClientTransport().connect({ hostname: "127.0.0.1", port: 8080 });
 * const connection = new ClientConnection(conn);
 * const res = await connection.request({ method: "GET", target: "/", headers: [["host", "127.0.0.1:8080"]] });
 * console.log(res.status, await new Response(res.body).text(), connection.reusable);
 * await connection.close();
 * ```
 */
export class ClientConnection {
  readonly #conn: Conn;
  readonly #parser: ResponseParser;
  readonly #onIdle: ((connection: ClientConnection) => void) | undefined;
  readonly #onEnded: ((connection: ClientConnection) => void) | undefined;
  readonly #peer: { host: string; port: number };
  /** `data()` chunks are views of a reused buffer (`Conn.borrowedReads`). */
  readonly #borrowed: boolean;
  #ex: Exchange | null = null;
  #dead = false;
  #closed = false;
  #paused = false;
  #waiters: Array<() => void> = [];
  #resolveClosed!: () => void;
  readonly #host: PumpHost;
  /** Resolves once the transport connection is closed. */
  readonly closed: Promise<void>;
  /** The server's `Keep-Alive: timeout` of the last response, in ms, or `null`. */
  keepAliveHint: number | null = null;
  /** Requests sent on this connection. */
  requests = 0;
  /** `Date.now()` when the last exchange finished (or when the connection was made). */
  lastUsed: number = Date.now();

  /**
   * Wraps a connection that was dialled and not started; reading starts now.
   *
   * @param conn The transport connection (not yet started).
   * @param options Parser limits and the idle callback.
   */
  constructor(conn: Conn, options: ClientConnectionOptions = {}) {
    this.#conn = conn;
    this.#onIdle = options.onIdle;
    this.#onEnded = options.onEnded;
    this.#peer = peerOf(conn.remoteAddress);
    this.#borrowed = conn.borrowedReads === true;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    const isClosed = (): boolean => this.#closed;
    this.#host = {
      conn,
      get isClosed(): boolean {
        return isClosed();
      },
      drained: () => this.#drained(),
      fail: (ex, error) => this.#fail(ex, error),
    };
    this.#parser = new ResponseParser({
      onHead: (head) => this.#onHead(head),
      onBody: (chunk) => this.#onBody(chunk),
      onComplete: (trailers) => this.#onComplete(trailers),
    }, {
      maxHeaderSize: options.maxHeaderSize,
      maxHeaders: options.maxHeaders,
      maxRequestLineSize: options.maxStatusLineSize,
    });
    const events: ConnEvents = {
      data: (chunk) => this.#data(chunk),
      end: () => this.#end(),
      drain: () => this.#wake(),
      close: (error) => this.#close(error),
    };
    conn.setNoDelay(true);
    conn.start(events);
  }

  /** Whether the transport connection is closed. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Whether a request can be sent now: open, alive, and no exchange in flight. */
  get reusable(): boolean {
    return !this.#dead && !this.#closed && this.#ex === null;
  }

  /** Whether a request is in flight (its response head or body not fully read). */
  get busy(): boolean {
    return this.#ex !== null;
  }

  /** Whether the body in flight was given up ({@linkcode ClientConnection.release}): its rest is read and dropped. */
  get draining(): boolean {
    return this.#ex?.discarding === true;
  }

  /**
   * Sends a request and resolves at the response head (1xx heads skipped).
   *
   * @param request The method, target, fields, body and signal.
   * @returns The status, fields and the body stream.
   * @throws {TypeError} when another request is in flight, or the framing conflicts.
   */
  request(request: ConnectionRequest): Promise<ConnectionResponse> {
    if (this.#ex !== null) {
      return Promise.reject(
        new TypeError("Cannot send request: another request is in flight on this connection"),
      );
    }
    if (this.#dead || this.#closed) {
      return Promise.reject(closedBeforeHead(null, false, this.#peer));
    }
    const signal = request.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const body = request.body ?? null;
    const expect100 = request.expect100;
    let framing;
    try {
      if (typeof expect100 === "number" && !(expect100 >= 0 && expect100 <= 2_147_483_647)) {
        throw new RangeError(
          `Cannot send request: expect100 ${expect100} is not a wait in ms (0 to 2^31-1)`,
        );
      }
      framing = requestHead(
        request.method,
        request.target,
        request.headers,
        body,
        request.contentLength ?? null,
        expect100 !== undefined && expect100 !== false,
        request.host,
      );
    } catch (error) {
      return Promise.reject(error);
    }
    let resolve!: (response: ConnectionResponse) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<ConnectionResponse>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const ex: Exchange = {
      method: request.method,
      signal,
      onAbort: null,
      resolve,
      reject,
      head: null,
      interim: false,
      channel: null,
      discarding: false,
      discarded: 0,
      received: 0,
      gotBytes: false,
      sendDone: false,
      stopSending: false,
      requestClose: framing.close,
      reader: null,
      done: false,
      onChunkSent: request.onChunkSent,
      held: null,
      heldBody: null,
      continueTimer: undefined,
      drainTimer: undefined,
      trailers: null,
      onTrailers: null,
      onEnd: null,
    };
    this.#ex = ex;
    this.requests++;
    this.#parser.expect(request.method);
    if (signal !== undefined) {
      ex.onAbort = () => this.#fail(ex, signal.reason);
      signal.addEventListener("abort", ex.onAbort, { once: true });
    }
    this.#setPaused(false);
    const onHeadSent = request.onHeadSent;
    if (framing.expect) {
      this.#conn.writeLatin1(framing.head);
      onHeadSent?.();
      const wait = typeof expect100 === "number" ? expect100 : CONTINUE_WAIT;
      holdBody(this.#host, ex, body!, framing.length, framing.chunked, wait);
    } else if (body instanceof Uint8Array && body.length <= SMALL_CHUNK) {
      if (body.length === 0) this.#conn.writeLatin1(framing.head);
      else {
        const out = new Uint8Array(framing.head.length + body.length);
        latin1Into(framing.head, out, 0);
        out.set(body, framing.head.length);
        this.#conn.write(out);
      }
      onHeadSent?.();
      ex.sendDone = true;
      sentBytes(this.#host, ex, body.length);
    } else {
      this.#conn.writeLatin1(framing.head);
      onHeadSent?.();
      if (body === null) ex.sendDone = true;
      else sendBody(this.#host, ex, body, framing.length, framing.chunked);
    }
    return promise;
  }

  /**
   * Gives up the response body: reads and drops up to 64 KiB more, within
   * 500 ms, to keep the connection, else closes it. A no-op when nothing is
   * in flight.
   */
  release(): void {
    const ex = this.#ex;
    if (ex === null) return;
    const head = ex.head;
    if (head === null || head.framing === "close") {
      this.#fail(ex, new TypeError("Cannot read response: released"));
      return;
    }
    if (head.framing === "length" && head.contentLength - ex.received > RELEASE_DRAIN_MAX) {
      this.#fail(ex, new TypeError("Cannot read response body: released"));
      return;
    }
    this.#discard(ex, new TypeError("Cannot read response body: released"));
    // A server that stalls must not hold the connection (and its pool slot) forever.
    if (ex.done || ex.drainTimer !== undefined) return;
    ex.drainTimer = setTimeout(() => {
      this.#fail(
        ex,
        new TypeError(
          `Cannot read response body: released, and the rest did not come within ${RELEASE_DRAIN_WAIT} ms`,
        ),
      );
    }, RELEASE_DRAIN_WAIT);
  }

  /**
   * Closes the connection now; a request in flight fails.
   *
   * @returns Resolves once the transport connection is closed.
   */
  close(): Promise<void> {
    this.#dead = true;
    const ex = this.#ex;
    if (ex !== null) {
      this.#fail(ex, closedBeforeHead(null, ex.gotBytes, this.#peer));
    } else {
      this.#conn.destroy();
    }
    return this.closed;
  }

  // ---- transport events ----

  #data(chunk: Uint8Array): void {
    const ex = this.#ex;
    if (ex === null) {
      // Bytes (or EOF) while idle: the server gave up on this connection.
      this.#dead = true;
      this.#conn.destroy();
      return;
    }
    ex.gotBytes = true;
    try {
      this.#parser.feed(chunk);
    } catch (error) {
      if (!ex.done) this.#fail(ex, mapParseError(error, ex.head !== null, true, this.#peer));
      else {
        // The response ended in this chunk and what follows does not parse: never reuse.
        this.#dead = true;
        this.#conn.destroy();
      }
      return;
    }
    if (this.#ex === null && !this.#dead && this.#parser.state !== "idle") {
      // Bytes after the end of the response, in the same chunk: never reuse.
      this.#dead = true;
      this.#conn.destroy();
    }
  }

  #end(): void {
    const ex = this.#ex;
    this.#dead = true;
    if (ex !== null) {
      try {
        this.#parser.finish();
      } catch (error) {
        this.#fail(ex, mapParseError(error, ex.head !== null, ex.gotBytes, this.#peer));
      }
      if (this.#ex === ex) this.#failEof(ex, null);
    }
    this.#conn.destroy();
  }

  #close(error: Error | null): void {
    this.#closed = true;
    this.#dead = true;
    const ex = this.#ex;
    if (ex !== null) this.#failEof(ex, error);
    this.#wake();
    this.#resolveClosed();
  }

  /** The connection ended (or broke) with the exchange unfinished. */
  #failEof(ex: Exchange, error: Error | null): void {
    this.#fail(
      ex,
      ex.head === null ? closedBeforeHead(error, ex.gotBytes, this.#peer) : truncated(error),
    );
  }

  // ---- parser events ----

  #onHead(head: ResponseHead): void {
    const ex = this.#ex;
    if (ex === null) {
      // A second response in the same chunk as the first: nothing asked for it.
      this.#dead = true;
      this.#parser.pause();
      queueMicrotask(() => this.#conn.destroy());
      return;
    }
    if (head.status < 200 && head.status !== 101) {
      ex.interim = true;
      if (head.status === 100 && ex.held !== null) ex.held();
      return;
    }
    ex.head = head;
    this.keepAliveHint = keepAliveTimeout(fieldValue(head.headers, "keep-alive"));
    if (head.upgrade) this.#dead = true;
    if (head.framing !== "none" && !head.upgrade) {
      ex.channel = new BodyChannel({
        resume: () => {
          if (this.#ex === ex) this.#setPaused(false);
        },
        cancel: () => {
          ex.channel = null;
          if (this.#ex === ex) this.release();
        },
      }, BODY_HIGH_WATER);
    }
    if (!ex.sendDone && (ex.held !== null || head.status >= 400 || !head.keepAlive)) {
      // A final answer to a held body: it is never sent, and the server's framing is unknowable.
      this.#stopSending(ex);
    }
    ex.resolve(new ExchangeResponse(ex, head, ex.channel));
  }

  #onBody(chunk: Uint8Array): void {
    const ex = this.#ex;
    if (ex === null) return;
    ex.received += chunk.length;
    if (ex.discarding) {
      ex.discarded += chunk.length;
      if (ex.discarded > RELEASE_DRAIN_MAX) {
        this.#fail(ex, new TypeError("Cannot read response body: released"));
      }
      return;
    }
    const channel = ex.channel;
    if (channel === null) return;
    // A borrowed read buffer is reused by the next read: the channel copies what it keeps.
    if (!channel.push(chunk, this.#borrowed)) this.#setPaused(true);
  }

  #onComplete(trailers: string[] | null): void {
    const ex = this.#ex;
    if (ex === null) return;
    if (ex.interim) {
      ex.interim = false;
      return;
    }
    const head = ex.head!;
    ex.done = true;
    this.#ex = null;
    if (ex.drainTimer !== undefined) clearTimeout(ex.drainTimer);
    this.lastUsed = Date.now();
    if (ex.onAbort !== null) ex.signal!.removeEventListener("abort", ex.onAbort);
    if (ex.channel !== null && !ex.discarding) ex.channel.close();
    ex.channel = null;
    if (!ex.sendDone) this.#stopSending(ex);
    settleTrailers(ex, trailers);
    endExchange(ex);
    const reusable = head.keepAlive && !ex.requestClose && !ex.stopSending && !head.upgrade &&
      head.framing !== "close" && !this.#dead && !this.#closed;
    if (!reusable) {
      this.#dead = true;
      // Stop parsing what follows (nothing should); close once this feed returns.
      this.#parser.pause();
      queueMicrotask(() => this.#conn.destroy());
      return;
    }
    this.#setPaused(false);
    this.#onEnded?.(this);
    const onIdle = this.#onIdle;
    if (onIdle !== undefined) {
      queueMicrotask(() => {
        if (this.reusable) onIdle(this);
      });
    }
  }

  // ---- helpers ----

  /** Fails the exchange in flight: rejects the head or errors the body, destroys the connection. */
  #fail(ex: Exchange, error: unknown): void {
    if (ex.done) return;
    ex.done = true;
    this.#dead = true;
    if (this.#ex === ex) this.#ex = null;
    if (ex.drainTimer !== undefined) clearTimeout(ex.drainTimer);
    if (ex.onAbort !== null) ex.signal!.removeEventListener("abort", ex.onAbort);
    this.#stopSending(ex, error);
    if (ex.onTrailers !== null) settleTrailers(ex, null);
    endExchange(ex);
    if (ex.head === null) {
      ex.reject(error);
    } else if (ex.channel !== null) {
      ex.channel.error(error);
      ex.channel = null;
    }
    this.#conn.destroy();
  }

  /** Stops reading the body for the consumer: the rest is dropped, the exchange may still finish cleanly. */
  #discard(ex: Exchange, reason: Error): void {
    ex.discarding = true;
    if (ex.channel !== null) {
      ex.channel.error(reason);
      ex.channel = null;
    }
    this.#setPaused(false);
  }

  #stopSending(ex: Exchange, reason?: unknown): void {
    if (ex.sendDone || ex.stopSending) return;
    ex.stopSending = true;
    ex.reader?.cancel(reason).catch(() => {});
    if (ex.heldBody !== null) dropHeld(ex, reason);
    this.#wake();
  }

  #setPaused(paused: boolean): void {
    if (this.#paused === paused) return;
    this.#paused = paused;
    if (paused) this.#conn.pause();
    else this.#conn.resume();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #drained(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
