/**
 * The transport contract between Sluice's engines and a runtime: a listener
 * that accepts connections and a connection that moves bytes with
 * backpressure both ways. `server/` and `client/` use only these types; each
 * file in `adapters/` binds them to one runtime.
 *
 * The contract is push-based, with plain callbacks, like `node:net`: the
 * engine feeds the HTTP/1.1 parser synchronously from `data()`, with no
 * Promise and no stream per chunk (see the platform section of
 * `bench/RESULTS.md` for what those cost).
 *
 * How the other runtimes map onto it (they get adapters later):
 *
 * - Bun (`Bun.listen`): `socket.write()` returns how many bytes the kernel
 *   took, possibly fewer than given, and keeps nothing. The adapter keeps the
 *   rest (as `subarray`s, no copy) in its own queue, flushes it from Bun's
 *   `drain` handler and calls `drain()` once the queue is empty after a
 *   `write()` that returned `false`. `bufferedAmount` is that queue's size and
 *   `end()` shuts the socket down only after the queue is flushed.
 *   `socket.pause()`/`resume()` stop and restart reading, `end` and `close`
 *   handlers map one to one, and `alpnProtocol`, `getTLSVersion()`,
 *   `getServername()` and `authorized` fill {@linkcode TlsInfo}. No
 *   backpressure is lost: Bun never buffers unboundedly behind our back.
 * - Deno (`Deno.listen`, `Deno.Conn`): reading is pull-based
 *   (`await conn.read(buffer)`). The adapter runs one read loop per
 *   connection that pushes each chunk to `data()` and stops issuing reads
 *   while paused, so the kernel's window closes and the peer sees TCP
 *   backpressure; a read already in flight when `pause()` is called is held
 *   and delivered after `resume()`. Each chunk is a fresh copy, since Deno
 *   fills the buffer it is given. Writes go through a queue drained by one
 *   write loop (`conn.write()` may be partial), so `write()` returns
 *   `false`, `bufferedAmount` and `drain()` work as on Bun; `end()` is
 *   `closeWrite()` after the queue is flushed. That is one Promise per read
 *   or write, not per parser event, and Promises are cheap on Deno's V8.
 *   `Deno.TlsConn.handshake()` gives the ALPN protocol only: `protocol` and
 *   `servername` are `null` there, and `Deno.listenTls` cannot request client
 *   certificates, so `requestCert` must be refused there with
 *   `SLUICE_ERR_LISTEN_UNSUPPORTED` (or served through `node:tls`).
 *
 * @module
 */

import { SluiceError } from "../util/errors.ts";

/**
 * Where a listener or a connection end is: a TCP address or a Unix domain
 * socket path.
 *
 * `path` is `""` when the runtime cannot name it: the peer of a Unix socket
 * connection (clients usually bind no path) and a Unix listener adopted from a
 * file descriptor.
 *
 * @example Format an address for a log line
 * ```ts
 * import type { Address } from "@sluice/http/adapters/node";
 * import assert from "node:assert/strict";
 *
 * function show(address: Address): string {
 *   if (address.transport === "unix") return `unix:${address.path}`;
 *   return address.family === "IPv6"
 *     ? `[${address.hostname}]:${address.port}`
 *     : `${address.hostname}:${address.port}`;
 * }
 * assert.equal(show({ transport: "tcp", hostname: "::1", port: 80, family: "IPv6" }), "[::1]:80");
 * ```
 */
export type Address =
  | { transport: "tcp"; hostname: string; port: number; family: "IPv4" | "IPv6" }
  | { transport: "unix"; path: string };

/**
 * What the TLS handshake of a connection settled. A field the runtime cannot
 * report is `null`.
 *
 * @example Read the negotiated protocol of a connection
 * ```ts
 * import type { TlsInfo } from "@sluice/http/adapters/node";
 * import assert from "node:assert/strict";
 *
 * const info: TlsInfo = {
 *   protocol: "TLSv1.3",
 *   alpnProtocol: "http/1.1",
 *   servername: "localhost",
 *   authorized: false,
 * };
 * assert.equal(info.alpnProtocol ?? "http/1.1", "http/1.1");
 * ```
 */
