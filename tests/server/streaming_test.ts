import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { nodeTransport } from "../../adapters/node.ts";
import { rawBackend } from "../../server/engine.ts";
import type { IncomingHandler, RunningServer } from "../../server/types.ts";
import {
  type ResponseWriter,
  sse,
  type SseWriter,
  stream,
  StreamError,
  streamResponse,
} from "../../server/streaming.ts";
import { portOf, RawClient } from "./_client.ts";
import { sleep, until, within } from "../adapters/_net.ts";

const utf8 = new TextDecoder();

/** Parses an event stream as the HTML spec's EventSource does (events with their fields). */
function parseEventStream(text: string): {
  events: { event: string; data: string; id: string }[];
  retry: number[];
  comments: string[];
} {
  const events: { event: string; data: string; id: string }[] = [];
  const retry: number[] = [];
  const comments: string[] = [];
  let data: string[] = [];
  let event = "";
  let id = "";
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === "") {
      if (data.length > 0) events.push({ event: event || "message", data: data.join("\n"), id });
      data = [];
      event = "";
      continue;
    }
    if (line.startsWith(":")) {
      comments.push(line.slice(1).replace(/^ /, ""));
      continue;
    }
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (name === "data") data.push(value);
    else if (name === "event") event = value;
    else if (name === "id") id = value;
    else if (name === "retry") retry.push(Number(value));
  }
  return { events, retry, comments };
}

/** Reads a whole body stream. */
async function readAll(body: ReadableStream<Uint8Array>): Promise<string> {
  let out = "";
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out += utf8.decode(value);
  }
}

