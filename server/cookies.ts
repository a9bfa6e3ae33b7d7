/**
 * Server-side cookies (RFC 6265 and its revision, RFC 6265bis): read the
 * `Cookie` request field with {@linkcode parseCookieHeader}, write one
 * `Set-Cookie` value with {@linkcode serializeSetCookie}, and add or expire
 * cookies on a response with {@linkcode setCookie} and
 * {@linkcode deleteCookie}.
 *
 * Names and values are neither encoded nor decoded: a name must be a token
 * and a value a run of cookie-octets (optionally in double quotes), anything
 * else throws. Encode arbitrary text yourself (`encodeURIComponent` gives
 * only cookie-octets) and decode it after reading.
 *
 * @module
 */

import { isOwnLightHeaders, lightParts } from "./responses.ts";

/** The `SameSite` attribute's values. */
export type CookieSameSite = "Strict" | "Lax" | "None";

/** The `Priority` attribute's values (a Chromium extension; others ignore it). */
export type CookiePriority = "Low" | "Medium" | "High";

/** The attributes of a `Set-Cookie` field; see {@linkcode serializeSetCookie}. */
export interface CookieOptions {
  /** `Max-Age`: seconds until it expires, an integer; `0` or less expires it now. */
  maxAge?: number;
  /** `Expires`: when it expires (written as an IMF-fixdate); `Max-Age` wins where both are given. */
  expires?: Date;
  /** `Domain`: the host and its subdomains get it (a leading dot is dropped). Omit for this host only. */
  domain?: string;
  /** `Path`: the path prefix it is sent for; must start with `/`. */
  path?: string;
  /** `Secure`: sent over HTTPS only. */
  secure?: boolean;
  /** `HttpOnly`: hidden from scripts. */
  httpOnly?: boolean;
  /** `SameSite`: when it is sent on cross-site requests; `"None"` requires `secure`. */
  sameSite?: CookieSameSite;
  /** `Partitioned` (CHIPS): stored per top-level site; requires `secure`. */
  partitioned?: boolean;
  /** `Priority`: which cookies Chromium evicts last. */
  priority?: CookiePriority;
}

/** The attributes that identify the cookie to expire; see {@linkcode deleteCookie}. */
export type DeleteCookieOptions = Omit<CookieOptions, "maxAge" | "expires">;

/** Options of {@linkcode parseCookieHeader}. */
export interface ParseCookieOptions {
  /** At most this many pairs are read; the rest are ignored (default 256). */
  maxCookies?: number;
}

