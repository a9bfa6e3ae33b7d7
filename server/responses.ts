/**
 * Response helpers: `text()`, `html()` and `json()` make a `Response` with
 * the right `Content-Type`.
 *
 * On Node, where a platform `Response` costs several microseconds to make
 * and again to read (Node 20: ~8 µs + ~14 µs), they return a light object
 * that is a `Response` by prototype (`instanceof Response` holds) and keeps
 * the status, the header init and the body as given; the raw engine writes
 * those bytes directly. Anything else that touches it (`headers`, `body`,
 * `clone()`, passing it to platform code) makes the real `Response` once and
 * delegates to it from then on. On Deno and Bun, where `Response` is cheap,
 * they return a plain platform `Response`.
 *
 * @module
 */

/** Whether the light form is used (Node's `Response` is slow to make and read). */
const LIGHT = !("Deno" in globalThis) && !("Bun" in globalThis);
const encoder = new TextEncoder();

/** The parts of a light response the engine writes, or `null` once it became a real one. */
export interface LightParts {
  status: number;
  statusText: string;
  contentType: string;
  headers: HeadersInit | undefined;
  body: string | Uint8Array;
}

const kParts = Symbol("sluice.lightParts");

/** A `Response` by prototype that defers the real one. */
class LightResponse {
  [kParts]: LightParts | null;
  #real: Response | null = null;

  constructor(parts: LightParts) {
    this[kParts] = parts;
  }

  #response(): Response {
    if (this.#real === null) {
      const parts = this[kParts]!;
      if (parts.status < 200) {
        throw new TypeError(
          `Cannot read a ${parts.status} response as a platform Response: the platform only has 200–599`,
        );
      }
      const headers = ownHeaders(parts);
      this.#real = new Response(parts.body as BodyInit, {
        status: parts.status,
        statusText: parts.statusText,
        headers,
      });
      this[kParts] = null;
    }
    return this.#real;
  }

  get status(): number {
    return this.#real?.status ?? this[kParts]!.status;
  }
  get statusText(): string {
    return this.#real?.statusText ?? this[kParts]!.statusText;
  }
  get ok(): boolean {
    const status = this.status;
    return status >= 200 && status <= 299;
  }
  get type(): ResponseType {
    return "default";
  }
  get url(): string {
    return "";
  }
  get redirected(): boolean {
    return false;
  }
  get headers(): Headers {
    // Only a Headers (not a whole platform Response, several times dearer on
    // Node): the engine still writes the light parts, with these headers.
    return this.#real?.headers ?? ownHeaders(this[kParts]!);
  }
  get body(): ReadableStream<Uint8Array> | null {
    return this.#response().body;
  }
  get bodyUsed(): boolean {
    return this.#real?.bodyUsed ?? false;
  }
  clone(): Response {
    return this.#response().clone();
  }
  text(): Promise<string> {
    return this.#response().text();
  }
  json(): Promise<unknown> {
    return this.#response().json();
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#response().arrayBuffer();
  }
  bytes(): Promise<Uint8Array> {
    return this.#response().arrayBuffer().then((b) => new Uint8Array(b));
  }
  blob(): Promise<Blob> {
    return this.#response().blob();
  }
  formData(): Promise<FormData> {
    return this.#response().formData();
  }
}
Object.setPrototypeOf(LightResponse.prototype, Response.prototype);

/** The `Headers` objects the light responses made themselves (theirs to change). */
const owned = new WeakSet<Headers>();

/** The headers of a light response, as a `Headers` of its own (with its content type); made once. */
function ownHeaders(parts: LightParts): Headers {
  const init = parts.headers;
  if (init instanceof Headers && owned.has(init)) return init;
  const headers = new Headers(init);
  if (!headers.has("content-type")) headers.set("content-type", parts.contentType);
  owned.add(headers);
  parts.headers = headers;
  return headers;
}

/**
 * Whether `headers` is the header init of a light response that it made
 * itself, so that it may be changed in place (e.g. to add a `Set-Cookie`).
 */
