// ClientConnection: Expect: 100-continue, upload progress and response
// trailers, against raw node:net servers that script exact bytes and a
// node:http server that counts what it received.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { defaultClientTransport } from "../../adapters/connect.ts";
import { ClientConnection, type ConnectionRequest } from "../../client/_connection.ts";
import { ClientPayloadError } from "../../client/errors.ts";
import { concat, sleep, str, text, until, within } from "../adapters/_net.ts";

const connections: ClientConnection[] = [];
const sockets: Socket[] = [];
const servers: Array<Server | HttpServer> = [];

after(async () => {
  for (const c of connections) c.close().catch(() => {});
  for (const s of sockets) s.destroy();
  await Promise.all(connections.map((c) => within(c.closed, 5000, "connection close")));
  await Promise.all(
    servers.map((s) => within(new Promise<void>((r) => s.close(() => r())), 5000, "close")),
  );
});

async function dial(port: number): Promise<ClientConnection> {
  const conn = await within(
    defaultClientTransport().connect({ hostname: "127.0.0.1", port }),
    5000,
    "connect",
  );
  const connection = new ClientConnection(conn);
  connections.push(connection);
  return connection;
}

async function readAll(body: ReadableStream<Uint8Array> | null): Promise<string> {
  if (body === null) return "";
  const chunks: Uint8Array[] = [];
  const reader = body.getReader();
  const read = async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      chunks.push(value);
    }
  };
  await within(read(), 10_000, "body");
  return str(concat(chunks));
}

function post(body: ConnectionRequest["body"], extra: Partial<ConnectionRequest> = {}) {
  return { method: "POST", target: "/", headers: [["host", "127.0.0.1"]], body, ...extra } as
    & ConnectionRequest
    & { headers: Array<[string, string]> };
}

function streamOf(parts: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < parts.length) controller.enqueue(parts[i++]);
      else controller.close();
    },
  });
}

/** One accepted connection of a raw server: everything it received, as Latin-1. */
interface Peer {
  socket: Socket;
  data: string;
  /** Steps of the script already taken. */
  done: Set<string>;
  closed: boolean;
}

const headOf = (p: Peer): string | null => {
  const at = p.data.indexOf("\r\n\r\n");
  return at === -1 ? null : p.data.slice(0, at);
};
const bodyOf = (p: Peer): string => p.data.slice(p.data.indexOf("\r\n\r\n") + 4);

