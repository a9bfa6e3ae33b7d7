// Proxies for the client (client/_proxy.ts): the pool-key part, the
// absolute-form target and Proxy-Authorization of plain requests, and
// connectThroughProxy() driving real GETs with ClientConnection through a
// CONNECT proxy (written here on node:net) to an HTTPS origin (node:https),
// and through the same proxy as a forwarding proxy to a plain node:http origin.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect as netConnect, createServer as createNetServer } from "node:net";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { Buffer } from "node:buffer";
import { ConnectError, defaultClientTransport } from "../../adapters/connect.ts";
import { ClientConnection } from "../../client/_connection.ts";
import { parseProxyUrl } from "../../client/proxy_env.ts";
import { InternedIds } from "../../client/_interned_ids.ts";
import { connectThroughProxy, proxyHeaders, proxyKey, proxyTarget } from "../../client/_proxy.ts";
import { runtime, until, within } from "../adapters/_net.ts";
import { ca, cert, key } from "../_fixtures/tls_chain.ts";
import { trackedServers } from "../_helpers/tracked_servers.ts";

const connections: ClientConnection[] = [];
const { track, listen: start, sockets } = trackedServers(async () => {
  for (const c of connections) c.close().catch(() => {});
  await Promise.all(connections.map((c) => within(c.closed, 5000, "connection close")));
});

const AUTH = "Basic dXNlcjpwYXNz"; // user:pass

interface Proxy {
  port: number;
  /** Request lines seen (CONNECT and absolute-form). */
  lines: string[];
}

/**
 * A proxy on node:net wanting `AUTH`: CONNECT opens a tunnel; any other
 * method with an absolute-form target is forwarded (origin-form) to the
 * target's host and port on a fresh connection, bytes piped both ways.
 */
async function proxyServer(): Promise<Proxy> {
  const proxy: Proxy = { port: 0, lines: [] };
  const server = track(createNetServer({ allowHalfOpen: true }, (client) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end === -1) return;
      client.off("data", onData);
      client.pause();
      const [line, ...fields] = buffered.subarray(0, end).toString("latin1").split("\r\n");
      const rest = buffered.subarray(end + 4);
      proxy.lines.push(line);
      const auth = fields.find((f) => /^proxy-authorization:/i.test(f))?.replace(/^[^:]*:\s*/, "");
      if (auth !== AUTH) {
        client.end("HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n");
        return;
      }
      const [method, target] = line.split(" ");
      const url = method === "CONNECT" ? new URL(`http://${target}`) : new URL(target);
      const upstream = netConnect(Number(url.port || 80), url.hostname);
      sockets.add(upstream);
      upstream.on("error", () => client.destroy());
      upstream.on("close", () => client.destroy());
      client.on("close", () => upstream.destroy());
      upstream.once("connect", () => {
        if (method === "CONNECT") client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        else {
          const kept = fields.filter((f) => !/^proxy-authorization:/i.test(f));
          upstream.write(
            [`${method} ${url.pathname}${url.search} HTTP/1.1`, ...kept, "", ""].join("\r\n"),
          );
        }
        if (rest.length > 0) upstream.write(rest);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    client.on("data", onData);
  }));
  proxy.port = await start(server);
  return proxy;
}

async function readText(body: ReadableStream<Uint8Array> | null): Promise<string> {
  return body === null ? "" : await new Response(body).text();
}

