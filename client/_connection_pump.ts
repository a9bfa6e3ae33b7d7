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

function mismatch(sent: number, length: number, what: string): ClientPayloadError {
  return new ClientPayloadError(
    "SLUICE_ERR_CLIENT_PAYLOAD_LENGTH_MISMATCH",
    `Cannot send request body: the stream gave ${what} bytes (${sent}) than contentLength ${length}`,
  );
}
