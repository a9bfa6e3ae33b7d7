/**
 * A request body on its way from the parser to the handler: chunks queue here
 * (views of the socket's chunks, no copy), the handler pulls them as a
 * `ReadableStream` or collects them at once, and the connection is paused
 * while too much sits unread (a fast uploader cannot make us buffer without
 * bound).
 *
 * @module
 */

import { BodyError } from "../errors.ts";
import { byteStream } from "../../util/byte_stream.ts";

/** What the body needs from its connection. */
export interface BodyOwner {
  /** Stop reading the socket: the queue is full. */
  pauseForBody(): void;
  /** Reading may go on. */
  resumeForBody(): void;
  /** The handler started reading: send `100 Continue` if the client waits for it. */
  bodyWanted(): void;
  /** The handler gave the body up (cancelled its stream): drop the rest. */
  bodyAbandoned(): void;
}

/** Unread bytes above which the socket is paused. */
const HIGH_WATER_MARK = 64 * 1024;
const DONE: ReadableStreamReadDoneResult<Uint8Array> = Object.freeze({
  done: true,
  value: undefined,
});

type Waiter = {
  resolve: (chunk: Uint8Array | null) => void;
  reject: (error: unknown) => void;
};

/** One request's body. */
export class BodySource {
  readonly #owner: BodyOwner;
  readonly #limit: number;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #received = 0;
  #ended = false;
  #error: Error | null = null;
  #waiter: Waiter | null = null;
  #wanted = false;
  #discarding = false;
  #paused = false;
  #stream: ReadableStream<Uint8Array> | null = null;
  #used = false;
  /** When a read started waiting for bytes (ms), or 0: the connection's body timeout reads it. */
  waitingSince = 0;

  constructor(owner: BodyOwner, limit: number) {
    this.#owner = owner;
    this.#limit = limit;
  }

  /** Bytes received so far. */
  get received(): number {
    return this.#received;
  }

  /** Whether the whole body arrived (or the body failed). */
  get complete(): boolean {
    return this.#ended || this.#error !== null;
  }

  /** Whether the handler began reading. */
  get used(): boolean {
    return this.#used;
  }

  /** Whether the handler asked for any byte (so `100 Continue` went out, if it was expected). */
  get wanted(): boolean {
    return this.#wanted;
  }

  /** Whether the body failed (too large, timed out, aborted). */
  get failed(): Error | null {
    return this.#error;
  }

  /** Takes the next slice from the parser. Returns `false` once the body is over its limit. */
  push(chunk: Uint8Array): boolean {
    // Empty slices (a chunk's data split right at its end) carry nothing; a byte stream refuses them.
    if (chunk.length === 0) return true;
    this.#received += chunk.length;
    if (this.#received > this.#limit) {
      if (this.#error === null) {
        this.fail(
          new BodyError(
            "SLUICE_ERR_BODY_TOO_LARGE",
            `Cannot read request body: larger than the limit of ${this.#limit} bytes`,
          ),
        );
      }
      return false;
    }
    if (this.#discarding || this.#error !== null) return true;
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      this.waitingSince = 0;
      waiter.resolve(chunk);
      return true;
    }
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    if (this.#queued >= HIGH_WATER_MARK && !this.#paused) {
      this.#paused = true;
      this.#owner.pauseForBody();
    }
    return true;
  }

  /** The body ended. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const waiter = this.#waiter;
    if (waiter !== null && this.#queue.length === 0) {
      this.#waiter = null;
      this.waitingSince = 0;
      waiter.resolve(null);
    }
  }

  /** The body cannot complete: reads reject with `error` (bytes already queued are dropped). */
  fail(error: Error): void {
    if (this.#error !== null || this.#ended && this.#queue.length === 0) return;
    this.#error = error;
    this.#dropQueue();
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      this.waitingSince = 0;
      waiter.reject(error);
    }
  }

  /** Drops what is queued and what comes (the response is out and nobody will read). */
  discard(): void {
    this.#discarding = true;
    this.#dropQueue();
  }

  #dropQueue(): void {
    this.#queue = [];
    this.#queued = 0;
    if (this.#paused) {
      this.#paused = false;
      this.#owner.resumeForBody();
    }
  }

  /** The next chunk, or `null` at the end. */
  read(): Promise<Uint8Array | null> {
    if (!this.#wanted) {
      this.#wanted = true;
      if (!this.complete) this.#owner.bodyWanted();
    }
    if (this.#queue.length > 0) {
      const chunk = this.#queue.shift()!;
      this.#queued -= chunk.length;
      if (this.#paused && this.#queued < HIGH_WATER_MARK / 2) {
        this.#paused = false;
        this.#owner.resumeForBody();
      }
      return Promise.resolve(chunk);
    }
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    if (this.#waiter !== null) {
      return Promise.reject(new TypeError("Cannot read request body: a read is already pending"));
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.waitingSince = Date.now();
    });
  }

  /**
   * Reads everything, then `join`s the chunks (into one owned array, text…).
   *
   * @param join Makes the result of the chunks, in order.
   */
  async readAll<T>(join: (chunks: Uint8Array[]) => T): Promise<T> {
    this.#claim();
    const chunks: Uint8Array[] = [];
    for (;;) {
      const chunk = await this.read();
      if (chunk === null) break;
      chunks.push(chunk);
    }
    return join(chunks);
  }

  /**
   * The body as a byte stream (made once): `getReader({ mode: "byob" })`
   * works on it, as on `Deno.serve`'s request bodies. Chunks handed to a
   * default reader are copied when they are views of a larger buffer.
   */
  stream(): ReadableStream<Uint8Array> {
    if (this.#stream !== null) return this.#stream;
    this.#stream = byteStream({
      read: () => {
        this.#used = true;
        return this.read().then((chunk) => chunk === null ? DONE : { done: false, value: chunk });
      },
      readInto: () => null,
      cancel: () => {
        this.discard();
        this.#owner.bodyAbandoned();
      },
    });
    return this.#stream;
  }

  /** Whether the body can no longer be read whole (a stream was taken, or a read began). */
  get disturbed(): boolean {
    return this.#used || this.#stream !== null && this.#stream.locked;
  }

  #claim(): void {
    if (this.#used || this.#stream?.locked) {
      throw new TypeError("Cannot read request body: it was already read");
    }
    this.#used = true;
  }
}
