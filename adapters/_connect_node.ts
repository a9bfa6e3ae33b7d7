/**
 * Opening client connections with `node:net` and `node:tls`, wrapped in the
 * same {@linkcode NodeConn} as accepted ones. Used on Node, and on Deno and
 * Bun for what their own sockets cannot do per connection, and for proxy
 * tunnels (`CONNECT`) on every runtime.
 *
 * @module
 */

import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";
import { borrowedReadOptions, NodeConn } from "./_node_conn.ts";

/** Node itself (not the `node:net` of Deno or Bun, which are not asked for `onread`). */
const IS_NODE = typeof (globalThis as { Deno?: unknown }).Deno === "undefined" &&
  typeof (globalThis as { Bun?: unknown }).Bun === "undefined";
import type { Conn } from "./transport.ts";
import type { ConnectOptions, ConnectTlsOptions } from "./connect.ts";

/**
 * How far a dial got, set by the runtime code as it goes, so that a failure
 * can be told apart (a reset during the TLS handshake is a TLS failure).
 * `proxy` is the `CONNECT` exchange of a tunnel; `tlsName` the server name of
 * the TLS handshake in progress when it is not the target's (the proxy's).
 */
export interface DialProgress {
  phase: "tcp" | "tls" | "proxy";
  tlsName?: string;
}

/**
 * A runtime's dialer: opens the socket and completes the TLS handshake. When
 * `options.signal` fires it closes what it opened and rejects (with anything:
 * the caller reports the abort).
 */
export type Dial = (options: ConnectOptions, progress: DialProgress) => Promise<Conn>;

/**
 * The proxy answered `CONNECT` with something else than 2xx (`status`), or
 * with no HTTP response head at all (`status` `null`).
 */
export class ProxyAnswerError extends Error {
  /** The status code of the proxy's answer, or `null` when it was not HTTP. */
  readonly status: number | null;
  /** Creates the error. */
  constructor(status: number | null, message: string) {
    super(message);
    this.name = "ProxyAnswerError";
    this.status = status;
  }
}

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

/** `node:tls` options of `tls` (the socket or address is added by the caller). */
function tlsOptionsOf(
  tls: ConnectTlsOptions,
  servername: string | undefined,
): ConnectionOptions & { allowHalfOpen: boolean } {
  // tls.connect passes allowHalfOpen to its TLSSocket (the types miss it).
  return {
    allowHalfOpen: true,
    rejectUnauthorized: tls.insecure !== true,
    ...(servername === undefined ? {} : { servername }),
    ...(tls.ca === undefined ? {} : { ca: caList(tls.ca) }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
    ...(tls.alpnProtocols === undefined ? {} : { ALPNProtocols: tls.alpnProtocols }),
  };
}

/**
 * Waits for `readyEvent` of `socket`; on an error, an early close or the
 * abort it destroys the socket (and `under`, the socket it runs over) and
 * rejects.
 */
function settle(
  socket: Socket,
  readyEvent: string,
  signal: AbortSignal | undefined,
  under?: Socket,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
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
      under?.destroy();
      reject(error);
    };
    const onError = (error: Error): void => fail(error);
    const onClose = (): void => fail(new Error("Connection closed before it was established"));
    const onAbort = (): void => fail(new Error("Aborted"));
    const onReady = (): void => {
      cleanup();
      // Nothing is read before Conn.start().
      socket.pause();
      resolve();
    };
    socket.once(readyEvent, onReady);
    socket.once("error", onError);
    socket.once("close", onClose);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Opens a TCP (or Unix) socket, then TLS over it when `tls` is given. */
async function openSocket(
  target: { host: string; port: number; localAddress?: string } | { path: string },
  tls: ConnectTlsOptions | undefined,
  servername: string | undefined,
  progress: DialProgress,
  signal: AbortSignal | undefined,
  borrowed?: ReturnType<typeof borrowedReadOptions>,
): Promise<Socket> {
  if (tls === undefined) {
    const socket = netConnect({ ...target, allowHalfOpen: true, ...borrowed?.options });
    await settle(socket, "connect", signal);
    return socket;
  }
  const socket = tlsConnect({ ...target, ...tlsOptionsOf(tls, servername) });
  // The TCP part is done: what fails from here on is the handshake.
  socket.once("connect", () => (progress.phase = "tls"));
  await settle(socket, "secureConnect", signal);
  return socket;
}

/** {@linkcode Dial} over `node:net` / `node:tls`. */
export async function nodeDial(options: ConnectOptions, progress: DialProgress): Promise<Conn> {
  if (options.tunnel !== undefined) return nodeTunnelDial(options, progress);
  const { tls, signal, unix } = options;
  const target = unix !== undefined ? { path: unix } : {
    host: options.hostname,
    port: options.port,
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
  };
  // Plain sockets on Node read into a shared buffer (no Buffer per read, no stream machinery).
  const borrowed = tls === undefined && IS_NODE ? borrowedReadOptions() : undefined;
  const socket = await openSocket(target, tls, serverNameOf(options), progress, signal, borrowed);
  const conn = new NodeConn(
    socket,
    unix === undefined ? null : "",
    tls === undefined ? null : true,
    borrowed !== undefined,
  );
  borrowed?.bind(conn);
  return conn;
}

const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Throws `TypeError`/`RangeError` for malformed `options.tunnel`. */
function validateTunnel(options: ConnectOptions): void {
  const tunnel = options.tunnel!;
  if (options.unix !== undefined) {
    throw new TypeError("Cannot connect: unix and tunnel cannot be combined");
  }
  if (typeof tunnel.proxyHostname !== "string" || tunnel.proxyHostname === "") {
    throw new TypeError("Cannot connect: tunnel.proxyHostname must be a non-empty string");
  }
  const port = tunnel.proxyPort;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(
      `Cannot connect through the proxy ${tunnel.proxyHostname}: port ${port} is not 1 to 65535`,
    );
  }
  for (const [name, value] of tunnel.headers ?? []) {
    if (!FIELD_NAME.test(name) || !FIELD_VALUE.test(value)) {
      throw new TypeError(`Cannot connect: invalid CONNECT header field "${name}"`);
    }
  }
}

