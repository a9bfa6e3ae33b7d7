/**
 * The connection pool's slot accounting and its cancellation-safe waiter
 * queue: {@linkcode ConnectionSlots} counts the connections held in total and
 * per key (scheme, host, port, TLS, proxy) against `limit` and
 * `limitPerHost`, and queues the acquirers that must wait.
 *
 * Why this is its own module: aiohttp's pool could deadlock after timeouts,
 * because a waiter that was cancelled just as it was woken swallowed the
 * wake-up meant for the next one. Here a wake-up is a slot reserved for the
 * waiter in the same turn as the release, and it is delivered one microtask
 * later only if the waiter's signal is still live; otherwise the slot goes on
 * to the next eligible waiter. An aborted waiter leaves the queue at once and
 * never consumes a release.
 *
 * Pure logic: no sockets, no timers (timeouts come in as an `AbortSignal`,
 * e.g. `PhaseTimer.signal` with its `poolWait` phase).
 *
 * @module
 */

import type { AbortSource } from "./timeouts.ts";
import { ClientError } from "./errors.ts";

/** Options of {@linkcode ConnectionSlots}. */
export interface ConnectionSlotsOptions {
  /** Slots held at once in total (default 100; `0` or `Infinity` = unlimited). */
  limit?: number;
  /** Slots held at once per key (default `0` = unlimited). */
  limitPerHost?: number;
  /** Called when an acquire starts waiting (tracing: "connection queued start"). */
  onQueued?: (key: string) => void;
  /**
   * Called once for every waiter that leaves the queue, whatever the outcome
   * (tracing: "connection queued end"), with the time it waited in ms.
   */
  onDequeued?: (key: string, waitedMs: number, outcome: DequeueOutcome) => void;
  /** Clock in ms for `waitedMs` (default `performance.now`); replaceable in tests. */
  now?: () => number;
}

/** Why a waiter left the queue: it got a slot, its signal aborted, or the slots closed. */
export type DequeueOutcome = "acquired" | "aborted" | "closed";

/** A snapshot of {@linkcode ConnectionSlots.stats}. */
export interface SlotStats {
  /** Slots held in total (granted slots not yet delivered included). */
  inUse: number;
  /** Acquires waiting in the queue. */
  waiting: number;
  /** Slots held per key (keys with none are absent). */
  inUseByKey: Map<string, number>;
  /** Waiters per key (keys with none are absent). */
  waitingByKey: Map<string, number>;
}

/**
 * One held connection slot of a key. {@linkcode Slot.release} gives it back;
 * calling it again does nothing.
 *
 * @example
 * ```ts
 * import { ConnectionSlots } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const slots = new ConnectionSlots({ limit: 1 });
 * const slot = await slots.acquire("http://a:80");
 * assert.equal(slot.key, "http://a:80");
 * slot.release();
 * slot.release(); // idempotent
 * assert.equal(slots.stats().inUse, 0);
 * ```
 */
export class Slot {
  #key: string;
  #free: ((slot: Slot) => void) | undefined;

  /**
   * Created by {@linkcode ConnectionSlots}; not meant to be built by hand.
   *
   * @param key The key the slot counts against.
   * @param free Gives the slot back to its owner.
   */
  constructor(key: string, free: (slot: Slot) => void) {
    this.#key = key;
    this.#free = free;
  }

  /** The key this slot counts against. */
  get key(): string {
    return this.#key;
  }

  /** Whether {@linkcode Slot.release} has been called. */
  get released(): boolean {
    return this.#free === undefined;
  }

  /**
   * Frees the slot and, in the same turn, reserves it for the next eligible
   * waiter. Idempotent.
   */
  release(): void {
    const free = this.#free;
    if (free === undefined) return;
    this.#free = undefined;
    free(this);
  }
}

interface Waiter {
  key: string;
  seq: number;
  start: number;
  signal: AbortSource | undefined;
  onAbort: (() => void) | undefined;
  resolve: (slot: Slot) => void;
  reject: (reason: unknown) => void;
  prev: Waiter | undefined;
  next: Waiter | undefined;
}

interface KeyState {
  inUse: number;
  head: Waiter | undefined;
  tail: Waiter | undefined;
  waiting: number;
}

function checkLimit(name: string, value: unknown, fallback: number): number {
  if (value === undefined) value = fallback;
  if (
    typeof value !== "number" || Number.isNaN(value) || value < 0 ||
    (!Number.isInteger(value) && value !== Infinity)
  ) {
    throw new RangeError(
      `Cannot create connection slots: ${name} must be a non-negative integer, got ${
        String(value)
      }`,
    );
  }
  return value === 0 ? Infinity : value;
}

function callHook(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    // A faulty tracing hook must not corrupt the accounting; report it the way
    // an event listener's error is reported: uncaught, in its own job.
    queueMicrotask(() => {
      throw error;
    });
  }
}

