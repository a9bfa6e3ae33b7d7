/**
 * The connector's idle keep-alive connections: per key, least recently used
 * first, expired after `keepAliveTimeout` (or the server's hint − 1 s) by a
 * sweep timer that does not keep the process alive.
 *
 * @module
 */

import type { ClientConnection } from "./_connection.ts";

/** Idle connections per pool key. */
export class IdleConnections {
  readonly #keepAliveTimeout: number;
  /**
   * Per key, least recently used first. A key's list stays when it empties
   * (no map churn per request); the sweep drops empty lists.
   */
  readonly #lists = new Map<string, ClientConnection[]>();
  #count = 0;
  #sweep: ReturnType<typeof setInterval> | null = null;

  constructor(keepAliveTimeout: number) {
    this.#keepAliveTimeout = keepAliveTimeout;
  }

  /** How many connections are idle. */
  get count(): number {
    return this.#count;
  }

  /** Whether `key` has an idle connection. */
  has(key: string): boolean {
    const list = this.#lists.get(key);
    return list !== undefined && list.length > 0;
  }

  /** Whether `connection` has been idle longer than it may be kept. */
  expired(connection: ClientConnection, now: number): boolean {
    const hint = connection.keepAliveHint;
    const keep = hint === null
      ? this.#keepAliveTimeout
      : Math.min(this.#keepAliveTimeout, hint - 1000);
    return now - connection.lastUsed >= keep;
  }

  /** Adds a connection that just became idle. */
  push(key: string, connection: ClientConnection): void {
    let list = this.#lists.get(key);
    if (list === undefined) this.#lists.set(key, list = []);
    list.push(connection);
    this.#count++;
    this.#startSweep();
  }

  /** The most recently used live idle connection of `key`; dead or expired ones are closed. */
  take(key: string): ClientConnection | undefined {
    const list = this.#lists.get(key);
    if (list === undefined || list.length === 0) return undefined;
    const now = Date.now();
    let found: ClientConnection | undefined;
    while (found === undefined && list.length > 0) {
      const connection = list.pop()!;
      this.#count--;
      if (connection.reusable && !this.expired(connection, now)) found = connection;
      else void connection.close();
    }
    return found;
  }

  /** Forgets an idle connection that closed; whether it was idle. */
  remove(key: string, connection: ClientConnection): boolean {
    const list = this.#lists.get(key);
    const at = list?.indexOf(connection) ?? -1;
    if (at < 0) return false;
    list!.splice(at, 1);
    this.#count--;
    return true;
  }

  /** Removes and returns the least recently used idle connection of any key. */
  evictOldest(): ClientConnection | undefined {
    let oldest: ClientConnection | undefined;
    let oldestKey = "";
    for (const [key, list] of this.#lists) {
      if (list.length === 0) continue;
      if (oldest === undefined || list[0].lastUsed < oldest.lastUsed) {
        oldest = list[0];
        oldestKey = key;
      }
    }
    if (oldest === undefined) return undefined;
    this.remove(oldestKey, oldest);
    return oldest;
  }

  /** Removes all idle connections (stopping the sweep) and returns them. */
  clear(): ClientConnection[] {
    const all = [...this.#lists.values()].flat();
    this.#lists.clear();
    this.#count = 0;
    this.#stopSweep();
    return all;
  }

  #startSweep(): void {
    if (this.#sweep !== null) return;
    const every = Math.min(1000, Math.max(25, this.#keepAliveTimeout / 2));
    this.#sweep = setInterval(() => this.#sweepIdle(), every);
    // Deno and Node: an idle pool's timer must not keep the process alive by itself.
    (this.#sweep as { unref?: () => void }).unref?.();
  }

  #stopSweep(): void {
    if (this.#sweep !== null) clearInterval(this.#sweep);
    this.#sweep = null;
  }

  #sweepIdle(): void {
    const now = Date.now();
    for (const [key, list] of this.#lists) {
      if (list.length === 0) {
        this.#lists.delete(key);
        continue;
      }
      const keep = list.filter((c) => c.reusable && !this.expired(c, now));
      if (keep.length === list.length) continue;
      for (const c of list) if (!keep.includes(c)) void c.close();
      this.#count -= list.length - keep.length;
      if (keep.length === 0) this.#lists.delete(key);
      else this.#lists.set(key, keep);
    }
    if (this.#count === 0) this.#stopSweep();
  }
}