export interface TlsInfo {
  /** The TLS version, e.g. `"TLSv1.3"`. */
  protocol: string | null;
  /** The protocol chosen by ALPN, or `null` when the client offered none we listed. */
  alpnProtocol: string | null;
  /** The server name the client asked for (SNI), or `null` when it sent none. */
  servername: string | null;
  /**
   * `true` when the client presented a certificate that verified against
   * `tls.ca`; always `false` unless the listener was made with `requestCert`.
   */
  authorized: boolean;
}

/**
 * The callbacks a connection reports to, set once with {@linkcode Conn.start}.
 *
 * Order: any number of `data()`, then at most one `end()`, with `drain()`
 * anywhere in between, then exactly one `close()`; nothing after `close()`.
 * No callback is ever called from inside a method of the connection (they
 * come from the event loop), so the engine may call `write()`, `pause()` or
 * `destroy()` from a callback without re-entering itself.
 *
 * If `data()`, `end()` or `drain()` throws, the connection is destroyed with
 * that error and `close()` reports it.
 *
 * @example An echo handler
 * ```ts
 * import type { Conn, ConnEvents } from "@sluice/http/adapters/node";
 *
 * function echo(conn: Conn): ConnEvents {
 *   return {
 *     data: (chunk) => {
 *       if (!conn.write(chunk)) conn.pause();
 *     },
 *     end: () => conn.end(),
 *     drain: () => conn.resume(),
 *     close: (error) => {
 *       if (error) console.error(error);
 *     },
 *   };
 * }
 * ```
 */
export interface ConnEvents {
  /**
   * Bytes read, in order. The chunk is the receiver's: the transport never
   * reuses or changes it, so it may be kept without a copy (unless the
   * connection says {@linkcode Conn.borrowedReads}). Never empty, never
   * called while the connection is paused or after `end()` or `close()`.
   */
  data(chunk: Uint8Array): void;
  /**
   * The peer half-closed its side (EOF): no more `data()`. Our side stays
   * open, so the engine may still write, then calls `end()` (or `destroy()`).
   */
  end(): void;
  /**
   * The write queue emptied after a `write()` that returned `false`. Called
   * once per such `write()` episode, never when no `write()` returned `false`.
   */
  drain(): void;
  /**
   * The connection is fully closed and its resources released. Called exactly
   * once: after both sides ended, after `destroy()`, or when the connection
   * failed. `error` is `null` for an orderly close or a plain `destroy()`; it
   * is the error given to `destroy(error)`, or the OS error (`ECONNRESET`,
   * `EPIPE`, … in its `code`) when the connection broke.
   */
  close(error: Error | null): void;
}

/**
 * One accepted (or, later, dialled) connection.
 *
 * Reading starts with {@linkcode Conn.start}; until then the kernel (or the
 * TLS layer) holds incoming bytes, so none is lost between accept and start.
 * While the connection is paused or not started, a peer's EOF or reset may go
 * unnoticed until reading resumes or a write fails.
 *
 * @example Answer one line and close
 * ```ts
 * import type { Conn } from "@sluice/http/adapters/node";
 *
 * function hello(conn: Conn): void {
 *   conn.start({
 *     data: () => {
 *       conn.write(new TextEncoder().encode("hello\n"));
 *       conn.end();
 *     },
 *     end: () => conn.end(),
 *     drain: () => {},
 *     close: () => {},
 *   });
 * }
 * ```
 */
