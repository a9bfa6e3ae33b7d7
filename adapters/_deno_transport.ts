/**
 * The transport of {@linkcode ./transport.ts} over Deno's own sockets:
 * `Deno.listen` (TCP and Unix domain sockets) and `Deno.listenTls`.
 *
 * Reading is pull-based in Deno, so each connection runs one read loop that
 * pushes chunks to `data()` and issues no read while paused: the kernel's
 * receive window fills and the peer sees TCP backpressure. Writes go through a
 * queue drained by one write loop. That is one Promise per read or write
 * syscall, none per parser event.
 *
 * Where Deno cannot meet the contract, `listen()` refuses with
 * `SLUICE_ERR_LISTEN_UNSUPPORTED` rather than ignore an option (the tests pin
 * each case; `nodeTransport` over Deno's `node:net` can do all of them):
 *
 * - `fd`: Deno cannot adopt a listening socket from a file descriptor.
 * - `tls.requestCert`: `Deno.listenTls` cannot ask for client certificates.
 * - `tls` with `path`: `Deno.listenTls` serves TCP only.
 * - `backlog` with `path`: Deno's Unix listener takes no backlog.
 * - `reusePort`: Deno has it only behind `--unstable-net` (without the flag
 *   the option ends the process), and only on Linux (elsewhere it is ignored).
 *
 * And where it reports less: {@linkcode TlsInfo} has `protocol` and
 * `servername` `null` (`Deno.TlsConn.handshake()` gives the ALPN protocol
 * only) and `authorized` always `false`; `setNoDelay()` is a no-op on TLS
 * connections (`Deno.TlsConn` has no such method).
 *
 * @module
 */

