/**
 * Proxy settings from the environment (`HTTP_PROXY`, `HTTPS_PROXY`,
 * `ALL_PROXY`, `NO_PROXY`), read when a session has `trustEnv` set.
 *
 * @module
 */

import { BasicAuth } from "./auth.ts";
import { InvalidUrlError } from "./errors.ts";
import { inRange, type Ip, parseIp } from "../util/ip.ts";

/** Environment variables, as `process.env` holds them. */
export type ProxyEnv = Readonly<Record<string, string | undefined>>;

/**
 * A proxy to use: its URL without credentials, and the credentials taken
 * from it (sent as `Proxy-Authorization`).
 *
 * @example
 * ```ts
 * import { parseProxyUrl, type ProxyInfo } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const proxy: ProxyInfo = parseProxyUrl("http://u:p@proxy.test:3128");
 * assert.equal(proxy.url.href, "http://proxy.test:3128/");
 * assert.equal(proxy.auth?.login, "u");
 * ```
 */
export interface ProxyInfo {
  /** The proxy URL, `http:` or `https:`, credentials removed. */
  url: URL;
  /** The credentials from the URL's `user:password@`, percent-decoded, or `null`. */
  auth: BasicAuth | null;
}

/**
 * Parses a proxy URL. A value without a scheme (`proxy.test:3128`) is taken
 * as `http://`. Throws {@linkcode InvalidUrlError} when it does not parse or
 * its scheme is not `http:` or `https:` (SOCKS is not supported).
 *
 * @param value The proxy URL.
 * @returns The URL without credentials, and the credentials.
 *
 * @example
 * ```ts
 * import { parseProxyUrl } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseProxyUrl("proxy.test:3128").url.href, "http://proxy.test:3128/");
 * ```
 */
export function parseProxyUrl(value: string | URL): ProxyInfo {
  const text = String(value).trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch (cause) {
    throw new InvalidUrlError(text, `Cannot use proxy "${text}": invalid URL`, { cause });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidUrlError(
      text,
      `Cannot use proxy "${url.protocol}//${url.host}": unsupported scheme "${url.protocol}"`,
    );
  }
  let auth: BasicAuth | null;
  try {
    auth = BasicAuth.fromUrl(url);
  } catch (cause) {
    throw new InvalidUrlError(text, `Cannot use proxy credentials: malformed`, { cause });
  }
  url.username = "";
  url.password = "";
  return { url, auth };
}

function processEnv(): ProxyEnv {
  const proc = (globalThis as { process?: { env?: ProxyEnv } }).process;
  return proc?.env ?? {};
}

function lookup(env: ProxyEnv, name: string, cgi: boolean): string | undefined {
  const lower = env[name.toLowerCase()];
  if (lower !== undefined && lower.trim() !== "") return lower;
  // httpoxy: under CGI, HTTP_PROXY comes from the client's "Proxy:" header.
  if (cgi && name === "HTTP_PROXY") return undefined;
  const upper = env[name];
  return upper !== undefined && upper.trim() !== "" ? upper : undefined;
}

/**
 * The proxy for a URL from the environment, or `null` for a direct
 * connection.
 *
 * Precedence: `NO_PROXY` first (if the host matches, no proxy); then for
 * `http:`/`ws:` URLs `http_proxy`, then `all_proxy`; for `https:`/`wss:`
 * `https_proxy`, then `all_proxy`. For each name the lower-case variable wins
 * over the upper-case one (as curl does); empty values count as unset. When
 * `REQUEST_METHOD` is set (CGI), upper-case `HTTP_PROXY` is ignored (httpoxy).
 * See {@linkcode matchesNoProxy} for `NO_PROXY`.
 * On Deno, reading the default `process.env` needs `--allow-env`; pass `env`
 * explicitly to avoid it.
 *
 * @param url The request URL.
 * @param env The environment (default `process.env`).
 * @returns The proxy, or `null`.
 *
 * @example
 * ```ts
 * import { proxyFromEnv } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const env = { HTTPS_PROXY: "http://proxy.test:3128", NO_PROXY: ".internal.test" };
 * assert.equal(proxyFromEnv("https://example.test/", env)?.url.host, "proxy.test:3128");
 * assert.equal(proxyFromEnv("https://a.internal.test/", env), null);
 * assert.equal(proxyFromEnv("http://example.test/", env), null);
 * ```
 */
