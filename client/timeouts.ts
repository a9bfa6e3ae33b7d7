/**
 * Per-phase client timeouts: the options, their merge (session defaults, then
 * per-request values) and {@linkcode PhaseTimer}, which turns deadlines into
 * an `AbortSignal` aborted with a typed {@linkcode TimeoutError}.
 *
 * @module
 */

import { TimeoutError, type TimeoutPhase } from "./errors.ts";
import { addDeadline, cancelDeadline, WHEEL_MIN, type WheelEntry } from "./_timer_wheel.ts";

/**
 * Timeouts of a request, in milliseconds, settable per session and per
 * request. For each field: `undefined` inherits (per-request from the
 * session, the session from the defaults); `0` or `Infinity` means no
 * timeout. Negative values and `NaN` are a `RangeError`.
 *
 * - `total` (default 300 000): the whole request, from the call to the end of
 *   the response body, across every phase and redirect.
 * - `poolWait` (default none): waiting for a free connection when the pool is
 *   at its `limit`/`limitPerHost`.
 * - `connect` (default none): opening a new connection: DNS, TCP, proxy
 *   `CONNECT` and TLS.
 * - `headers` (default none): from the request being sent to the response head
 *   being received.
 * - `sockRead` (default none): the longest wait between two chunks of the
 *   response body (the wait for the head is `headers`).
 *
 * From aiohttp's `ClientTimeout`: `total` → `total`; `connect` (pool wait plus
 * connect) → `poolWait` and `connect`, split so a busy pool is not reported as
 * a slow server; `sock_connect` → `connect`; `sock_read` (which also bounds
 * the wait for the head) → `sockRead` and `headers`, set both.
 * `ceil_threshold` has no counterpart here.
 *
 * @example
 * ```ts
 * import type { ClientTimeout } from "@sluice/http/client";
 *
 * const timeout: ClientTimeout = { total: 30_000, connect: 2_000, sockRead: 10_000 };
 * ```
 */
export interface ClientTimeout {
  /** The whole request, in ms (default 300 000). */
  total?: number;
  /** Waiting for a free pooled connection, in ms (default none). */
  poolWait?: number;
  /** DNS + TCP + proxy tunnel + TLS, in ms (default none). */
  connect?: number;
  /** Request sent to response head received, in ms (default none). */
  headers?: number;
  /** Longest gap between response chunks, in ms (default none). */
  sockRead?: number;
}

/**
 * A merged {@linkcode ClientTimeout} with every phase set: a number of ms, or
 * `Infinity` for none.
 *
 * @example
 * ```ts
 * import { resolveTimeouts, type ResolvedTimeouts } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const t: ResolvedTimeouts = resolveTimeouts();
 * assert.equal(t.connect, Infinity);
 * ```
 */
export type ResolvedTimeouts = Readonly<Required<ClientTimeout>>;

/** The defaults: `total` 300 s, no per-phase limit. */
export const DEFAULT_TIMEOUTS: ResolvedTimeouts = Object.freeze({
  total: 300_000,
  poolWait: Infinity,
  connect: Infinity,
  headers: Infinity,
  sockRead: Infinity,
});

const PHASES: readonly TimeoutPhase[] = ["total", "poolWait", "connect", "headers", "sockRead"];
// setTimeout fires at once past 2^31-1 ms in every runtime.
const MAX_TIMER_MS = 2 ** 31 - 1;

function checkTimeouts(timeout: ClientTimeout | undefined, what: string): void {
  if (timeout === undefined) return;
  if (typeof timeout !== "object" || timeout === null) {
    throw new TypeError(`Cannot use ${what} timeout: expected an object, got ${typeof timeout}`);
  }
  for (const phase of PHASES) {
    const value = timeout[phase];
    if (value === undefined) continue;
    if (typeof value !== "number") {
      throw new TypeError(
        `Cannot use ${what} timeout: "${phase}" must be a number of ms, got ${typeof value}`,
      );
    }
    if (Number.isNaN(value) || value < 0) {
      throw new RangeError(
        `Cannot use ${what} timeout: "${phase}" must be >= 0 ms (0 or Infinity for none), got ${value}`,
      );
    }
    if (value !== Infinity && value > MAX_TIMER_MS) {
      throw new RangeError(
        `Cannot use ${what} timeout: "${phase}" must be at most ${MAX_TIMER_MS} ms or Infinity, got ${value}`,
      );
    }
  }
}

