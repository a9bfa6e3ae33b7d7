/**
 * `Range` parsing (RFC 9110 §14.1.2) and the validator comparisons of
 * conditional requests (RFC 9110 §8.8.3.2, §13.1), for file responses.
 *
 * @module
 */

/** One satisfiable byte range, inclusive at both ends. */
export interface ByteRange {
  start: number;
  end: number;
}

/** At most this many range specs are honoured; a longer `Range` is ignored (whole file). */
export const MAX_RANGES = 16;

const SPEC = /^(\d*)-(\d*)$/;

/**
 * Parses a `Range` field against a representation of `size` bytes:
 *
 * - `null`: the field is to be ignored (missing, not `bytes`, malformed, or
 *   more than {@linkcode MAX_RANGES} specs), so the whole file is served;
 * - `[]`: well-formed but nothing in it is satisfiable (416);
 * - otherwise the satisfiable ranges, clamped to the file, in the order asked,
 *   except that overlapping or adjacent ranges are coalesced into ascending
 *   order (RFC 9110 §14.2 lets a server do so, against range abuse).
 */
export function parseRange(field: string | null, size: number): ByteRange[] | null {
  if (field === null) return null;
  const eq = field.indexOf("=");
  if (eq < 0 || field.slice(0, eq).trim().toLowerCase() !== "bytes") return null;
  const specs = field.slice(eq + 1).split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (specs.length === 0 || specs.length > MAX_RANGES) return null;
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const m = SPEC.exec(spec);
    if (m === null || (m[1] === "" && m[2] === "")) return null;
    if (m[1] === "") {
      // suffix-range: the last N bytes
      const length = Number(m[2]);
      if (length > 0 && size > 0) ranges.push({ start: Math.max(0, size - length), end: size - 1 });
      continue;
    }
    const start = Number(m[1]);
    const last = m[2] === "" ? Infinity : Number(m[2]);
    if (last < start) return null;
    if (start < size) ranges.push({ start, end: Math.min(last, size - 1) });
  }
  return coalesce(ranges);
}

/** Merges overlapping or adjacent ranges (sorted) when any overlap; keeps the order otherwise. */
function coalesce(ranges: ByteRange[]): ByteRange[] {
  if (ranges.length < 2) return ranges;
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  let overlap = false;
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].start <= sorted[i - 1].end + 1) overlap = true;
  }
  if (!overlap) return ranges;
  const merged: ByteRange[] = [{ ...sorted[0] }];
  for (const r of sorted.slice(1)) {
    const top = merged[merged.length - 1];
    if (r.start <= top.end + 1) top.end = Math.max(top.end, r.end);
    else merged.push({ ...r });
  }
  return merged;
}

/** The entity-tags of an `If-Match`/`If-None-Match` field, or `"*"`. */
export function parseETags(field: string): string[] | "*" {
  if (field.trim() === "*") return "*";
  return field.match(/(?:W\/)?"[^"]*"/g) ?? [];
}

/** Strong comparison: both strong and the same opaque tag. */
export function strongMatch(a: string, b: string): boolean {
  return !a.startsWith("W/") && !b.startsWith("W/") && a === b;
}

/** Weak comparison: the same opaque tag, weak or not. */
export function weakMatch(a: string, b: string): boolean {
  return (a.startsWith("W/") ? a.slice(2) : a) === (b.startsWith("W/") ? b.slice(2) : b);
}

/** An HTTP-date in milliseconds, or `null` when it is not a valid date. */
export function parseHttpDate(field: string | null): number | null {
  if (field === null) return null;
  const ms = Date.parse(field);
  return Number.isNaN(ms) ? null : ms;
}
