/**
 * Client authentication: {@linkcode BasicAuth} (RFC 7617) and the
 * {@linkcode DigestAuth} state machine (RFC 7616), both pure (no I/O).
 *
 * @module
 */

import { type HashAlgorithm, hashHex } from "../adapters/hash.ts";
import { type AuthChallenge, parseChallenges } from "./_auth_challenge.ts";

export { type AuthChallenge, parseChallenges };

const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function percentDecode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TypeError(`Cannot read ${what} from URL: malformed percent-encoding`);
  }
}

/**
 * HTTP Basic credentials (RFC 7617), encoded as UTF-8.
 *
 * @example
 * ```ts
 * import { BasicAuth } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const auth = new BasicAuth("Aladdin", "open sesame");
 * assert.equal(auth.encode(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
 * assert.deepEqual(BasicAuth.decode(auth.encode()), auth);
 * ```
 */
export class BasicAuth {
  /** The user name (never contains `:`). */
  readonly login: string;
  /** The password (may be empty). */
  readonly password: string;

  /**
   * Creates Basic credentials. Throws `TypeError` when `login` holds a `:`,
   * which the encoding cannot carry.
   *
   * @param login The user name.
   * @param password The password (default empty).
   */
  constructor(login: string, password: string = "") {
    if (typeof login !== "string" || typeof password !== "string") {
      throw new TypeError("Cannot create BasicAuth: login and password must be strings");
    }
    if (login.includes(":")) {
      throw new TypeError('Cannot create BasicAuth: login must not contain ":"');
    }
    this.login = login;
    this.password = password;
  }

  /**
   * The `Authorization` header value.
   *
   * @returns `"Basic " + base64(utf8(login + ":" + password))`.
   *
   * @example
   * ```ts
   * import { BasicAuth } from "@sluice/http/client";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new BasicAuth("test", "123£").encode(), "Basic dGVzdDoxMjPCow==");
   * ```
   */
  encode(): string {
    return `Basic ${toBase64(encoder.encode(`${this.login}:${this.password}`))}`;
  }

  /**
   * Parses an `Authorization: Basic ...` value (scheme case-insensitive,
   * UTF-8). Throws `TypeError` when it is not valid Basic credentials.
   *
   * @param header The header value.
   * @returns The credentials.
   *
   * @example
   * ```ts
   * import { BasicAuth } from "@sluice/http/client";
   * import assert from "node:assert/strict";
   *
   * const auth = BasicAuth.decode("basic dXNlcjpwYTpzcw==");
   * assert.equal(auth.login, "user");
   * assert.equal(auth.password, "pa:ss");
   * ```
   */
  static decode(header: string): BasicAuth {
    const match = /^[ \t]*basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
    if (match === null || match[1].length % 4 === 1) {
      throw new TypeError("Cannot decode Basic credentials: malformed header");
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(fromBase64(match[1]));
    } catch {
      throw new TypeError("Cannot decode Basic credentials: invalid base64 or UTF-8");
    }
    const colon = text.indexOf(":");
    if (colon === -1) throw new TypeError('Cannot decode Basic credentials: no ":" separator');
    return new BasicAuth(text.slice(0, colon), text.slice(colon + 1));
  }

  /**
   * Reads `user:password@` from a URL, percent-decoded, or `null` when the URL
   * carries no user name and no password.
   *
   * @param url The URL.
   * @returns The credentials, or `null`.
   *
   * @example
   * ```ts
   * import { BasicAuth } from "@sluice/http/client";
   * import assert from "node:assert/strict";
   *
   * const auth = BasicAuth.fromUrl("http://j%40ne:p%3Ass@example.test/");
   * assert.equal(auth?.login, "j@ne");
   * assert.equal(auth?.password, "p:ss");
   * assert.equal(BasicAuth.fromUrl("http://example.test/"), null);
   * ```
   */
  static fromUrl(url: string | URL): BasicAuth | null {
    const parsed = typeof url === "string" ? new URL(url) : url;
    if (parsed.username === "" && parsed.password === "") return null;
    return new BasicAuth(
      percentDecode(parsed.username, "user name"),
      percentDecode(parsed.password, "password"),
    );
  }
}

