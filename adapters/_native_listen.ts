/**
 * Listening pieces the native backends share: option validation with the
 * same messages as the transports, runtime errors as {@linkcode ListenError},
 * removal of a stale Unix socket file, and bounded waits for shutdown.
 *
 * @module
 */

import { ListenError } from "./transport.ts";
import { errorCode, listenFailure } from "./_listen.ts";

export { describeListen, removeStaleSocket, tcpAddress } from "./_listen.ts";

/** A `SLUICE_ERR_LISTEN_UNSUPPORTED` error for what `server` cannot do. */
export function unsupported(where: string, server: string, what: string): ListenError {
  return new ListenError(
    "SLUICE_ERR_LISTEN_UNSUPPORTED",
    `Cannot listen on ${where} with ${server}: ${what}; use the "sluice" engine for it`,
    { address: where },
  );
}

/** A runtime's listen failure as a {@linkcode ListenError} (the OS code from `error.code`). */
export function toListenError(error: unknown, where: string): ListenError {
  const message = error instanceof Error ? error.message : String(error);
  let syscallCode = errorCode(error);
  if (syscallCode !== null && !/^E[A-Z]+$/.test(syscallCode)) syscallCode = null;
  // Deno reports a name that does not resolve in words only.
  if (syscallCode === null && /lookup address|Name or service not known/i.test(message)) {
    syscallCode = "ENOTFOUND";
  }
  return listenFailure(error, where, syscallCode);
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

/**
 * A `RunningServer.shutdown`: checks the timeout, runs `stop` once, and
 * returns the same promise to every later call.
 */
export function onceShutdown(
  stop: (timeout: number) => Promise<void>,
): (timeout: number) => Promise<void> {
  let stopped: Promise<void> | null = null;
  return (timeout) => {
    if (stopped !== null) return stopped;
    try {
      checkTimeout(timeout);
    } catch (error) {
      return Promise.reject(error);
    }
    return stopped = stop(timeout);
  };
}
