/**
 * The base class of every error Sluice throws on purpose.
 *
 * Each error carries a stable `code` (`"SLUICE_ERR_..."`, listed in
 * `docs/errors.md`). `instanceof SluiceError` works even when two copies of
 * the package are loaded, because the check uses a registered symbol rather
 * than the prototype chain alone.
 *
 * @module
 */

const SLUICE_ERROR = Symbol.for("sluice.error");

/**
 * Base class of Sluice's typed errors.
 *
 * @example Catch any Sluice error and read its code
 * ```ts
 * import { SluiceError } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const err = new SluiceError("SLUICE_ERR_EXAMPLE", "Cannot do it: reason");
 * assert.ok(err instanceof SluiceError);
 * assert.equal(err.code, "SLUICE_ERR_EXAMPLE");
 * ```
 */
export class SluiceError extends Error {
  /** Stable machine-readable code, e.g. `"SLUICE_ERR_HTTP_INVALID_METHOD"`. */
  readonly code: string;

  /**
   * Creates an error with a stable code.
   *
   * @param code The stable error code.
   * @param message A human-readable message ("Cannot X: reason").
   * @param options Standard error options (`cause`).
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** Brand used by `instanceof` across duplicated package copies. */
  get [SLUICE_ERROR](): true {
    return true;
  }

  /**
   * `instanceof` that also recognises errors from another copy of Sluice.
   * Subclasses keep the ordinary prototype check.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === SluiceError) {
      return typeof value === "object" && value !== null &&
        (value as Record<symbol, unknown>)[SLUICE_ERROR] === true;
    }
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}