/** A digest algorithm of RFC 7616 (and RFC 2617's MD5), `-sess` variants included. */
export type DigestAlgorithm =
  | "MD5"
  | "MD5-sess"
  | "SHA-256"
  | "SHA-256-sess"
  | "SHA-512-256"
  | "SHA-512-256-sess";

const HASHES: Record<string, HashAlgorithm> = {
  "MD5": "md5",
  "SHA-256": "sha256",
  "SHA-512-256": "sha512-256",
};

function hashName(base: string): HashAlgorithm | null {
  return HASHES[base] ?? null;
}

interface DigestState {
  realm: string;
  nonce: string;
  opaque: string | undefined;
  algorithm: DigestAlgorithm;
  hash: HashAlgorithm;
  sess: boolean;
  qop: "auth" | "auth-int" | null;
  userhash: boolean;
}

function acceptChallenge(c: AuthChallenge): DigestState | null {
  const { realm, nonce } = c.params;
  if (c.scheme !== "digest" || realm === undefined || nonce === undefined) return null;
  const given = c.params.algorithm ?? "MD5";
  const sess = /-sess$/i.test(given);
  const base = given.slice(0, sess ? -5 : undefined).toUpperCase();
  const hash = hashName(base);
  if (hash === null) return null;
  let qop: DigestState["qop"] = null;
  if (c.params.qop !== undefined) {
    const offered = c.params.qop.split(",").map((q) => q.trim().toLowerCase());
    if (offered.includes("auth")) qop = "auth";
    else if (offered.includes("auth-int")) qop = "auth-int";
    else return null;
  }
  return {
    realm,
    nonce,
    opaque: c.params.opaque,
    algorithm: `${base}${sess ? "-sess" : ""}` as DigestAlgorithm,
    hash,
    sess,
    qop,
    userhash: c.params.userhash?.toLowerCase() === "true",
  };
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}

function randomCnonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Options of {@linkcode DigestAuth}. */
export interface DigestAuthOptions {
  /** Makes the client nonce (default: 16 random bytes as hex); tests fix it. */
  cnonce?: () => string;
}

/**
 * HTTP Digest authentication (RFC 7616) as a pure state machine: feed it the
 * `WWW-Authenticate` of a 401 with {@linkcode DigestAuth.challenge}, then ask
 * {@linkcode DigestAuth.authorize} for the `Authorization` value of each
 * request. Algorithms MD5, SHA-256 and SHA-512-256,
 * each with `-sess`; qop `auth` (preferred) and `auth-int`, or none (RFC 2069);
 * `userhash`; `nc` counted per nonce; a fresh `cnonce` per request. Of several
 * challenges it takes the first it supports, as RFC 7616 §3.7 asks.
 *
 * `challenge()` answers whether a retry makes sense: yes for a first
 * challenge, for `stale=true` (new nonce, same credentials), or when the
 * previous challenge was never used; no when credentials were already sent
 * under a non-stale challenge (the server rejected them), so a client
 * middleware never loops on wrong passwords.
 *
 * @example The example of RFC 7616 §3.9.1
 * ```ts
 * import { DigestAuth } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const digest = new DigestAuth("Mufasa", "Circle of Life", {
 *   cnonce: () => "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
 * });
 * assert.ok(digest.challenge(
 *   'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, ' +
 *     'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", ' +
 *     'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
 * ));
 * const header = digest.authorize("GET", "/dir/index.html");
 * assert.match(header!, /response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"/);
 * ```
 */
export class DigestAuth {
  /** The user name. */
  readonly login: string;
  /** The password. */
  readonly password: string;
  #makeCnonce: () => string;
  #state: DigestState | null = null;
  #nc = 0;

  /**
   * Creates digest credentials; no challenge yet.
   *
   * @param login The user name.
   * @param password The password.
   * @param options A `cnonce` maker, for tests.
   */
  constructor(login: string, password: string, options: DigestAuthOptions = {}) {
    if (typeof login !== "string" || typeof password !== "string") {
      throw new TypeError("Cannot create DigestAuth: login and password must be strings");
    }
    this.login = login;
    this.password = password;
    this.#makeCnonce = options.cnonce ?? randomCnonce;
  }

  /** The algorithm of the accepted challenge, or `null` before one. */
  get algorithm(): DigestAlgorithm | null {
    return this.#state?.algorithm ?? null;
  }

