/**
 * Small pieces of the session: the pool observer that feeds trace events,
 * and `raiseForStatus` with the error body kept readable.
 *
 * @module
 */

import type { PoolObserver } from "./_pool_types.ts";
import type { BasicAuth } from "./auth.ts";
import { parseProxyUrl, type ProxyInfo } from "./proxy_env.ts";
import type { RequestTrace } from "./_trace_run.ts";
import { ResponseStatusError } from "./errors.ts";
import type { ClientRequest } from "./middleware.ts";
import type { ClientResponse } from "./response.ts";
import { concatBytes } from "../util/bytes.ts";

/** Error bodies up to this size are kept in the error; larger ones are released. */
const ERROR_BODY_MAX = 1024 * 1024;

/**
 * The pool's events, forwarded to a request's trace.
 *
 * @param trace The request's trace.
 * @returns An observer for `Connector.request`.
 */
export function poolObserver(trace: RequestTrace): PoolObserver {
  return {
    connectionQueuedStart: ({ key }) => trace.fire("onConnectionQueuedStart", { key }),
    connectionQueuedEnd: ({ key }) => trace.fire("onConnectionQueuedEnd", { key }),
    connectionCreateStart: ({ key }) => trace.fire("onConnectionCreateStart", { key }),
    connectionCreateEnd: ({ key }) => trace.fire("onConnectionCreateEnd", { key }),
    connectionReuseconn: ({ key }) => trace.fire("onConnectionReuseconn", { key }),
    dnsResolveHostStart: ({ host }) => trace.fire("onDnsResolveHostStart", { host }),
    dnsResolveHostEnd: ({ host, addresses }) =>
      trace.fire("onDnsResolveHostEnd", { host, addresses }),
    dnsCacheHit: ({ host }) => trace.fire("onDnsCacheHit", { host }),
    dnsCacheMiss: ({ host }) => trace.fire("onDnsCacheMiss", { host }),
  };
}

/**
 * Throws {@linkcode ResponseStatusError} for a 4xx/5xx response. The body
 * (up to 1 MiB) is read first, so the connection goes back to the pool and
 * the error's `response` can still be read; a larger body is released.
 *
 * @param res The response.
 * @param req The hop it answers.
 * @throws {ResponseStatusError} for status ≥ 400.
 */
export async function raiseStatus(res: ClientResponse, req: ClientRequest): Promise<void> {
  if (res.status < 400) return;
  const request = { method: req.method, url: req.url.href };
  const declared = res.headers.get("content-length");
  let bytes: Uint8Array | null = null;
  if (declared === null || Number(declared) <= ERROR_BODY_MAX) bytes = await readCapped(res);
  else await res.release();
  if (bytes === null || res.status > 599) {
    throw new ResponseStatusError(res as unknown as Response, request);
  }
  const copy = new Response(bytes as Uint8Array<ArrayBuffer>, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
  });
  Object.defineProperty(copy, "url", { value: res.url });
  throw new ResponseStatusError(copy, request);
}

async function readCapped(res: ClientResponse): Promise<Uint8Array | null> {
  const body = res.body;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > ERROR_BODY_MAX) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return concatBytes(chunks, size);
}

/** The `Cookie` value from the caller's field, the `cookies` option and the jar. */
export function joinCookies(a: string | null, b: string | null, c: string | null): string | null {
  if (a === null && b === null && c === null) return null;
  const present = [a, b, c].filter((part): part is string => part !== null && part !== "");
  return present.length === 0 ? null : present.join("; ");
}

/** A proxy option as `ProxyInfo` (`null`/`undefined`: none), with `auth` over the URL's credentials. */
export function proxyInfo(
  proxy: string | URL | null | undefined,
  auth: BasicAuth | null | undefined,
): ProxyInfo | null {
  if (proxy === null || proxy === undefined) return null;
  const info = parseProxyUrl(proxy);
  return auth === undefined ? info : { url: info.url, auth };
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const COMMON_METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);

/** The method as sent: a token; the standard ones upper-cased; CONNECT refused. */
export function checkMethod(method: string): string {
  if (COMMON_METHODS.has(method)) return method;
  if (typeof method !== "string" || !TOKEN.test(method)) {
    throw new TypeError(`Cannot send request: invalid method ${JSON.stringify(method)}`);
  }
  if (method === "CONNECT" || method === "connect") {
    throw new TypeError("Cannot send request: CONNECT is not a request method the session sends");
  }
  return method.toUpperCase() === method ? method : normalizeMethod(method);
}

/** Upper-cases the standard methods (as fetch does); others are sent as given. */
function normalizeMethod(method: string): string {
  const upper = method.toUpperCase();
  return ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"].includes(upper)
    ? upper
    : method;
}

/** `maxRedirects` checked: a non-negative integer. */
export function checkRedirects(value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot set maxRedirects: expected a non-negative integer, got ${String(value)}`,
    );
  }
  return value;
}