export function proxyFromEnv(url: string | URL, env: ProxyEnv = processEnv()): ProxyInfo | null {
  const target = typeof url === "string" ? new URL(url) : url;
  const secure = target.protocol === "https:" || target.protocol === "wss:";
  if (!secure && target.protocol !== "http:" && target.protocol !== "ws:") return null;
  const noProxy = env.no_proxy ?? env.NO_PROXY;
  if (noProxy !== undefined && matchesNoProxy(target, noProxy)) return null;
  const cgi = env.REQUEST_METHOD !== undefined;
  const value = lookup(env, secure ? "HTTPS_PROXY" : "HTTP_PROXY", cgi) ??
    lookup(env, "ALL_PROXY", cgi);
  return value === undefined ? null : parseProxyUrl(value);
}

/** An IP literal (no brackets) as groups with its family, or `null` for a name. */
function parseIP(text: string): { ip: Ip; v6: boolean } | null {
  const ip = parseIp(text);
  return ip === null ? null : { ip, v6: text.includes(":") };
}

/** Whether `host` is in `base`/`bits` (`bits` counted in `base`'s family), families alike. */
function inCidr(
  host: { ip: Ip; v6: boolean },
  base: { ip: Ip; v6: boolean },
  bits: number,
): boolean {
  return host.v6 === base.v6 && inRange(host.ip, base.ip, base.v6 ? bits : bits + 96);
}

function defaultPort(protocol: string): string {
  return protocol === "https:" || protocol === "wss:" ? "443" : "80";
}

/**
 * Whether a URL's host is excluded from proxying by a `NO_PROXY` value.
 * Entries are comma-separated (whitespace ignored), case-insensitive:
 *
 * - `*` matches every host.
 * - `example.test`, `.example.test` and `*.example.test` all match
 *   `example.test` and every subdomain (curl's reading; the leading `.` or `*.`
 *   is dropped).
 * - `host:port` matches that host on that port only (the URL's default port
 *   counts: `example.test:443` matches `https://example.test/`).
 * - IP literals match the same address (`::1`, `[::1]`, `[::1]:8080`,
 *   `127.0.0.1`); CIDR ranges (`10.0.0.0/8`, `fe80::/10`) match addresses in
 *   them. Host names are not resolved, so `localhost` does not match
 *   `127.0.0.1` unless listed.
 *
 * @param url The request URL.
 * @param noProxy The `NO_PROXY` value.
 * @returns Whether to connect directly.
 *
 * @example
 * ```ts
 * import { matchesNoProxy } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * assert.ok(matchesNoProxy(new URL("http://10.1.2.3/"), "localhost, 10.0.0.0/8"));
 * assert.ok(!matchesNoProxy(new URL("http://api.test:8080/"), "api.test:9090"));
 * ```
 */
export function matchesNoProxy(url: URL, noProxy: string): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  const port = url.port === "" ? defaultPort(url.protocol) : url.port;
  const hostIp = parseIP(host);
  for (const raw of noProxy.split(",")) {
    let entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") return true;
    let entryPort: string | null = null;
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed !== null) {
      entry = bracketed[1];
      entryPort = bracketed[2] ?? null;
    } else if (entry.split(":").length === 2) {
      const colon = entry.indexOf(":");
      entryPort = entry.slice(colon + 1);
      entry = entry.slice(0, colon);
    }
    if (entryPort !== null && entryPort !== port) continue;
    const slash = entry.indexOf("/");
    if (slash !== -1) {
      const base = parseIP(entry.slice(0, slash));
      const bits = entry.slice(slash + 1);
      if (hostIp === null || base === null || !/^\d{1,3}$/.test(bits)) continue;
      if (Number(bits) <= (base.v6 ? 128 : 32) && inCidr(hostIp, base, Number(bits))) return true;
      continue;
    }
    const entryIp = parseIP(entry);
    if (entryIp !== null) {
      if (hostIp !== null && inCidr(hostIp, entryIp, entryIp.v6 ? 128 : 32)) return true;
      continue;
    }
    const domain = entry.replace(/^\*?\.+/, "").replace(/\.$/, "");
    if (domain === "") continue;
    if (host === domain || host.endsWith(`.${domain}`)) return true;
  }
  return false;
}
