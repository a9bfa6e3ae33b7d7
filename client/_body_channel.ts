/**
 * {@linkcode BodyChannel}: a response body between the connection (which
 * pushes chunks as they are parsed) and its reader, with backpressure. It is
 * what a `ReadableStream` would be, without the cost of one (about 9 µs to
 * make on Node): the stream is only made when someone asks for `body`, and
 * `text()`/`json()`/`bytes()` read the chunks directly. A read into the
 * caller's buffer (`readInto`, what a BYOB reader does) that is waiting when
 * bytes arrive gets them copied straight from the socket's buffer.
 *
 * @module
 */

import { byteStream } from "../util/byte_stream.ts";

/** How many emptied copies a channel keeps for reuse. */
const SPARES_MAX = 4;

const DONE: ReadableStreamReadDoneResult<Uint8Array> = Object.freeze({
  done: true,
  value: undefined,
});

/** What the channel tells its connection. */
export interface BodyChannelHooks {
  /** The buffered bytes fell below the high-water mark: read from the socket again. */
  resume(): void;
  /** The reader gave the body up (`cancel`): drop or close. */
  cancel(reason: unknown): void;
}

/**
 * The body of one response.
 *
 * @example
 * ```ts ignore
 * const channel = new BodyChannel(hooks, 64 * 1024);
 * if (!channel.push(chunk)) conn.pause();
 * channel.close();
 * ```
 */
