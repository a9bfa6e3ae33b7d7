/**
 * Opening client connections with `Bun.connect` (TCP, TLS, Unix), wrapped in
 * the same {@linkcode BunConn} as accepted ones. `localAddress`, which
 * `Bun.connect` does not take, goes through Bun's `node:net` instead, and
 * so do proxy tunnels (`tunnel`, see `connect.ts`).
 *
 * Bun closes a connection whose certificate fails verification without
 * saying why, so the dialer asks Bun not to reject and checks the outcome of
 * the handshake itself (`authorized`, and the error Bun hands the
 * `handshake` handler), before any byte of the connection is read.
 *
 * @module
 */

import { BunConn } from "./_bun_transport.ts";
import { alpnWire } from "./_listen.ts";
import { type DialProgress, nodeDial, serverNameOf } from "./_connect_node.ts";
import type { Conn } from "./transport.ts";
import type { ConnectOptions } from "./connect.ts";
import type { BunSocket, BunSocketHandler } from "./_bun_api.ts";

type Socket = BunSocket<BunConn>;

/** The parts of `Bun.connect` used here (`deno check` has no Bun types). */
interface BunConnectLike {
  connect(options: {
    hostname?: string;
    port?: number;
    unix?: string;
    allowHalfOpen: boolean;
    tls?: {
      ca?: string | string[];
      cert?: string;
      key?: string;
      rejectUnauthorized: boolean;
      serverName?: string;
      ALPNProtocols?: Uint8Array;
    };
    socket: BunSocketHandler<BunConn> & { connectError?(socket: Socket, error: Error): void };
  }): Promise<Socket>;
}

/** {@linkcode Dial} over `Bun.connect`. */
export function bunDial(options: ConnectOptions, progress: DialProgress): Promise<Conn> {
  const bun = (globalThis as { Bun?: BunConnectLike }).Bun;
  if (bun === undefined) {
    return Promise.reject(
      new TypeError(
        "Cannot connect with bunClientTransport: it needs Bun; use nodeClientTransport",
      ),
    );
  }
  // Proxy tunnels run on node:net/node:tls, the same on every runtime.
  if (options.localAddress !== undefined || options.tunnel !== undefined) {
    return nodeDial(options, progress);
  }
  const { tls, signal, unix } = options;
  const insecure = tls?.insecure === true;
  return new Promise<Conn>((resolve, reject) => {
    let socket: Socket | null = null;
    let done = false;
    const finish = (error: Error | null, conn?: Conn): void => {
      if (done) return;
      done = true;
      signal?.removeEventListener("abort", onAbort);
      if (error === null) return resolve(conn!);
      socket?.terminate();
      reject(error);
    };
    const onAbort = (): void => finish(new Error("Aborted"));
    const handOver = (s: Socket, info: Conn["tls"]): void => {
      if (done) {
        s.terminate();
        return;
      }
      BunConn.handOver(s.data!, info, (conn) => finish(null, conn));
    };
    const handler: BunSocketHandler<BunConn> & {
      connectError(socket: Socket, error: Error): void;
    } = {
      binaryType: "uint8array",
      open(s) {
        socket = s;
        s.data = new BunConn(s, unix === undefined ? null : "");
        if (done) s.terminate();
        else if (tls === undefined) handOver(s, null);
        else progress.phase = "tls";
      },
      data: (s, chunk) => BunConn.onData(s.data!, chunk),
      end: (s) => BunConn.onEnd(s.data!),
      drain: (s) => BunConn.onDrain(s.data!),
      close(s, error) {
        if (s.data !== undefined) BunConn.onClose(s.data, error);
        finish(error ?? new Error("Connection closed before it was established"));
      },
      error(s, error) {
        if (s.data !== undefined) BunConn.onError(s.data, error);
        finish(error);
      },
      connectError: (_s, error) => finish(error),
    };
    if (tls !== undefined) {
      handler.handshake = (s, success, error) => {
        if (done) return;
        if (!insecure && (error !== null || !success || !s.authorized)) {
          finish(error ?? new Error("The server's certificate could not be verified"));
          return;
        }
        const alpn = s.alpnProtocol;
        handOver(s, {
          protocol: s.getTLSVersion() || null,
          alpnProtocol: typeof alpn === "string" && alpn !== "" ? alpn : null,
          servername: s.getServername() || null,
          authorized: s.authorized === true,
        });
      };
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    const servername = serverNameOf(options);
    let connecting: Promise<Socket>;
    try {
      connecting = bun.connect({
        ...(unix !== undefined ? { unix } : { hostname: options.hostname, port: options.port }),
        allowHalfOpen: true,
        ...(tls === undefined ? {} : {
          tls: {
            // Verified in the handshake handler, where the reason is known.
            rejectUnauthorized: false,
            ...(tls.ca === undefined ? {} : { ca: tls.ca }),
            ...(tls.cert === undefined ? {} : { cert: tls.cert }),
            ...(tls.key === undefined ? {} : { key: tls.key }),
            ...(servername === undefined ? {} : { serverName: servername }),
            ...(tls.alpnProtocols === undefined
              ? {}
              : { ALPNProtocols: alpnWire(tls.alpnProtocols) }),
          },
        }),
        socket: handler,
      });
    } catch (error) {
      finish(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    connecting.then(
      (s) => {
        socket = s;
        if (done && s.data === undefined) s.terminate();
      },
      (error: unknown) => finish(error instanceof Error ? error : new Error(String(error))),
    );
  });
}
