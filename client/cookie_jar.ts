/**
 * The client's cookie jar (RFC 6265bis): stores what `Set-Cookie` fields
 * set and builds the `Cookie` field of the next requests.
 *
 * @module
 */

import {
  canonicalDomain,
  defaultPath,
  domainMatch,
  isIpHost,
  isLoopbackHost,
  MAX_AGE_MS,
  parseSetCookie,
  pathMatch,
} from "./_cookie_parse.ts";
import { readCookieFile, writeCookieFile } from "./_cookie_file.ts";
import type {
  AbstractCookieJar,
  Cookie,
  CookieHeaderOptions,
  CookieJarOptions,
} from "./_cookie_types.ts";

export type { AbstractCookieJar, Cookie, CookieHeaderOptions, CookieJarOptions };

/** Most cookies kept per domain; the least recently used go first. */
const MAX_PER_DOMAIN = 50;
/** Most cookies kept in all; the least recently used go first. */
const MAX_TOTAL = 3000;

interface Entry {
  cookie: Cookie;
  /** Tie-breaker when two cookies share a creation ms. */
  seq: number;
}

function toUrl(url: URL | string): URL {
  return typeof url === "string" ? new URL(url) : url;
}

/** The scheme's cookie view: `null` for schemes that carry no cookies. */
function originOf(url: URL): { host: string; secure: boolean } | null {
  const scheme = url.protocol;
  if (scheme !== "http:" && scheme !== "https:" && scheme !== "ws:" && scheme !== "wss:") {
    return null;
  }
  const host = url.hostname;
  return { host, secure: scheme === "https:" || scheme === "wss:" || isLoopbackHost(host) };
}

/**
 * A cookie's identity (RFC 6265bis §5.7): name, domain, path and the
 * host-only flag, so that a `Domain=` cookie from a sibling host cannot
 * replace or delete a host-only one of the same name.
 */
function keyOf(name: string, domain: string, path: string, hostOnly: boolean): string {
  return `${name}\0${hostOnly ? "=" : "."}${domain}\0${path}`;
}

/**
 * A cookie jar after RFC 6265bis, as aiohttp's `CookieJar`.
 *
 * - `update()` stores `Set-Cookie` fields: `Max-Age` wins over `Expires`
 *   (both capped at 400 days); no `Domain` makes a host-only cookie; a
 *   `Domain` must domain-match the host and must have a dot unless it is
 *   the host (no cookies for `com`); `Secure` cookies come from secure
 *   origins only (`https`, `wss`, loopback), and an insecure origin cannot
 *   shadow a secure cookie; `SameSite=None` and `Partitioned` need `Secure`;
 *   `__Secure-` needs `Secure`, `__Host-` also host-only and `Path=/`. A
 *   cookie of the same name, domain, path and host-only flag is replaced,
 *   keeping its creation time (so a sibling host's `Domain` cookie never
 *   replaces a host-only one); an expiry in the past deletes it.
 * - IP-address hosts are refused for both storing and sending unless
 *   `unsafe: true`; even then a `Domain` other than the IP itself is refused.
 * - Limits: name + value ≤ 4096 bytes, attribute values ≤ 1024 bytes (as
 *   sent: field values are byte strings, one code unit per byte)
 *   (longer ones ignored), at most 50 cookies per domain and 3000 in all;
 *   past those the least recently used cookies are evicted.
 *
 * @example
 * ```ts
 * import { CookieJar } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const jar = new CookieJar();
 * jar.update(["sid=abc; Path=/; Secure; HttpOnly", "theme=dark"], "https://example.com/a/b");
 * assert.equal(jar.header("https://example.com/a/x"), "theme=dark; sid=abc");
 * assert.equal(jar.header("http://example.com/"), null);
 * jar.update(["sid=; Max-Age=0; Path=/; Secure"], "https://example.com/");
 * assert.equal(jar.size, 1);
 * ```
 */
export class CookieJar implements AbstractCookieJar {
  readonly #entries = new Map<string, Entry>();
  readonly #unsafe: boolean;
  readonly #now: () => number;
  #seq = 0;

