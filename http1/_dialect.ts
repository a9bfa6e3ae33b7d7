// What the shared push parser (_parser_core.ts) needs from the request and
// response parsers: the dialect that turns a head's text into a head object,
// and the scratch array the head scanner marks field lines in.

import type { FieldOptions, LineMarks } from "./_fields.ts";
import type { HttpParseError } from "./errors.ts";

/**
 * What differs between parsing requests and responses: turning a head's text
 * into a head object, and the start line's errors.
 */
export interface Dialect<Head> {
  /**
   * Turns the text of a head (start line and field lines, each ending with
   * CRLF, then the empty line) into a head object. With `lines`, the scanner
   * found the head clean and says where each field's colon and end are; with
   * `null`, the head must be parsed carefully (and `exact` false means that a
   * char ≥ 0x80 must throw `NEEDS_EXACT_DECODE` (_fields.ts)).
   */
  parseHead(text: string, lines: LineMarks | null, exact: boolean, fields: FieldOptions): Head;
  /** Whether the head is an interim (1xx, not 101) response, after which another head follows. */
  isInterim(head: Head): boolean;
  /** The error for a start line holding a control character, from the line up to that character. */
  startLineError(partial: string): HttpParseError;
  /** The error for a start line over the limit. */
  tooLongStartLine(limit: number): HttpParseError;
}

let shared = new Uint32Array(2 * (128 + 2));

/** The module's scratch array for field marks, grown to `size` when a parser allows more fields. */
export function sharedMarks(size: number): Uint32Array {
  if (shared.length < size) shared = new Uint32Array(size);
  return shared;
}