/**
 * Counts held connection slots against a total `limit` and a per-key
 * `limitPerHost`, and queues acquirers FIFO (one global order) when no slot is
 * free. A waiter whose key is at its per-host limit does not hold back waiters
 * of other keys behind it.
 *
 * Cancellation-safe: a waiter whose signal aborts leaves the queue and its
 * promise rejects with `signal.reason`; it never consumes a release. A slot
 * handed to a waiter is reserved in the same turn as the release and delivered
 * a microtask later; if the waiter's signal aborted in between, the slot goes
 * on to the next waiter and the acquire rejects. Once the promise has
 * resolved, the slot is the caller's to release (in a `finally`), even if the
 * signal aborts later.
 *
 * @example Two keys, one slot per host
 * ```ts
 * import { ConnectionSlots } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const slots = new ConnectionSlots({ limit: 10, limitPerHost: 1 });
 * const a = await slots.acquire("a");
 * const b = await slots.acquire("b"); // another key: not blocked by "a"
 * const next = slots.acquire("a"); // waits for `a`
 * assert.equal(slots.stats().waiting, 1);
 * a.release();
 * const a2 = await next;
 * a2.release();
 * b.release();
 * assert.equal(slots.stats().inUse, 0);
 * ```
 */
export class ConnectionSlots {
  #limit: number;
  #limitPerHost: number;
  #onQueued: ((key: string) => void) | undefined;
  #onDequeued: ((key: string, waitedMs: number, outcome: DequeueOutcome) => void) | undefined;
  #now: () => number;
  #keys = new Map<string, KeyState>();
  /** Keys with at least one waiter, for the next-waiter search. */
  #waitingKeys = new Set<KeyState>();
  #inUse = 0;
  #waiting = 0;
  #seq = 0;
  #closed = false;
  #closeReason: unknown = undefined;
  #free = (slot: Slot): void => this.#release(slot.key);

  /**
   * Creates the accounting for one pool.
   *
   * @param options Limits, tracing hooks and, in tests, a clock.
   */
  constructor(options: ConnectionSlotsOptions = {}) {
    this.#limit = checkLimit("limit", options.limit, 100);
    this.#limitPerHost = checkLimit("limitPerHost", options.limitPerHost, 0);
    this.#onQueued = options.onQueued;
    this.#onDequeued = options.onDequeued;
    this.#now = options.now ?? (() => performance.now());
  }

  /** The total limit (`Infinity` when unlimited). */
  get limit(): number {
    return this.#limit;
  }

  /** The per-key limit (`Infinity` when unlimited). */
  get limitPerHost(): number {
    return this.#limitPerHost;
  }

