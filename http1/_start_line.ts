// Request lines and status lines (RFC 9112 §3, §4), parsed from the head's
// decoded string. Each function returns the index just past the line's CRLF.

import { HOST, TARGET, TOKEN } from "./_abnf.ts";
import { charError, NEEDS_EXACT_DECODE } from "./_fields.ts";
import { HttpParseError } from "./errors.ts";

const SP = 0x20;
const CR = 0x0d;
const LF = 0x0a;

/** The parts of a request line; a reused scratch object (parsing never re-enters). */
export const requestLine: { method: string; target: string; versionMinor: number } = {
  method: "",
  target: "",
  versionMinor: 1,
};

/** The parts of a status line; a reused scratch object. */
export const statusLine: { versionMinor: number; status: number; reason: string } = {
  versionMinor: 1,
  status: 0,
  reason: "",
};

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** Parses `HTTP/1.x` at `i`; returns the minor version (0 or 1). */
function version(s: string, i: number, what: string): number {
  if (
    s.charCodeAt(i) === 0x48 && s.charCodeAt(i + 1) === 0x54 && s.charCodeAt(i + 2) === 0x54 &&
    s.charCodeAt(i + 3) === 0x50 && s.charCodeAt(i + 4) === 0x2f
  ) {
    const major = s.charCodeAt(i + 5);
    if (isDigit(major) && s.charCodeAt(i + 6) === 0x2e && isDigit(s.charCodeAt(i + 7))) {
      if (major !== 0x31) {
        throw new HttpParseError(
          "SLUICE_ERR_HTTP_VERSION_NOT_SUPPORTED",
          `Cannot parse ${what}: version "${s.slice(i, i + 8)}" is not HTTP/1.x`,
        );
      }
      // HTTP/1.2..1.9 are answered as the highest minor we speak (RFC 9110 §2.5).
      return s.charCodeAt(i + 7) === 0x30 ? 0 : 1;
    }
    if (
      isDigit(major) && major !== 0x31 && !isDigit(s.charCodeAt(i + 6)) &&
      s.charCodeAt(i + 6) !== 0x2e
    ) {
      throw new HttpParseError(
        "SLUICE_ERR_HTTP_VERSION_NOT_SUPPORTED",
        `Cannot parse ${what}: version "${s.slice(i, i + 6)}" is not HTTP/1.x`,
      );
    }
  }
  const end = s.indexOf("\r", i);
  throw new HttpParseError(
    "SLUICE_ERR_HTTP_INVALID_VERSION",
    `Cannot parse ${what}: malformed HTTP version "${
      s.slice(i, end === -1 ? i + 16 : Math.min(end, i + 16))
    }"`,
  );
}

/** Parses `method SP request-target SP HTTP-version CRLF` into {@linkcode requestLine}. */
export function parseRequestLine(s: string): number {
  let i = 0;
  while (TOKEN[s.charCodeAt(i)] === 1) i++;
  if (s.charCodeAt(i) !== SP || i === 0) {
    throw charError(s, i, "SLUICE_ERR_HTTP_INVALID_METHOD", "request method");
  }
  const method = s.slice(0, i);
  const ts = ++i;
  while (TARGET[s.charCodeAt(i)] === 1) i++;
  const c = s.charCodeAt(i);
  if (c !== SP || i === ts) {
    if (c === CR && s.charCodeAt(i + 1) === LF && i > ts) {
      throw new HttpParseError(
        "SLUICE_ERR_HTTP_INVALID_VERSION",
        "Cannot parse request line: missing HTTP version",
      );
    }
    throw charError(s, i, "SLUICE_ERR_HTTP_INVALID_TARGET", "request target");
  }
  const target = s.slice(ts, i);
  const minor = version(s, i + 1, "request line");
  i += 9;
  if (s.charCodeAt(i) !== CR || s.charCodeAt(i + 1) !== LF) {
    throw charError(s, i, "SLUICE_ERR_HTTP_INVALID_VERSION", "request line after the version");
  }
  checkTargetForm(method, target);
  requestLine.method = method;
  requestLine.target = target;
  requestLine.versionMinor = minor;
  return i + 2;
}

/** Common methods by length, so that they cost no string allocation. */
const METHODS_BY_LENGTH: readonly (readonly string[])[] = (() => {
  const table: string[][] = [];
  for (
    const m of ["GET", "PUT", "POST", "HEAD", "PATCH", "TRACE", "DELETE", "OPTIONS", "CONNECT"]
  ) {
    (table[m.length] ??= []).push(m);
  }
  return table;
})();

function internMethod(b: Uint8Array, start: number, n: number): string | null {
  const candidates = METHODS_BY_LENGTH[n];
  if (candidates === undefined) return null;
  next: for (const m of candidates) {
    for (let k = 0; k < n; k++) if (b[start + k] !== m.charCodeAt(k)) continue next;
    return m;
  }
  return null;
}

