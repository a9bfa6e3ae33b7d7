/**
 * The connector's name resolution: a {@linkcode DnsCache} with a TTL whose
 * concurrent lookups of one host share one answer, and
 * {@linkcode happyEyeballs}, RFC 8305-style racing of a host's addresses.
 *
 * @module
 */

import type { ResolvedAddress, ResolveOptions } from "../adapters/resolve.ts";

export type { ResolvedAddress };

/** A name resolver: `resolveHost` of `adapters/resolve.ts`, or a stand-in in tests. */
export type Resolver = (hostname: string, options: ResolveOptions) => Promise<ResolvedAddress[]>;

/** Options of a {@linkcode DnsCache}. */
export interface DnsCacheOptions {
  /** Resolves a name. */
  resolver: Resolver;
  /** How long an answer is kept, in ms (`Infinity`: forever). */
  ttl: number;
  /** The clock, in ms (default `Date.now`); tests pass their own. */
  now?: () => number;
  /**
   * At most this many hosts (per family) are kept: a new one evicts the
   * oldest. Default {@linkcode DNS_CACHE_MAX_ENTRIES}.
   */
  maxEntries?: number;
}

/**
 * The default bound of a {@linkcode DnsCache}: a client that meets many
 * hosts (a crawler) keeps the latest ones, not every host it ever saw.
 */
export const DNS_CACHE_MAX_ENTRIES = 10_000;

/** What {@linkcode DnsCache.lookup} resolved with. */
export interface DnsAnswer {
  addresses: ResolvedAddress[];
  /** Whether the answer came from the cache (or a lookup already running). */
  hit: boolean;
}

interface CacheEntry {
  /** The answer, or the lookup running for it. */
  value: Promise<ResolvedAddress[]>;
  /** When the answer expires; `Infinity` while the lookup runs. */
  expires: number;
}

/**
 * Resolved addresses per host and family, kept for `ttl` ms. Concurrent
 * lookups of the same host share one resolver call; failures are not cached.
 * Expired answers are swept, oldest first, whenever a new host is looked
 * up, and at most `maxEntries` are kept.
 */
export class DnsCache {
  readonly #resolver: Resolver;
  readonly #ttl: number;
  readonly #now: () => number;
  readonly #max: number;
  /** In insertion order, which is also the order answers expire in. */
  readonly #entries = new Map<string, CacheEntry>();

  constructor(options: DnsCacheOptions) {
    this.#resolver = options.resolver;
    this.#ttl = options.ttl;
    this.#now = options.now ?? Date.now;
    this.#max = Math.max(1, options.maxEntries ?? DNS_CACHE_MAX_ENTRIES);
  }

  /** Hosts (and families) with an answer or a lookup in the cache. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Whether a live answer (or a running lookup) for `hostname` is cached.
   *
   * @param hostname The host name.
   * @param family The family asked for.
   */
  has(hostname: string, family: 0 | 4 | 6): boolean {
    const entry = this.#entries.get(`${family}|${hostname}`);
    return entry !== undefined && entry.expires > this.#now();
  }

