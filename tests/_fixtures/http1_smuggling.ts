// Request smuggling attempts (CL.TE, TE.CL, TE.TE obfuscations, line-ending
// and overflow tricks), after PortSwigger's request smuggling research and the
// llhttp test corpus. A front end and this parser must never disagree on where
// a message ends, so every ambiguous framing is refused.

import type { ParseCase } from "./http1_types.ts";

const POST = "POST / HTTP/1.1\r\nHost: a\r\n";
const RESPONSE = "HTTP/1.1 200 OK\r\n";
const SMUGGLED = "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n";
const done = ["complete", null] as const;

export const SMUGGLING_CASES: readonly ParseCase[] = [
  // --- CL.TE and TE.CL -----------------------------------------------------
  {
    name: "rejects CL.TE: Content-Length before Transfer-Encoding",
    input: `${POST}Content-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED`,
    error: "SLUICE_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
  },
  {
    name: "rejects TE.CL: Transfer-Encoding before Content-Length",
    input:
      `${POST}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
  },
  {
    name: "rejects Transfer-Encoding with Content-Length: 0",
    input: `${POST}Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n${SMUGGLED}`,
    error: "SLUICE_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
  },
  {
    name: "rejects Content-Length with an unknown transfer coding",
    input: `${POST}Content-Length: 4\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`,
    error: [
      "SLUICE_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
      "SLUICE_ERR_HTTP_UNSUPPORTED_TRANSFER_ENCODING",
    ],
  },
  {
    name: "rejects Content-Length with Transfer-Encoding on HTTP/1.0",
    input: "POST / HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    error: [
      "SLUICE_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
      "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
    ],
  },
  {
    name: "rejects identical Content-Lengths with Transfer-Encoding when lenient",
    input:
      `${POST}Content-Length: 5\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    options: { lenient: { duplicateContentLength: true } },
    error: "SLUICE_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
  },

  // --- TE.TE: obfuscated Transfer-Encoding ---------------------------------
  {
    name: "rejects Transfer-Encoding with a space before the colon",
    input: `${POST}Content-Length: 4\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_SPACE_BEFORE_COLON",
  },
  {
    name: "rejects Transfer-Encoding with HTAB before the colon",
    input: `${POST}Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_SPACE_BEFORE_COLON",
  },
  {
    // RFC 9112 §6.3: chunked not final in a request is a 400 (a MUST).
    name: "rejects the coding xchunked (chunked is not final)",
    input: `${POST}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
  },
  {
    name: "rejects a quoted chunked coding",
    input: `${POST}Transfer-Encoding: "chunked"\r\n\r\n0\r\n\r\n`,
    error: [
      "SLUICE_ERR_HTTP_UNSUPPORTED_TRANSFER_ENCODING",
      "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
    ],
  },
  {
    name: "rejects a coding with a space inside",
    input: `${POST}Transfer-Encoding: chun ked\r\n\r\n0\r\n\r\n`,
    error: [
      "SLUICE_ERR_HTTP_UNSUPPORTED_TRANSFER_ENCODING",
      "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
    ],
  },
  {
    name: "accepts HTAB as OWS before chunked",
    input: `${POST}Transfer-Encoding:\tchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
    events: [["head", { framing: "chunked" }], ["body", "abc"], done],
  },
  {
    name: "accepts trailing OWS after chunked",
    input: `${POST}Transfer-Encoding: chunked \t\r\n\r\n0\r\n\r\n`,
    events: [["head", { framing: "chunked" }], done],
  },
  {
    name: "rejects chunked listed twice",
    input: `${POST}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
  },
  {
    name: "rejects chunked in two Transfer-Encoding fields",
    input: `${POST}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
  },
  {
    name: "rejects chunked followed by a second Transfer-Encoding field",
    input: `${POST}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n`,
    error: [
      "SLUICE_ERR_HTTP_INVALID_TRANSFER_ENCODING",
      "SLUICE_ERR_HTTP_UNSUPPORTED_TRANSFER_ENCODING",
    ],
  },
  {
    name: "rejects identity in a first Transfer-Encoding field",
    input: `${POST}Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_UNSUPPORTED_TRANSFER_ENCODING",
  },
  {
    name: "rejects an unknown coding before chunked",
    input: `${POST}Transfer-Encoding: eee, chunked\r\n\r\n0\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_UNSUPPORTED_TRANSFER_ENCODING",
  },
  {
    name: "rejects Transfer-Encoding folded onto the next line",
    input: `${POST}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_OBS_FOLD",
  },
  {
    name: "rejects Transfer-Encoding hidden in an obs-fold",
    input: `${POST}X-Padding: y\r\n Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc`,
    error: "SLUICE_ERR_HTTP_OBS_FOLD",
  },
  {
    name: "unfolds Transfer-Encoding before framing when lenient",
    input: `${POST}Transfer-Encoding:\r\n chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n`,
    options: { lenient: { obsFold: true } },
    events: [["head", {
      framing: "chunked",
      headers: ["Host", "a", "Transfer-Encoding", "chunked"],
    }], [
      "body",
      "ok",
    ], done],
  },
  {
    name: "rejects a folded Transfer-Encoding with Content-Length when lenient",
    input: `${POST}Content-Length: 3\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n`,
    options: { lenient: { obsFold: true } },
    error: "SLUICE_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
  },
  {
    name: "rejects a Transfer-Encoding line ended by a bare LF",
    input: `${POST}Transfer-Encoding: chunked\nContent-Length: 3\r\n\r\nabc`,
    error: "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
  },
  {
    name: "rejects a Transfer-Encoding behind a bare CR",
    input: `${POST}X: a\rTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc`,
    error: ["SLUICE_ERR_HTTP_INVALID_LINE_ENDING", "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE"],
  },
  {
    name: "rejects NUL after chunked",
    input: `${POST}Transfer-Encoding: chunked\x00\r\n\r\n0\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE",
  },
  {
    name: "rejects VT before chunked",
    input: `${POST}Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE",
  },
  {
    name: "rejects a non-ASCII look-alike of Transfer-Encoding",
    input: `${POST}Transfer-Encod\xefng: chunked\r\nContent-Length: 3\r\n\r\nabc`,
    error: "SLUICE_ERR_HTTP_INVALID_HEADER_NAME",
  },
  {
    name: "treats Transfer_Encoding as an unrelated field",
    input: `${POST}Transfer_Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc`,
    events: [["head", { framing: "length", contentLength: 3 }], ["body", "abc"], done],
  },
  {
    name: "accepts a chunked body on a GET",
    input: "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
    events: [["head", { method: "GET", framing: "chunked" }], ["body", "z"], done],
  },

  // --- Content-Length tricks -----------------------------------------------
  {
    name: "rejects two different Content-Length fields",
    input: `${POST}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`,
    error: "SLUICE_ERR_HTTP_DUPLICATE_CONTENT_LENGTH",
  },
  {
    name: "rejects an empty and a numeric Content-Length",
    input: `${POST}Content-Length:\r\nContent-Length: 5\r\n\r\nhello`,
    error: ["SLUICE_ERR_HTTP_INVALID_CONTENT_LENGTH", "SLUICE_ERR_HTTP_DUPLICATE_CONTENT_LENGTH"],
  },
  {
    name: "rejects Content-Length with a space before the colon",
    input: `${POST}Content-Length : 5\r\n\r\nhello`,
    error: "SLUICE_ERR_HTTP_SPACE_BEFORE_COLON",
  },
  {
    name: "rejects NUL after a Content-Length value",
    input: `${POST}Content-Length: 5\x00\r\n\r\nhello`,
    error: "SLUICE_ERR_HTTP_INVALID_HEADER_VALUE",
  },
  {
    name: "rejects a Content-Length of 2^64 that would wrap to 0",
    input: `${POST}Content-Length: 18446744073709551616\r\n\r\n${SMUGGLED}`,
    error: "SLUICE_ERR_HTTP_INVALID_CONTENT_LENGTH",
  },
  {
    name: "rejects an underscore in Content-Length",
    input: `${POST}Content-Length: 1_0\r\n\r\n0123456789`,
    error: "SLUICE_ERR_HTTP_INVALID_CONTENT_LENGTH",
  },
  {
    name: "reads a request inside a GET body as body",
    input: `GET / HTTP/1.1\r\nHost: a\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    events: [["head", { method: "GET", contentLength: SMUGGLED.length }], ["body", SMUGGLED], done],
    state: "idle",
  },

  // --- chunk framing tricks ------------------------------------------------
  {
    name: "rejects a chunk size of 2^64 that would wrap to 0",
    input: `${POST}Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n\r\n${SMUGGLED}`,
    events: [["head", { framing: "chunked" }]],
    error: "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
  },
  {
    name: "rejects a negative chunk size",
    input: `${POST}Transfer-Encoding: chunked\r\n\r\n-1\r\n\r\n${SMUGGLED}`,
    events: [["head", { framing: "chunked" }]],
    error: "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
  },
  {
    name: "rejects trailing whitespace after a chunk size",
    input: `${POST}Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n`,
    events: [["head", { framing: "chunked" }]],
    error: ["SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE", "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION"],
  },
  {
    name: "rejects a bare LF after an empty chunk extension",
    input: `${POST}Transfer-Encoding: chunked\r\n\r\n2;\nxx\r\n4c\r\n0\r\n\r\n${SMUGGLED}`,
    events: [["head", { framing: "chunked" }]],
    error: ["SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION", "SLUICE_ERR_HTTP_INVALID_LINE_ENDING"],
  },
  {
    name: "rejects CRLF inside a quoted chunk extension",
    input: `${POST}Transfer-Encoding: chunked\r\n\r\n0;a="\r\n"\r\n\r\n${SMUGGLED}`,
    events: [["head", { framing: "chunked" }]],
    error: "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
  },
  {
    name: "rejects chunk data that runs past its size",
    input: `${POST}Transfer-Encoding: chunked\r\n\r\n2\r\nxxx0\r\n\r\n`,
    events: [["head", { framing: "chunked" }], ["body", "xx"]],
    error: "SLUICE_ERR_HTTP_INVALID_CHUNK_DATA",
  },
  {
    name: "rejects a last chunk ended by LF only",
    input: `${POST}Transfer-Encoding: chunked\r\n\r\n0\n\n${SMUGGLED}`,
    events: [["head", { framing: "chunked" }]],
    error: "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
  },

  // --- responses -----------------------------------------------------------
  {
    name: "rejects CL.TE in a response",
    kind: "response",
    input: `${RESPONSE}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
  },
  {
    name: "rejects TE.CL in a response",
    kind: "response",
    input: `${RESPONSE}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING",
  },
  {
    name: "rejects two identical Content-Length fields in a response",
    kind: "response",
    input: `${RESPONSE}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc`,
    error: "SLUICE_ERR_HTTP_DUPLICATE_CONTENT_LENGTH",
  },
  {
    name: "rejects Transfer-Encoding with a space before the colon in a response",
    kind: "response",
    input: `${RESPONSE}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_SPACE_BEFORE_COLON",
  },
  {
    name: "rejects a folded Transfer-Encoding in a response",
    kind: "response",
    input: `${RESPONSE}Transfer-Encoding:\r\n\tchunked\r\n\r\n0\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_OBS_FOLD",
  },
  {
    name: "rejects the coding xchunked in a response",
    kind: "response",
    input: `${RESPONSE}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`,
    error: "SLUICE_ERR_HTTP_UNSUPPORTED_TRANSFER_ENCODING",
  },
  {
    name: "rejects a bare LF in a response head before the body",
    kind: "response",
    input: `${RESPONSE}Content-Length: 0\n\r\n${RESPONSE}`,
    error: "SLUICE_ERR_HTTP_INVALID_LINE_ENDING",
  },
];
