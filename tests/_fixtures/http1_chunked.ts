// Chunked bodies (RFC 9112 §7.1): sizes, extensions, data, trailers, on
// requests unless a case says `kind: "response"`.

import type { ParseCase } from "./http1_types.ts";

const HEAD = "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
const head = ["head", { framing: "chunked", contentLength: -1 }] as const;
const done = ["complete", null] as const;

/** A chunked request whose body is `body`, read as `data` then complete with `trailers`. */
function ok(name: string, body: string, data: string, trailers: string[] | null = null): ParseCase {
  return {
    name,
    input: HEAD + body,
    events: data === ""
      ? [head, ["complete", trailers]]
      : [head, ["body", data], ["complete", trailers]],
    state: "idle",
  };
}

/** A chunked request whose body is `body`: `data` arrives, then `error`. */
function bad(name: string, body: string, error: ParseCase["error"], data = ""): ParseCase {
  return { name, input: HEAD + body, events: data === "" ? [head] : [head, ["body", data]], error };
}

const FAKE_END = "\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n\r\n";
const BIG = "0123456789abcdef".repeat(16);

export const CHUNKED_CASES: readonly ParseCase[] = [
  // --- well-formed ---------------------------------------------------------
  ok("reads one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"),
  ok("reads several chunks", "3\r\nabc\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n", "abcdef"),
  ok("reads an empty chunked body", "0\r\n\r\n", ""),
  ok("reads an upper-case hex size", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789"),
  ok("reads a lower-case hex size", "a\r\n0123456789\r\n0\r\n\r\n", "0123456789"),
  ok("reads a size with leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello"),
  ok("reads a size of sixteen hex digits", "0000000000000005\r\nhello\r\n0\r\n\r\n", "hello"),
  ok("reads a 256-byte chunk", `100\r\n${BIG}\r\n0\r\n\r\n`, BIG),
  ok("passes binary chunk data through", "4\r\n\x00\r\n\xff\r\n0\r\n\r\n", "\x00\r\n\xff"),
  ok(
    "reads chunk data that looks like the end of the body",
    `${FAKE_END.length.toString(16)}\r\n${FAKE_END}\r\n0\r\n\r\n`,
    FAKE_END,
  ),
  ok("accepts a chunk extension with a token value", "5;a=b\r\nhello\r\n0\r\n\r\n", "hello"),
  ok("accepts a chunk extension with a quoted value", '5;a="q s"\r\nhello\r\n0\r\n\r\n', "hello"),
  ok(
    "accepts an escaped quote in a quoted extension",
    '5;a="x\\"y;z"\r\nhello\r\n0\r\n\r\n',
    "hello",
  ),
  ok(
    "accepts HTAB and obs-text in a quoted extension",
    '5;a="\tcaf\xe9"\r\nhello\r\n0\r\n\r\n',
    "hello",
  ),
  ok("accepts BWS before the extension semicolon", "5 ;a\r\nhello\r\n0\r\n\r\n", "hello"),
  ok("accepts several extensions", '5;a;b=c;d="e"\r\nhello\r\n0\r\n\r\n', "hello"),
  ok("accepts BWS around extension parts", "5 ; a = b\r\nhello\r\n0\r\n\r\n", "hello"),
  ok(
    "accepts tchar in extension names and values",
    "5;!#$%&'*+-.^_`|~=!#$%&'*+-.^_`|~\r\nhello\r\n0\r\n\r\n",
    "hello",
  ),
  ok("accepts an extension on the last chunk", "5\r\nhello\r\n0;done=1\r\n\r\n", "hello"),
  ok("passes one trailer field", "5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n", "hello", [
    "X-Checksum",
    "abc",
  ]),
  ok(
    "passes trailer fields in order, trimmed",
    "0\r\nA: 1\r\nb:2 \r\nA:\t3\r\n\r\n",
    "",
    ["A", "1", "b", "2", "A", "3"],
  ),
  ok("passes an empty trailer value", "1\r\nx\r\n0\r\nX-Empty:\r\n\r\n", "x", ["X-Empty", ""]),
  ok(
    "passes framing fields in trailers through without reading them",
    "1\r\nx\r\n0\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n",
    "x",
    ["Content-Length", "99", "Transfer-Encoding", "chunked"],
  ),
  {
    name: "folds a trailer obs-fold when lenient",
    input: `${HEAD}0\r\nX: a\r\n b\r\n\r\n`,
    options: { lenient: { obsFold: true } },
    events: [head, ["complete", ["X", "a b"]]],
  },
  {
    name: "parses a request pipelined after a chunked body",
    input: `${HEAD}2\r\nhi\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n`,
    events: [head, ["body", "hi"], done, ["head", { target: "/next" }], done],
    state: "idle",
  },
  {
    name: "reads a chunk size of 2^53-1",
    input: `${HEAD}1fffffffffffff\r\nabc`,
    events: [head, ["body", "abc"]],
    state: "body",
    finish: false,
  },
  {
    name: "reads a chunk size beyond 2^32 without wrapping",
    input: `${HEAD}100000005\r\nhello\r\n`,
    events: [head, ["body", "hello\r\n"]],
    state: "body",
    finish: false,
  },
  {
    name: "reads a chunked response",
    kind: "response",
    input:
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n",
    events: [["head", { status: 200, framing: "chunked" }], ["body", "hello world"], done],
    state: "idle",
  },
  {
    name: "passes response trailers",
    kind: "response",
    input:
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Server-Timing\r\n\r\n0\r\nServer-Timing: db;dur=53\r\n\r\n",
    events: [["head", { status: 200 }], ["complete", ["Server-Timing", "db;dur=53"]]],
  },

  // --- chunk size ----------------------------------------------------------
  bad(
    "rejects a 0x prefix on a chunk size",
    "0x5\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
  ),
  bad(
    "rejects a space before a chunk size",
    " 5\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
  ),
  bad(
    "rejects an underscore in a chunk size",
    "5_0\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
  ),
  bad(
    "rejects an empty chunk size",
    "\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
  ),
  bad(
    "rejects a non-hex chunk size",
    "g\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
  ),
  bad(
    "rejects a negative chunk size",
    "-5\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
  ),
  bad(
    "rejects a plus sign on a chunk size",
    "+5\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
  ),
  bad(
    "rejects seventeen hex digits",
    "fffffffffffffffff\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
  ),
  bad(
    "rejects seventeen hex digits even with leading zeros",
    "00000000000000005\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
  ),
  bad(
    "rejects a chunk size of 2^53",
    "20000000000000\r\nhello\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
  ),
  bad(
    "rejects a chunk size of 2^64+5",
    "10000000000000005\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
  ),
  bad(
    "rejects a chunk size of 2^64-1",
    "ffffffffffffffff\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
  ),
  bad("rejects a decimal point in a chunk size", "5.0\r\nhello\r\n0\r\n\r\n", [
    "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
  ]),
  bad("rejects a second number after a chunk size", "5 5\r\nhello\r\n0\r\n\r\n", [
    "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
  ]),
  bad("rejects NUL after a chunk size", "5\x00\r\nhello\r\n0\r\n\r\n", [
    "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
  ]),

  // --- line endings and data -----------------------------------------------
  bad(
    "rejects a bare LF after a chunk size",
    "5\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
  ),
  bad("rejects a bare CR after a chunk size", "5\rhello\r\n0\r\n\r\n", [
    "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
  ]),
  bad("rejects a bare LF after the last chunk", "0\n\r\n", "SLUICE_ERR_HTTP_INVALID_LINE_ENDING"),
  bad(
    "rejects a bare LF ending the trailer section",
    "0\r\n\n",
    "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
  ),
  bad(
    "rejects a bare LF after a trailer field",
    "0\r\nX: 1\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
  ),
  bad(
    "rejects chunk data longer than its size",
    "5\r\nhelloX\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_DATA",
    "hello",
  ),
  bad(
    "rejects chunk data shorter than its size",
    "7\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_DATA",
    "hello\r\n",
  ),
  bad("rejects a bare LF after chunk data", "5\r\nhello\n0\r\n\r\n", [
    "SLUICE_ERR_HTTP_INVALID_CHUNK_DATA",
    "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
  ], "hello"),
  bad("rejects a bare CR after chunk data", "5\r\nhello\r0\r\n\r\n", [
    "SLUICE_ERR_HTTP_INVALID_CHUNK_DATA",
    "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
  ], "hello"),

  // --- extensions ----------------------------------------------------------
  bad(
    "rejects a semicolon without an extension name",
    "5;\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
  ),
  bad(
    "rejects an extension without a name",
    "5;=b\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
  ),
  bad(
    "rejects an extension with an empty value",
    "5;a=\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
  ),
  bad(
    "rejects an unterminated quoted extension",
    '5;a="x\r\nhello\r\n0\r\n\r\n',
    "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
  ),
  bad(
    "rejects a control character in an extension",
    "5;a\x01\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
  ),
  bad(
    "rejects NUL in a quoted extension",
    '5;a="x\x00"\r\nhello\r\n0\r\n\r\n',
    "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
  ),
  bad(
    "rejects a bare CR inside an extension",
    "5;a\rb\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
  ),
  bad("rejects a bare LF inside an extension", "5;a\nb\r\nhello\r\n0\r\n\r\n", [
    "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
    "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
  ]),
  bad("rejects a bare LF inside a quoted extension", '5;a="x\ny"\r\nhello\r\n0\r\n\r\n', [
    "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
    "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
  ]),
  bad(
    "rejects a space inside an extension name",
    "5;a b\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
  ),
  bad(
    "rejects a separator in an extension value",
    "5;a=b@c\r\nhello\r\n0\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
  ),
  bad(
    "rejects text after a quoted extension value",
    '5;a="b"c\r\nhello\r\n0\r\n\r\n',
    "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
  ),

  // --- trailers ------------------------------------------------------------
  bad("rejects obs-fold in trailers", "0\r\nX: a\r\n b\r\n\r\n", "SLUICE_ERR_HTTP_OBS_FOLD"),
  bad(
    "rejects a space before the colon in a trailer",
    "0\r\nX : a\r\n\r\n",
    "SLUICE_ERR_HTTP_SPACE_BEFORE_COLON",
  ),
  bad(
    "rejects an invalid trailer name",
    "0\r\nX@Y: a\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_HEADER_NAME",
  ),
  bad("rejects a trailer line without a colon", "0\r\nnot a field\r\n\r\n", [
    "SLUICE_ERR_HTTP_INVALID_HEADER_NAME",
    "SLUICE_ERR_HTTP_SPACE_BEFORE_COLON",
  ]),
  bad(
    "rejects NUL in a trailer value",
    "0\r\nX: a\x00\r\n\r\n",
    "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE",
  ),

  // --- end of input --------------------------------------------------------
  bad("reports EOF inside chunk data", "5\r\nhel", "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE", "hel"),
  bad("reports EOF inside a chunk size line", "5;a=", "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE"),
  bad(
    "reports EOF before the CRLF after chunk data",
    "5\r\nhello",
    "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE",
    "hello",
  ),
  bad(
    "reports EOF after the last chunk line",
    "5\r\nhello\r\n0\r\n",
    "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE",
    "hello",
  ),
  bad(
    "reports EOF inside the trailer section",
    "0\r\nX: 1\r\n",
    "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE",
  ),
  {
    name: "stays in the body state until the last chunk",
    input: `${HEAD}5\r\nhello\r\n`,
    events: [head, ["body", "hello"]],
    state: "body",
    finish: false,
  },
];
