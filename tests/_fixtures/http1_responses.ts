// Responses for ResponseParser (RFC 9112 §4, §6.3; RFC 9110 §15): status
// lines, body framing by status and request method, 1xx, upgrades.

import type { ParseCase } from "./http1_types.ts";

const done = ["complete", null] as const;

/** A status line `line` (without CRLF), expected to fail with `error`. */
function badStatus(name: string, line: string, error: ParseCase["error"]): ParseCase {
  return { name, input: `${line}\r\nContent-Length: 0\r\n\r\n`, error };
}

const LOOKS_LIKE_RESPONSE = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

export const RESPONSE_CASES: readonly ParseCase[] = [
  // --- framing -------------------------------------------------------------
  {
    name: "parses a 200 with Content-Length",
    input: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
    events: [
      ["head", {
        versionMinor: 1,
        status: 200,
        reason: "OK",
        headers: ["Content-Type", "text/plain", "Content-Length", "5"],
        keepAlive: true,
        upgrade: false,
        framing: "length",
        contentLength: 5,
      }],
      ["body", "hello"],
      done,
    ],
    state: "idle",
  },
  {
    name: "reads Content-Length: 0 as an empty body",
    input: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    events: [["head", { framing: "length", contentLength: 0 }], done],
    state: "idle",
  },
  {
    name: "reads a body without framing until EOF",
    input: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello world",
    events: [["head", { framing: "close", keepAlive: false, contentLength: -1 }], [
      "body",
      "hello world",
    ], done],
    state: "body",
  },
  {
    name: "ends an empty close-delimited body at EOF",
    input: "HTTP/1.1 200 OK\r\n\r\n",
    events: [["head", { framing: "close", keepAlive: false }], done],
  },
  {
    name: "waits for EOF to end a close-delimited body",
    input: "HTTP/1.1 200 OK\r\n\r\nabc",
    events: [["head", { framing: "close" }], ["body", "abc"]],
    state: "body",
    finish: false,
  },
  {
    name: "reads a response-looking close-delimited body as body",
    input: `HTTP/1.1 200 OK\r\n\r\n${LOOKS_LIKE_RESPONSE}`,
    events: [["head", { framing: "close" }], ["body", LOOKS_LIKE_RESPONSE], done],
  },
  {
    name: "reads an HTTP/1.0 response without Content-Length until EOF",
    input: "HTTP/1.0 200 OK\r\nServer: x\r\n\r\n\x00\x01binary",
    events: [["head", { versionMinor: 0, framing: "close", keepAlive: false }], [
      "body",
      "\x00\x01binary",
    ], done],
  },
  {
    name: "keeps an HTTP/1.0 response with keep-alive and Content-Length open",
    input: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
    events: [
      ["head", { versionMinor: 0, keepAlive: true, framing: "length" }],
      ["body", "ok"],
      done,
    ],
    state: "idle",
  },
  {
    name: "closes after a response with Connection: close and ignores the rest",
    input:
      "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\x00junk",
    events: [["head", { keepAlive: false }], ["body", "ok"], done],
    state: "finished",
  },
  {
    name: "reads no body on a 204 even with Content-Length",
    input: "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
    events: [["head", { status: 204, framing: "none", keepAlive: true }], done],
    state: "idle",
  },
  {
    name: "reads no body on a 204 without framing fields",
    input: "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
    events: [["head", { status: 204, framing: "none" }], done, ["head", { status: 200 }], [
      "body",
      "x",
    ], done],
  },
  {
    name: "reads no body on a 304 even with Content-Length",
    input: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\nETag: "x"\r\n\r\n',
    events: [["head", { status: 304, framing: "none" }], done],
    state: "idle",
  },
  {
    name: "reads no body on a response to HEAD",
    input: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
    expect: ["HEAD"],
    events: [["head", { status: 200, framing: "none", keepAlive: true }], done],
    state: "idle",
  },
  {
    name: "reads no body on a chunked response to HEAD",
    input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    expect: ["HEAD"],
    events: [["head", { framing: "none" }], done],
    state: "idle",
  },
  {
    name: "reads no body on an unframed response to HEAD",
    input: "HTTP/1.1 200 OK\r\n\r\n",
    expect: ["HEAD"],
    events: [["head", { framing: "none" }], done],
  },
  {
    name: "matches responses to expected methods in order",
    input:
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    expect: ["HEAD", "GET"],
    events: [["head", { framing: "none" }], done, ["head", { framing: "length" }], [
      "body",
      "hello",
    ], done],
    state: "idle",
  },
  {
    name: "parses two pipelined responses",
    input:
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nb",
    events: [
      ["head", { status: 200 }],
      ["body", "a"],
      done,
      ["head", { status: 404, reason: "Not Found" }],
      ["body", "b"],
      done,
    ],
  },

  // --- 1xx and upgrades ----------------------------------------------------
  {
    name: "reports 100 Continue before the final response",
    input: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    events: [
      ["head", { status: 100, reason: "Continue", framing: "none", upgrade: false }],
      done,
      ["head", { status: 200 }],
      ["body", "ok"],
      done,
    ],
    state: "idle",
  },
  {
    name: "reports 103 Early Hints before the final response",
    input:
      "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    events: [
      ["head", { status: 103, headers: ["Link", "</s.css>; rel=preload"] }],
      done,
      ["head", { status: 200 }],
      done,
    ],
  },
  {
    name: "reads no body on a 1xx even with Content-Length",
    input:
      "HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    events: [["head", { status: 100, framing: "none" }], done, ["head", { status: 200 }], done],
  },
  {
    name: "reports several 1xx heads before the final response",
    input:
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    events: [["head", { status: 100 }], done, ["head", { status: 103 }], done, ["head", {
      status: 204,
    }], done],
  },
  {
    name: "keeps the expected method across a 1xx",
    input: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
    expect: ["HEAD"],
    events: [["head", { status: 100 }], done, ["head", { status: 200, framing: "none" }], done],
    state: "idle",
  },
  {
    name: "hands back the bytes after a 101",
    input:
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi",
    events: [["head", { status: 101, upgrade: true }], done],
    state: "upgraded",
    remaining: "\x81\x02hi",
  },
  {
    name: "upgrades on a 2xx to CONNECT",
    input: "HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03\x03",
    expect: ["CONNECT"],
    events: [["head", { status: 200, reason: "Connection Established", upgrade: true }], done],
    state: "upgraded",
    remaining: "\x16\x03\x03",
  },
  {
    name: "ignores framing fields on a 2xx to CONNECT",
    input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    expect: ["CONNECT"],
    events: [["head", { upgrade: true }], done],
    state: "upgraded",
    remaining: "0\r\n\r\n",
  },
  {
    name: "reads a refused CONNECT as a normal response",
    input: "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\ndeny",
    expect: ["CONNECT"],
    events: [["head", { status: 407, upgrade: false, framing: "length" }], ["body", "deny"], done],
    state: "idle",
  },

  // --- status line ---------------------------------------------------------
  {
    name: "accepts a status line without SP before an empty reason",
    input: "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
    events: [["head", { status: 200, reason: "" }], done],
  },
  {
    name: "accepts an empty reason after SP",
    input: "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
    events: [["head", { status: 404, reason: "" }], done],
  },
  {
    name: "keeps spaces and HTAB inside the reason",
    input: "HTTP/1.1 404 Not  Found\there\r\nContent-Length: 0\r\n\r\n",
    events: [["head", { reason: "Not  Found\there" }], done],
  },
  {
    name: "keeps obs-text in the reason",
    input: "HTTP/1.1 200 D\xe9j\xe0 vu\r\nContent-Length: 0\r\n\r\n",
    events: [["head", { reason: "D\xe9j\xe0 vu" }], done],
  },
  {
    name: "accepts status 999",
    input: "HTTP/1.1 999 Custom\r\nContent-Length: 0\r\n\r\n",
    events: [["head", { status: 999 }], done],
  },
  {
    name: "accepts status 599",
    input: "HTTP/1.1 599 Custom\r\nContent-Length: 1\r\n\r\nz",
    events: [["head", { status: 599 }], ["body", "z"], done],
  },
  {
    name: "reports HTTP/1.1 response headers with case and order kept",
    input: "HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n",
    events: [["head", {
      headers: ["set-cookie", "a=1", "Set-Cookie", "b=2", "Content-Length", "0"],
    }], done],
  },
  {
    name: "reports HTTP/1.7 responses as minor version 1",
    input: "HTTP/1.7 200 OK\r\nContent-Length: 0\r\n\r\n",
    events: [["head", { versionMinor: 1 }], done],
  },
  badStatus("rejects status 099", "HTTP/1.1 099 Low", "SLUICE_ERR_HTTP_INVALID_STATUS_LINE"),
  badStatus("rejects status 000", "HTTP/1.1 000 Zero", "SLUICE_ERR_HTTP_INVALID_STATUS_LINE"),
  badStatus("rejects a two-digit status", "HTTP/1.1 20 OK", "SLUICE_ERR_HTTP_INVALID_STATUS_LINE"),
  badStatus(
    "rejects a four-digit status",
    "HTTP/1.1 2000 OK",
    "SLUICE_ERR_HTTP_INVALID_STATUS_LINE",
  ),
  badStatus(
    "rejects a non-numeric status",
    "HTTP/1.1 2x0 OK",
    "SLUICE_ERR_HTTP_INVALID_STATUS_LINE",
  ),
  badStatus(
    "rejects two spaces before the status",
    "HTTP/1.1  200 OK",
    "SLUICE_ERR_HTTP_INVALID_STATUS_LINE",
  ),
  badStatus("rejects a status line without a status", "HTTP/1.1", [
    "SLUICE_ERR_HTTP_INVALID_STATUS_LINE",
    "SLUICE_ERR_HTTP_INVALID_VERSION",
  ]),
  badStatus(
    "rejects a control character in the reason",
    "HTTP/1.1 200 O\x01K",
    "SLUICE_ERR_HTTP_INVALID_STATUS_LINE",
  ),
  badStatus(
    "rejects NUL in the reason",
    "HTTP/1.1 200 OK\x00",
    "SLUICE_ERR_HTTP_INVALID_STATUS_LINE",
  ),
  badStatus("rejects a bare CR in the reason", "HTTP/1.1 200 O\rK", [
    "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
    "SLUICE_ERR_HTTP_INVALID_STATUS_LINE",
  ]),
  badStatus("rejects a malformed response version", "HTTP/1.1x 200 OK", [
    "SLUICE_ERR_HTTP_INVALID_VERSION",
    "SLUICE_ERR_HTTP_INVALID_STATUS_LINE",
  ]),
  badStatus("rejects a lower-case response version", "http/1.1 200 OK", [
    "SLUICE_ERR_HTTP_INVALID_VERSION",
    "SLUICE_ERR_HTTP_INVALID_STATUS_LINE",
  ]),
  badStatus("rejects an HTTP/2.0 status line", "HTTP/2.0 200 OK", [
    "SLUICE_ERR_HTTP_VERSION_NOT_SUPPORTED",
    "SLUICE_ERR_HTTP_INVALID_VERSION",
    "SLUICE_ERR_HTTP_INVALID_STATUS_LINE",
  ]),
  badStatus("rejects a status line that starts with a space", " HTTP/1.1 200 OK", [
    "SLUICE_ERR_HTTP_INVALID_VERSION",
    "SLUICE_ERR_HTTP_INVALID_STATUS_LINE",
  ]),
  {
    name: "rejects an LF-only status line",
    input: "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
    error: "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
  },
  {
    name: "rejects an LF-only response head",
    input: "HTTP/1.1 200 OK\r\nContent-Length: 0\n\n",
    error: "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
  },

  // --- framing errors ------------------------------------------------------
  {
    name: "rejects Content-Length with Transfer-Encoding on a response",
    input: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    error: "SLUICE_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
  },
  {
    name: "rejects two different Content-Length fields on a response",
    input: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    error: "SLUICE_ERR_HTTP_DUPLICATE_CONTENT_LENGTH",
  },
  {
    name: "rejects a non-numeric Content-Length on a response",
    input: "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
    error: "SLUICE_ERR_HTTP_INVALID_CONTENT_LENGTH",
  },
  {
    name: "rejects a gzip transfer coding on a response",
    input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b",
    error: "SLUICE_ERR_HTTP_UNSUPPORTED_TRANSFER_ENCODING",
  },
  {
    name: "rejects gzip before chunked on a response",
    input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    error: "SLUICE_ERR_HTTP_UNSUPPORTED_TRANSFER_ENCODING",
  },
  {
    name: "rejects chunked before another coding on a response",
    input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, deflate\r\n\r\nWorld",
    error: [
      "SLUICE_ERR_HTTP_UNSUPPORTED_TRANSFER_ENCODING",
      "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
    ],
  },
  {
    name: "rejects obs-fold in a response head",
    input: "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
    error: "SLUICE_ERR_HTTP_OBS_FOLD",
  },
  {
    name: "rejects a space before the colon in a response head",
    input: "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
    error: "SLUICE_ERR_HTTP_SPACE_BEFORE_COLON",
  },
  {
    name: "rejects NUL in a response field value",
    input: "HTTP/1.1 200 OK\r\nX: a\x00\r\nContent-Length: 0\r\n\r\n",
    error: "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE",
  },

  // --- end of input --------------------------------------------------------
  {
    name: "reports EOF inside a status line",
    input: "HTTP/1.1 20",
    error: "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE",
  },
  {
    name: "reports EOF inside a response head",
    input: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
    error: "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE",
  },
  {
    name: "reports EOF inside a Content-Length response body",
    input: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
    events: [["head", { contentLength: 5 }], ["body", "hel"]],
    error: "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE",
  },
  {
    name: "reports EOF inside a chunked response body",
    input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    events: [["head", { framing: "chunked" }], ["body", "hello"]],
    error: "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE",
  },
  // Found by differential fuzzing against llhttp (RFC 9110 §7.2; RFC 9112 §6.1, §7.1).
  {
    name: "accepts two Host fields in a response (Host is a request field)",
    input: "HTTP/1.1 200 OK\r\nHost: a\r\nHost: b\r\nContent-Length: 0\r\n\r\n",
    events: [
      ["head", { status: 200, headers: ["Host", "a", "Host", "b", "Content-Length", "0"] }],
      done,
    ],
  },
  {
    name: "rejects parameters on the chunked coding of a response",
    input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;x=1\r\n\r\n0\r\n\r\n",
    error: "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
  },
  {
    name: "rejects an empty Transfer-Encoding in a response",
    input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n",
    error: "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
  },
  {
    name: "closes after an HTTP/1.0 chunked response even with keep-alive",
    input:
      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    events: [["head", { framing: "chunked", keepAlive: false }], done],
    state: "finished",
  },
];