/** The default cap on the pairs that {@linkcode parseCookieHeader} reads. */
const MAX_COOKIES = 256;
/** RFC 6265bis: user agents ignore cookies whose name and value exceed 4096 bytes. */
const MAX_NAME_VALUE = 4096;
/** RFC 6265bis: user agents ignore attribute values over 1024 bytes. */
const MAX_ATTRIBUTE = 1024;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE ). */
const COOKIE_VALUE =
  /^(?:[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*|"[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*")$/;
/** Printable ASCII and SP except `;` (path-value = any CHAR except CTLs or ";"). */
const PATH = /^\/[\x20-\x3A\x3C-\x7E]*$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const SAME_SITE: Record<string, CookieSameSite> = { strict: "Strict", lax: "Lax", none: "None" };
const PRIORITY: Record<string, CookiePriority> = { low: "Low", medium: "Medium", high: "High" };

/**
 * Reads a `Cookie` request field into a map of names to values.
 *
 * Pairs are separated by `;`; whitespace around names and values is
 * dropped, and a value in double quotes loses them. Pairs without `=` or
 * with an empty name are skipped. When a name repeats, the first value wins:
 * user agents send the cookie with the longest (most specific) `Path` first
 * (RFC 6265 §5.4). At most `maxCookies` pairs are read. It never throws.
 *
 * Note: a `Cookie` field that arrived in several lines (HTTP/2) must be
 * joined with `"; "`, not `", "`.
 *
 * @param header The field's value, or `null` when absent.
 * @param options The cap on the pairs read.
 * @returns The cookies by name, in the order they came.
 *
 * @example
 * ```ts
 * import { parseCookieHeader } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const cookies = parseCookieHeader('sid=abc123; theme="dark"; sid=older');
 * assert.equal(cookies.get("sid"), "abc123");
 * assert.equal(cookies.get("theme"), "dark");
 * assert.equal(parseCookieHeader(null).size, 0);
 * ```
 */
export function parseCookieHeader(
  header: string | null | undefined,
  options?: ParseCookieOptions,
): Map<string, string> {
  const cookies = new Map<string, string>();
  if (typeof header !== "string" || header.length === 0) return cookies;
  const max = options?.maxCookies ?? MAX_COOKIES;
  let read = 0;
  let start = 0;
  while (start < header.length && read < max) {
    let end = header.indexOf(";", start);
    if (end === -1) end = header.length;
    const eq = header.indexOf("=", start);
    if (eq !== -1 && eq < end) {
      const name = trim(header.slice(start, eq));
      if (name.length > 0) {
        read++;
        if (!cookies.has(name)) {
          let value = trim(header.slice(eq + 1, end));
          if (value.length >= 2 && value[0] === '"' && value[value.length - 1] === '"') {
            value = value.slice(1, -1);
          }
          cookies.set(name, value);
        }
      }
    }
    start = end + 1;
  }
  return cookies;
}

/** Drops SP and HTAB at both ends (not other whitespace, which is content). */
function trim(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text[start] === " " || text[start] === "\t")) start++;
  while (end > start && (text[end - 1] === " " || text[end - 1] === "\t")) end--;
  return text.slice(start, end);
}

/**
 * Makes one `Set-Cookie` field value.
 *
 * The name must be a token and the value cookie-octets, optionally in double
 * quotes (no spaces, `"`, `,`, `;`, `\` or control characters); together at
 * most 4096 bytes. The attributes are checked too: `Path` starts with `/`
 * and has no `;` or control characters, `Domain` is a host name,
 * `SameSite=None` and `Partitioned` need `Secure`. The prefixes are
 * enforced (case-insensitively, as user agents do): `__Secure-` needs
 * `Secure`; `__Host-` needs `Secure`, `Path=/` and no `Domain`; `__Http-`
 * and `__Host-Http-` need `HttpOnly` as well.
 *
 * @param name The cookie's name.
 * @param value The cookie's value (may be empty).
 * @param options The attributes.
 * @returns The field value, e.g. `"sid=abc; Path=/; HttpOnly"`.
 * @throws {TypeError} When the name, value or an attribute is invalid.
 * @throws {RangeError} When a number or date is out of range, or something is too long.
 *
 * @example
 * ```ts
 * import { serializeSetCookie } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   serializeSetCookie("sid", "abc123", { path: "/", httpOnly: true, secure: true, sameSite: "Lax" }),
 *   "sid=abc123; Path=/; HttpOnly; Secure; SameSite=Lax",
 * );
 * assert.throws(() => serializeSetCookie("sid", "a;b"), TypeError);
 * ```
 */
