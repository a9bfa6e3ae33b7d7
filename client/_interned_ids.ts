/**
 * Short ids standing for long or secret strings in pool keys (TLS settings,
 * proxy credentials), so that a key is short and never holds a password.
 *
 * @module
 */

/**
 * Equal strings get equal ids, while they are remembered. At most `max`
 * strings are remembered (the oldest is forgotten first) and an id is never
 * given twice: a forgotten string comes back with a new id, so two different
 * strings never share one. (A client that rotates proxy credentials per
 * request must not keep every password it ever used.)
 */
export class InternedIds {
  readonly #ids = new Map<string, number>();
  readonly #max: number;
  #next = 1;

  constructor(max: number) {
    this.#max = max;
  }

  /** How many strings are remembered. */
  get size(): number {
    return this.#ids.size;
  }

  /** The id of `text`: the one it got before, while remembered, else a new one. */
  idOf(text: string): number {
    let id = this.#ids.get(text);
    if (id === undefined) {
      id = this.#next++;
      this.#ids.set(text, id);
      if (this.#ids.size > this.#max) this.#ids.delete(this.#ids.keys().next().value!);
    }
    return id;
  }
}