  /**
   * The addresses of `hostname`, from the cache or the resolver.
   *
   * @param hostname The host name.
   * @param family The family asked for.
   * @param signal Stops this caller's wait (a shared lookup goes on for the others).
   * @param onMiss Called (before the lookup) when the cache has no live answer.
   */
  async lookup(
    hostname: string,
    family: 0 | 4 | 6,
    signal?: AbortSignal,
    onMiss?: () => void,
  ): Promise<DnsAnswer> {
    const key = `${family}|${hostname}`;
    let entry = this.#entries.get(key);
    if (entry !== undefined && entry.expires <= this.#now()) {
      this.#entries.delete(key);
      entry = undefined;
    }
    const hit = entry !== undefined;
    if (entry === undefined) {
      onMiss?.();
      const created: CacheEntry = {
        value: this.#resolver(hostname, { family }),
        expires: Infinity,
      };
      entry = created;
      this.#entries.set(key, created);
      this.#sweep();
      created.value.then(
        () => {
          if (this.#entries.get(key) === created) created.expires = this.#now() + this.#ttl;
        },
        () => {
          if (this.#entries.get(key) === created) this.#entries.delete(key);
        },
      );
    }
    return { addresses: await raceSignal(entry.value, signal), hit };
  }

  /**
   * Drops the oldest entries while there are too many, then the expired
   * ones from the oldest on (a lookup still running stops that sweep).
   */
  #sweep(): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries) {
      if (this.#entries.size <= this.#max && entry.expires > now) return;
      this.#entries.delete(key);
    }
  }

  /**
   * Forgets the answers of one host (all families), or of every host.
   *
   * @param hostname The host to forget; all when omitted.
   */
  clear(hostname?: string): void {
    if (hostname === undefined) {
      this.#entries.clear();
      return;
    }
    for (const family of [0, 4, 6]) this.#entries.delete(`${family}|${hostname}`);
  }
}

/** `promise`, or a rejection with `signal.reason` as soon as the signal fires. */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * The addresses in RFC 8305 order: families alternate, starting with the
 * family of the first address (the resolver's preference).
 */
export function interleave(addresses: readonly ResolvedAddress[]): ResolvedAddress[] {
  if (addresses.length < 2) return [...addresses];
  const first = addresses[0].family;
  const preferred = addresses.filter((a) => a.family === first);
  const other = addresses.filter((a) => a.family !== first);
  const out: ResolvedAddress[] = [];
  for (let i = 0; i < Math.max(preferred.length, other.length); i++) {
    if (i < preferred.length) out.push(preferred[i]);
    if (i < other.length) out.push(other[i]);
  }
  return out;
}

/**
 * Connects to the first address that answers, RFC 8305 style: attempts
 * start in {@linkcode interleave} order, each `delay` ms after the previous
 * one or as soon as it failed; the first success wins and the others are
 * aborted (a connection that still arrives is given to `dispose`). When all
 * fail, rejects with the first error; when `signal` fires, with its reason.
 *
 * @param addresses The resolved addresses (at least one).
 * @param connectOne Opens a connection to one address; must honour its signal.
 * @param delay Ms before the next attempt starts while one is pending.
 * @param signal Aborts every attempt.
 * @param dispose Closes a connection that lost the race.
 */
export function happyEyeballs<T>(
  addresses: readonly ResolvedAddress[],
  connectOne: (address: ResolvedAddress, signal: AbortSignal) => Promise<T>,
  delay: number,
  signal: AbortSignal | undefined,
  dispose: (value: T) => void,
): Promise<T> {
  const order = interleave(addresses);
  if (order.length === 0) {
    return Promise.reject(new TypeError("Cannot connect: no address to connect to"));
  }
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const attempts: AbortController[] = [];
    const errors: unknown[] = [];
    let next = 0;
    let pending = 0;
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (): void => {
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      for (const attempt of attempts) attempt.abort(new Error("Lost the connection race"));
    };
    const onAbort = (): void => {
      if (done) return;
      finish();
      reject(signal!.reason);
    };
    const start = (): void => {
      clearTimeout(timer);
      if (done || next >= order.length) return;
      const index = next++;
      const controller = new AbortController();
      attempts.push(controller);
      pending++;
      let attempt: Promise<T>;
      try {
        attempt = connectOne(order[index], controller.signal);
      } catch (error) {
        attempt = Promise.reject(error);
      }
      attempt.then(
        (value) => {
          pending--;
          if (done) {
            dispose(value);
            return;
          }
          finish();
          resolve(value);
        },
        (error: unknown) => {
          pending--;
          if (done) return;
          errors[index] = error;
          if (next < order.length) start();
          else if (pending === 0) {
            finish();
            reject(errors.find((e) => e !== undefined) ?? error);
          }
        },
      );
      if (next < order.length) timer = setTimeout(start, delay);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    start();
  });
}
