// Requests for RequestParser: well-formed ones with the events they give, and
// malformed ones with the error they must raise (RFC 9112 §2–§6, RFC 9110 §5,
// §7.2, §8.6). Inputs spell out every CR and LF.

import type { ParseCase } from "./http1_types.ts";

const GET = "GET / HTTP/1.1\r\nHost: a\r\n";
const done = ["complete", null] as const;

/** A GET whose only extra field line is `line`, expected to fail with `error`. */
function badField(name: string, line: string, error: ParseCase["error"]): ParseCase {
  return { name, input: `${GET}${line}\r\n\r\n`, error };
}

/** A POST with `Content-Length: value` and a 5-byte body, expected to fail with `error`. */
function badLength(
  value: string,
  error: ParseCase["error"] = "SLUICE_ERR_HTTP_INVALID_CONTENT_LENGTH",
): ParseCase {
  return {
    name: `rejects Content-Length ${JSON.stringify(value)}`,
    input: `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${value}\r\n\r\nhello`,
    error,
  };
}

/** A request line `line` (without CRLF), expected to fail with `error`. */
function badLine(name: string, line: string, error: ParseCase["error"]): ParseCase {
  return { name, input: `${line}\r\nHost: a\r\n\r\n`, error };
}

const BODY_WITH_REQUEST = "\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n";

