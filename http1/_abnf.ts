// Character classes of RFC 9110/9112 as lookup tables indexed by char code
// (0–255). One place for the grammar, like h11's _abnf.py.

function table(pred: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = pred(c) ? 1 : 0;
  return t;
}

const isAlnum = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** tchar (RFC 9110 §5.6.2): the characters of a token. */
export const TOKEN: Uint8Array = table((c) =>
  isAlnum(c) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c))
);

/**
 * field-vchar, SP and HTAB (RFC 9110 §5.5), obs-text included: what may appear
 * inside a field value. Everything else (NUL, CR, LF, other CTLs, DEL) is refused.
 */
export const FIELD_VALUE: Uint8Array = table((c) => c === 0x09 || (c >= 0x20 && c !== 0x7f));

/** Visible ASCII: what an origin-form or absolute-form request-target may hold. */
export const TARGET: Uint8Array = table((c) => c > 0x20 && c < 0x7f);

/** uri-host and port (RFC 3986 reg-name, IP-literal, IPv4) plus ":". */
export const HOST: Uint8Array = table((c) =>
  isAlnum(c) || "-._~%!$&'()*+,;=:[]".includes(String.fromCharCode(c))
);

/** qdtext (RFC 9110 §5.6.4) inside a quoted-string. */
export const QDTEXT: Uint8Array = table((c) =>
  c === 0x09 || c === 0x20 || c === 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) ||
  c >= 0x80
);

/** The value of each hex digit, or 255. */
export const HEX: Uint8Array = (() => {
  const t = new Uint8Array(256).fill(255);
  for (let c = 0; c < 10; c++) t[0x30 + c] = c;
  for (let c = 0; c < 6; c++) t[0x41 + c] = t[0x61 + c] = 10 + c;
  return t;
})();

const utf8 = new TextDecoder();

/**
 * Decodes the bytes with the native UTF-8 decoder: exact ISO-8859-1 when the
 * bytes are ASCII. Callers that meet a char ≥ 0x80 must call
 * {@linkcode latin1Exact} instead.
 */
export function asciiFast(bytes: Uint8Array, start: number, end: number): string {
  if (start === 0 && end === bytes.length) return utf8.decode(bytes);
  return utf8.decode(view(bytes, start, end - start));
}

/** Decodes bytes as ISO-8859-1 exactly (slow path for obs-text). */
export function latin1Exact(bytes: Uint8Array, start: number, end: number): string {
  let out = "";
  for (let i = start; i < end; i += 4096) {
    const part = bytes.subarray(i, Math.min(end, i + 4096));
    out += String.fromCharCode.apply(null, part as unknown as number[]);
  }
  return out;
}

/**
 * A view of `n` bytes at `pos`. `subarray`: as fast as a view made from
 * `.buffer` on today's V8, and on JavaScriptCore reading `.buffer` of a
 * small fresh array (each socket read on Bun) first moves its bytes into a
 * new `ArrayBuffer` (~0.6 µs).
 */
export function view(bytes: Uint8Array, pos: number, n: number): Uint8Array {
  return bytes.subarray(pos, pos + n);
}

/** HTAB and visible ASCII with SP: what a clean head holds besides CRLF. */
export const VALUE_ASCII: Uint8Array = new Uint8Array(256);
for (let c = 0x20; c < 0x7f; c++) VALUE_ASCII[c] = 1;
VALUE_ASCII[0x09] = 1;
