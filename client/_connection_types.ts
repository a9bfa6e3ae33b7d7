/**
 * The plain types of a client connection: options, request, response and the
 * exchange state.
 *
 * @module
 */

import type { ResponseHead } from "../http1/mod.ts";
import type { ClientConnection } from "./_connection.ts";
import type { RequestBody } from "./_connection_request.ts";

/**
 * Options of a {@linkcode ClientConnection}.
 *
 * @example
 * ```ts
 * import type { ClientConnectionOptions } from "./_connection.ts";
 *
 * const options: ClientConnectionOptions = { maxHeaderSize: 8190, onIdle: () => {} };
 * ```
 */
export interface ClientConnectionOptions {
  /** Longest response header line. Default 8190. */
  maxHeaderSize?: number;
  /** Most header fields in a response head. Default 128. */
  maxHeaders?: number;
  /** Longest status line. Default 8190. */
  maxStatusLineSize?: number;
  /** Called (in a microtask) when an exchange finished and the connection can take another request. */
  onIdle?: (connection: ClientConnection) => void;
}

/**
 * One request for {@linkcode ClientConnection.request}.
 *
 * @example
 * ```ts
 * import type { ConnectionRequest } from "./_connection.ts";
 *
 * const request: ConnectionRequest = { method: "GET", target: "/", headers: [["host", "example.test"]] };
 * ```
 */
export interface ConnectionRequest {
  /** The method, e.g. `"GET"`. */
  method: string;
  /** The request-target, e.g. `"/path?q=1"`. */
  target: string;
  /** The header fields in order, `Host` included; framing fields are added. */
  headers: ReadonlyArray<readonly [string, string]>;
  /** The body: bytes (sent with `Content-Length`) or a stream (chunked, or with `contentLength`). */
  body?: RequestBody;
  /** The exact length of a stream body, or `null` to send it chunked. */
  contentLength?: number | null;
  /** Aborting destroys the connection; the request rejects (or its body errors) with the reason. */
  signal?: AbortSignal;
}

/**
 * A response head, with the body still to read.
 *
 * @example
 * ```ts
 * import type { ConnectionResponse } from "./_connection.ts";
 *
 * function describe(res: ConnectionResponse): string {
 *   return `HTTP/${res.httpVersion} ${res.status} ${res.statusText}`;
 * }
 * ```
 */
export interface ConnectionResponse {
  /** The status code. */
  status: number;
  /** The reason phrase as sent. */
  statusText: string;
  /** The header fields. */
  headers: Headers;
  /** The body, or `null` when the response has none (HEAD, 204, 304, …). */
  body: ReadableStream<Uint8Array> | null;
  /** `"1.1"` or `"1.0"`. */
  httpVersion: "1.0" | "1.1";
}

/**
 * The state of the request in flight (internal to the connection).
 *
 * @example
 * ```ts
 * import type { Exchange } from "./_connection_types.ts";
 *
 * const isReading = (ex: Exchange): boolean => ex.head !== null && !ex.done;
 * ```
 */
export interface Exchange {
  method: string;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
  resolve: (response: ConnectionResponse) => void;
  reject: (error: unknown) => void;
  head: ResponseHead | null;
  interim: boolean;
  controller: ReadableStreamDefaultController<Uint8Array> | null;
  /** The body consumer went away (`cancel()` or `release()`): bytes are dropped. */
  discarding: boolean;
  discarded: number;
  received: number;
  gotBytes: boolean;
  sendDone: boolean;
  stopSending: boolean;
  requestClose: boolean;
  reader: ReadableStreamDefaultReader<Uint8Array> | null;
  done: boolean;
}