export function serializeSetCookie(
  name: string,
  value: string,
  options: CookieOptions = {},
): string {
  const fail = (reason: string): TypeError =>
    new TypeError(`Cannot set cookie ${JSON.stringify(String(name))}: ${reason}`);
  if (typeof name !== "string" || !TOKEN.test(name)) throw fail("the name is not a token");
  if (typeof value !== "string" || !COOKIE_VALUE.test(value)) {
    throw fail(
      "the value has characters a cookie value cannot hold (space, '\"', ',', ';', '\\', controls, non-ASCII); encode it",
    );
  }
  if (name.length + value.length > MAX_NAME_VALUE) {
    throw new RangeError(
      `Cannot set cookie ${
        JSON.stringify(name)
      }: the name and value are over ${MAX_NAME_VALUE} bytes`,
    );
  }
  let out = `${name}=${value}`;
  const { maxAge, expires, domain, path, secure, httpOnly, sameSite, partitioned, priority } =
    options;
  if (maxAge !== undefined) {
    if (!Number.isSafeInteger(maxAge)) {
      throw new RangeError(
        `Cannot set cookie ${JSON.stringify(name)}: maxAge must be an integer number of seconds`,
      );
    }
    out += `; Max-Age=${maxAge}`;
  }
  if (domain !== undefined) out += `; Domain=${checkDomain(domain, fail)}`;
  if (path !== undefined) {
    if (typeof path !== "string" || !PATH.test(path)) {
      throw fail("the path must start with '/' and hold no ';', control or non-ASCII characters");
    }
    if (path.length > MAX_ATTRIBUTE) {
      throw new RangeError(
        `Cannot set cookie ${JSON.stringify(name)}: the path is over ${MAX_ATTRIBUTE} bytes`,
      );
    }
    out += `; Path=${path}`;
  }
  if (expires !== undefined) {
    const time = expires instanceof Date ? expires.getTime() : NaN;
    const year = new Date(time).getUTCFullYear();
    if (Number.isNaN(time) || year < 1601 || year > 9999) {
      throw new RangeError(
        `Cannot set cookie ${JSON.stringify(name)}: expires must be a valid Date in 1601–9999`,
      );
    }
    out += `; Expires=${new Date(time).toUTCString()}`;
  }
  if (httpOnly) out += "; HttpOnly";
  if (secure) out += "; Secure";
  if (sameSite !== undefined) {
    const canonical = typeof sameSite === "string" ? SAME_SITE[sameSite.toLowerCase()] : undefined;
    if (canonical === undefined) throw fail(`sameSite must be "Strict", "Lax" or "None"`);
    if (canonical === "None" && !secure) throw fail("SameSite=None requires secure");
    out += `; SameSite=${canonical}`;
  }
  if (partitioned) {
    if (!secure) throw fail("partitioned requires secure");
    out += "; Partitioned";
  }
  if (priority !== undefined) {
    const canonical = typeof priority === "string" ? PRIORITY[priority.toLowerCase()] : undefined;
    if (canonical === undefined) throw fail(`priority must be "Low", "Medium" or "High"`);
    out += `; Priority=${canonical}`;
  }
  checkPrefix(name, options, fail);
  return out;
}

function checkDomain(domain: string, fail: (reason: string) => TypeError): string {
  const host = typeof domain === "string" && domain.startsWith(".") ? domain.slice(1) : domain;
  if (
    typeof host !== "string" || host.length === 0 || host.length > 253 ||
    !host.split(".").every((label) => label.length <= 63 && LABEL.test(label))
  ) {
    throw fail("the domain is not a host name (ASCII letters, digits, '-' and '.'; punycode IDNs)");
  }
  return host;
}

function checkPrefix(
  name: string,
  options: CookieOptions,
  fail: (reason: string) => TypeError,
): void {
  const lower = name.toLowerCase();
  const host = lower.startsWith("__host-");
  const http = lower.startsWith("__http-") || lower.startsWith("__host-http-");
  if (host || http || lower.startsWith("__secure-")) {
    if (!options.secure) throw fail("a __Secure-, __Host- or __Http- name requires secure");
  }
  if (host) {
    if (options.path !== "/") throw fail('a __Host- name requires path "/"');
    if (options.domain !== undefined) throw fail("a __Host- name cannot have a domain");
  }
  if (http && !options.httpOnly) throw fail("a __Http- or __Host-Http- name requires httpOnly");
}

