/**
 * The {@linkcode IncomingRequest} of the native backends: a thin, lazy view
 * over the runtime's own `Request` (`Deno.serve`, `Bun.serve`). `pathname`
 * and `search` are slices of `request.url` (no `URL` is parsed), `header()`
 * is `request.headers.get`, and `request` is the runtime's `Request` itself
 * unless the body had to be wrapped for the size limit or trusted proxy
 * headers changed the URL.
 *
 * @module
 */

import type { Address } from "../adapters/transport.ts";
import { bodyError, limitBody } from "./_native_checks.ts";
import { type ForwardedView, resolveForwarded } from "./forwarded.ts";
import type { IncomingRequest, ServeInfo, TlsInfo, TrustProxyOptions } from "./types.ts";
import { joinOwned, ownedBytes } from "../util/bytes.ts";

/** What a request needs from its server. */
export interface NativeSite<N> {
  readonly engine: "deno" | "bun";
  /** Where the server listens (the host of last resort in `url`). */
  readonly localAddress: Address;
  /** Whether the server speaks TLS. */
  readonly tls: TlsInfo | null;
  readonly trust: TrustProxyOptions | boolean | undefined;
  /** The body limit to enforce here, or `Infinity` when the runtime enforces it itself. */
  readonly bodyLimit: number;
  /** The runtime's request bodies are byte streams (else `body` is made one here). */
  readonly byteBodies: boolean;
  /** The `maxBodySize` option (for messages). */
  readonly maxBodySize: number;
  /** The socket's peer of a request. */
  peer(request: Request, native: N): Address;
  /** The request's signal as {@linkcode IncomingRequest.signal} means it. */
  signal(request: NativeIncomingRequest<N>): AbortSignal;
}

const decoder = new TextDecoder();

/** Where the request-target starts in a runtime's `request.url`. */
function targetStart(url: string, method: string): number {
  // Bun gives a relative URL when it cannot make an absolute one (no or a bad Host)
  if (url.charCodeAt(0) === 47 /* / */) return 0;
  const scheme = url.indexOf("://");
  if (scheme < 0) return 0; // CONNECT on Bun: the authority alone
  if (method === "CONNECT") return scheme + 3;
  const path = url.indexOf("/", scheme + 3);
  return path < 0 ? url.length : path;
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  return joinOwned(chunks);
}

/** One request served by `Deno.serve` or `Bun.serve`. */
export class NativeIncomingRequest<N> implements IncomingRequest {
  readonly method: string;
  /** The runtime's request. */
  readonly raw: Request;
  /** `raw.url`, read once (each read is a call into the runtime). */
  readonly rawUrl: string;
  /** What the runtime gave beside the request (Deno's handler info, Bun's server). */
  readonly native: N;
  readonly #site: NativeSite<N>;
  /** Where the request-target starts in `raw.url`. */
  readonly #start: number;
  #pathname: string | null = null;
  #search = "";
  #url: string | null = null;
  #peer: Address | null = null;
  #origin: ForwardedView | null = null;
  /** `undefined`: not decided yet; `null`: no wrapper. */
  #limited: ReadableStream<Uint8Array> | null | undefined = undefined;
  /** `body` as a byte stream where the runtime's is not one (`undefined` until asked for). */
  #byteBody: ReadableStream<Uint8Array> | null | undefined = undefined;
  #request: Request | null = null;
  #signal: AbortSignal | null = null;
  #controller: AbortController | null = null;

  constructor(raw: Request, native: N, site: NativeSite<N>) {
    this.raw = raw;
    this.native = native;
    this.method = raw.method;
    this.rawUrl = raw.url;
    this.#site = site;
    this.#start = targetStart(this.rawUrl, this.method);
  }

  /** Where the request-target starts in `raw.url`. */
  get targetStart(): number {
    return this.#start;
  }

  get httpVersion(): string {
    return "1.1";
  }

