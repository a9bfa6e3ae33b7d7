import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  HttpParseError,
  PARSE_ERROR_STATUS,
  type ParseErrorCode,
  type ParserOptions,
} from "../../http1/mod.ts";
import { bytes, errorEvent, makeParser, runAllFeedings, type RunSpec } from "./_harness.ts";

const CHUNKED = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

/** A limit: `at(n)` is a message whose limited part measures exactly `n`. */
interface Limit {
  name: string;
  kind: "request" | "response";
  option: keyof Omit<ParserOptions, "lenient">;
  defaultValue: number;
  small: number;
  code: ParseErrorCode;
  at(n: number): string;
  /** A prefix and a filler that, repeated forever, keep growing the limited part. */
  endless: [string, string];
  /** How many bytes of `endless` may go in before the limit of `value` is passed (2 bytes of slack). */
  budget(value: number): number;
}

const REQUEST_HEAD = "GET / HTTP/1.1\r\nHost: a\r\n";

function fields(count: number): string {
  let out = "";
  for (let i = 0; i < count; i++) out += `X-${i}: ${i}\r\n`;
  return out;
}

const LIMITS: Limit[] = [
  {
    name: "a request line",
    kind: "request",
    option: "maxRequestLineSize",
    defaultValue: 8190,
    small: 40,
    code: "SLUICE_ERR_HTTP_REQUEST_LINE_TOO_LONG",
    at: (n) => `GET /${"a".repeat(n - 14)} HTTP/1.1\r\nHost: a\r\n\r\n`,
    endless: ["GET /", "a"],
    budget: (v) => v + 2,
  },
  {
    name: "a status line",
    kind: "response",
    option: "maxRequestLineSize",
    defaultValue: 8190,
    small: 40,
    code: "SLUICE_ERR_HTTP_STATUS_LINE_TOO_LONG",
    at: (n) => `HTTP/1.1 200 ${"r".repeat(n - 13)}\r\nContent-Length: 0\r\n\r\n`,
    endless: ["HTTP/1.1 200 ", "r"],
    budget: (v) => v + 2,
  },
  {
    name: "a header field line",
    kind: "request",
    option: "maxHeaderSize",
    defaultValue: 8190,
    small: 30,
    code: "SLUICE_ERR_HTTP_HEADER_TOO_LARGE",
    at: (n) => `${REQUEST_HEAD}X: ${"v".repeat(n - 3)}\r\n\r\n`,
    endless: [`${REQUEST_HEAD}X: `, "v"],
    budget: (v) => REQUEST_HEAD.length + v + 2,
  },
  {
    name: "a header field name",
    kind: "request",
    option: "maxHeaderSize",
    defaultValue: 8190,
    small: 30,
    code: "SLUICE_ERR_HTTP_HEADER_TOO_LARGE",
    at: (n) => `${REQUEST_HEAD}${"N".repeat(n - 1)}:\r\n\r\n`,
    endless: [REQUEST_HEAD, "N"],
    budget: (v) => REQUEST_HEAD.length + v + 2,
  },
  {
    name: "a response header field line",
    kind: "response",
    option: "maxHeaderSize",
    defaultValue: 8190,
    small: 30,
    code: "SLUICE_ERR_HTTP_HEADER_TOO_LARGE",
    at: (n) => `HTTP/1.1 200 OK\r\nX: ${"v".repeat(n - 3)}\r\nContent-Length: 0\r\n\r\n`,
    endless: ["HTTP/1.1 200 OK\r\nX: ", "v"],
    budget: (v) => "HTTP/1.1 200 OK\r\n".length + v + 2,
  },
  {
    name: "a trailer field line",
    kind: "request",
    option: "maxHeaderSize",
    defaultValue: 8190,
    small: 30,
    code: "SLUICE_ERR_HTTP_HEADER_TOO_LARGE",
    at: (n) => `${CHUNKED}0\r\nT: ${"v".repeat(n - 3)}\r\n\r\n`,
    endless: [`${CHUNKED}0\r\nT: `, "v"],
    budget: (v) => `${CHUNKED}0\r\n`.length + v + 2,
  },
  {
    name: "a head's field count",
    kind: "request",
    option: "maxHeaders",
    defaultValue: 128,
    small: 4,
    code: "SLUICE_ERR_HTTP_TOO_MANY_HEADERS",
    at: (n) => `${REQUEST_HEAD}${fields(n - 1)}\r\n`,
    endless: [REQUEST_HEAD, "X: y\r\n"],
    budget: (v) => REQUEST_HEAD.length + v * "X: y\r\n".length + 2,
  },
  {
    name: "a trailer section's field count",
    kind: "request",
    option: "maxHeaders",
    defaultValue: 128,
    small: 4,
    code: "SLUICE_ERR_HTTP_TOO_MANY_HEADERS",
    at: (n) => `${CHUNKED}1\r\nx\r\n0\r\n${fields(n)}\r\n`,
    endless: [`${CHUNKED}0\r\n`, "T: y\r\n"],
    budget: (v) => `${CHUNKED}0\r\n`.length + (v + 1) * "T: y\r\n".length + 2,
  },
  {
    name: "the chunk extensions of one chunk",
    kind: "request",
    option: "maxChunkExtensionsSize",
    defaultValue: 16384,
    small: 10,
    code: "SLUICE_ERR_HTTP_CHUNK_EXTENSIONS_TOO_LARGE",
    at: (n) => `${CHUNKED}1;${"e".repeat(n - 1)}\r\nx\r\n0\r\n\r\n`,
    endless: [`${CHUNKED}1;`, "e"],
    budget: (v) => `${CHUNKED}1;`.length + v + 2,
  },
  {
    name: "the chunk extensions summed over a message",
    kind: "request",
    option: "maxChunkExtensionsSize",
    defaultValue: 16384,
    small: 10,
    code: "SLUICE_ERR_HTTP_CHUNK_EXTENSIONS_TOO_LARGE",
    at: (n) => {
      const first = Math.floor(n / 3);
      const second = Math.floor(n / 3);
      const last = n - first - second;
      return `${CHUNKED}1;${"a".repeat(first - 1)}\r\nx\r\n1;${"b".repeat(second - 1)}\r\ny\r\n0;${
        "c".repeat(last - 1)
      }\r\n\r\n`;
    },
    endless: [`${CHUNKED}1;a\r\nx\r\n`, "1;bbbbbbb\r\ny\r\n"],
    budget: (v) => `${CHUNKED}1;a\r\nx\r\n`.length + Math.ceil((v - 1) / 8) * 14 + 2,
  },
];

