/**
 * The connection a handler takes over after `Upgrade` or `CONNECT`: the same
 * transport connection, whose events the engine forwards to the new owner
 * once it calls `start()`.
 *
 * @module
 */

import type { Address, Conn, ConnEvents, TlsInfo } from "../../adapters/transport.ts";

const IDLE_EVENTS: ConnEvents = { data() {}, end() {}, drain() {}, close() {} };

/** A {@linkcode Conn} handed from the engine to a takeover callback. */
export class TakenConn implements Conn {
  readonly #conn: Conn;
  #started = false;
  #paused = false;
  /** Where the engine forwards the transport's events. */
  events: ConnEvents = IDLE_EVENTS;
  #pending: Array<(events: ConnEvents) => void> = [];

  constructor(conn: Conn) {
    this.#conn = conn;
    // Until start(), hold end/close (data cannot come: the connection is paused).
    this.events = {
      data: (chunk) => this.#pending.push((e) => e.data(chunk)),
      end: () => this.#pending.push((e) => e.end()),
      drain: () => {},
      close: (error) => this.#pending.push((e) => e.close(error)),
    };
  }

  get localAddress(): Address {
    return this.#conn.localAddress;
  }
  get remoteAddress(): Address {
    return this.#conn.remoteAddress;
  }
  get tls(): TlsInfo | null {
    return this.#conn.tls;
  }
  get bufferedAmount(): number {
    return this.#conn.bufferedAmount;
  }

  start(events: ConnEvents): void {
    if (this.#started) throw new TypeError("Cannot start a connection twice");
    this.#started = true;
    const pending = this.#pending;
    this.#pending = [];
    this.events = events;
    if (pending.length > 0) {
      queueMicrotask(() => {
        for (const deliver of pending) deliver(events);
      });
    }
    if (!this.#paused) this.#conn.resume();
  }
  pause(): void {
    this.#paused = true;
    this.#conn.pause();
  }
  resume(): void {
    this.#paused = false;
    if (this.#started) this.#conn.resume();
  }
  writeLatin1(text: string): boolean {
    return this.#conn.writeLatin1(text);
  }

  write(chunk: Uint8Array): boolean {
    return this.#conn.write(chunk);
  }
  end(): void {
    this.#conn.end();
  }
  destroy(error?: Error): void {
    this.#conn.destroy(error);
  }
  setNoDelay(noDelay: boolean): void {
    this.#conn.setNoDelay(noDelay);
  }
}
