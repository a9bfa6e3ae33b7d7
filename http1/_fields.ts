// Field lines (RFC 9112 §5) of a head or a trailer section, parsed from a
// string that holds whole lines, each ending with CRLF. The string comes from
// one decode of the head's bytes; see _abnf.ts for why.

import { FIELD_VALUE, TOKEN } from "./_abnf.ts";
import { HttpParseError, type ParseErrorCode } from "./errors.ts";

const SP = 0x20;
const HTAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;

/** FIELD_VALUE without obs-text: the fast path meets a byte ≥ 0x80 as a miss. */
const FIELD_VALUE_ASCII: Uint8Array = FIELD_VALUE.map((v, c) => (c < 0x80 ? v : 0));

/**
 * Thrown (and caught by the parser) when a string decoded on the fast path
 * turns out to hold a char ≥ 0x80: the head is decoded again byte for byte.
 */
export const NEEDS_EXACT_DECODE: unique symbol = Symbol("needs exact decode");

/** The framing and connection facts gathered from one head's fields. */
export class FieldFacts {
  /** Request heads check Host; responses ignore it. */
  request = true;
  hostCount = 0;
  host: string | null = null;
  contentLength = -1;
  transferEncoding: string | null = null;
  connectionClose = false;
  connectionKeepAlive = false;
  connectionUpgrade = false;
  hasUpgrade = false;
  expectContinue = false;

  reset(request: boolean): void {
    this.request = request;
    this.hostCount = 0;
    this.host = null;
    this.contentLength = -1;
    this.transferEncoding = null;
    this.connectionClose = false;
    this.connectionKeepAlive = false;
    this.connectionUpgrade = false;
    this.hasUpgrade = false;
    this.expectContinue = false;
  }
}

/** Raises the error for an unexpected char: bare CR/LF get their own code. */
export function charError(
  s: string,
  i: number,
  code: ParseErrorCode,
  what: string,
): HttpParseError {
  const c = s.charCodeAt(i);
  if (c === LF || (c === CR && s.charCodeAt(i + 1) !== LF)) {
    return new HttpParseError(
      "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
      `Cannot parse ${what}: bare ${c === LF ? "LF" : "CR"} where CRLF is required`,
    );
  }
  const shown = c >= 0x21 && c < 0x7f ? `"${s[i]}"` : `0x${c.toString(16).padStart(2, "0")}`;
  return new HttpParseError(code, `Cannot parse ${what}: unexpected character ${shown} at ${i}`);
}

/** The error for a control character in a field name or value. */
export function controlError(c: number, where: string): HttpParseError {
  return new HttpParseError(
    where === "field name"
      ? "SLUICE_ERR_HTTP_INVALID_HEADER_NAME"
      : "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE",
    `Cannot parse ${where}: control character 0x${c.toString(16).padStart(2, "0")}`,
  );
}

/** The error for a bare CR or LF in a head or a trailer section. */
export function lineEndingError(which: "CR" | "LF", trailers: boolean): HttpParseError {
  return new HttpParseError(
    "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
    `Cannot parse ${trailers ? "trailer section" : "head"}: bare ${which} where CRLF is required`,
  );
}

/**
 * Where the scanner found each line's colon and end, relative to the start of
 * the head: `marks[2k]` is line k's colon, `marks[2k + 1]` its CR. Line 0 of
 * a head is the start line. Valid for `count` lines when the head is clean.
 */
export interface LineMarks {
  marks: Uint32Array;
  count: number;
  /** The bytes the head was scanned in, and where the head starts in them. */
  bytes: Uint8Array;
  start: number;
}

/**
 * Field lines of a head the scanner found clean (ASCII, names are tokens,
 * values hold no control characters): only slicing and trimming remain.
 * `first` is the index of the first field line (1 after a start line).
 */
