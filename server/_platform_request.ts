/**
 * An {@linkcode IncomingRequest} over a platform `Request` (`app.fetch`, edge
 * hosts, tests). Every field is read from the `Request` when first asked for:
 * on Node, `request.url`, `request.signal` and `request.headers` are getters
 * costing around a microsecond each.
 *
 * @module
 */

import type { Address } from "../adapters/transport.ts";
import type { IncomingRequest } from "./types.ts";

const UNKNOWN_PEER: Address = Object.freeze({
  transport: "tcp",
  hostname: "",
  port: 0,
  family: "IPv4",
}) as Address;

/** The server's view of a platform `Request`. */
export class PlatformIncoming implements IncomingRequest {
  /** The platform request. */
  readonly request: Request;
  readonly httpVersion: string = "1.1";
  readonly remoteAddress: Address = UNKNOWN_PEER;
  #url: string | null = null;
  #pathname: string | null = null;
  #search = "";
  #headers: Headers | null = null;

  /**
   * Wraps `request`.
   *
   * @param request The platform request.
   */
  constructor(request: Request) {
    this.request = request;
  }

  get method(): string {
    return this.request.method;
  }
  get url(): string {
    return this.#url ??= this.request.url;
  }
  get pathname(): string {
    if (this.#pathname === null) this.#split();
    return this.#pathname!;
  }
  get search(): string {
    if (this.#pathname === null) this.#split();
    return this.#search;
  }
  get headers(): Headers {
    return this.#headers ??= this.request.headers;
  }
  header(name: string): string | null {
    return this.headers.get(name);
  }
  get contentLength(): number | null {
    const length = this.headers.get("content-length");
    return length !== null && /^\d+$/.test(length) ? Number(length) : null;
  }
  get body(): ReadableStream<Uint8Array> | null {
    return this.request.body;
  }
  get bodyUsed(): boolean {
    return this.request.bodyUsed;
  }
  get signal(): AbortSignal {
    return this.request.signal;
  }
  get secure(): boolean {
    return this.url.startsWith("https:");
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    return this.request.arrayBuffer();
  }
  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(await this.request.arrayBuffer());
  }
  text(): Promise<string> {
    return this.request.text();
  }
  json(): Promise<unknown> {
    return this.request.json();
  }
  formData(): Promise<FormData> {
    return this.request.formData();
  }
  blob(): Promise<Blob> {
    return this.request.blob();
  }

  /** The path and query of the URL, as sent (not decoded), without the fragment. */
  #split(): void {
    const url = this.url;
    const pathStart = url.indexOf("/", url.indexOf("//") + 2);
    const target = pathStart < 0 ? "/" : url.slice(pathStart);
    const q = target.indexOf("?");
    const hash = target.indexOf("#");
    const end = hash < 0 ? target.length : hash;
    this.#pathname = q < 0 || (hash >= 0 && hash < q) ? target.slice(0, end) : target.slice(0, q);
    this.#search = q < 0 || q + 1 >= end ? "" : target.slice(q, end);
  }
}
