/**
 * A coarse timer for long deadlines: one interval for all of them instead of
 * a `setTimeout` and a `clearTimeout` per request (undici's "fast timers").
 * Deadlines of a second or more fire within {@linkcode WHEEL_TICK} ms after
 * they are due; shorter ones keep their own `setTimeout`.
 *
 * @module
 */

/** How often due deadlines are looked for, in ms. */
export const WHEEL_TICK = 250;
/** Deadlines at least this far away go on the wheel. */
export const WHEEL_MIN = 1000;

/** One deadline on the wheel. */
export interface WheelEntry {
  /** `performance.now()` when it is due. */
  due: number;
  /** Called once when due (unless cancelled first). */
  fire: () => void;
}

const entries = new Set<WheelEntry>();
let ticker: ReturnType<typeof setInterval> | null = null;

function tick(): void {
  const now = performance.now();
  for (const entry of entries) {
    if (entry.due > now) continue;
    entries.delete(entry);
    entry.fire();
  }
  if (entries.size === 0 && ticker !== null) {
    clearInterval(ticker);
    ticker = null;
  }
}

/**
 * Puts a deadline on the wheel.
 *
 * @param ms How far away it is (≥ {@linkcode WHEEL_MIN}).
 * @param fire What to call when it is due.
 * @returns The entry, for {@linkcode cancelDeadline}.
 */
export function addDeadline(ms: number, fire: () => void): WheelEntry {
  const entry = { due: performance.now() + ms, fire };
  entries.add(entry);
  ticker ??= setInterval(tick, WHEEL_TICK);
  return entry;
}

/**
 * Takes a deadline off the wheel (the interval stops once none is left, at
 * its next tick).
 *
 * @param entry The entry from {@linkcode addDeadline}.
 */
export function cancelDeadline(entry: WheelEntry): void {
  entries.delete(entry);
}