/** A raw server calling `script` after every read of each connection. */
async function rawServer(script: (peer: Peer) => void): Promise<{ port: number; peers: Peer[] }> {
  const peers: Peer[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    const peer: Peer = { socket, data: "", done: new Set(), closed: false };
    peers.push(peer);
    socket.on("error", () => {});
    socket.on("close", () => (peer.closed = true));
    socket.on("data", (chunk) => {
      peer.data += chunk.toString("latin1");
      script(peer);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return { port: typeof address === "object" && address ? address.port : 0, peers };
}

/** Runs `step` once per peer. */
function once(peer: Peer, name: string, step: () => void): void {
  if (peer.done.has(name)) return;
  peer.done.add(name);
  step();
}

const BODY = "x".repeat(1000);

describe("Expect: 100-continue", () => {
  test("the body waits for 100 Continue, then goes", async () => {
    let bodyWhile100 = -1;
    let head = "";
    const { port } = await rawServer((p) => {
      if (headOf(p) === null) return;
      once(p, "100", () => {
        head = headOf(p)!;
        setTimeout(() => {
          bodyWhile100 = bodyOf(p).length;
          p.socket.write("HTTP/1.1 100 Continue\r\n\r\n");
        }, 100);
      });
      if (bodyOf(p).length >= BODY.length) {
        once(p, "200", () => p.socket.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n1000"));
      }
    });
    const c = await dial(port);
    // A wait far longer than the test's bound: only the 100 can release the body.
    const res = await within(c.request(post(text(BODY), { expect100: 60_000 })), 5000, "head");
    assert.equal(res.status, 200);
    assert.equal(await readAll(res.body), "1000");
    assert.equal(bodyWhile100, 0);
    assert.match(head, /\r\nexpect: 100-continue(\r\n|$)/i);
    await until(() => c.reusable, 2000, "reusable");
  });

  test("a final 417 first: the body is never sent, the connection closes", async () => {
    let head = "";
    const { port, peers } = await rawServer((p) => {
      if (headOf(p) === null) return;
      once(p, "417", () => {
        head = headOf(p)!;
        p.socket.write("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n");
      });
    });
    const c = await dial(port);
    const res = await within(c.request(post(text(BODY), { expect100: true })), 5000, "head");
    assert.equal(res.status, 417);
    assert.equal(await readAll(res.body), "");
    await within(c.closed, 5000, "closed after the response");
    await until(() => peers[0].closed, 2000, "server side closed");
    assert.equal(bodyOf(peers[0]).length, 0);
    assert.equal(head.match(/expect:/gi)?.length, 1);
  });

  test("a final 401 first cancels a held stream; a caller's own Expect field counts", async () => {
    const { port, peers } = await rawServer((p) => {
      if (headOf(p) === null) return;
      once(p, "401", () => {
        p.socket.write(
          "HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno",
        );
      });
    });
    const c = await dial(port);
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(text(BODY)),
      cancel: () => {
        cancelled = true;
      },
    });
    const request = post(body);
    request.headers.push(["Expect", "100-continue"]);
    const res = await within(c.request(request), 5000, "head");
    assert.equal(res.status, 401);
    assert.equal(await readAll(res.body), "no");
    await within(c.closed, 5000, "closed");
    await until(() => cancelled, 2000, "stream cancelled");
    await until(() => peers[0].closed, 2000, "server side closed");
    assert.equal(bodyOf(peers[0]).length, 0);
    assert.equal(headOf(peers[0])!.match(/expect:/gi)?.length, 1);
  });

  test("no 100 within the wait: the body is sent anyway", async () => {
    const { port, peers } = await rawServer((p) => {
      if (headOf(p) !== null && bodyOf(p).length >= BODY.length) {
        once(p, "200", () => p.socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
      }
    });
    const c = await dial(port);
    const res = await within(c.request(post(text(BODY), { expect100: 50 })), 5000, "head");
    assert.equal(res.status, 200);
    assert.equal(await readAll(res.body), "ok");
    assert.equal(bodyOf(peers[0]), BODY);
    assert.match(headOf(peers[0])!, /expect: 100-continue/i);
    await until(() => c.reusable, 2000, "reusable");
  });

  test("an empty body sends no Expect field and does not wait", async () => {
    const heads: string[] = [];
    const { port } = await rawServer((p) => {
      const head = headOf(p);
      if (head === null) return;
      heads.push(head);
      p.data = "";
      p.socket.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    });
    const c = await dial(port);
    const cases: ConnectionRequest[] = [
      post(new Uint8Array(0), { expect100: 60_000 }),
      post(undefined, { expect100: true }),
      post(streamOf([]), { expect100: 60_000, contentLength: 0 }),
    ];
    for (const request of cases) {
      const res = await within(c.request(request), 5000, "head");
      assert.equal(res.status, 200);
      assert.equal(await readAll(res.body), "");
      await until(() => c.reusable, 2000, "reusable");
    }
    assert.equal(heads.length, 3);
    for (const head of heads) assert.doesNotMatch(head, /expect/i);
  });

  test("103 then 100 then 200: 103 is skipped, 100 releases the body", async () => {
    const { port, peers } = await rawServer((p) => {
      if (headOf(p) === null) return;
      once(p, "103", () => {
        p.socket.write("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n");
        setTimeout(() => p.socket.write("HTTP/1.1 100 Continue\r\n\r\n"), 50);
      });
      if (bodyOf(p).length >= BODY.length) {
        once(p, "200", () => p.socket.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone"));
      }
    });
    const c = await dial(port);
    const sent: number[] = [];
    const res = await within(
      c.request(post(streamOf([text(BODY)]), {
        expect100: 60_000,
        onChunkSent: (_n, total) => sent.push(total),
      })),
      5000,
      "head",
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("link"), null);
    assert.equal(await readAll(res.body), "done");
    assert.equal(bodyOf(peers[0]), `3e8\r\n${BODY}\r\n0\r\n\r\n`);
    assert.deepEqual(sent, [1000]);
    await until(() => c.reusable, 2000, "reusable");
  });

  test("an invalid wait is a RangeError", async () => {
    const { port } = await rawServer(() => {});
    const c = await dial(port);
    await assert.rejects(c.request(post(text("a"), { expect100: -1 })), RangeError);
    assert.ok(c.reusable);
  });
});

/** A node:http server answering with the number of body bytes it read. */
async function countingServer(): Promise<number> {
  const server = createHttpServer((req, res) => {
    let n = 0;
    req.on("data", (chunk: Uint8Array) => (n += chunk.length));
    req.on("end", () => res.end(String(n)));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return typeof address === "object" && address ? address.port : 0;
}

describe("upload progress", () => {
  test("bytes bodies report once; streams per chunk with the running total", async () => {
    const c = await dial(await countingServer());
    const calls: Array<[number, number]> = [];
    const onChunkSent = (n: number, total: number) => calls.push([n, total]);

    for (const size of [10, 100_000]) {
      calls.length = 0;
      const res = await c.request(post(new Uint8Array(size), { onChunkSent }));
      assert.equal(await readAll(res.body), String(size));
      assert.deepEqual(calls, [[size, size]]);
      await until(() => c.reusable, 2000, "reusable");
    }

    const parts = [new Uint8Array(3), new Uint8Array(0), new Uint8Array(40_000), new Uint8Array(5)];
    for (const contentLength of [null, 40_008]) {
      calls.length = 0;
      const res = await c.request(post(streamOf(parts), { onChunkSent, contentLength }));
      assert.equal(await readAll(res.body), "40008");
      assert.deepEqual(calls, [[3, 3], [40_000, 40_003], [5, 40_008]]);
      await until(() => c.reusable, 2000, "reusable");
    }
  });

  test("a throwing callback fails the request with its error", async () => {
    const port = await countingServer();
    const boom = new Error("progress failed");
    const c = await dial(port);
    await assert.rejects(
      within(
        c.request(post(text("abc"), {
          onChunkSent: () => {
            throw boom;
          },
        })),
        5000,
        "bytes",
      ),
      (err: unknown) => err === boom,
    );
    await within(c.closed, 5000, "closed");
    const c2 = await dial(port);
    await assert.rejects(
      within(
        c2.request(post(streamOf([text("a"), text("b")]), {
          onChunkSent: () => {
            throw boom;
          },
        })),
        5000,
        "stream",
      ),
      (err: unknown) => err === boom,
    );
    await within(c2.closed, 5000, "closed");
  });
});

describe("response trailers", () => {
  const chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n";

  test("trailers with values, asked before and after the body; none; a second request", async () => {
    const { port, peers } = await rawServer((p) => {
      const head = headOf(p);
      if (head === null) return;
      p.data = "";
      if (head.startsWith("GET /with")) {
        p.socket.write(`${chunked}0\r\nX-Sum: 42\r\nX-Other: a\r\nX-Other: b\r\n\r\n`);
      } else if (head.startsWith("GET /none")) {
        p.socket.write(`${chunked}0\r\n\r\n`);
      } else {
        p.socket.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain");
      }
    });
    const c = await dial(port);
    const get = (target: string): ConnectionRequest => ({
      method: "GET",
      target,
      headers: [["host", "127.0.0.1"]],
    });

    const res = await within(c.request(get("/with")), 5000, "head");
    const early = res.trailers; // asked before the body ended
    assert.equal(await readAll(res.body), "hello");
    const trailers = await within(early, 2000, "trailers");
    assert.equal(trailers.get("x-sum"), "42");
    assert.equal(trailers.get("x-other"), "a, b");
    assert.equal(res.trailers, early);
    assert.equal(res.headers.get("x-sum"), null);
    await until(() => c.reusable, 2000, "reusable");

    const res2 = await within(c.request(get("/none")), 5000, "head");
    assert.equal(await readAll(res2.body), "hello");
    assert.deepEqual([...(await within(res2.trailers, 2000, "trailers"))], []);
    await until(() => c.reusable, 2000, "reusable");

    const res3 = await within(c.request(get("/with")), 5000, "head");
    assert.equal(await readAll(res3.body), "hello");
    assert.equal((await within(res3.trailers, 2000, "late trailers")).get("x-sum"), "42");
    await until(() => c.reusable, 2000, "reusable");

    const res4 = await within(c.request(get("/plain")), 5000, "head");
    assert.equal(await readAll(res4.body), "plain");
    assert.deepEqual([...(await within(res4.trailers, 2000, "trailers"))], []);
    assert.equal(peers.length, 1);
    assert.equal(c.requests, 4);
  });

  test("a failed body resolves trailers empty", async () => {
    const { port } = await rawServer((p) => {
      if (headOf(p) !== null) once(p, "cut", () => p.socket.end(chunked));
    });
    const c = await dial(port);
    const res = await within(
      c.request({ method: "GET", target: "/", headers: [["host", "x"]] }),
      5000,
      "head",
    );
    const trailers = res.trailers;
    await assert.rejects(
      readAll(res.body),
      (err: unknown) =>
        err instanceof ClientPayloadError && err.code === "SLUICE_ERR_CLIENT_PAYLOAD_TRUNCATED",
    );
    assert.deepEqual([...(await within(trailers, 2000, "trailers"))], []);
    assert.deepEqual([...(await within(res.trailers, 2000, "trailers again"))], []);
    await sleep(0);
  });
});
