/**
 * Following redirects: which responses are followed, and the next hop's
 * method, body and fields (as browsers and the Fetch standard do).
 *
 * @module
 */

import { ClientError, InvalidUrlError } from "./errors.ts";
import { ClientRequest } from "./middleware.ts";
import type { ProxyInfo } from "./proxy_env.ts";

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Fields that describe the body: dropped when a redirect turns the request into a GET. */
const BODY_FIELDS = [
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-location",
  "transfer-encoding",
  "expect",
];

/**
 * Fields meant for the old origin: its credentials, and a `Host` the caller
 * set (the new one is the new URL's); dropped across origins.
 */
const ORIGIN_FIELDS = ["authorization", "cookie", "proxy-authorization", "host"];

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A `Location` value as text. Field values are byte strings (one code unit
 * per byte), and servers send non-ASCII locations as raw UTF-8: those bytes
 * are read as UTF-8 (browsers, undici and aiohttp do), anything else stays
 * as it came.
 */
function locationText(value: string): string {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(value) || /[^\x00-\xff]/.test(value)) return value;
  const bytes = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) bytes[i] = value.charCodeAt(i);
  try {
    return utf8.decode(bytes);
  } catch {
    return value;
  }
}

/**
 * The `Location` of a response the client follows, or `null` when it is
 * not a redirect (or has no `Location`).
 *
 * @param response The response (its status, then its fields).
 * @returns The raw `Location` value or `null`.
 */
export function redirectLocation(response: { status: number; headers: Headers }): string | null {
  // The fields only for a redirect: reading `headers` makes them on a connection's response.
  if (!REDIRECT_STATUSES.has(response.status)) return null;
  return response.headers.get("location");
}

/**
 * Whether two URLs have the same origin (scheme, host, port).
 *
 * @param a One URL.
 * @param b The other.
 * @returns `true` when they share an origin.
 */
export function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.host === b.host;
}

/**
 * The request of the next hop. 303 becomes GET (HEAD stays HEAD); 301 and
 * 302 turn POST into GET (what browsers do); 307 and 308 keep the method
 * and the body, which must be replayable. Credentials (`Authorization`,
 * `Cookie`, `Proxy-Authorization`) and a `Host` the caller set are dropped
 * when the origin changes; the jar's cookies are added again for the new URL
 * by the session. The proxy is the request's, or `proxyFor(url)` when the
 * session chooses it per URL (`trustEnv`: `NO_PROXY` and the scheme's
 * variable apply to each hop).
 *
 * @param req The request that was redirected.
 * @param status The redirect status.
 * @param location The `Location` value (a byte string; raw UTF-8 is decoded).
 * @param proxyFor Chooses the proxy of the next hop's URL, or `null` to keep the request's.
 * @returns The next request and whether the origin changed.
 * @throws {InvalidUrlError} for a `Location` that does not parse or is not http(s).
 * @throws {ClientError} (`SLUICE_ERR_CLIENT_REDIRECT_BODY`) for 307/308 with a stream body already sent.
 */
export function redirectRequest(
  req: ClientRequest,
  status: number,
  location: string,
  proxyFor: ((url: URL) => ProxyInfo | null) | null = null,
): { next: ClientRequest; crossOrigin: boolean } {
  let url: URL;
  try {
    url = new URL(locationText(location), req.url);
  } catch (cause) {
    throw new InvalidUrlError(
      location,
      `Cannot follow redirect from ${req.url.href}: Location "${location}" is not a valid URL`,
      { cause },
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidUrlError(
      url.href,
      `Cannot follow redirect from ${req.url.href}: Location "${location}" is not http: or https:`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    url.username = "";
    url.password = "";
  }
  url.hash = "";
  const headers = new Headers(req.headers);
  let method = req.method;
  let body = req.body;
  const toGet = (status === 303 && method !== "HEAD" && method !== "GET") ||
    ((status === 301 || status === 302) && method === "POST");
  if (toGet) {
    method = "GET";
    body = null;
    for (const name of BODY_FIELDS) headers.delete(name);
  } else if (body !== null && !req.replayable) {
    throw new ClientError(
      "SLUICE_ERR_CLIENT_REDIRECT_BODY",
      `Cannot follow ${status} redirect from ${req.url.href} to ${url.href}: ` +
        "the request body was a stream and has been sent (give bytes or a Blob to allow resending)",
    );
  }
  const crossOrigin = !sameOrigin(req.url, url);
  if (crossOrigin) {
    for (const name of ORIGIN_FIELDS) headers.delete(name);
  } else headers.delete("cookie"); // the session adds the jar's cookies for each hop
  const next = new ClientRequest({
    method,
    url,
    headers,
    body,
    timeout: req.timeout,
    signal: req.abortSource,
    expect100: req.expect100,
    proxy: proxyFor === null ? req.proxy : proxyFor(url),
  });
  return { next, crossOrigin };
}
