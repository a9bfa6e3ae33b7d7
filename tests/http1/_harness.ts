// Runs an HTTP/1.1 parser over one input in many feedings (whole, byte by
// byte, split at every point, in three pieces) and checks that every feeding
// reports the same events: a sans-I/O parser must not care how bytes arrive.

import assert from "node:assert/strict";
import {
  HttpParseError,
  PARSE_ERROR_STATUS,
  type ParserOptions,
  type ParserState,
  RequestParser,
  ResponseParser,
} from "../../http1/mod.ts";
import type { ExpectedEvent, ParseCase } from "../_fixtures/http1_types.ts";

/** What the handler saw, in order. Adjacent body chunks are merged. */
export type Event =
  | ["head", Record<string, unknown>]
  | ["body", string]
  | ["complete", string[] | null]
  | ["error", string]
  | ["violation", string];

/** The outcome of one feeding. */
export interface RunResult {
  events: Event[];
  /** `parser.state` after the last feed (before `finish()`). */
  state: ParserState;
  /** `takeRemaining()` when the parser ended "upgraded", else null. */
  remaining: string | null;
}

/** How to build and drive the parser. */
export interface RunSpec {
  kind: "request" | "response";
  options?: ParserOptions;
  /** ResponseParser: methods to `expect()` first. */
  expect?: readonly string[];
  /** Call `finish()` after the last chunk. Default true. */
  finish?: boolean;
}

/** One char per byte: `"\xff"` becomes 0xFF. Chars above 0xFF are a mistake in a case. */
export function bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`Cannot encode char ${c} at ${i}: above 0xFF`);
    out[i] = c;
  }
  return out;
}

/** Byte for byte (ISO-8859-1) back to a string. */
export function latin1(data: Uint8Array): string {
  let out = "";
  for (let i = 0; i < data.length; i += 4096) {
    out += String.fromCharCode(...data.subarray(i, Math.min(data.length, i + 4096)));
  }
  return out;
}

/** The parser for `spec`, with its events pushed to `events`. */
export function makeParser(
  spec: RunSpec,
  events: Event[],
): RequestParser | ResponseParser {
  const handler = {
    onHead(head: object) {
      const copy: Record<string, unknown> = { ...head };
      if (Array.isArray(copy.headers)) copy.headers = [...copy.headers];
      events.push(["head", copy]);
    },
    onBody(chunk: Uint8Array) {
      if (!(chunk instanceof Uint8Array)) {
        events.push(["violation", "onBody got a non-Uint8Array"]);
        return;
      }
      if (chunk.length === 0) {
        events.push(["violation", "onBody got an empty chunk"]);
        return;
      }
      const last = events[events.length - 1];
      if (last?.[0] === "body") last[1] += latin1(chunk);
      else events.push(["body", latin1(chunk)]);
    },
    onComplete(trailers: string[] | null) {
      events.push(["complete", trailers === null ? null : [...trailers]]);
    },
  };
  if (spec.kind === "request") return new RequestParser(handler, spec.options);
  const parser = new ResponseParser(handler, spec.options);
  for (const method of spec.expect ?? []) parser.expect(method);
  return parser;
}

/** An error as an event: a well-formed HttpParseError by code, anything else as a violation. */
export function errorEvent(err: unknown): Event {
  if (err instanceof HttpParseError) {
    if (err.status !== PARSE_ERROR_STATUS[err.code]) {
      return ["violation", `${err.code} with status ${err.status}`];
    }
    return ["error", err.code];
  }
  return ["violation", `threw ${err instanceof Error ? `${err.name}: ${err.message}` : err}`];
}

/**
 * Feeds `chunks` in order. With `scribble`, each chunk is a private copy that
 * is overwritten as soon as `feed()` returns: the caller may reuse its buffer,
 * so a parser that keeps views of fed bytes instead of copies shows up here.
 */
export function runChunks(
  chunks: readonly Uint8Array[],
  spec: RunSpec,
  scribble = false,
): RunResult {
  const events: Event[] = [];
  const parser = makeParser(spec, events);
  let failed = false;
  for (const original of chunks) {
    const chunk = scribble ? original.slice() : original;
    try {
      parser.feed(chunk);
    } catch (err) {
      events.push(errorEvent(err));
      failed = true;
      break;
    } finally {
      if (scribble) chunk.fill(0xee);
    }
  }
  const state = parser.state;
  let remaining: string | null = null;
  if (failed) {
    if (state !== "failed") events.push(["violation", `state ${state} after an error`]);
    try {
      parser.feed(bytes("GET / HTTP/1.1\r\n"));
      events.push(["violation", "feed after an error did not throw"]);
    } catch (err) {
      if (!(err instanceof HttpParseError)) events.push(errorEvent(err));
    }
  } else if (state === "upgraded") {
    remaining = latin1(parser.takeRemaining());
  } else if (spec.finish !== false) {
    try {
      parser.finish();
    } catch (err) {
      events.push(errorEvent(err));
    }
  }
  return { events, state, remaining };
}

