/**
 * The parsing half of the client cookie jar: one `Set-Cookie` field into a
 * name, a value and its attributes (RFC 6265bis §5.6), the cookie-date
 * algorithm (§5.1.1), and the domain and path rules (§5.1.2–5.1.4).
 *
 * @module
 */

/** Longest `name` + `value`, in UTF-8 bytes (RFC 6265bis §5.6 step 5). */
export const MAX_NAME_VALUE_BYTES = 4096;
/** Longest attribute value, in UTF-8 bytes; longer attributes are ignored. */
export const MAX_ATTRIBUTE_BYTES = 1024;
/** RFC 6265bis caps `Expires` and `Max-Age` at 400 days from now. */
export const MAX_AGE_MS = 400 * 24 * 60 * 60 * 1000;

/** A `Set-Cookie` field taken apart; absent attributes are `null`/`false`. */
export interface ParsedSetCookie {
  /** The cookie name (non-empty, as sent). */
  name: string;
  /** The value as sent, quotes kept. */
  value: string;
  /** The last valid `Expires`, in ms since the epoch. */
  expires: number | null;
  /** The last valid `Max-Age`, in seconds (may be ≤ 0). */
  maxAge: number | null;
  /** The last non-empty `Domain`, lowercased, leading dot removed. */
  domain: string | null;
  /** The last `Path` that starts with `/`. */
  path: string | null;
  /** `Secure` was present. */
  secure: boolean;
  /** `HttpOnly` was present. */
  httpOnly: boolean;
  /** The last valid `SameSite`. */
  sameSite: "strict" | "lax" | "none" | null;
  /** `Partitioned` was present. */
  partitioned: boolean;
}

// CTLs other than HTAB make the whole field invalid (RFC 6265bis §5.6 step 1).
// deno-lint-ignore no-control-regex
const FORBIDDEN_CTL = /[\x00-\x08\x0a-\x1f\x7f]/;
// Names: non-empty, no whitespace, controls or the separators that break the `Cookie` field.
// deno-lint-ignore no-control-regex
const INVALID_NAME = /[\x00-\x20\x7f",;=\\]/;
const MAX_AGE = /^-?\d+$/;
const encoder = new TextEncoder();

/**
 * The length of `text` on the wire. Field values are byte strings (one code
 * unit per byte, as the parser and `Headers` give them); code units past
 * U+00FF, which only a caller can pass, count as their UTF-8 bytes.
 */
function byteLength(text: string): number {
  // deno-lint-ignore no-control-regex
  return /^[\x00-\xff]*$/.test(text) ? text.length : encoder.encode(text).length;
}

function trimWsp(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, "");
}

/**
 * Parses one `Set-Cookie` field value, or returns `null` when the whole
 * field must be ignored (control characters, no `=`, an invalid name, or
 * name and value over 4096 bytes). Malformed attributes are skipped.
 *
 * @param field The field value.
 * @returns The parsed cookie, or `null`.
 */
export function parseSetCookie(field: string): ParsedSetCookie | null {
  if (FORBIDDEN_CTL.test(field)) return null;
  const semi = field.indexOf(";");
  const pair = semi === -1 ? field : field.slice(0, semi);
  const eq = pair.indexOf("=");
  if (eq === -1) return null;
  const name = trimWsp(pair.slice(0, eq));
  const value = trimWsp(pair.slice(eq + 1));
  if (name.length === 0 || INVALID_NAME.test(name)) return null;
  if (byteLength(name) + byteLength(value) > MAX_NAME_VALUE_BYTES) return null;
  const cookie: ParsedSetCookie = {
    name,
    value,
    expires: null,
    maxAge: null,
    domain: null,
    path: null,
    secure: false,
    httpOnly: false,
    sameSite: null,
    partitioned: false,
  };
  if (semi === -1) return cookie;
  for (const part of field.slice(semi + 1).split(";")) {
    const at = part.indexOf("=");
    const key = trimWsp(at === -1 ? part : part.slice(0, at)).toLowerCase();
    const arg = at === -1 ? "" : trimWsp(part.slice(at + 1));
    if (byteLength(arg) > MAX_ATTRIBUTE_BYTES) continue;
    switch (key) {
      case "expires": {
        const time = parseCookieDate(arg);
        if (time !== null) cookie.expires = time;
        break;
      }
      case "max-age":
        if (MAX_AGE.test(arg)) cookie.maxAge = Number(arg);
        break;
      case "domain":
        if (arg !== "") cookie.domain = (arg.startsWith(".") ? arg.slice(1) : arg).toLowerCase();
        break;
      case "path":
        cookie.path = arg.startsWith("/") ? arg : null;
        break;
      case "secure":
        cookie.secure = true;
        break;
      case "httponly":
        cookie.httpOnly = true;
        break;
      case "samesite": {
        const mode = arg.toLowerCase();
        if (mode === "strict" || mode === "lax" || mode === "none") cookie.sameSite = mode;
        break;
      }
      case "partitioned":
        cookie.partitioned = true;
        break;
    }
  }
  return cookie;
}

