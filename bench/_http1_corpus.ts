/**
 * The messages that the HTTP/1.1 parser benchmarks feed, built once from
 * strings: requests for the server-side parsers, responses (all to `GET`) for
 * the client-side ones. Every contender gets the very same `Uint8Array` of
 * each.
 *
 * @module
 */

/** Which side parses the corpus: a server reads requests, a client responses. */
export type Kind = "request" | "response";

/**
 * A parsed start line, to check the parse: method and target of a request,
 * or status and reason of a response (the other two are `""` and `0`).
 */
export interface StartLine {
  method: string;
  target: string;
  status: number;
  reason: string;
}

/** One buffer of wire bytes and what a correct parser must find in it. */
export interface Corpus {
  /** Case name (kebab-case). */
  name: string;
  description: string;
  kind: Kind;
  /** The bytes fed in one `feed`/`execute` call: whole messages only. */
  bytes: Uint8Array;
  /** Complete messages in `bytes`. */
  messages: number;
  /** Header fields in `bytes`, summed over the messages. */
  headerFields: number;
  /** Body bytes in `bytes` (decoded: chunk framing excluded). */
  bodyBytes: number;
  /** The start line of the last message. */
  last: StartLine;
}

const CRLF = "\r\n";

/** One message: its start line (request line or status line), fields and body. */
interface Part {
  startLine: string;
  fields: [string, string][];
  body?: string;
  /** Decoded body length, when `body` carries chunk framing. */
  bodyBytes?: number;
}

function head(startLine: string, fields: [string, string][]): string {
  return startLine + CRLF + fields.map(([n, v]) => `${n}: ${v}${CRLF}`).join("") + CRLF;
}

/** `"GET /a HTTP/1.1"` or `"HTTP/1.1 404 Not Found"`, split as the parsers report it. */
function parseStartLine(kind: Kind, line: string): StartLine {
  const [first, second, ...rest] = line.split(" ");
  return kind === "request"
    ? { method: first, target: second, status: 0, reason: "" }
    : { method: "", target: "", status: Number(second), reason: rest.join(" ") };
}

function build(kind: Kind, name: string, description: string, parts: Part[]): Corpus {
  const text = parts.map((p) => head(p.startLine, p.fields) + (p.body ?? "")).join("");
  // Every part is ASCII, so string length is byte length.
  const bytes = new TextEncoder().encode(text);
  if (bytes.length !== text.length) throw new TypeError(`Cannot build ${name}: non-ASCII input`);
  return {
    name,
    description,
    kind,
    bytes,
    messages: parts.length,
    headerFields: parts.reduce((sum, p) => sum + p.fields.length, 0),
    bodyBytes: parts.reduce((sum, p) => sum + (p.bodyBytes ?? p.body?.length ?? 0), 0),
    last: parseStartLine(kind, parts[parts.length - 1].startLine),
  };
}

function chunkedBody(chunks: number, size: number): string {
  const data = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_".repeat(
    Math.ceil(size / 64),
  ).slice(0, size);
  const one = size.toString(16) + CRLF + data + CRLF;
  return one.repeat(chunks) + "0" + CRLF + CRLF;
}

// Requests ------------------------------------------------------------------

const CHROME_UA =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " +
  "Chrome/131.0.0.0 Safari/537.36";

/** The 12 fields of a Chrome page navigation, in wire case and order. */
export const BROWSER_FIELDS: readonly (readonly [string, string])[] = [
  ["Host", "shop.example.com"],
  ["Connection", "keep-alive"],
  ["Upgrade-Insecure-Requests", "1"],
  ["User-Agent", CHROME_UA],
  [
    "Accept",
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
  ],
  ["Sec-Fetch-Site", "same-origin"],
  ["Sec-Fetch-Mode", "navigate"],
  ["Sec-Fetch-Dest", "document"],
  ["Referer", "https://shop.example.com/shoes"],
  ["Accept-Encoding", "gzip, deflate, br, zstd"],
  ["Accept-Language", "en-US,en;q=0.9"],
  ["Cookie", "sid=8f2c1e9a4b7d; theme=dark"],
];

/** (a) A Chrome navigation: 12 header fields, 572 bytes. */
export const browserGet: Corpus = build(
  "request",
  "browser-get",
  "Chrome page navigation GET, 12 header fields",
  [{
    startLine: "GET /shoes/running?size=42 HTTP/1.1",
    fields: BROWSER_FIELDS.map(([name, value]): [string, string] => [name, value]),
  }],
);

