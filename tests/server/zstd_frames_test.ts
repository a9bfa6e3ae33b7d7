// The zstd frame follower (server/_zstd_frames.ts) that finds cut zstd streams, on Deno, Bun,
// Node 20 (hand-made frames only: no zstd there) and Node 24

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { ZstdFrames } from "../../server/_zstd_frames.ts";
import { HAS_ZSTD } from "../../server/_zlib.ts";

/** "hi" in one raw last block; no checksum, no content size, window descriptor 0. */
const RAW_FRAME = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x48, 0x11, 0x00, 0x00, 0x68, 0x69];
/** 1000 × "a" in one RLE last block, single segment with a 2-byte content size, checksum. */
const RLE_FRAME = [
  ...[0x28, 0xb5, 0x2f, 0xfd, 0x64, 0xe8, 0x02], // magic, descriptor (FCS 2 bytes, single, checksum)
  ...[0x43, 0x1f, 0x00, 0x61], // last RLE block of 1000, its byte
  ...[0x01, 0x02, 0x03, 0x04], // checksum (not verified here)
];
/** A skippable frame with 3 bytes of user data. */
const SKIPPABLE = [0x5a, 0x2a, 0x4d, 0x18, 0x03, 0x00, 0x00, 0x00, 0x07, 0x08, 0x09];

/** The verdict after feeding `bytes[0, cut)` in `piece`-byte pushes. */
function truncatedAt(bytes: Uint8Array, cut: number, piece: number): boolean {
  const frames = new ZstdFrames();
  for (let i = 0; i < cut; i += piece) frames.push(bytes.subarray(i, Math.min(cut, i + piece)));
  return frames.truncated();
}

/** Every cut of `bytes`, fed whole and in 1- and 7-byte pieces: cut only off the boundaries. */
function assertCuts(bytes: Uint8Array, boundaries: number[]): void {
  for (let cut = 0; cut <= bytes.length; cut++) {
    const expected = !boundaries.includes(cut);
    for (const piece of [bytes.length || 1, 1, 7]) {
      assert.equal(truncatedAt(bytes, cut, piece), expected, `cut at ${cut} of ${bytes.length}`);
    }
  }
}

describe("ZstdFrames", () => {
  test("hand-made frames: raw block, RLE block with checksum, skippable frame", () => {
    const all = new Uint8Array([...RAW_FRAME, ...SKIPPABLE, ...RLE_FRAME]);
    const a = RAW_FRAME.length;
    const b = a + SKIPPABLE.length;
    assertCuts(all, [0, a, b, all.length]);
  });

  test("no bytes at all is not a cut stream", () => {
    assert.equal(new ZstdFrames().truncated(), false);
    const frames = new ZstdFrames();
    frames.push(new Uint8Array(0));
    assert.equal(frames.truncated(), false);
  });

  test("what it cannot follow gets no verdict (the decoder rejects it)", () => {
    const notZstd = new ZstdFrames();
    notZstd.push(new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0x00]));
    assert.equal(notZstd.truncated(), false);
    const reserved = new ZstdFrames();
    // A reserved block type (3) after a valid frame header.
    reserved.push(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x48, 0x07, 0x00, 0x00]));
    assert.equal(reserved.truncated(), false);
  });

  test("a frame cut inside its header, a block header, a block or its checksum", () => {
    const frame = new Uint8Array(RLE_FRAME);
    for (const cut of [2, 5, 8, 11, 14]) assert.equal(truncatedAt(frame, cut, 3), true, `${cut}`);
  });

  const z = zlib as unknown as {
    zstdCompressSync(data: Uint8Array, options?: { params: Record<number, number> }): Uint8Array;
    constants: Record<string, number>;
  };
  test("frames made by node:zlib, every cut", { skip: !HAS_ZSTD && "no zstd here" }, () => {
    const random = new Uint8Array(300_000);
    for (let i = 0; i < random.length; i += 65_536) {
      crypto.getRandomValues(random.subarray(i, i + 65_536));
    }
    random.fill(7, 150_000);
    const checksum = { params: { [z.constants.ZSTD_c_checksumFlag]: 1 } };
    const noSize = { params: { [z.constants.ZSTD_c_contentSizeFlag]: 0 } };
    const one = new Uint8Array(z.zstdCompressSync(random, checksum));
    const two = new Uint8Array(z.zstdCompressSync(random.subarray(0, 1000), noSize));
    const empty = new Uint8Array(z.zstdCompressSync(new Uint8Array(0)));
    const all = new Uint8Array([...two, ...empty, ...one]);
    // Every cut of the small frames; a sample of cuts through the large one (raw, compressed
    // and RLE blocks, checksum).
    const a = two.length;
    const b = a + empty.length;
    for (let cut = 0; cut <= all.length; cut += cut < b + 64 ? 1 : 97) {
      const expected = ![0, a, b, all.length].includes(cut);
      assert.equal(truncatedAt(all, cut, 4096), expected, `cut at ${cut} of ${all.length}`);
    }
    for (const cut of [all.length - 1, all.length - 4, all.length - 5, all.length]) {
      assert.equal(truncatedAt(all, cut, 4096), cut !== all.length, `cut at ${cut}`);
    }
  });
});
