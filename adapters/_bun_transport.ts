/**
 * The transport of {@linkcode ./transport.ts} over Bun's own sockets
 * (`Bun.listen`, `Bun.connect`): TCP, Unix domain sockets, TLS with ALPN and
 * client certificates, `reusePort`, and sockets adopted from a file
 * descriptor. This file has the connection ({@linkcode BunConn});
 * `_bun_listen.ts` the listener and `BunTransport`.
 *
 * Bun's socket handlers belong to the listener; each socket's state is its
 * {@linkcode Conn}, kept in `socket.data`. `socket.write()` takes what the
 * kernel takes and keeps nothing, so the rest waits in our queue (as
 * `subarray`s, no copy) and goes out from Bun's `drain` handler. Each chunk
 * Bun hands to `data` is a fresh buffer, so it is passed on without a copy.
 *
 * Where Bun differs, the adapter evens it out (the contract tests cover all
 * but the handshake timeout):
 *
 * - `socket.end()` closes both directions at once; `Conn.end()` uses
 *   `socket.shutdown()` instead, which sends our FIN and keeps reading.
 * - After our FIN, a peer's FIN closes a plain socket without Bun's `end`
 *   handler; `end()` is then reported before `close()`.
 * - Bun may call `close` from inside `socket.end()` or `terminate()`, and
 *   calls `drain` when nothing was waiting: callbacks are deferred and
 *   filtered so that the contract's order holds.
 * - A TLS handshake that fails (or does not finish within 120 s) goes to
 *   `onError`; the connection is never handed over.
 *
 * And where it cannot meet the contract, `listen()` refuses with
 * `SLUICE_ERR_LISTEN_UNSUPPORTED`: `backlog` (`Bun.listen` takes none).
 *
 * @module
 */

import { asError, latin1Bytes, tcpAddress } from "./_listen.ts";
import type { Address, Conn, ConnEvents, TlsInfo } from "./transport.ts";
import type * as BunApi from "./_bun_api.ts";

/** `write()` returns `false` once this many bytes are queued (Node's default for sockets). */
const HIGH_WATER_MARK = 64 * 1024;
// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

// Bun's socket API, with our connection as each socket's data.
type BunSocket = BunApi.BunSocket<BunConn>;

/** A Bun socket behind the {@linkcode Conn} contract. */
export class BunConn implements Conn {
  readonly localAddress: Address;
  readonly remoteAddress: Address;
  #tls: TlsInfo | null = null;
  #socket: BunSocket;
  #events: ConnEvents | null = null;
  #error: Error | null = null;
  /** Set while this object calls into Bun: a handler Bun calls from there is deferred. */
  #depth = 0;
  // Read side.
  #paused = false;
  /** Chunks read but not delivered yet (before start(), while paused, or re-entrant). */
  #held: Uint8Array[] = [];
  #eofPending = false;
  #endReported = false;
  #flushScheduled = false;
  readonly #flushBound = (): void => this.#flush();
  // Write side.
  #queue: Uint8Array[] = [];
  #head = 0;
  #buffered = 0;
  #needDrain = false;
  /** `end()` or `destroy()` was called, or the socket closed: writes are dropped. */
  #ending = false;
  #writeShut = false;
  #destroyed = false;
  #socketClosed = false;
  #closePending = false;
  #closeReported = false;
  /** Handshake timer of a TLS connection not yet handed over. */
  handshakeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(socket: BunSocket, unixPath: string | null) {
    this.#socket = socket;
    if (unixPath === null) {
      this.localAddress = tcpAddress(socket.localAddress, socket.localPort);
      this.remoteAddress = tcpAddress(socket.remoteAddress, socket.remotePort);
    } else {
      this.localAddress = { transport: "unix", path: unixPath };
      this.remoteAddress = { transport: "unix", path: "" };
    }
  }

  get tls(): TlsInfo | null {
    return this.#tls;
  }

