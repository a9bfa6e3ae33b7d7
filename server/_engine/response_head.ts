/**
 * The response head as the raw engine writes it: the application's fields,
 * checked (no CR/LF injection), minus the framing and connection fields the
 * engine owns, plus `Content-Length` or `Transfer-Encoding: chunked`,
 * `Connection`, `Date` and an optional `Server`.
 *
 * @module
 */

import { FIELD_VALUE, TOKEN } from "../../http1/_abnf.ts";
import { STATUS_TEXT } from "../../http1/_status_text.ts";
import { HttpSerializeError } from "../../http1/errors.ts";

const encoder = new TextEncoder();
const statusLines = new Map<number, string>();

/** `HTTP/1.1 <status> <reason>\r\n`, cached per status for the registered reason. */
export function statusLine(status: number, reason: string): string {
  if (reason === "" || reason === STATUS_TEXT[status]) {
    let line = statusLines.get(status);
    if (line === undefined) {
      line = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ""}\r\n`;
      statusLines.set(status, line);
    }
    return line;
  }
  for (let i = 0; i < reason.length; i++) {
    if (FIELD_VALUE[reason.charCodeAt(i)] !== 1) {
      throw new HttpSerializeError(
        "SLUICE_ERR_HTTP_SERIALIZE_STATUS",
        `Cannot write reason phrase ${JSON.stringify(reason)}: invalid character`,
      );
    }
  }
  return `HTTP/1.1 ${status} ${reason}\r\n`;
}

/** The application's fields, written, and what they said about framing and the connection. */
export class HeadFields {
  text = "";
  ascii = true;
  /** The `Content-Length` the application set, or -1. */
  contentLength = -1;
  /** `Connection: close` was asked for. */
  close = false;
  /** `Connection` tokens other than close/keep-alive (kept for 101 answers). */
  connection: string | null = null;
  hasDate = false;
  hasServer = false;
  /** A `Trailer` field announced trailers. */
  trailer = false;

  /** Adds fields from a platform `Headers` (already validated by the platform). */
  addHeaders(headers: Headers): void {
    for (const [name, value] of headers) this.#add(name, value, false);
  }

  /** Adds fields from any `HeadersInit`, validating names and values. */
  addInit(init: HeadersInit): void {
    if (init instanceof Headers) return this.addHeaders(init);
    if (Array.isArray(init)) {
      for (const pair of init) {
        if (pair.length !== 2) throw new TypeError("Cannot write header: a pair must have 2 items");
        this.#add(String(pair[0]), String(pair[1]), true);
      }
      return;
    }
    const record = init as Record<string, string>;
    for (const name in record) this.#add(name, String(record[name]), true);
  }

  #add(name: string, value: string, check: boolean): void {
    if (check) {
      if (name.length === 0) throw invalidName(name);
      for (let i = 0; i < name.length; i++) {
        if (TOKEN[name.charCodeAt(i)] !== 1) throw invalidName(name);
      }
      value = value.trim();
      for (let i = 0; i < value.length; i++) {
        const c = value.charCodeAt(i);
        if (FIELD_VALUE[c] !== 1) throw invalidValue(name, c);
        if (c >= 0x80) this.ascii = false;
      }
    } else if (this.ascii) {
      for (let i = 0; i < value.length; i++) {
        if (value.charCodeAt(i) >= 0x80) {
          this.ascii = false;
          break;
        }
      }
    }
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === "date") this.hasDate = true;
        break;
      case 6:
        if (name.toLowerCase() === "server") this.hasServer = true;
        break;
      case 7:
        if (name.toLowerCase() === "trailer") this.trailer = true;
        break;
      case 10:
        if (name.toLowerCase() === "connection") {
          for (const token of value.split(",")) {
            const t = token.trim().toLowerCase();
            if (t === "close") this.close = true;
            else if (t !== "keep-alive" && t !== "") {
              this.connection = this.connection === null ? t : `${this.connection}, ${t}`;
            }
          }
          return;
        }
        if (name.toLowerCase() === "keep-alive") return;
        break;
      case 14:
        if (name.toLowerCase() === "content-length") {
          const n = /^\d{1,15}$/.test(value) ? Number(value) : -1;
          if (n < 0 || (this.contentLength >= 0 && this.contentLength !== n)) {
            throw new HttpSerializeError(
              "SLUICE_ERR_HTTP_SERIALIZE_HEADER_VALUE",
              `Cannot write Content-Length ${JSON.stringify(value)}: not one decimal length`,
            );
          }
          this.contentLength = n;
          return;
        }
        break;
      case 17:
        if (name.toLowerCase() === "transfer-encoding") return;
        break;
    }
    this.text += `${name}: ${value}\r\n`;
  }
}

function invalidName(name: string): HttpSerializeError {
  return new HttpSerializeError(
    "SLUICE_ERR_HTTP_SERIALIZE_HEADER_NAME",
    `Cannot write field name ${JSON.stringify(name)}: not a token`,
  );
}

function invalidValue(name: string, c: number): HttpSerializeError {
  return new HttpSerializeError(
    "SLUICE_ERR_HTTP_SERIALIZE_HEADER_VALUE",
    `Cannot write value of field "${name}": character ${
      c > 0xff ? "beyond Latin-1" : `0x${c.toString(16).padStart(2, "0")}`
    } is not allowed`,
  );
}

/** Encodes a head (Latin-1) with room for `extra` body bytes after it. */
export function headBytes(head: string, ascii: boolean, extra: number): Uint8Array {
  const out = new Uint8Array(head.length + extra);
  if (ascii) encoder.encodeInto(head, out);
  else for (let i = 0; i < head.length; i++) out[i] = head.charCodeAt(i);
  return out;
}

/** A head and a text body in one buffer; `contentLength` must be the body's UTF-8 length. */
export function headAndText(
  head: string,
  ascii: boolean,
  body: string,
  bodyBytes: Uint8Array | null,
): Uint8Array {
  if (bodyBytes === null && ascii) return encoder.encode(head + body);
  const bytes = bodyBytes ?? encoder.encode(body);
  const out = headBytes(head, ascii, bytes.length);
  out.set(bytes, head.length);
  return out;
}

/** The UTF-8 length of a short ASCII string, or -1 (then encode it to know). */
export function asciiLength(body: string): number {
  if (body.length > 4096) return -1;
  for (let i = 0; i < body.length; i++) if (body.charCodeAt(i) >= 0x80) return -1;
  return body.length;
}
