/**
 * Follows the frame structure of a zstd stream (RFC 8878 §3.1) without
 * decoding it, so that a stream cut inside a frame can be told from a
 * complete one. Bun's and Deno's `node:zlib` zstd decoders end without an
 * error on truncated input (Node's report it); this check makes all three
 * agree.
 *
 * Only headers are read: the frame header, each 3-byte block header and the
 * sizes they announce; block contents and checksums are skipped. What it
 * cannot follow (an unknown magic number, a reserved block type) is left to
 * the decoder, which rejects it: the tracker then gives no verdict.
 *
 * @module
 */

const ZSTD_MAGIC = 0xfd2fb528;
/** Skippable frames: magic numbers 0x184D2A50 to 0x184D2A5F. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

// The tracker's steps.
/** 4 bytes: a frame's magic number (or the clean end of the stream). */
const MAGIC = 0;
/** 1 byte: the frame header descriptor. */
const DESCRIPTOR = 1;
/** 3 bytes: a block header. */
const BLOCK = 2;
/** 4 bytes: a skippable frame's size. */
const SKIP_SIZE = 3;
/** Bytes to skip (header rest, block content, checksum, skippable data), then `after`. */
const SKIP = 4;
/** Something the tracker cannot follow: no verdict. */
const LOST = 5;

/**
 * A zstd frame follower fed with the encoded bytes as they arrive.
 *
 * @example
 * ```ts
 * import { ZstdFrames } from "./_zstd_frames.ts";
 * import assert from "node:assert/strict";
 *
 * // A frame holding "hi" in one raw block, no checksum, no content size.
 * const frame = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x48, 0x11, 0x00, 0x00, 0x68, 0x69]);
 * const whole = new ZstdFrames();
 * whole.push(frame);
 * assert.equal(whole.truncated(), false);
 * const cut = new ZstdFrames();
 * cut.push(frame.subarray(0, 9));
 * assert.equal(cut.truncated(), true);
 * ```
 */
export class ZstdFrames {
  #step: number = MAGIC;
  /** Header bytes gathered for the current step. */
  #head = new Uint8Array(4);
  #have = 0;
  /** Bytes left to skip while skipping. */
  #skip = 0;
  /** The step after the skip. */
  #after: number = MAGIC;
  /** Whether the current frame ends with a 4-byte checksum. */
  #checksum = false;

  /**
   * Follows `chunk`, the next encoded bytes.
   *
   * @param chunk Encoded bytes.
   */
  push(chunk: Uint8Array): void {
    let at = 0;
    const end = chunk.byteLength;
    while (at < end && this.#step !== LOST) {
      if (this.#step === SKIP) {
        const n = Math.min(this.#skip, end - at);
        this.#skip -= n;
        at += n;
        if (this.#skip === 0) this.#step = this.#after;
        continue;
      }
      const want = this.#want();
      const n = Math.min(want - this.#have, end - at);
      this.#head.set(chunk.subarray(at, at + n), this.#have);
      this.#have += n;
      at += n;
      if (this.#have === want) {
        this.#have = 0;
        this.#parse();
      }
    }
  }

  /**
   * Whether the bytes so far stop inside a frame. `false` at a frame
   * boundary, for no bytes at all, and when the stream could not be followed.
   *
   * @returns `true` when the stream is cut short.
   */
  truncated(): boolean {
    if (this.#step === LOST) return false;
    return this.#step !== MAGIC || this.#have !== 0;
  }

  /** Header bytes the current step reads. */
  #want(): number {
    switch (this.#step) {
      case DESCRIPTOR:
        return 1;
      case BLOCK:
        return 3;
      default:
        return 4;
    }
  }

  /** Acts on a complete header of the current step. */
  #parse(): void {
    const h = this.#head;
    switch (this.#step) {
      case MAGIC: {
        const magic = (h[0] | (h[1] << 8) | (h[2] << 16) | (h[3] << 24)) >>> 0;
        if (magic === ZSTD_MAGIC) this.#step = DESCRIPTOR;
        else if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) this.#step = SKIP_SIZE;
        else this.#step = LOST;
        return;
      }
      case DESCRIPTOR: {
        const d = h[0];
        const fcsFlag = d >> 6;
        const singleSegment = (d & 0x20) !== 0;
        this.#checksum = (d & 0x04) !== 0;
        const dictSize = [0, 1, 2, 4][d & 0x03];
        const fcsSize = fcsFlag === 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][fcsFlag];
        this.#skipThen((singleSegment ? 0 : 1) + dictSize + fcsSize, BLOCK);
        return;
      }
      case BLOCK: {
        const header = h[0] | (h[1] << 8) | (h[2] << 16);
        const type = (header >> 1) & 0x03;
        if (type === 3) {
          this.#step = LOST;
          return;
        }
        const last = (header & 0x01) !== 0;
        // An RLE block holds one byte, repeated `size` times once decoded.
        const size = type === 1 ? 1 : header >>> 3;
        this.#skipThen(size + (last && this.#checksum ? 4 : 0), last ? MAGIC : BLOCK);
        return;
      }
      case SKIP_SIZE: {
        const size = (h[0] | (h[1] << 8) | (h[2] << 16) | (h[3] << 24)) >>> 0;
        this.#skipThen(size, MAGIC);
        return;
      }
    }
  }

  /** Skips `n` bytes, then goes on with `next`. */
  #skipThen(n: number, next: number): void {
    if (n === 0) {
      this.#step = next;
      return;
    }
    this.#skip = n;
    this.#after = next;
    this.#step = SKIP;
  }
}
