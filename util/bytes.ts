/**
 * Byte helpers shared by the server and the client. Internal.
 *
 * @module
 */

/**
 * `chunks` as one array of `total` bytes: the only chunk itself when there
 * is one, else a copy.
 */
export function concatBytes(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** One decoder for every call (decoding whole buffers keeps no state between calls). */
const utf8 = new TextDecoder();

/** The total length of `chunks`. */
function byteSize(chunks: readonly Uint8Array[]): number {
  let size = 0;
  for (const chunk of chunks) size += chunk.byteLength;
  return size;
}

/**
 * `chunks` as one `Uint8Array` that owns its buffer (`.buffer` is exactly
 * the bytes): the only chunk itself when it does, else a copy.
 */
export function joinOwned(chunks: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  if (chunks.length === 0) return new Uint8Array(0);
  if (chunks.length === 1) return ownedBytes(chunks[0]);
  return concatBytes(chunks, byteSize(chunks)) as Uint8Array<ArrayBuffer>;
}

/**
 * `chunk`'s bytes as a plain `Uint8Array` that owns its whole `ArrayBuffer`
 * (it may then be transferred or handed out as `.buffer`): `chunk` itself
 * when it is one, else a copy. A view of a larger or shared buffer never
 * exposes, or detaches, bytes around it. (Not `chunk.slice()`: a Node
 * `Buffer`'s `slice` is a view, not a copy.)
 */
export function ownedBytes(chunk: Uint8Array): Uint8Array<ArrayBuffer> {
  if (
    chunk.byteOffset !== 0 || chunk.byteLength !== chunk.buffer.byteLength ||
    !(chunk.buffer instanceof ArrayBuffer)
  ) {
    return new Uint8Array(chunk);
  }
  // A Buffer that owns its memory: the same bytes, as a plain Uint8Array.
  return (chunk.constructor === Uint8Array ? chunk : new Uint8Array(chunk.buffer)) as Uint8Array<
    ArrayBuffer
  >;
}

/** `chunks` decoded as UTF-8 (a single chunk straight from its view, no copy). */
export function decodeUtf8Chunks(chunks: readonly Uint8Array[]): string {
  if (chunks.length === 1) return utf8.decode(chunks[0]);
  return utf8.decode(concatBytes(chunks, byteSize(chunks)));
}
