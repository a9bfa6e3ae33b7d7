/**
 * {@linkcode byteStream}: a readable byte stream (`type: "bytes"`) over a
 * pull-based chunk source, so that `getReader({ mode: "byob" })` works on
 * the bodies we hand out, as it does on `fetch`'s. A BYOB read is filled
 * straight from the source when it can (`readInto`: no buffer made per
 * read, which is what keeps memory flat while streaming a large body);
 * otherwise from the source's chunks, keeping what did not fit for the
 * next read. Internal.
 *
 * @module
 */

import { ownedBytes } from "./bytes.ts";

/** What a byte stream reads from. */
export interface ByteSource {
  /** The next chunk (never empty), or the end; rejects when the body failed. */
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  /**
   * Copies the next bytes into `view` (not empty): resolves to their count,
   * 0 at the end. Returns `null` when the source cannot (then `read()` is
   * used and copied).
   */
  readInto(view: Uint8Array): Promise<number> | null;
  /** The reader gave the body up. */
  cancel(reason: unknown): void | Promise<void>;
}

/**
 * A byte stream over `source`. Chunks handed to default readers are
 * transferred (the stream takes their buffer): a chunk that is a view of a
 * larger buffer is copied first, so no one else's bytes are detached.
 *
 * @example
 * ```ts ignore
 * const body = byteStream({ read, readInto: (view) => null, cancel });
 * const reader = body.getReader({ mode: "byob" });
 * const { value } = await reader.read(new Uint8Array(65536));
 * ```
 */
export function byteStream(source: ByteSource): ReadableStream<Uint8Array<ArrayBuffer>> {
  /** What a BYOB read had no room for: the start of the next read. */
  let rest: Uint8Array | null = null;
  return new ReadableStream({
    type: "bytes",
    pull: async (controller) => {
      const request = controller.byobRequest;
      const view = request?.view ?? null;
      if (request === null || request === undefined || view === null) {
        let chunk = rest;
        rest = null;
        if (chunk === null) {
          const result = await source.read();
          if (result.done) return controller.close();
          chunk = result.value;
        }
        return controller.enqueue(ownedBytes(chunk));
      }
      const target = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
      let n: number;
      if (rest !== null) {
        n = Math.min(rest.length, target.length);
        target.set(rest.subarray(0, n));
        rest = n === rest.length ? null : rest.subarray(n);
      } else {
        n = await (source.readInto(target) ?? readCopied(source, target, (r) => (rest = r)));
      }
      if (n === 0) {
        controller.close();
        request.respond(0);
      } else request.respond(n);
    },
    cancel: (reason) => {
      rest = null;
      return source.cancel(reason);
    },
  });
}

/** Reads a chunk of `source` into `target`; what does not fit goes to `keep`. */
async function readCopied(
  source: ByteSource,
  target: Uint8Array,
  keep: (rest: Uint8Array) => void,
): Promise<number> {
  const result = await source.read();
  if (result.done) return 0;
  const chunk = result.value;
  const n = Math.min(chunk.length, target.length);
  target.set(n === chunk.length ? chunk : chunk.subarray(0, n));
  if (n < chunk.length) keep(chunk.subarray(n));
  return n;
}
