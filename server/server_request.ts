/**
 * The request a framework handler gets: the read side of `Request`, over the
 * server's lazy {@linkcode IncomingRequest}, plus what routing and the
 * application add (params, query, cookies, the app, per-request state), with
 * buffered body reads bounded by `clientMaxSize` (aiohttp's
 * `client_max_size`). Nothing is parsed before it is asked for.
 *
 * @module
 */

import type { Address } from "../adapters/transport.ts";
import { addressText } from "./_engine/access.ts";
import { HttpBadRequest, HttpRequestEntityTooLarge } from "./_http_client_errors.ts";
import { HttpNotImplemented } from "./_http_server_errors.ts";
import { AppState } from "./app_key.ts";
import { PlatformIncoming } from "./_platform_request.ts";
import { parseCookieHeader } from "./cookies.ts";
import type { IncomingRequest, ServeInfo } from "./types.ts";
import { decodeUtf8Chunks, joinOwned, ownedBytes } from "../util/bytes.ts";

const EMPTY = new Uint8Array(0);

/** What the application gives a request besides the server's view of it. */
export interface ServerRequestOptions<A, P> {
  /** The application (or sub-application) that routed the request. */
  app: A;
  /** The route's parameters, percent-decoded. */
  params: P;
  /** Largest body the buffered reads (`text()`, `json()`, …) accept; 413 past it. Default 1 MiB. */
  clientMaxSize?: number;
  /** What the server knows about the connection, when it is known. */
  info?: ServeInfo | null;
}