  /** The quality of protection of the accepted challenge (`null`: none, or no challenge yet). */
  get qop(): "auth" | "auth-int" | null {
    return this.#state?.qop ?? null;
  }

  /** How many requests were authorized under the current nonce. */
  get nonceCount(): number {
    return this.#nc;
  }

  /**
   * Takes the challenges of a 401's `WWW-Authenticate` (one value or all).
   *
   * @param header The header value(s).
   * @returns Whether to retry the request with {@linkcode DigestAuth.authorize}.
   */
  challenge(header: string | readonly string[]): boolean {
    let challenges: AuthChallenge[];
    try {
      challenges = parseChallenges(header);
    } catch {
      return false;
    }
    for (const c of challenges) {
      const state = acceptChallenge(c);
      if (state === null) continue;
      const stale = c.params.stale?.toLowerCase() === "true";
      if (this.#state !== null && this.#nc > 0 && !stale) return false;
      this.#state = state;
      this.#nc = 0;
      return true;
    }
    return false;
  }

  /**
   * Forgets the accepted challenge, so that the next
   * {@linkcode DigestAuth.challenge} is taken even when it is not `stale`
   * (a server that lost its nonces, e.g. after a restart, sends a fresh
   * challenge without `stale=true`). {@linkcode DigestAuth.authorize}
   * returns `null` until then.
   *
   * @example
   * ```ts
   * import { DigestAuth } from "./auth.ts";
   * import assert from "node:assert/strict";
   *
   * const digest = new DigestAuth("user", "secret");
   * assert.equal(digest.challenge('Digest realm="r", nonce="n1", qop="auth"'), true);
   * digest.authorize("GET", "/");
   * // A new nonce, not marked stale: refused (the credentials may be wrong)…
   * assert.equal(digest.challenge('Digest realm="r", nonce="n2", qop="auth"'), false);
   * // …unless the caller decides to start over.
   * digest.reset();
   * assert.equal(digest.challenge('Digest realm="r", nonce="n2", qop="auth"'), true);
   * ```
   */
  reset(): void {
    this.#state = null;
    this.#nc = 0;
  }

  /**
   * The `Authorization` value for one request, counting `nc` up.
   *
   * @param method The request method.
   * @param uri The request-target as sent (`/path?query`).
   * @param body The request body, used only for qop `auth-int`.
   * @returns The header value, or `null` before any challenge.
   */
  authorize(method: string, uri: string, body: Uint8Array = new Uint8Array(0)): string | null {
    const s = this.#state;
    if (s === null) return null;
    const h = (data: string | Uint8Array): string => hashHex(s.hash, data);
    this.#nc++;
    const nc = this.#nc.toString(16).padStart(8, "0");
    const cnonce = this.#makeCnonce();
    let ha1 = h(`${this.login}:${s.realm}:${this.password}`);
    if (s.sess) ha1 = h(`${ha1}:${s.nonce}:${cnonce}`);
    const ha2 = s.qop === "auth-int" ? h(`${method}:${uri}:${h(body)}`) : h(`${method}:${uri}`);
    const response = s.qop === null
      ? h(`${ha1}:${s.nonce}:${ha2}`)
      : h(`${ha1}:${s.nonce}:${nc}:${cnonce}:${s.qop}:${ha2}`);
    const parts: string[] = [];
    if (s.userhash) parts.push(`username=${quote(h(`${this.login}:${s.realm}`))}`);
    else if (/^[\x20-\x7e]*$/.test(this.login)) parts.push(`username=${quote(this.login)}`);
    else parts.push(`username*=UTF-8''${encodeURIComponent(this.login)}`);
    parts.push(
      `realm=${quote(s.realm)}`,
      `uri=${quote(uri)}`,
      `algorithm=${s.algorithm}`,
      `nonce=${quote(s.nonce)}`,
    );
    if (s.qop !== null) parts.push(`nc=${nc}`, `cnonce=${quote(cnonce)}`, `qop=${s.qop}`);
    parts.push(`response=${quote(response)}`);
    if (s.opaque !== undefined) parts.push(`opaque=${quote(s.opaque)}`);
    if (s.userhash) parts.push("userhash=true");
    return `Digest ${parts.join(", ")}`;
  }
}
