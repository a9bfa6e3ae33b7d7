// The shape of the HTTP/1.1 parser conformance cases (tests/_fixtures/http1_*.ts).
// The harness in tests/http1/_harness.ts feeds each `input` whole, byte by
// byte and split at every point, and compares what the parser reports here.

import type {
  ParseErrorCode,
  ParserOptions,
  ParserState,
  RequestHead,
  ResponseHead,
} from "../../http1/mod.ts";

/**
 * One expected parser event. Heads are compared on the listed fields only, so
 * a case names the fields it is about; bodies are the concatenation of the
 * adjacent `onBody` chunks, decoded byte for byte (ISO-8859-1).
 */
export type ExpectedEvent =
  | readonly ["head", Partial<RequestHead> | Partial<ResponseHead>]
  | readonly ["body", string]
  | readonly ["complete", readonly string[] | null];

/** One conformance case: raw bytes in, events (and maybe an error) out. */
export interface ParseCase {
  /** Behaviour in words, starting with a verb: "rejects obs-fold". Unique per parser. */
  name: string;
  /** Which parser reads `input`. Default: the table's own parser. */
  kind?: "request" | "response";
  /** The bytes, one char per byte (`"\xff"` is byte 0xFF); line endings written out. */
  input: string;
  options?: ParserOptions;
  /** ResponseParser only: methods passed to `expect()` before feeding. */
  expect?: readonly string[];
  /** Every event the parser must emit, in order. Omitted: none (only for error cases). */
  events?: readonly ExpectedEvent[];
  /** The code of the HttpParseError that ends the run; a list when the RFCs allow either. */
  error?: ParseErrorCode | readonly ParseErrorCode[];
  /** `parser.state` once every byte was fed (before `finish()`). */
  state?: ParserState;
  /** `takeRemaining()` when the parser ends "upgraded". */
  remaining?: string;
  /** Call `finish()` after the input (EOF). Default true. */
  finish?: boolean;
}