/** Throws `TypeError`/`RangeError` for malformed connect options. */
export function validate(options: ConnectOptions): void {
  if (options.tunnel !== undefined) validateTunnel(options);
  if (options.unix !== undefined) {
    if (typeof options.unix !== "string" || options.unix === "") {
      throw new TypeError("Cannot connect: unix must be a non-empty socket path");
    }
    return;
  }
  if (typeof options.hostname !== "string" || options.hostname === "") {
    throw new TypeError("Cannot connect: hostname must be a non-empty string");
  }
  const { port } = options;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Cannot connect to ${options.hostname}: port ${port} is not 1 to 65535`);
  }
}

/** OS and Deno codes of a refused connection. */
export const REFUSED = new Set(["ECONNREFUSED", "ConnectionRefused"]);
/** OS and Deno codes of a broken connection. */
export const RESET = new Set([
  "ECONNRESET",
  "EPIPE",
  "ECONNABORTED",
  "ConnectionReset",
  "ConnectionAborted",
  "BrokenPipe",
  "UnexpectedEof",
]);
/** Codes of a name that does not resolve. */
export const DNS = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL", "EAI_NODATA"]);
/** Words of a TLS failure's message. */
export const TLS_MESSAGE = /certificate|handshake|tls|ssl|self[- ]signed|alert|alpn|verify/i;

/** The code of a runtime error: `code` (Node, Bun) or the Deno error class name. */
export function syscallCodeOf(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code !== "") return code;
  const name = (error as { name?: unknown } | null)?.name;
  if (typeof name === "string" && name !== "Error" && name !== "TypeError") return name;
  return null;
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Longest response head a proxy may send to `CONNECT`. */
const MAX_PROXY_HEAD = 16 * 1024;

/** `host:port` of a `CONNECT` request, with IPv6 in brackets. */
export function authorityOf(hostname: string, port: number): string {
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

/** The bytes of the `CONNECT` request to `authority`. */
export function connectRequest(
  authority: string,
  headers: ReadonlyArray<readonly [string, string]>,
): string {
  let head = `CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  return `${head}\r\n`;
}

/**
 * Checks the proxy's response head (`\r\n\r\n` included): resolves nothing
 * for a 2xx, else throws a {@linkcode ProxyAnswerError}.
 */
