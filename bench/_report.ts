/**
 * The text table of `bench/run.ts`: one row per contender, the ratio of the
 * case's baseline (Sluice) to each peer on the peer's row.
 *
 * @module
 */

import type { Allocation, Timing } from "./_measure.ts";
import type { Case } from "./_suite.ts";

/** What is known of one contender in one case. */
export interface Row {
  contender: string;
  unavailable?: string;
  timing?: Timing;
  /** `null`: not measured (or every sample saw a GC); absent: not asked. */
  allocation?: Allocation | null;
  /** Baseline median ÷ this contender's median (peers only). */
  ratio?: number;
}

/** Column widths shared by every case of one suite. */
export interface Layout {
  caseWidth: number;
  contenderWidth: number;
  unit: string;
}

const RATE = 9;
const SPREAD = 15;
const MBS = 7;
const BYTES = 13;

/**
 * Widths that fit every case and contender name of a suite.
 *
 * @param cases The cases that will be printed.
 * @returns The layout for {@linkcode formatHeader} and {@linkcode formatRows}.
 */
export function layoutFor(cases: Case[]): Layout {
  const units = new Set(cases.map((c) => c.unit ?? "op"));
  return {
    caseWidth: Math.max(4, ...cases.map((c) => c.name.length)),
    contenderWidth: Math.max(
      9,
      ...cases.flatMap((c) => Object.keys(c.contenders).map((n) => n.length)),
    ),
    unit: units.size === 1 ? [...units][0] : "op",
  };
}

/** `1.23M`, `456k`, `789`: three significant digits. */
export function si(x: number): string {
  const abs = Math.abs(x);
  if (abs >= 1e9) return (x / 1e9).toPrecision(3) + "G";
  if (abs >= 1e6) return (x / 1e6).toPrecision(3) + "M";
  if (abs >= 1e4) return (x / 1e3).toPrecision(3) + "k";
  return x.toFixed(0);
}

function bytes(a: Allocation | null | undefined): string {
  if (a === undefined) return "";
  if (a === null) return "n/a";
  const heap = si(Math.max(0, a.heap));
  return a.external >= 1 ? `${heap}+${si(a.external)}ext` : heap;
}

/**
 * The column titles.
 *
 * @param layout From {@linkcode layoutFor}.
 * @returns One line.
 */
export function formatHeader(layout: Layout): string {
  return [
    "case".padEnd(layout.caseWidth),
    "contender".padEnd(layout.contenderWidth),
    `${layout.unit}/s`.padStart(RATE),
    "min–max".padStart(SPREAD),
    "MB/s".padStart(MBS),
    `B/${layout.unit}`.padStart(BYTES),
    "  ratio",
  ].join("  ");
}

/**
 * The rows of one case, the case name on its first row.
 *
 * @param layout From {@linkcode layoutFor}.
 * @param c The case.
 * @param rows Its contenders' results, in display order.
 * @returns Lines joined by `\n`.
 */
export function formatRows(layout: Layout, c: Case, rows: Row[]): string {
  return rows.map((row, i) => {
    const name = (i === 0 ? c.name : "").padEnd(layout.caseWidth);
    const who = row.contender.padEnd(layout.contenderWidth);
    if (row.unavailable !== undefined || !row.timing) {
      return `${name}  ${who}  unavailable: ${row.unavailable ?? "not run"}`;
    }
    const t = row.timing;
    const mbs = c.bytesPerOp ? ((t.median * c.bytesPerOp) / 1e6).toFixed(0) : "";
    const ratio = row.ratio === undefined ? "" : `${row.ratio.toFixed(2)}×`;
    return [
      name,
      who,
      si(t.median).padStart(RATE),
      `${si(t.min)}–${si(t.max)}`.padStart(SPREAD),
      mbs.padStart(MBS),
      bytes(row.allocation).padStart(BYTES),
      ratio.padStart(7),
    ].join("  ").trimEnd();
  }).join("\n");
}