/**
 * The common case of {@linkcode parseRequestLine}, checked on the bytes
 * (faster than on the string on older V8) with the method interned. Returns
 * false when anything is unusual; the caller then parses the string, which
 * names the error or handles the rare forms.
 */
export function parseRequestLineBytes(
  b: Uint8Array,
  start: number,
  lineEnd: number,
  s: string,
): boolean {
  let i = start;
  while (i < lineEnd && TOKEN[b[i]] === 1) i++;
  if (i === start || i >= lineEnd || b[i] !== SP) return false;
  const method = internMethod(b, start, i - start) ?? s.slice(0, i - start);
  const ts = ++i;
  while (i < lineEnd && TARGET[b[i]] === 1) i++;
  if (i === ts || i >= lineEnd || b[i] !== SP || lineEnd - i !== 9) return false;
  // "HTTP/1.1" or "HTTP/1.0"; anything else goes the careful way.
  if (
    b[i + 1] !== 0x48 || b[i + 2] !== 0x54 || b[i + 3] !== 0x54 || b[i + 4] !== 0x50 ||
    b[i + 5] !== 0x2f || b[i + 6] !== 0x31 || b[i + 7] !== 0x2e
  ) return false;
  const minor = b[i + 8] - 0x30;
  if (minor !== 0 && minor !== 1) return false;
  const target = s.slice(ts - start, i - start);
  checkTargetForm(method, target);
  requestLine.method = method;
  requestLine.target = target;
  requestLine.versionMinor = minor;
  return true;
}

/** RFC 9112 §3.2: the four forms, each allowed only where it belongs. */
function checkTargetForm(method: string, target: string): void {
  const first = target.charCodeAt(0);
  if (method === "CONNECT") {
    if (!isAuthority(target)) {
      throw new HttpParseError(
        "SLUICE_ERR_HTTP_INVALID_TARGET",
        `Cannot accept CONNECT target "${target}": not authority-form (host:port)`,
      );
    }
    return;
  }
  if (first === 0x2f) return; // origin-form
  if (first === 0x2a && target.length === 1) {
    if (method === "OPTIONS") return;
    throw new HttpParseError(
      "SLUICE_ERR_HTTP_INVALID_TARGET",
      `Cannot accept target "*" with method ${method}`,
    );
  }
  if (!isAbsolute(target)) {
    throw new HttpParseError(
      "SLUICE_ERR_HTTP_INVALID_TARGET",
      `Cannot accept target "${target.slice(0, 64)}": neither origin-form nor absolute-form`,
    );
  }
}

/** scheme ":" hier-part: a scheme (ALPHA *(ALPHA / DIGIT / "+" / "-" / ".")) then "://". */
function isAbsolute(target: string): boolean {
  const colon = target.indexOf(":");
  if (colon < 1 || target.charCodeAt(colon + 1) !== 0x2f || target.charCodeAt(colon + 2) !== 0x2f) {
    return false;
  }
  for (let i = 0; i < colon; i++) {
    const c = target.charCodeAt(i) | 0x20;
    const alpha = c >= 0x61 && c <= 0x7a;
    if (!alpha && (i === 0 || !(isDigit(c) || c === 0x2b || c === 0x2d || c === 0x2e))) {
      return false;
    }
  }
  return true;
}

/** authority-form = uri-host ":" port (userinfo is not allowed). */
function isAuthority(target: string): boolean {
  const colon = target.lastIndexOf(":");
  if (colon < 1 || colon === target.length - 1) return false;
  for (let i = colon + 1; i < target.length; i++) if (!isDigit(target.charCodeAt(i))) return false;
  return isHost(target, 0, colon);
}

/**
 * Whether `s` is a valid `Host` value, `uri-host [":" port]` (RFC 9110 §7.2),
 * strict enough that `http://<host>/` is a valid URL for the WHATWG parser
 * too (what `new URL(req.url)` uses): a reg-name of RFC 3986 characters
 * without percent-encoding, a dotted-decimal IPv4 address (a name whose last
 * label is numeric must be one, as WHATWG reads it so), or a bracketed IPv6
 * address; a port of at most 5 digits up to 65535. Empty is valid (a request
 * whose target has no authority).
 */
export function isHost(s: string, start: number, end: number): boolean {
  if (start === end) return true;
  let hostEnd = end;
  if (s.charCodeAt(start) === 0x5b /* [ */) {
    const close = s.indexOf("]", start);
    if (close < 0 || close >= end || !isIPv6(s, start + 1, close)) return false;
    hostEnd = close + 1;
    if (hostEnd === end) return true;
    if (s.charCodeAt(hostEnd) !== 0x3a) return false;
    return isPort(s, hostEnd + 1, end);
  }
  const colon = s.lastIndexOf(":", end - 1);
  if (colon >= start) {
    if (!isPort(s, colon + 1, end)) return false;
    hostEnd = colon;
  }
  if (hostEnd === start) return false;
  let labelStart = start;
  for (let i = start; i < hostEnd; i++) {
    const c = s.charCodeAt(i);
    if (HOST[c] !== 1 || c === 0x3a || c === 0x5b || c === 0x5d || c === 0x25) return false;
    if (c === 0x2e && i + 1 < hostEnd) labelStart = i + 1;
  }
  // WHATWG parses a host whose last label starts with a digit as IPv4.
  if (isDigit(s.charCodeAt(labelStart))) return isIPv4(s, start, hostEnd);
  return true;
}

