/**
 * Trusted proxy headers: who the client is, and whether it came over HTTPS,
 * as the proxies in front of the server report it in `Forwarded` (RFC 7239)
 * or `X-Forwarded-For` / `-Proto` / `-Host`.
 *
 * Those headers are believed only from configured peers and only as far as
 * the configured number of hops: each proxy appends what it saw to the right,
 * so the rightmost entries are the ones trusted proxies wrote and anything to
 * their left may come from the client.
 *
 * One family of fields is read, chosen by `TrustProxyOptions.headers`:
 * `X-Forwarded-*` (the default, what nginx, HAProxy and most load balancers
 * send) or `Forwarded`. The other family is ignored, so a client cannot
 * slip its own `Forwarded` past a proxy that only sets `X-Forwarded-For`.
 *
 * @module
 */

import type { Address } from "../adapters/transport.ts";
import type { TrustProxyOptions } from "./types.ts";
import {
  formatIPv4,
  formatIPv6,
  inRange,
  type Ip,
  isMapped,
  mapped,
  parseIp,
  parseIPv6,
} from "../util/ip.ts";

export type { Address, TrustProxyOptions };

/**
 * What a request looks like after trusted proxy headers: the client's
 * address, whether the client used HTTPS, and the host it asked for (`null`
 * when no trusted proxy said).
 *
 * @example
 * ```ts
 * import type { ForwardedView } from "@sluice/http";
 *
 * const view: ForwardedView = {
 *   remoteAddress: { transport: "tcp", hostname: "203.0.113.7", port: 0, family: "IPv4" },
 *   secure: true,
 *   host: "example.com",
 * };
 * ```
 */
export interface ForwardedView {
  /** The client as the nearest trusted proxy reports it, else the socket's peer. */
  remoteAddress: Address;
  /** Whether the client spoke HTTPS (to the proxy), else whether the socket is TLS. */
  secure: boolean;
  /** The `Host` the client asked the proxy for (validated `host[:port]`), or `null`. */
  host: string | null;
}

interface Range {
  ip: Ip;
  prefix: number;
}

interface Trust {
  hops: number;
  /** `null`: any peer. */
  ranges: Range[] | null;
  unix: boolean;
  /** Read RFC 7239 `Forwarded` (else `X-Forwarded-*`). */
  forwarded: boolean;
}

const LOOPBACK: Range[] = [
  { ip: mapped(127, 0, 0, 0), prefix: 104 },
  { ip: [0, 0, 0, 0, 0, 0, 0, 1], prefix: 128 },
];
const PRIVATE: Range[] = [
  { ip: mapped(10, 0, 0, 0), prefix: 104 },
  { ip: mapped(172, 16, 0, 0), prefix: 108 },
  { ip: mapped(192, 168, 0, 0), prefix: 112 },
  { ip: [0xfc00, 0, 0, 0, 0, 0, 0, 0], prefix: 7 },
];

const compiled = new WeakMap<TrustProxyOptions, Trust>();
const TRUST_ANY: Trust = { hops: 1, ranges: null, unix: true, forwarded: false };

/**
 * Checks proxy trust settings and prepares them for
 * {@linkcode resolveForwarded}. Servers call it once when they start, so a
 * mistake fails there rather than on the first request. The result is
 * cached per options object: change a copy, not the object in use.
 *
 * @param trust The `trustProxy` server option.
 * @throws {RangeError} When `hops` is not a positive integer.
 * @throws {TypeError} When an entry of `from` is not an IP address, a
 *   `address/prefix` range, `"loopback"`, `"private"` or `"unix"`.
 *
 * @example A typo fails at startup
 * ```ts
 * import { validateTrustProxy } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * validateTrustProxy({ hops: 1, from: ["loopback", "10.0.0.0/8"] });
 * assert.throws(() => validateTrustProxy({ from: ["localhost"] }), TypeError);
 * ```
 */
