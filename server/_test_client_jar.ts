/**
 * The cookie jar of the test clients: what `Set-Cookie` fields store, and
 * which cookies go back with a request (RFC 6265 §5.2–5.4, for one origin).
 *
 * @module
 */

/**
 * One cookie in a {@linkcode TestCookieJar}.
 *
 * @example
 * ```ts
 * import type { TestCookie } from "@sluice/http/server";
 *
 * const cookie: TestCookie = { name: "sid", value: "abc", path: "/", expires: null, secure: false, httpOnly: true };
 * ```
 */
export interface TestCookie {
  /** The name. */
  readonly name: string;
  /** The value as the server sent it (quotes and percent-escapes kept). */
  readonly value: string;
  /** The path it is sent for (the `Path` attribute, or the default path of the request that set it). */
  readonly path: string;
  /** When it expires (ms since the epoch, from `Max-Age` or `Expires`), or `null` for a session cookie. */
  readonly expires: number | null;
  /** It had the `Secure` attribute (recorded, not enforced). */
  readonly secure: boolean;
  /** It had the `HttpOnly` attribute (recorded, not enforced). */
  readonly httpOnly: boolean;
}

const HTTP_DATE_LIKE = /^[\x20-\x7e]+$/;

/** RFC 6265 §5.1.4: the directory of the request path. */
function defaultPath(pathname: string): string {
  if (!pathname.startsWith("/")) return "/";
  const last = pathname.lastIndexOf("/");
  return last <= 0 ? "/" : pathname.slice(0, last);
}

/** RFC 6265 §5.1.4: whether a cookie of `cookiePath` goes with a request for `pathname`. */
function pathMatches(cookiePath: string, pathname: string): boolean {
  if (cookiePath === pathname) return true;
  if (!pathname.startsWith(cookiePath)) return false;
  return cookiePath.endsWith("/") || pathname[cookiePath.length] === "/";
}

/**
 * The cookies a test client keeps: set by the `Set-Cookie` fields of its
 * responses (name, value, `Path`, `Max-Age`, `Expires`; `Max-Age=0` or a
 * past date deletes), sent back in `Cookie` with the requests whose path
 * matches. Map-like by name: `get(name)` gives the value of the cookie with
 * the longest path of that name. `Domain`, `Secure` and `SameSite` are not
 * enforced: a test client talks to one origin.
 *
 * @example
 * ```ts
 * import { TestCookieJar } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const jar = new TestCookieJar();
 * jar.store(["sid=abc; Path=/; HttpOnly", "theme=dark"], "/account/settings");
 * assert.equal(jar.get("sid"), "abc");
 * assert.equal(jar.header("/account/page"), "theme=dark; sid=abc");
 * assert.equal(jar.header("/other"), "sid=abc");
 * jar.store(["sid=; Max-Age=0; Path=/"], "/");
 * assert.equal(jar.has("sid"), false);
 * ```
 */
export class TestCookieJar {
  /** Keyed by `name` + NUL + `path` (RFC 6265 also keys by domain: one origin here). */
  readonly #cookies = new Map<string, TestCookie>();
  readonly #now: () => number;

  /**
   * Makes an empty jar.
   *
   * @param now The clock, in ms since the epoch (for tests of expiry). Default `Date.now`.
   */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * Stores the cookies of `Set-Cookie` field values, as a browser would for
   * a response to a request for `pathname`. Malformed fields are ignored.
   *
   * @param setCookies The field values (`response.headers.getSetCookie()`).
   * @param pathname The path of the request that got them.
   */
  store(setCookies: Iterable<string>, pathname: string): void {
    for (const field of setCookies) this.#storeOne(field, pathname);
  }

