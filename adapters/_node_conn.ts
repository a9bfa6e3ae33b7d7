/**
 * {@linkcode NodeConn}: a `node:net` or `node:tls` socket behind the
 * {@linkcode Conn} contract, for the Node server transport and the client's
 * Node connector, and the shared-buffer reads (`onread`) of client sockets.
 *
 * @module
 */

import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { Buffer } from "node:buffer";
import type { Address, Conn, ConnEvents, TlsInfo } from "./transport.ts";
import { asError, tcpAddress } from "./_listen.ts";

/**
 * The read buffer of every socket that reads with `onread` (client sockets
 * on Node): libuv reads one socket at a time and the bytes are handed on
 * before the next read, so one buffer serves them all.
 */
let sharedReadBuffer: Buffer | null = null;

/**
 * `net.connect` options that read into a shared buffer instead of making a
 * `Buffer` per read and pushing it through the stream machinery, and the
 * function that binds the socket's {@linkcode NodeConn} to them once made.
 * The connection then says {@linkcode NodeConn.borrowedReads}. Node only
 * (Deno's and Bun's `node:net` are not asked to do this).
 *
 * @returns The `onread` option and `bind`.
 * @example
 * ```ts ignore
 * const reads = borrowedReadOptions();
 * const socket = net.connect({ port: 8080, ...reads.options });
 * reads.bind(new NodeConn(socket, null, null, true));
 * ```
 */
export function borrowedReadOptions(): {
  options: { onread: { buffer: Buffer; callback: (n: number, buf: Buffer) => boolean } };
  bind: (conn: NodeConn) => void;
} {
  let conn: NodeConn | null = null;
  const early: Uint8Array[] = [];
  sharedReadBuffer ??= Buffer.allocUnsafe(64 * 1024);
  return {
    options: {
      onread: {
        buffer: sharedReadBuffer,
        callback: (n, buf) => {
          // A plain Uint8Array view: `slice()` of a Buffer would not copy.
          const chunk = new Uint8Array(buf.buffer, buf.byteOffset, n);
          if (conn === null) early.push(chunk.slice()); // not bound yet: keep a copy
          else NodeConn.readBorrowed(conn, chunk);
          return true;
        },
      },
    },
    bind: (bound) => {
      conn = bound;
      for (const chunk of early.splice(0)) NodeConn.readBorrowed(bound, chunk);
    },
  };
}

/** The connection a socket belongs to, for the listeners shared by all sockets. */
const kConn = Symbol("sluice.conn");
type OwnedSocket = Socket & { [kConn]: NodeConn };

/** A `net.Socket` (or `tls.TLSSocket`) behind the {@linkcode Conn} contract. */
export class NodeConn implements Conn {
  readonly remoteAddress: Address;
  readonly tls: TlsInfo | null;
  #localAddress: Address | null = null;
  readonly #unixPath: string | null;
  #socket: Socket;
  #events: ConnEvents | null = null;
  #error: Error | null = null;
  #paused = false;
  /** `end()` or `destroy()` was called, or the socket closed: writes are dropped. */
  #done = false;
  #closed = false;

