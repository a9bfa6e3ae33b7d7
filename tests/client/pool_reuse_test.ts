// Connector: reuse right after a body ends, localAddress, Unix sockets,
// phase hooks (timer) and observer (trace) events.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createHttpServer } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Connector, type PoolObserver } from "../../client/pool.ts";
import { within } from "../adapters/_net.ts";

const connectors: Connector[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];
const dirs: string[] = [];

after(async () => {
  await Promise.all(connectors.map((c) => within(c.close(), 5000, "connector close")));
  for (const s of sockets) s.destroy();
  await Promise.all(
    servers.map((s) => within(new Promise<void>((r) => s.close(() => r())), 5000, "close")),
  );
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function connector(options: ConstructorParameters<typeof Connector>[0] = {}): Connector {
  const c = new Connector(options);
  connectors.push(c);
  return c;
}

interface Raw {
  url: string;
  accepted: number;
  remotes: string[];
}

/** A raw keep-alive HTTP server answering every request head with `body`. */
/** A raw server; with `splitMs` > 0 the body comes that many ms after the head. */
async function raw(body = "ok", listen: { path?: string } = {}, splitMs = 0): Promise<Raw> {
  const state: Raw = { url: "", accepted: 0, remotes: [] };
  const server = createServer((socket) => {
    state.accepted++;
    state.remotes.push(socket.remoteAddress ?? "");
    sockets.push(socket);
    let buffered = "";
    socket.on("error", () => {});
    socket.setNoDelay(true);
    socket.on("data", (chunk) => {
      buffered += chunk.toString("latin1");
      let at: number;
      while ((at = buffered.indexOf("\r\n\r\n")) !== -1) {
        buffered = buffered.slice(at + 4);
        if (splitMs > 0) {
          socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`);
          setTimeout(() => socket.write(body), splitMs);
        } else {
          socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
        }
      }
    });
  });
  servers.push(server);
  if (listen.path !== undefined) {
    await new Promise<void>((resolve) => server.listen(listen.path, resolve));
    state.url = "http://sluice.test";
  } else {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }
  return state;
}

describe("Connector: reuse", () => {
  test("50 sequential GETs reading the body with Response.text() open one socket", async () => {
    const server = await raw("hello", {}, 1);
    const c = connector();
    for (let i = 0; i < 50; i++) {
      const { response } = await within(
        c.request(new URL(`${server.url}/${i}`), { method: "GET", headers: [] }),
        5000,
        `GET ${i}`,
      );
      assert.equal(await within(new Response(response.body).text(), 5000, "body"), "hello");
    }
    assert.equal(server.accepted, 1);
    assert.equal(c.stats().opened, 1);
  });
});

describe("Connector: where it connects", () => {
  test("localAddress: the server sees the connection come from 127.0.0.1", async () => {
    const server = await raw();
    const c = connector({ localAddress: "127.0.0.1" });
    const { response } = await c.request(new URL(server.url), { method: "GET", headers: [] });
    assert.equal(await new Response(response.body).text(), "ok");
    assert.deepEqual(server.remotes.map((r) => r.replace(/^::ffff:/, "")), ["127.0.0.1"]);
  });

  test("socketPath: requests go to the Unix socket, Host from the URL", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sluice-pool-"));
    dirs.push(dir);
    const path = join(dir, "s.sock");
    const hosts: string[] = [];
    const server = createHttpServer((req, res) => {
      hosts.push(`${req.headers.host} ${req.url}`);
      res.end("unix");
    });
    servers.push(server as unknown as Server);
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const c = connector({ socketPath: path });
    for (let i = 0; i < 2; i++) {
      const { response } = await within(
        c.request(new URL(`http://sluice.test/p?i=${i}`), { method: "GET", headers: [] }),
        5000,
        "GET over unix",
      );
      assert.equal(await new Response(response.body).text(), "unix");
    }
    assert.deepEqual(hosts, ["sluice.test /p?i=0", "sluice.test /p?i=1"]);
    assert.equal(c.stats().opened, 1);
  });

  test("localhost resolves and connects", async () => {
    const server = await raw();
    const port = new URL(server.url).port;
    const c = connector({ family: 4 });
    const { response } = await c.request(new URL(`http://localhost:${port}/`), {
      method: "GET",
      headers: [],
    });
    assert.equal(await new Response(response.body).text(), "ok");
  });
});

describe("Connector: phase hooks and observer", () => {
  test("phases and events in order: create, queue, reuse, DNS hit and miss", async () => {
    // The body comes well after the head (a 1 ms gap could be read in one go on a busy machine).
    const server = await raw("ok", {}, 50);
    const port = new URL(server.url).port;
    const log: string[] = [];
    const timer = {
      start: (phase: string) => log.push(`+${phase}`),
      end: (phase: string) => log.push(`-${phase}`),
    };
    const trace: PoolObserver = {
      connectionQueuedStart: () => log.push("queuedStart"),
      connectionQueuedEnd: () => log.push("queuedEnd"),
      connectionCreateStart: () => log.push("createStart"),
      connectionCreateEnd: () => log.push("createEnd"),
      connectionReuseconn: () => log.push("reuse"),
      dnsResolveHostStart: ({ host }) => log.push(`dnsStart ${host}`),
      dnsResolveHostEnd: ({ host, addresses }) => log.push(`dnsEnd ${host} ${addresses}`),
      dnsCacheHit: ({ host }) => log.push(`hit ${host}`),
      dnsCacheMiss: ({ host }) => {
        log.push(`miss ${host}`);
        throw new Error("a throwing observer is ignored");
      },
    };
    const c = connector({ limit: 1, family: 4 });
    const url = new URL(`http://localhost:${port}/`);
    const first = await c.request(url, { method: "GET", headers: [] }, { timer, trace });
    assert.deepEqual(log, [
      "createStart",
      "+connect",
      "miss localhost",
      "dnsStart localhost",
      "dnsEnd localhost 127.0.0.1",
      "-connect",
      "createEnd",
      "+headers",
      "-headers",
    ]);
    log.length = 0;
    const second = c.request(url, { method: "GET", headers: [] }, { timer, trace });
    assert.deepEqual(log, ["+poolWait", "queuedStart"]);
    assert.equal(await new Response(first.response.body).text(), "ok");
    const { response, reused } = await second;
    assert.equal(reused, true);
    assert.deepEqual(log, [
      "+poolWait",
      "queuedStart",
      "-poolWait",
      "queuedEnd",
      "reuse",
      "+headers",
      "-headers",
    ]);
    await new Response(response.body).text();
    c.clearDnsCache();
    log.length = 0;
    await c.close();
    const d = connector({ family: 4, forceClose: true }); // a new connection each time
    for (let i = 0; i < 3; i++) {
      if (i === 2) d.clearDnsCache("localhost");
      const r = await d.request(url, { method: "GET", headers: [] }, { trace });
      await new Response(r.response.body).text();
    }
    assert.deepEqual(log.filter((l) => !l.startsWith("create")), [
      "miss localhost",
      "dnsStart localhost",
      "dnsEnd localhost 127.0.0.1",
      "hit localhost",
      "miss localhost",
      "dnsStart localhost",
      "dnsEnd localhost 127.0.0.1",
    ]);
    assert.equal(d.stats().opened, 3);
  });

  test("a refused connect ends the connect phase too", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const log: string[] = [];
    const timer = {
      start: (phase: string) => log.push(`+${phase}`),
      end: (phase: string) => log.push(`-${phase}`),
    };
    const c = connector();
    const error = await c.request(new URL(`http://127.0.0.1:${port}/`), {
      method: "GET",
      headers: [],
    }, { timer }).catch((e: unknown) => e);
    assert.equal((error as { code?: string }).code, "SLUICE_ERR_CLIENT_CONNECTION_REFUSED");
    assert.deepEqual(log, ["+connect", "-connect"]);
  });
});
