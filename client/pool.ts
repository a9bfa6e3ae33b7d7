/**
 * The client's connection pool: {@linkcode Connector}, aiohttp's
 * `TCPConnector`. It keeps keep-alive connections per key (scheme, host,
 * port, TLS settings), within a total `limit` and a `limitPerHost`, reuses
 * the most recently used idle one, closes the ones past their keep-alive
 * time, and sends an idempotent request once more on a fresh connection when
 * a reused one turns out to have been closed by the server. Names resolve
 * through a DNS cache, addresses are raced (Happy Eyeballs), and a Unix
 * socket can replace TCP (`socketPath`).
 *
 * @module
 */

import { defaultClientTransport } from "../adapters/connect.ts";
import {
  ClientConnection,
  type ConnectionRequest,
  type ConnectionResponse,
} from "./_connection.ts";
import { ConnectionSlots, type Slot } from "./_slots.ts";
import {
  type ConnectorTlsOptions,
  mayRetry,
  type Target,
  targetOf,
  tlsFingerprint,
  type UrlParts,
  urlParts,
} from "./_pool_connect.ts";
import { Dialer, type DialTarget, notify } from "./_pool_dial.ts";
import { proxyHeaders, proxyKey, proxyTarget } from "./_proxy.ts";
import type { ProxyInfo } from "./proxy_env.ts";
import { IdleConnections } from "./_pool_idle.ts";
import { ClientError } from "./errors.ts";
import { type AbortSource, toAbortSignal } from "./timeouts.ts";

import type {
  ConnectorOptions,
  ConnectorStats,
  PoolObserver,
  PoolRequest,
  PoolRequestOptions,
  PoolResponse,
  PoolTimer,
} from "./_pool_types.ts";