export function validateTrustProxy(trust: TrustProxyOptions | boolean | undefined): void {
  if (typeof trust === "object" && trust !== null) compile(trust);
}

function compile(trust: TrustProxyOptions): Trust {
  const cached = compiled.get(trust);
  if (cached) return cached;
  const hops = trust.hops ?? 1;
  if (!Number.isSafeInteger(hops) || hops < 1) {
    throw new RangeError(`Cannot trust proxies: hops must be a positive integer, got ${hops}`);
  }
  let ranges: Range[] | null = null;
  let unix = trust.from === undefined;
  if (trust.from !== undefined) {
    ranges = [];
    for (const entry of trust.from) {
      if (entry === "unix") unix = true;
      else if (entry === "loopback") ranges.push(...LOOPBACK);
      else if (entry === "private") ranges.push(...PRIVATE);
      else ranges.push(parseRange(entry));
    }
  }
  const headers = trust.headers ?? "x-forwarded";
  if (headers !== "x-forwarded" && headers !== "forwarded") {
    throw new TypeError(
      `Cannot trust proxies: headers must be "x-forwarded" or "forwarded", got ${
        JSON.stringify(headers)
      }`,
    );
  }
  const result = { hops, ranges, unix, forwarded: headers === "forwarded" };
  compiled.set(trust, result);
  return result;
}

function parseRange(entry: string): Range {
  const slash = typeof entry === "string" ? entry.indexOf("/") : -1;
  const ip = typeof entry === "string"
    ? parseIp(slash === -1 ? entry : entry.slice(0, slash))
    : null;
  let prefix = 128;
  if (ip !== null && slash !== -1) {
    const bits = entry.slice(slash + 1);
    const v4 = !entry.slice(0, slash).includes(":");
    prefix = !/^\d{1,3}$/.test(bits) || Number(bits) > (v4 ? 32 : 128)
      ? -1
      : Number(bits) + (v4 ? 96 : 0);
  }
  if (ip === null || prefix < 0) {
    throw new TypeError(
      `Cannot trust proxy "${entry}": not an IP address, a range, "loopback", "private" or "unix"`,
    );
  }
  return { ip, prefix };
}

/**
 * Applies trusted proxy headers to a request. Without `trust` (`undefined`
 * or `false`) it returns the socket's view unchanged. With it, and only when
 * the socket's peer is one of `trust.from` (any peer when `from` is not
 * given), it reads:
 *
 * - `Forwarded` (RFC 7239): the element `hops` places from the right (`1`:
 *   the last one, written by the nearest proxy), its `for`, `proto` and
 *   `host`; or, when there is no `Forwarded` field,
 * - `X-Forwarded-For`: the entry `hops` places from the right;
 *   `X-Forwarded-Proto` and `X-Forwarded-Host`: the rightmost entry (the
 *   nearest proxy's word).
 *
 * When the list is shorter than `hops`, its leftmost entry is used. A value
 * that is malformed, `unknown` or obfuscated (`_hidden`) leaves that part of
 * the socket's view as it is; hosts must be `host[:port]`. It never throws
 * on header values. The peer's IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`)
 * count as IPv4.
 *
 * @param header Reads one request header (case-insensitive); repeated fields joined with `", "`.
 * @param socket The socket's peer and whether the connection is TLS.
 * @param trust The `trustProxy` server option.
 * @returns The client's address, scheme and requested host.
 * @throws {RangeError | TypeError} When `trust` itself is invalid (see {@linkcode validateTrustProxy}).
 *
 * @example Behind one nginx on the same host
 * ```ts
 * import { resolveForwarded } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const headers = new Headers({
 *   "x-forwarded-for": "6.6.6.6, 203.0.113.7", // the client sent 6.6.6.6 itself
 *   "x-forwarded-proto": "https",
 * });
 * const view = resolveForwarded(
 *   (name) => headers.get(name),
 *   { remoteAddress: { transport: "tcp", hostname: "127.0.0.1", port: 50000, family: "IPv4" }, secure: false },
 *   { hops: 1, from: ["loopback"] },
 * );
 * assert.deepEqual(view.remoteAddress, { transport: "tcp", hostname: "203.0.113.7", port: 0, family: "IPv4" });
 * assert.equal(view.secure, true);
 * assert.equal(view.host, null);
 * ```
 */