export function checkProxyHead(head: string, proxy: string): void {
  const match = /^HTTP\/1\.[01] (\d{3})(?: ([^\r\n]*))?\r\n/.exec(head);
  if (match === null) {
    throw new ProxyAnswerError(null, `the proxy ${proxy} did not answer CONNECT with HTTP`);
  }
  const status = Number(match[1]);
  if (status < 200 || status > 299) {
    const reason = match[2] ? ` ${match[2]}` : "";
    throw new ProxyAnswerError(
      status,
      `the proxy ${proxy} answered CONNECT with ${status}${reason}`,
    );
  }
}

/**
 * Sends `CONNECT` on `socket` and reads the proxy's answer up to its head's
 * end, no further: the socket is left paused, with any bytes after the head
 * put back (`unshift`) for whoever reads next.
 */
function connectHandshake(
  socket: Socket,
  request: string,
  proxy: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let buffered = new Uint8Array(0);
    const cleanup = (): void => {
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("error", onError);
      socket.off("close", onEnd);
      signal?.removeEventListener("abort", onAbort);
    };
    const fail = (error: Error): void => {
      cleanup();
      socket.on("error", () => {});
      socket.destroy();
      reject(error);
    };
    const onError = (error: Error): void => fail(error);
    const onEnd = (): void => fail(new Error("the proxy closed the connection during CONNECT"));
    const onAbort = (): void => fail(new Error("Aborted"));
    const onData = (chunk: Uint8Array): void => {
      const joined = new Uint8Array(buffered.length + chunk.length);
      joined.set(buffered);
      joined.set(chunk, buffered.length);
      buffered = joined;
      const end = headEnd(buffered);
      if (end === -1) {
        if (buffered.length > MAX_PROXY_HEAD) {
          fail(new ProxyAnswerError(null, `the proxy ${proxy} sent a response head over 16 KiB`));
        }
        return;
      }
      socket.pause();
      cleanup();
      try {
        checkProxyHead(new TextDecoder().decode(buffered.subarray(0, end)), proxy);
      } catch (error) {
        return fail(error as Error);
      }
      if (end < buffered.length) socket.unshift(buffered.subarray(end));
      resolve();
    };
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("close", onEnd);
    socket.once("error", onError);
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.write(request);
    socket.resume();
  });
}

/** The index just after the first `\r\n\r\n` of `bytes`, or -1. */
function headEnd(bytes: Uint8Array): number {
  for (let i = 3; i < bytes.length; i++) {
    if (
      bytes[i] === 10 && bytes[i - 1] === 13 && bytes[i - 2] === 10 && bytes[i - 3] === 13
    ) return i + 1;
  }
  return -1;
}

/**
 * {@linkcode Dial} of a tunnel (`options.tunnel`): TCP (or TLS) to the proxy,
 * `CONNECT hostname:port`, then TLS to the target over the tunnel when
 * `options.tls` is given. One `node:net`/`node:tls` path on every runtime.
 */
export async function nodeTunnelDial(
  options: ConnectOptions,
  progress: DialProgress,
): Promise<Conn> {
  const tunnel = options.tunnel!;
  const { tls, signal } = options;
  const proxy = authorityOf(tunnel.proxyHostname, tunnel.proxyPort);
  const target = {
    host: tunnel.proxyHostname,
    port: tunnel.proxyPort,
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
  };
  const proxyTls = tunnel.proxyTls;
  const proxyName = proxyTls?.servername ??
    (isIP(tunnel.proxyHostname) === 0 ? tunnel.proxyHostname : undefined);
  progress.tlsName = proxyName ?? tunnel.proxyHostname;
  const socket = await openSocket(target, proxyTls, proxyName, progress, signal);
  progress.phase = "proxy";
  delete progress.tlsName;
  const request = connectRequest(
    authorityOf(options.hostname, options.port),
    tunnel.headers ?? [],
  );
  await connectHandshake(socket, request, proxy, signal);
  if (tls === undefined) return new NodeConn(socket, null, null);
  progress.phase = "tls";
  // A TLS server speaks only after the ClientHello: a byte before it would be
  // lost to the TLS layer, which reads from the socket's handle directly.
  if (socket.readableLength > 0) {
    socket.destroy();
    throw new ProxyAnswerError(null, `the proxy ${proxy} sent bytes before the TLS handshake`);
  }
  const secure: TLSSocket = tlsConnect({ socket, ...tlsOptionsOf(tls, serverNameOf(options)) });
  await settle(secure, "secureConnect", signal, socket);
  return new NodeConn(secure, null, true);
}