function isHex(c: number): boolean {
  return isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

/** An IPv6 address (RFC 4291 text form: hex groups, one `::` at most, an IPv4 tail). */
function isIPv6(s: string, start: number, end: number): boolean {
  let groups = 0;
  let compressed = false;
  let i = start;
  if (s.startsWith("::", i)) {
    compressed = true;
    i += 2;
    if (i === end) return true;
  } else if (s.charCodeAt(i) === 0x3a) return false;
  while (i < end) {
    const from = i;
    while (i < end && isHex(s.charCodeAt(i))) i++;
    if (i < end && s.charCodeAt(i) === 0x2e) {
      // An IPv4 tail takes the last two groups.
      if (!isIPv4(s, from, end) || s.charCodeAt(end - 1) === 0x2e) return false;
      groups += 2;
      break;
    }
    const len = i - from;
    if (len === 0 || len > 4) return false;
    groups++;
    if (i === end) break;
    if (s.charCodeAt(i) !== 0x3a) return false;
    i++;
    if (s.charCodeAt(i) === 0x3a) {
      if (compressed) return false;
      compressed = true;
      i++;
      if (i === end) break;
    } else if (i === end) return false;
  }
  return compressed ? groups < 8 : groups === 8;
}

/** `*DIGIT` of at most 5 digits, up to 65535 (empty is allowed, as RFC 3986 does). */
function isPort(s: string, start: number, end: number): boolean {
  if (end - start > 5) return false;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return false;
    n = n * 10 + c - 0x30;
  }
  return n <= 65535;
}

/** Four dot-separated decimal numbers 0–255 (a trailing dot allowed), no leading zeros. */
function isIPv4(s: string, start: number, end: number): boolean {
  if (s.charCodeAt(end - 1) === 0x2e) end--;
  let parts = 0;
  let i = start;
  while (i <= end) {
    const from = i;
    let n = 0;
    while (i < end && isDigit(s.charCodeAt(i))) n = n * 10 + s.charCodeAt(i++) - 0x30;
    const len = i - from;
    if (len === 0 || len > 3 || n > 255 || (len > 1 && s.charCodeAt(from) === 0x30)) return false;
    parts++;
    if (i === end) break;
    if (s.charCodeAt(i) !== 0x2e) return false;
    i++;
  }
  return parts === 4;
}

/** The error for a status line whose code is not SP and three digits 100–999: names the char or the code. */
function statusCodeError(s: string): HttpParseError {
  const code = "SLUICE_ERR_HTTP_INVALID_STATUS_LINE";
  if (s.charCodeAt(8) !== SP) return charError(s, 8, code, "status line (status code)");
  for (let i = 9; i < 12; i++) {
    if (!isDigit(s.charCodeAt(i))) return charError(s, i, code, "status line (status code)");
  }
  return new HttpParseError(
    code,
    `Cannot parse status line: status code ${s.slice(9, 12)} is not 100 to 999`,
  );
}

/** Parses `HTTP-version SP 3DIGIT SP [reason-phrase] CRLF` into {@linkcode statusLine}. */
export function parseStatusLine(s: string, exact: boolean): number {
  const minor = version(s, 0, "status line");
  const a = s.charCodeAt(9), b = s.charCodeAt(10), d = s.charCodeAt(11);
  if (s.charCodeAt(8) !== SP || !isDigit(a) || !isDigit(b) || !isDigit(d) || a === 0x30) {
    throw statusCodeError(s);
  }
  const status = (a - 0x30) * 100 + (b - 0x30) * 10 + (d - 0x30);
  let i = 12;
  let c = s.charCodeAt(i);
  let reason = "";
  if (c === SP) {
    const rs = ++i;
    // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
    for (;;) {
      c = s.charCodeAt(i);
      if (c === CR && s.charCodeAt(i + 1) === LF) break;
      if (c === 0x09 || (c >= 0x20 && c !== 0x7f && (c < 0x80 || exact) && c <= 0xff)) {
        i++;
        continue;
      }
      if (c >= 0x80 && !exact) throw NEEDS_EXACT_DECODE;
      throw charError(s, i, "SLUICE_ERR_HTTP_INVALID_STATUS_LINE", "reason phrase");
    }
    reason = s.slice(rs, i);
  } else if (c !== CR || s.charCodeAt(i + 1) !== LF) {
    throw charError(s, i, "SLUICE_ERR_HTTP_INVALID_STATUS_LINE", "status line");
  }
  statusLine.versionMinor = minor;
  statusLine.status = status;
  statusLine.reason = reason;
  return i + 2;
}