export function resolveForwarded(
  header: (name: string) => string | null,
  socket: { remoteAddress: Address; secure: boolean },
  trust: TrustProxyOptions | boolean | undefined,
): ForwardedView {
  const view: ForwardedView = {
    remoteAddress: socket.remoteAddress,
    secure: socket.secure,
    host: null,
  };
  if (trust === undefined || trust === false) return view;
  const rules = trust === true ? TRUST_ANY : compile(trust);
  if (!trusted(socket.remoteAddress, rules)) return view;

  if (rules.forwarded) {
    const forwarded = header("forwarded");
    if (forwarded === null) return view;
    const element = pick(parseForwarded(forwarded), rules.hops);
    if (element === null || element.bad) return view;
    if (element.for !== undefined) {
      view.remoteAddress = parseNode(element.for) ?? view.remoteAddress;
    }
    if (element.proto !== undefined) view.secure = parseProto(element.proto) ?? view.secure;
    if (element.host !== undefined && validHost(element.host)) view.host = element.host;
    return view;
  }
  const forwardedFor = header("x-forwarded-for");
  if (forwardedFor !== null) {
    const entry = pick(list(forwardedFor), rules.hops);
    if (entry !== null) view.remoteAddress = parseNode(entry) ?? view.remoteAddress;
  }
  const proto = header("x-forwarded-proto");
  if (proto !== null) {
    const entry = pick(list(proto), 1);
    if (entry !== null) view.secure = parseProto(entry) ?? view.secure;
  }
  const host = header("x-forwarded-host");
  if (host !== null) {
    const entry = pick(list(host), 1);
    if (entry !== null && validHost(entry)) view.host = entry;
  }
  return view;
}

function trusted(peer: Address, rules: Trust): boolean {
  if (peer.transport === "unix") return rules.unix;
  if (rules.ranges === null) return true;
  const zone = peer.hostname.indexOf("%");
  const ip = parseIp(zone === -1 ? peer.hostname : peer.hostname.slice(0, zone));
  if (ip === null) return false;
  for (const range of rules.ranges) if (inRange(ip, range.ip, range.prefix)) return true;
  return false;
}

/** The entry `hops` places from the right (the leftmost when there are fewer), or `null`. */
function pick<T>(items: T[] | null, hops: number): T | null {
  if (items === null || items.length === 0) return null;
  return items[Math.max(0, items.length - hops)];
}

/** The non-empty, trimmed entries of a comma-separated field. */
function list(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(",")) {
    const entry = part.trim();
    if (entry !== "") out.push(entry);
  }
  return out;
}

function parseProto(value: string): boolean | null {
  const proto = value.toLowerCase();
  return proto === "https" ? true : proto === "http" ? false : null;
}

interface Element {
  for?: string;
  proto?: string;
  host?: string;
  bad: boolean;
}

const isOws = (c: string | undefined): boolean => c === " " || c === "\t";
const TCHAR = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * The elements of a `Forwarded` field, or `null` when its quoting is broken
 * (so where elements begin cannot be told). An element with a malformed or
 * repeated parameter is kept, marked `bad`, so that counting from the right
 * stays right.
 */
