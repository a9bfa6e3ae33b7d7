/**
 * IP address text, parsed and formatted without the runtime's help (so the
 * same rules hold on every runtime): the trusted-proxy ranges of the server
 * and the `NO_PROXY` ranges of the client.
 *
 * @module
 */

/** An IP address as eight 16-bit groups; IPv4 is held IPv4-mapped (`::ffff:a.b.c.d`). */
export type Ip = number[];

/** The IPv4 address `a.b.c.d`, mapped into IPv6. */
export function mapped(a: number, b: number, c: number, d: number): Ip {
  return [0, 0, 0, 0, 0, 0xffff, (a << 8) | b, (c << 8) | d];
}

/** Whether `ip` is IPv4-mapped (`::ffff:a.b.c.d`), i.e. an IPv4 address. */
export function isMapped(ip: Ip): boolean {
  return ip[0] === 0 && ip[1] === 0 && ip[2] === 0 && ip[3] === 0 && ip[4] === 0 &&
    ip[5] === 0xffff;
}

/** IPv4 or IPv6 text (no brackets, no zone) as eight groups, or `null`. */
export function parseIp(text: string): Ip | null {
  if (text.includes(":")) return parseIPv6(text);
  const v4 = parseIPv4(text);
  return v4 === null ? null : mapped(v4[0], v4[1], v4[2], v4[3]);
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Dotted-quad IPv4 as four bytes (no leading zeros, which some parsers read as octal), or `null`. */
export function parseIPv4(text: string): number[] | null {
  const match = IPV4.exec(text);
  if (match === null) return null;
  const out: number[] = [];
  for (let k = 1; k <= 4; k++) {
    const part = match[k];
    if (part.length > 1 && part[0] === "0") return null;
    const byte = Number(part);
    if (byte > 255) return null;
    out.push(byte);
  }
  return out;
}

const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** IPv6 text (`::` and a trailing dotted IPv4 allowed; no brackets, no zone) as eight groups, or `null`. */
export function parseIPv6(text: string): Ip | null {
  if (text.length < 2 || text.length > 45) return null;
  const gap = text.indexOf("::");
  if (gap !== -1 && text.indexOf("::", gap + 1) !== -1) return null;
  const head = gap === -1 ? text : text.slice(0, gap);
  const tail = gap === -1 ? "" : text.slice(gap + 2);
  const left = head === "" ? [] : groups(head, gap === -1);
  const right = tail === "" ? [] : groups(tail, true);
  if (left === null || right === null) return null;
  const missing = 8 - left.length - right.length;
  if (gap === -1 ? missing !== 0 : missing < 1) return null;
  return [...left, ...new Array<number>(gap === -1 ? 0 : missing).fill(0), ...right];
}

/** Colon-separated hex groups; the last may be a dotted IPv4 (two groups) when `last`. */
function groups(text: string, last: boolean): number[] | null {
  const parts = text.split(":");
  const out: number[] = [];
  for (let k = 0; k < parts.length; k++) {
    const part = parts[k];
    if (HEX_GROUP.test(part)) out.push(parseInt(part, 16));
    else if (last && k === parts.length - 1 && part.includes(".")) {
      const v4 = parseIPv4(part);
      if (v4 === null) return null;
      out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else return null;
  }
  return out;
}

/** Whether the first `prefix` bits (0 to 128) of `ip` and `base` are equal. */
export function inRange(ip: Ip, base: Ip, prefix: number): boolean {
  for (let i = 0, left = prefix; left > 0; i++, left -= 16) {
    const mask = left >= 16 ? 0xffff : (0xffff << (16 - left)) & 0xffff;
    if (((ip[i] ^ base[i]) & mask) !== 0) return false;
  }
  return true;
}

/** The dotted-quad text of an IPv4-mapped `ip`. */
export function formatIPv4(ip: Ip): string {
  return `${ip[6] >> 8}.${ip[6] & 255}.${ip[7] >> 8}.${ip[7] & 255}`;
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run of two or more zero groups as `::`. */
export function formatIPv6(ip: Ip): string {
  let best = -1;
  let bestLength = 1;
  for (let k = 0; k < 8;) {
    if (ip[k] !== 0) {
      k++;
      continue;
    }
    let end = k;
    while (end < 8 && ip[end] === 0) end++;
    if (end - k > bestLength) {
      best = k;
      bestLength = end - k;
    }
    k = end;
  }
  const hex = ip.map((g) => g.toString(16));
  if (best === -1) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLength).join(":")}`;
}
