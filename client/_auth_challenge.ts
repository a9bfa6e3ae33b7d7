/**
 * Parsing `WWW-Authenticate` / `Proxy-Authenticate` challenges (RFC 9110
 * §11.6.1): several per field, auth-params with quoted strings, token68.
 *
 * @module
 */

/**
 * One challenge of a `WWW-Authenticate` (or `Proxy-Authenticate`) header:
 * the scheme (lower-cased), its parameters (names lower-cased, quoted strings
 * unescaped) or its token68.
 *
 * @example
 * ```ts
 * import { parseChallenges, type AuthChallenge } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const [c]: AuthChallenge[] = parseChallenges('Basic realm="x"');
 * assert.equal(c.params.realm, "x");
 * ```
 */
export interface AuthChallenge {
  /** The auth scheme, lower-cased (`"digest"`, `"basic"`, ...). */
  scheme: string;
  /** The auth-params, names lower-cased. */
  params: Record<string, string>;
  /** The token68 form, when the challenge has one instead of params. */
  token68?: string;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
const TOKEN68 = /[A-Za-z0-9\-._~+/]+=*/y;
const OWS = /[ \t]*/y;

function take(re: RegExp, text: string, pos: number): string | null {
  re.lastIndex = pos;
  const m = re.exec(text);
  return m === null ? null : m[0];
}

/**
 * Parses the challenges of `WWW-Authenticate` values (RFC 9110 §11.6.1):
 * several challenges per value, comma-separated params, quoted strings with
 * `\` escapes. Pass several header values as an array. Throws `TypeError` on
 * malformed input.
 *
 * @param header One header value or several.
 * @returns The challenges in order.
 *
 * @example
 * ```ts
 * import { parseChallenges } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const cs = parseChallenges('Digest realm="a, b", nonce="n", Basic realm="x"');
 * assert.deepEqual(cs.map((c) => c.scheme), ["digest", "basic"]);
 * assert.equal(cs[0].params.realm, "a, b");
 * ```
 */
export function parseChallenges(header: string | readonly string[]): AuthChallenge[] {
  const text = typeof header === "string" ? header : header.join(", ");
  const out: AuthChallenge[] = [];
  let pos = 0;
  let current: AuthChallenge | null = null;
  const fail = (): never => {
    throw new TypeError(`Cannot parse authentication challenge: unexpected input at ${pos}`);
  };
  const ows = (): void => {
    pos += take(OWS, text, pos)!.length;
  };
  const atItemEnd = (): boolean => pos >= text.length || text[pos] === ",";
  for (;;) {
    for (ows(); text[pos] === ","; ows()) pos++;
    if (pos >= text.length) break;
    const name = take(TOKEN, text, pos) ?? fail();
    pos += name.length;
    ows();
    if (text[pos] === "=") {
      if (current === null || current.token68 !== undefined) fail();
      pos++;
      ows();
      let value = "";
      if (text[pos] === '"') {
        for (pos++;; pos++) {
          if (pos >= text.length) fail();
          if (text[pos] === '"') break;
          if (text[pos] === "\\") pos++;
          if (pos >= text.length) fail();
          value += text[pos];
        }
        pos++;
      } else {
        value = take(TOKEN, text, pos) ?? fail();
        pos += value.length;
      }
      current!.params[name.toLowerCase()] = value;
      ows();
      if (!atItemEnd()) fail();
      continue;
    }
    current = { scheme: name.toLowerCase(), params: {} };
    out.push(current);
    if (atItemEnd()) continue;
    const t68 = take(TOKEN68, text, pos);
    if (t68 !== null) {
      const start = pos;
      pos += t68.length;
      ows();
      if (atItemEnd()) {
        current.token68 = t68;
        continue;
      }
      pos = start;
    }
    // Otherwise the first auth-param follows: a token then "=".
    const param = take(TOKEN, text, pos) ?? fail();
    if (take(OWS, text, pos + param.length) === null) fail();
    if (text[pos + param.length + take(OWS, text, pos + param.length)!.length] !== "=") fail();
  }
  return out;
}
