// ClientSession against a node:net server that scripts exact bytes:
// malformed, truncated, slow, unsolicited and early-closing responses must
// end in typed errors (or succeed where they are valid), never hang.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { ClientSession } from "../../client/session.ts";
import {
  ClientConnectionError,
  ClientError,
  ClientPayloadError,
  TimeoutError,
} from "../../client/errors.ts";
import { HttpParseError, ResponseParser } from "../../http1/mod.ts";
import { pattern, sleep, until, within } from "../adapters/_net.ts";

const LIMIT = 10_000;
const servers: Server[] = [];
const sockets: Socket[] = [];
const sessions: ClientSession[] = [];

after(async () => {
  await Promise.all(sessions.map((s) => within(s.close(), 5000, "session close")));
  for (const socket of sockets) socket.destroy();
  await Promise.all(
    servers.map((s) => within(new Promise<void>((r) => s.close(() => r())), 5000, "close")),
  );
});

/** Calls `answer` with each request head (body bytes are read and dropped). */
type Answer = (socket: Socket, head: string, index: number, connection: number) => void;

interface Raw {
  url: string;
  accepted: number;
}

async function raw(answer: Answer): Promise<Raw> {
  const state: Raw = { url: "", accepted: 0 };
  const server = createServer((socket) => {
    const connection = state.accepted++;
    sockets.push(socket);
    socket.on("error", () => {});
    let buffered = "";
    let index = 0;
    let skip = 0;
    socket.on("data", (chunk) => {
      if (skip > 0) {
        const drop = Math.min(skip, chunk.length);
        skip -= drop;
        chunk = chunk.subarray(drop);
      }
      buffered += chunk.toString("latin1");
      let at: number;
      while ((at = buffered.indexOf("\r\n\r\n")) !== -1) {
        const head = buffered.slice(0, at);
        buffered = buffered.slice(at + 4);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        const now = Math.min(length, buffered.length);
        buffered = buffered.slice(now);
        skip = length - now;
        answer(socket, head, index++, connection);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return state;
}

/** A server writing `bytes` to every request, then closing when `close`. */
const scripted = (bytes: string, close = true): Promise<Raw> =>
  raw((socket) => {
    socket.write(bytes, "latin1");
    if (close) socket.end();
  });

function session(options: ConstructorParameters<typeof ClientSession>[0] = {}): ClientSession {
  const s = new ClientSession({ timeout: { total: LIMIT }, ...options });
  sessions.push(s);
  return s;
}

/** GETs `url` and reads the body; resolves with the error it failed with. */
async function failure(url: string, s = session()): Promise<unknown> {
  try {
    const res = await within(s.get(url), LIMIT, `GET ${url}`);
    const body = await within(res.text(), LIMIT, "the body");
    return new Error(`expected a failure, got ${res.status} ${JSON.stringify(body)}`);
  } catch (error) {
    return error;
  }
}

function assertPayload(error: unknown, code: string): void {
  assert.ok(error instanceof ClientPayloadError, `a ClientPayloadError, got ${error}`);
  assert.equal(error.code, code, String(error));
}

/** The code our own response parser fails with on `bytes` (finish() included), or null. */
function parserVerdict(bytes: string): string | null {
  const parser = new ResponseParser({ onHead() {}, onBody() {}, onComplete() {} });
  parser.expect("GET");
  try {
    parser.feed(new TextEncoder().encode(bytes));
    return null;
  } catch (error) {
    if (error instanceof HttpParseError) return error.code;
    throw error;
  }
}

const MALFORMED = "SLUICE_ERR_CLIENT_PAYLOAD_MALFORMED";

describe("ClientSession against malformed responses", () => {
  const cases: [string, string][] = [
    ["a malformed status line", "HTTP/1.1 2x0 OK\r\ncontent-length: 0\r\n\r\n"],
    ["a status line without a version", "200 OK\r\ncontent-length: 0\r\n\r\n"],
    ["a space before the colon", "HTTP/1.1 200 OK\r\ncontent-length : 2\r\n\r\nok"],
    [
      "duplicate differing Content-Length",
      "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nokk",
    ],
    [
      "Content-Length with Transfer-Encoding",
      "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    ],
    [
      "a field name with a control byte",
      "HTTP/1.1 200 OK\r\nx\x01y: 1\r\ncontent-length: 0\r\n\r\n",
    ],
  ];
  for (const [name, bytes] of cases) {
    test(`${name} is rejected (SLUICE_ERR_CLIENT_PAYLOAD_MALFORMED)`, async () => {
      assert.notEqual(parserVerdict(bytes), null, "http1/ rejects it too");
      const server = await scripted(bytes);
      assertPayload(await failure(server.url), MALFORMED);
    });
  }

  test("bare LF line ends: the client agrees with http1/'s parser", async () => {
    const bytes = "HTTP/1.1 200 OK\ncontent-length: 2\n\nok";
    const verdict = parserVerdict(bytes);
    const server = await scripted(bytes);
    if (verdict === null) {
      const res = await within(session().get(server.url), LIMIT, "GET");
      assert.equal(await within(res.text(), LIMIT, "body"), "ok");
    } else {
      assertPayload(await failure(server.url), MALFORMED);
    }
  });

  test("a header over the limit is rejected with a typed error", async () => {
    const big = "x".repeat(128 * 1024);
    const server = await scripted(`HTTP/1.1 200 OK\r\nx-big: ${big}\r\ncontent-length: 0\r\n\r\n`);
    const error = await failure(server.url);
    assertPayload(error, MALFORMED);
  });

  for (const [name, size] of [["negative", "-1"], ["garbage", "zz"]]) {
    test(`a ${name} chunk size is BAD_CHUNKING`, async () => {
      const server = await scripted(
        `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n${size}\r\nxx\r\n0\r\n\r\n`,
      );
      assertPayload(await failure(server.url), "SLUICE_ERR_CLIENT_PAYLOAD_BAD_CHUNKING");
    });
  }
});

describe("ClientSession against truncated and closed responses", () => {
  test("a body shorter than Content-Length is TRUNCATED", async () => {
    const server = await scripted("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this");
    assertPayload(await failure(server.url), "SLUICE_ERR_CLIENT_PAYLOAD_TRUNCATED");
  });

  test("a chunked body cut short is TRUNCATED", async () => {
    const server = await scripted(
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\nabc",
    );
    assertPayload(await failure(server.url), "SLUICE_ERR_CLIENT_PAYLOAD_TRUNCATED");
  });

  test("a close before any byte is a ClientConnectionError", async () => {
    const server = await raw((socket) => socket.end());
    const error = await failure(server.url);
    assert.ok(error instanceof ClientConnectionError, `got ${error}`);
  });

  test("an HTTP/1.0 response without length is read to the close", async () => {
    const server = await scripted("HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil close");
    const s = session();
    const res = await within(s.get(server.url), LIMIT, "GET");
    assert.equal(res.status, 200);
    assert.equal(await within(res.text(), LIMIT, "body"), "until close");
    // The slot is freed when the transport reports the close (a tick later).
    await until(() => s.connector.stats().inUse === 0, 5000, "the connection to be released");
    assert.equal(s.connector.stats().open, 0);
  });
});

describe("ClientSession against unsolicited, slow and early-closing peers", () => {
  test("bytes on an idle keep-alive socket discard it; the next request uses a new one", async () => {
    const server = await raw((socket, _head, index, connection) => {
      if (connection === 0 && index === 0) {
        socket.write("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst");
        setTimeout(() => socket.write("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nbogus"), 20);
      } else {
        const body = connection === 0 ? "stale" : "fresh";
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n${body}`);
      }
    });
    const s = session();
    const first = await within(s.get(server.url), LIMIT, "first GET");
    assert.equal(await within(first.text(), LIMIT, "first body"), "first");
    await sleep(150);
    const second = await within(s.get(server.url), LIMIT, "second GET");
    assert.equal(await within(second.text(), LIMIT, "second body"), "fresh");
    assert.equal(server.accepted, 2);
    await until(() => s.connector.stats().open === 1, 5000, "the first connection to close");
  });

  test("bytes right after a complete response: that connection is not reused", async () => {
    const server = await raw((socket, _head, index, connection) => {
      if (connection === 0 && index === 0) {
        socket.write(
          "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirstHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nbogus",
        );
      } else {
        const body = connection === 0 ? "stale" : "fresh";
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n${body}`);
      }
    });
    const s = session();
    const first = await within(s.get(server.url), LIMIT, "first GET");
    assert.equal(await within(first.text(), LIMIT, "first body"), "first");
    const second = await within(s.get(server.url), LIMIT, "second GET");
    assert.equal(await within(second.text(), LIMIT, "second body"), "fresh");
    assert.equal(server.accepted, 2);
    await until(() => s.connector.stats().open === 1, 5000, "the first connection to close");
  });

  for (
    const [name, junk] of [["a NUL", "\x00"], ["a bad line", "garbage\r\n\r\n"], [
      "a bare LF",
      "\n",
    ]]
  ) {
    test(`${name} right after a complete response: not reused, the next POST goes on a new connection`, async () => {
      const server = await raw((socket, _head, index, connection) => {
        if (connection === 0 && index === 0) {
          socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst${junk}`, "latin1");
        } else {
          const body = connection === 0 ? "stale" : "fresh";
          socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n${body}`);
        }
      });
      const s = session();
      const first = await within(s.get(server.url), LIMIT, "first GET");
      assert.equal(await within(first.text(), LIMIT, "first body"), "first");
      const second = await within(s.post(server.url, { data: "pay" }), LIMIT, "POST");
      assert.equal(await within(second.text(), LIMIT, "second body"), "fresh");
      assert.equal(server.accepted, 2);
    });
  }

  test("a head sent byte by byte over 300 ms succeeds", async () => {
    const bytes = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 4\r\n\r\nslow";
    const server = await raw((socket) => {
      let at = 0;
      const gap = Math.ceil(300 / bytes.length);
      const next = () => {
        if (socket.destroyed) return;
        socket.write(bytes[at++], "latin1");
        if (at < bytes.length) setTimeout(next, gap);
      };
      next();
    });
    const res = await within(session().get(server.url), LIMIT, "GET");
    assert.equal(res.status, 200);
    assert.equal(await within(res.text(), LIMIT, "body"), "slow");
  });

  test("a stalled body fails with TimeoutError sockRead", async () => {
    const server = await raw((socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nsome");
    });
    const s = session({ timeout: { total: LIMIT, sockRead: 200 } });
    const error = await failure(server.url, s);
    assert.ok(error instanceof TimeoutError, `a TimeoutError, got ${error}`);
    assert.equal(error.phase, "sockRead");
    assert.match(error.message, /sockRead/);
  });

  test("413 and close during a large upload: the 413 or a typed error, never a hang", async () => {
    const s = session();
    const big = pattern(8 * 1024 * 1024);
    // Answers as soon as the head arrives, without waiting for the body.
    const early = await raw((socket) => {
      socket.end(
        "HTTP/1.1 413 Payload Too Large\r\nconnection: close\r\ncontent-length: 3\r\n\r\nbig",
      );
      setTimeout(() => socket.destroy(), 20);
    });
    let outcome: string;
    try {
      const res = await within(s.post(early.url, { data: big }), LIMIT, "POST");
      outcome = `status ${res.status}`;
      assert.equal(res.status, 413);
      await within(res.text().catch(() => ""), LIMIT, "413 body");
    } catch (error) {
      assert.ok(error instanceof ClientError, `a ClientError, got ${error}`);
      outcome = (error as ClientError).code;
    }
    assert.ok(outcome.length > 0);
    await until(() => s.connector.stats().inUse === 0, 5000, `release after ${outcome}`);
    assert.equal(s.connector.stats().open, 0, "the closed connection is not kept");
  });
});