  start(events: ConnEvents): void {
    if (this.#events !== null) throw new TypeError("Cannot start a connection twice");
    this.#events = events;
    if (!this.#paused) this.#resumeSocket();
    if (this.#held.length > 0 || this.#eofPending || this.#closePending) this.#schedule();
  }

  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    if (!this.#socketClosed) this.#socket.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#events === null) return;
    this.#resumeSocket();
    if (this.#held.length > 0 || this.#eofPending || this.#closePending) this.#schedule();
  }

  writeLatin1(text: string): boolean {
    // ASCII (a request head, nearly always) goes to Bun as the string: it encodes natively.
    if (this.#ending || this.#head !== this.#queue.length || !ASCII.test(text)) {
      return this.write(latin1Bytes(text));
    }
    if (text.length > 0) {
      const n = this.#tryWrite(text);
      if (n < 0) return false;
      if (n < text.length) this.#enqueue(latin1Bytes(n === 0 ? text : text.slice(n)));
    }
    return this.#belowHighWater();
  }

  write(chunk: Uint8Array): boolean {
    if (this.#ending) return false;
    if (chunk.length > 0) {
      if (this.#head === this.#queue.length) {
        const n = this.#tryWrite(chunk);
        if (n < 0) return false;
        if (n < chunk.length) this.#enqueue(n === 0 ? chunk : chunk.subarray(n));
      } else {
        this.#enqueue(chunk);
      }
    }
    return this.#belowHighWater();
  }

  /** Writes to the socket now: bytes taken, or -1 when the socket is closing (its close handler reports it). */
  #tryWrite(data: Uint8Array | string): number {
    this.#depth++;
    try {
      return this.#socket.write(data);
    } finally {
      this.#depth--;
    }
  }

  #enqueue(rest: Uint8Array): void {
    this.#queue.push(rest);
    this.#buffered += rest.length;
  }

  #belowHighWater(): boolean {
    if (this.#buffered < HIGH_WATER_MARK) return true;
    this.#needDrain = true;
    return false;
  }

  get bufferedAmount(): number {
    return this.#buffered;
  }

  end(): void {
    if (this.#ending) return;
    this.#ending = true;
    if (this.#head === this.#queue.length) this.#shutdown();
  }

  destroy(error?: Error): void {
    if (this.#destroyed || this.#closeReported) return;
    this.#destroyed = true;
    this.#ending = true;
    if (error !== undefined) this.#error ??= error;
    this.#dropBuffers();
    if (!this.#socketClosed) {
      this.#depth++;
      try {
        // A full close (FIN, not RST: what the kernel holds still goes out),
        // with terminate() in case this Bun keeps the socket half open.
        this.#socket.end();
        if (!this.#socketClosed) this.#socket.terminate();
      } finally {
        this.#depth--;
      }
    }
    this.#closePending = true;
    this.#schedule();
  }

  setNoDelay(noDelay: boolean): void {
    if (!this.#socketClosed && this.localAddress.transport === "tcp") {
      this.#socket.setNoDelay(noDelay);
    }
  }

  #resumeSocket(): void {
    if (this.#socketClosed) return;
    this.#depth++;
    try {
      this.#socket.resume();
    } finally {
      this.#depth--;
    }
  }

  #shutdown(): void {
    this.#writeShut = true;
    if (this.#socketClosed) return;
    this.#depth++;
    try {
      this.#socket.shutdown();
    } finally {
      this.#depth--;
    }
  }

  #dropBuffers(): void {
    this.#queue = [];
    this.#head = 0;
    this.#buffered = 0;
    this.#held = [];
    this.#eofPending = false;
  }

  #schedule(): void {
    if (this.#flushScheduled || this.#events === null) return;
    this.#flushScheduled = true;
    queueMicrotask(this.#flushBound);
  }

  /** Delivers what was held back, in order: data, then end, then close. */
  #flush(): void {
    this.#flushScheduled = false;
    const events = this.#events;
    if (events === null || this.#closeReported) return;
    try {
      const held = this.#held;
      let i = 0;
      while (i < held.length && !this.#paused && !this.#destroyed) events.data(held[i++]);
      held.splice(0, i);
      if (this.#destroyed) return this.#reportClose();
      // Paused: the rest waits for resume(); close() too, after them.
      if (held.length > 0) return;
      if (this.#eofPending) {
        if (this.#paused) return;
        this.#reportEnd();
        if (this.#destroyed) return this.#reportClose();
      }
      if (this.#closePending) this.#reportClose();
    } catch (error) {
      this.destroy(asError(error));
    }
  }

  #reportEnd(): void {
    this.#eofPending = false;
    this.#endReported = true;
    this.#events!.end();
  }

  #reportClose(): void {
    if (this.#closeReported) return;
    this.#closeReported = true;
    this.#events!.close(this.#error);
  }

  /** Whether a callback from Bun can go straight to the engine. */
  #direct(): boolean {
    return this.#events !== null && !this.#paused && this.#depth === 0 &&
      this.#held.length === 0 && !this.#flushScheduled;
  }

  static onData(conn: BunConn, chunk: Uint8Array): void {
    if (conn.#destroyed || conn.#socketClosed) return;
    if (!conn.#direct()) {
      conn.#held.push(chunk);
      if (!conn.#paused) conn.#schedule();
      return;
    }
    try {
      conn.#events!.data(chunk);
    } catch (error) {
      conn.destroy(asError(error));
    }
  }

  static onEnd(conn: BunConn): void {
    if (conn.#destroyed || conn.#socketClosed || conn.#endReported || conn.#eofPending) return;
    if (!conn.#direct()) {
      conn.#eofPending = true;
      if (!conn.#paused) conn.#schedule();
      return;
    }
    try {
      conn.#reportEnd();
    } catch (error) {
      conn.destroy(asError(error));
    }
  }

  static onDrain(conn: BunConn): void {
    if (conn.#destroyed || conn.#socketClosed) return;
    if (conn.#depth > 0) {
      queueMicrotask(() => BunConn.onDrain(conn));
      return;
    }
    const queue = conn.#queue;
    while (conn.#head < queue.length) {
      const chunk = queue[conn.#head];
      const n = conn.#socket.write(chunk);
      if (n < 0) return;
      conn.#buffered -= n;
      if (n < chunk.length) {
        queue[conn.#head] = chunk.subarray(n);
        return;
      }
      conn.#head++;
    }
    queue.length = 0;
    conn.#head = 0;
    // Bun also calls drain when nothing waited; and, like Node, no drain() after end().
    if (conn.#ending) {
      if (!conn.#writeShut) conn.#shutdown();
    } else if (conn.#needDrain && conn.#events !== null) {
      conn.#needDrain = false;
      try {
        conn.#events.drain();
      } catch (error) {
        conn.destroy(asError(error));
      }
    }
  }

  static onError(conn: BunConn, error: Error): void {
    conn.#error ??= error;
  }

  static onClose(conn: BunConn, error: Error | undefined): void {
    if (conn.#socketClosed) return;
    conn.#socketClosed = true;
    conn.#ending = true;
    clearTimeout(conn.handshakeTimer);
    if (conn.#destroyed) return;
    conn.#queue = [];
    conn.#head = 0;
    conn.#buffered = 0;
    if (error !== undefined) conn.#error ??= error;
    if (conn.#error !== null) {
      conn.#dropBuffers();
    } else if (!conn.#endReported) {
      // An orderly close: the peer's FIN came (after ours, Bun skips `end`).
      conn.#eofPending = true;
    }
    conn.#closePending = true;
    conn.#schedule();
  }

  static handOver(conn: BunConn, tls: TlsInfo | null, onConn: (conn: Conn) => void): void {
    conn.#tls = tls;
    conn.#socket.pause();
    conn.#paused = false;
    onConn(conn);
  }
}
