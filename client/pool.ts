/**
 * The client's connection pool: {@linkcode Connector}, aiohttp's
 * `TCPConnector`. It keeps keep-alive connections per key (scheme, host,
 * port, TLS settings), within a total `limit` and a `limitPerHost`, reuses
 * the most recently used idle one, closes the ones past their keep-alive
 * time, and sends an idempotent request once more on a fresh connection when
 * a reused one turns out to have been closed by the server.
 *
 * @module
 */

import { type ClientTransport, defaultClientTransport } from "../adapters/connect.ts";
import { ClientConnection, type ConnectionRequest } from "./_connection.ts";
import { ConnectionSlots, type Slot } from "./_slots.ts";
import {
  type ConnectorTlsOptions,
  connectTls,
  mapConnectError,
  mayRetry,
  targetOf,
  tlsFingerprint,
} from "./_pool_connect.ts";
import { ClientError } from "./errors.ts";

import type { ConnectorOptions, ConnectorStats, PoolRequest, PoolResponse } from "./_pool_types.ts";

export type { ConnectorOptions, ConnectorStats, ConnectorTlsOptions, PoolRequest, PoolResponse };

interface Entry {
  key: string;
  /** The slot while in use; `null` while idle. */
  slot: Slot | null;
}

/**
 * The connection pool (aiohttp's `TCPConnector`). A slot of the limits is
 * held from the start of a request until its connection is idle again (the
 * body read or cancelled) or closed; it is released exactly once, whatever
 * happens. Idle connections are kept per key, most recently used first, and
 * closed once older than `keepAliveTimeout` (or the server's hint − 1 s) by
 * a sweep timer that does not keep the process alive.
 *
 * @example GET twice over one connection
 * ```ts ignore
 * import { Connector } from "./pool.ts";
 *
 * const connector = new Connector({ limit: 10 });
 * for (let i = 0; i < 2; i++) {
 *   const { response, reused } = await connector.request(new URL("http://127.0.0.1:8080/"), {
 *     method: "GET",
 *     headers: [],
 *   });
 *   console.log(response.status, await new Response(response.body).text(), reused);
 * }
 * await connector.close();
 * ```
 */
export class Connector {
  readonly #slots: ConnectionSlots;
  readonly #keepAliveTimeout: number;
  readonly #forceClose: boolean;
  readonly #transport: ClientTransport;
  readonly #tls: ConnectorTlsOptions | undefined;
  readonly #localAddress: string | undefined;
  readonly #entries = new Map<ClientConnection, Entry>();
  /** Idle connections per key, least recently used first. */
  readonly #idle = new Map<string, ClientConnection[]>();
  #idleCount = 0;
  #opened = 0;
  #closed = false;
  #sweep: ReturnType<typeof setInterval> | null = null;
  readonly #onIdle = (connection: ClientConnection): void => this.#idled(connection);

