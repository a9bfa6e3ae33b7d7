/**
 * What every transport does the same way around `listen()`: validating
 * {@linkcode ListenOptions}, naming the address in messages, turning OS
 * errors into {@linkcode ListenError}, and clearing or removing Unix socket
 * files. Written over `node:fs` and `node:net`, which Deno, Bun and Node all
 * have.
 *
 * @module
 */

import { lstat, unlink } from "node:fs/promises";
import { connect } from "node:net";
import { type Address, ListenError, type ListenOptions } from "./transport.ts";

/** How long the check for a live process behind an existing Unix socket file may take. */
const STALE_PROBE_MS = 1000;

const REASONS: Record<string, string> = {
  EADDRINUSE: "the address is already in use",
  EACCES: "permission denied",
  EADDRNOTAVAIL: "the address is not available on this host",
  ENOTFOUND: "the hostname does not resolve",
  ENOENT: "no such directory",
  EINVAL: "invalid argument",
  EBADF: "not an open file descriptor",
  ENOTSOCK: "not a socket",
};

/**
 * Validates `options` and names where they point, for messages:
 * `127.0.0.1:8080`, `[::1]:80`, `unix:/run/app.sock`, `fd 3`. Throws
 * `TypeError` or `RangeError` for contradicting or malformed options.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(describeListen({ hostname: "::1", port: 80 }), "[::1]:80");
 * ```
 */
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

/**
 * The OS error code (`"EADDRINUSE"`, …) an error carries, or `null`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(errorCode(Object.assign(new Error("x"), { code: "EACCES" })), "EACCES");
 * ```
 */
export function errorCode(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : null;
}

/**
 * A {@linkcode ListenError} `SLUICE_ERR_LISTEN` for an OS error, its reason
 * said in words when the code is a common one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const error = listenFailure(new Error("bind"), "127.0.0.1:80", "EACCES");
 * assert.equal(error.message, "Cannot listen on 127.0.0.1:80: permission denied (EACCES)");
 * ```
 */
export function listenFailure(
  error: unknown,
  where: string,
  syscallCode: string | null = errorCode(error),
): ListenError {
  if (error instanceof ListenError) return error;
  const reason = syscallCode === "EINVAL" && where.startsWith("fd ")
    ? "not a listening socket (EINVAL)"
    : syscallCode !== null && syscallCode in REASONS
    ? `${REASONS[syscallCode]} (${syscallCode})`
    : error instanceof Error
    ? error.message
    : String(error);
  return new ListenError("SLUICE_ERR_LISTEN", `Cannot listen on ${where}: ${reason}`, {
    address: where,
    syscallCode,
    cause: error,
  });
}

/**
 * A {@linkcode ListenError} `SLUICE_ERR_LISTEN_UNSUPPORTED`: the runtime
 * cannot do what the options ask, for `reason`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const error = listenUnsupported("fd 3", "no fd adoption here");
 * assert.equal(error.code, "SLUICE_ERR_LISTEN_UNSUPPORTED");
 * ```
 */
export function listenUnsupported(where: string, reason: string): ListenError {
  return new ListenError("SLUICE_ERR_LISTEN_UNSUPPORTED", `Cannot listen on ${where}: ${reason}`, {
    address: where,
  });
}

/** Whether something accepts connections on the Unix socket at `path` (bounded by a timer). */
function acceptsConnections(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const done = (alive: boolean) => {
      clearTimeout(timer);
      resolve(alive);
    };
    // Slow to answer is not proof of death: keep the file.
    const timer = setTimeout(() => {
      socket.destroy();
      done(true);
    }, STALE_PROBE_MS);
    socket.once("connect", () => {
      // Hang up politely: whoever listens there gets an EOF, not a reset.
      socket.resume();
      socket.end();
      const linger = setTimeout(() => socket.destroy(), STALE_PROBE_MS);
      (linger as { unref?: () => void }).unref?.();
      done(true);
    });
    socket.on("error", (error: Error) => {
      socket.destroy();
      const code = errorCode(error);
      done(code !== "ECONNREFUSED" && code !== "ENOENT");
    });
  });
}