  /** Whether {@linkcode ConnectionSlots.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Takes a slot of `key`. When one is free, returns the {@linkcode Slot}
   * itself, synchronously (no promise, no microtask); otherwise returns a
   * promise that resolves with a slot when one is handed over, or rejects
   * with `signal.reason` when the signal aborts first, or with the close
   * reason. A signal that is already aborted, or closed slots, give a
   * rejected promise (never a synchronous throw). `await` works on both
   * forms.
   *
   * @param key The pool key (scheme, host, port, TLS, proxy) to count against.
   * @param signal Aborts the wait (e.g. the `poolWait` timeout).
   * @returns The slot, or a promise of it.
   */
  acquire(key: string, signal?: AbortSource): Slot | Promise<Slot> {
    if (typeof key !== "string") {
      throw new TypeError(`Cannot acquire a connection slot: key must be a string`);
    }
    if (this.#closed) return Promise.reject(this.#closeReason);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const state = this.#keys.get(key);
    // Eligible waiters are always served at once, so an eligible key here
    // jumps no one: any waiter still queued is blocked by a limit this
    // acquire does not share (its own key's) or would share (the total).
    if (this.#inUse < this.#limit && (state?.inUse ?? 0) < this.#limitPerHost) {
      return this.#grant(key, state);
    }
    return this.#enqueue(key, state, signal);
  }

  /**
   * The slots held and the waiters queued, in total and per key.
   *
   * @returns A fresh snapshot.
   */
  stats(): SlotStats {
    const inUseByKey = new Map<string, number>();
    const waitingByKey = new Map<string, number>();
    for (const [key, state] of this.#keys) {
      if (state.inUse > 0) inUseByKey.set(key, state.inUse);
      if (state.waiting > 0) waitingByKey.set(key, state.waiting);
    }
    return { inUse: this.#inUse, waiting: this.#waiting, inUseByKey, waitingByKey };
  }

  /**
   * Rejects every waiter (and every later acquire) with `reason`. Held slots
   * stay valid; releasing them only updates the counts. Idempotent: the first
   * reason wins.
   *
   * @param reason The rejection of the waiters (default: a `ClientError` with
   *   code `SLUICE_ERR_CLIENT_POOL_CLOSED`).
   */
  close(reason?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason ?? new ClientError(
      "SLUICE_ERR_CLIENT_POOL_CLOSED",
      "Cannot acquire a connection: the pool is closed",
    );
    for (let waiter = this.#nextWaiter(true); waiter; waiter = this.#nextWaiter(true)) {
      this.#unlink(waiter);
      this.#dequeued(waiter, "closed");
      waiter.reject(this.#closeReason);
    }
  }

  #grant(key: string, state: KeyState | undefined): Slot {
    if (state === undefined) {
      state = { inUse: 0, head: undefined, tail: undefined, waiting: 0 };
      this.#keys.set(key, state);
    }
    state.inUse++;
    this.#inUse++;
    return new Slot(key, this.#free);
  }

  #enqueue(key: string, state: KeyState | undefined, signal?: AbortSource): Promise<Slot> {
    if (state === undefined) {
      state = { inUse: 0, head: undefined, tail: undefined, waiting: 0 };
      this.#keys.set(key, state);
    }
    let resolve!: (slot: Slot) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<Slot>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const waiter: Waiter = {
      key,
      seq: this.#seq++,
      start: this.#now(),
      signal,
      onAbort: undefined,
      resolve,
      reject,
      prev: state.tail,
      next: undefined,
    };
    if (state.tail) state.tail.next = waiter;
    else state.head = waiter;
    state.tail = waiter;
    state.waiting++;
    this.#waiting++;
    this.#waitingKeys.add(state);
    if (signal !== undefined) {
      waiter.onAbort = () => {
        this.#unlink(waiter);
        this.#dequeued(waiter, "aborted");
        reject(signal.reason);
      };
      signal.addEventListener("abort", waiter.onAbort, { once: true });
    }
    if (this.#onQueued) {
      const hook = this.#onQueued;
      callHook(() => hook(key));
    }
    return promise;
  }

  /** Removes a queued waiter and its abort listener. */
  #unlink(waiter: Waiter): void {
    const state = this.#keys.get(waiter.key)!;
    if (waiter.prev) waiter.prev.next = waiter.next;
    else state.head = waiter.next;
    if (waiter.next) waiter.next.prev = waiter.prev;
    else state.tail = waiter.prev;
    waiter.prev = waiter.next = undefined;
    state.waiting--;
    this.#waiting--;
    if (state.waiting === 0) this.#waitingKeys.delete(state);
    if (waiter.onAbort) waiter.signal!.removeEventListener("abort", waiter.onAbort);
    waiter.onAbort = undefined;
    this.#forget(waiter.key, state);
  }

  #dequeued(waiter: Waiter, outcome: DequeueOutcome): void {
    if (!this.#onDequeued) return;
    const hook = this.#onDequeued;
    const waited = this.#now() - waiter.start;
    callHook(() => hook(waiter.key, waited, outcome));
  }

  /** Drops the state of a key with nothing held and nobody waiting. */
  #forget(key: string, state: KeyState): void {
    if (state.inUse === 0 && state.waiting === 0) this.#keys.delete(key);
  }

  /**
   * The oldest waiter that may take a slot now (`any`: the oldest at all).
   * O(number of keys with waiters).
   */
  #nextWaiter(any = false): Waiter | undefined {
    if (!any && this.#inUse >= this.#limit) return undefined;
    let best: Waiter | undefined;
    for (const state of this.#waitingKeys) {
      const head = state.head!;
      if (!any && state.inUse >= this.#limitPerHost) continue;
      if (best === undefined || head.seq < best.seq) best = head;
    }
    return best;
  }

  #release(key: string): void {
    const state = this.#keys.get(key)!;
    state.inUse--;
    this.#inUse--;
    this.#forget(key, state);
    this.#handOver();
  }

  /** Reserves free slots for eligible waiters, oldest first, in this turn. */
  #handOver(): void {
    if (this.#closed) return;
    for (let waiter = this.#nextWaiter(); waiter; waiter = this.#nextWaiter()) {
      this.#unlink(waiter);
      const slot = this.#grant(waiter.key, this.#keys.get(waiter.key));
      // Deliver a microtask later: an abort in the rest of this turn (e.g. the
      // releaser aborting the waiter's request) passes the slot on instead of
      // stranding it with a caller that has given up.
      queueMicrotask(() => {
        const aborted = waiter.signal?.aborted === true;
        if (aborted || this.#closed) {
          this.#dequeued(waiter, aborted ? "aborted" : "closed");
          slot.release();
          waiter.reject(aborted ? waiter.signal!.reason : this.#closeReason);
        } else {
          this.#dequeued(waiter, "acquired");
          waiter.resolve(slot);
        }
      });
    }
  }
}