/** Gets a request's body stream as it is so far and returns the one to read instead. */
type BodyTransform = (body: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>;

/**
 * A request as framework handlers see it.
 *
 * @example Read params, query and a JSON body
 * ```ts
 * import { ServerRequest } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const req = ServerRequest.from(
 *   new Request("http://example.com/users/7?tag=a&tag=b", { method: "POST", body: '{"name":"Ada"}' }),
 *   { app: null, params: { id: "7" } },
 * );
 * assert.equal(req.params.id, "7");
 * assert.deepEqual(req.query.getAll("tag"), ["a", "b"]);
 * assert.deepEqual(await req.json(), { name: "Ada" });
 * ```
 */
export class ServerRequest<A = unknown, P extends Record<string, string> = Record<string, string>> {
  /** The server's request under this one. */
  readonly incoming: IncomingRequest;
  /** The application that routed the request. */
  readonly app: A;
  /** The route's parameters, percent-decoded. */
  readonly params: P;
  /** What the server knows about the connection, or `null` (e.g. `app.fetch` in tests). */
  readonly info: ServeInfo | null;
  #clientMaxSize: number;
  #transforms: BodyTransform[] | null = null;
  /** The transformed body once made (`undefined` before). */
  #transformed: ReadableStream<Uint8Array> | null | undefined = undefined;
  #transformedRead = false;
  #decoded = false;
  #request: Request | null = null;
  #query: URLSearchParams | null = null;
  #cookies: ReadonlyMap<string, string> | null = null;
  #state: AppState | null = null;

  /**
   * Wraps a server's request.
   *
   * @param incoming The server's request.
   * @param options The application, params, size limit and connection info.
   */
  constructor(incoming: IncomingRequest, options: ServerRequestOptions<A, P>) {
    const max = checkedMax(options.clientMaxSize ?? 1024 * 1024);
    this.incoming = incoming;
    this.app = options.app;
    this.params = options.params;
    this.info = options.info ?? null;
    this.#clientMaxSize = max;
  }

  /**
   * Largest body the buffered reads accept (413 past it). Settable, e.g. by
   * a per-route `bodyLimit()`, for the reads that start after; a
   * `RangeError` for anything but a number ≥ 0.
   */
  get clientMaxSize(): number {
    return this.#clientMaxSize;
  }
  set clientMaxSize(max: number) {
    this.#clientMaxSize = checkedMax(max);
  }

  /**
   * Makes `body` and the buffered reads (`bytes()`, `text()`, `json()`, …)
   * read `transform(body)` instead of the body as received, from the first
   * read on (nothing runs before). Transforms stack in call order. Once one
   * is set, `contentLength` is `null` (the length read is no longer the
   * declared one) and `request` is a platform `Request` over the
   * transformed body, without `Content-Length`. A `TypeError` once the body
   * was read (or `body` was taken).
   *
   * @param transform Gets the body stream, returns the one to read.
   * @param options `decoded: true` when the transform undoes the request's
   *   `Content-Encoding`: `request` then has no `Content-Encoding` field.
   *
   * @example Count the bytes a handler reads
   * ```ts
   * import { ServerRequest } from "@sluice/http/server";
   * import assert from "node:assert/strict";
   *
   * const req = ServerRequest.from(
   *   new Request("http://localhost/", { method: "POST", body: "hello" }),
   *   { app: null, params: {} },
   * );
   * let seen = 0;
   * req.transformBody((body) =>
   *   body.pipeThrough(new TransformStream({
   *     transform(chunk, out) {
   *       seen += chunk.length;
   *       out.enqueue(chunk);
   *     },
   *   }))
   * );
   * assert.equal(await req.text(), "hello");
   * assert.equal(seen, 5);
   * ```
   */
  transformBody(
    transform: (body: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>,
    options?: { decoded?: boolean },
  ): void {
    if (typeof transform !== "function") {
      throw new TypeError("Cannot transform the request body: the transform is not a function");
    }
    if (this.#transformed !== undefined || this.incoming.bodyUsed) {
      throw new TypeError("Cannot transform the request body: it was already read");
    }
    (this.#transforms ??= []).push(transform);
    if (options?.decoded === true) this.#decoded = true;
  }

  /** The body to read: the transformed one once a transform is set. */
  #body(): ReadableStream<Uint8Array> | null {
    const transforms = this.#transforms;
    if (transforms === null) return this.incoming.body;
    if (this.#transformed === undefined) {
      let body = this.incoming.body;
      if (body !== null) { for (const transform of transforms) body = transform(body); }
      this.#transformed = body;
    }
    return this.#transformed;
  }

  /**
   * A request over a platform `Request` (for `app.fetch` and tests).
   *
   * @param request The platform request.
   * @param options The application, params and size limit.
   * @returns The framework's request.
   */
  static from<A, P extends Record<string, string>>(
    request: Request,
    options: ServerRequestOptions<A, P>,
  ): ServerRequest<A, P> {
    return new ServerRequest(new PlatformIncoming(request), options);
  }

  /** The method, e.g. `"GET"`. */
  get method(): string {
    return this.incoming.method;
  }
  /** The absolute URL. */
  get url(): string {
    return this.incoming.url;
  }
  /** The path, not decoded. */
  get pathname(): string {
    return this.incoming.pathname;
  }
  /** The query with its `?`, or `""`. */
  get search(): string {
    return this.incoming.search;
  }
  /** The header fields. */
  get headers(): Headers {
    return this.incoming.headers;
  }
  /** One header field (case-insensitive), or `null`. */
  header(name: string): string | null {
    return this.incoming.header(name);
  }
  /** The body stream (not limited by `clientMaxSize`; transformed by `transformBody()`), or `null`. */
  get body(): ReadableStream<Uint8Array> | null {
    return this.#body();
  }
  /** Whether the body was read. */
  get bodyUsed(): boolean {
    const transformed = this.#transformed;
    if (transformed === undefined) return this.incoming.bodyUsed;
    return this.#transformedRead || (transformed !== null && transformed.locked);
  }
  /** Aborted when the client goes away. */
  get signal(): AbortSignal {
    return this.incoming.signal;
  }
  /** `"1.1"` or `"1.0"`. */
  get httpVersion(): string {
    return this.incoming.httpVersion;
  }
  /** The declared body length, or `null` (also once `transformBody()` was called). */
  get contentLength(): number | null {
    return this.#transforms === null ? this.incoming.contentLength : null;
  }
  /** Whether the request came over TLS (or a trusted proxy says so). */
  get secure(): boolean {
    return this.incoming.secure;
  }
  /** The client (after trusted proxy headers). */
  get remoteAddress(): Address {
    return this.incoming.remoteAddress;
  }
  /** The client's address as text (aiohttp's `request.remote`). */
  get remoteAddr(): string {
    return addressText(this.incoming.remoteAddress);
  }
  /** A platform `Request`, made on first use; it shares the body (the transformed one, after `transformBody()`). */
  get request(): Request {
    if (this.#transforms === null) return this.incoming.request;
    if (this.#request === null) {
      const headers = new Headers(this.incoming.headers);
      headers.delete("content-length");
      if (this.#decoded) headers.delete("content-encoding");
      const method = this.incoming.method;
      const body = method === "GET" || method === "HEAD" ? null : this.#body();
      const init: RequestInit & { duplex?: "half" } = { method, headers, signal: this.signal };
      // A body already read cannot be handed on: the request then has none.
      if (body !== null && !this.bodyUsed) {
        init.body = body;
        init.duplex = "half";
      }
      this.#request = new Request(this.incoming.url, init);
    }
    return this.#request;
  }

  /** The query parameters (multi-valued: `getAll()`), parsed on first use. */
  get query(): URLSearchParams {
    return this.#query ??= new URLSearchParams(this.incoming.search);
  }

  /** The cookies the client sent (first value of a repeated name), parsed on first use. */
  get cookies(): ReadonlyMap<string, string> {
    if (this.#cookies === null) {
      // Repeated Cookie fields are joined with "; " (RFC 9113 §8.2.3), not ", ".
      const header = this.incoming.headers.get("cookie");
      this.#cookies = parseCookieHeader(header === null ? null : header.replaceAll(", ", "; "));
    }
    return this.#cookies;
  }

  /** Per-request state, by `AppKey` (what middlewares hand to handlers). */
  get state(): AppState {
    return this.#state ??= new AppState();
  }

  /**
   * The whole body, at most `clientMaxSize` bytes: `HttpRequestEntityTooLarge`
   * (413) past it, declared or while reading.
   */
  bytes(): Promise<Uint8Array> {
    return this.#readWhole((incoming) => incoming.bytes(), joinOwned, EMPTY);
  }

  /**
   * The whole body, bounded by `clientMaxSize`: `whole(incoming)` when its
   * length is declared (and checked), else its chunks, collected and `join`ed.
   */
  async #readWhole<T>(
    whole: (incoming: IncomingRequest) => Promise<T>,
    join: (chunks: Uint8Array[]) => T,
    empty: T,
  ): Promise<T> {
    const max = this.#clientMaxSize;
    const declared = this.contentLength;
    if (declared !== null) {
      if (declared > max) throw tooLarge(max);
      return await whole(this.incoming);
    }
    const body = this.#body();
    if (body === null) return empty;
    if (this.#transforms !== null) this.#transformedRead = true;
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.length;
        if (total > max) {
          reader.cancel().catch(() => {});
          throw tooLarge(max);
        }
        chunks.push(value);
      }
    } finally {
      reader.releaseLock();
    }
    return join(chunks);
  }

  /** The body as an `ArrayBuffer` (bounded like {@linkcode ServerRequest.bytes}). */
  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.bytes();
    return ownedBytes(bytes).buffer;
  }

  /** The body as UTF-8 text (bounded like {@linkcode ServerRequest.bytes}). */
  text(): Promise<string> {
    // Decoded from the chunks as read: no copy to make them one owned array first.
    return this.#readWhole((incoming) => incoming.text(), decodeUtf8Chunks, "");
  }

  /**
   * The body parsed as JSON (bounded like {@linkcode ServerRequest.bytes});
   * malformed JSON is `HttpBadRequest` (400) with the parser's reason.
   */
  async json(): Promise<unknown> {
    const text = await this.text();
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new HttpBadRequest(`Malformed JSON body: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** The body as a `Blob` (bounded like {@linkcode ServerRequest.bytes}). */
  async blob(): Promise<Blob> {
    const type = this.incoming.header("content-type") ?? "";
    return new Blob([await this.bytes() as Uint8Array<ArrayBuffer>], { type });
  }

  /**
   * The body as form data (`application/x-www-form-urlencoded` or
   * `multipart/form-data`, bounded like {@linkcode ServerRequest.bytes});
   * a body the platform cannot parse as such is `HttpBadRequest`.
   */
  async formData(): Promise<FormData> {
    const type = this.incoming.header("content-type") ?? "";
    const bytes = await this.bytes();
    try {
      return await new Response(bytes as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": type },
      }).formData();
    } catch (error) {
      throw new HttpBadRequest(`Malformed form body: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** Streaming multipart reading: arrives with the multipart issue; `HttpNotImplemented` until then. */
  multipart(): never {
    throw new HttpNotImplemented("Cannot read multipart bodies as a stream yet");
  }

  /** WebSocket upgrade: arrives with the WebSocket issue; `HttpNotImplemented` until then. */
  upgradeWebSocket(): never {
    throw new HttpNotImplemented("Cannot upgrade to WebSocket yet");
  }
}

function checkedMax(max: number): number {
  if (typeof max !== "number" || !(max >= 0)) {
    throw new RangeError(`Cannot use clientMaxSize ${max}: not a number of bytes ≥ 0`);
  }
  return max;
}

function tooLarge(max: number): HttpRequestEntityTooLarge {
  return new HttpRequestEntityTooLarge(`Request body is larger than ${max} bytes`);
}
