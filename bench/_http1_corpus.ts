/**
 * The requests that the HTTP/1.1 parser benchmarks feed, built once from
 * strings. Every contender gets the very same `Uint8Array` of each.
 *
 * @module
 */

/** One buffer of wire bytes and what a correct parser must find in it. */
export interface Corpus {
  /** Case name (kebab-case). */
  name: string;
  description: string;
  /** The bytes fed in one `feed`/`execute` call: whole messages only. */
  bytes: Uint8Array;
  /** Complete messages in `bytes`. */
  messages: number;
  /** Header fields in `bytes`, summed over the messages. */
  headerFields: number;
  /** Body bytes in `bytes` (decoded: chunk framing excluded). */
  bodyBytes: number;
  /** Method and target of the last message, to check the parse. */
  lastMethod: string;
  lastTarget: string;
}

const CRLF = "\r\n";

function head(requestLine: string, fields: [string, string][]): string {
  return requestLine + CRLF + fields.map(([n, v]) => `${n}: ${v}${CRLF}`).join("") + CRLF;
}

function build(
  name: string,
  description: string,
  parts: { requestLine: string; fields: [string, string][]; body?: string; bodyBytes?: number }[],
): Corpus {
  const text = parts.map((p) => head(p.requestLine, p.fields) + (p.body ?? "")).join("");
  // Every part is ASCII, so string length is byte length.
  const bytes = new TextEncoder().encode(text);
  if (bytes.length !== text.length) throw new TypeError(`Cannot build ${name}: non-ASCII input`);
  const last = parts[parts.length - 1].requestLine.split(" ");
  return {
    name,
    description,
    bytes,
    messages: parts.length,
    headerFields: parts.reduce((sum, p) => sum + p.fields.length, 0),
    bodyBytes: parts.reduce((sum, p) => sum + (p.bodyBytes ?? p.body?.length ?? 0), 0),
    lastMethod: last[0],
    lastTarget: last[1],
  };
}

const CHROME_UA =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " +
  "Chrome/131.0.0.0 Safari/537.36";

/** (a) A Chrome navigation: 12 header fields, 572 bytes. */
export const browserGet: Corpus = build(
  "browser-get",
  "Chrome page navigation GET, 12 header fields",
  [{
    requestLine: "GET /shoes/running?size=42 HTTP/1.1",
    fields: [
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
    ],
  }],
);

const JSON_BODY = '{"sku":"RUN-4471","qty":2,"size":42,"gift":false,"note":"hi"}';

/** (b) A small JSON API call with `Content-Length`. */
export const jsonPost: Corpus = build(
  "json-post",
  `JSON POST, ${JSON_BODY.length}-byte body with Content-Length`,
  [{
    requestLine: "POST /api/v1/cart/items HTTP/1.1",
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
  "pipelined-16",
  "16 small asset GETs pipelined in one buffer",
  Array.from({ length: 16 }, (_, i) => ({
    requestLine: `GET /static/chunk-${i.toString(16).padStart(2, "0")}.js HTTP/1.1`,
    fields: [
      ["Host", "shop.example.com"],
      ["Accept", "*/*"],
      ["Accept-Encoding", "gzip, br"],
    ] as [string, string][],
  })),
);

function chunkedBody(chunks: number, size: number): string {
  const data = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_".repeat(
    Math.ceil(size / 64),
  ).slice(0, size);
  const one = size.toString(16) + CRLF + data + CRLF;
  return one.repeat(chunks) + "0" + CRLF + CRLF;
}

/** (d) An upload of 64 chunks of 1 KiB with `Transfer-Encoding: chunked`. */
export const chunkedUpload: Corpus = build(
  "chunked-64k",
  "Chunked upload, 64 × 1 KiB chunks, one buffer",
  [{
    requestLine: "POST /upload HTTP/1.1",
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

/** All four, in the order they are reported. */
export const corpora: Corpus[] = [browserGet, jsonPost, pipelined, chunkedUpload];