export function isOwnLightHeaders(headers: HeadersInit | undefined): headers is Headers {
  return headers instanceof Headers && owned.has(headers);
}

/**
 * The parts of a light response that was not touched since it was made (the
 * engine's fast path), else `null`.
 */
export function lightParts(response: Response): LightParts | null {
  return response instanceof LightResponse ? response[kParts] : null;
}

function make(
  body: string | Uint8Array,
  contentType: string,
  init: ResponseInit | undefined,
): Response {
  const status = init?.status ?? 200;
  if (!LIGHT) {
    // The common case without init: a plain record is the cheapest header init.
    if (init === undefined) {
      return new Response(body as BodyInit, { headers: { "content-type": contentType } });
    }
    const headers = new Headers(init?.headers);
    if (!headers.has("content-type")) headers.set("content-type", contentType);
    return new Response(body as BodyInit, { status, statusText: init?.statusText, headers });
  }
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new RangeError(`Cannot make a response with status ${status}: not in 200–599`);
  }
  if (status === 204 || status === 205 || status === 304) {
    throw new TypeError(`Cannot make a response with status ${status} and a body`);
  }
  return new LightResponse({
    status,
    statusText: init?.statusText ?? "",
    contentType,
    headers: init?.headers,
    body,
  }) as unknown as Response;
}

/**
 * A `text/plain; charset=utf-8` response.
 *
 * @param body The text.
 * @param init Status, status text and headers (a `Content-Type` given here wins).
 * @returns The response.
 *
 * @example
 * ```ts
 * import { text } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const res = text("Hello, World!");
 * assert.equal(res.status, 200);
 * assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
 * assert.equal(await res.text(), "Hello, World!");
 * ```
 */
export function text(body: string, init?: ResponseInit): Response {
  return make(body, "text/plain; charset=utf-8", init);
}

/**
 * A `text/html; charset=utf-8` response.
 *
 * @param body The HTML text (not escaped: it is sent as given).
 * @param init Status, status text and headers.
 * @returns The response.
 *
 * @example
 * ```ts
 * import { html } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const res = html("<h1>Hi</h1>", { status: 201 });
 * assert.equal(res.status, 201);
 * assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
 * ```
 */
export function html(body: string, init?: ResponseInit): Response {
  return make(body, "text/html; charset=utf-8", init);
}

/**
 * A redirect: `302 Found` by default, or `301`, `303`, `307`, `308`. Unlike
 * `Response.redirect()`, the location may be relative (`/login`, as RFC 9110
 * §10.2.2 allows) and the headers stay mutable, so middlewares can add to
 * them. To redirect from deep inside a handler, throw `HttpFound` & co.
 *
 * @param location Where to go: a URL or a path (sent as given, after a check for control characters).
 * @param status The redirect status (default 302).
 * @param init More headers.
 * @returns The response, with an empty body.
 *
 * @example
 * ```ts
 * import { redirect } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const res = redirect("/login?next=%2Fhome", 303);
 * assert.equal(res.status, 303);
 * assert.equal(res.headers.get("location"), "/login?next=%2Fhome");
 * ```
 */
