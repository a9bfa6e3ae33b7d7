/**
 * Errors of one client connection, and how codec and transport failures map
 * onto the client's typed errors.
 *
 * @module
 */

import type { Address } from "../adapters/transport.ts";
import { HttpParseError } from "../http1/mod.ts";
import {
  ClientConnectionError,
  type ClientConnectionErrorCode,
  ClientPayloadError,
  type ClientPayloadErrorCode,
} from "./errors.ts";

/**
 * The connection closed (or broke) before a complete response head arrived.
 * `beforeAnyByte` is `true` when not a single byte of the response came back:
 * the only case in which a pool may retry an idempotent request on a fresh
 * connection (the server cannot have acted on a request it never answered…
 * as far as HTTP can tell).
 *
 * @example Decide whether a request may be retried
 * ```ts
 * import { ConnectionClosedError } from "./_connection_errors.ts";
 * import assert from "node:assert/strict";
 *
 * const err = new ConnectionClosedError(
 *   "SLUICE_ERR_CLIENT_CONNECTION_CLOSED",
 *   "Cannot read response: connection closed before any byte of the response",
 *   { host: "127.0.0.1", port: 8080, beforeAnyByte: true },
 * );
 * assert.equal(err.beforeAnyByte, true);
 * ```
 */
export class ConnectionClosedError extends ClientConnectionError {
  /** No byte of the response was received before the connection ended. */
  readonly beforeAnyByte: boolean;

  /**
   * Creates the error.
   *
   * @param code `..._CONNECTION_CLOSED` (orderly EOF) or `..._CONNECTION_RESET` (the socket broke).
   * @param message "Cannot read response: reason".
   * @param details The peer, the flag and the transport's error.
   */
  constructor(
    code: ClientConnectionErrorCode,
    message: string,
    details: { host: string; port: number; beforeAnyByte: boolean; cause?: unknown },
  ) {
    super(code, message, details);
    this.beforeAnyByte = details.beforeAnyByte;
  }
}

/**
 * Code of a response whose head (status line, fields, framing) is malformed.
 * Not yet in `ClientPayloadErrorCode` (errors.ts); see the report of issue 6
 * step 1 for the one-line addition.
 */
export const MALFORMED_CODE: ClientPayloadErrorCode = "SLUICE_ERR_CLIENT_PAYLOAD_MALFORMED";

const CHUNK_CODES = new Set<string>([
  "SLUICE_ERR_HTTP_INVALID_CHUNK_SIZE",
  "SLUICE_ERR_HTTP_INVALID_CHUNK_EXTENSION",
  "SLUICE_ERR_HTTP_CHUNK_EXTENSIONS_TOO_LARGE",
  "SLUICE_ERR_HTTP_INVALID_CHUNK_DATA",
]);

/** The peer as host and port, for error details. */
export function peerOf(address: Address): { host: string; port: number } {
  return address.transport === "tcp"
    ? { host: address.hostname, port: address.port }
    : { host: `unix:${address.path}`, port: 0 };
}

/**
 * Maps a parse failure to the client's error.
 *
 * @param error What `feed()`/`finish()` threw.
 * @param inBody Whether the final head had already been read.
 * @param gotBytes Whether any response byte had arrived.
 * @param peer Host and port for connection errors.
 * @returns The error to reject or error the body with.
 */
export function mapParseError(
  error: unknown,
  inBody: boolean,
  gotBytes: boolean,
  peer: { host: string; port: number },
): Error {
  if (!(error instanceof HttpParseError)) {
    return error instanceof Error ? error : new Error(String(error));
  }
  if (error.code === "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE") {
    return inBody ? truncated(error) : closedBeforeHead(null, gotBytes, peer, error);
  }
  if (CHUNK_CODES.has(error.code)) {
    return new ClientPayloadError(
      "SLUICE_ERR_CLIENT_PAYLOAD_BAD_CHUNKING",
      `Cannot read response body: ${error.message}`,
      { cause: error },
    );
  }
  return new ClientPayloadError(MALFORMED_CODE, `Cannot read response: ${error.message}`, {
    cause: error,
  });
}

/** The body ended early. */
export function truncated(cause: unknown, detail = "connection closed"): ClientPayloadError {
  return new ClientPayloadError(
    "SLUICE_ERR_CLIENT_PAYLOAD_TRUNCATED",
    `Cannot read response body: ${detail} before the end of the body`,
    cause === null ? undefined : { cause },
  );
}

/** The connection ended before a complete head; `transportError` makes it a reset. */
export function closedBeforeHead(
  transportError: Error | null,
  gotBytes: boolean,
  peer: { host: string; port: number },
  cause: unknown = transportError,
): ConnectionClosedError {
  const code = transportError === null
    ? "SLUICE_ERR_CLIENT_CONNECTION_CLOSED"
    : "SLUICE_ERR_CLIENT_CONNECTION_RESET";
  const what = transportError === null ? "closed" : "reset";
  return new ConnectionClosedError(
    code,
    gotBytes
      ? `Cannot read response: connection ${what} in the middle of the response head`
      : `Cannot read response: connection ${what} before any byte of the response`,
    { ...peer, beforeAnyByte: !gotBytes, cause: cause ?? undefined },
  );
}