describe("server/streaming on response.body", () => {
  test("chunks arrive in order, strings as UTF-8, and close() ends the body", async () => {
    const { response, writer } = stream({ status: 201, headers: { "x-a": "1" } });
    assert.equal(response.status, 201);
    assert.equal(response.headers.get("x-a"), "1");
    const writing = (async () => {
      for (let i = 0; i < 50; i++) {
        await writer.write(i % 2 ? `${i},` : new TextEncoder().encode(`${i},`));
      }
      await writer.write("é");
      await writer.write("");
      await writer.close();
    })();
    const text = await within(readAll(response.body!), 5000, "the body");
    await within(writing, 5000, "the producer");
    assert.equal(text, Array.from({ length: 50 }, (_, i) => `${i},`).join("") + "é");
    await within(writer.closed, 1000, "closed");
    assert.equal(writer.signal.aborted, false);
    await writer.close(); // idempotent
    await assert.rejects(
      writer.write("x"),
      (e: unknown) => e instanceof StreamError && e.code === "SLUICE_ERR_STREAM_CLOSED",
    );
  });

  test("write() stays pending above the high-water mark until the consumer reads", async () => {
    const { response, writer } = stream({ highWaterMark: 10 });
    let settled = 0;
    void writer.write("12345").then(() => settled++); // 5 queued: below the mark
    const second = writer.write("678901").then(() => settled++); // 11 queued: above it
    await sleep(30);
    assert.equal(settled, 1);
    const reader = response.body!.getReader();
    assert.equal(utf8.decode((await reader.read()).value), "12345");
    await within(second, 2000, "the write to resolve after a read");
    assert.equal(settled, 2);
    void writer.close();
    assert.equal(utf8.decode((await reader.read()).value), "678901");
    assert.equal((await reader.read()).done, true);
  });

  test("close() resolves once the consumer has taken everything", async () => {
    const { response, writer } = stream();
    await writer.write("abc");
    let closed = false;
    const closing = writer.close().then(() => (closed = true));
    await sleep(30);
    assert.equal(closed, false);
    const reader = response.body!.getReader();
    assert.equal(utf8.decode((await reader.read()).value), "abc");
    assert.equal((await reader.read()).done, true);
    await within(closing, 2000, "close()");
    await within(writer.closed, 2000, "closed");
  });

  test("with highWaterMark 0 a write waits until its chunk is taken", async () => {
    const { response, writer } = stream({ highWaterMark: 0 });
    let done = false;
    const first = writer.write("a").then(() => (done = true));
    await sleep(30);
    assert.equal(done, false);
    const reader = response.body!.getReader();
    assert.equal(utf8.decode((await reader.read()).value), "a");
    const next = reader.read();
    await within(first, 2000, "the write to resolve");
    void writer.close();
    assert.equal((await next).done, true);
  });

  test("a producer that awaits write() never has more than highWaterMark + one chunk queued", async () => {
    const hwm = 1000;
    const { response, writer } = stream({ highWaterMark: hwm });
    let written = 0;
    let read = 0;
    let maxQueued = 0;
    const producing = (async () => {
      for (let i = 0; i < 200; i++) {
        await writer.write(new Uint8Array(100));
        written += 100;
        maxQueued = Math.max(maxQueued, written - read);
      }
      await writer.close();
    })();
    const reader = response.body!.getReader();
    for (;;) {
      await sleep(1);
      const r = await reader.read();
      if (r.done) break;
      read += r.value.length;
    }
    await within(producing, 5000, "the producer");
    assert.equal(read, 20_000);
    assert.ok(maxQueued <= hwm + 100, `queued up to ${maxQueued} bytes`);
  });

  test("cancelling the body aborts the signal and rejects pending and later writes", async () => {
    const { response, writer } = stream({ highWaterMark: 0 });
    const pending = writer.write("never read");
    const reason = new Error("client gone");
    await response.body!.cancel(reason);
    assert.equal(writer.signal.aborted, true);
    assert.equal(writer.signal.reason, reason);
    const check = (e: unknown) =>
      e instanceof StreamError && e.code === "SLUICE_ERR_STREAM_ABORTED" && e.cause === reason &&
      /client gone/.test(e.message);
    await assert.rejects(pending, check);
    await assert.rejects(writer.write("later"), check);
    await assert.rejects(writer.closed, check);
    await assert.rejects(writer.close(), check);
  });

  test("abort() errors the body and aborts the signal", async () => {
    const { response, writer } = stream();
    await writer.write("a");
    const reason = new Error("producer failed");
    writer.abort(reason);
    assert.equal(writer.signal.aborted, true);
    await assert.rejects(readAll(response.body!), (e: unknown) => e === reason);
    await assert.rejects(writer.closed, StreamError);
  });

  test("bad arguments are refused", async () => {
    assert.throws(() => stream({ highWaterMark: -1 }), RangeError);
    assert.throws(() => stream({ highWaterMark: 1.5 }), RangeError);
    assert.throws(() => sse({ keepAlive: 0 }), RangeError);
    const { writer } = stream();
    await assert.rejects(writer.write(42 as unknown as string), TypeError);
  });

  test("streamResponse() closes when the producer returns and errors the body when it throws", async () => {
    const ok = streamResponse(async (writer) => {
      await writer.write("one ");
      await writer.write("two");
    }, { headers: { "content-type": "text/plain" } });
    assert.equal(ok.headers.get("content-type"), "text/plain");
    assert.equal(await within(ok.text(), 5000, "the body"), "one two");
    const boom = new Error("boom");
    const bad = streamResponse(async (writer) => {
      await writer.write("partial");
      throw boom;
    });
    await assert.rejects(readAll(bad.body!), (e: unknown) => e === boom);
  });

  test("sse() sets its headers unless given and encodes every field", async () => {
    const { response, events } = sse({ headers: { "cache-control": "no-store" } });
    assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assert.equal(response.headers.get("cache-control"), "no-store");
    assert.equal(response.headers.get("x-accel-buffering"), "no");
    const writing = (async () => {
      await events.send({ data: "plain" });
      await events.send({ event: "update", id: "7", retry: 1500, data: "a\nb\r\nc\rd" });
      await events.comment("ping\npong");
      await events.send({ data: "" });
      await events.close();
    })();
    const text = await within(response.text(), 5000, "the body");
    await within(writing, 1000, "the producer");
    assert.equal(
      text,
      "data: plain\n\n" +
        "event: update\nid: 7\nretry: 1500\ndata: a\ndata: b\ndata: c\ndata: d\n\n" +
        ": ping\n: pong\n\n" +
        "data: \n\n",
    );
  });

  test("sse() refuses event and id with CR, LF or NUL, a bad retry and non-string data", async () => {
    const { response, events } = sse();
    await assert.rejects(events.send({ event: "a\nb", data: "x" }), TypeError);
    await assert.rejects(events.send({ event: "a\rb", data: "x" }), TypeError);
    await assert.rejects(events.send({ id: "1\0", data: "x" }), TypeError);
    await assert.rejects(events.send({ id: "1\n", data: "x" }), TypeError);
    await assert.rejects(events.send({ retry: -1, data: "x" }), RangeError);
    await assert.rejects(events.send({ retry: 1.5, data: "x" }), RangeError);
    await assert.rejects(events.send({ data: { a: 1 } as unknown as string }), TypeError);
    // Nothing was written; the stream is still usable.
    void events.send({ data: "fine" }).then(() => events.close());
    assert.equal(await within(response.text(), 5000, "the body"), "data: fine\n\n");
  });
});

