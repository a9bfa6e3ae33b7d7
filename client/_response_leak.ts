/**
 * The leak report of `ClientResponse`: a response garbage-collected while its
 * connection still waits for the body to be read closes that connection and
 * emits a warning naming the request.
 *
 * @module
 */

import type { ClientConnection } from "./_connection.ts";

/** The warning code of an unread response found by the garbage collector. */
export const LEAK_WARNING_CODE = "SLUICE_WARN_CLIENT_UNREAD_RESPONSE";

/**
 * What the registry holds for a response (and its clones). It must not
 * reference the response itself, or the response could never be collected.
 *
 * @example
 * ```ts ignore
 * const state: LeakState = { connection, requests: connection.requests, method: "GET", url, live: 1, released: false };
 * ```
 */
export interface LeakState {
  /** The connection the response came on, or `null` for a detached response. */
  connection: ClientConnection | null;
  /** `connection.requests` when the response arrived: tells this exchange from later ones. */
  requests: number;
  /** The request method. */
  method: string;
  /** The request URL. */
  url: string;
  /** Responses (the original and its clones) not yet collected. */
  live: number;
  /** Whether `release()` was called. */
  released: boolean;
}

/**
 * Whether the exchange of `state` is still waiting for its body to be read
 * (not when it is draining: the body was cancelled, failed or released).
 *
 * @example
 * ```ts ignore
 * if (pending(state)) state.connection!.release();
 * ```
 */
export function pending(state: LeakState): boolean {
  const connection = state.connection;
  return connection !== null && connection.requests === state.requests && connection.busy &&
    !connection.draining && !connection.isClosed;
}

function collected(state: LeakState): void {
  if (--state.live > 0 || state.released || !pending(state)) return;
  void state.connection!.close();
  warn(
    `Unread response body of ${state.method} ${state.url} was garbage-collected: ` +
      "its connection was closed. Read the body, or call release() (or use `await using`).",
  );
}

interface WarningProcess {
  emitWarning?: (message: string, options: { type: string; code: string }) => void;
}

function warn(message: string): void {
  const process = (globalThis as { process?: WarningProcess }).process;
  if (typeof process?.emitWarning === "function") {
    process.emitWarning(message, { type: "SluiceWarning", code: LEAK_WARNING_CODE });
  } else {
    console.warn(`SluiceWarning [${LEAK_WARNING_CODE}]: ${message}`);
  }
}

const registry: FinalizationRegistry<LeakState> | null = typeof FinalizationRegistry === "function"
  ? new FinalizationRegistry<LeakState>(collected)
  : null;

/**
 * Watches `target`: once it is collected (and every other response sharing
 * `state` too), a still-pending exchange is closed and reported.
 *
 * @example
 * ```ts ignore
 * watch(response, state);
 * ```
 */
export function watch(target: object, state: LeakState): void {
  if (registry === null || state.connection === null) return;
  state.live++;
  registry.register(target, state);
}