import {
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

/**
 * The read buffer of a connection: Deno holds it for as long as a read is
 * pending, so an idle keep-alive connection costs this much. It grows fourfold
 * (up to the maximum) when a read fills it, and falls back after a short read.
 */
const READ_SIZE_MIN = 4 * 1024;
const READ_SIZE_MAX = 64 * 1024;
/** `write()` returns `false` once this many bytes are queued (Node's default for sockets). */
const HIGH_WATER_MARK = 64 * 1024;
/** Queued chunks are joined into one write up to this size (no `writev` in Deno). */
const COALESCE_MAX = 64 * 1024;
/** A TLS client that has not finished its handshake by then is dropped (Node's default). */
const HANDSHAKE_TIMEOUT_MS = 120_000;
/** Pause after a failed accept (`EMFILE`, …) so that the loop does not spin. */
const ACCEPT_RETRY_MS = 50;

function toAddress(addr: Deno.Addr): Address {
  if (addr.transport === "tcp" || addr.transport === "udp") {
    const { hostname, port } = addr;
    return { transport: "tcp", hostname, port, family: hostname.includes(":") ? "IPv6" : "IPv4" };
  }
  if (addr.transport === "unix" || addr.transport === "unixpacket") {
    // Deno says `null` for an unnamed peer.
    return { transport: "unix", path: addr.path ?? "" };
  }
  return { transport: "unix", path: "" };
}

/** A `Deno.Conn` behind the {@linkcode Conn} contract. */
export class DenoConn implements Conn {
  readonly localAddress: Address;
  readonly remoteAddress: Address;
  readonly tls: TlsInfo | null;
  /** Whether `data()` chunks are views of the reused read buffer. */
  readonly borrowedReads: boolean;
  #conn: Deno.Conn;
  #events: ConnEvents | null = null;
  #error: Error | null = null;
  // Read side.
  #buffer: Uint8Array | null = null;
  #paused = false;
  /** The read loop runs (or is scheduled); at most one at a time. */
  #reading = false;
  /** A chunk read while paused, delivered first after `resume()`. */
  #held: Uint8Array | null = null;
  /** The peer's EOF was read. */
  #eof = false;
  #endReported = false;
  // Write side.
  #queue: Uint8Array[] = [];
  #head = 0;
  #buffered = 0;
  #writing = false;
  #needDrain = false;
  /** `end()` or `destroy()` was called, or the connection closed: writes are dropped. */
  #ending = false;
  /** Our FIN is sent. */
  #writeShut = false;
  #closed = false;
  readonly #runReadLoop = (): void => void this.#readLoop();

  /**
   * @param conn The Deno connection.
   * @param tls What its TLS handshake settled, or `null`.
   * @param borrowedReads Read into one reused buffer and hand out views of it
   *   (see {@linkcode Conn.borrowedReads}); dialled connections do.
   */
  constructor(conn: Deno.Conn, tls: TlsInfo | null, borrowedReads = false) {
    this.#conn = conn;
    this.localAddress = toAddress(conn.localAddr);
    this.remoteAddress = toAddress(conn.remoteAddr);
    this.tls = tls;
    this.borrowedReads = borrowedReads;
  }

  start(events: ConnEvents): void {
    if (this.#events !== null) throw new TypeError("Cannot start a connection twice");
    this.#events = events;
    if (this.#closed) {
      queueMicrotask(() => events.close(this.#error));
      return;
    }
    if (!this.#paused) this.#scheduleRead();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#events !== null && !this.#closed && !this.#reading) this.#scheduleRead();
  }

  writeLatin1(text: string): boolean {
    return this.write(latin1Bytes(text));
  }

  write(chunk: Uint8Array): boolean {
    if (this.#ending) return false;
    if (chunk.length > 0) {
      this.#queue.push(chunk);
      this.#buffered += chunk.length;
      if (!this.#writing) {
        this.#writing = true;
        // Runs up to its first `await` (the write itself): no callback from here.
        void this.#writeLoop();
      }
    }
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
    if (!this.#writing) void this.#shutdown();
  }

  destroy(error?: Error): void {
    if (this.#closed) return;
    if (error !== undefined) this.#error ??= error;
    this.#finish();
  }

  setNoDelay(noDelay: boolean): void {
    if (this.#closed) return;
    const conn = this.#conn as Partial<Deno.TcpConn>;
    if (typeof conn.setNoDelay === "function") conn.setNoDelay(noDelay);
  }

  /** Runs the read loop from a microtask, so that no callback comes from inside a method. */
  #scheduleRead(): void {
    this.#reading = true;
    queueMicrotask(this.#runReadLoop);
  }

  async #readLoop(): Promise<void> {
    const events = this.#events!;
    try {
      while (!this.#paused && !this.#closed) {
        const held = this.#held;
        if (held !== null) {
          this.#held = null;
          events.data(held);
          continue;
        }
        if (this.#eof) {
          this.#endReported = true;
          events.end();
          if (this.#writeShut) this.#finish();
          return;
        }
        const buffer = this.#buffer ??= new Uint8Array(READ_SIZE_MIN);
        const n = await this.#conn.read(buffer);
        if (this.#closed) return;
        if (n === null) this.#eof = true;
        else if (n > 0) {
          // Borrowed: a view, valid until the next read (which comes only after it is delivered).
          this.#held = this.borrowedReads ? buffer.subarray(0, n) : buffer.slice(0, n);
          if (n === buffer.length && n < READ_SIZE_MAX) {
            this.#buffer = new Uint8Array(n * 4);
          } else if (n < READ_SIZE_MIN && buffer.length > READ_SIZE_MIN) {
            this.#buffer = null;
          }
        }
      }
    } catch (error) {
      // A read error (ECONNRESET, …) or a callback that threw; after our own
      // close, the pending read fails with `Interrupted`: nothing to report.
      if (!this.#closed) {
        this.#error ??= asError(error);
        this.#finish();
      }
    } finally {
      this.#reading = false;
    }
  }

  /** The next chunk to write: the head of the queue, or several small ones joined. */
  #take(): Uint8Array {
    const queue = this.#queue;
    const first = queue[this.#head++];
    let size = first.length;
    let last = this.#head;
    while (last < queue.length && size + queue[last].length <= COALESCE_MAX) {
      size += queue[last++].length;
    }
    let chunk = first;
    if (last > this.#head) {
      chunk = new Uint8Array(size);
      chunk.set(first);
      let at = first.length;
      for (let i = this.#head; i < last; i++) {
        chunk.set(queue[i], at);
        at += queue[i].length;
      }
      this.#head = last;
    }
    if (this.#head === queue.length) {
      queue.length = 0;
      this.#head = 0;
    }
    return chunk;
  }

  async #writeLoop(): Promise<void> {
    try {
      while (this.#head < this.#queue.length) {
        let chunk = this.#take();
        while (chunk.length > 0) {
          const n = await this.#conn.write(chunk);
          if (this.#closed) return;
          this.#buffered -= n;
          chunk = chunk.subarray(n);
        }
      }
    } catch (error) {
      if (!this.#closed) {
        this.#error ??= asError(error);
        this.#finish();
      }
      return;
    } finally {
      this.#writing = false;
    }
    if (this.#closed) return;
    if (this.#ending) {
      // Like Node: no drain() once end() was called.
      void this.#shutdown();
    } else if (this.#needDrain) {
      this.#needDrain = false;
      if (this.#events === null) return;
      try {
        this.#events.drain();
      } catch (error) {
        this.destroy(asError(error));
      }
    }
  }

  /** Sends our FIN (everything queued is written by now). */
  async #shutdown(): Promise<void> {
    try {
      await this.#conn.closeWrite();
    } catch (error) {
      if (!this.#closed) {
        this.#error ??= asError(error);
        this.#finish();
      }
      return;
    }
    if (this.#closed) return;
    this.#writeShut = true;
    if (this.#endReported) this.#finish();
  }

  /** Releases the connection; `close()` is reported from a microtask (once `start()` was called). */
  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ending = true;
    this.#queue = [];
    this.#head = 0;
    this.#buffered = 0;
    this.#held = null;
    this.#buffer = null;
    try {
      this.#conn.close();
    } catch {
      // Already closed by Deno.
    }
    const events = this.#events;
    if (events !== null) queueMicrotask(() => events.close(this.#error));
  }
}

/** A `Deno.Listener` behind the {@linkcode Listener} contract. */
class DenoListener implements Listener {
  readonly address: Address;
  #listener: Deno.Listener;
  #socketFile: SocketFile | null;
  #closing: Promise<void> | null = null;
  /** Set by the accept loop: the accept in flight, so that close() can wait for it. */
  pending: Promise<unknown> | null = null;
  closed = false;

  constructor(listener: Deno.Listener, address: Address, socketFile: SocketFile | null) {
    this.#listener = listener;
    this.address = address;
    this.#socketFile = socketFile;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.closed = true;
      try {
        this.#listener.close();
      } catch {
        // Already closed.
      }
      // Deno releases the socket once the accept in flight has failed.
      await this.pending?.catch(() => {});
      // Deno unlinks the file itself; this covers a path it did not.
      await removeSocketFile(this.#socketFile);
    })();
    return this.#closing;
  }
}

/** Why Deno cannot listen as asked, or `null` when it can. */
function unsupported(options: ListenOptions): string | null {
  if (typeof Deno === "undefined") {
    return "denoTransport needs Deno (Deno.listen); use nodeTransport";
  }
  if (options.fd !== undefined) {
    return "Deno cannot adopt a listening socket from a file descriptor; use nodeTransport";
  }
  if (options.tls?.requestCert === true) {
    return "Deno.listenTls cannot request client certificates; use nodeTransport";
  }
  if (options.path !== undefined && options.tls !== undefined) {
    return "Deno.listenTls serves TCP only, not Unix sockets; use nodeTransport";
  }
  if (options.path !== undefined && options.backlog !== undefined) {
    return "Deno's Unix socket listener takes no backlog";
  }
  if (options.reusePort === true) {
    if (Deno.build.os !== "linux") {
      return `Deno ignores reusePort on ${Deno.build.os} (it has it on Linux only)`;
    }
    // Unstable APIs exist only when their flag is given; `listenDatagram` is one of --unstable-net.
    if (typeof (Deno as unknown as Record<string, unknown>).listenDatagram !== "function") {
      return "Deno has reusePort only with the --unstable-net flag";
    }
  }
  return null;
}

function toListenError(error: unknown, where: string): ListenError {
  // Deno's resolver error carries no code.
  const code = errorCode(error) ??
    (/failed to lookup address/i.test(asError(error).message) ? "ENOTFOUND" : null);
  return listenFailure(error, where, code);
}

function pemText(value: string | Uint8Array): string {
  return typeof value === "string" ? value : new TextDecoder().decode(value);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Completes a TLS handshake within {@linkcode HANDSHAKE_TIMEOUT_MS}; hands the connection over or reports why not. */
async function handshake(
  conn: Deno.TlsConn,
  onConn: (conn: Conn) => void,
  onError: ((error: Error) => void) | undefined,
): Promise<void> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, HANDSHAKE_TIMEOUT_MS);
  let alpnProtocol: string | null;
  try {
    ({ alpnProtocol } = await conn.handshake());
  } catch (error) {
    try {
      conn.close();
    } catch {
      // Closed by the timer.
    }
    onError?.(
      timedOut
        ? new Error(`TLS handshake timed out after ${HANDSHAKE_TIMEOUT_MS} ms`, { cause: error })
        : asError(error),
    );
    return;
  } finally {
    clearTimeout(timer);
  }
  const tls: TlsInfo = { protocol: null, alpnProtocol, servername: null, authorized: false };
  onConn(new DenoConn(conn, tls));
}

async function acceptLoop(
  handle: DenoListener,
  listener: Deno.Listener,
  secure: boolean,
  onConn: (conn: Conn) => void,
  onError: ((error: Error) => void) | undefined,
): Promise<void> {
  while (!handle.closed) {
    let conn: Deno.Conn;
    try {
      const pending = listener.accept();
      handle.pending = pending;
      conn = await pending;
    } catch (error) {
      if (handle.closed || error instanceof Deno.errors.BadResource) return;
      onError?.(asError(error));
      await sleep(ACCEPT_RETRY_MS);
      continue;
    }
    if (secure) void handshake(conn as Deno.TlsConn, onConn, onError);
    else onConn(new DenoConn(conn, null));
  }
}

/**
 * {@linkcode ServerTransport} over `Deno.listen` and `Deno.listenTls`. Use the
 * shared instance {@linkcode denoTransport}; the class exists for `instanceof`
 * and for subclasses in tests.
 *
 * Accepted connections read nothing before `start()`; TLS connections are
 * handed over after their handshake. See the module documentation for the
 * options Deno cannot honour.
 *
 * @example Listen on a Unix socket
 * ```ts
 * import { DenoTransport } from "@sluice/http/adapters/deno";
 * import assert from "node:assert/strict";
 *
 * const path = `${Deno.makeTempDirSync()}/app.sock`;
 * const listener = await new DenoTransport().listen({ path }, (conn) => conn.destroy());
 * assert.deepEqual(listener.address, { transport: "unix", path });
 * await listener.close();
 * ```
 */
export class DenoTransport implements ServerTransport {
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
    const refusal = unsupported(options);
    if (refusal !== null) throw listenUnsupported(where, refusal);
    const { path, tls } = options;
    if (path !== undefined && !path.startsWith("\0")) await removeStaleSocket(path, where);

    let listener: Deno.Listener;
    try {
      if (path !== undefined) {
        listener = Deno.listen({ transport: "unix", path });
      } else {
        const tcp: Deno.TcpListenOptions & { reusePort?: boolean } = {
          hostname: options.hostname ?? "0.0.0.0",
          port: options.port ?? 0,
          ...(options.backlog === undefined ? {} : { tcpBacklog: options.backlog }),
          ...(options.reusePort === true ? { reusePort: true } : {}),
        };
        listener = tls === undefined ? Deno.listen(tcp) : Deno.listenTls({
          ...tcp,
          cert: pemText(tls.cert),
          key: pemText(tls.key),
          ...(tls.alpnProtocols === undefined ? {} : { alpnProtocols: tls.alpnProtocols }),
        });
      }
    } catch (error) {
      throw toListenError(error, where);
    }

    const socketFile = path === undefined ? null : await socketFileAt(path);
    const handle = new DenoListener(listener, toAddress(listener.addr), socketFile);
    void acceptLoop(handle, listener, tls !== undefined, onConn, onError);
    return handle;
  }
}

/**
 * The {@linkcode ServerTransport} of Deno's own sockets (`Deno.listen`,
 * `Deno.listenTls`).
 *
 * @example Serve one answer per connection
 * ```ts
 * import { denoTransport } from "@sluice/http/adapters/deno";
 * import assert from "node:assert/strict";
 *
 * const listener = await denoTransport.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => {
 *   conn.start({ data() {}, end: () => conn.end(), drain() {}, close() {} });
 *   conn.write(new TextEncoder().encode("hi"));
 *   conn.end();
 * });
 * const port = listener.address.transport === "tcp" ? listener.address.port : 0;
 * const client = await Deno.connect({ hostname: "127.0.0.1", port });
 * const reply = await new Response(client.readable).text();
 * assert.equal(reply, "hi");
 * await listener.close();
 * ```
 */
export const denoTransport: DenoTransport = new DenoTransport();
