/**
 * Typed application state, as aiohttp 3.9's `AppKey`: a key carries the type
 * of its value, so `state.get(key)` is typed without casts.
 *
 * @module
 */

/**
 * A typed key of {@linkcode AppState}. Keys are compared by identity: two
 * keys with the same name are different keys.
 *
 * @example
 * ```ts
 * import { AppKey, AppState } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const DB = new AppKey<{ query(sql: string): string }>("db");
 * const state = new AppState();
 * state.set(DB, { query: (sql) => `ran ${sql}` });
 * assert.equal(state.get(DB).query("select 1"), "ran select 1");
 * ```
 */
export class AppKey<T> {
  /** The name, for messages. */
  readonly name: string;
  /** Carries the value type (never set at run time). */
  declare readonly _type?: T;

  /**
   * Creates a key.
   *
   * @param name A name for error messages and debugging.
   */
  constructor(name: string) {
    if (typeof name !== "string" || name === "") {
      throw new TypeError("Cannot make an AppKey: the name must be a non-empty string");
    }
    this.name = name;
  }

  /** `AppKey(name)`. */
  toString(): string {
    return `AppKey(${this.name})`;
  }
}

/**
 * Shared objects of an application (a database pool, settings), by
 * {@linkcode AppKey}. `get()` of a missing key throws, `maybe()` returns
 * `undefined`; `freeze()` (done at startup) makes further `set()`/`delete()`
 * throw, as aiohttp freezes an application once it runs.
 *
 * @example
 * ```ts
 * import { AppKey, AppState } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const COUNT = new AppKey<number>("count");
 * const state = new AppState();
 * assert.equal(state.maybe(COUNT), undefined);
 * state.set(COUNT, 1);
 * state.freeze();
 * assert.throws(() => state.set(COUNT, 2), TypeError);
 * ```
 */
export class AppState {
  readonly #values = new Map<AppKey<unknown>, unknown>();
  #frozen = false;

  /** The value of `key`; throws `TypeError` when it was never set. */
  get<T>(key: AppKey<T>): T {
    if (!this.#values.has(key)) throw new TypeError(`Cannot get ${key}: it was never set`);
    return this.#values.get(key) as T;
  }

  /** The value of `key`, or `undefined`. */
  maybe<T>(key: AppKey<T>): T | undefined {
    return this.#values.get(key) as T | undefined;
  }

  /** Whether `key` has a value. */
  has(key: AppKey<unknown>): boolean {
    return this.#values.has(key);
  }

  /** Sets `key`; throws `TypeError` once frozen, or when `key` is not an AppKey. */
  set<T>(key: AppKey<T>, value: T): this {
    if (!(key instanceof AppKey)) throw new TypeError("Cannot set state: the key is not an AppKey");
    if (this.#frozen) throw new TypeError(`Cannot set ${key}: the application is running`);
    this.#values.set(key, value);
    return this;
  }

  /** Removes `key`; throws `TypeError` once frozen. Returns whether it was there. */
  delete(key: AppKey<unknown>): boolean {
    if (this.#frozen) throw new TypeError(`Cannot delete ${key}: the application is running`);
    return this.#values.delete(key);
  }

  /** Refuses changes from now on. */
  freeze(): void {
    this.#frozen = true;
  }

  /** Whether {@linkcode AppState.freeze} was called. */
  get frozen(): boolean {
    return this.#frozen;
  }
}