export interface Conn {
  /** Our end of the connection. */
  readonly localAddress: Address;
  /** The peer's end. For Unix sockets the path is usually `""` (unnamed client). */
  readonly remoteAddress: Address;
  /** What the TLS handshake settled (done before the listener hands the connection over), or `null` for plain connections. */
  readonly tls: TlsInfo | null;
  /**
   * `true` when `data()` chunks are views of a read buffer that the next read
   * overwrites: valid during the call only, so what is kept must be copied.
   * Dialled connections on Node (plain TCP and Unix sockets) and on Deno
   * read this way (no buffer made per read); absent or `false` everywhere
   * else.
   */
  readonly borrowedReads?: boolean;
  /**
   * Sets the callbacks and begins reading (unless `pause()` was called
   * first). Throws `TypeError` when called twice. A connection that closed
   * before `start()` reports `close()` right after it.
   */
  start(events: ConnEvents): void;
  /**
   * Stops `data()` and `end()` calls until `resume()`; the transport then
   * stops reading, so the peer sees TCP backpressure. Bytes already read are
   * kept and delivered, in order, after `resume()`. Idempotent.
   */
  pause(): void;
  /** Restarts reading after `pause()`. Idempotent; a no-op after `close()`. */
  resume(): void;
  /**
   * Queues bytes to send, in order, and returns `true` while the queue is below
   * the high-water mark. `false` means stop writing until `drain()` (the chunk
   * is queued all the same). The transport keeps a reference to the chunk until
   * it is sent: do not change it afterwards. After `end()` or `destroy()`, or
   * once the connection closed, the chunk is dropped and `false` is returned
   * (no throw, no error: `close()` is or will be reported).
   */
  write(chunk: Uint8Array): boolean;
  /**
   * Queues a Latin-1 string as bytes (each character one byte, so every
   * character must be below U+0100): the same as `write()` of those bytes,
   * with the same return value. A transport may hand the string to the OS
   * without making a byte array in JavaScript first (Node does), which is
   * why the engine writes small ASCII answers this way.
   */
  writeLatin1(text: string): boolean;
  /** Bytes queued by `write()` and not yet handed to the OS. */
  readonly bufferedAmount: number;
  /**
   * Sends everything queued, then closes our side (FIN). Reading goes on: the
   * peer's remaining bytes and its EOF still arrive as `data()` and `end()`,
   * and `close()` follows once the peer has ended too. A peer that neither
   * reads nor closes keeps the connection open: bound it with a timer and
   * `destroy()`. Idempotent.
   */
  end(): void;
  /**
   * Closes now in both directions and drops what is queued; `close()` follows
   * with `error` (or `null`). Idempotent; a no-op after `close()`.
   */
  destroy(error?: Error): void;
  /** Turns Nagle's algorithm off (`true`) or on. A no-op where it does not apply (Unix sockets). */
  setNoDelay(noDelay: boolean): void;
}

/**
 * Where and how to listen. Exactly one of: `hostname`/`port` (TCP, the
 * default), `path` (a Unix domain socket) or `fd` (adopt a socket that is
 * already bound and listening, e.g. from systemd). `tls` applies to all three.
 * Contradicting or malformed options reject with `TypeError` or
 * `RangeError`; options the runtime cannot honour reject with {@linkcode ListenError} `SLUICE_ERR_LISTEN_UNSUPPORTED`, never
 * silently ignored.
 *
 * @example A TCP listener on a random loopback port
 * ```ts
 * import type { ListenOptions } from "@sluice/http/adapters/node";
 *
 * const options: ListenOptions = { hostname: "127.0.0.1", port: 0, backlog: 511 };
 * ```
 */
export interface ListenOptions {
  /** Interface to bind; a name is resolved. Default `"0.0.0.0"` (all IPv4 interfaces). */
  hostname?: string;
  /** TCP port; `0` (the default) picks a free one, reported in `Listener.address`. */
  port?: number;
  /**
   * Unix domain socket path. A socket file left behind by a dead process is
   * removed first (only when nothing accepts on it); any other file there makes
   * listen fail with `EADDRINUSE` and is never deleted. The file is removed
   * when the listener closes.
   */
  path?: string;
  /** Length of the kernel's queue of connections not yet accepted. Default: the runtime's (511 on Node). */
  backlog?: number;
  /** Lets several processes listen on the same TCP port, the kernel spreading connections (`SO_REUSEPORT`). */
  reusePort?: boolean;
  /** Serve TLS with this certificate and key (PEM). */
  tls?: ListenTlsOptions;
  /** A file descriptor of a socket that is already bound and listening. */
  fd?: number;
}

/**
 * TLS settings of a listener. PEM text or bytes.
 *
 * @example
 * ```ts
 * import type { ListenTlsOptions } from "@sluice/http/adapters/node";
 *
 * const tls: ListenTlsOptions = { cert: "-----BEGIN CERTIFICATE-----…", key: "…", alpnProtocols: ["http/1.1"] };
 * ```
 */
