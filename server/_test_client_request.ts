/**
 * What a test client request is made of: {@linkcode TestRequestInit}, and
 * turning it into a platform `Request`.
 *
 * @module
 */

/** One query value; `null` and `undefined` are left out. */
export type QueryValue = string | number | boolean | bigint | null | undefined;

/**
 * A query string to add to a test request: a record whose arrays give a
 * name several values, or `URLSearchParams`.
 *
 * @example
 * ```ts
 * import type { QueryInit } from "@sluice/http/server";
 *
 * const query: QueryInit = { tag: ["a", "b"], page: 2, draft: false };
 * ```
 */
export type QueryInit =
  | URLSearchParams
  | Record<string, QueryValue | readonly QueryValue[]>;

/**
 * A request body: what `Request` takes, or a plain record sent as a form
 * (`application/x-www-form-urlencoded`, like aiohttp's `data=dict`).
 *
 * @example
 * ```ts
 * import type { TestBody } from "@sluice/http/server";
 *
 * const form: TestBody = { name: "Ada", tags: ["x", "y"] };
 * const bytes: TestBody = new Uint8Array([1, 2, 3]);
 * ```
 */
export type TestBody =
  | string
  | Uint8Array
  | ArrayBuffer
  | Blob
  | FormData
  | URLSearchParams
  | ReadableStream<Uint8Array>
  | Record<string, QueryValue | readonly QueryValue[]>;

/**
 * Options of one test client request.
 *
 * @example
 * ```ts
 * import type { TestRequestInit } from "@sluice/http/server";
 *
 * const init: TestRequestInit = {
 *   query: { q: "tea", page: 2 },
 *   json: { name: "Ada" },
 *   headers: { "x-trace": "1" },
 *   cookies: { sid: "abc" },
 * };
 * ```
 */
