/**
 * Opening client connections with `node:net` and `node:tls`, wrapped in the
 * same {@linkcode NodeConn} as accepted ones. Used on Node, and on Deno and
 * Bun for what their own sockets cannot do per connection.
 *
 * @module
 */

import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { NodeConn } from "./node.ts";
import type { Conn } from "./transport.ts";
import type { ConnectOptions } from "./connect.ts";

/**
 * How far a dial got, set by the runtime code as it goes, so that a failure
 * can be told apart (a reset during the TLS handshake is a TLS failure).
 */
export interface DialProgress {
  phase: "tcp" | "tls";
}

/**
 * A runtime's dialer: opens the socket and completes the TLS handshake. When
 * `options.signal` fires it closes what it opened and rejects (with anything:
 * the caller reports the abort).
 */
export type Dial = (options: ConnectOptions, progress: DialProgress) => Promise<Conn>;

/** The server name to send (SNI) and verify: `servername`, else a hostname that is not an IP. */
export function serverNameOf(options: ConnectOptions): string | undefined {
  const name = options.tls?.servername;
  if (name !== undefined && name !== "") return name;
  return options.unix === undefined && isIP(options.hostname) === 0 ? options.hostname : undefined;
}

/** `ca` as a list. */
export function caList(ca: string | string[] | undefined): string[] | undefined {
  return ca === undefined ? undefined : typeof ca === "string" ? [ca] : ca;
}

/** {@linkcode Dial} over `node:net` / `node:tls`. */
export function nodeDial(options: ConnectOptions, progress: DialProgress): Promise<Conn> {
  const { tls, signal, unix } = options;
  return new Promise<Conn>((resolve, reject) => {
    const target = unix !== undefined ? { path: unix } : {
      host: options.hostname,
      port: options.port,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    };
    let socket: Socket;
    if (tls === undefined) {
      socket = netConnect({ ...target, allowHalfOpen: true });
    } else {
      const servername = serverNameOf(options);
      // tls.connect passes allowHalfOpen to its TLSSocket (the types miss it).
      const tlsOptions: ConnectionOptions & { allowHalfOpen: boolean } = {
        ...target,
        allowHalfOpen: true,
        rejectUnauthorized: tls.insecure !== true,
        ...(servername === undefined ? {} : { servername }),
        ...(tls.ca === undefined ? {} : { ca: caList(tls.ca) }),
        ...(tls.cert === undefined ? {} : { cert: tls.cert }),
        ...(tls.key === undefined ? {} : { key: tls.key }),
        ...(tls.alpnProtocols === undefined ? {} : { ALPNProtocols: tls.alpnProtocols }),
      };
      socket = tlsConnect(tlsOptions);
      // The TCP part is done: what fails from here on is the handshake.
      socket.once("connect", () => (progress.phase = "tls"));
    }
    const readyEvent = tls === undefined ? "connect" : "secureConnect";
    const cleanup = (): void => {
      socket.off(readyEvent, onReady);
      socket.off("error", onError);
      socket.off("close", onClose);
      signal?.removeEventListener("abort", onAbort);
    };
    const fail = (error: Error): void => {
      cleanup();
      // A late error event must not crash the process.
      socket.on("error", () => {});
      socket.destroy();
      reject(error);
    };
    const onError = (error: Error): void => fail(error);
    const onClose = (): void => fail(new Error("Connection closed before it was established"));
    const onAbort = (): void => fail(new Error("Aborted"));
    const onReady = (): void => {
      cleanup();
      // Nothing is read before Conn.start().
      socket.pause();
      resolve(
        new NodeConn(socket, unix === undefined ? null : "", tls === undefined ? null : true),
      );
    };
    socket.once(readyEvent, onReady);
    socket.once("error", onError);
    socket.once("close", onClose);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