export interface ListenTlsOptions {
  /** Certificate chain, leaf first. */
  cert: string | Uint8Array;
  /** Private key of the leaf certificate. */
  key: string | Uint8Array;
  /** Certificate authorities that client certificates are verified against (with `requestCert`). */
  ca?: string | Uint8Array;
  /** Protocols offered through ALPN, most preferred first (e.g. `["h2", "http/1.1"]`). */
  alpnProtocols?: string[];
  /**
   * Ask clients for a certificate and verify it against `ca`. The handshake
   * goes on without one or with a bad one: `TlsInfo.authorized` says which,
   * and the application decides.
   */
  requestCert?: boolean;
}

/**
 * A listening socket.
 *
 * @example Stop accepting and wait for the socket to close
 * ```ts
 * import type { Listener } from "@sluice/http/adapters/node";
 *
 * async function stop(listener: Listener): Promise<void> {
 *   await listener.close();
 * }
 * ```
 */
export interface Listener {
  /** Where it listens, with the real port when `port: 0` was asked for. */
  readonly address: Address;
  /**
   * Stops accepting: new connection attempts are refused once it resolves.
   * Accepted connections are untouched (the engine closes them itself).
   * Resolves when the listening socket is closed; idempotent.
   */
  close(): Promise<void>;
}

/**
 * A runtime's way to listen.
 *
 * @example Echo every connection
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
 * assert.equal(listener.address.transport, "tcp");
 * await listener.close();
 * ```
 */
export interface ServerTransport {
  /**
   * Starts listening. `onConn` gets each accepted connection (after its TLS
   * handshake), not yet reading; it must not throw. `onError` gets errors that
   * belong to no connection (a failed accept such as `EMFILE`, a failed TLS
   * handshake); the listener keeps going. Without it they are dropped.
   * Rejects with {@linkcode ListenError} when the socket cannot listen.
   */
  listen(
    options: ListenOptions,
    onConn: (conn: Conn) => void,
    onError?: (error: Error) => void,
  ): Promise<Listener>;
}

/** A stable code of {@linkcode ListenError}. */
export type ListenErrorCode = "SLUICE_ERR_LISTEN" | "SLUICE_ERR_LISTEN_UNSUPPORTED";

/**
 * A listener could not be set up. `SLUICE_ERR_LISTEN`: the OS refused (the
 * reason in `syscallCode`: `EADDRINUSE`, `EACCES`, …). Code
 * `SLUICE_ERR_LISTEN_UNSUPPORTED`: the runtime cannot do what the options ask
 * (e.g. `reusePort` on Node before 22.12). The message names the address.
 *
 * @example Tell a busy port from other failures
 * ```ts
 * import { ListenError, nodeTransport } from "@sluice/http/adapters/node";
 * import assert from "node:assert/strict";
 *
 * const first = await nodeTransport.listen({ hostname: "127.0.0.1", port: 0 }, (c) => c.destroy());
 * const port = first.address.transport === "tcp" ? first.address.port : 0;
 * try {
 *   await nodeTransport.listen({ hostname: "127.0.0.1", port }, (c) => c.destroy());
 *   assert.fail("expected EADDRINUSE");
 * } catch (err) {
 *   assert.ok(err instanceof ListenError);
 *   assert.equal(err.code, "SLUICE_ERR_LISTEN");
 *   assert.equal(err.syscallCode, "EADDRINUSE");
 * } finally {
 *   await first.close();
 * }
 * ```
 */
export class ListenError extends SluiceError {
  /** Stable machine-readable code, one of {@linkcode ListenErrorCode}. */
  override readonly code: ListenErrorCode;
  /** The OS error code (`"EADDRINUSE"`, `"EACCES"`, …), or `null` when none applies. */
  readonly syscallCode: string | null;
  /** The address asked for, as text: `127.0.0.1:8080`, `[::1]:80`, `unix:/run/app.sock`, `fd 3`. */
  readonly address: string;

  /**
   * Creates a listen error.
   *
   * @param code One of the stable listen error codes.
   * @param message "Cannot listen on <address>: reason".
   * @param details The address as text, the OS code and the underlying error.
   */
  constructor(
    code: ListenErrorCode,
    message: string,
    details: { address: string; syscallCode?: string | null; cause?: unknown },
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.address = details.address;
    this.syscallCode = details.syscallCode ?? null;
  }
}