  /**
   * Creates a pool; nothing is opened before the first request.
   *
   * @param options Limits, keep-alive, transport and TLS settings.
   * @throws {RangeError} for a negative or fractional limit or timeout.
   */
  constructor(options: ConnectorOptions = {}) {
    this.#slots = new ConnectionSlots({
      limit: options.limit ?? 100,
      limitPerHost: options.limitPerHost ?? 0,
    });
    const keepAlive = options.keepAliveTimeout ?? 15_000;
    if (typeof keepAlive !== "number" || !(keepAlive >= 0)) {
      throw new RangeError(
        `Cannot create connector: keepAliveTimeout must be a non-negative number, got ${
          String(keepAlive)
        }`,
      );
    }
    this.#keepAliveTimeout = keepAlive;
    this.#forceClose = options.forceClose ?? false;
    this.#transport = options.transport ?? defaultClientTransport();
    this.#tls = options.tls;
    this.#localAddress = options.localAddress;
  }

  /** Whether {@linkcode Connector.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The pool key of a URL: scheme, host, port and (for `https:`) the TLS
   * settings, e.g. `http|127.0.0.1|8080|`.
   *
   * @param url The request URL.
   * @param tls TLS settings (default: the connector's).
   * @returns The key connections are pooled and limited by.
   */
  key(url: URL, tls: ConnectorTlsOptions | undefined = this.#tls): string {
    const { hostname, port, secure } = targetOf(url);
    return `${secure ? "https" : "http"}|${hostname}|${port}|${
      secure ? tlsFingerprint(tls ?? {}) : ""
    }`;
  }

  /**
   * Sends a request on a pooled connection (reused or new) and resolves at
   * the response head. A reused connection that the server had closed
   * (nothing came back) is replaced once for an idempotent request with a
   * replayable body.
   *
   * @param url The request URL (`http:` or `https:`).
   * @param request The method, fields and body.
   * @param options `signal` aborts the wait for a slot, the connect and the exchange.
   * @returns The response head and its connection.
   * @throws {ClientConnectionError} when connecting fails (refused, reset, DNS).
   * @throws {ClientTlsError} when the TLS handshake fails.
   */
  async request(
    url: URL,
    request: PoolRequest,
    options: { signal?: AbortSignal } = {},
  ): Promise<PoolResponse> {
    if (this.#closed) throw poolClosed();
    const { signal } = options;
    const key = this.key(url);
    const outgoing = this.#outgoing(url, request, signal);
    let slot: Slot | null = await this.#slots.acquire(key, signal);
    try {
      if (this.#closed) throw poolClosed();
      let connection = this.#takeIdle(key);
      const reused = connection !== undefined;
      if (connection !== undefined) this.#entries.get(connection)!.slot = slot;
      else connection = await this.#open(url, key, slot, signal);
      slot = null; // the connection holds it now
      try {
        return { response: await connection.request(outgoing), connection, reused };
      } catch (error) {
        this.#failed(connection);
        if (!reused || !mayRetry(error, request.method, request.body)) throw error;
        slot = this.#detach(connection) ?? await this.#slots.acquire(key, signal);
      }
      if (this.#closed) throw poolClosed();
      connection = await this.#open(url, key, slot, signal);
      slot = null;
      try {
        return { response: await connection.request(outgoing), connection, reused: false };
      } catch (error) {
        this.#failed(connection);
        throw error;
      }
    } finally {
      slot?.release();
    }
  }

  /**
   * The connections in use, idle and open, and the waiting requests.
   *
   * @returns A fresh snapshot.
   */
  stats(): ConnectorStats {
    const slots = this.#slots.stats();
    return {
      inUse: slots.inUse,
      waiting: slots.waiting,
      idle: this.#idleCount,
      open: this.#entries.size,
      opened: this.#opened,
    };
  }

  /**
   * Closes the pool: idle connections now, the ones in use once their
   * exchange ends; waiting and later requests reject with
   * `SLUICE_ERR_CLIENT_POOL_CLOSED`. Idempotent.
   *
   * @returns Resolves once the idle connections are closed.
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#slots.close(poolClosed());
      this.#stopSweep();
    }
    const closing: Promise<void>[] = [];
    for (const list of this.#idle.values()) {
      for (const connection of list) closing.push(connection.close());
    }
    this.#idle.clear();
    this.#idleCount = 0;
    return Promise.all(closing).then(() => {});
  }

  // ---- internals ----

  #outgoing(url: URL, request: PoolRequest, signal: AbortSignal | undefined): ConnectionRequest {
    const headers = request.headers.some(([name]) => name.toLowerCase() === "host")
      ? request.headers
      : [["host", url.host] as const, ...request.headers];
    return {
      method: request.method,
      target: request.target ?? `${url.pathname}${url.search}`,
      headers,
      body: request.body,
      contentLength: request.contentLength,
      signal,
    };
  }

  /** Opens a connection and hands it `slot` in the same turn it exists. */
  async #open(
    url: URL,
    key: string,
    slot: Slot,
    signal: AbortSignal | undefined,
  ): Promise<ClientConnection> {
    this.#evictForLimit();
    const target = targetOf(url);
    let conn;
    try {
      conn = await this.#transport.connect({
        hostname: target.hostname,
        port: target.port,
        tls: target.secure ? connectTls(this.#tls) : undefined,
        localAddress: this.#localAddress,
        signal,
      });
    } catch (error) {
      throw mapConnectError(error, target, signal);
    }
    const connection = new ClientConnection(conn, { onIdle: this.#onIdle });
    this.#opened++;
    this.#entries.set(connection, { key, slot });
    void connection.closed.then(() => this.#gone(connection));
    return connection;
  }

  /** The most recently used live idle connection of `key`; dead or expired ones are closed. */
  #takeIdle(key: string): ClientConnection | undefined {
    const list = this.#idle.get(key);
    if (list === undefined) return undefined;
    const now = Date.now();
    let found: ClientConnection | undefined;
    while (found === undefined && list.length > 0) {
      const connection = list.pop()!;
      this.#idleCount--;
      if (connection.reusable && !this.#expired(connection, now)) found = connection;
      else void connection.close();
    }
    if (list.length === 0) this.#idle.delete(key);
    return found;
  }

  #expired(connection: ClientConnection, now: number): boolean {
    const hint = connection.keepAliveHint;
    const keep = hint === null
      ? this.#keepAliveTimeout
      : Math.min(this.#keepAliveTimeout, hint - 1000);
    return now - connection.lastUsed >= keep;
  }

  /** The exchange ended and the connection can take another request. */
  #idled(connection: ClientConnection): void {
    const entry = this.#entries.get(connection);
    if (entry === undefined || entry.slot === null) return;
    if (this.#closed || this.#forceClose || this.#expired(connection, Date.now())) {
      void connection.close(); // the slot goes when it is closed
      return;
    }
    const slot = entry.slot;
    entry.slot = null;
    let list = this.#idle.get(entry.key);
    if (list === undefined) this.#idle.set(entry.key, list = []);
    list.push(connection);
    this.#idleCount++;
    this.#startSweep();
    slot.release();
  }

  /** A request failed on `connection`: keep it if still usable, else close it. */
  #failed(connection: ClientConnection): void {
    if (connection.reusable) this.#idled(connection);
    else void connection.close();
  }

  /** Takes the slot back from a failed connection (for the retry), if it still holds it. */
  #detach(connection: ClientConnection): Slot | null {
    const entry = this.#entries.get(connection);
    if (entry === undefined) return null;
    const slot = entry.slot;
    entry.slot = null;
    return slot;
  }

  /** The transport connection closed: forget it and release its slot. */
  #gone(connection: ClientConnection): void {
    const entry = this.#entries.get(connection);
    if (entry === undefined) return;
    this.#entries.delete(connection);
    if (entry.slot === null) {
      const list = this.#idle.get(entry.key);
      const at = list?.indexOf(connection) ?? -1;
      if (at >= 0) {
        list!.splice(at, 1);
        this.#idleCount--;
        if (list!.length === 0) this.#idle.delete(entry.key);
      }
    } else {
      entry.slot.release();
      entry.slot = null;
    }
  }

  /**
   * Closes the least recently used idle connections (of any key) while the
   * open connections would exceed `limit` with one more.
   */
  #evictForLimit(): void {
    const limit = this.#slots.limit;
    let open = this.#entries.size;
    while (open >= limit && this.#idleCount > 0) {
      let oldest: ClientConnection | undefined;
      let oldestKey = "";
      for (const [key, list] of this.#idle) {
        if (oldest === undefined || list[0].lastUsed < oldest.lastUsed) {
          oldest = list[0];
          oldestKey = key;
        }
      }
      const list = this.#idle.get(oldestKey)!;
      list.shift();
      this.#idleCount--;
      if (list.length === 0) this.#idle.delete(oldestKey);
      this.#entries.delete(oldest!);
      open--;
      void oldest!.close();
    }
  }

  #startSweep(): void {
    if (this.#sweep !== null || this.#closed) return;
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
    for (const [key, list] of this.#idle) {
      const keep = list.filter((c) => c.reusable && !this.#expired(c, now));
      if (keep.length === list.length) continue;
      for (const c of list) if (!keep.includes(c)) void c.close();
      this.#idleCount -= list.length - keep.length;
      if (keep.length === 0) this.#idle.delete(key);
      else this.#idle.set(key, keep);
    }
    if (this.#idleCount === 0) this.#stopSweep();
  }
}

function poolClosed(): ClientError {
  return new ClientError(
    "SLUICE_ERR_CLIENT_POOL_CLOSED",
    "Cannot acquire a connection: the pool is closed",
  );
}
