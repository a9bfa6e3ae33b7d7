/**
 * {@linkcode ClientResponse}: the response the client hands out. It has the
 * read side of the standard `Response` (so code written for `fetch` works
 * with it), plus the redirect `history`, parsed `cookies`,
 * `raiseForStatus()` and `release()`.
 *
 * @module
 */

import type { ClientConnection, ConnectionResponse } from "./_connection.ts";
import { parseSetCookie } from "./_cookie_parse.ts";
import { type LeakState, pending, watch } from "./_response_leak.ts";
import { ResponseStatusError } from "./errors.ts";
import { decodeUtf8Chunks, joinOwned } from "../util/bytes.ts";
import { byteStream } from "../util/byte_stream.ts";
import type { BodyChannel } from "./_body_channel.ts";
import { ExchangeResponse } from "./_connection_response.ts";

const NO_HISTORY: readonly ClientResponse[] = Object.freeze([]);

/**
 * What a {@linkcode ClientResponse} is made from: a response head from the
 * pool, its connection, and the request it answers.
 *
 * @example
 * ```ts
 * import type { ClientResponseInit } from "./response.ts";
 *
 * const method = (init: ClientResponseInit): string => init.method;
 * ```
 */
export interface ClientResponseInit {
  /** The status, fields and body stream. */
  response: ConnectionResponse;
  /** The connection it came on (`null` for a response not tied to one). */
  connection: ClientConnection | null;
  /** The request method. */
  method: string;
  /** The final request URL. */
  url: string | URL;
  /** The earlier responses of the redirect chain, oldest first. */
  history?: readonly ClientResponse[];
  /** Whether redirects were followed (default: `history` is not empty). */
  redirected?: boolean;
  /**
   * Called once when the body is done with: read to the end, failed,
   * cancelled or released (at once when there is no body). The session
   * clears the request's timers here.
   */
  onDone?: () => void;
}

/**
 * Sets the redirect chain of the final response (the session calls this
 * once the last hop is known).
 *
 * @example
 * ```ts ignore
 * setRedirectChain(final, [first, second]);
 * ```
 */
export let setRedirectChain: (response: ClientResponse, history: readonly ClientResponse[]) => void;

/**
 * The `Set-Cookie` lines of a response, without making its `Headers` when
 * it came straight from a connection.
 *
 * @example
 * ```ts ignore
 * jar.update(setCookieLines(res), url);
 * ```
 */
export let setCookieLines: (response: ClientResponse) => string[];

/**
 * Attaches the sending session's bookkeeping to a response, or reads it back
 * (`undefined` for a response made elsewhere, e.g. by a middleware). A field
 * rather than a `WeakMap`: V8's minor GC keeps `WeakMap` values alive, which
 * promoted every response's state to the old generation.
 *
 * @example
 * ```ts ignore
 * sessionState.set(res, { done: false });
 * sessionState.get(res);
 * ```
 */
export let sessionState: {
  get(response: ClientResponse): object | undefined;
  set(response: ClientResponse, state: object): void;
};

/**
 * A response of the HTTP client. It is `Response`-compatible by shape
 * (`status`, `statusText`, `ok`, `headers`, `url`, `redirected`, `type`,
 * `body`, `bodyUsed`, `json()`, `text()`, `arrayBuffer()`, `bytes()`,
 * `blob()`, `formData()`, `clone()`) and can be passed where a `Response` is
 * expected, but `instanceof Response` is `false`.
 *
 * Reading the body to the end, or cancelling it, returns the connection to
 * the pool. `release()` (or `await using`) gives up an unread body: up to
 * 64 KiB more are read and dropped to keep the connection, else it is
 * closed. A response dropped with its body unread is found by the garbage
 * collector: its connection is closed and a warning
 * (`SLUICE_WARN_CLIENT_UNREAD_RESPONSE`) names the request.
 *
 * @example Read JSON, fail on error statuses
 * ```ts ignore
 * import { ClientResponse, Connector } from "@sluice/http/client";
 *
 * const connector = new Connector();
 * const url = new URL("http://127.0.0.1:8080/api");
 * const result = await connector.request(url, { method: "GET", headers: [] });
 * await using res = new ClientResponse({ ...result, method: "GET", url });
 * const data = await res.raiseForStatus().json();
 * ```
 */
