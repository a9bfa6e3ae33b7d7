/**
 * Message digests for the client (Digest authentication), through
 * `node:crypto`'s `createHash`, which Node, Deno and Bun all provide
 * (SHA-512/256 included). Kept here so that `client/` touches no runtime
 * module: Web Crypto's `subtle.digest` is asynchronous and lacks MD5 and
 * SHA-512/256.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** A digest algorithm {@linkcode hashHex} computes. */
export type HashAlgorithm = "md5" | "sha256" | "sha512-256";

const ALGORITHMS: ReadonlySet<string> = new Set(["md5", "sha256", "sha512-256"]);

/**
 * The digest of `data` as lower-case hex. Strings are hashed as UTF-8.
 * Throws `TypeError` for an algorithm outside {@linkcode HashAlgorithm}.
 *
 * @param algorithm `"md5"`, `"sha256"` or `"sha512-256"`.
 * @param data The text (UTF-8) or bytes to hash.
 * @returns The digest in lower-case hex.
 *
 * @example
 * ```ts
 * import { hashHex } from "./hash.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(hashHex("md5", "abc"), "900150983cd24fb0d6963f7d28e17f72");
 * ```
 */
export function hashHex(algorithm: HashAlgorithm, data: string | Uint8Array): string {
  if (!ALGORITHMS.has(algorithm)) {
    throw new TypeError(`Cannot hash: unknown algorithm "${String(algorithm)}"`);
  }
  return createHash(algorithm).update(data).digest("hex");
}