export function parseFieldsFast(
  s: string,
  first: number,
  lines: LineMarks,
  facts: FieldFacts | null,
  opts?: FieldOptions,
): string[] {
  const marks = lines.marks;
  const out: string[] = new Array(2 * (lines.count - first));
  let j = 0;
  let ls = first === 0 ? 0 : marks[2 * first - 1] + 2;
  for (let k = first; k < lines.count; k++) {
    const colon = marks[2 * k];
    const le = marks[2 * k + 1];
    let vs = colon + 1;
    let c = s.charCodeAt(vs);
    while (c === SP || c === HTAB) c = s.charCodeAt(++vs);
    let ve = le;
    while (ve > vs && ((c = s.charCodeAt(ve - 1)) === SP || c === HTAB)) ve--;
    const name = s.slice(ls, colon);
    const value = ve > vs ? s.slice(vs, ve) : "";
    out[j++] = name;
    out[j++] = value;
    if (facts !== null) interpret(name, value, facts, opts!);
    ls = le + 2;
  }
  return out;
}

/** Lenient switches that field parsing honours. */
export interface FieldOptions {
  obsFold: boolean;
  duplicateContentLength: boolean;
}

/**
 * Parses the field lines of `s` from `pos` to its final empty line into `out` (flat
 * name/value pairs). When `facts` is given, framing fields are interpreted
 * into it (heads); trailers pass `null`.
 */
export function parseFields(
  s: string,
  pos: number,
  out: string[],
  facts: FieldFacts | null,
  opts: FieldOptions,
  exact: boolean,
): void {
  const n = s.length - 2; // the empty line that ends the section
  const valueTable = exact ? FIELD_VALUE : FIELD_VALUE_ASCII;
  while (pos < n) {
    const ns = pos;
    let c = s.charCodeAt(pos);
    if (c === SP || c === HTAB) {
      throw new HttpParseError(
        "SLUICE_ERR_HTTP_OBS_FOLD",
        out.length === 0
          ? "Cannot parse field line: whitespace before the first field name"
          : "Cannot parse field line: obs-fold (line folding) is not allowed",
      );
    }
    while (TOKEN[s.charCodeAt(pos)] === 1) pos++;
    const ne = pos;
    c = s.charCodeAt(pos);
    if (c !== COLON || ne === ns) {
      if (ne > ns && (c === SP || c === HTAB)) {
        let j = pos;
        while (s.charCodeAt(j) === SP || s.charCodeAt(j) === HTAB) j++;
        if (s.charCodeAt(j) === COLON) {
          throw new HttpParseError(
            "SLUICE_ERR_HTTP_SPACE_BEFORE_COLON",
            `Cannot parse field "${s.slice(ns, ne)}": whitespace between field name and colon`,
          );
        }
      }
      if (c === COLON) {
        throw new HttpParseError(
          "SLUICE_ERR_HTTP_INVALID_HEADER_NAME",
          "Cannot parse field line: empty field name",
        );
      }
      throw charError(s, pos, "SLUICE_ERR_HTTP_INVALID_HEADER_NAME", "field name");
    }
    pos++;
    const name = s.slice(ns, ne);
    pos = scanValue(s, pos, valueTable, exact, name);
    let value = s.slice(valueSpan.start, valueSpan.end);
    c = s.charCodeAt(pos);
    while (c === SP || c === HTAB) {
      if (!opts.obsFold) {
        throw new HttpParseError(
          "SLUICE_ERR_HTTP_OBS_FOLD",
          `Cannot parse field "${name}": obs-fold (line folding) is not allowed`,
        );
      }
      // RFC 9112 §5.2: replace each obs-fold with SP before interpreting.
      pos = scanValue(s, pos, valueTable, exact, name);
      const { start, end } = valueSpan;
      if (end > start) {
        value = value.length === 0 ? s.slice(start, end) : `${value} ${s.slice(start, end)}`;
      }
      c = s.charCodeAt(pos);
    }
    out.push(name, value);
    if (facts !== null) interpret(name, value, facts, opts);
  }
}

/** Where the last {@linkcode scanValue} found the value, without surrounding whitespace. */
const valueSpan = { start: 0, end: 0 };

