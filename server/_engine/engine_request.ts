/**
 * The raw engine's {@linkcode IncomingRequest}: a plain object over the
 * parsed head that builds `URL` text, `Headers`, the body stream, the abort
 * signal and a platform `Request` only when asked (each costs microseconds
 * on Node; see the platform section of bench/RESULTS.md).
 *
 * @module
 */

import type { RequestHead } from "../../http1/mod.ts";
import type { Address, Conn } from "../../adapters/transport.ts";
import type { IncomingRequest, TrustProxyOptions } from "../types.ts";
import { resolveForwarded } from "../forwarded.ts";
import type { BodySource } from "./body_source.ts";
import { decodeUtf8Chunks, joinOwned, ownedBytes } from "../../util/bytes.ts";

const EMPTY = new Uint8Array(0);

/** What a request needs from its connection. */
export interface RequestSite {
  readonly conn: Conn;
  readonly trust: TrustProxyOptions | boolean | undefined;
}

/** The view of a request after trusted proxy headers. */
interface Origin {
  remoteAddress: Address;
  secure: boolean;
  host: string | null;
}

/** One request on the raw engine. */
export class EngineRequest implements IncomingRequest {
  readonly method: string;
  readonly #head: RequestHead;
  readonly #site: RequestSite;
  readonly #body: BodySource | null;
  #pathname: string | null = null;
  #search = "";
  #url: string | null = null;
  #headers: Headers | null = null;
  #controller: AbortController | null = null;
  #abortReason: unknown = undefined;
  #aborted = false;
  #request: Request | null = null;
  #origin: Origin | null = null;

  constructor(head: RequestHead, site: RequestSite, body: BodySource | null) {
    this.method = head.method;
    this.#head = head;
    this.#site = site;
    this.#body = body;
  }

  /** The parsed head. */
  get head(): RequestHead {
    return this.#head;
  }

  get httpVersion(): string {
    return this.#head.versionMinor === 0 ? "1.0" : "1.1";
  }

  get pathname(): string {
    if (this.#pathname === null) this.#splitTarget();
    return this.#pathname!;
  }

  get search(): string {
    if (this.#pathname === null) this.#splitTarget();
    return this.#search;
  }

  #splitTarget(): void {
    let target = this.#head.target;
    if (target.charCodeAt(0) !== 47 /* / */ && target !== "*" && this.method !== "CONNECT") {
      // absolute-form: drop scheme and authority
      const authority = target.indexOf("//");
      const path = authority < 0 ? -1 : target.indexOf("/", authority + 2);
      const query = target.indexOf("?", authority + 2);
      const start = path < 0 || (query >= 0 && query < path) ? -1 : path;
      target = start < 0 ? "/" + (query >= 0 ? target.slice(query) : "") : target.slice(start);
    }
    const q = target.indexOf("?");
    if (q < 0) {
      this.#pathname = target;
      this.#search = "";
    } else {
      this.#pathname = target.slice(0, q);
      this.#search = q === target.length - 1 ? "" : target.slice(q);
    }
  }

  #originView(): Origin {
    if (this.#origin !== null) return this.#origin;
    const conn = this.#site.conn;
    const trust = this.#site.trust;
    const secure = conn.tls !== null;
    if (trust === undefined || trust === false) {
      this.#origin = { remoteAddress: conn.remoteAddress, secure, host: null };
    } else {
      this.#origin = resolveForwarded((name) => this.header(name), {
        remoteAddress: conn.remoteAddress,
        secure,
      }, trust);
    }
    return this.#origin;
  }

  get remoteAddress(): Address {
    return this.#originView().remoteAddress;
  }

  get secure(): boolean {
    return this.#originView().secure;
  }

  get url(): string {
    if (this.#url !== null) return this.#url;
    const origin = this.#originView();
    const scheme = origin.secure ? "https://" : "http://";
    const target = this.#head.target;
    let host = origin.host ?? this.#head.host;
    if (target.charCodeAt(0) !== 47 && target !== "*" && this.method !== "CONNECT") {
      // absolute-form: its authority wins over Host (RFC 9112 §3.2.2)
      const authority = target.indexOf("//");
      const end = target.slice(authority + 2).search(/[/?#]/);
      host = origin.host ??
        (end < 0 ? target.slice(authority + 2) : target.slice(authority + 2, authority + 2 + end));
    }
    if (host === null || host === "") host = localHost(this.#site.conn.localAddress);
    this.#url = scheme + host +
      (this.method === "CONNECT" || target === "*" ? "/" : this.pathname + this.search);
    return this.#url;
  }

  get headers(): Headers {
    if (this.#headers !== null) return this.#headers;
    const fields = this.#head.headers;
    const headers = new Headers();
    for (let i = 0; i < fields.length; i += 2) headers.append(fields[i], fields[i + 1]);
    this.#headers = headers;
    return headers;
  }

  header(name: string): string | null {
    if (this.#headers !== null) return this.#headers.get(name);
    const fields = this.#head.headers;
    const lower = name.toLowerCase();
    let found: string | null = null;
    for (let i = 0; i < fields.length; i += 2) {
      const field = fields[i];
      if (field.length === lower.length && (field === lower || field.toLowerCase() === lower)) {
        found = found === null ? fields[i + 1] : `${found}, ${fields[i + 1]}`;
      }
    }
    return found;
  }

  get contentLength(): number | null {
    return this.#head.framing === "length" ? this.#head.contentLength : null;
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.#body === null ? null : this.#body.stream();
  }

  get bodyUsed(): boolean {
    return this.#body !== null && this.#body.disturbed;
  }

  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** Aborts the request's signal (the engine calls it when the client is gone). */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  /** Whether the signal was aborted. */
  get aborted(): boolean {
    return this.#aborted;
  }

  get request(): Request {
    if (this.#request !== null) return this.#request;
    const hasBody = this.#body !== null && this.method !== "GET" && this.method !== "HEAD";
    this.#request = new Request(this.url, {
      method: this.method,
      headers: this.headers,
      body: hasBody ? this.#body!.stream() : null,
      signal: this.signal,
      // @ts-ignore: `duplex` is required by Node and Deno for stream bodies; not in every lib.dom
      duplex: "half",
    });
    return this.#request;
  }

  bytes(): Promise<Uint8Array> {
    if (this.#body === null) return Promise.resolve(EMPTY);
    // Owned: the `.buffer` of a view of the socket's read would hold the request head too.
    return this.#body.readAll(joinOwned);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.bytes();
    return ownedBytes(bytes).buffer;
  }

  text(): Promise<string> {
    if (this.#body === null) return Promise.resolve("");
    return this.#body.readAll(decodeUtf8Chunks);
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async blob(): Promise<Blob> {
    const type = this.header("content-type") ?? "";
    return new Blob([await this.bytes() as Uint8Array<ArrayBuffer>], { type });
  }

  async formData(): Promise<FormData> {
    const bytes = await this.bytes();
    const type = this.header("content-type") ?? "";
    return await new Response(bytes as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": type },
    })
      .formData();
  }
}

/** The listening address as a Host value, for HTTP/1.0 requests without one. */
function localHost(address: Address): string {
  if (address.transport === "unix") return "localhost";
  const host = address.family === "IPv6" ? `[${address.hostname}]` : address.hostname;
  return `${host}:${address.port}`;
}
