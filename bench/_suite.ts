/**
 * The shape of a benchmark module. Each `bench/<name>_bench.ts` exports a
 * `suite`; `bench/run.ts` finds it, times every contender of every case
 * side by side, and prints ops/s with the ratio of Sluice to each peer.
 *
 * @module
 */

/**
 * Runs `iterations` units of work and returns how many operations were done
 * (a parser fed one corpus of 16 pipelined requests does 16 operations per
 * iteration). The runner picks `iterations` so one batch takes a few
 * milliseconds. Return a number synchronously when the work is synchronous:
 * the runner awaits only promises.
 */
export type Batch = (iterations: number) => number | Promise<number>;

/** One implementation under test in one case. */
export interface Contender {
  /**
   * Builds a fresh instance (a parser, a connection, a server) and returns
   * the batch that drives it. Called before the warm-up and before each
   * timed round, so every round starts on a new "connection".
   */
  setup(): Batch | Promise<Batch>;
  /** Releases what the last `setup` made (sockets, servers). */
  teardown?(): void | Promise<void>;
}

/** A contender that cannot run here; the reason is printed in its row. */
export interface Unavailable {
  unavailable: string;
}

/** One workload, measured for each contender. */
export interface Case {
  /** Short, stable, kebab-case: used by `--filter` and in JSON output. */
  name: string;
  /** One line saying what the workload is. */
  description?: string;
  /** What one operation is (`"msg"`, `"req"`); `"op"` when omitted. */
  unit?: string;
  /** Input bytes per operation, to print MB/s. */
  bytesPerOp?: number;
  /**
   * The contender whose ops/s is the numerator of every ratio
   * (`baseline ÷ peer`); `"sluice"` when omitted.
   */
  baseline?: string;
  contenders: Record<string, Contender | Unavailable>;
}

/** What a `bench/<name>_bench.ts` module exports as `suite`. */
export interface Suite {
  /** Usually the file name without `_bench.ts`. */
  name: string;
  /** One line: what is compared with what. */
  description?: string;
  cases: Case[];
}

/** Whether a contender entry is a placeholder for one that cannot run. */
export function isUnavailable(c: Contender | Unavailable): c is Unavailable {
  return "unavailable" in c;
}
