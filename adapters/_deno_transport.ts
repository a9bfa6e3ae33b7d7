/**
 * The transport of {@linkcode ./transport.ts} over Deno's own sockets:
 * `Deno.listen` (TCP and Unix domain sockets) and `Deno.listenTls`.
 *
 * Each accepted connection is a `DenoConn` (./_deno_conn.ts: one read loop
 * that stops while paused, one write loop over a queue).
 *
 * Where Deno cannot meet the contract, `listen()` refuses with
 * `SLUICE_ERR_LISTEN_UNSUPPORTED` rather than ignore an option (the tests pin
 * each case; `nodeTransport` over Deno's `node:net` can do all of them):
 *
 * - `fd`: Deno cannot adopt a listening socket from a file descriptor.
 * - `tls.requestCert`: `Deno.listenTls` cannot ask for client certificates.
 * - `tls` with `path`: `Deno.listenTls` serves TCP only.
 * - `backlog` with `path`: Deno's Unix listener takes no backlog.
 * - `reusePort`: Deno has it only behind `--unstable-net` (without the flag
 *   the option ends the process), and only on Linux (elsewhere it is ignored).
 *
 * And where it reports less: {@linkcode TlsInfo} has `protocol` and
 * `servername` `null` (`Deno.TlsConn.handshake()` gives the ALPN protocol
 * only) and `authorized` always `false`; `setNoDelay()` is a no-op on TLS
 * connections (`Deno.TlsConn` has no such method).
 *
 * @module
 */

import { DenoConn, toAddress } from "./_deno_conn.ts";
import {
  asError,
  describeListen,
  errorCode,
  listenFailure,
  listenUnsupported,
  removeSocketFile,
  removeStaleSocket,
  type SocketFile,
  socketFileAt,
} from "./_listen.ts";
import type {
  Address,
  Conn,
  Listener,
  ListenError,
  ListenOptions,
  ServerTransport,
  TlsInfo,
} from "./transport.ts";

export { DenoConn };

/** A TLS client that has not finished its handshake by then is dropped (Node's default). */
const HANDSHAKE_TIMEOUT_MS = 120_000;
/** Pause after a failed accept (`EMFILE`, …) so that the loop does not spin. */
const ACCEPT_RETRY_MS = 50;

/** A `Deno.Listener` behind the {@linkcode Listener} contract. */
class DenoListener implements Listener {
  readonly address: Address;
  #listener: Deno.Listener;
  #socketFile: SocketFile | null;
  #closing: Promise<void> | null = null;
  /** Set by the accept loop: the accept in flight, so that close() can wait for it. */
  pending: Promise<unknown> | null = null;
  closed = false;

  constructor(listener: Deno.Listener, address: Address, socketFile: SocketFile | null) {
    this.#listener = listener;
    this.address = address;
    this.#socketFile = socketFile;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.closed = true;
      try {
        this.#listener.close();
      } catch {
        // Already closed.
      }
      // Deno releases the socket once the accept in flight has failed.
      await this.pending?.catch(() => {});
      // Deno unlinks the file itself; this covers a path it did not.
      await removeSocketFile(this.#socketFile);
    })();
    return this.#closing;
  }
}

/** Why Deno cannot listen as asked, or `null` when it can. */
function unsupported(options: ListenOptions): string | null {
  if (typeof Deno === "undefined") {
    return "denoTransport needs Deno (Deno.listen); use nodeTransport";
  }
  if (options.fd !== undefined) {
    return "Deno cannot adopt a listening socket from a file descriptor; use nodeTransport";
  }
  if (options.tls?.requestCert === true) {
    return "Deno.listenTls cannot request client certificates; use nodeTransport";
  }
  if (options.path !== undefined && options.tls !== undefined) {
    return "Deno.listenTls serves TCP only, not Unix sockets; use nodeTransport";
  }
  if (options.path !== undefined && options.backlog !== undefined) {
    return "Deno's Unix socket listener takes no backlog";
  }
  if (options.reusePort === true) {
    if (Deno.build.os !== "linux") {
      return `Deno ignores reusePort on ${Deno.build.os} (it has it on Linux only)`;
    }
    // Unstable APIs exist only when their flag is given; `listenDatagram` is one of --unstable-net.
    if (typeof (Deno as unknown as Record<string, unknown>).listenDatagram !== "function") {
      return "Deno has reusePort only with the --unstable-net flag";
    }
  }
  return null;
}

function toListenError(error: unknown, where: string): ListenError {
  // Deno's resolver error carries no code.
  const code = errorCode(error) ??
    (/failed to lookup address/i.test(asError(error).message) ? "ENOTFOUND" : null);
  return listenFailure(error, where, code);
}