/**
 * Checks one field value (or obs-fold continuation) from `pos`, skipping
 * leading whitespace; records its trimmed span in {@linkcode valueSpan} and
 * returns the position after its CRLF.
 */
function scanValue(
  s: string,
  pos: number,
  table: Uint8Array,
  exact: boolean,
  name: string,
): number {
  let c: number;
  while ((c = s.charCodeAt(pos)) === SP || c === HTAB) pos++;
  const start = pos;
  let end = pos;
  for (;;) {
    c = s.charCodeAt(pos);
    if (table[c] !== 1) {
      if (c === CR && s.charCodeAt(pos + 1) === LF) break;
      if (c >= 0x80 && !exact) throw NEEDS_EXACT_DECODE;
      throw charError(s, pos, "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE", `value of field "${name}"`);
    }
    if (c !== SP && c !== HTAB) end = pos + 1;
    pos++;
  }
  valueSpan.start = start;
  valueSpan.end = end;
  return pos + 2;
}

function interpret(name: string, value: string, facts: FieldFacts, opts: FieldOptions): void {
  switch (name.length) {
    case 4:
      if (facts.request && equalsName(name, "host")) {
        if (++facts.hostCount > 1) {
          throw new HttpParseError(
            "SLUICE_ERR_HTTP_DUPLICATE_HOST",
            "Cannot accept request: more than one Host field",
          );
        }
        facts.host = value;
      }
      return;
    case 6:
      if (equalsName(name, "expect") && equalsName(value, "100-continue")) {
        facts.expectContinue = true;
      }
      return;
    case 7:
      // An empty Upgrade names no protocol: nothing to switch to.
      if (value.length > 0 && equalsName(name, "upgrade")) facts.hasUpgrade = true;
      return;
    case 10:
      if (equalsName(name, "connection")) connectionTokens(value, facts);
      return;
    case 14:
      if (equalsName(name, "content-length")) contentLength(value, facts, opts);
      return;
    case 17:
      if (equalsName(name, "transfer-encoding")) {
        facts.transferEncoding = facts.transferEncoding === null
          ? value
          : `${facts.transferEncoding},${value}`;
      }
      return;
  }
}

/** Case-insensitive comparison with a lowercase ASCII name. */
export function equalsName(s: string, lower: string): boolean {
  return s.length === lower.length && equalsAt(s, 0, lower);
}

