/**
 * The session's request building: the URL (base URL, query parameters,
 * credentials), and the body from `json` or `data` with its content type.
 *
 * @module
 */

import { BasicAuth } from "./auth.ts";
import { InvalidUrlError } from "./errors.ts";
import type { ClientRequestBody } from "./middleware.ts";

/**
 * Query parameters: `URLSearchParams`, pairs, or a record whose array values
 * repeat the name. `null`/`undefined` values are left out.
 *
 * @example
 * ```ts
 * import type { QueryParams } from "@sluice/http/client";
 *
 * const params: QueryParams = { q: "sluice", tag: ["a", "b"], page: 2 };
 * ```
 */
export type QueryParams =
  | URLSearchParams
  | ReadonlyArray<readonly [string, string | number | boolean | bigint]>
  | Readonly<
    Record<
      string,
      | string
      | number
      | boolean
      | bigint
      | null
      | undefined
      | ReadonlyArray<string | number | boolean | bigint>
    >
  >;

/**
 * What `data` may be: text (UTF-8), bytes, a `Blob`, a byte stream or async
 * iterable (sent once, chunked unless `Content-Length` is given), a form
 * (`FormData` as multipart, `URLSearchParams` as urlencoded).
 *
 * @example
 * ```ts
 * import type { RequestData } from "@sluice/http/client";
 *
 * const data: RequestData = new URLSearchParams({ user: "ann" });
 * ```
 */
export type RequestData =
  | string
  | Uint8Array
  | ArrayBuffer
  | ArrayBufferView
  | Blob
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>
  | FormData
  | URLSearchParams;

/** A body ready for a {@linkcode ClientRequest}, and the type it implies. */
export interface EncodedBody {
  body: ClientRequestBody;
  /** The `Content-Type` the body implies, or `null` (none set when the caller gave one). */
  contentType: string | null;
}

const encoder = new TextEncoder();

/**
 * Builds the request URL: `input` resolved against `baseUrl` (RFC 3986, as
 * `new URL(input, base)`), `params` appended to its query, credentials
 * taken out as Basic auth.
 *
 * @param input The URL or path.
 * @param baseUrl The session's base URL, if any.
 * @param params Query parameters to append.
 * @returns The URL (without credentials) and the credentials it had.
 * @throws {InvalidUrlError} when it does not parse or is not `http:`/`https:`.
 */
export function buildUrl(
  input: string | URL,
  baseUrl: URL | undefined,
  params: QueryParams | undefined,
): { url: URL; auth: BasicAuth | null } {
  let url: URL;
  try {
    url = new URL(input, baseUrl);
  } catch (cause) {
    throw new InvalidUrlError(
      String(input),
      `Cannot request "${String(input)}": not a valid URL${
        baseUrl === undefined ? " (and no baseUrl is set)" : ""
      }`,
      { cause },
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidUrlError(
      url.href,
      `Cannot request "${url.href}": the scheme must be http: or https:`,
    );
  }
  if (url === input) url = new URL(url); // never change the caller's object
  let auth: BasicAuth | null = null;
  if (url.username !== "" || url.password !== "") {
    auth = BasicAuth.fromUrl(url);
    url.username = "";
    url.password = "";
  }
  if (params !== undefined) appendParams(url, params);
  if (url.hash !== "") url.hash = "";
  return { url, auth };
}

function appendParams(url: URL, params: QueryParams): void {
  const search = url.searchParams;
  if (params instanceof URLSearchParams) {
    for (const [name, value] of params) search.append(name, value);
    return;
  }
  if (Array.isArray(params)) {
    for (const [name, value] of params as ReadonlyArray<readonly [string, unknown]>) {
      search.append(name, paramValue(name, value));
    }
    return;
  }
  for (const [name, value] of Object.entries(params)) {
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) {
      for (const item of value) search.append(name, paramValue(name, item));
    } else search.append(name, paramValue(name, value));
  }
}

function paramValue(name: string, value: unknown): string {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "bigint":
    case "boolean":
      return String(value);
    default:
      throw new TypeError(
        `Cannot add query parameter "${name}": expected a string, number, bigint or boolean, got ${
          value === null ? "null" : typeof value
        }`,
      );
  }
}

/**
 * Turns `json` or `data` into a body.
 *
 * @param options The request's `json` and `data` (at most one).
 * @param serialize How `json` becomes text.
 * @returns The body and the content type it implies.
 * @throws {TypeError} when both are given or `data` has an unsupported type.
 */
export function encodeBody(
  options: { json?: unknown; data?: RequestData | null },
  serialize: (value: unknown) => string,
): EncodedBody | Promise<EncodedBody> {
  const hasJson = options.json !== undefined;
  const data = options.data;
  if (hasJson && data != null) {
    throw new TypeError("Cannot build request: give `json` or `data`, not both");
  }
  if (hasJson) {
    const text = serialize(options.json);
    if (typeof text !== "string") {
      throw new TypeError("Cannot build request: jsonSerialize must return a string");
    }
    return { body: encoder.encode(text), contentType: "application/json" };
  }
  if (data == null) return { body: null, contentType: null };
  if (typeof data === "string") {
    return { body: encoder.encode(data), contentType: "text/plain;charset=UTF-8" };
  }
  if (data instanceof Uint8Array) return { body: data, contentType: null };
  if (data instanceof ArrayBuffer) return { body: new Uint8Array(data), contentType: null };
  if (ArrayBuffer.isView(data)) {
    return {
      body: new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength),
      contentType: null,
    };
  }
  if (data instanceof Blob) return { body: data, contentType: data.type === "" ? null : data.type };
  if (data instanceof ReadableStream) return { body: data, contentType: null };
  if (data instanceof URLSearchParams) {
    return {
      body: encoder.encode(data.toString()),
      contentType: "application/x-www-form-urlencoded;charset=UTF-8",
    };
  }
  if (data instanceof FormData) {
    // The platform's multipart encoder; kept as a Blob so redirects and retries can resend it.
    const encoded = new Response(data);
    const contentType = encoded.headers.get("content-type");
    return encoded.blob().then((body) => ({ body, contentType }));
  }
  if (typeof (data as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === "function") {
    return { body: iterableStream(data as AsyncIterable<Uint8Array>), contentType: null };
  }
  throw new TypeError(
    `Cannot build request: unsupported data type ${
      Object.prototype.toString.call(data)
    } (string, bytes, Blob, ReadableStream, AsyncIterable, FormData or URLSearchParams)`,
  );
}

/** A byte stream over an async iterable; cancelling it ends the iterator. */
function iterableStream(iterable: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  let iterator: AsyncIterator<Uint8Array> | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      iterator ??= iterable[Symbol.asyncIterator]();
      const { done, value } = await iterator.next();
      if (done) controller.close();
      else if (!(value instanceof Uint8Array)) {
        throw new TypeError(
          "Cannot send request body: the async iterable gave a chunk that is not a Uint8Array",
        );
      } else controller.enqueue(value);
    },
    async cancel(reason) {
      await iterator?.return?.(reason);
    },
  }, { highWaterMark: 0 });
}