/** Split points to try for an input of length `n`: all when short, a spread sample when long. */
function splitPoints(input: Uint8Array): number[] {
  const n = input.length;
  if (n <= 600) return Array.from({ length: Math.max(0, n - 1) }, (_, i) => i + 1);
  const points = new Set<number>();
  for (let i = 1; i < 40; i++) points.add(i).add(n - i);
  for (let i = 1; i < n && points.size < 160; i++) {
    // Around line endings and separators, where parsers switch state.
    const c = input[i];
    if (c === 0x0d || c === 0x0a || c === 0x3a || c === 0x3b) points.add(i).add(i + 1);
  }
  for (let k = 1; k < 64; k++) points.add(Math.floor((n * k) / 64));
  return [...points].filter((i) => i > 0 && i < n).sort((a, b) => a - b);
}

/** Every feeding of `input`, named: whole, byte by byte (views and copies), two and three pieces. */
export function* feedings(input: Uint8Array): Generator<[string, Uint8Array[], boolean]> {
  yield ["whole", [input], false];
  // The input as a view into a bigger buffer, at an odd offset.
  const padded = new Uint8Array(input.length + 12).fill(0x41);
  padded.set(input, 7);
  yield ["whole at byteOffset 7", [padded.subarray(7, 7 + input.length)], false];
  const single = Array.from({ length: input.length }, (_, i) => input.subarray(i, i + 1));
  yield ["byte by byte", single, false];
  yield ["byte by byte, buffers reused", single, true];
  yield ["with empty chunks", [new Uint8Array(0), input, new Uint8Array(0)], false];
  const points = splitPoints(input);
  for (const i of points) {
    yield [`split at ${i}`, [input.subarray(0, i), input.subarray(i)], false];
  }
  // Three pieces: every pair for short inputs, a bounded stride otherwise.
  const n = input.length;
  const stride = n <= 24 ? 1 : Math.ceil(n / 16);
  for (let i = 1; i < n; i += stride) {
    for (let j = i + 1; j < n; j += stride) {
      yield [
        `split at ${i} and ${j}`,
        [input.subarray(0, i), input.subarray(i, j), input.subarray(j)],
        false,
      ];
    }
  }
}

/**
 * Runs every feeding of `input` and asserts they agree with the whole one.
 * Returns the result of feeding it whole.
 */
export function runAllFeedings(input: string | Uint8Array, spec: RunSpec): RunResult {
  const data = typeof input === "string" ? bytes(input) : input;
  let reference: RunResult | undefined;
  let referenceJson = "";
  for (const [name, chunks, scribble] of feedings(data)) {
    const result = runChunks(chunks, spec, scribble);
    if (reference === undefined) {
      reference = result;
      referenceJson = JSON.stringify(result);
    } else if (JSON.stringify(result) !== referenceJson) {
      assert.deepStrictEqual(result, reference, `feeding "${name}" differs from feeding whole`);
    }
  }
  return reference!;
}

/** Projects actual heads onto the fields the expected heads name. */
function project(actual: Event[], expected: readonly ExpectedEvent[]): unknown[] {
  return actual.map((event, i) => {
    const want = expected[i];
    if (event[0] !== "head" || want?.[0] !== "head") return event;
    const fields: Record<string, unknown> = {};
    for (const key of Object.keys(want[1])) fields[key] = event[1][key];
    return ["head", fields];
  });
}

/** Runs one table case through every feeding and checks it against its expectation. */
export function checkCase(c: ParseCase, kind: "request" | "response"): RunResult {
  const spec: RunSpec = {
    kind: c.kind ?? kind,
    options: c.options,
    expect: c.expect,
    finish: c.finish,
  };
  const result = runAllFeedings(c.input, spec);
  const expected: unknown[] = (c.events ?? []).map((e) =>
    e[0] === "head"
      ? ["head", { ...e[1] }]
      : e[0] === "complete" && e[1]
      ? ["complete", [...e[1]]]
      : [...e]
  );
  if (c.error !== undefined) {
    const allowed: readonly string[] = typeof c.error === "string" ? [c.error] : c.error;
    const last = result.events[result.events.length - 1];
    const got = last?.[0] === "error" && allowed.includes(last[1]) ? last[1] : allowed.join(" | ");
    expected.push(["error", got]);
  }
  assert.deepStrictEqual(project(result.events, c.events ?? []), expected, "events");
  if (c.state !== undefined) assert.equal(result.state, c.state, "state after the input");
  assert.equal(result.remaining, c.remaining ?? null, "takeRemaining() after the upgrade");
  return result;
}
