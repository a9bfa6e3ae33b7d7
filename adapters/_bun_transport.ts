/**
 * The transport of {@linkcode ./transport.ts} over Bun's own sockets
 * (`Bun.listen`): TCP, Unix domain sockets, TLS with ALPN and client
 * certificates, `reusePort`, and sockets adopted from a file descriptor.
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

import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import {
  alpnWire,
  asError,
  describeListen,
  errorCode,
  latin1Bytes,
  listenFailure,
  listenUnsupported,
  removeSocketFile,
  removeStaleSocket,
  type SocketFile,
  socketFileAt,
  tcpAddress,
} from "./_listen.ts";
import {
  type Address,
  type Conn,
  type ConnEvents,
  type Listener,
  type ListenError,
  type ListenOptions,
  type ServerTransport,
  type TlsInfo,
} from "./transport.ts";
import type * as BunApi from "./_bun_api.ts";

/** `write()` returns `false` once this many bytes are queued (Node's default for sockets). */
const HIGH_WATER_MARK = 64 * 1024;
// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;
/** A TLS client that has not finished its handshake by then is dropped (Node's default). */
const HANDSHAKE_TIMEOUT_MS = 120_000;

// Bun's socket API, with our connection as each socket's data.
type BunSocket = BunApi.BunSocket<BunConn>;
type BunSocketHandler = BunApi.BunSocketHandler<BunConn>;
type BunListenOptions = BunApi.BunListenOptions<BunConn>;
type BunSocketListener = BunApi.BunSocketListener;
type BunLike = BunApi.BunLike<BunConn>;

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

/** A `Bun.listen` listener behind the {@linkcode Listener} contract. */
class BunListener implements Listener {
  readonly address: Address;
  #listener: BunSocketListener;
  #socketFile: SocketFile | null;
  #closing: Promise<void> | null = null;

  constructor(listener: BunSocketListener, address: Address, socketFile: SocketFile | null) {
    this.#listener = listener;
    this.address = address;
    this.#socketFile = socketFile;
  }

  close(): Promise<void> {
    // stop(false) closes the listening socket at once and leaves accepted ones alone.
    this.#closing ??= (async () => {
      this.#listener.stop(false);
      // Bun unlinks the file itself; this covers a path it did not.
      await removeSocketFile(this.#socketFile);
    })();
    return this.#closing;
  }
}

async function toListenError(
  error: unknown,
  where: string,
  hostname: string | undefined,
): Promise<ListenError> {
  let code = errorCode(error);
  // Bun says only "Failed to listen at <host>" when the name does not resolve.
  if (code === null && hostname !== undefined && isIP(hostname) === 0) {
    code = await lookup(hostname).then(() => null, errorCode);
  }
  return listenFailure(error, where, code);
}

/** The socket handlers of one listener: each socket's state is the BunConn in `socket.data`. */
function handlers(
  unixPath: () => string | null,
  tls: { requestCert: boolean } | null,
  onConn: (conn: Conn) => void,
  onError: ((error: Error) => void) | undefined,
): BunSocketHandler {
  const handler: BunSocketHandler = {
    binaryType: "uint8array",
    open(socket) {
      const conn = new BunConn(socket, unixPath());
      socket.data = conn;
      if (tls === null) {
        BunConn.handOver(conn, null, onConn);
        return;
      }
      conn.handshakeTimer = setTimeout(() => {
        onError?.(new Error(`TLS handshake timed out after ${HANDSHAKE_TIMEOUT_MS} ms`));
        socket.terminate();
      }, HANDSHAKE_TIMEOUT_MS);
    },
    data: (socket, chunk) => BunConn.onData(socket.data!, chunk),
    end: (socket) => BunConn.onEnd(socket.data!),
    drain: (socket) => BunConn.onDrain(socket.data!),
    close: (socket, error) => BunConn.onClose(socket.data!, error),
    error: (socket, error) => BunConn.onError(socket.data!, error),
  };
  if (tls !== null) {
    // With rejectUnauthorized false, `success` is false only when the handshake failed.
    handler.handshake = (socket, success, error) => {
      const conn = socket.data!;
      clearTimeout(conn.handshakeTimer);
      if (!success) {
        onError?.(error ?? new Error("TLS handshake failed"));
        // Bun closes it too; this makes sure nothing is left unowned.
        socket.end();
        return;
      }
      const alpn = socket.alpnProtocol;
      BunConn.handOver(conn, {
        protocol: socket.getTLSVersion() || null,
        alpnProtocol: typeof alpn === "string" && alpn !== "" ? alpn : null,
        servername: socket.getServername() || null,
        authorized: tls.requestCert && socket.authorized === true,
      }, onConn);
    };
  }
  return handler;
}