function parseForwarded(value: string): Element[] | null {
  const elements: Element[] = [];
  let element: Element = { bad: false };
  let empty = true;
  const n = value.length;
  let i = 0;
  for (;;) {
    while (i < n && isOws(value[i])) i++;
    if (i >= n || value[i] === ",") {
      if (!empty) elements.push(element);
      if (i >= n) return elements;
      element = { bad: false };
      empty = true;
      i++;
      continue;
    }
    empty = false;
    if (value[i] === ";") {
      i++;
      continue;
    }
    const eq = value.indexOf("=", i);
    const name = eq === -1 ? "" : value.slice(i, eq).toLowerCase();
    let end: number;
    let text: string | null = null;
    if (!TCHAR.test(name)) {
      element.bad = true;
      end = i;
    } else if (value[eq + 1] === '"') {
      let out = "";
      let j = eq + 2;
      for (; j < n && value[j] !== '"'; j++) out += value[j] === "\\" ? value[++j] ?? "" : value[j];
      if (j >= n) return null;
      text = out;
      end = j + 1;
    } else {
      end = eq + 1;
      while (end < n && !/[,; \t"]/.test(value[end])) end++;
      text = value.slice(eq + 1, end);
      if (text === "") element.bad = true;
    }
    i = end;
    while (i < n && isOws(value[i])) i++;
    if (i < n && value[i] !== "," && value[i] !== ";") {
      element.bad = true;
      i = skipJunk(value, i);
      if (i === -1) return null;
    }
    if (text !== null && (name === "for" || name === "proto" || name === "host")) {
      if (element[name] !== undefined) element.bad = true;
      element[name] = text;
    }
  }
}

/** The index of the next `,` or `;` outside quotes (or the end), or -1 when a quote is unclosed. */
function skipJunk(value: string, i: number): number {
  while (i < value.length && value[i] !== "," && value[i] !== ";") {
    if (value[i] === '"') {
      i++;
      while (i < value.length && value[i] !== '"') i += value[i] === "\\" ? 2 : 1;
      if (i >= value.length) return -1;
    }
    i++;
  }
  return i;
}

/**
 * A node (`1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]`, `[2001:db8::1]:80`, or
 * a bare `2001:db8::1`) as an address; `null` for `unknown`, obfuscated
 * names and anything malformed. An obfuscated port (`_p1`) reads as 0.
 */
function parseNode(node: string): Address | null {
  let host: string;
  let port = "";
  if (node.startsWith("[")) {
    const close = node.indexOf("]");
    if (close === -1) return null;
    host = node.slice(1, close);
    const rest = node.slice(close + 1);
    if (rest !== "") {
      if (rest.length < 2 || rest[0] !== ":") return null;
      port = rest.slice(1);
    }
    if (!host.includes(":")) return null;
  } else {
    const colon = node.indexOf(":");
    if (colon !== -1 && node.indexOf(":", colon + 1) === -1) {
      host = node.slice(0, colon);
      port = node.slice(colon + 1);
      if (port === "") return null;
    } else {
      host = node;
    }
  }
  const ip = parseIp(host);
  if (ip === null) return null;
  let portNumber = 0;
  if (/^\d{1,5}$/.test(port)) portNumber = Number(port);
  else if (port !== "" && !/^_[A-Za-z0-9._-]+$/.test(port)) return null;
  if (portNumber > 65535) return null;
  return isMapped(ip)
    ? { transport: "tcp", hostname: formatIPv4(ip), port: portNumber, family: "IPv4" }
    : { transport: "tcp", hostname: formatIPv6(ip), port: portNumber, family: "IPv6" };
}

const REG_NAME = /^[A-Za-z0-9._~-]{1,253}$/;

/** Whether `value` is `host[:port]` with a DNS-style name, an IPv4 address or a bracketed IPv6 one. */
function validHost(value: string): boolean {
  let host = value;
  let port: string | null = null;
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    if (close === -1 || parseIPv6(value.slice(1, close)) === null) return false;
    if (close + 1 < value.length) {
      if (value[close + 1] !== ":") return false;
      port = value.slice(close + 2);
    }
  } else {
    const colon = value.indexOf(":");
    if (colon !== -1) {
      host = value.slice(0, colon);
      port = value.slice(colon + 1);
    }
    if (!REG_NAME.test(host)) return false;
  }
  return port === null || (/^\d{1,5}$/.test(port) && Number(port) <= 65535);
}
