/**
 * The `Bun.listen` side of the Bun transport: the listener, the socket
 * handlers of one listener (each socket's state is its {@linkcode BunConn}),
 * and {@linkcode BunTransport}. Split from `_bun_transport.ts`, which keeps
 * the connection.
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import {
  alpnWire,
  describeListen,
  errorCode,
  listenFailure,
  listenUnsupported,
  removeSocketFile,
  removeStaleSocket,
  type SocketFile,
  socketFileAt,
  tcpAddress,
} from "./_listen.ts";
import type {
  Address,
  Conn,
  Listener,
  ListenError,
  ListenOptions,
  ServerTransport,
} from "./transport.ts";
import type * as BunApi from "./_bun_api.ts";
import { BunConn } from "./_bun_transport.ts";

/** A TLS client that has not finished its handshake by then is dropped (Node's default). */
const HANDSHAKE_TIMEOUT_MS = 120_000;

// Bun's socket API, with our connection as each socket's data.
type BunSocketHandler = BunApi.BunSocketHandler<BunConn>;
type BunListenOptions = BunApi.BunListenOptions<BunConn>;
type BunSocketListener = BunApi.BunSocketListener;
type BunLike = BunApi.BunLike<BunConn>;

/** A `Bun.listen` listener behind the {@linkcode Listener} contract. */
class BunListener implements Listener {
  readonly address: Address;
  #listener: BunSocketListener;
  #socketFile: SocketFile | null;
  #closing: Promise<void> | null = null;

  constructor(listener: BunSocketListener, address: Address, socketFile: SocketFile | null) {
    this.#listener = listener;
    this.address = address;
    this.#socketFile = socketFile;
  }

  close(): Promise<void> {
    // stop(false) closes the listening socket at once and leaves accepted ones alone.
    this.#closing ??= (async () => {
      this.#listener.stop(false);
      // Bun unlinks the file itself; this covers a path it did not.
      await removeSocketFile(this.#socketFile);
    })();
    return this.#closing;
  }
}

async function toListenError(
  error: unknown,
  where: string,
  hostname: string | undefined,
): Promise<ListenError> {
  let code = errorCode(error);
  // Bun says only "Failed to listen at <host>" when the name does not resolve.
  if (code === null && hostname !== undefined && isIP(hostname) === 0) {
    code = await lookup(hostname).then(() => null, errorCode);
  }
  return listenFailure(error, where, code);
}

/** The socket handlers of one listener: each socket's state is the BunConn in `socket.data`. */
function handlers(
  unixPath: () => string | null,
  tls: { requestCert: boolean } | null,
  onConn: (conn: Conn) => void,
  onError: ((error: Error) => void) | undefined,
): BunSocketHandler {
  const handler: BunSocketHandler = {
    binaryType: "uint8array",
    open(socket) {
      const conn = new BunConn(socket, unixPath());
      socket.data = conn;
      if (tls === null) {
        BunConn.handOver(conn, null, onConn);
        return;
      }
      conn.handshakeTimer = setTimeout(() => {
        onError?.(new Error(`TLS handshake timed out after ${HANDSHAKE_TIMEOUT_MS} ms`));
        socket.terminate();
      }, HANDSHAKE_TIMEOUT_MS);
    },
    data: (socket, chunk) => BunConn.onData(socket.data!, chunk),
    end: (socket) => BunConn.onEnd(socket.data!),
    drain: (socket) => BunConn.onDrain(socket.data!),
    close: (socket, error) => BunConn.onClose(socket.data!, error),
    error: (socket, error) => BunConn.onError(socket.data!, error),
  };
  if (tls !== null) {
    // With rejectUnauthorized false, `success` is false only when the handshake failed.
    handler.handshake = (socket, success, error) => {
      const conn = socket.data!;
      clearTimeout(conn.handshakeTimer);
      if (!success) {
        onError?.(error ?? new Error("TLS handshake failed"));
        // Bun closes it too; this makes sure nothing is left unowned.
        socket.end();
        return;
      }
      const alpn = socket.alpnProtocol;
      BunConn.handOver(conn, {
        protocol: socket.getTLSVersion() || null,
        alpnProtocol: typeof alpn === "string" && alpn !== "" ? alpn : null,
        servername: socket.getServername() || null,
        authorized: tls.requestCert && socket.authorized === true,
      }, onConn);
    };
  }
  return handler;
}