export interface TestRequestInit {
  /** Header fields, over the client's default headers. */
  headers?: HeadersInit;
  /** Added to the query of the path. */
  query?: QueryInit;
  /** Same as `query` (aiohttp's name); give one of them. */
  params?: QueryInit;
  /** Sent as JSON, with `content-type: application/json` unless a content type is given. */
  json?: unknown;
  /** The body (see {@linkcode TestBody}). Give one of `json`, `body`, `data`. */
  body?: TestBody | null;
  /** Same as `body` (aiohttp's name). */
  data?: TestBody | null;
  /** Cookies for this request, over the jar's cookies of the same name (the jar is not changed). */
  cookies?: Record<string, string>;
  /** Aborts the request. */
  signal?: AbortSignal;
  /** `"manual"` (the client's default unless set there) returns redirects; `"follow"` follows up to 10. */
  redirect?: "manual" | "follow";
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
/** The methods fetch upper-cases (the Fetch standard's normalisation). */
const NORMALISED = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"]);

/**
 * The method, checked and normalised as fetch does, or a `TypeError`.
 *
 * @param method The method as given.
 * @returns The method to send.
 */
export function checkMethod(method: string): string {
  if (typeof method !== "string" || !TOKEN.test(method)) {
    throw new TypeError(`Cannot send method ${JSON.stringify(String(method))}: not an HTTP token`);
  }
  const upper = method.toUpperCase();
  if (FORBIDDEN_METHODS.has(upper)) {
    throw new TypeError(`Cannot send method ${method}: fetch forbids it`);
  }
  return NORMALISED.has(upper) ? upper : method;
}

function appendQuery(params: URLSearchParams, query: QueryInit): void {
  if (query instanceof URLSearchParams) {
    for (const [name, value] of query) params.append(name, value);
    return;
  }
  if (typeof query !== "object" || query === null) {
    throw new TypeError("Cannot use the query: it is neither a record nor URLSearchParams");
  }
  for (const [name, value] of Object.entries(query)) {
    const values: readonly QueryValue[] = Array.isArray(value) ? value : [value as QueryValue];
    for (const one of values) {
      if (one !== null && one !== undefined) params.append(name, String(one));
    }
  }
}

/**
 * The absolute URL of `path` (resolved against `base`, its query extended),
 * or a `TypeError` when it is on another origin.
 *
 * @param path A path (`/users?x=1`) or an absolute URL of the base's origin.
 * @param base The client's base URL.
 * @param query What `query` or `params` adds.
 * @returns The URL.
 */
export function resolveUrl(path: string, base: URL, query: QueryInit | undefined): URL {
  if (typeof path !== "string") {
    throw new TypeError("Cannot send a request: the path is not a string");
  }
  const url = new URL(path, base);
  if (url.origin !== base.origin) {
    throw new TypeError(
      `Cannot send a request to ${url.href}: a test client only reaches ${base.origin}`,
    );
  }
  if (query !== undefined) {
    const params = new URLSearchParams(url.search);
    appendQuery(params, query);
    const search = params.toString();
    url.search = search.length === 0 ? "" : `?${search}`;
  }
  return url;
}

function isPlainRecord(value: unknown): value is Record<string, QueryValue> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The body and its implied content type (`null`: the platform decides). */
export function bodyOf(init: TestRequestInit): {
  body: BodyInit | null;
  type: string | null;
} {
  const given = ["json", "body", "data"].filter((key) =>
    (init as Record<string, unknown>)[key] !== undefined
  );
  if (given.length > 1) {
    throw new TypeError(`Cannot send a request with both ${given.join(" and ")}: give one`);
  }
  if (init.json !== undefined) {
    const text = JSON.stringify(init.json);
    if (text === undefined) {
      throw new TypeError("Cannot send the json option: JSON.stringify gives nothing for it");
    }
    return { body: text, type: "application/json" };
  }
  const body = init.body ?? init.data ?? null;
  if (isPlainRecord(body)) {
    const form = new URLSearchParams();
    appendQuery(form, body);
    return { body: form, type: null };
  }
  return { body: body as BodyInit | null, type: null };
}

/** Everything {@linkcode makeRequest} needs besides the URL. */
export interface RequestParts {
  method: string;
  url: URL;
  defaultHeaders: Headers;
  init: TestRequestInit;
  body: BodyInit | null;
  type: string | null;
  /** The jar's `Cookie` value for the URL, or `null`. */
  jarCookies: string | null;
  signal: AbortSignal;
}

/**
 * The platform `Request` to send. The `Cookie` field: an explicit `cookie`
 * header is sent as it is; else the jar's cookies with `init.cookies`
 * over them.
 *
 * @param parts Method, URL, headers, body, cookies and signal.
 * @returns The request.
 */
export function makeRequest(parts: RequestParts): Request {
  const { method, url, init, body, type, jarCookies, signal } = parts;
  const headers = new Headers(parts.defaultHeaders);
  if (init.headers !== undefined) {
    for (const [name, value] of new Headers(init.headers)) headers.set(name, value);
  }
  if (type !== null && !headers.has("content-type")) headers.set("content-type", type);
  if (!headers.has("cookie")) {
    const cookie = cookieHeader(jarCookies, init.cookies);
    if (cookie !== null) headers.set("cookie", cookie);
  }
  if (body !== null && (method === "GET" || method === "HEAD")) {
    throw new TypeError(`Cannot send a body with ${method}`);
  }
  // The client follows redirects itself, to keep the cookies of every hop.
  const options: RequestInit & { duplex?: "half" } = {
    method,
    headers,
    body,
    signal,
    redirect: "manual",
  };
  if (body instanceof ReadableStream) options.duplex = "half";
  return new Request(url, options);
}

function cookieHeader(
  jar: string | null,
  extra: Record<string, string> | undefined,
): string | null {
  if (extra === undefined) return jar;
  const names = new Set(Object.keys(extra));
  const pairs = jar === null ? [] : jar.split("; ").filter((pair) => {
    return !names.has(pair.slice(0, pair.indexOf("=")));
  });
  for (const [name, value] of Object.entries(extra)) {
    // deno-lint-ignore no-control-regex
    if (!TOKEN.test(name) || /[\x00-\x1f\x7f;]/.test(String(value))) {
      throw new TypeError(`Cannot send cookie ${JSON.stringify(name)}: bad name or value`);
    }
    pairs.push(`${name}=${value}`);
  }
  return pairs.length === 0 ? null : pairs.join("; ");
}
