/**
 * The types of the client cookie jar: a stored {@linkcode Cookie}, the
 * options, and the {@linkcode AbstractCookieJar} interface a session uses.
 *
 * @module
 */

/**
 * One stored cookie, as `CookieJar.cookies()` lists it.
 *
 * @example
 * ```ts
 * import { CookieJar, type Cookie } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const jar = new CookieJar();
 * jar.update(["sid=abc; HttpOnly"], "https://example.com/");
 * const [cookie]: Cookie[] = jar.cookies();
 * assert.equal(cookie.domain, "example.com");
 * assert.equal(cookie.hostOnly, true);
 * ```
 */
export interface Cookie {
  /** The name. */
  readonly name: string;
  /** The value as the server sent it (quotes kept). */
  readonly value: string;
  /** The host (host-only) or the domain it is sent to, lowercase, no leading dot. */
  readonly domain: string;
  /** The path it is sent for. */
  readonly path: string;
  /** Sent to `domain` itself only (no `Domain` attribute), not its subdomains. */
  readonly hostOnly: boolean;
  /** Sent over secure schemes (`https`, `wss`, or loopback) only. */
  readonly secure: boolean;
  /** It had `HttpOnly` (recorded: every request of this client is HTTP). */
  readonly httpOnly: boolean;
  /** Its `SameSite` attribute, or `null` when absent (sent in every context). */
  readonly sameSite: "strict" | "lax" | "none" | null;
  /** It had `Partitioned` (recorded). */
  readonly partitioned: boolean;
  /** When it expires, in ms since the epoch, or `null` for a session cookie. */
  readonly expires: number | null;
  /** When it was first set, in ms since the epoch (kept when replaced). */
  readonly creation: number;
  /** When it was last sent or set, in ms since the epoch. */
  readonly lastAccess: number;
}

/**
 * Options of `CookieJar.header()`.
 *
 * @example
 * ```ts
 * import type { CookieHeaderOptions } from "@sluice/http/client";
 *
 * const options: CookieHeaderOptions = { sameSiteContext: "lax" };
 * ```
 */
export interface CookieHeaderOptions {
  /**
   * The kind of request, as RFC 6265bis §5.8.3 judges it: `"strict"` (a
   * same-site request: every cookie), `"lax"` (a cross-site top-level
   * navigation with a safe method: not `SameSite=Strict`), `"none"` (another
   * cross-site request: neither `Strict` nor `Lax`). Absent: every cookie,
   * as a non-browser client has no sites.
   */
  sameSiteContext?: "strict" | "lax" | "none";
}

/**
 * Options of `CookieJar`.
 *
 * @example
 * ```ts
 * import type { CookieJarOptions } from "@sluice/http/client";
 *
 * const options: CookieJarOptions = { unsafe: true, now: () => 0 };
 * ```
 */
export interface CookieJarOptions {
  /** Accept and send cookies for IP-address hosts (refused by default, as aiohttp does). */
  unsafe?: boolean;
  /** The clock, in ms since the epoch (for tests of expiry). Default `Date.now`. */
  now?: () => number;
}

/**
 * What a `ClientSession` needs of a cookie jar: both
 * `CookieJar` and `DummyCookieJar` implement it.
 *
 * @example
 * ```ts
 * import { type AbstractCookieJar, DummyCookieJar } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const jar: AbstractCookieJar = new DummyCookieJar();
 * jar.update(["a=1"], "https://example.com/");
 * assert.equal(jar.header("https://example.com/"), null);
 * ```
 */
export interface AbstractCookieJar {
  /** Stores the cookies of a response's `Set-Cookie` fields. */
  update(setCookieValues: Iterable<string>, responseUrl: URL | string): void;
  /** The `Cookie` field value for a request, or `null`. */
  header(url: URL | string, options?: CookieHeaderOptions): string | null;
  /** The live cookies, all or those that go with `url`. */
  cookies(url?: URL | string): Cookie[];
  /** Removes every cookie, or those `predicate` picks. */
  clear(predicate?: (cookie: Cookie) => boolean): void;
  /** Removes the cookies of `domain` and its subdomains. */
  clearDomain(domain: string): void;
  /** How many live cookies are stored. */
  readonly size: number;
}
