/**
 * How the connector opens a connection: resolve the host, or the proxy's
 * host (through the DNS cache), race its addresses (Happy Eyeballs), or dial
 * the connector's Unix socket; TLS keeps the URL's host name for SNI and
 * verification.
 *
 * @module
 */

import {
  type ClientTransport,
  type Conn,
  ConnectError,
  type ConnectTlsOptions,
} from "../adapters/connect.ts";
import { authorityOf } from "../adapters/_connect_node.ts";
import { resolveHost } from "../adapters/resolve.ts";
import { DnsCache, happyEyeballs, type ResolvedAddress, type Resolver } from "./_dns.ts";
import {
  type ConnectorTlsOptions,
  connectTls,
  mapConnectError,
  type Target,
} from "./_pool_connect.ts";
import type { ConnectorOptions, PoolObserver } from "./_pool_types.ts";
import { connectThroughProxy, proxyHostname, proxyPort } from "./_proxy.ts";
import type { ProxyInfo } from "./proxy_env.ts";

/** Where to connect: the URL's host, port and scheme, and the proxy to go through. */
export interface DialTarget extends Target {
  /** The proxy, or `null` for a direct connection. */
  proxy: ProxyInfo | null;
}

/**
 * Calls one observer callback; what it throws is ignored (tracing must not
 * break a request).
 */
export function notify<K extends keyof PoolObserver>(
  trace: PoolObserver | undefined,
  name: K,
  event: Parameters<NonNullable<PoolObserver[K]>>[0],
): void {
  const callback = trace?.[name] as ((event: unknown) => void) | undefined;
  if (callback === undefined) return;
  try {
    callback.call(trace, event);
  } catch {
    // An observer's failure is its own.
  }
}

/** The family of an IP literal as the URL parser writes it (no brackets), or 0 for a name. */
export function ipFamily(hostname: string): 0 | 4 | 6 {
  if (hostname.includes(":")) return 6;
  return /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) ? 4 : 0;
}

function nonNegative(name: string, value: number): number {
  if (typeof value !== "number" || !(value >= 0)) {
    throw new RangeError(
      `Cannot create connector: ${name} must be a non-negative number, got ${String(value)}`,
    );
  }
  return value;
}

/** Opens the transport connections of a connector. */
export class Dialer {
  readonly #transport: ClientTransport;
  readonly #tls: ConnectorTlsOptions | undefined;
  /** TLS to an `https:` proxy: the connector's `ca` and `insecure`, whatever the target. */
  readonly #proxyTls: ConnectTlsOptions;
  readonly #localAddress: string | undefined;
  readonly #socketPath: string | undefined;
  readonly #family: 0 | 4 | 6;
  readonly #delay: number;
  readonly #resolver: Resolver;
  readonly #cache: DnsCache | null;

