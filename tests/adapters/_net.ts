// Shared pieces of the transport tests: bounded waits, a recorder of
// ConnEvents, a queue of accepted connections and plain node:net clients.

import { connect, type Socket } from "node:net";
import process from "node:process";
import type { Conn, ConnEvents, Listener } from "../../adapters/node.ts";

/** Resolves with `promise`, or rejects after `ms` naming `what`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 5 ms until it holds, for at most `ms`. */
export async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms: ${what}`);
    await sleep(5);
  }
}

/** `size` bytes whose value depends on the position, so loss or reordering shows. */
export function pattern(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i ^ (i >>> 8) ^ (i >>> 16)) & 255;
  return out;
}

/** Joins chunks into one array. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Whether two byte arrays are equal (without a multi-megabyte assertion diff). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);

/**
 * ConnEvents that record everything and check the contract's order: no
 * `data()` after `end()`, nothing after `close()`, `close()` exactly once.
 */
export class Recorder implements ConnEvents {
  readonly chunks: Uint8Array[] = [];
  bytes = 0;
  ended = false;
  drains = 0;
  closes = 0;
  error: Error | null = null;
  readonly violations: string[] = [];
  /** Set while a method of a {@linkcode watched} connection runs. */
  inside = 0;
  /** Resolves with the error given to close(). */
  readonly closed: Promise<Error | null>;
  #resolveClosed!: (error: Error | null) => void;
  /** Called after each chunk is recorded. */
  onData: ((chunk: Uint8Array) => void) | null = null;
  onEnd: (() => void) | null = null;
  onDrain: (() => void) | null = null;

  constructor() {
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  data(chunk: Uint8Array): void {
    if (this.inside > 0) this.violations.push("data() called from inside a Conn method");
    if (this.closes > 0) this.violations.push("data() after close()");
    if (this.ended) this.violations.push("data() after end()");
    if (chunk.length === 0) this.violations.push("empty chunk");
    // A copy: client connections on Node lend their read buffer (`Conn.borrowedReads`).
    this.chunks.push(new Uint8Array(chunk));
    this.bytes += chunk.length;
    this.onData?.(chunk);
  }

  end(): void {
    if (this.inside > 0) this.violations.push("end() called from inside a Conn method");
    if (this.closes > 0) this.violations.push("end() after close()");
    if (this.ended) this.violations.push("end() twice");
    this.ended = true;
    this.onEnd?.();
  }

  drain(): void {
    if (this.inside > 0) this.violations.push("drain() called from inside a Conn method");
    if (this.closes > 0) this.violations.push("drain() after close()");
    this.drains++;
    this.onDrain?.();
  }

  close(error: Error | null): void {
    if (this.inside > 0) this.violations.push("close() called from inside a Conn method");
    this.closes++;
    if (this.closes > 1) this.violations.push("close() twice");
    this.error = error;
    this.#resolveClosed(error);
  }

  /** Everything received, joined. */
  received(): Uint8Array {
    return concat(this.chunks);
  }
}

/**
 * `conn` with every method call marked on `rec`, so that a callback the
 * transport makes from inside one of its own methods is caught.
 */
export function watched(conn: Conn, rec: Recorder): Conn {
  return new Proxy(conn, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        rec.inside++;
        try {
          return value.apply(target, args);
        } finally {
          rec.inside--;
        }
      };
    },
  });
}

/** Accepted connections, in order, to be awaited one at a time. */
export class ConnQueue {
  readonly #ready: Conn[] = [];
  readonly #waiting: ((conn: Conn) => void)[] = [];
  readonly all: Conn[] = [];

  /** The `onConn` callback to give to `listen()`. */
  readonly push = (conn: Conn): void => {
    this.all.push(conn);
    const waiter = this.#waiting.shift();
    if (waiter) waiter(conn);
    else this.#ready.push(conn);
  };

  /** The next accepted connection (within 5 s). */
  next(): Promise<Conn> {
    const ready = this.#ready.shift();
    if (ready) return Promise.resolve(ready);
    return within(
      new Promise<Conn>((resolve) => this.#waiting.push(resolve)),
      5000,
      "a connection to be accepted",
    );
  }
}

/** The TCP port of a listener. */
export function portOf(listener: Listener): number {
  if (listener.address.transport !== "tcp") throw new Error("not a TCP listener");
  return listener.address.port;
}

/**
 * Opens a client socket (TCP port or Unix path) and waits until it is
 * connected. `allowHalfOpen` keeps it writable after the server's FIN.
 */
export function dial(
  to: number | string,
  host = "127.0.0.1",
  allowHalfOpen = false,
): Promise<Socket> {
  const socket = typeof to === "number"
    ? connect({ port: to, host, allowHalfOpen })
    : connect({ path: to, allowHalfOpen });
  return within(
    new Promise<Socket>((resolve, reject) => {
      socket.once("connect", () => resolve(socket));
      socket.once("error", reject);
    }),
    5000,
    `connect to ${to}`,
  );
}

/** Every byte a client socket receives until the peer ends, then the socket is ended. */
export function readToEnd(socket: Socket, ms = 10_000): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  socket.on("data", (chunk: Uint8Array) => chunks.push(chunk));
  return within(
    new Promise<Uint8Array>((resolve, reject) => {
      socket.once("end", () => {
        socket.end();
        resolve(concat(chunks));
      });
      socket.once("error", reject);
    }),
    ms,
    "the peer to end",
  );
}

/** Resolves once a client socket is closed. */
export function socketClosed(socket: Socket, ms = 5000): Promise<void> {
  if (socket.destroyed && socket.closed) return Promise.resolve();
  return within(new Promise((resolve) => socket.once("close", () => resolve())), ms, "close");
}

/** Bytes a client receives until the server ends or the connection closes or breaks. */
export function countUntilClosed(socket: Socket, ms: number): Promise<number> {
  let count = 0;
  socket.on("data", (chunk: Uint8Array) => (count += chunk.length));
  socket.on("end", () => socket.end());
  socket.on("error", () => {});
  return within(new Promise((resolve) => socket.once("close", () => resolve(count))), ms, "close");
}

/** Starts an echo on `conn`: every chunk is written back, the peer's EOF ends our side. */
export function echo(raw: Conn): Recorder {
  const rec = new Recorder();
  const conn = watched(raw, rec);
  rec.onData = (chunk) => conn.write(chunk);
  rec.onEnd = () => conn.end();
  conn.start(rec);
  return rec;
}

/** The runtime the tests run on. */
export const runtime: "deno" | "bun" | "node" = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

/** The runtime and its version, for test names: `deno 2.5.0`, `bun 1.3.0`, `node v24.1.0`. */
export const runtimeLabel: string = (() => {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  return `node ${process.version}`;
})();