export class ClientResponse {
  readonly #head: ConnectionResponse;
  readonly #url: string;
  readonly #method: string;
  #history: readonly ClientResponse[];
  #redirected: boolean;
  #leak: LeakState;
  /** The connection's body chunks (the fast path), or `null`. */
  #channel: BodyChannel | null;
  /** The body as a stream, when it does not come straight from a connection (decoded, cloned). */
  #raw: ReadableStream<Uint8Array> | null;
  /** What the body is read through, once reading started. */
  #reader: ChunkReader | null = null;
  #exposed: ReadableStream<Uint8Array<ArrayBuffer>> | null = null;
  #disturbed = false;
  #cookies: Map<string, string> | null = null;
  #released: Promise<void> | null = null;
  /** The body is one branch of a `clone()`: giving it up leaves the other branches readable. */
  #teed = false;
  #onDone: (() => void) | null;
  #session: object | undefined = undefined;

  static {
    setCookieLines = (response) => {
      const head = response.#head;
      return head instanceof ExchangeResponse
        ? head.fieldValues("set-cookie")
        : head.headers.getSetCookie();
    };
    sessionState = {
      get: (response) => #session in response ? response.#session : undefined,
      set: (response, state) => {
        response.#session = state;
      },
    };
    setRedirectChain = (response, history) => {
      response.#history = Object.freeze([...history]);
      response.#redirected = history.length > 0;
    };
  }

