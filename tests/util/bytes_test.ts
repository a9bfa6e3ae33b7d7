// The byte helpers (util/bytes.ts, util/byte_stream.ts) on views of larger buffers, and on Node
// `Buffer`s (whose `slice` is a view), on Deno, Bun, Node 20 (tsx) and Node 24

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { joinOwned, ownedBytes } from "../../util/bytes.ts";
import { byteStream } from "../../util/byte_stream.ts";

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** "body" as a view of a read that also holds a head, as a plain Uint8Array and as a Buffer. */
function bodyViews(): Array<[string, Uint8Array]> {
  const read = new TextEncoder().encode("POST / HTTP/1.1\r\nAuthorization: secret\r\n\r\nbody");
  const at = read.length - 4;
  const buffer = Buffer.from(read);
  return [["Uint8Array view", read.subarray(at)], ["Buffer view", buffer.subarray(at)]];
}

describe("ownedBytes and joinOwned", () => {
  for (const [name, view] of bodyViews()) {
    test(`a ${name}: copied, so .buffer holds the body alone`, () => {
      for (const owned of [ownedBytes(view), joinOwned([view])]) {
        assert.equal(owned.buffer.byteLength, 4);
        assert.equal(owned.constructor, Uint8Array);
        assert.equal(text(owned), "body");
        view[0] = 0x42; // the source changes: the copy does not
        assert.equal(text(owned), "body");
        view[0] = 0x62;
      }
    });
  }

  test("a Buffer that owns its memory: the same memory, as a plain Uint8Array", () => {
    const whole = Buffer.alloc(8192, 1); // over the pool size: its own ArrayBuffer
    assert.equal(whole.buffer.byteLength, 8192);
    const owned = ownedBytes(whole);
    assert.equal(owned.constructor, Uint8Array);
    assert.equal(owned.buffer, whole.buffer);
  });

  test("a plain array that owns its buffer is returned as is; several are joined", () => {
    const a = new Uint8Array([1, 2]);
    assert.equal(ownedBytes(a), a);
    assert.equal(joinOwned([a]), a);
    assert.deepEqual([...joinOwned([a, new Uint8Array([3])])], [1, 2, 3]);
    assert.equal(joinOwned([]).byteLength, 0);
  });
});

describe("byteStream", () => {
  test("views of one Buffer handed to a default reader: each copied, none detached", async () => {
    const read = Buffer.from("head|first|second");
    const chunks = [read.subarray(5, 11), read.subarray(11)];
    let i = 0;
    const stream = byteStream({
      read: () =>
        Promise.resolve(
          i < chunks.length
            ? { done: false, value: chunks[i++] }
            : { done: true, value: undefined },
        ),
      readInto: () => null,
      cancel: () => {},
    });
    const got: string[] = [];
    for await (const chunk of stream) got.push(text(chunk));
    assert.deepEqual(got, ["first|", "second"]);
    assert.equal(read.buffer.byteLength > 0, true, "the source buffer is not detached");
    assert.equal(text(read.subarray(0, 4)), "head");
  });
});
