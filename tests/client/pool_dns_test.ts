// DNS for the connector: resolveHost, the DNS cache (TTL, shared lookups,
// failures), Happy Eyeballs, and the connector dialling resolved addresses.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import {
  ConnectError,
  type ConnectOptions,
  defaultClientTransport,
} from "../../adapters/connect.ts";
import { type ResolvedAddress, resolveHost } from "../../adapters/resolve.ts";
import { DNS_CACHE_MAX_ENTRIES, DnsCache, happyEyeballs, interleave } from "../../client/_dns.ts";
import { Connector } from "../../client/pool.ts";
import { ClientConnectionError } from "../../client/errors.ts";
import { within } from "../adapters/_net.ts";

const connectors: Connector[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];

after(async () => {
  await Promise.all(connectors.map((c) => within(c.close(), 5000, "connector close")));
  for (const s of sockets) s.destroy();
  await Promise.all(
    servers.map((s) => within(new Promise<void>((r) => s.close(() => r())), 5000, "close")),
  );
});

function connector(options: ConstructorParameters<typeof Connector>[0] = {}): Connector {
  const c = new Connector(options);
  connectors.push(c);
  return c;
}

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });

/** A keep-alive HTTP server on 127.0.0.1 answering "ok"; records Host fields and sockets. */
async function httpServer(): Promise<{ port: number; hosts: string[]; accepted: () => number }> {
  const hosts: string[] = [];
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.push(socket);
    socket.on("error", () => {});
    let buffered = "";
    socket.on("data", (chunk) => {
      buffered += chunk.toString("latin1");
      let at: number;
      while ((at = buffered.indexOf("\r\n\r\n")) !== -1) {
        hosts.push(/\r\nhost: ([^\r]*)/i.exec(buffered.slice(0, at))?.[1] ?? "");
        buffered = buffered.slice(at + 4);
        socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as { port: number }).port, hosts, accepted: () => accepted };
}

/** A port on 127.0.0.1 where nothing listens. */
async function refusedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe("resolveHost", () => {
  test("IP literals come back as they are", async () => {
    assert.deepEqual(await resolveHost("127.0.0.1"), [v4("127.0.0.1")]);
    assert.deepEqual(await resolveHost("[::1]"), [v6("::1")]);
  });

  test("localhost resolves to a loopback address", async () => {
    const addresses = await within(resolveHost("localhost", { family: 4 }), 5000, "lookup");
    assert.ok(addresses.length > 0);
    assert.ok(addresses.every((a) => a.family === 4 && a.address.startsWith("127.")));
  });

  test("an unknown name is a ConnectError SLUICE_ERR_CONNECT_DNS", async () => {
    const error = await within(resolveHost("no-such-host.invalid"), 10_000, "lookup")
      .catch((e: unknown) => e);
    assert.ok(error instanceof ConnectError, String(error));
    assert.equal(error.code, "SLUICE_ERR_CONNECT_DNS");
  });

  test("an aborted signal rejects", async () => {
    const error = await resolveHost("localhost", { signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    assert.ok(error instanceof ConnectError);
    assert.equal(error.code, "SLUICE_ERR_CONNECT_ABORTED");
  });
});

describe("DnsCache", () => {
  test("hit, miss and TTL expiry on an injected clock", async () => {
    let now = 1000;
    let calls = 0;
    const cache = new DnsCache({
      ttl: 100,
      now: () => now,
      resolver: (host) => Promise.resolve([v4(`10.0.0.${++calls}`), v6(`::${host.length}`)]),
    });
    const first = await cache.lookup("a.test", 0);
    assert.equal(first.hit, false);
    assert.deepEqual(first.addresses.map((a) => a.address), ["10.0.0.1", "::6"]);
    now += 99;
    assert.equal(cache.has("a.test", 0), true);
    const second = await cache.lookup("a.test", 0);
    assert.equal(second.hit, true);
    assert.equal(second.addresses[0].address, "10.0.0.1");
    now += 1;
    assert.equal(cache.has("a.test", 0), false);
    const third = await cache.lookup("a.test", 0);
    assert.equal(third.hit, false);
    assert.equal(third.addresses[0].address, "10.0.0.2");
    assert.equal((await cache.lookup("a.test", 4)).hit, false, "families are cached apart");
    cache.clear("a.test");
    assert.equal(cache.size, 0);
    assert.equal(calls, 3);
  });

  test("expired answers are swept when a new host is looked up; maxEntries bounds the cache", async () => {
    let now = 0;
    const resolver = () => Promise.resolve([v4("10.0.0.1")]);
    const cache = new DnsCache({ ttl: 100, now: () => now, resolver });
    for (let i = 0; i < 50; i++) await cache.lookup(`host${i}.test`, 0);
    assert.equal(cache.size, 50);
    now += 100;
    await cache.lookup("new.test", 0);
    assert.equal(cache.size, 1, "the 50 expired answers are gone, not kept until asked for again");
    const bounded = new DnsCache({ ttl: Infinity, resolver, maxEntries: 3 });
    for (let i = 0; i < 5; i++) await bounded.lookup(`h${i}.test`, 0);
    assert.equal(bounded.size, 3);
    assert.equal(bounded.has("h1.test", 0), false, "the oldest went first");
    assert.equal(bounded.has("h2.test", 0), true);
    assert.equal(bounded.has("h4.test", 0), true);
    assert.equal(new DnsCache({ ttl: 1, resolver }).size, 0);
    assert.equal(DNS_CACHE_MAX_ENTRIES, 10_000);
  });

  test("concurrent lookups share one resolver call; failures are not cached", async () => {
    let calls = 0;
    let fail = true;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const cache = new DnsCache({
      ttl: 10_000,
      resolver: async () => {
        calls++;
        await gate;
        if (fail) throw new Error("SERVFAIL");
        return [v4("10.1.1.1")];
      },
    });
    const failing = Array.from({ length: 5 }, () => cache.lookup("b.test", 0));
    assert.equal(calls, 1);
    release();
    const results = await Promise.allSettled(failing);
    assert.ok(results.every((r) => r.status === "rejected"));
    assert.equal(cache.size, 0);
    fail = false;
    const answers = await Promise.all(Array.from({ length: 5 }, () => cache.lookup("b.test", 0)));
    assert.equal(calls, 2);
    assert.deepEqual(answers.map((a) => a.hit), [false, true, true, true, true]);
  });

  test("an aborted caller stops waiting; the shared lookup goes on", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const cache = new DnsCache({
      ttl: 10_000,
      resolver: async () => {
        await gate;
        return [v4("10.2.2.2")];
      },
    });
    const abort = new AbortController();
    const gaveUp = cache.lookup("c.test", 0, abort.signal);
    const waits = cache.lookup("c.test", 0);
    abort.abort(new Error("stop"));
    await assert.rejects(gaveUp, /stop/);
    release();
    assert.equal((await within(waits, 2000, "shared")).addresses[0].address, "10.2.2.2");
  });
});

describe("happyEyeballs", () => {
  test("interleaves families, starting with the resolver's first", () => {
    const order = interleave([v6("::a"), v6("::b"), v6("::c"), v4("1.1.1.1"), v4("2.2.2.2")]);
    assert.deepEqual(order.map((a) => a.address), ["::a", "1.1.1.1", "::b", "2.2.2.2", "::c"]);
    const v4first = interleave([v4("1.1.1.1"), v6("::a"), v4("2.2.2.2")]);
    assert.deepEqual(v4first.map((a) => a.address), ["1.1.1.1", "::a", "2.2.2.2"]);
  });

  test("a refused first address: the next starts at once and wins (real sockets)", async () => {
    const { port } = await httpServer();
    const refused = await refusedPort();
    const ports: Record<string, number> = { "::1": refused, "127.0.0.1": port };
    const transport = defaultClientTransport();
    const attempts: string[] = [];
    const conn = await within(
      happyEyeballs(
        [v6("::1"), v4("127.0.0.1")],
        (a, signal) => {
          attempts.push(a.address);
          return transport.connect({ hostname: "127.0.0.1", port: ports[a.address], signal });
        },
        60_000, // only the refusal can start the second attempt within the bound
        undefined,
        (c) => c.destroy(),
      ),
      5000,
      "happy eyeballs",
    );
    assert.deepEqual(attempts, ["::1", "127.0.0.1"]);
    assert.equal(conn.remoteAddress.transport === "tcp" && conn.remoteAddress.port, port);
    conn.destroy();
  });

  test("a blackholed first address: the next starts after the delay, the loser is aborted", async () => {
    const aborted: string[] = [];
    const disposed: string[] = [];
    const winner = await within(
      happyEyeballs(
        [v4("10.255.255.1"), v6("::2")],
        (a, signal) =>
          new Promise<string>((resolve, reject) => {
            if (a.address === "::2") return resolve(a.address);
            signal.addEventListener("abort", () => {
              aborted.push(a.address);
              reject(signal.reason);
            });
          }),
        10,
        undefined,
        (value) => disposed.push(value),
      ),
      5000,
      "race",
    );
    assert.equal(winner, "::2");
    assert.deepEqual(aborted, ["10.255.255.1"]);
    assert.deepEqual(disposed, []);
  });

  test("a connection that arrives after the winner is disposed", async () => {
    const disposed: string[] = [];
    let lateArrived!: () => void;
    const late = new Promise<void>((resolve) => (lateArrived = resolve));
    let finishFirst!: (value: string) => void;
    const winner = await happyEyeballs(
      [v4("1.1.1.1"), v4("2.2.2.2")],
      (a) =>
        a.address === "1.1.1.1"
          ? new Promise<string>((resolve) => (finishFirst = resolve)) // ignores its signal
          : Promise.resolve("second"),
      1,
      undefined,
      (value) => {
        disposed.push(value);
        lateArrived();
      },
    );
    assert.equal(winner, "second");
    finishFirst("first");
    await within(late, 2000, "dispose");
    assert.deepEqual(disposed, ["first"]);
  });

  test("all failing: rejects with the first address's error", async () => {
    const error = await happyEyeballs(
      [v4("1.1.1.1"), v6("::1"), v4("2.2.2.2")],
      (a) => Promise.reject(new Error(`failed ${a.address}`)),
      60_000,
      undefined,
      () => {},
    ).catch((e: unknown) => e);
    assert.equal((error as Error).message, "failed 1.1.1.1");
  });

  test("the signal aborts every attempt and rejects with its reason", async () => {
    const abort = new AbortController();
    const aborted: string[] = [];
    const racing = happyEyeballs(
      [v4("1.1.1.1"), v4("2.2.2.2")],
      (a, signal) =>
        new Promise<never>((_, reject) => {
          signal.addEventListener("abort", () => {
            aborted.push(a.address);
            reject(signal.reason);
          });
        }),
      1,
      abort.signal,
      () => {},
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    abort.abort(new Error("cancelled"));
    await assert.rejects(within(racing, 2000, "abort"), /cancelled/);
    assert.deepEqual(aborted.sort(), ["1.1.1.1", "2.2.2.2"]);
  });
});

describe("Connector: resolution", () => {
  test("a name with a dead and a live address connects; Host keeps the name", async () => {
    const server = await httpServer();
    const refused = await refusedPort();
    const dialled: ConnectOptions[] = [];
    const real = defaultClientTransport();
    let lookups = 0;
    const c = connector({
      happyEyeballsDelay: 60_000,
      resolver: () => {
        lookups++;
        return Promise.resolve([v4("127.0.0.2"), v4("127.0.0.1")]);
      },
      transport: {
        connect: (options) => {
          dialled.push(options);
          // 127.0.0.2 stands for a dead address: its port refuses.
          const port = options.hostname === "127.0.0.2" ? refused : options.port;
          return real.connect({ ...options, hostname: "127.0.0.1", port });
        },
      },
    });
    const url = new URL(`http://dual.test:${server.port}/`);
    const results = await within(
      Promise.all(Array.from({ length: 3 }, async () => {
        const { response } = await c.request(url, { method: "GET", headers: [] });
        return await new Response(response.body).text();
      })),
      5000,
      "3 requests",
    );
    assert.deepEqual(results, ["ok", "ok", "ok"]);
    assert.equal(lookups, 1, "concurrent connects share one lookup");
    assert.deepEqual(server.hosts, Array(3).fill(`dual.test:${server.port}`));
    // Each of the 3 connections tried the dead address first, then the live one.
    assert.deepEqual(dialled.map((o) => o.hostname).sort(), [
      ...Array(3).fill("127.0.0.1"),
      ...Array(3).fill("127.0.0.2"),
    ]);
    assert.equal(server.accepted(), 3);
  });

  test("TLS keeps the URL's name for SNI when dialling an address", async () => {
    const dialled: ConnectOptions[] = [];
    const c = connector({
      resolver: () => Promise.resolve([v4("127.0.0.1")]),
      transport: {
        connect: (options) => {
          dialled.push(options);
          return Promise.reject(
            new ConnectError("SLUICE_ERR_CONNECT_REFUSED", "Cannot connect: refused", {
              address: options.hostname,
            }),
          );
        },
      },
    });
    const error = await c.request(new URL("https://secure.test/"), { method: "GET", headers: [] })
      .catch((e: unknown) => e);
    assert.ok(error instanceof ClientConnectionError, String(error));
    assert.equal(dialled[0].hostname, "127.0.0.1");
    assert.equal(dialled[0].tls?.servername, "secure.test");
  });

  test("an unknown host is a ClientConnectionError SLUICE_ERR_CLIENT_DNS; not cached", async () => {
    let lookups = 0;
    const c = connector({
      resolver: (host, options) => {
        lookups++;
        return resolveHost(host, options);
      },
    });
    for (let i = 0; i < 2; i++) {
      const error = await within(
        c.request(new URL("http://no-such-host.invalid/"), { method: "GET", headers: [] }),
        10_000,
        "request",
      ).catch((e: unknown) => e);
      assert.ok(error instanceof ClientConnectionError, String(error));
      assert.equal(error.code, "SLUICE_ERR_CLIENT_DNS");
    }
    assert.equal(lookups, 2);
    assert.equal(c.stats().inUse, 0);
  });

  test("useDnsCache false resolves each time; bad options are refused", async () => {
    const server = await httpServer();
    let lookups = 0;
    const c = connector({
      useDnsCache: false,
      forceClose: true,
      resolver: () => {
        lookups++;
        return Promise.resolve([v4("127.0.0.1")]);
      },
    });
    for (let i = 0; i < 2; i++) {
      const { response } = await c.request(new URL(`http://nocache.test:${server.port}/`), {
        method: "GET",
        headers: [],
      });
      await new Response(response.body).text();
    }
    assert.equal(lookups, 2);
    assert.throws(() => new Connector({ family: 5 as 4 }), RangeError);
    assert.throws(() => new Connector({ ttlDnsCache: -1 }), RangeError);
    assert.throws(() => new Connector({ socketPath: "" }), TypeError);
  });
});