/**
 * {@linkcode ServerTransport} over `Bun.listen`. Use the shared instance
 * {@linkcode bunTransport}; the class exists for `instanceof` and for
 * subclasses in tests.
 *
 * Accepted connections read nothing before `start()`; TLS connections are
 * handed over after their handshake. Every connection is half-open capable:
 * a peer's EOF is reported with `end()` and our side stays writable.
 *
 * @example Listen on a Unix socket
 * ```ts
 * import { BunTransport } from "@sluice/http/adapters/bun";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import assert from "node:assert/strict";
 *
 * const path = join(mkdtempSync(join(tmpdir(), "sluice-")), "app.sock");
 * const listener = await new BunTransport().listen({ path }, (conn) => conn.destroy());
 * assert.deepEqual(listener.address, { transport: "unix", path });
 * await listener.close();
 * ```
 */
export class BunTransport implements ServerTransport {
  /**
   * Starts listening; see {@linkcode ServerTransport.listen}.
   *
   * @param options Where and how to listen.
   * @param onConn Gets each accepted connection, not yet reading.
   * @param onError Gets TLS handshake errors; the listener keeps going.
   * @returns The listener, once the socket listens.
   */
  async listen(
    options: ListenOptions,
    onConn: (conn: Conn) => void,
    onError?: (error: Error) => void,
  ): Promise<Listener> {
    const where = describeListen(options);
    const bun = (globalThis as { Bun?: BunLike }).Bun;
    if (bun === undefined) {
      throw listenUnsupported(where, "bunTransport needs Bun (Bun.listen); use nodeTransport");
    }
    if (options.backlog !== undefined) {
      throw listenUnsupported(where, "Bun.listen takes no backlog");
    }
    const { path, fd, tls } = options;
    if (path !== undefined && !path.startsWith("\0")) await removeStaleSocket(path, where);

    // Known for sure once listening (an adopted fd may be either), which is before any accept.
    let connPath: string | null = path ?? null;
    const bunOptions: BunListenOptions = {
      allowHalfOpen: true,
      socket: handlers(
        () => connPath,
        tls === undefined ? null : { requestCert: tls.requestCert === true },
        onConn,
        onError,
      ),
    };
    if (fd !== undefined) bunOptions.fd = fd;
    else if (path !== undefined) bunOptions.unix = path;
    else {
      bunOptions.hostname = options.hostname ?? "0.0.0.0";
      bunOptions.port = options.port ?? 0;
      if (options.reusePort === true) bunOptions.reusePort = true;
    }
    if (tls !== undefined) {
      bunOptions.tls = {
        cert: tls.cert,
        key: tls.key,
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        requestCert: tls.requestCert === true,
        // The contract hands unverified clients over with `authorized: false`.
        rejectUnauthorized: false,
        ...(tls.alpnProtocols === undefined ? {} : { ALPNProtocols: alpnWire(tls.alpnProtocols) }),
      };
    }

    let listener: BunSocketListener;
    try {
      listener = bun.listen(bunOptions);
    } catch (error) {
      throw await toListenError(error, where, bunOptions.hostname);
    }
    let address: Address;
    if (path !== undefined) {
      address = { transport: "unix", path };
    } else {
      const out: { address?: string; port?: number } = {};
      listener.getsockname(out);
      // An adopted Unix socket has no name Bun can tell.
      address = out.port === undefined
        ? { transport: "unix", path: "" }
        : tcpAddress(out.address, out.port);
    }
    connPath = address.transport === "unix" ? address.path : null;
    const socketFile = path === undefined ? null : await socketFileAt(path);
    return new BunListener(listener, address, socketFile);
  }
}

/**
 * The {@linkcode ServerTransport} of Bun's own sockets (`Bun.listen`).
 *
 * @example Serve one answer per connection
 * ```ts
 * import { bunTransport } from "@sluice/http/adapters/bun";
 * import { connect } from "node:net";
 * import assert from "node:assert/strict";
 *
 * const listener = await bunTransport.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => {
 *   conn.start({ data() {}, end: () => conn.end(), drain() {}, close() {} });
 *   conn.write(new TextEncoder().encode("hi"));
 *   conn.end();
 * });
 * const port = listener.address.transport === "tcp" ? listener.address.port : 0;
 * const reply = await new Promise<string>((resolve) => {
 *   let text = "";
 *   const socket = connect(port, "127.0.0.1");
 *   socket.on("data", (chunk) => (text += chunk));
 *   socket.on("end", () => socket.end());
 *   socket.on("close", () => resolve(text));
 * });
 * assert.equal(reply, "hi");
 * await listener.close();
 * ```
 */
export const bunTransport: BunTransport = new BunTransport();