  /**
   * Makes an empty jar.
   *
   * @param options `unsafe` to allow IP-address hosts; `now`, the clock.
   */
  constructor(options: CookieJarOptions = {}) {
    this.#unsafe = options.unsafe ?? false;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Stores the cookies of `Set-Cookie` field values, as a browser would for
   * a response from `responseUrl`. Invalid or refused fields are ignored.
   *
   * @param setCookieValues The field values (`response.headers.getSetCookie()`).
   * @param responseUrl The URL of the response that carried them.
   */
  update(setCookieValues: Iterable<string>, responseUrl: URL | string): void {
    const url = toUrl(responseUrl);
    const origin = originOf(url);
    if (origin === null) return;
    if (isIpHost(origin.host) && !this.#unsafe) return;
    const now = this.#now();
    for (const field of setCookieValues) this.#store(field, url, origin, now);
    this.#evict(now);
  }

  #store(field: string, url: URL, origin: { host: string; secure: boolean }, now: number): void {
    const parsed = parseSetCookie(field);
    if (parsed === null) return;
    const host = origin.host;
    let expires: number | null = null;
    if (parsed.maxAge !== null) {
      expires = parsed.maxAge <= 0 ? -Infinity : now + Math.min(parsed.maxAge * 1000, MAX_AGE_MS);
    } else if (parsed.expires !== null) {
      expires = Math.min(parsed.expires, now + MAX_AGE_MS);
    }
    let domain = host;
    let hostOnly = true;
    if (parsed.domain !== null) {
      const wanted = canonicalDomain(parsed.domain);
      if (wanted === null) return;
      // A bare label ("com", "localhost") or an IP stays host-only when it
      // is the host itself, and is refused otherwise (RFC 6265bis §5.7 step 9).
      const narrow = isIpHost(host) || !wanted.includes(".");
      if (narrow && wanted !== host) return;
      if (!narrow) {
        if (!domainMatch(host, wanted)) return;
        domain = wanted;
        hostOnly = false;
      }
    }
    const path = parsed.path ?? defaultPath(url.pathname);
    const secure = parsed.secure;
    if (secure && !origin.secure) return;
    if ((parsed.sameSite === "none" || parsed.partitioned) && !secure) return;
    const lowerName = parsed.name.toLowerCase();
    if (lowerName.startsWith("__secure-") && !secure) return;
    if (
      lowerName.startsWith("__host-") && !(secure && hostOnly && parsed.path === "/")
    ) return;
    if (!secure && !origin.secure && this.#shadowsSecure(parsed.name, domain, path)) return;
    const key = keyOf(parsed.name, domain, path, hostOnly);
    const old = this.#entries.get(key);
    if (expires !== null && expires <= now) {
      this.#entries.delete(key);
      return;
    }
    const cookie: Cookie = Object.freeze({
      name: parsed.name,
      value: parsed.value,
      domain,
      path,
      hostOnly,
      secure,
      httpOnly: parsed.httpOnly,
      sameSite: parsed.sameSite,
      partitioned: parsed.partitioned,
      expires,
      creation: old?.cookie.creation ?? now,
      lastAccess: now,
    });
    // Deleting first moves a replaced cookie to the end: the map stays in use order.
    this.#entries.delete(key);
    this.#entries.set(key, { cookie, seq: old?.seq ?? this.#seq++ });
  }

  /** RFC 6265bis §5.7 step 16: an insecure origin cannot overlay a secure cookie. */
  #shadowsSecure(name: string, domain: string, path: string): boolean {
    for (const { cookie } of this.#entries.values()) {
      if (
        cookie.secure && cookie.name === name &&
        (domainMatch(cookie.domain, domain) || domainMatch(domain, cookie.domain)) &&
        pathMatch(path, cookie.path)
      ) return true;
    }
    return false;
  }

  #evict(now: number): void {
    this.#purge(now);
    if (this.#entries.size === 0) return;
    const perDomain = new Map<string, number>();
    for (const { cookie } of this.#entries.values()) {
      perDomain.set(cookie.domain, (perDomain.get(cookie.domain) ?? 0) + 1);
    }
    // The map iterates in least-recently-used order: evict from the front.
    for (const [key, { cookie }] of this.#entries) {
      const count = perDomain.get(cookie.domain)!;
      if (count > MAX_PER_DOMAIN) {
        this.#entries.delete(key);
        perDomain.set(cookie.domain, count - 1);
      }
    }
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= MAX_TOTAL) break;
      this.#entries.delete(key);
    }
  }

  #purge(now: number): void {
    for (const [key, { cookie }] of this.#entries) {
      if (cookie.expires !== null && cookie.expires <= now) this.#entries.delete(key);
    }
  }

  #matching(url: URL, sameSiteContext: CookieHeaderOptions["sameSiteContext"]): Entry[] {
    const origin = originOf(url);
    if (origin === null || (isIpHost(origin.host) && !this.#unsafe)) return [];
    this.#purge(this.#now());
    const found: Entry[] = [];
    for (const entry of this.#entries.values()) {
      const cookie = entry.cookie;
      if (
        cookie.hostOnly ? cookie.domain !== origin.host : !domainMatch(origin.host, cookie.domain)
      ) continue;
      if (!pathMatch(url.pathname, cookie.path)) continue;
      if (cookie.secure && !origin.secure) continue;
      if (sameSiteContext === "lax" && cookie.sameSite === "strict") continue;
      if (
        sameSiteContext === "none" && (cookie.sameSite === "strict" || cookie.sameSite === "lax")
      ) {
        continue;
      }
      found.push(entry);
    }
    // Longer paths first, then earlier creation (RFC 6265bis §5.8.3 step 2).
    return found.sort((a, b) =>
      b.cookie.path.length - a.cookie.path.length || a.cookie.creation - b.cookie.creation ||
      a.seq - b.seq
    );
  }

  /**
   * The `Cookie` field value for a request to `url`: the live cookies whose
   * domain and path match, `Secure` ones only over a secure scheme, longer
   * paths first, then earlier creation. Expired cookies are dropped.
   *
   * @param url The request URL.
   * @param options The `SameSite` context of the request.
   * @returns `name=value` pairs joined with `"; "`, or `null` when none match.
   */
  header(url: URL | string, options: CookieHeaderOptions = {}): string | null {
    const target = toUrl(url);
    const found = this.#matching(target, options.sameSiteContext);
    if (found.length === 0) return null;
    const now = this.#now();
    const pairs: string[] = [];
    for (const entry of found) {
      pairs.push(`${entry.cookie.name}=${entry.cookie.value}`);
      const { cookie } = entry;
      const key = keyOf(cookie.name, cookie.domain, cookie.path, cookie.hostOnly);
      this.#entries.delete(key);
      this.#entries.set(key, {
        ...entry,
        cookie: Object.freeze({ ...entry.cookie, lastAccess: now }),
      });
    }
    return pairs.join("; ");
  }

  /**
   * The live cookies: all of them (in use order), or those that would go
   * with a request to `url` (in `Cookie` field order, any `SameSite`).
   *
   * @param url A request URL to filter by.
   * @returns Frozen copies of the cookies.
   */
  cookies(url?: URL | string): Cookie[] {
    if (url !== undefined) return this.#matching(toUrl(url), undefined).map((e) => e.cookie);
    this.#purge(this.#now());
    return [...this.#entries.values()].map((entry) => entry.cookie);
  }

  /**
   * Removes every cookie, or those for which `predicate` returns `true`.
   *
   * @param predicate Picks the cookies to remove.
   */
  clear(predicate?: (cookie: Cookie) => boolean): void {
    if (predicate === undefined) {
      this.#entries.clear();
      return;
    }
    for (const [key, { cookie }] of this.#entries) {
      if (predicate(cookie)) this.#entries.delete(key);
    }
  }

  /**
   * Removes the cookies of `domain` and of its subdomains.
   *
   * @param domain A host name (a leading dot is ignored).
   */
  clearDomain(domain: string): void {
    const base = (domain.startsWith(".") ? domain.slice(1) : domain).toLowerCase();
    this.clear((cookie) => domainMatch(cookie.domain, base));
  }

  /** How many live cookies are stored. */
  get size(): number {
    this.#purge(this.#now());
    return this.#entries.size;
  }

  /**
   * Writes the cookies to a JSON file (expiry as absolute ms), replacing it
   * atomically. Session cookies are saved too.
   *
   * @param path The file path.
   */
  async save(path: string): Promise<void> {
    await writeCookieFile(path, this.cookies());
  }

  /**
   * Replaces the jar's cookies with those of a file written by
   * {@linkcode CookieJar.save}; expired ones are dropped.
   *
   * @param path The file path.
   * @throws {TypeError} When the file is not a saved cookie jar.
   */
  async load(path: string): Promise<void> {
    const loaded = await readCookieFile(path);
    const now = this.#now();
    this.#entries.clear();
    for (const cookie of loaded.sort((a, b) => a.lastAccess - b.lastAccess)) {
      if (cookie.expires !== null && cookie.expires <= now) continue;
      const key = keyOf(cookie.name, cookie.domain, cookie.path, cookie.hostOnly);
      this.#entries.set(key, { cookie: Object.freeze(cookie), seq: this.#seq++ });
    }
    this.#evict(now);
  }
}

/**
 * A cookie jar that stores nothing, for sessions that must not keep
 * cookies (aiohttp's `DummyCookieJar`).
 *
 * @example
 * ```ts
 * import { DummyCookieJar } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const jar = new DummyCookieJar();
 * jar.update(["sid=abc"], "https://example.com/");
 * assert.equal(jar.size, 0);
 * assert.equal(jar.header("https://example.com/"), null);
 * ```
 */
export class DummyCookieJar implements AbstractCookieJar {
  /** Ignores the cookies. */
  update(_setCookieValues: Iterable<string>, _responseUrl: URL | string): void {}

  /**
   * Always `null`: there is never a cookie to send.
   *
   * @returns `null`.
   */
  header(_url: URL | string, _options?: CookieHeaderOptions): string | null {
    return null;
  }

  /**
   * Always empty.
   *
   * @returns An empty array.
   */
  cookies(_url?: URL | string): Cookie[] {
    return [];
  }

  /** Does nothing. */
  clear(_predicate?: (cookie: Cookie) => boolean): void {}

  /** Does nothing. */
  clearDomain(_domain: string): void {}

  /** Always 0. */
  get size(): number {
    return 0;
  }
}