/**
 * Adds a `Set-Cookie` field to a response (see
 * {@linkcode serializeSetCookie} for the checks). The response is changed in
 * place and returned; when its headers are immutable (`Response.redirect()`,
 * a `fetch()` response) a copy with the field is returned instead, so always
 * use the return value. The light responses of `text()`, `json()` and
 * `html()` stay light.
 *
 * @param response The response.
 * @param name The cookie's name.
 * @param value The cookie's value.
 * @param options The attributes.
 * @returns The response with the field.
 * @throws {TypeError} When the cookie is invalid, or the response cannot be copied.
 *
 * @example
 * ```ts
 * import { setCookie, text } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const res = setCookie(text("hi"), "sid", "abc123", { path: "/", httpOnly: true });
 * assert.deepEqual(res.headers.getSetCookie(), ["sid=abc123; Path=/; HttpOnly"]);
 * ```
 */
export function setCookie(
  response: Response,
  name: string,
  value: string,
  options?: CookieOptions,
): Response {
  return appendSetCookie(response, serializeSetCookie(name, value, options));
}

/**
 * Tells the client to drop a cookie: adds a `Set-Cookie` with an empty
 * value, `Max-Age=0` and an `Expires` in 1970. The cookie is only dropped
 * when `path` and `domain` (and `partitioned`) match the ones it was set
 * with. For a `__Secure-` or `__Host-` name, `secure` defaults to `true`,
 * and for a `__Host-` name `path` defaults to `"/"`. Like
 * {@linkcode setCookie}, use the returned response.
 *
 * @param response The response.
 * @param name The cookie's name.
 * @param options The attributes that identify the cookie.
 * @returns The response with the field.
 * @throws {TypeError} When the name or an attribute is invalid.
 *
 * @example
 * ```ts
 * import { deleteCookie, text } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const res = deleteCookie(text("bye"), "sid", { path: "/" });
 * assert.deepEqual(res.headers.getSetCookie(), [
 *   "sid=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
 * ]);
 * ```
 */
export function deleteCookie(
  response: Response,
  name: string,
  options: DeleteCookieOptions = {},
): Response {
  const lower = typeof name === "string" ? name.toLowerCase() : "";
  const prefixed = lower.startsWith("__secure-") || lower.startsWith("__host-") ||
    lower.startsWith("__http-");
  const full: CookieOptions = {
    ...options,
    maxAge: 0,
    expires: new Date(0),
    secure: options.secure ?? (prefixed ? true : undefined),
    path: options.path ?? (lower.startsWith("__host-") ? "/" : undefined),
  };
  if (lower.startsWith("__http-") || lower.startsWith("__host-http-")) {
    full.httpOnly = options.httpOnly ?? true;
  }
  return appendSetCookie(response, serializeSetCookie(name, "", full));
}

function appendSetCookie(response: Response, field: string): Response {
  const parts = lightParts(response);
  if (parts !== null) {
    if (isOwnLightHeaders(parts.headers)) {
      // Its own Headers (handed out by `response.headers`): change it in place.
      parts.headers.append("set-cookie", field);
      return response;
    }
    // Keep the engine's fast path: extend the header init (a copy: the caller may share theirs).
    const pairs: [string, string][] = [];
    const init = parts.headers;
    if (init instanceof Headers) {
      init.forEach((v, k) => k !== "set-cookie" && pairs.push([k, v]));
      for (const v of init.getSetCookie()) pairs.push(["set-cookie", v]);
    } else if (Array.isArray(init)) {
      for (const [k, v] of init) pairs.push([k, v]);
    } else if (init !== undefined) {
      const record = init as Record<string, string>;
      for (const k in record) pairs.push([k, record[k]]);
    }
    pairs.push(["set-cookie", field]);
    parts.headers = pairs;
    return response;
  }
  try {
    response.headers.append("set-cookie", field);
    return response;
  } catch {
    // Immutable headers: fall through to a copy.
  }
  const headers = new Headers(response.headers);
  headers.append("set-cookie", field);
  try {
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  } catch (error) {
    throw new TypeError(
      `Cannot set cookie on a response with status ${response.status}: its headers are immutable and it cannot be copied`,
      { cause: error },
    );
  }
}
