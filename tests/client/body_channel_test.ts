// BodyChannel (client/_body_channel.ts) on its own: reads into the caller's
// buffer, borrowed chunks (copied only when kept, in reused spare buffers),
// backpressure, and the byte stream it hands out (BYOB and default readers).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BodyChannel } from "../../client/_body_channel.ts";
import { concat, pattern, sameBytes } from "../adapters/_net.ts";

interface Hooks {
  resumed: number;
  cancelled: unknown[];
}

function channel(highWater = 64 * 1024): { ch: BodyChannel; hooks: Hooks } {
  const hooks: Hooks = { resumed: 0, cancelled: [] };
  const ch = new BodyChannel({
    resume: () => hooks.resumed++,
    cancel: (reason) => hooks.cancelled.push(reason),
  }, highWater);
  return { ch, hooks };
}

/** A small deterministic generator (xorshift), so that a failure can be replayed. */
function random(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

describe("BodyChannel", () => {
  test("readInto waiting for bytes gets them straight; a borrowed rest is copied", async () => {
    const { ch } = channel();
    const view = new Uint8Array(10);
    const read = ch.readInto(view);
    const socket = pattern(25); // the reused read buffer of a transport
    const expected = socket.slice();
    assert.equal(ch.push(socket, true), true);
    socket.fill(0xee); // the next read overwrites it
    assert.equal(await read, 10);
    assert.ok(sameBytes(view, expected.subarray(0, 10)));
    const rest = new Uint8Array(100);
    assert.equal(await ch.readInto(rest), 15);
    assert.ok(sameBytes(rest.subarray(0, 15), expected.subarray(10)));
  });

  test("borrowed chunks kept while the reader lags come out whole and in order (seeded mix of reads)", async () => {
    for (const seed of [1, 7, 12345, 99991]) {
      const next = random(seed);
      const { ch } = channel(1 << 30);
      const source = new Uint8Array(4096); // one reused buffer, like a socket's
      const sent: Uint8Array[] = [];
      const got: Uint8Array[] = [];
      let buffered = 0;
      for (let step = 0; step < 600; step++) {
        if (buffered === 0 || next(2) === 0) {
          const size = 1 + next(source.length);
          for (let i = 0; i < size; i++) source[i] = (step * 7 + i * 31 + seed) & 255;
          sent.push(source.slice(0, size));
          ch.push(source.subarray(0, size), true);
          source.fill(0xee); // the next read overwrites it
          buffered += size;
        } else if (next(3) !== 0) {
          const view = new Uint8Array(1 + next(6000));
          const n = await ch.readInto(view);
          assert.ok(n > 0 && n <= Math.min(view.length, buffered));
          got.push(view.slice(0, n));
          buffered -= n;
        } else {
          const { done, value } = await ch.read();
          assert.equal(done, false);
          got.push(value!.slice());
          buffered -= value!.length;
        }
      }
      ch.close();
      for (;;) {
        const view = new Uint8Array(3000);
        const n = await ch.readInto(view);
        if (n === 0) break;
        got.push(view.slice(0, n));
      }
      assert.ok(sameBytes(concat(got), concat(sent)), `seed ${seed}: the bytes as pushed`);
    }
  });

  test("the end, a failure and a cancel settle a pending readInto", async () => {
    const a = channel().ch;
    const endRead = a.readInto(new Uint8Array(8));
    a.close();
    assert.equal(await endRead, 0);
    assert.equal(await a.readInto(new Uint8Array(8)), 0);

    const b = channel().ch;
    const failed = b.readInto(new Uint8Array(8));
    b.error(new RangeError("truncated"));
    await assert.rejects(failed, RangeError);
    await assert.rejects(b.readInto(new Uint8Array(8)), RangeError);

    const { ch: c, hooks } = channel();
    const cancelled = c.readInto(new Uint8Array(8));
    c.cancel("gone");
    assert.equal(await cancelled, 0);
    assert.deepEqual(hooks.cancelled, ["gone"]);
    await assert.rejects(c.readInto(new Uint8Array(8)), /cancelled/);
  });

  test("a second read while one is pending is refused", async () => {
    const { ch } = channel();
    const first = ch.readInto(new Uint8Array(4));
    await assert.rejects(ch.read(), /a read is pending/);
    await assert.rejects(ch.readInto(new Uint8Array(4)), /a read is pending/);
    ch.push(new Uint8Array([1, 2, 3]));
    assert.equal(await first, 3);
  });

  test("readInto below the high-water mark resumes a paused socket", async () => {
    const { ch, hooks } = channel(1000);
    assert.equal(ch.push(new Uint8Array(600).fill(1), true), true);
    assert.equal(ch.push(new Uint8Array(600).fill(2), true), false, "pause asked");
    assert.equal(await ch.readInto(new Uint8Array(100)), 100);
    assert.equal(hooks.resumed, 0, "1100 bytes still buffered");
    assert.equal(await ch.readInto(new Uint8Array(500)), 500);
    assert.equal(hooks.resumed, 1, "600 left: below the mark");
  });

  test("takeAll after a partial readInto gives the rest only", async () => {
    const { ch } = channel();
    const body = pattern(300);
    ch.push(body.subarray(0, 200));
    ch.push(body.subarray(200));
    const view = new Uint8Array(50);
    assert.equal(await ch.readInto(view), 50);
    ch.close();
    const rest = ch.takeAll()!;
    assert.ok(sameBytes(concat(rest), body.subarray(50)));
  });

  test("stream(): a BYOB reader gets the bytes; a default reader never detaches a shared buffer", async () => {
    const { ch } = channel();
    const stream = ch.stream();
    const body = pattern(10_000);
    const byob = stream.getReader({ mode: "byob" });
    const first = byob.read(new Uint8Array(4000));
    ch.push(body.subarray(0, 6000), true);
    const { value } = await first;
    assert.ok(sameBytes(value!, body.subarray(0, 4000)));
    byob.releaseLock();

    // Two chunks that are views of one buffer: handing out the first must not detach the second.
    const shared = body.slice(6000);
    ch.push(shared.subarray(0, 1500));
    ch.push(shared.subarray(1500));
    ch.close();
    const reader = stream.getReader();
    const rest: Uint8Array[] = [];
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      rest.push(r.value);
    }
    assert.equal(shared.buffer.byteLength, 4000, "the shared buffer is not detached");
    assert.ok(sameBytes(concat(rest), body.subarray(4000)));
  });
});
