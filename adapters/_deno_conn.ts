/**
 * A `Deno.Conn` (TCP, TLS or Unix) behind the {@linkcode Conn} contract: the
 * connections of `denoTransport` and of the client's Deno connector.
 *
 * Reading is pull-based in Deno, so each connection runs one read loop that
 * pushes chunks to `data()` and issues no read while paused: the kernel's
 * receive window fills and the peer sees TCP backpressure. Writes go through a
 * queue drained by one write loop. That is one Promise per read or write
 * syscall, none per parser event.
 *
 * @module
 */

import { asError, latin1Bytes } from "./_listen.ts";
import type { Address, Conn, ConnEvents, TlsInfo } from "./transport.ts";

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
/** A Deno address as ours (an unnamed Unix peer has the path `""`). */
export function toAddress(addr: Deno.Addr): Address {
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
