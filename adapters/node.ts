/**
 * The transport of {@linkcode ./transport.ts} over `node:net` and `node:tls`:
 * TCP, Unix domain sockets, TLS with ALPN, and sockets adopted from a file
 * descriptor. It runs on Node, and on Deno and Bun through their `node:net`
 * compatibility (the tests run it on all three).
 *
 * @example Echo server on a random loopback port
 * ```ts
 * import { nodeTransport } from "@sluice/http/adapters/node";
 * import assert from "node:assert/strict";
 *
 * const listener = await nodeTransport.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => {
 *   conn.start({
 *     data: (chunk) => conn.write(chunk),
 *     end: () => conn.end(),
 *     drain: () => {},
 *     close: () => {},
 *   });
 * });
 * assert.ok(listener.address.transport === "tcp" && listener.address.port > 0);
 * await listener.close();
 * ```
 *
 * @module
 */

import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { Buffer } from "node:buffer";
import process from "node:process";
// Node's timers everywhere: Deno's global setTimeout returns a number, with no unref().
import { setTimeout } from "node:timers";
import {
  type Address,
  type Conn,
  type ConnEvents,
  type Listener,
  ListenError,
  type ListenOptions,
  type ServerTransport,
  type TlsInfo,
} from "./transport.ts";
import {
  asError,
  describeListen,
  errorCode,
  listenFailure,
  removeSocketFile,
  removeStaleSocket,
  type SocketFile,
  socketFileAt,
  tcpAddress,
} from "./_listen.ts";

export type {
  Address,
  Conn,
  ConnEvents,
  Listener,
  ListenErrorCode,
  ListenOptions,
  ListenTlsOptions,
  ServerTransport,
  TlsInfo,
} from "./transport.ts";
export { ListenError } from "./transport.ts";
export { SluiceError } from "../util/errors.ts";

/**
 * Whether `listen({ reusePort })` works here. Node added the option in 22.12
 * and 23.1 and silently ignores it before; Deno and Bun report a recent Node
 * version and honour it (a test pins both).
 */