  get pathname(): string {
    if (this.#pathname === null) this.#split();
    return this.#pathname!;
  }

  get search(): string {
    if (this.#pathname === null) this.#split();
    return this.#search;
  }

  #split(): void {
    const url = this.rawUrl;
    const start = this.#start;
    if (this.method === "CONNECT") {
      this.#pathname = url.slice(start);
      return;
    }
    const query = url.indexOf("?", start);
    if (query < 0) {
      this.#pathname = start === url.length ? "/" : url.slice(start);
    } else {
      this.#pathname = query === start ? "/" : url.slice(start, query);
      this.#search = query === url.length - 1 ? "" : url.slice(query);
    }
  }

  /** The socket's peer. */
  get peer(): Address {
    return this.#peer ??= this.#site.peer(this.raw, this.native);
  }

  #view(): ForwardedView {
    if (this.#origin !== null) return this.#origin;
    const socket = { remoteAddress: this.peer, secure: this.#site.tls !== null };
    this.#origin = resolveForwarded((name) => this.raw.headers.get(name), socket, this.#site.trust);
    return this.#origin;
  }

  get remoteAddress(): Address {
    const trust = this.#site.trust;
    return trust === undefined || trust === false ? this.peer : this.#view().remoteAddress;
  }

  get secure(): boolean {
    const trust = this.#site.trust;
    return trust === undefined || trust === false ? this.#site.tls !== null : this.#view().secure;
  }

  get url(): string {
    if (this.#url !== null) return this.#url;
    const raw = this.rawUrl;
    const trust = this.#site.trust;
    const view = trust === undefined || trust === false ? null : this.#view();
    const secure = view?.secure ?? this.#site.tls !== null;
    const absolute = this.#start > 0 && this.method !== "CONNECT";
    if (absolute && view?.host == null && raw.startsWith(secure ? "https:" : "http:")) {
      return this.#url = raw;
    }
    let host = view?.host ?? null;
    if (host === null) {
      if (absolute) host = raw.slice(raw.indexOf("://") + 3, this.#start);
      else if (this.method === "CONNECT") host = raw.slice(this.#start);
      else host = this.raw.headers.get("host") || localHost(this.#site.localAddress);
    }
    const target = this.method === "CONNECT" ? "/" : this.pathname + this.search;
    return this.#url = (secure ? "https://" : "http://") + host + target;
  }

  get headers(): Headers {
    return this.raw.headers;
  }

  header(name: string): string | null {
    return this.raw.headers.get(name);
  }

  get contentLength(): number | null {
    const value = this.raw.headers.get("content-length");
    return value === null ? null : Number(value);
  }

  /** The wrapper that enforces the body limit, or `null` when the runtime's stream is enough. */
  #limitedBody(): ReadableStream<Uint8Array> | null {
    if (this.#limited !== undefined) return this.#limited;
    const max = this.#site.bodyLimit;
    // A declared length was checked up front and the runtime frames it.
    if (
      max === Infinity || this.method === "GET" || this.method === "HEAD" ||
      this.raw.headers.get("content-length") !== null
    ) {
      return this.#limited = null;
    }
    const source = this.raw.body;
    return this.#limited = source === null ? null : limitBody(source, max);
  }

  get body(): ReadableStream<Uint8Array> | null {
    const limited = this.#limitedBody();
    if (limited !== null || this.#site.byteBodies) return limited ?? this.raw.body;
    // A byte stream over the runtime's (made once; it reads the runtime's only when read).
    if (this.#byteBody === undefined) {
      const raw = this.raw.body;
      this.#byteBody = raw === null ? null : limitBody(raw, Infinity);
    }
    return this.#byteBody;
  }

  get bodyUsed(): boolean {
    const limited = this.#limited ?? this.#byteBody;
    return limited ? limited.locked : this.raw.bodyUsed;
  }

  get signal(): AbortSignal {
    return this.#signal ??= this.#site.signal(this);
  }

  /** A signal of our own (where the runtime's does not mean the same), to be aborted with {@linkcode abort}. */
  ownSignal(): AbortSignal {
    this.#controller = new AbortController();
    return this.#controller.signal;
  }

  /** Aborts the request's own signal, if it has one. */
  abort(reason: unknown): void {
    this.#controller?.abort(reason);
  }

  /** Whether the request's signal was aborted (`false` when it was never asked for). */
  get aborted(): boolean {
    return this.#signal?.aborted ?? false;
  }

  get request(): Request {
    if (this.#request !== null) return this.#request;
    const limited = this.#limitedBody();
    const url = this.url;
    if (limited === null && url === this.rawUrl) return this.#request = this.raw;
    const bodyless = this.method === "GET" || this.method === "HEAD";
    this.#request = new Request(url, {
      method: this.method,
      headers: this.raw.headers,
      body: bodyless ? null : (limited ?? this.raw.body),
      signal: this.signal,
      // @ts-ignore: `duplex` is required by Deno and Node for stream bodies; not in every lib.dom
      duplex: "half",
    });
    return this.#request;
  }

  async bytes(): Promise<Uint8Array> {
    const limited = this.#limitedBody();
    try {
      if (limited !== null) return await readAll(limited);
      return new Uint8Array(await this.raw.arrayBuffer());
    } catch (error) {
      throw bodyError(error, this.#site.maxBodySize);
    }
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#limitedBody() === null) {
      try {
        return await this.raw.arrayBuffer();
      } catch (error) {
        throw bodyError(error, this.#site.maxBodySize);
      }
    }
    const bytes = await this.bytes();
    return ownedBytes(bytes).buffer;
  }

  async text(): Promise<string> {
    if (this.#limitedBody() === null) {
      try {
        return await this.raw.text();
      } catch (error) {
        throw bodyError(error, this.#site.maxBodySize);
      }
    }
    return decoder.decode(await this.bytes());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async blob(): Promise<Blob> {
    if (this.#limitedBody() === null) {
      try {
        return await this.raw.blob();
      } catch (error) {
        throw bodyError(error, this.#site.maxBodySize);
      }
    }
    const type = this.raw.headers.get("content-type") ?? "";
    return new Blob([await this.bytes() as Uint8Array<ArrayBuffer>], { type });
  }

  formData(): Promise<FormData> {
    return this.request.formData();
  }
}

/** `host[:port]` of a listening address, for a URL when the request named no host. */
function localHost(address: Address): string {
  if (address.transport === "unix") return "localhost";
  const host = address.family === "IPv6" ? `[${address.hostname}]` : address.hostname;
  return `${host}:${address.port}`;
}

/** The {@linkcode ServeInfo} of a native request. */
export class NativeServeInfo<N> implements ServeInfo {
  readonly #request: NativeIncomingRequest<N>;
  readonly #site: NativeSite<N>;

  constructor(request: NativeIncomingRequest<N>, site: NativeSite<N>) {
    this.#request = request;
    this.#site = site;
  }

  get engine(): "deno" | "bun" {
    return this.#site.engine;
  }

  get remoteAddress(): Address {
    return this.#request.peer;
  }

  get localAddress(): Address {
    return this.#site.localAddress;
  }

  get tls(): TlsInfo | null {
    return this.#site.tls;
  }

  get takeover(): null {
    return null;
  }
}