export type {
  ConnectorOptions,
  ConnectorStats,
  ConnectorTlsOptions,
  PoolObserver,
  PoolRequest,
  PoolRequestOptions,
  PoolResponse,
  PoolTimer,
};

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
 * a sweep timer that does not keep the process alive. Host names are
 * resolved through a DNS cache (`ttlDnsCache`, default 10 s) and their
 * addresses raced RFC 8305-style (`happyEyeballsDelay`); with `socketPath`
 * every connection goes to that Unix socket instead.
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
  readonly #forceClose: boolean;
  readonly #dialer: Dialer;
  readonly #tls: ConnectorTlsOptions | undefined;
  /** {@linkcode tlsFingerprint} of `#tls`, computed once. */
  readonly #tlsKey: string;
  readonly #entries = new Map<ClientConnection, Entry>();
  readonly #idle: IdleConnections;
  #opened = 0;
  #closed = false;
  readonly #onIdle = (connection: ClientConnection): void => this.#idled(connection);
  /** Connections whose exchange ended since the last request (see `#settle`). */
  readonly #ended: ClientConnection[] = [];
  readonly #onEnded = (connection: ClientConnection): void => {
    this.#ended.push(connection);
  };

  /**
   * Creates a pool; nothing is opened before the first request.
   *
   * @param options Limits, keep-alive, transport, TLS, DNS and Unix socket settings.
   * @throws {RangeError} for a negative or fractional limit or timeout, a bad
   * `family`, `ttlDnsCache` or `happyEyeballsDelay`.
   * @throws {TypeError} for an empty `socketPath`.
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
    this.#idle = new IdleConnections(keepAlive);
    this.#forceClose = options.forceClose ?? false;
    this.#tls = options.tls;
    this.#tlsKey = tlsFingerprint(options.tls ?? {});
    this.#dialer = new Dialer(options, options.transport ?? defaultClientTransport());
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
    return keyOf(targetOf(url), tls === this.#tls ? this.#tlsKey : tlsFingerprint(tls ?? {}));
  }

  /**
   * Sends a request on a pooled connection (reused or new) and resolves at
   * the response head. A reused connection that the server had closed
   * (nothing came back) is replaced once for an idempotent request with a
   * replayable body.
   *
   * @param url The request URL (`http:` or `https:`).
   * @param request The method, fields and body.
   * @param options `signal` aborts the wait for a slot, the connect and the
   * exchange; `timer` is told when the `poolWait`, `connect` and `headers`
   * phases start and end; `trace` gets the connection and DNS events.
   * @returns The response head and its connection.
   * @throws {ClientConnectionError} when connecting fails (refused, reset, DNS).
   * @throws {ClientTlsError} when the TLS handshake fails.
   */
  request(
    url: URL,
    request: PoolRequest,
    options: PoolRequestOptions = {},
  ): Promise<PoolResponse> {
    if (this.#closed) return Promise.reject(poolClosed());
    const { signal, timer, trace } = options;
    const proxy = options.proxy ?? null;
    let target: DialTarget;
    let key: string;
    let outgoing: ConnectionRequest;
    try {
      const parts = urlParts(url);
      target = { hostname: parts.hostname, port: parts.port, secure: parts.secure, proxy };
      const direct = keyOf(target, this.#tlsKey);
      key = proxy === null ? direct : `${direct}|${proxyKey(proxy)}`;
      outgoing = this.#outgoing(url, parts, request, signal, proxy);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#settle();
    const got = this.#acquire(key, signal, timer, trace);
    if (!(got instanceof Promise)) {
      // The usual case: a free slot and an idle connection, no async frame on the way.
      const connection = this.#idle.take(key);
      if (connection !== undefined) {
        this.#entries.get(connection)!.slot = got;
        notify(trace, "connectionReuseconn", { key });
        return this.#exchange(connection, outgoing, timer).then(
          (response) => ({ response, connection, reused: true }),
          (error) => this.#retry(error, connection, true, target, key, request, outgoing, options),
        );
      }
    }
    return this.#requestSlow(got, target, key, request, outgoing, options);
  }

  /**
   * Forgets cached DNS answers: of one host, or of all hosts.
   *
   * @param host The host name to forget; all when omitted.
   */
  clearDnsCache(host?: string): void {
    this.#dialer.clearDnsCache(host);
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
      idle: this.#idle.count,
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
    }
    return Promise.all(this.#idle.clear().map((c) => c.close())).then(() => {});
  }

  // ---- internals ----

  /**
   * {@linkcode Connector.request} once it has to wait for a slot or open a
   * connection; with `fresh` (the retry), a new connection is opened even
   * when an idle one is there.
   */
  async #requestSlow(
    got: Slot | Promise<Slot>,
    target: DialTarget,
    key: string,
    request: PoolRequest,
    outgoing: ConnectionRequest,
    options: PoolRequestOptions,
    fresh = false,
  ): Promise<PoolResponse> {
    const { signal, timer, trace } = options;
    let slot: Slot | null = await got;
    try {
      if (this.#closed) throw poolClosed();
      let connection = fresh ? undefined : this.#idle.take(key);
      const reused = connection !== undefined;
      if (connection !== undefined) {
        this.#entries.get(connection)!.slot = slot;
        notify(trace, "connectionReuseconn", { key });
      } else {
        connection = await this.#open(target, key, slot, signal, timer, trace);
      }
      slot = null; // the connection holds it now
      let response;
      try {
        response = await this.#exchange(connection, outgoing, timer);
      } catch (error) {
        return await this.#retry(
          error,
          connection,
          reused,
          target,
          key,
          request,
          outgoing,
          options,
        );
      }
      return { response, connection, reused };
    } finally {
      slot?.release();
    }
  }

  /**
   * The exchange on `connection` failed: a reused connection that the server
   * had closed is replaced once, by a fresh one (which is not retried), for
   * an idempotent request with a replayable body; else the error stands.
   */
  #retry(
    error: unknown,
    connection: ClientConnection,
    reused: boolean,
    target: DialTarget,
    key: string,
    request: PoolRequest,
    outgoing: ConnectionRequest,
    options: PoolRequestOptions,
  ): Promise<PoolResponse> {
    this.#failed(connection);
    if (!reused || !mayRetry(error, request.method, request.body)) return Promise.reject(error);
    const { signal, timer, trace } = options;
    let got: Slot | Promise<Slot>;
    try {
      got = this.#detach(connection) ?? this.#acquire(key, signal, timer, trace);
    } catch (acquireError) {
      return Promise.reject(acquireError);
    }
    return this.#requestSlow(got, target, key, request, outgoing, options, true);
  }

  #outgoing(
    url: URL,
    parts: UrlParts,
    request: PoolRequest,
    signal: AbortSource | undefined,
    proxy: ProxyInfo | null,
  ): ConnectionRequest {
    // Through a proxy, plain http goes in absolute form with the proxy's credentials.
    const viaProxy = proxy !== null && !parts.secure;
    return {
      method: request.method,
      target: request.target ?? (viaProxy ? proxyTarget(url) : parts.path),
      headers: viaProxy ? [...request.headers, ...proxyHeaders(proxy)] : request.headers,
      host: parts.host,
      body: request.body,
      contentLength: request.contentLength,
      expect100: request.expect100,
      onChunkSent: request.onChunkSent,
      onHeadSent: request.onHeadSent,
      signal,
    };
  }

  /** A slot of `key`; the wait, if any, is reported to the timer and the observer. */
  #acquire(
    key: string,
    signal: AbortSource | undefined,
    timer: PoolTimer | undefined,
    trace: PoolObserver | undefined,
  ): Slot | Promise<Slot> {
    const got = this.#slots.acquire(key, signal);
    if (!(got instanceof Promise) || this.#slots.closed || signal?.aborted) return got;
    timer?.start("poolWait");
    notify(trace, "connectionQueuedStart", { key });
    return got.finally(() => {
      timer?.end("poolWait");
      notify(trace, "connectionQueuedEnd", { key });
    });
  }

  /** Sends the request on `connection`, timing the `headers` phase. */
  #exchange(
    connection: ClientConnection,
    outgoing: ConnectionRequest,
    timer: PoolTimer | undefined,
  ): Promise<ConnectionResponse> {
    if (timer === undefined || timer.hasTimeout?.("headers") === false) {
      return connection.request(outgoing);
    }
    timer.start("headers");
    return connection.request(outgoing).finally(() => timer.end("headers"));
  }

  /**
   * Connections whose exchange just ended are idled now rather than one
   * microtask later, so a request sent right after a body was read reuses
   * one instead of opening another socket.
   */
  #settle(): void {
    const ended = this.#ended;
    if (ended.length === 0) return;
    for (let i = 0; i < ended.length; i++) {
      if (ended[i].reusable) this.#idled(ended[i]);
    }
    ended.length = 0;
  }

  /** Opens a connection and hands it `slot` in the same turn it exists. */
  async #open(
    target: DialTarget,
    key: string,
    slot: Slot,
    signal: AbortSource | undefined,
    timer: PoolTimer | undefined,
    trace: PoolObserver | undefined,
  ): Promise<ClientConnection> {
    this.#evictForLimit();
    notify(trace, "connectionCreateStart", { key });
    timer?.start("connect");
    let conn;
    try {
      conn = await this.#dialer.dial(target, toAbortSignal(signal), trace);
    } finally {
      timer?.end("connect");
      notify(trace, "connectionCreateEnd", { key });
    }
    const connection = new ClientConnection(conn, { onIdle: this.#onIdle, onEnded: this.#onEnded });
    this.#opened++;
    this.#entries.set(connection, { key, slot });
    void connection.closed.then(() => this.#gone(connection));
    return connection;
  }

  /** The exchange ended and the connection can take another request. */
  #idled(connection: ClientConnection): void {
    const entry = this.#entries.get(connection);
    if (entry === undefined || entry.slot === null) return;
    if (this.#closed || this.#forceClose || this.#idle.expired(connection, Date.now())) {
      void connection.close(); // the slot goes when it is closed
      return;
    }
    const slot = entry.slot;
    entry.slot = null;
    this.#idle.push(entry.key, connection);
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
      this.#idle.remove(entry.key, connection);
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
    let open = this.#entries.size;
    while (open >= this.#slots.limit && this.#idle.count > 0) {
      const oldest = this.#idle.evictOldest()!;
      this.#entries.delete(oldest);
      open--;
      void oldest.close();
    }
  }
}

function poolClosed(): ClientError {
  return new ClientError(
    "SLUICE_ERR_CLIENT_POOL_CLOSED",
    "Cannot acquire a connection: the pool is closed",
  );
}

/** The pool key of a target: scheme, host, port and (for TLS) the settings' id. */
function keyOf(target: Target, tlsKey: string): string {
  const { hostname, port, secure } = target;
  return `${secure ? "https" : "http"}|${hostname}|${port}|${secure ? tlsKey : ""}`;
}
