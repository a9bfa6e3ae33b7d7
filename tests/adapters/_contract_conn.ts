// The contract of a Conn over TCP: echo, half-close, ordering, backpressure
// both ways, end(), destroy(), resets and callbacks that throw.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Context, KiB, MiB } from "./_contract_context.ts";
import {
  concat,
  countUntilClosed,
  echo,
  pattern,
  portOf,
  readToEnd,
  Recorder,
  sameBytes,
  sleep,
  socketClosed,
  str,
  text,
  until,
  watched,
  within,
} from "./_net.ts";

export function connTests(ctx: Context): void {
  const { name } = ctx;
  const tcp = { hostname: "127.0.0.1", port: 0 };

  describe(`${name}: Conn over TCP`, () => {
    test("Conn echoes bytes, reports the peer's EOF with end(), and may still write after it", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      conn.setNoDelay(true);
      rec.onData = (chunk) => conn.write(chunk);
      rec.onEnd = () => {
        conn.write(text(" and goodbye"));
        conn.end();
      };
      conn.start(rec);
      const reply = readToEnd(socket);
      socket.end("hello");
      assert.equal(str(await reply), "hello and goodbye");
      assert.equal(await within(rec.closed, 5000, "close()"), null);
      assert.ok(rec.ended);
      assert.deepEqual(rec.violations, []);
    });

    test("Conn.end() first: the peer's later bytes and its EOF still arrive, then close()", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener), "127.0.0.1", true);
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      conn.start(rec);
      conn.write(text("bye"));
      conn.end();
      conn.end();
      assert.equal(conn.write(text("late")), false);
      const reply = new Promise<string>((resolve) => {
        let got = "";
        socket.on("data", (chunk: Uint8Array) => (got += str(chunk)));
        socket.once("end", () => resolve(got));
      });
      assert.equal(await within(reply, 5000, "our FIN"), "bye");
      socket.write("after your FIN");
      await until(() => rec.bytes === 14, 5000, "the bytes sent after our FIN");
      await sleep(50);
      assert.equal(rec.closes, 0, "closed before the peer ended");
      socket.end();
      assert.equal(await within(rec.closed, 5000, "close()"), null);
      assert.equal(str(rec.received()), "after your FIN");
      assert.ok(rec.ended);
      assert.deepEqual(rec.violations, []);
    });

    test("Conn.start() loses nothing sent before it; write() works before it; start() twice throws", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      socket.write("early bytes");
      const conn = await queue.next();
      conn.write(text("greeting "));
      await sleep(100);
      const rec = echo(conn);
      assert.throws(() => conn.start(new Recorder()), TypeError);
      const reply = readToEnd(socket);
      await until(() => rec.bytes === 11, 5000, "the early bytes");
      socket.end();
      assert.equal(str(await reply), "greeting early bytes");
      assert.equal(await within(rec.closed, 5000, "close()"), null);
      assert.deepEqual(rec.violations, []);
    });

    test("Conn.start() on a connection destroyed before it reports close() afterwards, not inside start()", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      await ctx.client(portOf(listener));
      const conn = await queue.next();
      conn.destroy();
      await sleep(50);
      const rec = new Recorder();
      conn.start(rec);
      assert.equal(rec.closes, 0);
      assert.equal(await within(rec.closed, 5000, "close()"), null);
      assert.equal(conn.write(text("x")), false);
      assert.deepEqual(rec.violations, []);
    });

    test("Conn keeps the order of 2000 small writes and of the peer's 2000 small chunks", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      const rec = echo(await queue.next());
      const parts = Array.from({ length: 2000 }, (_, i) => text(`${i},`));
      const reply = readToEnd(socket);
      for (const part of parts) socket.write(part);
      socket.end();
      const expected = concat(parts);
      assert.equal(str(await reply), str(expected));
      assert.equal(await within(rec.closed, 5000, "close()"), null);
      assert.deepEqual(rec.violations, []);
    });

    test("Conn.writeLatin1() sends one byte per character, in order with write()", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      rec.onEnd = () => conn.end();
      conn.start(rec);
      const reply = readToEnd(socket);
      conn.write(text("<"));
      conn.writeLatin1("ASCII \xe9\xff ");
      conn.write(text(">"));
      conn.writeLatin1("x".repeat(100_000));
      conn.end();
      const bytes = await reply;
      assert.deepEqual([...bytes.subarray(0, 11)], [
        0x3c,
        0x41,
        0x53,
        0x43,
        0x49,
        0x49,
        0x20,
        0xe9,
        0xff,
        0x20,
        0x3e,
      ]);
      assert.equal(bytes.length, 11 + 100_000);
      assert.equal(await within(rec.closed, 5000, "close()"), null);
      assert.deepEqual(rec.violations, []);
    });

    test("Conn.write() keeps the order of 5000 small writes made in one go, then end()", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      rec.onEnd = () => conn.end();
      conn.start(rec);
      const parts = Array.from({ length: 5000 }, (_, i) => text(`${i};`));
      const reply = readToEnd(socket);
      for (const part of parts) conn.write(part);
      conn.end();
      assert.equal(str(await reply), str(concat(parts)));
      assert.equal(await within(rec.closed, 5000, "close()"), null);
      assert.deepEqual(rec.violations, []);
    });

    test("Conn.write() returns false to a peer that does not read, and drain() fires once it reads", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      socket.pause();
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      conn.start(rec);
      const chunk = pattern(64 * KiB);
      let written = 0;
      let stuck = false;
      // Write until the kernel's buffers are full: write() says false and no drain() comes.
      while (written < 512 * MiB) {
        let below = true;
        while (below) {
          below = conn.write(chunk);
          written += chunk.length;
        }
        const drains = rec.drains;
        try {
          await until(() => rec.drains > drains, 300, "drain()");
        } catch {
          stuck = true;
          break;
        }
      }
      assert.ok(stuck, `the socket took all ${written} bytes`);
      assert.ok(conn.bufferedAmount > 0);
      const drains = rec.drains;
      const count = countUntilClosed(socket, 30_000);
      socket.resume();
      await until(() => rec.drains > drains, 10_000, "drain() after the peer reads");
      assert.equal(conn.bufferedAmount, 0);
      conn.end();
      assert.equal(await count, written);
      assert.equal(await within(rec.closed, 5000, "close()"), null);
      assert.deepEqual(rec.violations, []);
    });

    test("Conn.drain() comes once per write() that returned false, never without one", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      const count = countUntilClosed(socket, 10_000);
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      conn.start(rec);
      assert.equal(conn.write(text("small")), true);
      await sleep(100);
      assert.equal(rec.drains, 0, "drain() without a write() that returned false");
      for (let episode = 1; episode <= 3; episode++) {
        let below = true;
        let writes = 0;
        while (below) {
          below = conn.write(pattern(16 * KiB));
          writes++;
        }
        assert.ok(writes > 1, "the first write of an episode already returned false");
        await until(() => rec.drains === episode, 5000, `drain() ${episode}`);
        await sleep(50);
        assert.equal(rec.drains, episode, "drain() more than once for one episode");
      }
      conn.end();
      assert.ok((await count) > 0);
      assert.equal(await within(rec.closed, 5000, "close()"), null);
      assert.deepEqual(rec.violations, []);
    });

    test("Conn.pause() stops data() and resume() restarts it with no byte lost (4 MiB)", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      let pausedAt = -1;
      rec.onData = () => {
        if (pausedAt < 0) {
          conn.pause();
          pausedAt = rec.bytes;
        }
      };
      rec.onEnd = () => conn.end();
      conn.start(rec);
      const payload = pattern(4 * MiB);
      socket.write(payload);
      socket.end();
      const closed = socketClosed(socket, 20_000);
      socket.resume();
      await until(() => pausedAt >= 0, 5000, "the first chunk");
      await sleep(300);
      assert.equal(rec.bytes, pausedAt, "data() while paused");
      assert.ok(!rec.ended, "end() while paused");
      assert.ok(rec.bytes < payload.length);
      conn.resume();
      await within(rec.closed, 20_000, "close()");
      await closed;
      assert.equal(rec.bytes, payload.length);
      assert.ok(sameBytes(rec.received(), payload), "the bytes differ from those sent");
      assert.deepEqual(rec.violations, []);
    });

    test("Conn.pause() holds the sender back: TCP backpressure reaches the peer (64 MiB)", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      conn.pause();
      rec.onEnd = () => conn.end();
      conn.start(rec);
      const payload = pattern(64 * MiB);
      socket.on("error", () => {});
      socket.write(payload);
      socket.end();
      await sleep(500);
      // The peer's own buffer keeps what the kernels would not take.
      assert.ok(socket.writableLength > 16 * MiB, `only ${socket.writableLength} bytes held back`);
      assert.equal(rec.bytes, 0);
      conn.resume();
      await within(rec.closed, 60_000, "close()");
      assert.equal(rec.bytes, payload.length);
      assert.ok(sameBytes(rec.received(), payload), "the bytes differ from those sent");
      assert.deepEqual(rec.violations, []);
    });

    test("Conn.pause() in every data() and resume() on a timer lose nothing (4 MiB)", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      let paused = false;
      let pauses = 0;
      rec.onData = () => {
        if (paused) rec.violations.push("data() while paused");
        paused = true;
        pauses++;
        conn.pause();
        setTimeout(() => {
          paused = false;
          conn.resume();
        }, 0);
      };
      rec.onEnd = () => conn.end();
      conn.start(rec);
      const payload = pattern(4 * MiB);
      socket.end(payload);
      socket.resume();
      await within(rec.closed, 30_000, "close()");
      assert.equal(rec.bytes, payload.length);
      assert.ok(sameBytes(rec.received(), payload), "the bytes differ from those sent");
      assert.ok(pauses > 1);
      assert.deepEqual(rec.violations, []);
    });

    test("Conn.pause() then resume() within one data() call goes on reading", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      rec.onData = () => {
        conn.pause();
        conn.resume();
      };
      rec.onEnd = () => conn.end();
      conn.start(rec);
      const payload = pattern(MiB);
      socket.end(payload);
      socket.resume();
      await within(rec.closed, 10_000, "close()");
      assert.ok(sameBytes(rec.received(), payload), "the bytes differ from those sent");
      assert.deepEqual(rec.violations, []);
    });

    test("Conn.pause() before start() keeps data() from coming until resume()", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      const conn = await queue.next();
      conn.pause();
      const rec = echo(conn);
      socket.write("waiting");
      await sleep(200);
      assert.equal(rec.bytes, 0);
      const reply = readToEnd(socket);
      conn.resume();
      socket.end();
      assert.equal(str(await reply), "waiting");
      assert.equal(await within(rec.closed, 5000, "close()"), null);
    });

    test("Conn.end() sends everything queued before closing (8 MiB to a slow reader)", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      socket.pause();
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      conn.start(rec);
      const payload = pattern(8 * MiB);
      for (let at = 0; at < payload.length; at += 64 * KiB) {
        conn.write(payload.subarray(at, at + 64 * KiB));
      }
      conn.end();
      assert.ok(conn.bufferedAmount > 0, "nothing was queued");
      assert.equal(conn.write(text("after end")), false);
      await sleep(200);
      const reply = readToEnd(socket, 30_000);
      socket.resume();
      const got = await reply;
      assert.equal(got.length, payload.length);
      assert.ok(sameBytes(got, payload), "the bytes differ from those sent");
      assert.equal(await within(rec.closed, 5000, "close()"), null);
      assert.deepEqual(rec.violations, []);
    });

    test("Conn.destroy() closes at once, drops what is queued and reports close(null) once", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      socket.pause();
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      conn.start(rec);
      const chunk = pattern(64 * KiB);
      const total = 32 * MiB;
      for (let at = 0; at < total; at += chunk.length) conn.write(chunk);
      const count = countUntilClosed(socket, 20_000);
      conn.destroy();
      conn.destroy();
      assert.equal(conn.write(chunk), false);
      assert.equal(await within(rec.closed, 2000, "close()"), null);
      socket.resume();
      assert.ok(await count < total, "every byte arrived");
      await sleep(50);
      assert.equal(rec.closes, 1);
      assert.equal(conn.bufferedAmount, 0);
      assert.deepEqual(rec.violations, []);
    });

    test("Conn.destroy(error) reports that error to close(), once", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      conn.start(rec);
      const closed = countUntilClosed(socket, 5000);
      const reason = new Error("idle timeout");
      conn.destroy(reason);
      assert.equal(await within(rec.closed, 2000, "close()"), reason);
      await closed;
      await sleep(50);
      assert.equal(rec.closes, 1);
    });

    test("Conn.destroy() from inside data() stops further data() and end()", {
      todo: ctx.caps.eventsAfterDestroy,
    }, async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      rec.onData = () => conn.destroy();
      conn.start(rec);
      const closed = countUntilClosed(socket, 5000);
      socket.end(pattern(MiB));
      assert.equal(await within(rec.closed, 5000, "close()"), null);
      await closed;
      await sleep(50);
      assert.deepEqual(rec.violations, []);
      assert.equal(rec.chunks.length, 1);
      assert.ok(!rec.ended, "end() after destroy()");
    });

    test("Conn reports a peer's reset to close() with ECONNRESET or EPIPE", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      socket.pause();
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      conn.start(rec);
      // Unread bytes in the client's receive buffer make its close a reset (RST).
      conn.write(pattern(MiB));
      await sleep(100);
      socket.on("error", () => {});
      socket.destroy();
      const error = await within(rec.closed, 5000, "close()");
      assert.ok(error instanceof Error, "close() without an error");
      const code = (error as Error & { code?: string }).code ?? "";
      assert.ok(["ECONNRESET", "EPIPE"].includes(code), `code ${code}`);
      await sleep(50);
      assert.equal(rec.closes, 1);
      assert.deepEqual(rec.violations, []);
    });

    test("Conn destroys itself and reports the error when a callback throws", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      const boom = new Error("boom");
      rec.onData = () => {
        throw boom;
      };
      conn.start(rec);
      const closed = countUntilClosed(socket, 5000);
      socket.write("x");
      assert.equal(await within(rec.closed, 5000, "close()"), boom);
      await closed;
    });

    test("Conn destroys itself when end() throws, and reports that error", async () => {
      const { listener, queue } = await ctx.listen(tcp);
      const socket = await ctx.client(portOf(listener));
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      const boom = new Error("end boom");
      rec.onEnd = () => {
        throw boom;
      };
      conn.start(rec);
      const closed = countUntilClosed(socket, 5000);
      socket.end();
      assert.equal(await within(rec.closed, 5000, "close()"), boom);
      await closed;
      assert.deepEqual(rec.violations, []);
    });
  });
}