/** Counts live intervals by wrapping setInterval/clearInterval (to see the keep-alive timer go). */
function watchIntervals(): { live: () => number; restore: () => void } {
  const originalSet = globalThis.setInterval;
  const originalClear = globalThis.clearInterval;
  const live = new Set<unknown>();
  globalThis.setInterval = ((fn: () => void, ms?: number) => {
    const id = originalSet(fn, ms);
    live.add(id);
    return id;
  }) as typeof setInterval;
  globalThis.clearInterval = ((id: Parameters<typeof clearInterval>[0]) => {
    live.delete(id);
    originalClear(id);
  }) as typeof clearInterval;
  return {
    live: () => live.size,
    restore: () => {
      globalThis.setInterval = originalSet;
      globalThis.clearInterval = originalClear;
    },
  };
}

describe("server/streaming through rawBackend(nodeTransport)", () => {
  let server: RunningServer | null = null;
  const clients: (RawClient | Socket)[] = [];
  const errors: unknown[] = [];
  /** Writers of the requests being served, by path. */
  const writers = new Map<string, ResponseWriter | SseWriter>();
  /** Bytes the /flood producer has written so far (resolved writes). */
  let flooded = 0;
  let floodDone: Promise<void> | null = null;
  const FLOOD = 64 * 1024 * 1024;

  const handler: IncomingHandler = (req) => {
    switch (req.pathname) {
      case "/stream": {
        const { response, writer } = stream({ headers: { "content-type": "text/plain" } });
        void (async () => {
          for (const part of ["alpha ", "beta ", "gamma"]) {
            await sleep(5);
            await writer.write(part);
          }
          await writer.close();
        })();
        return response;
      }
      case "/flood": {
        const { response, writer } = stream({ highWaterMark: 64 * 1024 });
        const chunk = new Uint8Array(64 * 1024).fill(120);
        floodDone = (async () => {
          while (flooded < FLOOD) {
            await writer.write(chunk);
            flooded += chunk.length;
          }
          await writer.close();
        })();
        return response;
      }
      case "/hold": {
        const { response, writer } = stream();
        writers.set("/hold", writer);
        void writer.write("first").catch(() => {});
        return response;
      }
      case "/sse": {
        const { response, events } = sse({ keepAlive: 20 });
        writers.set("/sse", events);
        void (async () => {
          await events.send({ data: "hello" });
          await events.send({ event: "multi", id: "42", retry: 3000, data: "line 1\nline 2" });
          await events.comment("note");
          await events.send({ id: "43", data: "π ≈ 3.14" });
          await events.close();
        })();
        return response;
      }
      case "/sse-hold": {
        const { response, events } = sse({ keepAlive: 20 });
        writers.set("/sse-hold", events);
        return response;
      }
      case "/throws-early":
        return streamResponse(() => {
          throw new Error("failed before writing");
        });
      case "/throws-late":
        return streamResponse(async (writer) => {
          await writer.write("partial");
          await sleep(20);
          throw new Error("failed while writing");
        });
      default:
        return new Response("Not Found", { status: 404 });
    }
  };

  before(async () => {
    server = await rawBackend(nodeTransport).listen(
      { hostname: "127.0.0.1", port: 0 },
      handler,
      {
        logger: {
          error: (_message: string, error?: unknown) => errors.push(error),
          info: () => {},
        },
      },
    );
  });

  after(async () => {
    for (const client of clients) {
      if (client instanceof RawClient) client.close();
      else client.destroy();
    }
    if (server !== null) await within(server.shutdown(1000), 5000, "shutdown");
  });

  async function open(): Promise<RawClient> {
    const client = await RawClient.open(portOf(server!.address));
    clients.push(client);
    return client;
  }

  test("a streamed body arrives chunked and in order", async () => {
    const client = await open();
    client.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    const res = await client.response();
    assert.equal(res.status, 200);
    assert.equal(res.chunked, true);
    assert.equal(res.headers.get("content-type"), "text/plain");
    assert.equal(res.text, "alpha beta gamma");
  });

  test("a client that does not read stalls the producer; reading lets it finish", async () => {
    const socket = connect(portOf(server!.address), "127.0.0.1");
    clients.push(socket);
    await within(new Promise((resolve) => socket.once("connect", resolve)), 5000, "connect");
    socket.pause();
    socket.write("GET /flood HTTP/1.1\r\nHost: x\r\n\r\n");
    // Wait until the producer stops making progress for a while: backpressure holds it.
    const deadline = Date.now() + 20_000;
    let last = -1;
    while (flooded === 0 || flooded !== last) {
      assert.ok(Date.now() < deadline, "the producer did not stall");
      last = flooded;
      await sleep(250);
    }
    // Socket buffers hold a few MiB at most; without backpressure all 64 MiB would be written.
    assert.ok(flooded < FLOOD / 2, `the producer wrote ${flooded} bytes without a reader`);
    let received = 0;
    socket.on("data", (chunk: Uint8Array) => (received += chunk.length));
    socket.resume();
    await within(floodDone!, 60_000, "the producer to finish once read");
    await until(() => received > FLOOD, 60_000, "the whole body");
    assert.equal(flooded, FLOOD);
  });

  test("a client that goes away aborts the writer's signal and rejects its writes", async () => {
    const client = await open();
    client.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
    await client.waitBytes(1);
    await until(() => writers.has("/hold"), 5000, "the handler");
    const writer = writers.get("/hold") as ResponseWriter;
    assert.equal(writer.signal.aborted, false);
    client.close();
    await until(() => writer.signal.aborted, 5000, "the signal to abort");
    await assert.rejects(
      writer.write("after"),
      (e: unknown) => e instanceof StreamError && e.code === "SLUICE_ERR_STREAM_ABORTED",
    );
    await assert.rejects(writer.closed, StreamError);
  });

  test("SSE over the wire parses back to the events sent", async () => {
    const watch = watchIntervals();
    try {
      const client = await open();
      client.send("GET /sse HTTP/1.1\r\nHost: x\r\n\r\n");
      const res = await client.response();
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
      assert.equal(res.headers.get("cache-control"), "no-cache");
      assert.equal(res.headers.get("x-accel-buffering"), "no");
      const parsed = parseEventStream(res.text);
      assert.deepEqual(parsed.events, [
        { event: "message", data: "hello", id: "" },
        { event: "multi", data: "line 1\nline 2", id: "42" },
        { event: "message", data: "π ≈ 3.14", id: "43" },
      ]);
      assert.deepEqual(parsed.retry, [3000]);
      assert.ok(parsed.comments.includes("note"));
      assert.equal(watch.live(), 0, "the keep-alive timer outlived close()");
    } finally {
      watch.restore();
    }
  });

  test("SSE keep-alive comments flow until the client leaves, then the timer is cleared", async () => {
    const watch = watchIntervals();
    try {
      const client = await open();
      client.send("GET /sse-hold HTTP/1.1\r\nHost: x\r\n\r\n");
      await until(() => writers.has("/sse-hold"), 5000, "the handler");
      const events = writers.get("/sse-hold") as SseWriter;
      assert.equal(watch.live(), 1);
      // Two keep-alive comments (":\n\n", chunk-framed) after the head.
      let seen = "";
      await until(
        () => {
          seen += utf8.decode(client.take());
          return (seen.match(/:\n\n/g) ?? []).length >= 2;
        },
        5000,
        "two keep-alive comments",
      );
      client.close();
      await until(() => events.signal.aborted, 5000, "the signal to abort");
      assert.equal(watch.live(), 0, "the keep-alive timer outlived the client");
    } finally {
      watch.restore();
    }
  });

  test("a producer that throws before writing gives a 500; after writing, the body is cut off", async () => {
    const early = await open();
    early.send("GET /throws-early HTTP/1.1\r\nHost: x\r\n\r\n");
    const res = await early.response();
    assert.equal(res.status, 500);
    assert.ok(errors.some((e) => e instanceof Error && /failed before writing/.test(e.message)));

    const late = await open();
    late.send("GET /throws-late HTTP/1.1\r\nHost: x\r\n\r\n");
    const cut = await late.response({ allowIncomplete: true });
    assert.equal(cut.status, 200);
    assert.equal(cut.complete, false);
    assert.equal(cut.text, "partial");
    assert.ok(errors.some((e) => e instanceof Error && /failed while writing/.test(e.message)));
  });
});
