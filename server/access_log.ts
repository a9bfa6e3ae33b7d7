/**
 * aiohttp's access log format, compiled once into a function that turns an
 * {@linkcode AccessLogEntry} into a line.
 *
 * | directive  | what it prints                                                        |
 * | ---------- | --------------------------------------------------------------------- |
 * | `%%`       | a percent sign                                                        |
 * | `%a`       | the client's address (after trusted proxy headers), `-` when unknown  |
 * | `%t`       | when the request arrived, local time: `[10/Oct/2000:13:55:36 +0200]`  |
 * | `%P`       | the id of the process that served it: `<1234>`                       |
 * | `%r`       | the request line: `GET /path?q=1 HTTP/1.1`                            |
 * | `%s`       | the status sent (`0` when none could be)                              |
 * | `%b`       | body bytes sent, not counting the head                                |
 * | `%T`       | the time taken, whole seconds (rounded)                               |
 * | `%Tf`      | the time taken, seconds with six decimals                             |
 * | `%D`       | the time taken, microseconds                                          |
 * | `%{Name}i` | a request header, `-` when absent                                     |
 * | `%{Name}o` | a response header, `-` when absent                                    |
 *
 * Where aiohttp keeps an unknown directive as it is (and fails on
 * `%{Name}e`), {@linkcode compileAccessLogFormat} refuses it with a
 * `TypeError`, so that a typo shows when the server starts.
 *
 * @module
 */

import type { AccessLogEntry } from "./types.ts";

/**
 * aiohttp's default format: `%a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"`.
 *
 * @example
 * ```ts
 * import { DEFAULT_ACCESS_LOG_FORMAT } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.ok(DEFAULT_ACCESS_LOG_FORMAT.startsWith("%a %t"));
 * ```
 */
export const DEFAULT_ACCESS_LOG_FORMAT = '%a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"';

type Part = (entry: AccessLogEntry) => string;

// Every runtime has a global `process` (Deno 2 too); read it without importing node:process,
// which server/ does not depend on.
const pid = (globalThis as { process?: { pid?: number } }).process?.pid;
const PID = pid === undefined ? "-" : `<${pid}>`;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const two = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/** `[10/Oct/2000:13:55:36 +0200]` in the local time zone, like strftime's `%d/%b/%Y:%H:%M:%S %z`. */
function clf(ms: number): string {
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return `[${two(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ` +
    `${sign}${two(Math.floor(abs / 60))}${two(abs % 60)}]`;
}

const DIRECTIVES: Record<string, Part> = {
  a: (e) => e.remote || "-",
  t: (e) => clf(e.startTime),
  P: () => PID,
  r: (e) => `${e.method} ${e.target} HTTP/${e.httpVersion}`,
  s: (e) => `${e.status}`,
  b: (e) => `${e.bytesSent}`,
  T: (e) => `${Math.round(e.durationMs / 1000)}`,
  Tf: (e) => (e.durationMs / 1000).toFixed(6),
  D: (e) => `${Math.round(e.durationMs * 1000)}`,
};

// A directive: %{Name}i or %{Name}o (a header), or one of the letters above (Tf before T).
const DIRECTIVE = /%(?:\{([A-Za-z0-9\-_]+)\}([io])|(Tf|[atPrsbTD%]))/y;

/**
 * Compiles an access log format (see the module documentation for the
 * directives) into a function that formats one entry. Throws `TypeError` on
 * a `%` that starts no known directive.
 *
 * @param format The format; default {@linkcode DEFAULT_ACCESS_LOG_FORMAT}.
 * @returns A function from an entry to its line (without a line break).
 *
 * @example
 * ```ts
 * import { compileAccessLogFormat } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const format = compileAccessLogFormat('%a "%r" %s %b %{X-Id}o');
 * const line = format({
 *   remote: "127.0.0.1",
 *   startTime: Date.now(),
 *   method: "GET",
 *   target: "/a?b=1",
 *   httpVersion: "1.1",
 *   status: 200,
 *   bytesSent: 5,
 *   durationMs: 1.5,
 *   requestHeader: () => null,
 *   responseHeader: (name) => (name === "X-Id" ? "42" : null),
 * });
 * assert.equal(line, '127.0.0.1 "GET /a?b=1 HTTP/1.1" 200 5 42');
 * ```
 */
export function compileAccessLogFormat(
  format: string = DEFAULT_ACCESS_LOG_FORMAT,
): (entry: AccessLogEntry) => string {
  if (typeof format !== "string") {
    throw new TypeError(`Cannot compile the access log format: ${typeof format} is not a string`);
  }
  const parts: Array<string | Part> = [];
  let literal = "";
  let at = 0;
  while (at < format.length) {
    const percent = format.indexOf("%", at);
    if (percent < 0) {
      literal += format.slice(at);
      break;
    }
    literal += format.slice(at, percent);
    DIRECTIVE.lastIndex = percent;
    const match = DIRECTIVE.exec(format);
    if (match === null) {
      const shown = format.slice(percent, percent + 2);
      throw new TypeError(
        `Cannot compile the access log format: unknown directive "${shown}" at ${percent} (write "%%" for a percent sign)`,
      );
    }
    at = DIRECTIVE.lastIndex;
    const [, header, side, letter] = match;
    if (letter === "%") {
      literal += "%";
      continue;
    }
    if (literal) parts.push(literal);
    literal = "";
    if (header !== undefined) {
      parts.push(
        side === "i"
          ? (e) => e.requestHeader(header) ?? "-"
          : (e) => e.responseHeader(header) ?? "-",
      );
    } else {
      parts.push(DIRECTIVES[letter]);
    }
  }
  if (literal) parts.push(literal);
  return (entry) => {
    let line = "";
    for (const part of parts) line += typeof part === "string" ? part : part(entry);
    return line;
  };
}

/**
 * An access logger for `ServerOptions.onAccess`: formats each entry with
 * `format` and hands the line to `write` (default `console.log`, so to
 * standard output). A `write` that throws is not the request's problem: the
 * error goes to `console.error` and serving goes on.
 *
 * @param format The format; default {@linkcode DEFAULT_ACCESS_LOG_FORMAT}.
 * @param write Where lines go; default `console.log`.
 * @returns The function to install as `onAccess`.
 *
 * @example Collect lines in memory
 * ```ts
 * import { createAccessLogger } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const log = createAccessLogger("%s %b", (line) => lines.push(line));
 * log({
 *   remote: "::1",
 *   startTime: Date.now(),
 *   method: "GET",
 *   target: "/",
 *   httpVersion: "1.1",
 *   status: 404,
 *   bytesSent: 9,
 *   durationMs: 0.2,
 *   requestHeader: () => null,
 *   responseHeader: () => null,
 * });
 * assert.deepEqual(lines, ["404 9"]);
 * ```
 */
export function createAccessLogger(
  format?: string,
  write: (line: string) => void = (line) => console.log(line),
): (entry: AccessLogEntry) => void {
  const toLine = compileAccessLogFormat(format);
  return (entry) => {
    try {
      write(toLine(entry));
    } catch (error) {
      console.error("Cannot write the access log line:", error);
    }
  };
}