/**
 * {@linkcode ServerTransport} over `Bun.listen`. Use the shared instance
 * {@linkcode bunTransport}; the class exists for `instanceof` and for
 * subclasses in tests.
 *
 * Accepted connections read nothing before `start()`; TLS connections are
 * handed over after their handshake. Every connection is half-open capable:
 * a peer's EOF is reported with `end()` and our side stays writable.
 *
 * @example Listen on a Unix socket
 * ```ts
 * import { BunTransport } from "@sluice/http/adapters/bun";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import assert from "node:assert/strict";
 *
 * const path = join(mkdtempSync(join(tmpdir(), "sluice-")), "app.sock");
 * const listener = await new BunTransport().listen({ path }, (conn) => conn.destroy());
 * assert.deepEqual(listener.address, { transport: "unix", path });
 * await listener.close();
 * ```
 */
export class BunTransport implements ServerTransport {
  /**
   * Starts listening; see {@linkcode ServerTransport.listen}.
   *
   * @param options Where and how to listen.
   * @param onConn Gets each accepted connection, not yet reading.
   * @param onError Gets TLS handshake errors; the listener keeps going.
   * @returns The listener, once the socket listens.
   */
  async listen(
    options: ListenOptions,
    onConn: (conn: Conn) => void,
    onError?: (error: Error) => void,
  ): Promise<Listener> {
    const where = describeListen(options);
    const bun = (globalThis as { Bun?: BunLike }).Bun;
    if (bun === undefined) {
      throw listenUnsupported(where, "bunTransport needs Bun (Bun.listen); use nodeTransport");
    }
    if (options.backlog !== undefined) {
      throw listenUnsupported(where, "Bun.listen takes no backlog");
    }
    const { path, fd, tls } = options;
    if (path !== undefined && !path.startsWith("\0")) await removeStaleSocket(path, where);

    // Known for sure once listening (an adopted fd may be either), which is before any accept.
    let connPath: string | null = path ?? null;
    const bunOptions: BunListenOptions = {
      allowHalfOpen: true,
      socket: handlers(
        () => connPath,
        tls === undefined ? null : { requestCert: tls.requestCert === true },
        onConn,
        onError,
      ),
    };
    if (fd !== undefined) bunOptions.fd = fd;
    else if (path !== undefined) bunOptions.unix = path;
    else {
      bunOptions.hostname = options.hostname ?? "0.0.0.0";
      bunOptions.port = options.port ?? 0;
      if (options.reusePort === true) bunOptions.reusePort = true;
    }
    if (tls !== undefined) {
      bunOptions.tls = {
        cert: tls.cert,
        key: tls.key,
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        requestCert: tls.requestCert === true,
        // The contract hands unverified clients over with `authorized: false`.
        rejectUnauthorized: false,
        ...(tls.alpnProtocols === undefined ? {} : { ALPNProtocols: alpnWire(tls.alpnProtocols) }),
      };
    }

    let listener: BunSocketListener;
    try {
      listener = bun.listen(bunOptions);
    } catch (error) {
      throw await toListenError(error, where, bunOptions.hostname);
    }
    let address: Address;
    if (path !== undefined) {
      address = { transport: "unix", path };
    } else {
      const out: { address?: string; port?: number } = {};
      listener.getsockname(out);
      // An adopted Unix socket has no name Bun can tell.
      address = out.port === undefined
        ? { transport: "unix", path: "" }
        : tcpAddress(out.address, out.port);
    }
    connPath = address.transport === "unix" ? address.path : null;
    const socketFile = path === undefined ? null : await socketFileAt(path);
    return new BunListener(listener, address, socketFile);
  }
}

/**
 * The {@linkcode ServerTransport} of Bun's own sockets (`Bun.listen`).
 *
 * @example Serve one answer per connection
 * ```ts
 * import { bunTransport } from "@sluice/http/adapters/bun";
 * import { connect } from "node:net";
 * import assert from "node:assert/strict";
 *
 * const listener = await bunTransport.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => {
 *   conn.start({ data() {}, end: () => conn.end(), drain() {}, close() {} });
 *   conn.write(new TextEncoder().encode("hi"));
 *   conn.end();
 * });
 * const port = listener.address.transport === "tcp" ? listener.address.port : 0;
 * const reply = await new Promise<string>((resolve) => {
 *   let text = "";
 *   const socket = connect(port, "127.0.0.1");
 *   socket.on("data", (chunk) => (text += chunk));
 *   socket.on("end", () => socket.end());
 *   socket.on("close", () => resolve(text));
 * });
 * assert.equal(reply, "hi");
 * await listener.close();
 * ```
 */
export const bunTransport: BunTransport = new BunTransport();