/**
 * Merges session and per-request timeouts over {@linkcode DEFAULT_TIMEOUTS}:
 * per phase, the per-request value if set, else the session's, else the
 * default. `0` becomes `Infinity` (none). Throws `RangeError` for a negative,
 * `NaN` or too large (> 2^31-1, except `Infinity`) value and `TypeError` for a
 * non-number.
 *
 * @param sessionDefaults The session's `timeout` option.
 * @param perRequest The request's `timeout` option.
 * @returns Every phase set, frozen.
 *
 * @example A request lifts the session's total limit
 * ```ts
 * import { resolveTimeouts } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const t = resolveTimeouts({ total: 10_000, connect: 1_000 }, { total: 0 });
 * assert.equal(t.total, Infinity);
 * assert.equal(t.connect, 1_000);
 * ```
 */
export function resolveTimeouts(
  sessionDefaults?: ClientTimeout,
  perRequest?: ClientTimeout,
): ResolvedTimeouts {
  checkTimeouts(sessionDefaults, "session");
  checkTimeouts(perRequest, "request");
  const out = { ...DEFAULT_TIMEOUTS };
  for (const phase of PHASES) {
    const value = perRequest?.[phase] ?? sessionDefaults?.[phase] ?? DEFAULT_TIMEOUTS[phase];
    out[phase] = value === 0 ? Infinity : value;
  }
  return Object.freeze(out);
}

/** Timer functions {@linkcode PhaseTimer} uses; replaceable in tests. */
export interface TimerFunctions {
  /** Schedules `fn` after `ms`; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a handle from `setTimeout`. */
  clearTimeout(handle: unknown): void;
}

/** Options of {@linkcode PhaseTimer}. */
export interface PhaseTimerOptions {
  /** The caller's signal: aborting it aborts the timer's signal with the same reason. */
  signal?: AbortSignal;
  /** Timer functions (default: the global ones). */
  timers?: TimerFunctions;
}

/**
 * What the client's internals need of an abort signal: `AbortSignal` has it,
 * and so has {@linkcode PhaseTimer}, which is used directly so that no
 * `AbortController` is made per request. `asSignal()` gives a real
 * `AbortSignal` for APIs that need one.
 *
 * @example
 * ```ts
 * import type { AbortSource } from "@sluice/http/client";
 *
 * const source: AbortSource = AbortSignal.timeout(1_000);
 * ```
 */
export interface AbortSource {
  /** Whether it aborted. */
  readonly aborted: boolean;
  /** Why, once aborted. */
  readonly reason: unknown;
  /** Calls `listener` when it aborts. */
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  /** Forgets a listener. */
  removeEventListener(type: "abort", listener: () => void): void;
  /** A real `AbortSignal` that aborts with it (absent on an `AbortSignal` itself). */
  asSignal?(): AbortSignal;
  /**
   * Undoes an abort by a phase deadline other than `total`, so that the
   * request can be tried again; see {@linkcode PhaseTimer.recover}.
   */
  recover?(reason: unknown): boolean;
}

/**
 * A real `AbortSignal` for an abort source.
 *
 * @param source An `AbortSignal` or a {@linkcode PhaseTimer}.
 * @returns The signal, or `undefined` without a source.
 * @example
 * ```ts
 * import { toAbortSignal } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const signal = AbortSignal.abort();
 * assert.equal(toAbortSignal(signal), signal);
 * ```
 */
export function toAbortSignal(source: AbortSource | undefined): AbortSignal | undefined {
  if (source === undefined || source instanceof AbortSignal) return source;
  return source.asSignal?.();
}

/**
 * The deadlines of one request. The `total` deadline starts at construction;
 * every other phase starts with {@linkcode PhaseTimer.start} and ends with
 * {@linkcode PhaseTimer.end} (starting a running phase again restarts it, which
 * is how `sockRead` is re-armed per chunk). When a deadline passes, `signal`
 * aborts with the matching {@linkcode TimeoutError}; when the caller's signal
 * aborts, `signal` aborts with its reason. Either way, and on
 * {@linkcode PhaseTimer.clear}, every timer and listener is removed, so nothing
 * is left behind. A phase whose timeout is `Infinity` sets no timer.
 *
 * @example
 * ```ts
 * import { PhaseTimer, resolveTimeouts, TimeoutError } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const timer = new PhaseTimer(resolveTimeouts({ connect: 10 }));
 * timer.start("connect");
 * await new Promise((r) => setTimeout(r, 50));
 * assert.ok(timer.signal.reason instanceof TimeoutError);
 * assert.equal(timer.signal.reason.phase, "connect");
 * timer.clear();
 * ```
 */
