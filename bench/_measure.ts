/**
 * Timing and allocation measurement of contenders. Kept apart from the CLI so
 * that a profiling script or a test can drive one contender directly.
 *
 * @module
 */

import process from "node:process";
import { runInNewContext } from "node:vm";
import v8 from "node:v8";
import type { Batch, Contender } from "./_suite.ts";

/** How long and how often each contender is timed. */
export interface TimingOptions {
  /** Untimed running before the first round, over several setups, to let the JIT settle. */
  warmupMs: number;
  /** Length of one timed round. */
  roundMs: number;
  /** Number of timed rounds per contender. */
  rounds: number;
  /** Target length of one batch (the runner reads the clock between batches). */
  batchMs: number;
  /**
   * What a round's length is measured in: `"cpu"`, the user + system CPU
   * time of the whole process (GC threads included), which other processes
   * on a shared machine disturb little; or `"wall"`, elapsed time.
   */
  clock: "wall" | "cpu";
}

/** The per-round rates of one contender. */
export interface Timing {
  /** Operations per second of each round, in the order they ran. */
  rates: number[];
  median: number;
  min: number;
  max: number;
  /** Iterations per batch that calibration chose. */
  iterations: number;
}

/** Bytes allocated per operation, split by where they live. */
export interface Allocation {
  /** Bytes on the JS heap (objects, strings, small typed arrays). */
  heap: number;
  /** Bytes outside the JS heap (ArrayBuffer backing stores, e.g. copied Buffers). */
  external: number;
  /** Operations counted in the median sample (fewer means less precision). */
  ops: number;
}

/** Runs a batch; awaits only when the batch is asynchronous. */
async function ops(batch: Batch, iterations: number): Promise<number> {
  const done = batch(iterations);
  const n = typeof done === "number" ? done : await done;
  if (!Number.isFinite(n) || n <= 0) {
    throw new RangeError(`Cannot time a batch: it reported ${n} operations`);
  }
  return n;
}

/** Doubles the iteration count until one batch lasts at least `batchMs`. */
async function calibrate(batch: Batch, batchMs: number): Promise<number> {
  let iterations = 1;
  for (;;) {
    const t0 = performance.now();
    await ops(batch, iterations);
    const elapsed = performance.now() - t0;
    if (elapsed >= batchMs || iterations >= 2 ** 30) return iterations;
    const factor = elapsed <= 0 ? 16 : Math.min(16, Math.max(2, batchMs / elapsed));
    iterations = Math.ceil(iterations * factor);
  }
}

/** A full garbage collection when the runtime lets us ask for one, else a no-op. */
export const collectGarbage: () => void = (() => {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === "function") return exposed;
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as unknown;
    if (typeof gc === "function") return gc as () => void;
  } catch {
    // Not Node (Deno, Bun): rounds then start without a clean heap.
  }
  return () => {};
})();

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

async function timedRound(
  contender: Contender,
  iterations: number,
  options: TimingOptions,
): Promise<number> {
  const batch = await contender.setup();
  let done = 0;
  const c0 = options.clock === "cpu" ? cpuMs() : 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    done += await ops(batch, iterations);
    elapsed = performance.now() - t0;
  } while (elapsed < options.roundMs);
  if (options.clock === "cpu") elapsed = cpuMs() - c0;
  await contender.teardown?.();
  return (done * 1000) / elapsed;
}

/**
 * Warms a contender up over several fresh setups (several "connections"),
 * with a full GC between them: optimised code that specialised on one
 * instance's objects (a parser's handler closures) is thrown away when they
 * die, and the timed rounds, each on a new instance, must not pay for that.
 */
async function warmUp(contender: Contender, options: TimingOptions): Promise<number> {
  const setups = 4;
  let iterations = 1;
  for (let i = 0; i < setups; i++) {
    collectGarbage();
    const batch = await contender.setup();
    if (i === 0) iterations = await calibrate(batch, options.batchMs);
    const t0 = performance.now();
    while (performance.now() - t0 < options.warmupMs / setups) await ops(batch, iterations);
    // The JIT has made the batch faster since the first calibration.
    if (i === setups - 1) iterations = await calibrate(batch, options.batchMs);
    await contender.teardown?.();
  }
  return iterations;
}