function spec(limit: Limit, value?: number): RunSpec {
  return { kind: limit.kind, options: value === undefined ? undefined : { [limit.option]: value } };
}

function assertAccepted(events: unknown[][], what: string) {
  const kinds = events.map((e) => e[0]);
  assert.ok(
    !kinds.includes("error") && !kinds.includes("violation"),
    `${what}: ${JSON.stringify(events.at(-1))}`,
  );
  assert.equal(kinds.at(-1), "complete", what);
}

function assertRejected(events: unknown[][], code: ParseErrorCode, what: string) {
  assert.deepEqual(events.at(-1), ["error", code], what);
}

/** Feeds `prefix` then `filler` repeatedly, `step` bytes at a time; returns how many bytes went in before the throw. */
function fedUntilThrow(
  limit: Limit,
  value: number | undefined,
  total: number,
  step: number,
): [number, unknown] {
  const parser = makeParser(spec(limit, value), []);
  const [prefix, filler] = limit.endless;
  const data = bytes(prefix + filler.repeat(Math.ceil((total - prefix.length) / filler.length)));
  for (let at = 0; at < data.length; at += step) {
    try {
      parser.feed(data.subarray(at, Math.min(data.length, at + step)));
    } catch (err) {
      return [Math.min(data.length, at + step), err];
    }
  }
  return [data.length, undefined];
}