/** Whether `s` holds `lower` at `start`, ignoring ASCII case (`lower` is lowercase letters, digits, "-"). */
function equalsAt(s: string, start: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    if ((s.charCodeAt(start + i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function connectionTokens(value: string, facts: FieldFacts): void {
  const n = value.length;
  // The two values nearly every message carries, without the list walk.
  if (n === 10 && equalsAt(value, 0, "keep-alive")) {
    facts.connectionKeepAlive = true;
    return;
  }
  if (n === 5 && equalsAt(value, 0, "close")) {
    facts.connectionClose = true;
    return;
  }
  // #element = token, separated by commas with optional whitespace (RFC 9110 §5.6.1).
  let i = 0;
  while (i < n) {
    let start = i;
    while (i < n && value.charCodeAt(i) !== 0x2c) i++;
    let end = i++;
    let c: number;
    while (start < end && ((c = value.charCodeAt(start)) === SP || c === HTAB)) start++;
    while (end > start && ((c = value.charCodeAt(end - 1)) === SP || c === HTAB)) end--;
    switch (end - start) {
      case 5:
        if (equalsAt(value, start, "close")) facts.connectionClose = true;
        break;
      case 7:
        if (equalsAt(value, start, "upgrade")) facts.connectionUpgrade = true;
        break;
      case 10:
        if (equalsAt(value, start, "keep-alive")) facts.connectionKeepAlive = true;
        break;
    }
  }
}

const MAX_LENGTH = Number.MAX_SAFE_INTEGER;

/** Parses 1*DIGIT strictly (leading zeros allowed); -1 when not a valid length. */
function digits(value: string, start: number, end: number): number {
  if (end <= start) return -1;
  let i = start;
  while (i < end - 1 && value.charCodeAt(i) === 0x30) i++;
  if (end - i > 16) return -1;
  let n = 0;
  for (; i < end; i++) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n > MAX_LENGTH ? -1 : n;
}

function contentLength(value: string, facts: FieldFacts, opts: FieldOptions): void {
  let n = digits(value, 0, value.length);
  if (n < 0) {
    if (!value.includes(",")) {
      throw new HttpParseError(
        "SLUICE_ERR_HTTP_INVALID_CONTENT_LENGTH",
        `Cannot parse Content-Length "${value}": not a decimal length up to 2^53-1`,
      );
    }
    // A list such as "5, 5": allowed only leniently and only when all agree.
    const parts = value.split(",").map((p) => p.replace(/^[ \t]+|[ \t]+$/g, ""));
    const values = parts.map((p) => digits(p, 0, p.length));
    if (values.some((v) => v < 0)) {
      throw new HttpParseError(
        "SLUICE_ERR_HTTP_INVALID_CONTENT_LENGTH",
        `Cannot parse Content-Length "${value}": not a decimal length up to 2^53-1`,
      );
    }
    if (!opts.duplicateContentLength || values.some((v) => v !== values[0])) {
      throw new HttpParseError(
        "SLUICE_ERR_HTTP_DUPLICATE_CONTENT_LENGTH",
        `Cannot accept Content-Length "${value}": a list of lengths`,
      );
    }
    n = values[0];
  }
  if (facts.contentLength !== -1 && (!opts.duplicateContentLength || facts.contentLength !== n)) {
    throw new HttpParseError(
      "SLUICE_ERR_HTTP_DUPLICATE_CONTENT_LENGTH",
      "Cannot accept message: more than one Content-Length",
    );
  }
  facts.contentLength = n;
}

/**
 * Checks a Transfer-Encoding list; returns whether it ends in `chunked`.
 * `request` makes a non-final chunked a 400 (RFC 9112 §6.3); any coding other
 * than chunked is unsupported (501), since the codec does not decode them.
 */
export function checkTransferEncoding(value: string, request: boolean): boolean {
  const codings = value.split(",");
  let last = "";
  let chunkedSeen = false;
  let other = "";
  for (let k = 0; k < codings.length; k++) {
    const raw = codings[k];
    const semi = raw.indexOf(";");
    const coding = (semi === -1 ? raw : raw.slice(0, semi)).replace(/^[ \t]+|[ \t]+$/g, "")
      .toLowerCase();
    if (coding === "") continue; // empty list elements are ignored (RFC 9110 §5.6.1.2)
    if (coding === "chunked") {
      if (semi !== -1) {
        // chunked defines no parameters (RFC 9112 §7.1): framing must not be ambiguous.
        throw new HttpParseError(
          "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
          `Cannot accept Transfer-Encoding "${value}": chunked takes no parameters`,
        );
      }
      if (chunkedSeen) {
        throw new HttpParseError(
          "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
          `Cannot accept Transfer-Encoding "${value}": chunked applied more than once`,
        );
      }
      chunkedSeen = true;
    } else if (other === "") other = coding;
    last = coding;
  }
  if (last === "") {
    throw new HttpParseError(
      "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
      "Cannot accept an empty Transfer-Encoding: it names no coding",
    );
  }
  if (last !== "chunked" && request) {
    throw new HttpParseError(
      "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
      `Cannot accept Transfer-Encoding "${value}": chunked must be the final coding`,
    );
  }
  if (other !== "" || last !== "chunked") {
    throw new HttpParseError(
      "SLUICE_ERR_HTTP_UNSUPPORTED_TRANSFER_ENCODING",
      `Cannot decode Transfer-Encoding "${value}": only chunked is supported`,
    );
  }
  return true;
}
