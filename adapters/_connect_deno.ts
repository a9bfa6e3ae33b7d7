/**
 * Opening client connections with Deno's own sockets: `Deno.connect` (TCP and
 * Unix), `Deno.connectTls` (with a client certificate) and `Deno.startTls`
 * (with a `servername` other than the hostname), wrapped in the same
 * {@linkcode DenoConn} as accepted ones.
 *
 * What Deno cannot do per connection goes through its `node:tls` instead
 * ({@linkcode nodeDial}): `tls.insecure` (Deno verifies always, unless the
 * whole process runs with `--unsafely-ignore-certificate-errors`),
 * `localAddress`, TLS over a Unix socket, a client certificate with a
 * `servername`, a proxy tunnel (`tunnel`), and TLS with a `signal`: `close()` of a `Deno.TlsConn`
 * waits for its handshake to finish (Deno finishes the handshake before
 * shutting down), so a handshake aborted against a silent server would keep
 * its socket open until the server gives up.
 *
 * @module
 */

import { DenoConn } from "./_deno_conn.ts";
import { caList, type DialProgress, nodeDial, serverNameOf } from "./_connect_node.ts";
import type { Conn } from "./transport.ts";
import type { ConnectOptions } from "./connect.ts";

/** Whether Deno's own sockets can honour `options`. */
function denoCan(options: ConnectOptions): boolean {
  const { tls } = options;
  // Tunnels run on node:net/node:tls: Deno.startTls cannot skip verification.
  if (options.localAddress !== undefined || options.tunnel !== undefined) return false;
  if (tls === undefined) return true;
  if (tls.insecure === true || options.unix !== undefined) return false;
  // Deno's close() of a TlsConn waits for the handshake to finish, so an
  // aborted handshake with a silent server would keep the socket open.
  if (options.signal !== undefined) return false;
  const custom = tls.servername !== undefined && tls.servername !== options.hostname;
  return !(custom && (tls.cert !== undefined || tls.key !== undefined));
}

/**
 * `Deno.connect` over TCP, cancelled by `signal` without losing a socket.
 *
 * Deno's `connect` (2.x, ext/net/01_net.js) calls `signal.throwIfAborted()`
 * in a `finally` after the connection is made: a signal that fires between
 * the kernel completing the connect and the promise settling throws away a
 * connected socket that nothing can close any more (the peer keeps it open
 * until the process exits). The signal given to Deno here is a private one
 * that cancels a pending connect as the caller's would, but whose
 * `throwIfAborted` does nothing, so a connection made just as the caller
 * aborted is returned, and the caller's guard closes it.
 */
async function connectTcp(
  hostname: string,
  port: number,
  signal: AbortSignal | undefined,
): Promise<Deno.TcpConn> {
  if (signal === undefined) return await Deno.connect({ hostname, port });
  const cancel = new AbortController();
  Object.defineProperty(cancel.signal, "throwIfAborted", { value: (): void => {} });
  const onAbort = (): void => cancel.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await Deno.connect({ hostname, port, signal: cancel.signal });
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** {@linkcode Dial} over `Deno.connect` / `Deno.connectTls` / `Deno.startTls`. */
export async function denoDial(options: ConnectOptions, progress: DialProgress): Promise<Conn> {
  if (typeof Deno === "undefined") {
    throw new TypeError(
      "Cannot connect with denoClientTransport: it needs Deno; use nodeClientTransport",
    );
  }
  if (!denoCan(options)) return nodeDial(options, progress);
  const { tls, signal, unix } = options;
  if (unix !== undefined) {
    const conn = await Deno.connect({ transport: "unix", path: unix });
    if (signal?.aborted) {
      conn.close();
      throw new Error("Aborted");
    }
    return new DenoConn(conn, null, true);
  }
  const { hostname, port } = options;
  if (tls === undefined) {
    return new DenoConn(await connectTcp(hostname, port, signal), null, true);
  }
  const caCerts = caList(tls.ca);
  const alpn = tls.alpnProtocols === undefined ? {} : { alpnProtocols: tls.alpnProtocols };
  const servername = serverNameOf(options);
  let conn: Deno.TlsConn;
  if (tls.cert !== undefined || tls.key !== undefined) {
    if (tls.cert === undefined || tls.key === undefined) {
      throw new TypeError(
        "Cannot connect with a client certificate: give both tls.cert and tls.key",
      );
    }
    conn = await Deno.connectTls({
      hostname,
      port,
      ...(caCerts ? { caCerts } : {}),
      ...alpn,
      cert: tls.cert,
      key: tls.key,
    });
  } else {
    const tcp = await connectTcp(hostname, port, signal);
    progress.phase = "tls";
    conn = await Deno.startTls(tcp, {
      hostname: servername ?? hostname,
      ...(caCerts ? { caCerts } : {}),
      ...alpn,
    });
  }
  progress.phase = "tls";
  // Closing the connection makes a handshake in progress fail.
  const onAbort = (): void => conn.close();
  signal?.addEventListener("abort", onAbort, { once: true });
  let alpnProtocol: string | null;
  try {
    if (signal?.aborted) throw new Error("Aborted");
    ({ alpnProtocol } = await conn.handshake());
  } catch (error) {
    try {
      conn.close();
    } catch {
      // Closed by the abort.
    }
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  return new DenoConn(conn, {
    protocol: null,
    alpnProtocol,
    servername: servername ?? null,
    authorized: true,
  }, true);
}
