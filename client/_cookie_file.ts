/**
 * The file format of `CookieJar.save()`/`load()`: JSON,
 * `{ "version": 1, "cookies": [...] }`, expiry as absolute ms since the
 * epoch. `node:fs/promises` (present in Deno, Bun and Node) is imported on
 * first use, so hosts without a file system can still load the jar.
 *
 * @module
 */

import type { Cookie } from "./_cookie_types.ts";

const VERSION = 1;
const SAME_SITE = new Set(["strict", "lax", "none", null]);

/** Writes `cookies` to `path`, through a temporary file renamed into place. */
export async function writeCookieFile(path: string, cookies: readonly Cookie[]): Promise<void> {
  const { rename, rm, writeFile } = await import("node:fs/promises");
  const text = JSON.stringify({ version: VERSION, cookies }, null, 1) + "\n";
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o600 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

function invalid(path: string, reason: string): TypeError {
  return new TypeError(`Cannot load cookie jar ${JSON.stringify(path)}: ${reason}`);
}

function isCookie(value: unknown): value is Cookie {
  if (typeof value !== "object" || value === null) return false;
  const c = value as Record<string, unknown>;
  const optionalTime = (v: unknown) => v === null || (typeof v === "number" && !Number.isNaN(v));
  return typeof c.name === "string" && c.name !== "" && typeof c.value === "string" &&
    typeof c.domain === "string" && typeof c.path === "string" && c.path.startsWith("/") &&
    typeof c.hostOnly === "boolean" && typeof c.secure === "boolean" &&
    typeof c.httpOnly === "boolean" && typeof c.partitioned === "boolean" &&
    SAME_SITE.has(c.sameSite as string | null) && optionalTime(c.expires) &&
    typeof c.creation === "number" && typeof c.lastAccess === "number";
}

/** Reads the cookies of a file written by {@linkcode writeCookieFile}. */
export async function readCookieFile(path: string): Promise<Cookie[]> {
  const { readFile } = await import("node:fs/promises");
  const text = await readFile(path, "utf8");
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new TypeError(`Cannot load cookie jar ${JSON.stringify(path)}: not JSON`, { cause });
  }
  const file = data as { version?: unknown; cookies?: unknown } | null;
  if (typeof file !== "object" || file === null || file.version !== VERSION) {
    throw invalid(path, `not a version ${VERSION} cookie jar file`);
  }
  if (!Array.isArray(file.cookies)) throw invalid(path, "no cookies array");
  const cookies: Cookie[] = [];
  for (const item of file.cookies) {
    if (!isCookie(item)) throw invalid(path, `malformed cookie ${JSON.stringify(item)}`);
    cookies.push({
      name: item.name,
      value: item.value,
      domain: item.domain,
      path: item.path,
      hostOnly: item.hostOnly,
      secure: item.secure,
      httpOnly: item.httpOnly,
      sameSite: item.sameSite,
      partitioned: item.partitioned,
      expires: item.expires,
      creation: item.creation,
      lastAccess: item.lastAccess,
    });
  }
  return cookies;
}
