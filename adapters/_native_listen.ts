/**
 * Listening pieces the native backends share: option validation with the
 * same messages as the transports, runtime errors as {@linkcode ListenError},
 * removal of a stale Unix socket file, and bounded waits for shutdown.
 *
 * @module
 */

import { lstat, unlink } from "node:fs/promises";
import { connect } from "node:net";
import { type Address, ListenError, type ListenOptions } from "./transport.ts";

/** Where `options` point, as text for messages, validated (as `adapters/node.ts` does). */
export function describeListen(options: ListenOptions): string {
  const { hostname, port, path, fd, backlog, reusePort, tls } = options;
  if (backlog !== undefined && !(Number.isInteger(backlog) && backlog > 0)) {
    throw new RangeError(`Cannot listen: backlog must be a positive integer, got ${backlog}`);
  }
  if (tls !== undefined && (tls.cert === undefined || tls.key === undefined)) {
    throw new TypeError("Cannot listen with TLS: tls.cert and tls.key are both required");
  }
  if (fd !== undefined) {
    if (hostname !== undefined || port !== undefined || path !== undefined || reusePort) {
      throw new TypeError(
        "Cannot listen: fd adopts a bound socket, so hostname, port, path and reusePort do not apply",
      );
    }
    if (!(Number.isInteger(fd) && fd >= 0)) {
      throw new RangeError(`Cannot listen: fd must be a non-negative integer, got ${fd}`);
    }
    return `fd ${fd}`;
  }
  if (path !== undefined) {
    if (hostname !== undefined || port !== undefined || reusePort) {
      throw new TypeError(
        "Cannot listen: path is a Unix socket, so hostname, port and reusePort do not apply",
      );
    }
    if (typeof path !== "string" || path === "") {
      throw new TypeError("Cannot listen: path must be a non-empty string");
    }
    return `unix:${path}`;
  }
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new RangeError(`Cannot listen: port must be an integer in 0-65535, got ${port}`);
  }
  const host = hostname ?? "0.0.0.0";
  return host.includes(":") ? `[${host}]:${port ?? 0}` : `${host}:${port ?? 0}`;
}

/** A `SLUICE_ERR_LISTEN_UNSUPPORTED` error for what `server` cannot do. */
export function unsupported(where: string, server: string, what: string): ListenError {
  return new ListenError(
    "SLUICE_ERR_LISTEN_UNSUPPORTED",
    `Cannot listen on ${where} with ${server}: ${what}; use the "sluice" engine for it`,
    { address: where },
  );
}

const REASONS: Record<string, string> = {
  EADDRINUSE: "the address is already in use",
  EACCES: "permission denied",
  EADDRNOTAVAIL: "the address is not available on this host",
  ENOTFOUND: "the hostname does not resolve",
  ENOENT: "no such directory",
  EINVAL: "invalid argument",
};

/** A runtime's listen failure as a {@linkcode ListenError} (the OS code from `error.code`). */
export function toListenError(error: unknown, where: string): ListenError {
  if (error instanceof ListenError) return error;
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  let syscallCode = typeof code === "string" && /^E[A-Z]+$/.test(code) ? code : null;
  if (syscallCode === null && /lookup address|Name or service not known/i.test(message)) {
    syscallCode = "ENOTFOUND";
  }
  const reason = syscallCode !== null && syscallCode in REASONS
    ? `${REASONS[syscallCode]} (${syscallCode})`
    : message;
  return new ListenError("SLUICE_ERR_LISTEN", `Cannot listen on ${where}: ${reason}`, {
    address: where,
    syscallCode,
    cause: error,
  });
}

/** Whether something accepts connections on the Unix socket at `path` (within 1 s). */
function acceptsConnections(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const done = (alive: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(alive);
    };
    // Slow to answer is not proof of death: keep the file.
    const timer = setTimeout(() => done(true), 1000);
    socket.once("connect", () => done(true));
    socket.once("error", (error: Error & { code?: string }) => {
      done(error.code !== "ECONNREFUSED" && error.code !== "ENOENT");
    });
  });
}

/**
 * Clears the way for a Unix socket at `path`: a socket file nobody accepts
 * on (left by a process that died) is removed; anything else stays, and
 * listening fails with `EADDRINUSE`.
 */
export async function removeStaleSocket(path: string, where: string): Promise<void> {
  if (path.startsWith("\0")) return;
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return;
    throw toListenError(error, where);
  }
  const inUse = (reason: string) =>
    new ListenError("SLUICE_ERR_LISTEN", `Cannot listen on ${where}: ${reason} (EADDRINUSE)`, {
      address: where,
      syscallCode: "EADDRINUSE",
    });
  if (!isSocket) throw inUse("a file that is not a socket is in the way");
  if (await acceptsConnections(path)) throw inUse("another process listens on it");
  await unlink(path).catch(() => {});
}

/** A TCP address from a runtime's hostname and port. */
export function tcpAddress(hostname: string, port: number): Address {
  return { transport: "tcp", hostname, port, family: hostname.includes(":") ? "IPv6" : "IPv4" };
}

/** PEM text of a certificate or key given as text or bytes. */
export function pemText(value: string | Uint8Array): string {
  return typeof value === "string" ? value : new TextDecoder().decode(value);
}

/** Checks a shutdown timeout (ms; `Infinity` waits forever). */
export function checkTimeout(timeout: number): void {
  if (typeof timeout !== "number" || !(timeout >= 0)) {
    throw new RangeError(
      `Cannot shut down: timeout must be a number of milliseconds ≥ 0, got ${timeout}`,
    );
  }
}

/** Resolves `true` when `promise` settles within `ms`, else `false` (rejections count as settled). */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  if (ms === Infinity) return promise.then(() => true, () => true);
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.then(() => true, () => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer));
}
