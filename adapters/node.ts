/**
 * The transport of {@linkcode ./transport.ts} over `node:net` and `node:tls`:
 * TCP, Unix domain sockets, TLS with ALPN, and sockets adopted from a file
 * descriptor. It runs on Node, and on Deno and Bun through their `node:net`
 * compatibility (the tests run it on all three).
 *
 * @example Echo server on a random loopback port
 * ```ts
 * import { nodeTransport } from "@sluice/http/adapters/node";
 * import assert from "node:assert/strict";
 *
 * const listener = await nodeTransport.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => {
 *   conn.start({
 *     data: (chunk) => conn.write(chunk),
 *     end: () => conn.end(),
 *     drain: () => {},
 *     close: () => {},
 *   });
 * });
 * assert.ok(listener.address.transport === "tcp" && listener.address.port > 0);
 * await listener.close();
 * ```
 *
 * @module
 */

import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { Buffer } from "node:buffer";
import process from "node:process";
// Node's timers everywhere: Deno's global setTimeout returns a number, with no unref().
import { setTimeout } from "node:timers";
import {
  type Address,
  type Conn,
  type Listener,
  ListenError,
  type ListenOptions,
  type ServerTransport,
} from "./transport.ts";
import {
  asError,
  describeListen,
  errorCode,
  listenFailure,
  removeSocketFile,
  removeStaleSocket,
  type SocketFile,
  socketFileAt,
  tcpAddress,
} from "./_listen.ts";
import { NodeConn } from "./_node_conn.ts";

export type {
  Address,
  Conn,
  ConnEvents,
  Listener,
  ListenErrorCode,
  ListenOptions,
  ListenTlsOptions,
  ServerTransport,
  TlsInfo,
} from "./transport.ts";
export { ListenError } from "./transport.ts";
export { borrowedReadOptions, NodeConn } from "./_node_conn.ts";
export { SluiceError } from "../util/errors.ts";

/**
 * Whether `listen({ reusePort })` works here. Node added the option in 22.12
 * and 23.1 and silently ignores it before; Deno and Bun report a recent Node
 * version and honour it (a test pins both).
 */
