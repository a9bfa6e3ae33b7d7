/**
 * Sending a stream request body, with write backpressure.
 *
 * @module
 */

import type { Conn } from "../adapters/transport.ts";
import { encodeChunk, encodeLastChunk } from "../http1/mod.ts";
import type { Exchange } from "./_connection_types.ts";
import { ClientPayloadError } from "./errors.ts";

/** Stream chunks below this are framed in one buffer; larger ones in three writes. */
export const SMALL_CHUNK = 16 * 1024;

/**
 * What {@linkcode pumpBody} needs from its connection.
 *
 * @example
 * ```ts ignore
 * const host: PumpHost = { conn, isClosed: false, drained: () => waitForDrain(), fail: (ex, e) => {} };
 * ```
 */
export interface PumpHost {
  /** The transport connection. */
  readonly conn: Conn;
  /** Whether the transport connection closed. */
  readonly isClosed: boolean;
  /** Resolves on the next drain, close, or stop of the exchange. */
  drained(): Promise<void>;
  /** Fails the exchange (rejects its head or errors its body) and destroys the connection. */
  fail(ex: Exchange, error: unknown): void;
}

/**
 * Sends a stream body, waiting for drains; stops when the exchange stops
 * (`stopSending` or `done`). Sets `ex.sendDone` once everything was written.
 *
 * @param host The connection.
 * @param ex The exchange.
 * @param stream The body.
 * @param length The exact length it must give, or `null`.
 * @param chunked Frame it with the chunked coding.
 * @returns Resolves when sending stopped (it never rejects: failures go to `host.fail`).
 *
 * @example
 * ```ts ignore
 * void pumpBody(host, ex, body, null, true);
 * ```
 */
export async function pumpBody(
  host: PumpHost,
  ex: Exchange,
  stream: ReadableStream<Uint8Array>,
  length: number | null,
  chunked: boolean,
): Promise<void> {
  const conn = host.conn;
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = stream.getReader();
  } catch (error) {
    host.fail(ex, error);
    return;
  }
  ex.reader = reader;
  let sent = 0;
  try {
    for (;;) {
      if (ex.stopSending || ex.done) return;
      const { done, value } = await reader.read();
      if (ex.stopSending || ex.done) return;
      if (done) break;
      if (!(value instanceof Uint8Array)) {
        throw new TypeError(
          "Cannot send request body: the stream gave a chunk that is not a Uint8Array",
        );
      }
      if (value.length === 0) continue;
      sent += value.length;
      if (length !== null && sent > length) throw mismatch(sent, length, "more");
      let ok: boolean;
      if (!chunked) ok = conn.write(value);
      else if (value.length <= SMALL_CHUNK) ok = conn.write(encodeChunk(value));
      else {
        conn.writeLatin1(`${value.length.toString(16)}\r\n`);
        conn.write(value);
        ok = conn.writeLatin1("\r\n");
      }
      ex.onChunkSent?.(value.length, sent);
      if (!ok && !host.isClosed) await host.drained();
    }
    if (length !== null && sent !== length) throw mismatch(sent, length, "fewer");
    if (chunked) conn.write(encodeLastChunk());
    ex.sendDone = true;
  } catch (error) {
    reader.cancel(error).catch(() => {});
    host.fail(ex, error);
  } finally {
    ex.reader = null;
  }
}

/**
 * Sends a body after its head: bytes in one write, a stream through
 * {@linkcode pumpBody}; reports progress (a throwing callback fails the
 * exchange).
 *
 * @param host The connection.
 * @param ex The exchange.
 * @param body The body.
 * @param length The exact length a stream must give, or `null`.
 * @param chunked Frame a stream with the chunked coding.
 *
 * @example
 * ```ts ignore
 * sendBody(host, ex, new TextEncoder().encode("hello"), null, false);
 * ```
 */
export function sendBody(
  host: PumpHost,
  ex: Exchange,
  body: Uint8Array | ReadableStream<Uint8Array>,
  length: number | null,
  chunked: boolean,
): void {
  if (!(body instanceof Uint8Array)) {
    void pumpBody(host, ex, body, length, chunked);
    return;
  }
  host.conn.write(body);
  ex.sendDone = true;
  sentBytes(host, ex, body.length);
}

/**
 * Reports a bytes body as sent to the progress callback, failing the exchange when it throws.
 *
 * @param host The connection.
 * @param ex The exchange.
 * @param n The body's length (nothing is reported for 0).
 *
 * @example
 * ```ts ignore
 * sentBytes(host, ex, 5);
 * ```
 */
export function sentBytes(host: PumpHost, ex: Exchange, n: number): void {
  const onChunkSent = ex.onChunkSent;
  if (onChunkSent === undefined || n === 0) return;
  try {
    onChunkSent(n, n);
  } catch (error) {
    host.fail(ex, error);
  }
}

/**
 * Holds a body until `100 Continue` ({@linkcode Exchange.held}, called by the
 * connection) or until `waitMs` passed, then sends it (RFC 9110 §10.1.1).
 *
 * @param host The connection.
 * @param ex The exchange, its head sent with `Expect: 100-continue`.
 * @param body The body.
 * @param length The exact length a stream must give, or `null`.
 * @param chunked Frame a stream with the chunked coding.
 * @param waitMs The longest wait for `100 Continue`.
 *
 * @example
 * ```ts ignore
 * holdBody(host, ex, body, null, true, 1000);
 * ```
 */
export function holdBody(
  host: PumpHost,
  ex: Exchange,
  body: Uint8Array | ReadableStream<Uint8Array>,
  length: number | null,
  chunked: boolean,
  waitMs: number,
): void {
  const send = (): void => {
    if (ex.held !== send) return;
    clearTimeout(ex.continueTimer);
    ex.held = null;
    ex.heldBody = null;
    if (ex.done || ex.stopSending) return;
    sendBody(host, ex, body, length, chunked);
  };
  ex.held = send;
  ex.heldBody = body;
  ex.continueTimer = setTimeout(send, waitMs);
}

/**
 * Gives up a held body: stops the wait and cancels a held stream.
 *
 * @param ex The exchange.
 * @param reason Why (passed to the stream's `cancel`).
 *
 * @example
 * ```ts ignore
 * dropHeld(ex, new Error("answered early"));
 * ```
 */
export function dropHeld(ex: Exchange, reason: unknown): void {
  const held = ex.heldBody;
  clearTimeout(ex.continueTimer);
  ex.held = null;
  ex.heldBody = null;
  if (held !== null && !(held instanceof Uint8Array)) held.cancel(reason).catch(() => {});
}

function mismatch(sent: number, length: number, what: string): ClientPayloadError {
  return new ClientPayloadError(
    "SLUICE_ERR_CLIENT_PAYLOAD_LENGTH_MISMATCH",
    `Cannot send request body: the stream gave ${what} bytes (${sent}) than contentLength ${length}`,
  );
}