export const REQUEST_CASES: readonly ParseCase[] = [
  // --- well-formed heads ---------------------------------------------------
  {
    name: "parses a GET with Host",
    input: "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    events: [
      ["head", {
        method: "GET",
        target: "/",
        versionMinor: 1,
        headers: ["Host", "example.com"],
        host: "example.com",
        keepAlive: true,
        upgrade: false,
        expectContinue: false,
        framing: "none",
        contentLength: -1,
      }],
      done,
    ],
    state: "idle",
  },
  {
    name: "parses an HTTP/1.0 GET without Host and closes after it",
    input: "GET /index.html HTTP/1.0\r\n\r\n",
    events: [
      ["head", {
        method: "GET",
        target: "/index.html",
        versionMinor: 0,
        headers: [],
        host: null,
        keepAlive: false,
        upgrade: false,
        framing: "none",
      }],
      done,
    ],
    state: "finished",
  },
  {
    name: "keeps an HTTP/1.0 connection open on Connection: keep-alive",
    input: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    events: [["head", { versionMinor: 0, keepAlive: true }], done],
    state: "idle",
  },
  {
    name: "reads Connection tokens case-insensitively",
    input: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
    events: [["head", { keepAlive: true }], done],
    state: "idle",
  },
  {
    name: "finds keep-alive inside a Connection list on HTTP/1.0",
    input: "GET / HTTP/1.0\r\nConnection: foo,keep-alive , bar\r\n\r\n",
    events: [["head", { keepAlive: true }], done],
  },
  {
    name: "closes an HTTP/1.1 connection on Connection: close",
    input: `${GET}Connection: close\r\n\r\n`,
    events: [["head", { keepAlive: false }], done],
    state: "finished",
  },
  {
    name: "finds close inside a Connection list",
    input: `${GET}Connection: foo, CLOSE\r\n\r\n`,
    events: [["head", { keepAlive: false }], done],
    state: "finished",
  },
  {
    name: "finds close in a second Connection field",
    input: `${GET}Connection: keep-alive\r\nConnection: close\r\n\r\n`,
    events: [["head", { keepAlive: false }], done],
  },
  {
    name: "lets close win over keep-alive in one list",
    input: "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
    events: [["head", { keepAlive: false }], done],
  },
  {
    name: "accepts empty elements in a Connection list",
    input: `${GET}Connection: , ,close,\r\n\r\n`,
    events: [["head", { keepAlive: false }], done],
  },
  {
    name: "does not read Connection: closed as close",
    input: `${GET}Connection: closed\r\n\r\n`,
    events: [["head", { keepAlive: true }], done],
    state: "idle",
  },
  {
    name: "ignores empty lines before the request line",
    input: `\r\n\r\n${GET}\r\n`,
    events: [["head", { method: "GET", target: "/" }], done],
  },
  {
    name: "reads a Content-Length body",
    input: "POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    events: [
      ["head", { method: "POST", target: "/form", framing: "length", contentLength: 5 }],
      ["body", "hello"],
      done,
    ],
    state: "idle",
  },
  {
    name: "reads Content-Length: 0 as an empty length-framed body",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    events: [["head", { framing: "length", contentLength: 0 }], done],
    state: "idle",
  },
  {
    name: "reads a body holding CRLF and a request line as body",
    input:
      `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${BODY_WITH_REQUEST.length}\r\n\r\n${BODY_WITH_REQUEST}`,
    events: [
      ["head", { contentLength: BODY_WITH_REQUEST.length }],
      ["body", BODY_WITH_REQUEST],
      done,
    ],
  },
  {
    name: "passes binary body bytes through unchanged",
    input: "PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n\x00\xff\r\n\x80\x7f",
    events: [["head", { method: "PUT" }], ["body", "\x00\xff\r\n\x80\x7f"], done],
  },
  {
    name: "reads a body on a GET with Content-Length",
    input: `${GET}Content-Length: 3\r\n\r\nabc`,
    events: [
      ["head", { method: "GET", framing: "length", contentLength: 3 }],
      ["body", "abc"],
      done,
    ],
  },
  {
    name: "reads a chunked body",
    input:
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    events: [["head", { framing: "chunked", contentLength: -1 }], ["body", "hello"], done],
    state: "idle",
  },
  {
    name: "reads Transfer-Encoding: chunked case-insensitively",
    input: "POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: CHUNKED\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    events: [["head", { framing: "chunked" }], ["body", "x"], done],
  },
  {
    name: "parses an absolute-form target",
    input: "GET http://example.com:8080/a/b?c=d HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
    events: [
      ["head", { target: "http://example.com:8080/a/b?c=d", host: "example.com:8080" }],
      done,
    ],
  },
  {
    name: "accepts the asterisk form with OPTIONS",
    input: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    events: [["head", { method: "OPTIONS", target: "*" }], done],
  },
  {
    name: "keeps query and percent-encoding in an origin-form target",
    input: "GET /a%20b/c;p?x=1&y=%2F&z=~!$'()*+,@ HTTP/1.1\r\nHost: a\r\n\r\n",
    events: [["head", { target: "/a%20b/c;p?x=1&y=%2F&z=~!$'()*+,@" }], done],
  },
  {
    name: "accepts an extension method",
    input: "PROPFIND /dav HTTP/1.1\r\nHost: a\r\n\r\n",
    events: [["head", { method: "PROPFIND", target: "/dav" }], done],
  },
  {
    name: "keeps the method case as sent",
    input: "get / HTTP/1.1\r\nHost: a\r\n\r\n",
    events: [["head", { method: "get" }], done],
  },
  {
    name: "accepts every tchar in a method",
    input: "!#$%&'*+-.^_`|~09azAZ / HTTP/1.1\r\nHost: a\r\n\r\n",
    events: [["head", { method: "!#$%&'*+-.^_`|~09azAZ" }], done],
  },
  {
    name: "accepts every tchar in a field name",
    input: `${GET}X-!#$%&'*+.^_\`|~09: v\r\n\r\n`,
    events: [["head", { headers: ["Host", "a", "X-!#$%&'*+.^_`|~09", "v"] }], done],
  },
  {
    name: "keeps field-name case and order",
    input: "GET / HTTP/1.1\r\nhOsT: a\r\nX-UPPER: b\r\nx-lower: c\r\nX-UPPER: d\r\n\r\n",
    events: [
      ["head", {
        host: "a",
        headers: ["hOsT", "a", "X-UPPER", "b", "x-lower", "c", "X-UPPER", "d"],
      }],
      done,
    ],
  },
  {
    name: "trims SP and HTAB around field values",
    input: `${GET}X: \t a  b \t\r\nY:c\r\n\r\n`,
    events: [["head", { headers: ["Host", "a", "X", "a  b", "Y", "c"] }], done],
  },
  {
    name: "accepts empty and whitespace-only field values",
    input: `${GET}X:\r\nY: \t \r\n\r\n`,
    events: [["head", { headers: ["Host", "a", "X", "", "Y", ""] }], done],
  },
  {
    name: "keeps HTAB and colons inside a field value",
    input: `${GET}X: a\tb:c: d\r\n\r\n`,
    events: [["head", { headers: ["Host", "a", "X", "a\tb:c: d"] }], done],
  },
  {
    name: "accepts obs-text in a field value",
    input: `${GET}X: caf\xe9 \x80\xff\r\n\r\n`,
    events: [["head", { headers: ["Host", "a", "X", "caf\xe9 \x80\xff"] }], done],
  },
  {
    name: "reports HTTP/1.2 as minor version 1",
    input: "GET / HTTP/1.2\r\nHost: a\r\n\r\n",
    events: [["head", { versionMinor: 1, keepAlive: true }], done],
  },
  {
    name: "reports HTTP/1.9 as minor version 1",
    input: "GET / HTTP/1.9\r\nHost: a\r\n\r\n",
    events: [["head", { versionMinor: 1 }], done],
  },
  {
    name: "accepts an empty Host",
    input: "GET / HTTP/1.1\r\nHost:\r\n\r\n",
    events: [["head", { host: "" }], done],
  },
  {
    name: "accepts a Host with a port",
    input: "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
    events: [["head", { host: "example.com:8080" }], done],
  },
  {
    name: "accepts an IPv6 literal Host",
    input: "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
    events: [["head", { host: "[::1]:8080" }], done],
  },
  {
    name: "reads Host on HTTP/1.0",
    input: "GET / HTTP/1.0\r\nHost: example.org\r\n\r\n",
    events: [["head", { host: "example.org", versionMinor: 0 }], done],
  },
  {
    name: "finds Host case-insensitively and trims it",
    input: "GET / HTTP/1.1\r\nHOST:  example.org \r\n\r\n",
    events: [["head", { host: "example.org", headers: ["HOST", "example.org"] }], done],
  },
  {
    name: "flags Expect: 100-continue",
    input: `POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok`,
    events: [["head", { expectContinue: true, contentLength: 2 }], ["body", "ok"], done],
  },
  {
    name: "reads the Expect value case-insensitively",
    input: `${GET}Expect: 100-Continue\r\n\r\n`,
    events: [["head", { expectContinue: true }], done],
  },
  {
    name: "ignores Expect: 100-continue on HTTP/1.0",
    input: "GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
    events: [["head", { expectContinue: false }], done],
  },
  {
    name: "ignores other Expect values",
    input: `${GET}Expect: 200-ok\r\n\r\n`,
    events: [["head", { expectContinue: false }], done],
  },
  {
    name: "hands back the bytes after a CONNECT head",
    input:
      "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01\x00\xa5TLS",
    events: [
      ["head", { method: "CONNECT", target: "example.com:443", upgrade: true }],
      done,
    ],
    state: "upgraded",
    remaining: "\x16\x03\x01\x00\xa5TLS",
  },
  {
    name: "upgrades on CONNECT even with nothing after the head",
    input: "CONNECT 127.0.0.1:8080 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
    events: [["head", { target: "127.0.0.1:8080", upgrade: true }], done],
    state: "upgraded",
    remaining: "",
  },
  {
    name: "flags a WebSocket Upgrade request and hands back the frames",
    input:
      "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello",
    events: [["head", { target: "/chat", upgrade: true, keepAlive: true }], done],
    state: "upgraded",
    remaining: "\x81\x05hello",
  },
  {
    name: "finds upgrade inside a Connection list",
    input: "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, UPGRADE\r\nUpgrade: h2c\r\n\r\n",
    events: [["head", { upgrade: true }], done],
    state: "upgraded",
    remaining: "",
  },
  {
    name: "reads the body of an Upgrade request before upgrading",
    input:
      "POST /u HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: upgrade, HTTP2-Settings\r\nContent-Length: 3\r\n\r\nabcREST",
    events: [["head", { upgrade: true, contentLength: 3 }], ["body", "abc"], done],
    state: "upgraded",
    remaining: "REST",
  },
  {
    name: "ignores Upgrade without Connection: upgrade",
    input: `${GET}Upgrade: websocket\r\n\r\n`,
    events: [["head", { upgrade: false }], done],
    state: "idle",
  },
  {
    name: "ignores Connection: upgrade without an Upgrade field",
    input: `${GET}Connection: upgrade\r\n\r\n`,
    events: [["head", { upgrade: false }], done],
    state: "idle",
  },
  {
    name: "ignores Upgrade on HTTP/1.0",
    input: "GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
    events: [["head", { upgrade: false, keepAlive: false }], done],
    state: "finished",
  },
  {
    name: "parses two pipelined requests",
    input: "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\n\r\n",
    events: [
      ["head", { target: "/1", host: "a" }],
      done,
      ["head", { target: "/2", host: "b" }],
      done,
    ],
    state: "idle",
  },
  {
    name: "parses a pipelined request after a Content-Length body",
    input:
      "POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbodyGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    events: [["head", { target: "/1" }], ["body", "body"], done, ["head", { target: "/2" }], done],
  },
  {
    name: "ignores bytes after a Connection: close request",
    input: `${GET}Connection: close\r\n\r\nGET /x HTTP/1.1\r\n\x00garbage`,
    events: [["head", { target: "/", keepAlive: false }], done],
    state: "finished",
  },
  {
    name: "ignores bytes after an HTTP/1.0 request",
    input: "GET / HTTP/1.0\r\n\r\nnot http at all\n",
    events: [["head", { versionMinor: 0 }], done],
    state: "finished",
  },
  {
    name: "accepts a Content-Length with leading zeros",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0000000000000000000005\r\n\r\nhello",
    events: [["head", { contentLength: 5 }], ["body", "hello"], done],
  },
  {
    name: "trims OWS around Content-Length",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \t3 \r\n\r\nabc",
    events: [["head", { contentLength: 3 }], ["body", "abc"], done],
  },
  {
    name: "accepts Content-Length 2^53-1",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9007199254740991\r\n\r\nab",
    events: [["head", { framing: "length", contentLength: 9007199254740991 }], ["body", "ab"]],
    state: "body",
    finish: false,
  },
  {
    name: "reads a Content-Length beyond 2^32 without wrapping",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4294967301\r\n\r\nhello",
    events: [["head", { contentLength: 4294967301 }], ["body", "hello"]],
    state: "body",
    finish: false,
  },
  {
    name: "does not read Content-Lengthy as Content-Length",
    input: `${GET}Content-Lengthy: 5\r\n\r\n`,
    events: [["head", { framing: "none", contentLength: -1 }], done],
  },
  {
    name: "accepts repeated non-framing fields in order",
    input: `${GET}Accept: a\r\nAccept: b\r\nCookie: x=1\r\nCookie: y=2\r\n\r\n`,
    events: [["head", {
      headers: ["Host", "a", "Accept", "a", "Accept", "b", "Cookie", "x=1", "Cookie", "y=2"],
    }], done],
  },
  {
    name: "accepts input that ends before any request",
    input: "",
    events: [],
    state: "idle",
  },
  {
    name: "accepts a lone empty line before EOF",
    input: "\r\n",
    events: [],
  },
  {
    name: "reports a head without body as complete at once",
    input: "DELETE /item/7 HTTP/1.1\r\nHost: a\r\n\r\n",
    events: [["head", { method: "DELETE", framing: "none" }], done],
    state: "idle",
    finish: false,
  },

  // --- request line --------------------------------------------------------
  badLine(
    "rejects a leading space before the method",
    " GET / HTTP/1.1",
    "SLUICE_ERR_HTTP_INVALID_METHOD",
  ),
  badLine("rejects two spaces after the method", "GET  / HTTP/1.1", [
    "SLUICE_ERR_HTTP_INVALID_TARGET",
    "SLUICE_ERR_HTTP_INVALID_METHOD",
  ]),
  badLine("rejects two spaces before the version", "GET /  HTTP/1.1", [
    "SLUICE_ERR_HTTP_INVALID_TARGET",
    "SLUICE_ERR_HTTP_INVALID_VERSION",
  ]),
  badLine(
    "rejects a space after the version",
    "GET / HTTP/1.1 ",
    "SLUICE_ERR_HTTP_INVALID_VERSION",
  ),
  badLine(
    "rejects HTAB as the request-line separator",
    "GET\t/ HTTP/1.1",
    "SLUICE_ERR_HTTP_INVALID_METHOD",
  ),
  badLine("rejects @ in a method", "G@T / HTTP/1.1", "SLUICE_ERR_HTTP_INVALID_METHOD"),
  badLine("rejects parentheses in a method", "GE(T) / HTTP/1.1", "SLUICE_ERR_HTTP_INVALID_METHOD"),
  badLine("rejects NUL in a method", "GE\x00T / HTTP/1.1", "SLUICE_ERR_HTTP_INVALID_METHOD"),
  badLine("rejects obs-text in a method", "G\xc9T / HTTP/1.1", "SLUICE_ERR_HTTP_INVALID_METHOD"),
  badLine("rejects a space inside the target", "GET /a b HTTP/1.1", [
    "SLUICE_ERR_HTTP_INVALID_TARGET",
    "SLUICE_ERR_HTTP_INVALID_VERSION",
  ]),
  badLine(
    "rejects a control character in the target",
    "GET /a\x01b HTTP/1.1",
    "SLUICE_ERR_HTTP_INVALID_TARGET",
  ),
  badLine("rejects NUL in the target", "GET /\x00 HTTP/1.1", "SLUICE_ERR_HTTP_INVALID_TARGET"),
  badLine("rejects DEL in the target", "GET /a\x7f HTTP/1.1", "SLUICE_ERR_HTTP_INVALID_TARGET"),
  badLine(
    "rejects obs-text in the target",
    "GET /caf\xe9 HTTP/1.1",
    "SLUICE_ERR_HTTP_INVALID_TARGET",
  ),
  badLine("rejects HTAB in the target", "GET /a\tb HTTP/1.1", "SLUICE_ERR_HTTP_INVALID_TARGET"),
  badLine("rejects the asterisk form on GET", "GET * HTTP/1.1", "SLUICE_ERR_HTTP_INVALID_TARGET"),
  badLine(
    "rejects an origin-form target on CONNECT",
    "CONNECT / HTTP/1.1",
    "SLUICE_ERR_HTTP_INVALID_TARGET",
  ),
  badLine(
    "rejects a CONNECT target without a port",
    "CONNECT example.com HTTP/1.1",
    "SLUICE_ERR_HTTP_INVALID_TARGET",
  ),
  badLine(
    "rejects an authority-form target on GET",
    "GET example.com:80 HTTP/1.1",
    "SLUICE_ERR_HTTP_INVALID_TARGET",
  ),
  badLine("rejects a relative target", "GET a/b HTTP/1.1", "SLUICE_ERR_HTTP_INVALID_TARGET"),
  badLine(
    "rejects HTTP/2.0 as not supported",
    "GET / HTTP/2.0",
    "SLUICE_ERR_HTTP_VERSION_NOT_SUPPORTED",
  ),
  badLine(
    "rejects HTTP/0.9 as not supported",
    "GET / HTTP/0.9",
    "SLUICE_ERR_HTTP_VERSION_NOT_SUPPORTED",
  ),
  badLine(
    "rejects HTTP/3 as not supported",
    "GET / HTTP/3",
    "SLUICE_ERR_HTTP_VERSION_NOT_SUPPORTED",
  ),
  badLine("rejects the version HTTP/1.1x", "GET / HTTP/1.1x", "SLUICE_ERR_HTTP_INVALID_VERSION"),
  badLine("rejects a lower-case version name", "GET / http/1.1", "SLUICE_ERR_HTTP_INVALID_VERSION"),
  badLine("rejects the version HTTP/1", "GET / HTTP/1", "SLUICE_ERR_HTTP_INVALID_VERSION"),
  badLine("rejects the version HTTP/1.", "GET / HTTP/1.", "SLUICE_ERR_HTTP_INVALID_VERSION"),
  badLine("rejects a letter as minor version", "GET / HTTP/1.a", "SLUICE_ERR_HTTP_INVALID_VERSION"),
  badLine("rejects the version HTTPS/1.1", "GET / HTTPS/1.1", "SLUICE_ERR_HTTP_INVALID_VERSION"),
  badLine("rejects the version HTTP/1.1.1", "GET / HTTP/1.1.1", "SLUICE_ERR_HTTP_INVALID_VERSION"),
  badLine("rejects a request line without a version", "GET /", [
    "SLUICE_ERR_HTTP_INVALID_VERSION",
    "SLUICE_ERR_HTTP_VERSION_NOT_SUPPORTED",
    "SLUICE_ERR_HTTP_INVALID_TARGET",
  ]),

  // --- Host ----------------------------------------------------------------
  {
    name: "rejects an HTTP/1.1 request without Host",
    input: "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
    error: "SLUICE_ERR_HTTP_MISSING_HOST",
  },
  {
    name: "rejects two Host fields",
    input: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    error: "SLUICE_ERR_HTTP_DUPLICATE_HOST",
  },
  {
    name: "rejects two identical Host fields",
    input: "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
    error: "SLUICE_ERR_HTTP_DUPLICATE_HOST",
  },
  ...[
    ["a space", "a b"],
    ["a slash", "a/b"],
    ["an at sign", "user@a"],
    ["a question mark", "a?b"],
    [
      "a hash",
      "a#b",
    ],
    ["a double quote", 'a"b'],
    ["a backslash", "a\\b"],
    ["a less-than sign", "a<b"],
    // Hosts that would make `new URL(req.url)` throw (WHATWG URL rules).
    ["letters as the port", "a:b"],
    ["a port above 65535", "a:65536"],
    ["a port and no host", ":80"],
    ["percent-encoding", "a%41"],
    ["a numeric last label that is no IPv4 address", "example.123"],
    ["an IPv4 part above 255", "1.2.3.256"],
    ["a bad IPv6 literal", "[1:::2]"],
    ["an IPvFuture literal", "[v1.x]"],
    ["an unclosed IPv6 literal", "[::1"],
  ].map(
    ([what, host]): ParseCase => ({
      name: `rejects a Host with ${what}`,
      input: `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
      error: "SLUICE_ERR_HTTP_INVALID_HOST",
    }),
  ),
  ...[
    "example.com",
    "a:",
    "a:8080",
    "127.0.0.1:80",
    "[::1]",
    "[fe80::1]:8443",
    "[::ffff:1.2.3.4]",
    "_x.a-b~",
  ]
    .map((host): ParseCase => ({
      name: `accepts Host ${host}`,
      input: `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
      events: [
        ["head", {
          method: "GET",
          target: "/",
          versionMinor: 1,
          headers: ["Host", host],
          host,
          keepAlive: true,
          upgrade: false,
          expectContinue: false,
          framing: "none",
          contentLength: -1,
        }],
        done,
      ],
      state: "idle",
    })),
  {
    name: "rejects a Host with a control character",
    input: "GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n",
    error: ["SLUICE_ERR_HTTP_INVALID_HOST", "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE"],
  },
  {
    name: "rejects a Host with obs-text",
    input: "GET / HTTP/1.1\r\nHost: caf\xe9.example\r\n\r\n",
    error: "SLUICE_ERR_HTTP_INVALID_HOST",
  },

  // --- field lines ---------------------------------------------------------
  badField("rejects a space before the colon", "X-Test : 1", "SLUICE_ERR_HTTP_SPACE_BEFORE_COLON"),
  badField("rejects HTAB before the colon", "X-Test\t: 1", "SLUICE_ERR_HTTP_SPACE_BEFORE_COLON"),
  badField("rejects a field line without a colon", "X-Test", "SLUICE_ERR_HTTP_INVALID_HEADER_NAME"),
  badField("rejects an empty field name", ": value", "SLUICE_ERR_HTTP_INVALID_HEADER_NAME"),
  badField("rejects parentheses in a field name", "X(Y): 1", "SLUICE_ERR_HTTP_INVALID_HEADER_NAME"),
  badField("rejects a slash in a field name", "X/Y: 1", "SLUICE_ERR_HTTP_INVALID_HEADER_NAME"),
  badField(
    "rejects a double quote in a field name",
    'X"Y: 1',
    "SLUICE_ERR_HTTP_INVALID_HEADER_NAME",
  ),
  badField("rejects NUL in a field name", "X\x00Y: 1", "SLUICE_ERR_HTTP_INVALID_HEADER_NAME"),
  badField("rejects DEL in a field name", "X\x7f: 1", "SLUICE_ERR_HTTP_INVALID_HEADER_NAME"),
  badField("rejects obs-text in a field name", "X\xe9: 1", "SLUICE_ERR_HTTP_INVALID_HEADER_NAME"),
  badField("rejects a space inside a field name", "X Y: 1", [
    "SLUICE_ERR_HTTP_INVALID_HEADER_NAME",
    "SLUICE_ERR_HTTP_SPACE_BEFORE_COLON",
  ]),
  {
    name: "rejects whitespace before the first field line",
    input: "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
    error: ["SLUICE_ERR_HTTP_OBS_FOLD", "SLUICE_ERR_HTTP_INVALID_HEADER_NAME"],
  },
  {
    name: "rejects obs-fold with SP",
    input: `${GET}X: a\r\n b\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_OBS_FOLD",
  },
  {
    name: "rejects obs-fold with HTAB",
    input: `${GET}X: a\r\n\tb\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_OBS_FOLD",
  },
  {
    name: "replaces obs-fold by one SP when lenient",
    input: `${GET}X: a\r\n   b\r\n\r\n`,
    options: { lenient: { obsFold: true } },
    events: [["head", { headers: ["Host", "a", "X", "a b"] }], done],
  },
  {
    name: "replaces an HTAB obs-fold by one SP when lenient",
    input: `${GET}X: a \r\n\t\tb\r\nY: c\r\n\r\n`,
    options: { lenient: { obsFold: true } },
    events: [["head", { headers: ["Host", "a", "X", "a b", "Y", "c"] }], done],
  },
  {
    name: "joins several obs-folds when lenient",
    input: `${GET}X: a\r\n b\r\n c\r\n\r\n`,
    options: { lenient: { obsFold: true } },
    events: [["head", { headers: ["Host", "a", "X", "a b c"] }], done],
  },
  {
    name: "folds onto an empty value when lenient",
    input: `${GET}X:\r\n b\r\n\r\n`,
    options: { lenient: { obsFold: true } },
    events: [["head", { headers: ["Host", "a", "X", "b"] }], done],
  },
  badField("rejects NUL in a field value", "X: a\x00b", "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE"),
  badField("rejects SOH in a field value", "X: a\x01", "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE"),
  badField("rejects VT in a field value", "X: a\x0bb", "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE"),
  badField("rejects FF in a field value", "X: a\x0cb", "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE"),
  badField("rejects ESC in a field value", "X: \x1b[31m", "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE"),
  badField("rejects DEL in a field value", "X: a\x7fb", "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE"),
  badField("rejects a bare CR inside a field value", "X: a\rb", [
    "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
    "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE",
  ]),

  // --- line endings --------------------------------------------------------
  {
    name: "rejects LF-only line endings",
    input: "GET / HTTP/1.1\nHost: a\n\n",
    error: "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
  },
  {
    name: "rejects a bare LF after a field line",
    input: "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
    error: "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
  },
  {
    name: "rejects a bare LF ending the head",
    input: "GET / HTTP/1.1\r\nHost: a\r\n\n",
    error: "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
  },
  {
    name: "rejects a bare CR ending the request line",
    input: "GET / HTTP/1.1\rHost: a\r\n\r\n",
    error: ["SLUICE_ERR_HTTP_INVALID_LINE_ENDING", "SLUICE_ERR_HTTP_INVALID_VERSION"],
  },
  {
    name: "rejects a bare CR ending the head",
    input: "GET / HTTP/1.1\r\nHost: a\r\n\rX",
    error: ["SLUICE_ERR_HTTP_INVALID_LINE_ENDING", "SLUICE_ERR_HTTP_INVALID_HEADER_NAME"],
  },
  {
    name: "rejects CR CR LF after a field line",
    input: "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n",
    error: ["SLUICE_ERR_HTTP_INVALID_LINE_ENDING", "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE"],
  },
  {
    name: "rejects a bare LF as an empty line before the request",
    input: "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    error: ["SLUICE_ERR_HTTP_INVALID_LINE_ENDING", "SLUICE_ERR_HTTP_INVALID_METHOD"],
  },

  // --- Content-Length ------------------------------------------------------
  badLength("+5"),
  badLength("-5"),
  badLength("0x5"),
  badLength("5 5"),
  badLength("5.0"),
  badLength(""),
  badLength("1e3"),
  badLength("5a"),
  badLength("\xd9\xa5"),
  badLength("9007199254740992"),
  badLength("18446744073709551621"),
  badLength("5, 6", [
    "SLUICE_ERR_HTTP_DUPLICATE_CONTENT_LENGTH",
    "SLUICE_ERR_HTTP_INVALID_CONTENT_LENGTH",
  ]),
  {
    name: "rejects two Content-Length fields with the same value",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    error: "SLUICE_ERR_HTTP_DUPLICATE_CONTENT_LENGTH",
  },
  {
    name: "rejects a Content-Length list of identical values",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello",
    error: "SLUICE_ERR_HTTP_DUPLICATE_CONTENT_LENGTH",
  },
  {
    name: "accepts identical Content-Length fields when lenient",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nhello",
    options: { lenient: { duplicateContentLength: true } },
    events: [["head", { framing: "length", contentLength: 5 }], ["body", "hello"], done],
  },
  {
    name: "accepts a Content-Length list of identical values when lenient",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,5 , 5\r\n\r\nhello",
    options: { lenient: { duplicateContentLength: true } },
    events: [["head", { contentLength: 5 }], ["body", "hello"], done],
  },
  {
    name: "rejects different Content-Length fields even when lenient",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    options: { lenient: { duplicateContentLength: true } },
    error: "SLUICE_ERR_HTTP_DUPLICATE_CONTENT_LENGTH",
  },

  // --- Transfer-Encoding ---------------------------------------------------
  {
    name: "rejects chunked before another coding",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    error: "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
  },
  {
    name: "rejects chunked twice in one field",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
    error: "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
  },
  {
    name: "rejects Transfer-Encoding on an HTTP/1.0 request",
    input: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    error: "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
  },
  {
    name: "rejects gzip before chunked as unsupported",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    error: "SLUICE_ERR_HTTP_UNSUPPORTED_TRANSFER_ENCODING",
  },
  {
    // RFC 9112 §6.3: chunked not final in a request is a 400 (a MUST), before §6.1's 501.
    name: "rejects Transfer-Encoding: identity (chunked is not final)",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
    error: "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
  },
  {
    name: "rejects a lone gzip coding on a request",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
    error: [
      "SLUICE_ERR_HTTP_UNSUPPORTED_TRANSFER_ENCODING",
      "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
    ],
  },
  {
    name: "rejects Content-Length with Transfer-Encoding",
    input:
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    error: "SLUICE_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
  },
  {
    name: "rejects Transfer-Encoding with Content-Length after it",
    input:
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    error: "SLUICE_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
  },

  // --- end of input --------------------------------------------------------
  {
    name: "reports EOF inside the request line",
    input: "GET / HT",
    error: "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE",
  },
  {
    name: "reports EOF inside the head",
    input: "GET / HTTP/1.1\r\nHost: a\r\n",
    error: "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE",
  },
  {
    name: "stays in the head state until the empty line",
    input: "GET / HTTP/1.1\r\nHost: a\r\n",
    state: "head",
    finish: false,
  },
  {
    name: "reports EOF inside a Content-Length body",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
    events: [["head", { contentLength: 10 }], ["body", "abc"]],
    state: "body",
    error: "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE",
  },
  {
    name: "reports EOF inside a second pipelined request",
    input: `${GET}\r\nGET /2 HTTP/1.1\r\nHo`,
    events: [["head", { target: "/" }], done],
    error: "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE",
  },
  // Found by differential fuzzing against llhttp (RFC 9110 §5.6.1, §7.8; RFC 9112 §2.2, §7.1).
  {
    name: "counts empty lines before the request line across feeds",
    input: "\r\n".repeat(4096) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    error: "SLUICE_ERR_HTTP_REQUEST_LINE_TOO_LONG",
  },
  {
    name: "accepts a few empty lines before the request line",
    input: "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    events: [["head", { method: "GET", target: "/" }], done],
  },
  {
    name: "rejects parameters on the chunked coding",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n",
    error: "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
  },
  {
    name: "rejects an empty parameter list on the chunked coding",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;\r\n\r\n0\r\n\r\n",
    error: "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
  },
  {
    name: "does not upgrade on an empty Upgrade field",
    input: "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade:\r\n\r\n",
    events: [["head", { upgrade: false, keepAlive: true }], done],
    state: "idle",
  },
  {
    name: "reads Connection as comma-separated elements, not words",
    input: "GET / HTTP/1.1\r\nHost: a\r\nConnection: a close\r\n\r\n",
    events: [["head", { keepAlive: true }], done],
  },
  {
    name: "reads close among other Connection elements with whitespace",
    input: "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo ,\t close ,bar\r\n\r\n",
    events: [["head", { keepAlive: false }], done],
    state: "finished",
  },
  {
    name: "does not read keep-alive inside a longer HTTP/1.0 Connection element",
    input: "GET / HTTP/1.0\r\nConnection: keep-alive 7\r\n\r\n",
    events: [["head", { keepAlive: false }], done],
    state: "finished",
  },
  {
    name: "treats a lone CR before EOF between messages as no message",
    input: "GET / HTTP/1.1\r\nHost: a\r\n\r\n\r",
    events: [["head", { target: "/" }], done],
  },
];