describe("http1 parser limits", () => {
  test("PARSE_ERROR_STATUS maps the limit errors to 414, 400, 431 and 413", () => {
    assert.equal(PARSE_ERROR_STATUS.SLUICE_ERR_HTTP_REQUEST_LINE_TOO_LONG, 414);
    assert.equal(PARSE_ERROR_STATUS.SLUICE_ERR_HTTP_STATUS_LINE_TOO_LONG, 400);
    assert.equal(PARSE_ERROR_STATUS.SLUICE_ERR_HTTP_HEADER_TOO_LARGE, 431);
    assert.equal(PARSE_ERROR_STATUS.SLUICE_ERR_HTTP_TOO_MANY_HEADERS, 431);
    assert.equal(PARSE_ERROR_STATUS.SLUICE_ERR_HTTP_CHUNK_EXTENSIONS_TOO_LARGE, 413);
  });

  for (const limit of LIMITS) {
    const symbol = limit.kind === "request" ? "RequestParser" : "ResponseParser";

    test(`${symbol} accepts ${limit.name} of exactly the default ${limit.option} (${limit.defaultValue})`, () => {
      const result = runAllFeedings(limit.at(limit.defaultValue), spec(limit));
      assertAccepted(result.events, "default limit");
    });

    test(`${symbol} rejects ${limit.name} one over the default ${limit.option}`, () => {
      const result = runAllFeedings(limit.at(limit.defaultValue + 1), spec(limit));
      assertRejected(result.events, limit.code, "default limit + 1");
    });

    test(`${symbol} applies ${limit.option}: ${limit.small} to ${limit.name} at every split`, () => {
      assertAccepted(
        runAllFeedings(limit.at(limit.small), spec(limit, limit.small)).events,
        "at the limit",
      );
      assertRejected(
        runAllFeedings(limit.at(limit.small + 1), spec(limit, limit.small)).events,
        limit.code,
        "one over",
      );
      assertRejected(
        runAllFeedings(limit.at(limit.small + 9), spec(limit, limit.small)).events,
        limit.code,
        "far over",
      );
    });

    test(`${symbol} fails early on ${limit.name} that never ends`, () => {
      const value = limit.defaultValue;
      // Whole: 100 KB at once must throw the limit error, not wait for a line end.
      const [, whole] = fedUntilThrow(limit, undefined, 100_000, 100_000);
      assert.ok(whole instanceof HttpParseError, `no error in 100 KB: ${whole}`);
      assert.equal(whole.code, limit.code);
      // Byte by byte: the throw comes as soon as the limit is passed (slack for a CRLF look-ahead).
      const budget = limit.budget(value);
      const [fed, err] = fedUntilThrow(limit, undefined, budget + 4096, 1);
      assert.deepEqual(errorEvent(err), ["error", limit.code]);
      assert.ok(fed <= budget, `threw after ${fed} bytes, limit passed at ${budget}`);
    });
  }

  test("RequestParser reports a request line over the limit before a later bare CR, at every split", () => {
    const input = "GET /aaaaaaaaaaaaaaaaaaaa\rb HTTP/1.1\r\nHost: a\r\n\r\n";
    const result = runAllFeedings(input, { kind: "request", options: { maxRequestLineSize: 10 } });
    assert.deepEqual(result.events, [["error", "SLUICE_ERR_HTTP_REQUEST_LINE_TOO_LONG"]]);
  });

  test("RequestParser reports a field line over the limit before a later bare CR, at every split", () => {
    const input = "GET / HTTP/1.1\r\nHost: a\r\nX-Long: vvvvvvvvvvvvvvvvvvvv\rv\r\n\r\n";
    const result = runAllFeedings(input, { kind: "request", options: { maxHeaderSize: 12 } });
    assert.deepEqual(result.events, [["error", "SLUICE_ERR_HTTP_HEADER_TOO_LARGE"]]);
  });

  test("RequestParser counts maxHeaderSize per field line, not per head", () => {
    const lines = Array.from({ length: 3 }, (_, i) => `X-${i}: ${"v".repeat(8000)}\r\n`).join("");
    const result = runAllFeedings(`GET / HTTP/1.1\r\nHost: a\r\n${lines}\r\n`, { kind: "request" });
    assertAccepted(result.events, "3 lines of 8 KB");
  });

  test("RequestParser counts chunk extensions per message, not per connection", () => {
    const message = `${CHUNKED}1;${"e".repeat(9)}\r\nx\r\n0\r\n\r\n`;
    const result = runAllFeedings(message + message + message, {
      kind: "request",
      options: { maxChunkExtensionsSize: 10 },
    });
    assert.equal(result.events.filter((e) => e[0] === "complete").length, 3);
    assertAccepted(result.events, "three messages at the limit");
  });

  test("RequestParser fails early on a chunk size of endless zeros", () => {
    const parser = makeParser({ kind: "request" }, []);
    parser.feed(bytes(CHUNKED));
    let fed = 0;
    let caught: unknown;
    for (; fed < 100_000 && caught === undefined; fed++) {
      try {
        parser.feed(bytes("0"));
      } catch (err) {
        caught = err;
      }
    }
    assert.deepEqual(errorEvent(caught), ["error", "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE"]);
    assert.ok(fed <= 17, `threw after ${fed} digits`);
  });

  test("RequestParser fails early on endless whitespace after a chunk size", () => {
    const parser = makeParser({ kind: "request" }, []);
    parser.feed(bytes(`${CHUNKED}5`));
    let fed = 0;
    let caught: unknown;
    for (; fed < 100_000 && caught === undefined; fed++) {
      try {
        parser.feed(bytes(" "));
      } catch (err) {
        caught = err;
      }
    }
    assert.ok(caught instanceof HttpParseError, `no error after ${fed} spaces`);
    assert.ok(fed <= 16386, `threw after ${fed} spaces`);
  });
});