function reusePortSupported(): boolean {
  const [major, minor] = process.versions.node.split(".").map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** PEM text or bytes as `node:tls` wants them (a Buffer over the same bytes, no copy). */
function pem(value: string | Uint8Array): string | Buffer {
  return typeof value === "string"
    ? value
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** A listening `net.Server` behind the {@linkcode Listener} contract. */
class NodeListener implements Listener {
  readonly address: Address;
  #server: Server;
  #socketFile: SocketFile | null;
  #closing: Promise<void> | null = null;

  constructor(
    server: Server,
    address: Address,
    socketFile: SocketFile | null,
  ) {
    this.#server = server;
    this.address = address;
    this.#socketFile = socketFile;
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      // server.close()'s callback waits for every connection; the listening
      // socket itself is closed by the time the call returns.
      this.#server.close();
      // Node's libuv unlinks the file itself; Deno's and Bun's node:net may not.
      setTimeout(() => resolve(removeSocketFile(this.#socketFile)), 0);
    });
    return this.#closing;
  }
}

function toListenError(error: unknown, where: string, reusePort: boolean): ListenError {
  const syscallCode = errorCode(error);
  if (reusePort && (syscallCode === "ENOTSUP" || syscallCode === "EOPNOTSUPP")) {
    return new ListenError(
      "SLUICE_ERR_LISTEN_UNSUPPORTED",
      `Cannot listen on ${where} with reusePort: this platform has no SO_REUSEPORT (${
        asError(error).message
      })`,
      { address: where, syscallCode, cause: error },
    );
  }
  return listenFailure(error, where, syscallCode);
}

function listenerAddress(server: Server, unixPath: string | null): Address {
  const address = server.address();
  if (address !== null && typeof address === "object" && typeof address.port === "number") {
    return tcpAddress(address.address, address.port);
  }
  // A Unix socket. Adopted from a file descriptor, its path is unknown: Node
  // and Deno say `null`, Bun `{}`.
  return { transport: "unix", path: unixPath ?? (typeof address === "string" ? address : "") };
}

/**
 * {@linkcode ServerTransport} over `node:net` and `node:tls`. Use the shared
 * instance {@linkcode nodeTransport}; the class exists for `instanceof` and
 * for subclasses in tests.
 *
 * Behaviour worth knowing: every accepted socket is half-open capable
 * (`allowHalfOpen`), so a peer's EOF is reported with `end()` and our side
 * stays writable; plain TCP and Unix sockets are accepted paused
 * (`pauseOnConnect`) and read nothing before `start()`; TLS sockets are handed
 * over after the handshake, with at most one TLS record buffered before
 * `start()`.
 *
 * @example Listen on a Unix socket
 * ```ts
 * import { NodeTransport } from "@sluice/http/adapters/node";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import assert from "node:assert/strict";
 *
 * const path = join(mkdtempSync(join(tmpdir(), "sluice-")), "app.sock");
 * const listener = await new NodeTransport().listen({ path }, (conn) => conn.destroy());
 * assert.deepEqual(listener.address, { transport: "unix", path });
 * await listener.close();
 * ```
 */
export class NodeTransport implements ServerTransport {
  /**
   * Starts listening; see {@linkcode ServerTransport.listen}.
   *
   * @param options Where and how to listen.
   * @param onConn Gets each accepted connection, not yet reading.
   * @param onError Gets accept and TLS handshake errors; the listener keeps going.
   * @returns The listener, once the socket listens.
   */
  async listen(
    options: ListenOptions,
    onConn: (conn: Conn) => void,
    onError?: (error: Error) => void,
  ): Promise<Listener> {
    const where = describeListen(options);
    const reusePort = options.reusePort === true;
    if (reusePort && !reusePortSupported()) {
      throw new ListenError(
        "SLUICE_ERR_LISTEN_UNSUPPORTED",
        `Cannot listen on ${where} with reusePort: Node ${process.versions.node} ignores it ` +
          "(node:net has it from Node 22.12 and 23.1); use workers with node:cluster instead",
        { address: where },
      );
    }
    const unixPath = options.path ?? null;
    const fileBacked = unixPath !== null && !unixPath.startsWith("\0");
    if (fileBacked) await removeStaleSocket(unixPath, where);

    const { tls } = options;
    const secure = tls !== undefined;
    const server: Server = secure
      ? createTlsServer({
        cert: pem(tls.cert),
        key: pem(tls.key),
        ca: tls.ca === undefined ? undefined : pem(tls.ca),
        ALPNProtocols: tls.alpnProtocols,
        requestCert: tls.requestCert === true,
        rejectUnauthorized: false,
        allowHalfOpen: true,
      })
      : createNetServer({ allowHalfOpen: true, pauseOnConnect: true });
    // The Unix path connections report, or null for TCP; known for sure once
    // listening (an adopted fd may be either), which is before any accept.
    let connPath = unixPath;
    server.on(secure ? "secureConnection" : "connection", (socket: Socket) => {
      onConn(new NodeConn(socket, connPath, secure ? tls.requestCert === true : null));
    });
    if (secure) server.on("tlsClientError", (error: Error) => onError?.(error));

    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(
          options.fd !== undefined
            ? { fd: options.fd, backlog: options.backlog }
            : unixPath !== null
            ? { path: unixPath, backlog: options.backlog }
            : {
              host: options.hostname ?? "0.0.0.0",
              port: options.port ?? 0,
              backlog: options.backlog,
              ...(reusePort ? { reusePort: true } : {}),
            },
          () => {
            server.off("error", reject);
            resolve();
          },
        );
      });
    } catch (error) {
      server.close();
      throw toListenError(error, where, reusePort);
    }
    server.on("error", (error: Error) => onError?.(error));

    const address = listenerAddress(server, unixPath);
    connPath = address.transport === "unix" ? address.path : null;
    const socketFile = fileBacked ? await socketFileAt(unixPath) : null;
    return new NodeListener(server, address, socketFile);
  }
}

/**
 * The {@linkcode ServerTransport} of Node's `node:net` and `node:tls`.
 *
 * @example Serve one answer per connection
 * ```ts
 * import { nodeTransport } from "@sluice/http/adapters/node";
 * import { connect } from "node:net";
 * import assert from "node:assert/strict";
 *
 * const listener = await nodeTransport.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => {
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
export const nodeTransport: NodeTransport = new NodeTransport();
