/**
 * The plain types of a client connection: options, request, response and the
 * exchange state.
 *
 * @module
 */

import type { ResponseHead } from "../http1/mod.ts";
import type { ClientConnection } from "./_connection.ts";
import type { BodyChannel } from "./_body_channel.ts";
import type { AbortSource } from "./timeouts.ts";
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
  /**
   * Called at once (inside the read that finished the response) when an
   * exchange finished and the connection may take another request; `onIdle`
   * follows in a microtask.
   */
  onEnded?: (connection: ClientConnection) => void;
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
  /** The header fields in order; framing fields are added. */
  headers: ReadonlyArray<readonly [string, string]>;
  /** A `Host` value, sent first unless `headers` has a `Host` field. */
  host?: string;
  /** The body: bytes (sent with `Content-Length`) or a stream (chunked, or with `contentLength`). */
  body?: RequestBody;
  /** The exact length of a stream body, or `null` to send it chunked. */
  contentLength?: number | null;
  /** Aborting destroys the connection; the request rejects (or its body errors) with the reason. */
  signal?: AbortSource;
  /**
   * Send `Expect: 100-continue` and hold a non-empty body until the server's
   * `100 Continue` (RFC 9110 §10.1.1): `true` waits at most 1000 ms, a number
   * at most that many ms; then the body is sent anyway. A final response that
   * comes first is the answer: the body is never sent (a held stream is
   * cancelled) and the connection is closed after that response. A caller's
   * own `Expect: 100-continue` field counts as `true`. Ignored (and no field
   * added) when the body is empty.
   */
  expect100?: number | boolean;
  /**
   * Upload progress: called after each body write with the bytes of that
   * write and the running total (a bytes body: once, with its length; a
   * stream: per non-empty chunk). A callback that throws fails the request
   * with what it threw, as a failing body stream does.
   */
  onChunkSent?: (bytes: number, total: number) => void;
  /** Called once the request head is handed to the socket, before any body write. */
  onHeadSent?: () => void;
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
  readonly body: ReadableStream<Uint8Array> | null;
  /** `"1.1"` or `"1.0"`. */
  httpVersion: "1.0" | "1.1";
  /**
   * The trailer fields of a chunked body, once the body ended: empty
   * `Headers` when there were none, and when the body failed or was given up
   * (never rejects). Read the body first: an unread body holds it back.
   */
  readonly trailers: Promise<Headers>;
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
  signal: AbortSource | undefined;
  onAbort: (() => void) | null;
  resolve: (response: ConnectionResponse) => void;
  reject: (error: unknown) => void;
  head: ResponseHead | null;
  interim: boolean;
  /** Where the body's chunks go, while the consumer wants them. */
  channel: BodyChannel | null;
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
  /** Upload progress callback. */
  onChunkSent: ((bytes: number, total: number) => void) | undefined;
  /** Sends the body held for `100 Continue`; `null` when nothing is held. */
  held: (() => void) | null;
  /** The body held for `100 Continue`, to cancel when it is never sent. */
  heldBody: ReadableStream<Uint8Array> | Uint8Array | null;
  /** The `100 Continue` wait. */
  continueTimer: ReturnType<typeof setTimeout> | undefined;
  /** The bounded wait for a released body's remainder. */
  drainTimer: ReturnType<typeof setTimeout> | undefined;
  /** The trailer fields (flat pairs) once the body ended, or `null`. */
  trailers: string[] | null;
  /** Settles a `trailers` promise somebody asked for before the body ended. */
  onTrailers: ((trailers: Headers) => void) | null;
  /** Called once when the exchange ends on the wire (complete or failed). */
  onEnd: (() => void) | null;
}