describe("client proxy helpers", () => {
  test("proxyKey() is empty without a proxy and tells proxies and credentials apart", () => {
    assert.equal(proxyKey(null), "");
    assert.equal(proxyKey(parseProxyUrl("proxy.test:3128")), "http://proxy.test:3128");
    assert.equal(proxyKey(parseProxyUrl("https://proxy.test")), "https://proxy.test:443");
    const a = proxyKey(parseProxyUrl("http://u:p@proxy.test:3128"));
    const b = proxyKey(parseProxyUrl("http://u:q@proxy.test:3128"));
    assert.notEqual(a, b);
    assert.equal(a, proxyKey(parseProxyUrl("http://u:p@proxy.test:3128")));
    assert.ok(!a.includes("dTpw") && !a.includes("u:p"), "no credentials in the key");
    // Rotating credentials (a new session id per request): all told apart, none kept forever.
    const keys = new Set<string>();
    for (let i = 0; i < 1500; i++) {
      keys.add(proxyKey(parseProxyUrl(`http://user-session-${i}:p@proxy.test:3128`)));
    }
    assert.equal(keys.size, 1500);
    const again = proxyKey(parseProxyUrl("http://user-session-0:p@proxy.test:3128"));
    assert.ok(
      !keys.has(again),
      "a forgotten credential comes back with a new id, never an old one",
    );
  });

  test("InternedIds: equal strings share an id while remembered; ids are never reused", () => {
    const ids = new InternedIds(3);
    const a = ids.idOf("a");
    assert.equal(ids.idOf("a"), a);
    const seen = new Set([a, ids.idOf("b"), ids.idOf("c"), ids.idOf("d")]);
    assert.equal(seen.size, 4);
    assert.equal(ids.size, 3, "bounded");
    const a2 = ids.idOf("a"); // "a" was the oldest: forgotten
    assert.ok(!seen.has(a2));
    assert.equal(ids.idOf("d"), ids.idOf("d"));
  });

  test("proxyTarget() is the absolute form without credentials or fragment", () => {
    assert.equal(
      proxyTarget(new URL("http://u:p@example.test:8080/a%20b?q=1#frag")),
      "http://example.test:8080/a%20b?q=1",
    );
    assert.equal(proxyTarget(new URL("http://example.test")), "http://example.test/");
    assert.equal(proxyTarget(new URL("http://[::1]:81/x")), "http://[::1]:81/x");
  });

  test("proxyHeaders() sends Basic credentials of the proxy URL", () => {
    assert.deepEqual(proxyHeaders(parseProxyUrl("http://proxy.test:3128")), []);
    assert.deepEqual(proxyHeaders(parseProxyUrl("http://user:pass@proxy.test:3128")), [
      ["proxy-authorization", AUTH],
    ]);
  });
});

describe(`${runtime} connectThroughProxy()`, () => {
  const transport = defaultClientTransport();

  test("an https: target: GET through a CONNECT tunnel with credentials", async () => {
    const origin = await start(track(createHttpsServer({ cert, key }, (req, res) => {
      res.setHeader("content-type", "text/plain");
      res.end(`secure ${req.method} ${req.url}`);
    })));
    const proxy = await proxyServer();
    const conn = await within(
      connectThroughProxy(transport, {
        proxy: parseProxyUrl(`http://user:pass@127.0.0.1:${proxy.port}`),
        hostname: "localhost",
        port: origin,
        tls: { ca, alpnProtocols: ["http/1.1"] },
      }),
      5000,
      "connect",
    );
    const connection = new ClientConnection(conn);
    connections.push(connection);
    for (const path of ["/one?x=1", "/two"]) {
      const res = await within(
        connection.request({
          method: "GET",
          target: path,
          headers: [["host", `localhost:${origin}`]],
        }),
        5000,
        "response",
      );
      assert.equal(res.status, 200);
      assert.equal(await within(readText(res.body), 5000, "body"), `secure GET ${path}`);
    }
    assert.deepEqual(proxy.lines, [`CONNECT localhost:${origin} HTTP/1.1`]);
  });

  test("an https: target without credentials: SLUICE_ERR_CONNECT_PROXY, status 407", async () => {
    const proxy = await proxyServer();
    await assert.rejects(
      within(
        connectThroughProxy(transport, {
          proxy: parseProxyUrl(`http://127.0.0.1:${proxy.port}`),
          hostname: "localhost",
          port: 443,
          tls: { ca },
        }),
        5000,
        "connect",
      ),
      (error: unknown) => {
        assert.ok(error instanceof ConnectError);
        assert.equal(error.code, "SLUICE_ERR_CONNECT_PROXY");
        assert.equal(error.status, 407);
        return true;
      },
    );
  });

  test("an http: target: absolute-form GET sent to the proxy", async () => {
    const seen: string[] = [];
    const origin = await start(track(createHttpServer((req, res) => {
      seen.push(`${req.url} ${req.headers["proxy-authorization"] ?? "-"}`);
      res.end(`plain ${req.url}`);
    })));
    const proxy = await proxyServer();
    const info = parseProxyUrl(`http://user:pass@127.0.0.1:${proxy.port}`);
    const conn = await within(
      connectThroughProxy(transport, { proxy: info, hostname: "127.0.0.1", port: origin }),
      5000,
      "connect",
    );
    assert.equal(conn.tls, null);
    const connection = new ClientConnection(conn);
    connections.push(connection);
    const url = new URL(`http://127.0.0.1:${origin}/path?q=1`);
    const res = await within(
      connection.request({
        method: "GET",
        target: proxyTarget(url),
        headers: [["host", url.host], ...proxyHeaders(info)],
      }),
      5000,
      "response",
    );
    assert.equal(res.status, 200);
    assert.equal(await within(readText(res.body), 5000, "body"), "plain /path?q=1");
    assert.deepEqual(proxy.lines, [`GET http://127.0.0.1:${origin}/path?q=1 HTTP/1.1`]);
    assert.deepEqual(seen, ["/path?q=1 -"]);
    await until(() => connection.reusable, 5000, "the connection to be idle");
  });
});
