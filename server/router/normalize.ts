/**
 * Path normalisation for redirects: aiohttp's `normalize_path_middleware`
 * logic as a pure function.
 *
 * @module
 */

/** Options for {@linkcode normalizePath}. */
export interface NormalizePathOptions {
  /** Whether runs of `/` become one `/`. Default `true`. */
  mergeSlashes?: boolean;
  /**
   * Whether to add a missing trailing `/`, remove one, or leave it alone.
   * Default `"add"`.
   */
  trailingSlash?: "add" | "remove" | null;
  /**
   * Whether a candidate path has a route. When given, the candidates are
   * tried in aiohttp's order (merged slashes; trailing slash added or
   * removed; both) and the first that resolves is returned. When absent, the
   * fully normalised path is returned.
   */
  resolves?: (pathname: string) => boolean;
}

/**
 * Where to redirect a request whose pathname has no route, following
 * aiohttp's `normalize_path_middleware`: merge runs of slashes and add (or
 * remove) the trailing slash. Call it only for paths that did not resolve; it
 * works on the pathname alone, so append the request's query to the result.
 *
 * A leading run of slashes always becomes one, so the result is never a
 * protocol-relative URL (`//evil.example/`) that a client would follow to
 * another host. The result is never empty.
 *
 * @param pathname The request URL's pathname, percent-encoded.
 * @param options What to normalise, and how to tell a candidate resolves.
 * @returns The redirect target, or `null` when there is none (nothing to
 * change, or no candidate resolves).
 *
 * @example
 * ```ts
 * import { normalizePath } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * assert.equal(normalizePath("/a//b", { trailingSlash: "add" }), "/a/b/");
 * assert.equal(normalizePath("/a/b/", { trailingSlash: "add" }), null);
 * assert.equal(normalizePath("//evil.example/", { trailingSlash: null }), "/evil.example/");
 *
 * const routes = new Set(["/a/b"]);
 * const resolves = (p: string): boolean => routes.has(p);
 * assert.equal(normalizePath("/a//b", { resolves }), "/a/b");
 * assert.equal(normalizePath("/a/b/", { trailingSlash: "remove", resolves }), "/a/b");
 * assert.equal(normalizePath("/c//", { resolves }), null);
 * ```
 */
export function normalizePath(pathname: string, options: NormalizePathOptions = {}): string | null {
  if (typeof pathname !== "string") {
    throw new TypeError(`Cannot normalize path: pathname must be a string, got ${typeof pathname}`);
  }
  const merge = options.mergeSlashes ?? true;
  const trailing = options.trailingSlash === undefined ? "add" : options.trailingSlash;
  if (trailing !== "add" && trailing !== "remove" && trailing !== null) {
    throw new TypeError(
      `Cannot normalize path: trailingSlash must be "add", "remove" or null, got "${trailing}"`,
    );
  }
  const resolves = options.resolves;
  const merged = merge ? pathname.replace(/\/{2,}/g, "/") : pathname;
  const ends = pathname.endsWith("/");
  const candidates: string[] = [];
  if (resolves === undefined) {
    let full = merged;
    if (trailing === "add" && !full.endsWith("/")) full += "/";
    else if (trailing === "remove" && full.endsWith("/") && full !== "/") full = full.slice(0, -1);
    candidates.push(full);
  } else {
    // aiohttp's order.
    if (merge) candidates.push(merged);
    if (trailing === "add" && !ends) candidates.push(`${pathname}/`);
    if (trailing === "remove" && ends) candidates.push(pathname.slice(0, -1));
    if (merge && trailing === "add") candidates.push(`${pathname}/`.replace(/\/{2,}/g, "/"));
    if (merge && trailing === "remove" && merged.endsWith("/")) {
      candidates.push(merged.slice(0, -1));
    }
  }
  for (let candidate of candidates) {
    candidate = candidate.replace(/^\/{2,}/, "/");
    if (candidate === "" || candidate === pathname) continue;
    if (resolves === undefined || resolves(candidate)) return candidate;
  }
  return null;
}