  // One set of listener functions for every socket (not closures per
  // connection): idle keep-alive connections should cost little memory.
  static #onError = function (this: OwnedSocket, error: Error): void {
    const conn = this[kConn];
    conn.#error ??= error;
  };
  static #onClose = function (this: OwnedSocket): void {
    const conn = this[kConn];
    conn.#closed = true;
    conn.#done = true;
    conn.#events?.close(conn.#error);
  };
  static #onData = function (this: OwnedSocket, chunk: Uint8Array): void {
    // Bun's node:net still emits "data" and "end" after destroy().
    if (this.destroyed) return;
    const conn = this[kConn];
    try {
      conn.#events!.data(chunk);
    } catch (error) {
      conn.destroy(asError(error));
    }
  };
  static #onEnd = function (this: OwnedSocket): void {
    const conn = this[kConn];
    conn.#call(conn.#events!.end);
  };
  static #onDrain = function (this: OwnedSocket): void {
    const conn = this[kConn];
    conn.#call(conn.#events!.drain);
  };

  /** Whether `data()` chunks are views of the shared read buffer (see {@linkcode borrowedReadOptions}). */
  readonly borrowedReads: boolean;

  /**
   * Data read into the shared buffer of a socket made with
   * {@linkcode borrowedReadOptions}: handed on as the "data" event would be
   * (held while not started; a copy, since the buffer is reused).
   *
   * @param conn The socket's connection.
   * @param chunk A view of the shared buffer.
   */
  static readBorrowed(conn: NodeConn, chunk: Uint8Array): void {
    if (conn.#socket.destroyed) return;
    if (conn.#events === null || conn.#paused) {
      conn.#early.push(chunk.slice());
      return;
    }
    try {
      conn.#events.data(chunk);
    } catch (error) {
      conn.destroy(asError(error));
    }
  }

  /** Copies of chunks read before `start()` or while paused (a borrowed-read socket), in order. */
  #early: Uint8Array[] = [];

  /** Hands on the chunks kept by {@linkcode NodeConn.readBorrowed} while it may. */
  #flushEarly(): void {
    const early = this.#early;
    while (early.length > 0 && !this.#paused && this.#events !== null && !this.#socket.destroyed) {
      const chunk = early.shift()!;
      try {
        this.#events.data(chunk);
      } catch (error) {
        this.destroy(asError(error));
      }
    }
  }

  /**
   * `requestCert` is `null` for a plain connection, else whether the listener
   * asked for one; `borrowed`: the socket reads with {@linkcode borrowedReadOptions}.
   */
  constructor(
    socket: Socket,
    unixPath: string | null,
    requestCert: boolean | null,
    borrowed = false,
  ) {
    this.borrowedReads = borrowed;
    this.#socket = socket;
    this.#unixPath = unixPath;
    // The peer is read now: once the socket closed it can no longer be asked.
    this.remoteAddress = unixPath === null
      ? tcpAddress(socket.remoteAddress, socket.remotePort)
      : { transport: "unix", path: "" };
    this.tls = requestCert === null ? null : tlsInfo(socket as TLSSocket, requestCert);
    (socket as OwnedSocket)[kConn] = this;
    // Listened to from the start: an error before start() must not crash the process.
    socket.on("error", NodeConn.#onError);
    socket.once("close", NodeConn.#onClose);
  }

  /** Our end, asked from the OS on first use. */
  get localAddress(): Address {
    if (this.#localAddress === null) {
      const socket = this.#socket;
      this.#localAddress = this.#unixPath === null
        ? tcpAddress(socket.localAddress, socket.localPort)
        : { transport: "unix", path: this.#unixPath };
    }
    return this.#localAddress;
  }

  start(events: ConnEvents): void {
    if (this.#events !== null) throw new TypeError("Cannot start a connection twice");
    this.#events = events;
    if (this.#closed) {
      queueMicrotask(() => events.close(this.#error));
      return;
    }
    const socket = this.#socket;
    // A paused stream stays paused when a "data" listener is added.
    if (this.#paused) socket.pause();
    if (!this.borrowedReads) socket.on("data", NodeConn.#onData);
    socket.on("end", NodeConn.#onEnd);
    socket.on("drain", NodeConn.#onDrain);
    if (this.#early.length > 0) this.#flushEarly();
    if (!this.#paused) socket.resume();
  }

  pause(): void {
    this.#paused = true;
    if (!this.#closed) this.#socket.pause();
  }

  resume(): void {
    this.#paused = false;
    if (this.#early.length > 0) this.#flushEarly();
    if (this.#events !== null && !this.#closed && !this.#paused) this.#socket.resume();
  }

  writeLatin1(text: string): boolean {
    if (this.#done || this.#socket.destroyed) return false;
    // Node encodes the string straight into the write request: no Buffer made here.
    return this.#socket.write(text, "latin1");
  }

  write(chunk: Uint8Array): boolean {
    if (this.#done || this.#socket.destroyed) return false;
    return this.#socket.write(chunk);
  }

  get bufferedAmount(): number {
    return this.#closed ? 0 : this.#socket.writableLength;
  }

  end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#socket.end();
  }

  destroy(error?: Error): void {
    if (this.#closed) return;
    this.#done = true;
    if (error !== undefined) this.#error ??= error;
    // Without the error: it is reported through close(), not as an "error" event.
    this.#socket.destroy();
  }

  setNoDelay(noDelay: boolean): void {
    if (!this.#closed) this.#socket.setNoDelay(noDelay);
  }

  #call(callback: () => void): void {
    if (this.#socket.destroyed) return;
    try {
      callback.call(this.#events);
    } catch (error) {
      this.destroy(asError(error));
    }
  }
}

/** What a TLS socket negotiated, as {@linkcode TlsInfo}. */
function tlsInfo(socket: TLSSocket, requestCert: boolean): TlsInfo {
  return {
    protocol: socket.getProtocol() ?? null,
    alpnProtocol: typeof socket.alpnProtocol === "string" ? socket.alpnProtocol : null,
    servername: typeof socket.servername === "string" && socket.servername !== ""
      ? socket.servername
      : null,
    // Deno says `true` when no certificate was asked for.
    authorized: requestCert && socket.authorized === true,
  };
}