export function redirect(
  location: string | URL,
  status: 301 | 302 | 303 | 307 | 308 = 302,
  init?: { headers?: HeadersInit },
): Response {
  if (!REDIRECTS.has(status)) {
    throw new RangeError(`Cannot redirect with status ${status}: not 301, 302, 303, 307 or 308`);
  }
  const target = String(location);
  if (target === "" || hasControlOrSpace(target)) {
    throw new TypeError(
      `Cannot redirect to ${
        JSON.stringify(target)
      }: empty, or has spaces or control characters (percent-encode them)`,
    );
  }
  const headers = new Headers(init?.headers);
  headers.set("location", target);
  return new Response(null, { status, headers });
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function hasControlOrSpace(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * An `application/json` response. The value is serialised now, so a value
 * that cannot be (a `BigInt`, a cycle) throws here, at the call site.
 *
 * @param value Anything `JSON.stringify` accepts.
 * @param init Status, status text and headers.
 * @returns The response.
 *
 * @example
 * ```ts
 * import { json } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const res = json({ message: "Hello, World!" });
 * assert.equal(res.headers.get("content-type"), "application/json");
 * assert.deepEqual(await res.json(), { message: "Hello, World!" });
 * ```
 */
export function json(value: unknown, init?: ResponseInit): Response {
  const body = JSON.stringify(value);
  if (body === undefined) {
    throw new TypeError(`Cannot make a JSON response of ${typeof value}: not serialisable`);
  }
  return make(body, "application/json", init);
}

/**
 * A `101 Switching Protocols` answer, for a handler that takes the
 * connection over with `info.takeover()` (the platform `Response` cannot
 * have status 101). Give the `Upgrade` and `Connection: upgrade` fields and
 * whatever the new protocol needs (e.g. `Sec-WebSocket-Accept`). Only the
 * raw engine sends it; it is a light object on every runtime, and reading
 * its `headers` or `body` throws.
 *
 * @param headers The response fields.
 * @returns The response to return from the handler.
 *
 * @example Take a connection over for an echo protocol
 * ```ts
 * import { type IncomingRequest, type ServeInfo, switchingProtocols, text } from "@sluice/http";
 *
 * function handle(req: IncomingRequest, info: ServeInfo): Response {
 *   if (req.header("upgrade") !== "echo" || info.takeover === null) {
 *     return text("Upgrade: echo expected", { status: 426 });
 *   }
 *   info.takeover((conn, head) => {
 *     if (head.length > 0) conn.write(head);
 *     conn.start({
 *       data: (chunk) => conn.write(chunk),
 *       end: () => conn.end(),
 *       drain: () => {},
 *       close: () => {},
 *     });
 *   });
 *   return switchingProtocols({ upgrade: "echo", connection: "upgrade" });
 * }
 * ```
 */
export function switchingProtocols(headers: HeadersInit): Response {
  return new LightResponse({
    status: 101,
    statusText: "",
    contentType: "",
    headers,
    body: "",
  }) as unknown as Response;
}

/** Encodes a light body (strings as UTF-8). */
export function lightBodyBytes(body: string | Uint8Array): Uint8Array {
  return typeof body === "string" ? encoder.encode(body) : body;
}

const trailerSources = new WeakMap<Response, () => HeadersInit | Promise<HeadersInit>>();

/**
 * Attaches trailer fields to a streamed response: `trailers` is called once
 * the body has been sent and its fields go in the chunked trailer section
 * (e.g. a checksum of what was streamed). The raw engine sends them to
 * HTTP/1.1 clients; native adapters cannot send trailers and drop them (see
 * docs/native_adapters.md). Announce them with a `Trailer` header.
 *
 * @param response A response with a stream body.
 * @param trailers Returns the trailer fields.
 * @returns The same response.
 *
 * @example A digest after the body
 * ```ts
 * import { withTrailers } from "@sluice/http";
 *
 * const body = new ReadableStream<Uint8Array>({
 *   start(controller) {
 *     controller.enqueue(new TextEncoder().encode("data"));
 *     controller.close();
 *   },
 * });
 * const res = withTrailers(
 *   new Response(body, { headers: { trailer: "x-checksum" } }),
 *   () => ({ "x-checksum": "abc123" }),
 * );
 * ```
 */
export function withTrailers(
  response: Response,
  trailers: () => HeadersInit | Promise<HeadersInit>,
): Response {
  if (typeof trailers !== "function") throw new TypeError("Cannot attach trailers: not a function");
  trailerSources.set(response, trailers);
  return response;
}

/** The trailer source attached with {@linkcode withTrailers}, or `null`. */
export function trailersOf(response: Response): (() => HeadersInit | Promise<HeadersInit>) | null {
  return trailerSources.get(response) ?? null;
}