const JSON_BODY = '{"sku":"RUN-4471","qty":2,"size":42,"gift":false,"note":"hi"}';

/** (b) A small JSON API call with `Content-Length`. */
export const jsonPost: Corpus = build(
  "request",
  "json-post",
  `JSON POST, ${JSON_BODY.length}-byte body with Content-Length`,
  [{
    startLine: "POST /api/v1/cart/items HTTP/1.1",
    fields: [
      ["Host", "api.example.com"],
      ["User-Agent", "sluice-bench/1.0"],
      ["Accept", "application/json"],
      ["Content-Type", "application/json"],
      ["Content-Length", String(JSON_BODY.length)],
    ],
    body: JSON_BODY,
  }],
);

/** (c) 16 small GETs pipelined in one buffer (assets of one page). */
export const pipelined: Corpus = build(
  "request",
  "pipelined-16",
  "16 small asset GETs pipelined in one buffer",
  Array.from({ length: 16 }, (_, i) => ({
    startLine: `GET /static/chunk-${i.toString(16).padStart(2, "0")}.js HTTP/1.1`,
    fields: [
      ["Host", "shop.example.com"],
      ["Accept", "*/*"],
      ["Accept-Encoding", "gzip, br"],
    ] as [string, string][],
  })),
);

/** (d) An upload of 64 chunks of 1 KiB with `Transfer-Encoding: chunked`. */
export const chunkedUpload: Corpus = build(
  "request",
  "chunked-64k",
  "Chunked upload, 64 × 1 KiB chunks, one buffer",
  [{
    startLine: "POST /upload HTTP/1.1",
    fields: [
      ["Host", "files.example.com"],
      ["User-Agent", "sluice-bench/1.0"],
      ["Content-Type", "application/octet-stream"],
      ["Transfer-Encoding", "chunked"],
    ],
    body: chunkedBody(64, 1024),
    bodyBytes: 64 * 1024,
  }],
);

// Responses (each to a GET) -------------------------------------------------

const DATE = "Tue, 24 Nov 2026 10:21:37 GMT";
const SMALL_JSON = '{"sku":"RUN-4471","qty":12}';

/** (e) An API answer through a CDN: 10 header fields (352-byte head) and a small JSON body. */
export const responseSmall: Corpus = build(
  "response",
  "response-small",
  `API/CDN 200 response, 10 header fields, ${SMALL_JSON.length}-byte JSON body`,
  [{
    startLine: "HTTP/1.1 200 OK",
    fields: [
      ["Date", DATE],
      ["Content-Type", "application/json"],
      ["Content-Length", String(SMALL_JSON.length)],
      ["Connection", "keep-alive"],
      ["Cache-Control", "public, max-age=60"],
      ["ETag", '"5f3a9c2e1b7d4a60"'],
      ["Vary", "Accept-Encoding"],
      ["Server", "cloudflare"],
      ["X-Request-Id", "7d3f2a91-4c1e-4b8a-9f60-2e5d8c1a7b34"],
      ["Strict-Transport-Security", "max-age=31536000; includeSubDomains"],
    ],
    body: SMALL_JSON,
  }],
);

const HELLO = "Hello, World!";

/** (f) 16 small plaintext responses in one buffer (TechEmpower's "plaintext"). */
export const responsePipelined: Corpus = build(
  "response",
  "response-pipelined-16",
  `16 small 200 responses (4 fields, ${HELLO.length}-byte body) in one buffer`,
  Array.from({ length: 16 }, () => ({
    startLine: "HTTP/1.1 200 OK",
    fields: [
      ["Server", "example"],
      ["Date", DATE],
      ["Content-Type", "text/plain"],
      ["Content-Length", String(HELLO.length)],
    ] as [string, string][],
    body: HELLO,
  })),
);

/** (g) A download of 64 chunks of 1 KiB with `Transfer-Encoding: chunked`. */
export const responseChunked: Corpus = build(
  "response",
  "response-chunked-64k",
  "Chunked download, 64 × 1 KiB chunks, one buffer",
  [{
    startLine: "HTTP/1.1 200 OK",
    fields: [
      ["Date", DATE],
      ["Server", "example"],
      ["Content-Type", "application/octet-stream"],
      ["Transfer-Encoding", "chunked"],
    ],
    body: chunkedBody(64, 1024),
    bodyBytes: 64 * 1024,
  }],
);

/** All seven, in the order they are reported: requests, then responses. */
export const corpora: Corpus[] = [
  browserGet,
  jsonPost,
  pipelined,
  chunkedUpload,
  responseSmall,
  responsePipelined,
  responseChunked,
];