  /**
   * @throws {RangeError} for a bad `ttlDnsCache`, `family` or `happyEyeballsDelay`.
   * @throws {TypeError} for an empty `socketPath`.
   */
  constructor(options: ConnectorOptions, transport: ClientTransport) {
    this.#transport = transport;
    this.#tls = options.tls;
    const { ca, insecure } = options.tls ?? {};
    this.#proxyTls = {
      ...(ca === undefined ? {} : { ca }),
      ...(insecure === undefined ? {} : { insecure }),
    };
    this.#localAddress = options.localAddress;
    const { socketPath } = options;
    if (socketPath !== undefined && (typeof socketPath !== "string" || socketPath === "")) {
      throw new TypeError("Cannot create connector: socketPath must be a non-empty string");
    }
    this.#socketPath = socketPath;
    const family = options.family ?? 0;
    if (family !== 0 && family !== 4 && family !== 6) {
      throw new RangeError(`Cannot create connector: family must be 0, 4 or 6, got ${family}`);
    }
    this.#family = family;
    this.#delay = nonNegative("happyEyeballsDelay", options.happyEyeballsDelay ?? 250);
    const ttl = nonNegative("ttlDnsCache", options.ttlDnsCache ?? 10_000);
    this.#resolver = options.resolver ?? resolveHost;
    this.#cache = options.useDnsCache === false
      ? null
      : new DnsCache({ resolver: this.#resolver, ttl });
  }

  /** Forgets the cached addresses of `host`, or of all hosts. */
  clearDnsCache(host?: string): void {
    this.#cache?.clear(host);
  }

  /**
   * Opens a connection to `target` (TLS included when it is `https:`).
   *
   * @throws {ClientConnectionError} refused, reset, DNS; {ClientTlsError};
   * `signal.reason` when aborted.
   */
  async dial(
    target: DialTarget,
    signal: AbortSignal | undefined,
    trace?: PoolObserver,
  ): Promise<Conn> {
    const { hostname, port, secure, proxy } = target;
    const literal = ipFamily(hostname);
    const tls = secure
      ? { ...connectTls(this.#tls), ...(literal === 0 ? { servername: hostname } : {}) }
      : undefined;
    try {
      if (proxy !== null) return await this.#dialProxy(target, proxy, tls, signal, trace);
      if (this.#socketPath !== undefined) {
        return await this.#transport.connect({
          hostname,
          port,
          unix: this.#socketPath,
          tls,
          signal,
        });
      }
      const addresses: ResolvedAddress[] = literal === 0
        ? await this.#resolve(hostname, signal, trace)
        : [{ address: hostname, family: literal }];
      return await this.#race(addresses, signal, (address, attempt) =>
        this.#transport.connect({
          hostname: address.address,
          port,
          tls,
          localAddress: this.#localAddress,
          signal: attempt,
        }));
    } catch (error) {
      throw mapConnectError(error, target, signal);
    }
  }

  /**
   * Connects through `proxy`: its host name goes through the DNS cache and
   * its addresses are raced like an origin's; each attempt is a whole
   * {@linkcode connectThroughProxy} (the `CONNECT` exchange included).
   */
  async #dialProxy(
    target: DialTarget,
    proxy: ProxyInfo,
    tls: ConnectTlsOptions | undefined,
    signal: AbortSignal | undefined,
    trace: PoolObserver | undefined,
  ): Promise<Conn> {
    const name = proxyHostname(proxy.url);
    const literal = ipFamily(name);
    let addresses: ResolvedAddress[];
    try {
      addresses = literal === 0
        ? await this.#resolve(name, signal, trace)
        : [{ address: name, family: literal }];
    } catch (error) {
      if (!(error instanceof ConnectError) || error.code !== "SLUICE_ERR_CONNECT_DNS") throw error;
      // The resolver's message names only the proxy's host: say where to.
      const route = `${authorityOf(target.hostname, target.port)} through the proxy ${
        authorityOf(name, proxyPort(proxy.url))
      }`;
      const reason = error.message.replace(/^Cannot connect to [^:]*: /, "");
      throw new ConnectError(
        "SLUICE_ERR_CONNECT_DNS",
        `Cannot connect to ${route}: ${reason}`,
        { address: name, syscallCode: error.syscallCode, cause: error },
      );
    }
    return await this.#race(
      addresses,
      signal,
      (address, attempt) =>
        connectThroughProxy(this.#transport, {
          proxy,
          proxyAddress: address.address,
          hostname: target.hostname,
          port: target.port,
          tls,
          proxyTls: this.#proxyTls,
          localAddress: this.#localAddress,
          signal: attempt,
        }),
    );
  }

  /** Connects to the first address, or races them (Happy Eyeballs). */
  #race(
    addresses: ResolvedAddress[],
    signal: AbortSignal | undefined,
    connectOne: (address: ResolvedAddress, attempt: AbortSignal | undefined) => Promise<Conn>,
  ): Promise<Conn> {
    if (addresses.length === 1) return connectOne(addresses[0], signal);
    return happyEyeballs(addresses, connectOne, this.#delay, signal, (conn) => conn.destroy());
  }

  async #resolve(
    host: string,
    signal: AbortSignal | undefined,
    trace: PoolObserver | undefined,
  ): Promise<ResolvedAddress[]> {
    const cache = this.#cache;
    const hit = cache !== null && cache.has(host, this.#family);
    if (hit) {
      notify(trace, "dnsCacheHit", { host });
      return (await cache.lookup(host, this.#family, signal)).addresses;
    }
    if (cache !== null) notify(trace, "dnsCacheMiss", { host });
    notify(trace, "dnsResolveHostStart", { host });
    let addresses: ResolvedAddress[] = [];
    try {
      addresses = cache !== null
        ? (await cache.lookup(host, this.#family, signal)).addresses
        : await this.#resolver(host, { family: this.#family, signal });
      return addresses;
    } finally {
      notify(trace, "dnsResolveHostEnd", { host, addresses: addresses.map((a) => a.address) });
    }
  }
}