const DATE_DELIMITER = /[\t\x20-\x2f\x3b-\x40\x5b-\x60\x7b-\x7e]+/;
const TIME_TOKEN = /^(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\D.*)?$/s;
const DAY_TOKEN = /^(\d{1,2})(?:\D.*)?$/s;
const YEAR_TOKEN = /^(\d{2,4})(?:\D.*)?$/s;
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/**
 * Parses a cookie date with the lenient algorithm of RFC 6265bis §5.1.1
 * (what browsers accept: RFC 1123, RFC 850, asctime and their cousins).
 *
 * @param text The `Expires` attribute value.
 * @returns Milliseconds since the epoch, or `null` when it is not a date.
 */
export function parseCookieDate(text: string): number | null {
  let time: number[] | null = null;
  let day: number | null = null;
  let month: number | null = null;
  let year: number | null = null;
  for (const token of text.split(DATE_DELIMITER)) {
    if (token === "") continue;
    let match: RegExpExecArray | null;
    if (time === null && (match = TIME_TOKEN.exec(token))) {
      time = [Number(match[1]), Number(match[2]), Number(match[3])];
    } else if (day === null && (match = DAY_TOKEN.exec(token))) {
      day = Number(match[1]);
    } else if (month === null && MONTHS.includes(token.slice(0, 3).toLowerCase())) {
      month = MONTHS.indexOf(token.slice(0, 3).toLowerCase());
    } else if (year === null && (match = YEAR_TOKEN.exec(token))) {
      year = Number(match[1]);
    }
  }
  if (time === null || day === null || month === null || year === null) return null;
  if (year >= 70 && year <= 99) year += 1900;
  else if (year >= 0 && year <= 69) year += 2000;
  const [hour, minute, second] = time;
  if (day < 1 || day > 31 || year < 1601 || hour > 23 || minute > 59 || second > 59) return null;
  const ms = Date.UTC(year, month, day, hour, minute, second);
  // Date.UTC rolls 31 Feb over into March; such a date does not exist.
  return new Date(ms).getUTCDate() === day ? ms : null;
}

/**
 * Whether `host` is an IP address (`URL.hostname` form: dotted IPv4 or
 * bracketed IPv6).
 */
export function isIpHost(host: string): boolean {
  return host.startsWith("[") || /^\d+\.\d+\.\d+\.\d+$/.test(host);
}

/** Whether `host` is loopback, which browsers treat as a secure origin. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host.endsWith(".localhost") || host === "[::1]" ||
    /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * RFC 6265bis §5.1.3: whether `host` domain-matches `domain` (identical, or
 * a subdomain of it when `host` is not an IP address).
 */
export function domainMatch(host: string, domain: string): boolean {
  if (host === domain) return true;
  return host.endsWith(domain) && host[host.length - domain.length - 1] === "." &&
    !isIpHost(host);
}

/** RFC 6265bis §5.1.4: the directory of the request path, the default cookie path. */
export function defaultPath(pathname: string): string {
  if (!pathname.startsWith("/")) return "/";
  const last = pathname.lastIndexOf("/");
  return last <= 0 ? "/" : pathname.slice(0, last);
}

/** RFC 6265bis §5.1.4: whether a cookie with `cookiePath` goes with a request for `pathname`. */
export function pathMatch(pathname: string, cookiePath: string): boolean {
  if (cookiePath === pathname) return true;
  if (!pathname.startsWith(cookiePath)) return false;
  return cookiePath.endsWith("/") || pathname[cookiePath.length] === "/";
}

/**
 * The canonical form of a `Domain` attribute (IDNA, lowercase) through the
 * URL parser, or `null` when it is not a host name.
 */
export function canonicalDomain(domain: string): string | null {
  if (/[\s/:?#@\\[\]%]/.test(domain)) return null;
  try {
    return new URL(`http://${domain}/`).hostname;
  } catch {
    return null;
  }
}