export class PhaseTimer implements AbortSource {
  #timeouts: ResolvedTimeouts;
  #timers: TimerFunctions | null;
  /** Made on first use of `signal`. */
  #controller: AbortController | null = null;
  #aborted = false;
  #reason: unknown = undefined;
  // One listener (the connection's) is the usual case: no array for it.
  #listener: (() => void) | null = null;
  #listeners: Array<() => void> | null = null;
  // The `total` deadline has its own field; the other phases share a map made on first use.
  #total: unknown = undefined;
  #handles: Map<TimeoutPhase, unknown> | null = null;
  #outer: AbortSignal | undefined = undefined;
  #onOuterAbort: (() => void) | null = null;
  /** The caller's signal, kept to link it again in `recover()`. */
  #caller: AbortSignal | undefined = undefined;
  /** When `total` passes (`Date.now()` time), `Infinity` without one. */
  #totalDue = Infinity;

  /**
   * Starts the `total` deadline and links the caller's signal.
   *
   * @param timeouts The request's merged timeouts.
   * @param options The caller's signal and, in tests, timer functions.
   */
  constructor(timeouts: ResolvedTimeouts, options?: PhaseTimerOptions) {
    this.#timeouts = timeouts;
    this.#timers = options?.timers ?? null;
    const outer = options?.signal;
    if (outer?.aborted) {
      this.#aborted = true;
      this.#reason = outer.reason;
      return;
    }
    if (outer !== undefined) {
      this.#caller = outer;
      this.#onOuterAbort = () => this.#abort(outer.reason);
      this.#link();
    }
    if (timeouts.total !== Infinity) this.#totalDue = Date.now() + timeouts.total;
    this.start("total");
  }