  #storeOne(field: string, pathname: string): void {
    const parts = field.split(";");
    const pair = parts[0];
    const eq = pair.indexOf("=");
    if (eq === -1) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (name.length === 0) return;
    let path: string | null = null;
    let maxAge: number | null = null;
    let expires: number | null = null;
    let secure = false;
    let httpOnly = false;
    for (let i = 1; i < parts.length; i++) {
      const attribute = parts[i];
      const at = attribute.indexOf("=");
      const key = (at === -1 ? attribute : attribute.slice(0, at)).trim().toLowerCase();
      const arg = at === -1 ? "" : attribute.slice(at + 1).trim();
      if (key === "path") path = arg.startsWith("/") ? arg : null;
      else if (key === "max-age" && /^-?\d+$/.test(arg)) maxAge = Number(arg);
      else if (key === "expires" && HTTP_DATE_LIKE.test(arg)) {
        const time = Date.parse(arg);
        if (!Number.isNaN(time)) expires = time;
      } else if (key === "secure") secure = true;
      else if (key === "httponly") httpOnly = true;
    }
    const now = this.#now();
    // Max-Age wins over Expires (RFC 6265 §5.3 step 3).
    const until = maxAge !== null ? (maxAge <= 0 ? -Infinity : now + maxAge * 1000) : expires;
    const cookie: TestCookie = {
      name,
      value,
      path: path ?? defaultPath(pathname),
      expires: until,
      secure,
      httpOnly,
    };
    const key = `${name}\0${cookie.path}`;
    if (until !== null && until <= now) this.#cookies.delete(key);
    else this.#cookies.set(key, cookie);
  }

  /** The live cookies, expired ones dropped, longest path first (RFC 6265 §5.4 order). */
  list(): TestCookie[] {
    const now = this.#now();
    const live: TestCookie[] = [];
    for (const [key, cookie] of this.#cookies) {
      if (cookie.expires !== null && cookie.expires <= now) this.#cookies.delete(key);
      else live.push(cookie);
    }
    // A stable sort keeps the order of creation among equal path lengths.
    return live.sort((a, b) => b.path.length - a.path.length);
  }

  /**
   * The `Cookie` field value for a request to `pathname`, or `null` when no
   * cookie matches.
   *
   * @param pathname The request's path.
   * @returns `name=value` pairs joined with `"; "`, or `null`.
   */
  header(pathname: string): string | null {
    const pairs = this.list()
      .filter((cookie) => pathMatches(cookie.path, pathname))
      .map((cookie) => `${cookie.name}=${cookie.value}`);
    return pairs.length === 0 ? null : pairs.join("; ");
  }

  /** The value of the cookie `name` with the longest path, or `undefined`. */
  get(name: string): string | undefined {
    return this.list().find((cookie) => cookie.name === name)?.value;
  }

  /** Whether a cookie `name` is stored (on any path). */
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /**
   * Stores a cookie, as if a response had set it.
   *
   * @param name The name.
   * @param value The value, sent as it is.
   * @param options The path it goes with (default `"/"`).
   * @returns The jar.
   */
  set(name: string, value: string, options: { path?: string } = {}): this {
    if (typeof name !== "string" || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
      throw new TypeError(`Cannot set cookie ${JSON.stringify(String(name))}: not a token`);
    }
    // deno-lint-ignore no-control-regex
    if (typeof value !== "string" || /[\x00-\x1f\x7f;]/.test(value)) {
      throw new TypeError(
        `Cannot set cookie ${JSON.stringify(name)}: the value has ';' or control characters`,
      );
    }
    const path = options.path ?? "/";
    this.#cookies.set(`${name}\0${path}`, {
      name,
      value,
      path,
      expires: null,
      secure: false,
      httpOnly: false,
    });
    return this;
  }

  /** Drops every cookie named `name` (on every path); `true` when there was one. */
  delete(name: string): boolean {
    let found = false;
    for (const [key, cookie] of this.#cookies) {
      if (cookie.name === name) found = this.#cookies.delete(key);
    }
    return found;
  }

  /** Drops every cookie. */
  clear(): void {
    this.#cookies.clear();
  }

  /** How many live cookies (one per name and path). */
  get size(): number {
    return this.list().length;
  }

  /** `[name, value]` of each live cookie, longest path first. */
  *entries(): IterableIterator<[string, string]> {
    for (const cookie of this.list()) yield [cookie.name, cookie.value];
  }

  /** The names of the live cookies. */
  *keys(): IterableIterator<string> {
    for (const cookie of this.list()) yield cookie.name;
  }

  /** The values of the live cookies. */
  *values(): IterableIterator<string> {
    for (const cookie of this.list()) yield cookie.value;
  }

  /** Same as {@linkcode TestCookieJar.entries}. */
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}
