/**
 * The HTTP client (`@sluice/http/client`), being built: what exists so far
 * is the cookie jar (RFC 6265bis) that `ClientSession` will use.
 *
 * @example
 * ```ts
 * import { CookieJar } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const jar = new CookieJar();
 * jar.update(["sid=abc; Path=/; HttpOnly"], "https://example.com/login");
 * assert.equal(jar.header("https://example.com/account"), "sid=abc");
 * ```
 *
 * @module
 */

export { CookieJar, DummyCookieJar } from "./cookie_jar.ts";
export type {
  AbstractCookieJar,
  Cookie,
  CookieHeaderOptions,
  CookieJarOptions,
} from "./cookie_jar.ts";
