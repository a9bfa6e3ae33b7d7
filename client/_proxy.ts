/**
 * Helpers of the connector for HTTP proxies: the part of a pool key that
 * names the proxy, the absolute-form request-target and `Proxy-Authorization`
 * of plain `http:` requests through a proxy, and opening a connection through
 * one (a `CONNECT` tunnel for `https:` targets, done by the transport).
 *
 * @module
 */

import type { ClientTransport, Conn, ConnectTlsOptions } from "../adapters/connect.ts";
import { InternedIds } from "./_interned_ids.ts";
import type { ProxyInfo } from "./proxy_env.ts";

/** Interned credentials: equal credentials share an id, so a key never holds a password. */
const authIds = new InternedIds(1000);

/**
 * The part of a pool key that names a proxy: its scheme, host, port and
 * credentials (as an id), or `""` for a direct connection.
 *
 * @param proxy The proxy, or `null` when none.
 * @returns A short string, equal for equal proxies.
 *
 * @example
 * ```ts ignore
 * import { parseProxyUrl } from "./proxy_env.ts";
 * import { proxyKey } from "./_proxy.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(proxyKey(null), "");
 * assert.equal(proxyKey(parseProxyUrl("proxy.test:3128")), "http://proxy.test:3128");
 * ```
 */
export function proxyKey(proxy: ProxyInfo | null): string {
  if (proxy === null) return "";
  const { url, auth } = proxy;
  const base = `${url.protocol}//${url.hostname}:${proxyPort(url)}`;
  if (auth === null) return base;
  return `${base}#a${authIds.idOf(auth.encode())}`;
}

/** The port of a proxy URL, its scheme's default when none is written. */
export function proxyPort(url: URL): number {
  return url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
}

/** The host of a proxy URL without the brackets of an IPv6 literal. */
export function proxyHostname(url: URL): string {
  return url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * The absolute-form request-target of a plain `http:` request sent to a
 * proxy: scheme, host, port (when not the default), path and query; no
 * credentials and no fragment.
 *
 * @param url The request URL.
 * @returns E.g. `http://example.test:8080/path?q=1`.
 *
 * @example
 * ```ts ignore
 * import { proxyTarget } from "./_proxy.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(proxyTarget(new URL("http://u:p@example.test:8080/a?b=1#c")), "http://example.test:8080/a?b=1");
 * ```
 */
export function proxyTarget(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}${url.search}`;
}

/**
 * The header fields a proxy needs: `Proxy-Authorization` (Basic) when the
 * proxy URL carried credentials. Sent with `CONNECT`, or with each plain
 * `http:` request sent to the proxy.
 *
 * @param proxy The proxy.
 * @returns The fields, possibly none.
 *
 * @example
 * ```ts ignore
 * import { parseProxyUrl } from "./proxy_env.ts";
 * import { proxyHeaders } from "./_proxy.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(proxyHeaders(parseProxyUrl("http://user:pass@proxy.test:3128")), [
 *   ["proxy-authorization", "Basic dXNlcjpwYXNz"],
 * ]);
 * ```
 */
export function proxyHeaders(proxy: ProxyInfo): [string, string][] {
  return proxy.auth === null ? [] : [["proxy-authorization", proxy.auth.encode()]];
}

/**
 * Options of {@linkcode connectThroughProxy}.
 *
 * @example
 * ```ts ignore
 * import { parseProxyUrl } from "./proxy_env.ts";
 * import type { ProxyConnectOptions } from "./_proxy.ts";
 *
 * const options: ProxyConnectOptions = {
 *   proxy: parseProxyUrl("http://proxy.test:3128"),
 *   hostname: "example.test",
 *   port: 443,
 *   tls: { alpnProtocols: ["http/1.1"] },
 * };
 * ```
 */
export interface ProxyConnectOptions {
  /** The proxy to go through. */
  proxy: ProxyInfo;
  /** The target's host name (no brackets). */
  hostname: string;
  /** The target's port. */
  port: number;
  /** TLS to the target (an `https:` target, through a tunnel), or `undefined` for `http:`. */
  tls?: ConnectTlsOptions;
  /**
   * TLS to an `https:` proxy. Default: the target's `ca` and `insecure`
   * (no client certificate, no ALPN).
   */
  proxyTls?: ConnectTlsOptions;
  /**
   * The IP address to dial for the proxy, when the caller resolved its host
   * name (the connector does, through its DNS cache). Default: the proxy
   * URL's host, resolved by the transport. An `https:` proxy's certificate
   * is checked against the URL's host name either way.
   */
  proxyAddress?: string;
  /** Local IP address to connect from. */
  localAddress?: string;
  /** Aborts the connect (and the `CONNECT` exchange) in progress. */
  signal?: AbortSignal;
}

/**
 * Opens a connection through a proxy. For an `https:` target (`tls` given)
 * it asks the transport for a `CONNECT` tunnel with TLS to the target inside;
 * for an `http:` target it connects to the proxy itself (over TLS for an
 * `https:` proxy URL), and the requests then use {@linkcode proxyTarget} and
 * {@linkcode proxyHeaders}. Rejects with the transport's `ConnectError`
 * (`SLUICE_ERR_CONNECT_PROXY` with `status` when the proxy refuses the
 * tunnel, e.g. 407).
 *
 * @param transport The transport to dial with.
 * @param options The proxy, the target and the connect settings.
 * @returns The connection, not yet started.
 *
 * @example
 * ```ts ignore
 * import { defaultClientTransport } from "../adapters/connect.ts";
 * import { parseProxyUrl } from "./proxy_env.ts";
 * import { connectThroughProxy } from "./_proxy.ts";
 *
 * const conn = await connectThroughProxy(defaultClientTransport(), {
 *   proxy: parseProxyUrl("http://proxy.test:3128"),
 *   hostname: "example.test",
 *   port: 443,
 *   tls: {},
 * });
 * conn.destroy();
 * ```
 */
export function connectThroughProxy(
  transport: ClientTransport,
  options: ProxyConnectOptions,
): Promise<Conn> {
  const { proxy, tls, localAddress, signal } = options;
  const url = proxy.url;
  const name = proxyHostname(url);
  const dialled = options.proxyAddress ?? name;
  const port = proxyPort(url);
  let proxyTls = url.protocol !== "https:" ? undefined : options.proxyTls ?? {
    ...(tls?.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls?.insecure === undefined ? {} : { insecure: tls.insecure }),
  };
  if (proxyTls !== undefined && proxyTls.servername === undefined && dialled !== name) {
    // Dialling the resolved address: SNI and the certificate keep the name.
    proxyTls = { ...proxyTls, servername: name };
  }
  const common = {
    ...(localAddress === undefined ? {} : { localAddress }),
    ...(signal === undefined ? {} : { signal }),
  };
  if (tls === undefined) {
    return transport.connect({
      hostname: dialled,
      port,
      ...(proxyTls === undefined ? {} : { tls: proxyTls }),
      ...common,
    });
  }
  return transport.connect({
    hostname: options.hostname,
    port: options.port,
    tls,
    tunnel: {
      proxyHostname: dialled,
      proxyPort: port,
      ...(proxyTls === undefined ? {} : { proxyTls }),
      headers: proxyHeaders(proxy),
    },
    ...common,
  });
}