/**
 * Clears the way for a Unix socket at `path`: a socket file nobody accepts on
 * (left by a process that died) is removed; anything else stays, and listen
 * fails with `EADDRINUSE`.
 *
 * @example
 * ```ts
 * await removeStaleSocket("/tmp/nothing-here.sock", "unix:/tmp/nothing-here.sock");
 * ```
 */
export async function removeStaleSocket(path: string, where: string): Promise<void> {
  let info;
  try {
    info = await lstat(path);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return;
    throw listenFailure(error, where);
  }
  const inUse = (reason: string) =>
    new ListenError("SLUICE_ERR_LISTEN", `Cannot listen on ${where}: ${reason} (EADDRINUSE)`, {
      address: where,
      syscallCode: "EADDRINUSE",
    });
  if (!info.isSocket()) throw inUse("a file that is not a socket is in the way");
  if (await acceptsConnections(path)) throw inUse("another process listens on it");
  try {
    await unlink(path);
  } catch (error) {
    if (errorCode(error) !== "ENOENT") throw listenFailure(error, where);
  }
}

/**
 * The socket file a listener made, known by its inode, so that closing removes
 * that file and not one another process put there since.
 *
 * @example
 * ```ts
 * const file: SocketFile = { path: "/run/app.sock", ino: 12, dev: 2049 };
 * ```
 */
export interface SocketFile {
  /** Where it is. */
  path: string;
  /** Its inode number. */
  ino: number;
  /** The device it is on. */
  dev: number;
}

/**
 * The socket file at `path` (after listening on it), or `null` when there is
 * none to remove later: an abstract socket (`\0…`) or a file already gone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(await socketFileAt("\0abstract"), null);
 * ```
 */
export async function socketFileAt(path: string): Promise<SocketFile | null> {
  if (path.startsWith("\0")) return null;
  const info = await lstat(path).catch(() => null);
  return info === null ? null : { path, ino: info.ino, dev: info.dev };
}

/**
 * Removes a listener's socket file unless someone else's now has the path
 * (same inode only). Never fails: the runtime may have removed it already.
 *
 * @example
 * ```ts
 * await removeSocketFile(null);
 * ```
 */
export async function removeSocketFile(file: SocketFile | null): Promise<void> {
  if (file === null) return;
  try {
    const info = await lstat(file.path);
    if (info.isSocket() && info.ino === file.ino && info.dev === file.dev) {
      await unlink(file.path);
    }
  } catch {
    // Already gone.
  }
}

const encoder = new TextEncoder();

/**
 * The bytes of a Latin-1 string (each character below U+0100 becomes one
 * byte), for transports that implement `Conn.writeLatin1` with `write()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(latin1Bytes("A\xe9"), new Uint8Array([0x41, 0xe9]));
 * ```
 */
export function latin1Bytes(text: string): Uint8Array {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) {
      const out = new Uint8Array(text.length);
      for (let j = 0; j < text.length; j++) out[j] = text.charCodeAt(j);
      return out;
    }
  }
  return encoder.encode(text);
}

/**
 * A TCP {@linkcode Address}; an unknown host or port (a peer that reset the
 * connection before it was accepted) gives the empty address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(tcpAddress("::1", 80).family, "IPv6");
 * assert.equal(tcpAddress(undefined, undefined).hostname, "");
 * ```
 */
export function tcpAddress(hostname: string | undefined, port: number | undefined): Address {
  if (hostname === undefined || port === undefined) {
    return { transport: "tcp", hostname: "", port: 0, family: "IPv4" };
  }
  return { transport: "tcp", hostname, port, family: hostname.includes(":") ? "IPv6" : "IPv4" };
}

/**
 * `value` as an `Error` (thrown non-errors wrapped).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(asError("x").message, "x");
 * ```
 */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** ALPN protocol names in the wire format Bun takes: each one prefixed by its length. */
export function alpnWire(protocols: readonly string[]): Uint8Array {
  const names = protocols.map((name) => new TextEncoder().encode(name));
  const out = new Uint8Array(names.reduce((n, name) => n + 1 + name.length, 0));
  let at = 0;
  for (const name of names) {
    if (name.length === 0 || name.length > 255) {
      throw new TypeError(
        "Cannot listen with TLS: each ALPN protocol name must be 1 to 255 bytes long",
      );
    }
    out[at++] = name.length;
    out.set(name, at);
    at += name.length;
  }
  return out;
}