function reusePortSupported(): boolean {
  const [major, minor] = process.versions.node.split(".").map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** PEM text or bytes as `node:tls` wants them (a Buffer over the same bytes, no copy). */
function pem(value: string | Uint8Array): string | Buffer {
  return typeof value === "string"
    ? value
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

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

/** A listening `net.Server` behind the {@linkcode Listener} contract. */
class NodeListener implements Listener {
  readonly address: Address;
  #server: Server;
  #socketFile: SocketFile | null;
  #closing: Promise<void> | null = null;

  constructor(
    server: Server,
    address: Address,
    socketFile: SocketFile | null,
  ) {
    this.#server = server;
    this.address = address;
    this.#socketFile = socketFile;
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      // server.close()'s callback waits for every connection; the listening
      // socket itself is closed by the time the call returns.
      this.#server.close();
      // Node's libuv unlinks the file itself; Deno's and Bun's node:net may not.
      setTimeout(() => resolve(removeSocketFile(this.#socketFile)), 0);
    });
    return this.#closing;
  }
}

function toListenError(error: unknown, where: string, reusePort: boolean): ListenError {
  const syscallCode = errorCode(error);
  if (reusePort && (syscallCode === "ENOTSUP" || syscallCode === "EOPNOTSUPP")) {
    return new ListenError(
      "SLUICE_ERR_LISTEN_UNSUPPORTED",
      `Cannot listen on ${where} with reusePort: this platform has no SO_REUSEPORT (${
        asError(error).message
      })`,
      { address: where, syscallCode, cause: error },
    );
  }
  return listenFailure(error, where, syscallCode);
}

function listenerAddress(server: Server, unixPath: string | null): Address {
  const address = server.address();
  if (address !== null && typeof address === "object" && typeof address.port === "number") {
    return tcpAddress(address.address, address.port);
  }
  // A Unix socket. Adopted from a file descriptor, its path is unknown: Node
  // and Deno say `null`, Bun `{}`.
  return { transport: "unix", path: unixPath ?? (typeof address === "string" ? address : "") };
}

/**
 * {@linkcode ServerTransport} over `node:net` and `node:tls`. Use the shared
 * instance {@linkcode nodeTransport}; the class exists for `instanceof` and
 * for subclasses in tests.
 *
 * Behaviour worth knowing: every accepted socket is half-open capable
 * (`allowHalfOpen`), so a peer's EOF is reported with `end()` and our side
 * stays writable; plain TCP and Unix sockets are accepted paused
 * (`pauseOnConnect`) and read nothing before `start()`; TLS sockets are handed
 * over after the handshake, with at most one TLS record buffered before
 * `start()`.
 *
 * @example Listen on a Unix socket
 * ```ts
 * import { NodeTransport } from "@sluice/http/adapters/node";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import assert from "node:assert/strict";
 *
 * const path = join(mkdtempSync(join(tmpdir(), "sluice-")), "app.sock");
 * const listener = await new NodeTransport().listen({ path }, (conn) => conn.destroy());
 * assert.deepEqual(listener.address, { transport: "unix", path });
 * await listener.close();
 * ```
 */
export class NodeTransport implements ServerTransport {
  /**
   * Starts listening; see {@linkcode ServerTransport.listen}.
   *
   * @param options Where and how to listen.
   * @param onConn Gets each accepted connection, not yet reading.
   * @param onError Gets accept and TLS handshake errors; the listener keeps going.
   * @returns The listener, once the socket listens.
   */
  async listen(
    options: ListenOptions,
    onConn: (conn: Conn) => void,
    onError?: (error: Error) => void,
  ): Promise<Listener> {
    const where = describeListen(options);
    const reusePort = options.reusePort === true;
    if (reusePort && !reusePortSupported()) {
      throw new ListenError(
        "SLUICE_ERR_LISTEN_UNSUPPORTED",
        `Cannot listen on ${where} with reusePort: Node ${process.versions.node} ignores it ` +
          "(node:net has it from Node 22.12 and 23.1); use workers with node:cluster instead",
        { address: where },
      );
    }
    const unixPath = options.path ?? null;
    const fileBacked = unixPath !== null && !unixPath.startsWith("\0");
    if (fileBacked) await removeStaleSocket(unixPath, where);

    const { tls } = options;
    const secure = tls !== undefined;
    const server: Server = secure
      ? createTlsServer({
        cert: pem(tls.cert),
        key: pem(tls.key),
        ca: tls.ca === undefined ? undefined : pem(tls.ca),
        ALPNProtocols: tls.alpnProtocols,
        requestCert: tls.requestCert === true,
        rejectUnauthorized: false,
        allowHalfOpen: true,
      })
      : createNetServer({ allowHalfOpen: true, pauseOnConnect: true });
    // The Unix path connections report, or null for TCP; known for sure once
    // listening (an adopted fd may be either), which is before any accept.
    let connPath = unixPath;
    server.on(secure ? "secureConnection" : "connection", (socket: Socket) => {
      onConn(new NodeConn(socket, connPath, secure ? tls.requestCert === true : null));
    });
    if (secure) server.on("tlsClientError", (error: Error) => onError?.(error));

    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(
          options.fd !== undefined
            ? { fd: options.fd, backlog: options.backlog }
            : unixPath !== null
            ? { path: unixPath, backlog: options.backlog }
            : {
              host: options.hostname ?? "0.0.0.0",
              port: options.port ?? 0,
              backlog: options.backlog,
              ...(reusePort ? { reusePort: true } : {}),
            },
          () => {
            server.off("error", reject);
            resolve();
          },
        );
      });
    } catch (error) {
      server.close();
      throw toListenError(error, where, reusePort);
    }
    server.on("error", (error: Error) => onError?.(error));

    const address = listenerAddress(server, unixPath);
    connPath = address.transport === "unix" ? address.path : null;
    const socketFile = fileBacked ? await socketFileAt(unixPath) : null;
    return new NodeListener(server, address, socketFile);
  }
}

/**
 * The {@linkcode ServerTransport} of Node's `node:net` and `node:tls`.
 *
 * @example Serve one answer per connection
 * ```ts
 * import { nodeTransport } from "@sluice/http/adapters/node";
 * import { connect } from "node:net";
 * import assert from "node:assert/strict";
 *
 * const listener = await nodeTransport.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => {
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
export const nodeTransport: NodeTransport = new NodeTransport();