  /** Listens to the caller's signal. */
  #link(): void {
    this.#outer = this.#caller;
    this.#outer!.addEventListener("abort", this.#onOuterAbort!, { once: true });
  }

  /**
   * Aborted with a {@linkcode TimeoutError} or the caller's reason. Made on
   * first use: inside the client, the timer itself is the abort source.
   */
  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Whether a deadline passed or the caller aborted. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** The {@linkcode TimeoutError} or the caller's reason, once aborted. */
  get reason(): unknown {
    return this.#reason;
  }

  /**
   * Calls `listener` (once) when the timer aborts, as `AbortSignal` does.
   *
   * @param _type `"abort"`.
   * @param listener What to call.
   */
  addEventListener(_type: "abort", listener: () => void): void {
    if (this.#aborted) return;
    if (this.#listener === null && this.#listeners === null) this.#listener = listener;
    else (this.#listeners ??= []).push(listener);
  }

  /**
   * Forgets a listener.
   *
   * @param _type `"abort"`.
   * @param listener The listener given to `addEventListener`.
   */
  removeEventListener(_type: "abort", listener: () => void): void {
    if (this.#listener === listener) {
      this.#listener = null;
      return;
    }
    const listeners = this.#listeners;
    if (listeners === null) return;
    const at = listeners.lastIndexOf(listener);
    if (at >= 0) listeners.splice(at, 1);
  }

  /**
   * The timer as a real `AbortSignal` (for APIs that need one).
   *
   * @returns {@linkcode PhaseTimer.signal}.
   */
  asSignal(): AbortSignal {
    return this.signal;
  }

  /**
   * Whether a phase has a deadline (its timeout is not `Infinity`).
   *
   * @param phase The phase.
   * @returns `true` when {@linkcode PhaseTimer.start} would arm a timer.
   */
  hasTimeout(phase: TimeoutPhase): boolean {
    return this.#timeouts[phase] !== Infinity;
  }

  /** The phases whose timer is running now. */
  get running(): TimeoutPhase[] {
    const phases: TimeoutPhase[] = this.#total === undefined ? [] : ["total"];
    if (this.#handles !== null) phases.push(...this.#handles.keys());
    return phases;
  }

  /**
   * Starts (or restarts) a phase's deadline. Does nothing once aborted or when
   * the phase has no timeout. Deadlines of a second or more share one coarse
   * interval and fire up to 250 ms late.
   *
   * @param phase The phase to start.
   */
  start(phase: TimeoutPhase): void {
    this.end(phase);
    const ms = this.#timeouts[phase];
    if (this.#aborted || ms === Infinity) return;
    this.#arm(phase, ms);
  }

  /** Arms `phase` to fire in `delay` ms with the TimeoutError of its configured timeout. */
  #arm(phase: TimeoutPhase, delay: number): void {
    const ms = this.#timeouts[phase];
    const fire = (): void => {
      if (phase === "total") this.#total = undefined;
      else this.#handles?.delete(phase);
      this.#abort(new TimeoutError(phase, ms));
    };
    const timers = this.#timers;
    const handle = timers !== null
      ? timers.setTimeout(fire, delay)
      : delay >= WHEEL_MIN
      ? addDeadline(delay, fire)
      : setTimeout(fire, delay);
    if (phase === "total") this.#total = handle;
    else (this.#handles ??= new Map()).set(phase, handle);
  }

  /**
   * Lets the request go on after the deadline of a phase other than `total`
   * passed, for another attempt (the `retry()` middleware retries a
   * `connect` timeout so): the timer is no longer aborted, `signal` is a new
   * one, the caller's signal is linked again and `total` runs on with what is
   * left of it. Changes nothing, and returns `false`, unless `reason` is the
   * {@linkcode TimeoutError} this timer aborted with, of a phase other than
   * `total`, with time left and the caller's signal not aborted.
   *
   * @param reason The error the attempt failed with.
   * @returns Whether the timer runs again.
   */
  recover(reason: unknown): boolean {
    if (!this.#aborted || this.#reason !== reason || !(reason instanceof TimeoutError)) {
      return false;
    }
    if (reason.phase === "total" || this.#caller?.aborted === true) return false;
    const left = this.#totalDue - Date.now();
    if (left <= 0) return false;
    this.#aborted = false;
    this.#reason = undefined;
    this.#controller = null;
    if (this.#caller !== undefined) this.#link();
    if (left !== Infinity) this.#arm("total", left);
    return true;
  }

  /**
   * Ends a phase's deadline (no-op when it is not running).
   *
   * @param phase The phase to end.
   */
  end(phase: TimeoutPhase): void {
    if (phase === "total") {
      if (this.#total === undefined) return;
      this.#cancel(this.#total);
      this.#total = undefined;
      return;
    }
    const handle = this.#handles?.get(phase);
    if (handle === undefined) return;
    this.#cancel(handle);
    this.#handles!.delete(phase);
  }

  /** Ends every deadline, `total` included, and unlinks the caller's signal. */
  clear(): void {
    if (this.#total !== undefined) {
      this.#cancel(this.#total);
      this.#total = undefined;
    }
    const handles = this.#handles;
    if (handles !== null && handles.size > 0) {
      for (const handle of handles.values()) this.#cancel(handle);
      handles.clear();
    }
    if (this.#outer !== undefined) {
      this.#outer.removeEventListener("abort", this.#onOuterAbort!);
      this.#outer = undefined;
    }
  }

  /** Same as {@linkcode PhaseTimer.clear}, for `using`. */
  [Symbol.dispose](): void {
    this.clear();
  }

  #cancel(handle: unknown): void {
    if (this.#timers !== null) this.#timers.clearTimeout(handle);
    else if (typeof handle === "object" && handle !== null && "due" in handle) {
      cancelDeadline(handle as WheelEntry);
    } else clearTimeout(handle as ReturnType<typeof setTimeout>);
  }

  #abort(reason: unknown): void {
    if (this.#aborted) return;
    this.clear();
    this.#aborted = true;
    this.#reason = reason;
    const first = this.#listener;
    const listeners = this.#listeners;
    this.#listener = null;
    this.#listeners = null;
    first?.();
    if (listeners !== null) { for (const listener of listeners) listener(); }
    this.#controller?.abort(reason);
  }
}