export class BodyChannel {
  readonly #hooks: BodyChannelHooks;
  readonly #highWater: number;
  #chunks: Uint8Array[] = [];
  /** Whether the chunks are the channel's own copies (its connection lends its reads). */
  #copies = false;
  #head = 0;
  /** How much of the head chunk a `readInto` already took. */
  #offset = 0;
  #size = 0;
  /** 0 open, 1 closed (the end was pushed), 2 errored, 3 cancelled by the reader. */
  #state = 0;
  #error: unknown = null;
  #paused = false;
  #waiter: {
    resolve: (result: ReadableStreamReadResult<Uint8Array>) => void;
    reject: (error: unknown) => void;
  } | null = null;
  /** A pending `readInto`: the caller's bytes to fill. */
  #intoWaiter: {
    view: Uint8Array;
    resolve: (count: number) => void;
    reject: (error: unknown) => void;
  } | null = null;
  #stream: ReadableStream<Uint8Array> | null = null;
  /**
   * Buffers of copies that `readInto` emptied (they never left the
   * channel), reused for the next copies: a BYOB reader that is a little
   * behind the socket costs no buffer per chunk.
   */
  #spares: ArrayBuffer[] | null = null;

  /**
   * @param hooks How to resume the socket and give the body up.
   * @param highWater Buffered bytes above which `push` asks to pause.
   */
  constructor(hooks: BodyChannelHooks, highWater: number) {
    this.#hooks = hooks;
    this.#highWater = highWater;
  }

  /** Whether the whole body is here (the end was pushed) and not given up. */
  get complete(): boolean {
    return this.#state === 1;
  }

  /** Whether the producer may still push (not closed, errored or cancelled). */
  get open(): boolean {
    return this.#state === 0;
  }

  // ---- producer side (the connection) ----

  /**
   * Adds a chunk.
   *
   * @param chunk The bytes.
   * @param borrowed Whether `chunk` is only valid during this call (a reused
   *   read buffer): what the channel keeps is copied.
   * @returns `false` when the socket should pause (the buffer is full).
   */
  push(chunk: Uint8Array, borrowed = false): boolean {
    if (this.#state !== 0 || chunk.length === 0) return true;
    if (this.#size === 0) {
      const waiter = this.#waiter;
      if (waiter !== null) {
        this.#waiter = null;
        waiter.resolve({ done: false, value: borrowed ? chunk.slice() : chunk });
        return true;
      }
      const into = this.#intoWaiter;
      if (into !== null) {
        this.#intoWaiter = null;
        const n = Math.min(into.view.length, chunk.length);
        into.view.set(n === chunk.length ? chunk : chunk.subarray(0, n));
        into.resolve(n);
        if (n === chunk.length) return true;
        chunk = chunk.subarray(n);
      }
    }
    if (borrowed) chunk = this.#copy(chunk);
    this.#chunks.push(chunk);
    this.#copies = borrowed;
    this.#size += chunk.length;
    if (this.#size >= this.#highWater) {
      this.#paused = true;
      return false;
    }
    return true;
  }

  /** The body ended. */
  close(): void {
    if (this.#state !== 0) return;
    this.#state = 1;
    if (this.#size === 0) this.#settleWaiters(null);
  }

  /**
   * The body failed: the next read rejects (after nothing: buffered chunks are dropped).
   *
   * @param error The reason.
   */
  error(error: unknown): void {
    if (this.#state !== 0) return;
    this.#state = 2;
    this.#error = error;
    this.#drop();
    this.#settleWaiters(error);
  }

  // ---- consumer side ----

  /**
   * The next chunk, or the end.
   *
   * @returns The read result; rejects when the body failed.
   */
  read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    if (this.#size > 0) {
      let chunk = this.#chunks[this.#head];
      if (this.#offset > 0) {
        chunk = chunk.subarray(this.#offset);
        this.#offset = 0;
      }
      this.#shift();
      this.#size -= chunk.length;
      this.#resumeBelowHighWater();
      return Promise.resolve({ done: false, value: chunk });
    }
    const ended = this.#ended();
    if (ended !== null) return ended.then(() => DONE);
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  /**
   * Copies the next bytes into `view` (what is buffered, else the next
   * chunk to arrive, straight from the socket's buffer).
   *
   * @param view Where to put them (not empty).
   * @returns The number of bytes copied, 0 at the end; rejects when the body failed.
   */
  readInto(view: Uint8Array): Promise<number> {
    if (this.#size > 0) {
      let n = 0;
      while (n < view.length && this.#size > 0) {
        const chunk = this.#chunks[this.#head];
        const start = this.#offset;
        const take = Math.min(chunk.length - start, view.length - n);
        view.set(chunk.subarray(start, start + take), n);
        n += take;
        this.#size -= take;
        if (start + take === chunk.length) {
          this.#offset = 0;
          if (this.#copies) this.#recycle(chunk.buffer as ArrayBuffer);
          this.#shift();
        } else this.#offset = start + take;
      }
      this.#resumeBelowHighWater();
      return Promise.resolve(n);
    }
    const ended = this.#ended();
    if (ended !== null) return ended.then(() => 0);
    return new Promise((resolve, reject) => (this.#intoWaiter = { view, resolve, reject }));
  }

  /**
   * With nothing buffered: how a read ends now (resolves at the end, rejects
   * when failed, cancelled or another read is pending), or `null` when it
   * must wait (the socket resumed if it was paused).
   */
  #ended(): Promise<void> | null {
    switch (this.#state) {
      case 1:
        return Promise.resolve();
      case 2:
        return Promise.reject(this.#error);
      case 3:
        return Promise.reject(new TypeError("Cannot read response body: cancelled"));
    }
    if (this.#waiter !== null || this.#intoWaiter !== null) {
      return Promise.reject(new TypeError("Cannot read response body: a read is pending"));
    }
    if (this.#paused) {
      this.#paused = false;
      this.#hooks.resume();
    }
    return null;
  }

  /** Drops the head chunk (read whole). */
  #shift(): void {
    this.#chunks[this.#head++] = undefined as unknown as Uint8Array;
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    }
  }

  /** A copy of a borrowed chunk, in a spare buffer when one is large enough. */
  #copy(chunk: Uint8Array): Uint8Array {
    const spares = this.#spares;
    const spare = spares?.pop();
    if (spare === undefined) return chunk.slice();
    if (spare.byteLength < chunk.length) {
      spares!.push(spare);
      return chunk.slice();
    }
    const copy = new Uint8Array(spare, 0, chunk.length);
    copy.set(chunk);
    return copy;
  }

  /** Keeps `buffer` for a next copy (up to {@linkcode SPARES_MAX}, the larger ones last). */
  #recycle(buffer: ArrayBuffer): void {
    const spares = this.#spares ??= [];
    if (spares.length === SPARES_MAX) {
      if (spares[0].byteLength >= buffer.byteLength) return;
      spares.shift();
    }
    // Sorted by size: the largest is popped first.
    let at = spares.length;
    while (at > 0 && spares[at - 1].byteLength > buffer.byteLength) at--;
    spares.splice(at, 0, buffer);
  }

  #resumeBelowHighWater(): void {
    if (this.#paused && this.#size < this.#highWater && this.#state === 0) {
      this.#paused = false;
      this.#hooks.resume();
    }
  }

  /** Forgets every buffered chunk. */
  #drop(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#offset = 0;
    this.#size = 0;
  }

  /** Ends the pending read: the end (`error` null) or a failure. */
  #settleWaiters(error: unknown): void {
    const waiter = this.#waiter;
    const into = this.#intoWaiter;
    this.#waiter = null;
    this.#intoWaiter = null;
    if (error === null) {
      waiter?.resolve(DONE);
      into?.resolve(0);
    } else {
      waiter?.reject(error);
      into?.reject(error);
    }
  }

  /**
   * The whole body, when it is already here: the buffered chunks, taken.
   *
   * @returns The chunks, or `null` when the body is not complete.
   */
  takeAll(): Uint8Array[] | null {
    if (this.#state !== 1) return null;
    const chunks = this.#head === 0 ? this.#chunks : this.#chunks.slice(this.#head);
    if (this.#offset > 0) chunks[0] = chunks[0].subarray(this.#offset);
    this.#drop();
    return chunks;
  }

  /**
   * Gives the body up: buffered chunks are dropped, the connection is told.
   *
   * @param reason Why.
   */
  cancel(reason?: unknown): void {
    const state = this.#state;
    if (state === 2 || state === 3) return;
    this.#state = 3;
    this.#drop();
    this.#settleWaiters(null);
    if (state === 0) this.#hooks.cancel(reason);
  }

  /**
   * The body as a stream (made on the first call; the same one after).
   *
   * @returns A byte stream over this channel (BYOB readers welcome).
   */
  stream(): ReadableStream<Uint8Array> {
    this.#stream ??= byteStream({
      read: () => this.read(),
      readInto: (view) => this.readInto(view),
      cancel: (reason) => this.cancel(reason),
    });
    return this.#stream;
  }
}