  /**
   * Wraps a response head from the pool. Internal to the client: sessions
   * create these.
   *
   * @param init The response head, connection, request and redirect chain.
   */
  constructor(init: ClientResponseInit) {
    const head = init.response;
    this.#head = head;
    // A body straight from a connection is read through its channel, without a stream.
    this.#channel = head instanceof ExchangeResponse ? head.channel : null;
    this.#raw = head instanceof ExchangeResponse ? null : head.body;
    const hasBody = this.#channel !== null || this.#raw !== null;
    this.#url = String(init.url);
    this.#method = init.method;
    this.#history = init.history === undefined || init.history.length === 0
      ? NO_HISTORY
      : Object.freeze([...init.history]);
    this.#redirected = init.redirected ?? this.#history.length > 0;
    this.#onDone = init.onDone ?? null;
    if (!hasBody) this.#done();
    const connection = init.connection;
    this.#leak = {
      connection,
      requests: connection?.requests ?? 0,
      method: init.method,
      url: this.#url,
      live: 0,
      released: false,
    };
    // A body already received whole holds no connection: nothing to watch for.
    if (hasBody && !(this.#channel?.complete ?? false)) watch(this, this.#leak);
  }

  /** The status code. */
  get status(): number {
    return this.#head.status;
  }

  /** The reason phrase as sent. */
  get statusText(): string {
    return this.#head.statusText;
  }

  /** Whether the status is 2xx. */
  get ok(): boolean {
    return this.#head.status >= 200 && this.#head.status < 300;
  }

  /** The response header fields. */
  get headers(): Headers {
    return this.#head.headers;
  }

  /** The final URL (after redirects). */
  get url(): string {
    return this.#url;
  }

  /** Whether redirects were followed to get here. */
  get redirected(): boolean {
    return this.#redirected;
  }

  /** Always `"basic"`. */
  get type(): ResponseType {
    return "basic";
  }

  /** The request method. */
  get method(): string {
    return this.#method;
  }

  /** `"1.1"` or `"1.0"`. */
  get httpVersion(): "1.0" | "1.1" {
    return this.#head.httpVersion;
  }

  /** The earlier responses of the redirect chain, oldest first (frozen). */
  get history(): readonly ClientResponse[] {
    return this.#history;
  }

  /**
   * The body stream, or `null` when the response has none (HEAD, 204, 304).
   * Reading it to the end returns the connection to the pool. It is a byte
   * stream, as `fetch`'s is: `getReader({ mode: "byob" })` reads into your
   * own buffer, straight from the socket's when the read is waiting for
   * bytes — the way to stream a large body without a buffer per chunk.
   */
  get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    if (this.#channel === null && this.#raw === null) return null;
    // A byte stream that marks the body used on the first read, as `Response` does.
    this.#exposed ??= byteStream({
      read: () => {
        this.#disturbed = true;
        return this.#read(this.#source());
      },
      readInto: (view) => {
        this.#disturbed = true;
        const source = this.#source();
        return source === this.#channel ? this.#readInto(this.#channel, view) : null;
      },
      cancel: async (reason) => {
        this.#disturbed = true;
        this.#done();
        await this.#source().cancel(reason);
      },
    });
    return this.#exposed;
  }

  /**
   * The trailer fields of a chunked body, once the body has ended (empty
   * when there are none, or when the body failed).
   */
  get trailers(): Promise<Headers> {
    return this.#head.trailers ?? Promise.resolve(new Headers());
  }

  /** Whether the body was read (or cancelled). */
  get bodyUsed(): boolean {
    return this.#disturbed;
  }

  /**
   * The cookies the response sets, name → value, from its `Set-Cookie`
   * fields (malformed ones skipped; the last of a name wins).
   */
  get cookies(): Map<string, string> {
    if (this.#cookies === null) {
      const cookies = new Map<string, string>();
      for (const field of this.#head.headers.getSetCookie()) {
        const cookie = parseSetCookie(field);
        if (cookie !== null) cookies.set(cookie.name, cookie.value);
      }
      this.#cookies = cookies;
    }
    return this.#cookies;
  }

  /**
   * Throws for a 4xx or 5xx status.
   *
   * @returns This response, for chaining.
   * @throws {ResponseStatusError} with this response attached, body unread.
   */
  raiseForStatus(): ClientResponse {
    if (this.#head.status >= 400) {
      throw new ResponseStatusError(this as unknown as Response, {
        method: this.#method,
        url: this.#url,
      });
    }
    return this;
  }

  /**
   * Reads the whole body.
   *
   * @returns The body bytes.
   * @throws {TypeError} when the body was already used or released.
   */
  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#readWhole(joinOwned);
  }

  /**
   * Reads the whole body.
   *
   * @returns The body as an `ArrayBuffer`.
   * @throws {TypeError} when the body was already used or released.
   */
  async arrayBuffer(): Promise<ArrayBuffer> {
    return (await this.bytes()).buffer;
  }

  /**
   * Reads the whole body as UTF-8 text (a BOM is dropped).
   *
   * @returns The text.
   * @throws {TypeError} when the body was already used or released.
   */
  text(): Promise<string> {
    return this.#readWhole(decodeUtf8Chunks);
  }

  /**
   * Reads the whole body as JSON.
   *
   * @returns The parsed value.
   * @throws {SyntaxError} when the body is not JSON.
   * @throws {TypeError} when the body was already used or released.
   */
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  /**
   * Reads the whole body into a `Blob` typed by `Content-Type`.
   *
   * @returns The blob.
   * @throws {TypeError} when the body was already used or released.
   */
  async blob(): Promise<Blob> {
    return new Blob([await this.bytes()], { type: this.#head.headers.get("content-type") ?? "" });
  }

  /**
   * The body as a stream of UTF-8 text (Deno's `Response.textStream()`).
   *
   * @returns The decoded stream (empty when there is no body).
   * @throws {TypeError} when the body was already used or released.
   */
  textStream(): ReadableStream<string> {
    this.#check();
    const body = this.body;
    if (body === null) return new ReadableStream<string>({ start: (c) => c.close() });
    if (body.locked) throw new TypeError("Cannot read response body: body is locked");
    return body.pipeThrough(new TextDecoderStream());
  }

  /**
   * Reads the whole body as form data (`multipart/form-data` or
   * `application/x-www-form-urlencoded`, by `Content-Type`).
   *
   * @returns The form data.
   * @throws {TypeError} when the body is not form data, or was already used or released.
   */
  async formData(): Promise<FormData> {
    const type = this.#head.headers.get("content-type");
    const bytes = await this.bytes();
    return await new Response(bytes, type === null ? {} : { headers: { "content-type": type } })
      .formData();
  }

  /**
   * A copy whose body can be read independently (the stream is teed: what
   * one side has not read yet is buffered in memory).
   *
   * @returns The copy.
   * @throws {TypeError} when the body was already used or released.
   */
  clone(): ClientResponse {
    if (this.#disturbed || this.#released !== null) {
      throw new TypeError("Cannot clone response: body already used");
    }
    if (this.#exposed?.locked) throw new TypeError("Cannot clone response: body is locked");
    const hasBody = this.#channel !== null || this.#raw !== null;
    const copy = new ClientResponse({
      response: {
        status: this.#head.status,
        statusText: this.#head.statusText,
        httpVersion: this.#head.httpVersion,
        headers: new Headers(this.#head.headers),
        body: null,
        trailers: this.#head.trailers,
      },
      connection: null,
      method: this.#method,
      url: this.#url,
      history: this.#history,
      redirected: this.#redirected,
    });
    if (hasBody) {
      // Tee a pass-through of the body, so that its end still calls onDone.
      const reader = this.#source();
      const source = new ReadableStream<Uint8Array>({
        pull: async (controller) => {
          const { done, value } = await this.#read(reader);
          if (done) controller.close();
          else controller.enqueue(value);
        },
        cancel: async (reason) => {
          this.#done();
          await reader.cancel(reason);
        },
      }, { highWaterMark: 0 });
      const [mine, theirs] = source.tee();
      this.#channel = null;
      this.#raw = mine;
      this.#exposed = null;
      this.#reader = null;
      copy.#raw = theirs;
      this.#teed = copy.#teed = true;
      copy.#leak = this.#leak;
      watch(copy, this.#leak);
    }
    return copy;
  }

  /**
   * Gives up the body: up to 64 KiB more are read and dropped (within
   * 500 ms) to keep the connection for the pool, else the connection is closed. Idempotent;
   * reading the body afterwards fails.
   *
   * @returns Resolves once the connection is draining, or closed.
   */
  release(): Promise<void> {
    if (this.#released !== null) return this.#released;
    if (this.#teed) {
      // A copy of a cloned body: only this branch is given up. The connection's body is
      // given up once every branch is (the tee cancels its source when all of them cancel).
      this.#released = Promise.resolve();
      if (this.#reader !== null) Promise.resolve(this.#reader.cancel()).catch(() => {});
      else if (this.#raw !== null && !this.#raw.locked) this.#raw.cancel().catch(() => {});
      return this.#released;
    }
    const leak = this.#leak;
    const connection = leak.connection;
    const inFlight = pending(leak);
    leak.released = true;
    this.#done();
    if (inFlight) {
      // Drains a small remainder (bounded in bytes and time) or closes the connection.
      connection!.release();
    }
    if (this.#channel !== null) this.#channel.cancel();
    else if (this.#reader !== null) Promise.resolve(this.#reader.cancel()).catch(() => {});
    else if (this.#raw !== null && !this.#raw.locked) this.#raw.cancel().catch(() => {});
    // Closing (the remainder was too big): wait for the socket to be gone.
    const closing = inFlight && !connection!.isClosed && !connection!.busy &&
      !connection!.reusable;
    this.#released = closing ? connection!.closed : Promise.resolve();
    return this.#released;
  }

  /**
   * Same as {@linkcode ClientResponse.release}, for `await using`.
   *
   * @returns Resolves once released.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /**
   * Reads the whole body and maps its chunks. A body received whole already
   * is mapped now: no async frame, no promise per chunk, no copy for text.
   */
  #readWhole<T>(map: (chunks: Uint8Array[]) => T): Promise<T> {
    let reader: ChunkReader | null;
    let whole: Uint8Array[] | null;
    try {
      reader = this.#take();
      whole = this.#takeWhole(reader);
      if (whole !== null) return Promise.resolve(map(whole));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#readAll(reader!).then(map);
  }

  /**
   * The whole body when it is here already (or there is none): its chunks,
   * taken, and the body done; `null` when it must be read.
   */
  #takeWhole(reader: ChunkReader | null): Uint8Array[] | null {
    if (reader === null) return [];
    const chunks = reader === this.#channel ? this.#channel.takeAll() : null;
    if (chunks !== null) this.#done();
    return chunks;
  }

  /** Reads every chunk of `reader` to the end. */
  async #readAll(reader: ChunkReader): Promise<Uint8Array[]> {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await this.#read(reader);
      if (done) return chunks;
      chunks.push(value);
    }
  }

  /** Reads a chunk; the end or an error of the body calls `onDone`. */
  async #read(reader: ChunkReader): Promise<ReadableStreamReadResult<Uint8Array>> {
    try {
      const result = await reader.read();
      if (result.done) this.#done();
      return result;
    } catch (error) {
      this.#done();
      throw error;
    }
  }

  /** Reads into `view` from the channel; the end or an error of the body calls `onDone`. */
  async #readInto(channel: BodyChannel, view: Uint8Array): Promise<number> {
    try {
      const n = await channel.readInto(view);
      if (n === 0) this.#done();
      return n;
    } catch (error) {
      this.#done();
      throw error;
    }
  }

  #done(): void {
    const onDone = this.#onDone;
    if (onDone === null) return;
    this.#onDone = null;
    onDone();
  }

  /** What the body is read through: the channel, or a reader of the stream. */
  #source(): ChunkReader {
    return this.#reader ??= this.#channel ?? this.#raw!.getReader();
  }

  /** A reader of the whole body, or `null` when there is none; marks the body used. */
  #take(): ChunkReader | null {
    this.#check();
    if (this.#exposed?.locked) throw new TypeError("Cannot read response body: body is locked");
    this.#disturbed = true;
    if (this.#channel === null && this.#raw === null) return null;
    return this.#source();
  }

  #check(): void {
    if (this.#released !== null) throw new TypeError("Cannot read response body: released");
    if (this.#disturbed) throw new TypeError("Cannot read response body: already used");
  }
}

/** What a body is read through: a `BodyChannel` or a stream reader. */
interface ChunkReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): unknown;
}