function pemText(value: string | Uint8Array): string {
  return typeof value === "string" ? value : new TextDecoder().decode(value);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Completes a TLS handshake within {@linkcode HANDSHAKE_TIMEOUT_MS}; hands the connection over or reports why not. */
async function handshake(
  conn: Deno.TlsConn,
  onConn: (conn: Conn) => void,
  onError: ((error: Error) => void) | undefined,
): Promise<void> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, HANDSHAKE_TIMEOUT_MS);
  let alpnProtocol: string | null;
  try {
    ({ alpnProtocol } = await conn.handshake());
  } catch (error) {
    try {
      conn.close();
    } catch {
      // Closed by the timer.
    }
    onError?.(
      timedOut
        ? new Error(`TLS handshake timed out after ${HANDSHAKE_TIMEOUT_MS} ms`, { cause: error })
        : asError(error),
    );
    return;
  } finally {
    clearTimeout(timer);
  }
  const tls: TlsInfo = { protocol: null, alpnProtocol, servername: null, authorized: false };
  onConn(new DenoConn(conn, tls));
}

async function acceptLoop(
  handle: DenoListener,
  listener: Deno.Listener,
  secure: boolean,
  onConn: (conn: Conn) => void,
  onError: ((error: Error) => void) | undefined,
): Promise<void> {
  while (!handle.closed) {
    let conn: Deno.Conn;
    try {
      const pending = listener.accept();
      handle.pending = pending;
      conn = await pending;
    } catch (error) {
      if (handle.closed || error instanceof Deno.errors.BadResource) return;
      onError?.(asError(error));
      await sleep(ACCEPT_RETRY_MS);
      continue;
    }
    if (secure) void handshake(conn as Deno.TlsConn, onConn, onError);
    else onConn(new DenoConn(conn, null));
  }
}

/**
 * {@linkcode ServerTransport} over `Deno.listen` and `Deno.listenTls`. Use the
 * shared instance {@linkcode denoTransport}; the class exists for `instanceof`
 * and for subclasses in tests.
 *
 * Accepted connections read nothing before `start()`; TLS connections are
 * handed over after their handshake. See the module documentation for the
 * options Deno cannot honour.
 *
 * @example Listen on a Unix socket
 * ```ts
 * import { DenoTransport } from "@sluice/http/adapters/deno";
 * import assert from "node:assert/strict";
 *
 * const path = `${Deno.makeTempDirSync()}/app.sock`;
 * const listener = await new DenoTransport().listen({ path }, (conn) => conn.destroy());
 * assert.deepEqual(listener.address, { transport: "unix", path });
 * await listener.close();
 * ```
 */
export class DenoTransport implements ServerTransport {
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
    const refusal = unsupported(options);
    if (refusal !== null) throw listenUnsupported(where, refusal);
    const { path, tls } = options;
    if (path !== undefined && !path.startsWith("\0")) await removeStaleSocket(path, where);

    let listener: Deno.Listener;
    try {
      if (path !== undefined) {
        listener = Deno.listen({ transport: "unix", path });
      } else {
        const tcp: Deno.TcpListenOptions & { reusePort?: boolean } = {
          hostname: options.hostname ?? "0.0.0.0",
          port: options.port ?? 0,
          ...(options.backlog === undefined ? {} : { tcpBacklog: options.backlog }),
          ...(options.reusePort === true ? { reusePort: true } : {}),
        };
        listener = tls === undefined ? Deno.listen(tcp) : Deno.listenTls({
          ...tcp,
          cert: pemText(tls.cert),
          key: pemText(tls.key),
          ...(tls.alpnProtocols === undefined ? {} : { alpnProtocols: tls.alpnProtocols }),
        });
      }
    } catch (error) {
      throw toListenError(error, where);
    }

    const socketFile = path === undefined ? null : await socketFileAt(path);
    const handle = new DenoListener(listener, toAddress(listener.addr), socketFile);
    void acceptLoop(handle, listener, tls !== undefined, onConn, onError);
    return handle;
  }
}

/**
 * The {@linkcode ServerTransport} of Deno's own sockets (`Deno.listen`,
 * `Deno.listenTls`).
 *
 * @example Serve one answer per connection
 * ```ts
 * import { denoTransport } from "@sluice/http/adapters/deno";
 * import assert from "node:assert/strict";
 *
 * const listener = await denoTransport.listen({ hostname: "127.0.0.1", port: 0 }, (conn) => {
 *   conn.start({ data() {}, end: () => conn.end(), drain() {}, close() {} });
 *   conn.write(new TextEncoder().encode("hi"));
 *   conn.end();
 * });
 * const port = listener.address.transport === "tcp" ? listener.address.port : 0;
 * const client = await Deno.connect({ hostname: "127.0.0.1", port });
 * const reply = await new Response(client.readable).text();
 * assert.equal(reply, "hi");
 * await listener.close();
 * ```
 */
export const denoTransport: DenoTransport = new DenoTransport();