function median(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Times the contenders of one case side by side: each is warmed up, then the
 * rounds are interleaved (round 1 of every contender, then round 2, ...) in
 * an order that rotates, so that drift of the machine hits all of them alike.
 *
 * @param contenders The contenders to time, by name.
 * @param options Warm-up, round length and count.
 * @returns The timing of each contender, by name.
 */
export async function timeContenders(
  contenders: Record<string, Contender>,
  options: TimingOptions,
): Promise<Record<string, Timing>> {
  const names = Object.keys(contenders);
  const iterations: Record<string, number> = {};
  const rates: Record<string, number[]> = {};
  for (const name of names) {
    collectGarbage();
    iterations[name] = await warmUp(contenders[name], options);
    rates[name] = [];
  }
  for (let round = 0; round < options.rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length];
      collectGarbage();
      rates[name].push(await timedRound(contenders[name], iterations[name], options));
    }
  }
  const result: Record<string, Timing> = {};
  for (const name of names) {
    const sorted = [...rates[name]].sort((a, b) => a - b);
    result[name] = {
      rates: rates[name],
      median: median(sorted),
      min: sorted[0],
      max: sorted[sorted.length - 1],
      iterations: iterations[name],
    };
  }
  return result;
}

interface GcProfilerLike {
  start(): void;
  stop(): { statistics: unknown[] } | undefined;
}

/**
 * Whether {@linkcode measureAllocation} can work here: it needs `gc()` (run
 * with `--expose-gc`) and `v8.GCProfiler` (Node ≥ 18.15) to see collections.
 */
export function canMeasureAllocation(): boolean {
  return typeof (globalThis as { gc?: unknown }).gc === "function" &&
    typeof (v8 as { GCProfiler?: unknown }).GCProfiler === "function";
}

/**
 * Bytes allocated per operation. After a full GC, one batch runs between two
 * reads of the heap statistics; growth of the used heap and of external
 * memory, divided by the operations, is the allocation per operation. This
 * holds only if no collection ran in between, so `v8.GCProfiler` watches the
 * batch and a sample that saw a collection is retried with half the
 * iterations. Run with a large young generation
 * (`--min-semi-space-size=256 --max-semi-space-size=256`) so that samples of
 * thousands of operations fit. Calibrated on known objects (a 16-slot array:
 * 176 B, `{ a, b }`: 40 B), it reads within 1 %.
 *
 * @param contender The contender to measure (set up and torn down here).
 * @param samples Samples to take; the median of each figure is returned.
 * @returns Bytes per operation, or `null` if every try saw a collection.
 */
export async function measureAllocation(
  contender: Contender,
  samples = 5,
): Promise<Allocation | null> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const Profiler = (v8 as unknown as { GCProfiler?: new () => GcProfilerLike }).GCProfiler;
  if (!gc || !Profiler) return null;
  const batch = await contender.setup();
  // Warm up until the code is optimised, as it is in the timed rounds.
  let iterations = await calibrate(batch, 10);
  const t0 = performance.now();
  while (performance.now() - t0 < 300) await ops(batch, iterations);
  const perIteration = await ops(batch, 1);
  iterations = Math.max(iterations, Math.ceil(4000 / perIteration));

  const heap: number[] = [];
  const external: number[] = [];
  const counts: number[] = [];
  for (let s = 0; s < samples; s++) {
    let n = iterations;
    while (n >= 1) {
      gc();
      gc();
      const profiler = new Profiler();
      profiler.start();
      const before = v8.getHeapStatistics();
      const done = await ops(batch, n);
      const after = v8.getHeapStatistics();
      const collections = profiler.stop()?.statistics.length ?? 0;
      if (collections === 0) {
        heap.push((after.used_heap_size - before.used_heap_size) / done);
        external.push((after.external_memory - before.external_memory) / done);
        counts.push(done);
        break;
      }
      n = Math.floor(n / 2);
    }
  }
  await contender.teardown?.();
  if (heap.length === 0) return null;
  const mid = (xs: number[]) => median([...xs].sort((a, b) => a - b));
  return { heap: mid(heap), external: mid(external), ops: mid(counts) };
}
