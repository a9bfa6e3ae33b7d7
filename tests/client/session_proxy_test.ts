// ClientSession through proxies: plain http in absolute form to a forwarding
// proxy, https through a CONNECT tunnel, proxy credentials, a refused tunnel
// (407), trustEnv with HTTP_PROXY/NO_PROXY, and pooled reuse through the proxy.
// The proxy is written here on node:net; the origins are node:http/node:https.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  connect as netConnect,
  createServer as createNetServer,
  type Server,
  type Socket,
} from "node:net";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { resolveHost } from "../../adapters/resolve.ts";
import { BasicAuth, ClientConnectionError, ClientSession, TraceConfig } from "../../client/mod.ts";
import { within } from "../adapters/_net.ts";
import { ca, cert, key } from "../_fixtures/tls_chain.ts";
import { trackedServers } from "../_helpers/tracked_servers.ts";

const sessions: ClientSession[] = [];
const { track, listen } = trackedServers(() =>
  Promise.all(sessions.map((s) => within(s.close(), 5000, "session close")))
);

interface ProxyLog {
  /** First lines of what came in: "CONNECT host:port HTTP/1.1" or "GET http://… HTTP/1.1". */
  lines: string[];
  /** The Proxy-Authorization values seen. */
  auth: (string | null)[];
  /** Connections accepted. */
  accepted: number;
  /** The server names (SNI) of the TLS connections to an `https:` proxy. */
  servernames: (string | false)[];
}

/**
 * A proxy: CONNECT tunnels and absolute-form forwarding; 407 unless
 * `credentials` match. Speaks TLS itself (an `https:` proxy) when `secure`.
 */
async function startProxy(
  credentials: string | null,
  secure = false,
): Promise<{ port: number; log: ProxyLog }> {
  const log: ProxyLog = { lines: [], auth: [], accepted: 0, servernames: [] };
  const onClient = (client: Socket): void => {
    log.accepted++;
    if (secure) log.servernames.push((client as TLSSocket).servername ?? false);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      client.off("data", onData);
      const text = head.subarray(0, end).toString("latin1");
      const [line, ...fields] = text.split("\r\n");
      const auth =
        fields.find((f) => /^proxy-authorization:/i.test(f))?.replace(/^[^:]+:\s*/, "") ??
          null;
      log.lines.push(line);
      log.auth.push(auth);
      if (credentials !== null && auth !== `Basic ${btoa(credentials)}`) {
        client.end("HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n");
        return;
      }
      const [method, target] = line.split(" ");
      const origin = method === "CONNECT" ? new URL(`http://${target}`) : new URL(target);
      const upstream = netConnect(Number(origin.port), origin.hostname);
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
      upstream.on("connect", () => {
        if (method === "CONNECT") client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        else upstream.write(head); // node:http takes absolute-form targets
        client.pipe(upstream);
        upstream.pipe(client);
      });
    };
    client.on("data", onData);
  };
  const server = track(
    secure
      ? createTlsServer({ cert, key }, onClient) as unknown as Server
      : createNetServer(onClient),
  );
  return { port: await listen(server), log };
}

/** Runs `fn` with HTTP_PROXY at the proxy on `port` and NO_PROXY=localhost, then restores the env. */
async function withProxyEnv(port: number, fn: () => Promise<void>): Promise<void> {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process!
    .env;
  const saved = { HTTP_PROXY: env.HTTP_PROXY, NO_PROXY: env.NO_PROXY, no_proxy: env.no_proxy };
  env.HTTP_PROXY = `http://127.0.0.1:${port}`;
  env.NO_PROXY = "localhost";
  delete env.no_proxy;
  try {
    await fn();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
  }
}

async function startOrigins(): Promise<{ http: number; https: number; seen: string[] }> {
  const seen: string[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    seen.push(`${req.url} proxy-auth=${String(req.headers["proxy-authorization"] ?? "")}`);
    // `/redirect?<url>`: a 302 to that URL.
    const to = /\/redirect\?(.*)$/.exec(req.url ?? "")?.[1];
    if (to !== undefined) res.writeHead(302, { location: decodeURIComponent(to) });
    res.end(`origin saw ${req.url}`);
  };
  const http = track(createHttpServer(handler) as unknown as Server);
  const https = track(createHttpsServer({ cert, key }, handler) as unknown as Server);
  return { http: await listen(http), https: await listen(https), seen };
}

function session(options: ConstructorParameters<typeof ClientSession>[0]): ClientSession {
  const s = new ClientSession(options);
  sessions.push(s);
  return s;
}

describe("ClientSession through a proxy", () => {
  test("plain http goes in absolute form, reusing the proxy connection", async () => {
    const { port, log } = await startProxy(null);
    const origin = await startOrigins();
    const s = session({ proxy: `http://127.0.0.1:${port}` });
    for (let i = 0; i < 3; i++) {
      const res = await s.get(`http://127.0.0.1:${origin.http}/a?i=${i}`);
      assert.equal(await res.text(), `origin saw http://127.0.0.1:${origin.http}/a?i=${i}`);
    }
    assert.deepEqual(log.lines, [`GET http://127.0.0.1:${origin.http}/a?i=0 HTTP/1.1`]);
    assert.equal(log.accepted, 1);
  });

  test("https goes through a CONNECT tunnel with TLS to the origin", async () => {
    const { port, log } = await startProxy("ann:s3cret");
    const origin = await startOrigins();
    const s = session({
      proxy: `http://ann:s3cret@127.0.0.1:${port}`,
      connector: { tls: { ca } },
    });
    const url = `https://localhost:${origin.https}/secure`;
    assert.equal(await (await s.get(url)).text(), "origin saw /secure");
    assert.equal(await (await s.get(url)).text(), "origin saw /secure");
    assert.deepEqual(log.lines, [`CONNECT localhost:${origin.https} HTTP/1.1`]);
    assert.equal(log.auth[0], `Basic ${btoa("ann:s3cret")}`);
    // The proxy's credentials never reach the origin.
    assert.deepEqual(origin.seen, ["/secure proxy-auth=", "/secure proxy-auth="]);
  });

  test("proxyAuth per request; a refused tunnel is SLUICE_ERR_CLIENT_PROXY", async () => {
    const { port, log } = await startProxy("u:p");
    const origin = await startOrigins();
    const s = session({ connector: { tls: { ca } } });
    const url = `https://localhost:${origin.https}/x`;
    await assert.rejects(
      s.get(url, { proxy: `http://127.0.0.1:${port}` }),
      (error: unknown) => {
        assert.ok(error instanceof ClientConnectionError);
        assert.equal(error.code, "SLUICE_ERR_CLIENT_PROXY");
        assert.equal((error.cause as { status?: number }).status, 407);
        return true;
      },
    );
    const res = await s.get(url, {
      proxy: `http://127.0.0.1:${port}`,
      proxyAuth: new BasicAuth("u", "p"),
    });
    assert.equal(await res.text(), "origin saw /x");
    assert.equal(log.auth.at(-1), `Basic ${btoa("u:p")}`);
    assert.equal(s.connector.stats().inUse, 0);
  });

  test("trustEnv reads HTTP_PROXY and honours NO_PROXY; proxy: null opts out", async () => {
    const { port, log } = await startProxy(null);
    const origin = await startOrigins();
    await withProxyEnv(port, async () => {
      const s = session({ trustEnv: true });
      await (await s.get(`http://127.0.0.1:${origin.http}/via`)).text();
      await (await s.get(`http://localhost:${origin.http}/direct`)).text();
      await (await s.get(`http://127.0.0.1:${origin.http}/optout`, { proxy: null })).text();
    });
    assert.deepEqual(log.lines, [`GET http://127.0.0.1:${origin.http}/via HTTP/1.1`]);
    assert.deepEqual(origin.seen.map((line) => line.split(" ")[0]), [
      `http://127.0.0.1:${origin.http}/via`,
      "/direct",
      "/optout",
    ]);
  });

  test("trustEnv chooses the proxy for each redirect hop (NO_PROXY both ways)", async () => {
    const { port, log } = await startProxy(null);
    const origin = await startOrigins();
    const proxied = `http://127.0.0.1:${origin.http}`;
    const direct = `http://localhost:${origin.http}`;
    const bodies: string[] = [];
    await withProxyEnv(port, async () => {
      const s = session({ trustEnv: true });
      for (const [from, to] of [[proxied, direct], [direct, proxied]]) {
        const res = await s.get(`${from}/redirect?${encodeURIComponent(`${to}/landed`)}`);
        bodies.push(await res.text());
      }
    });
    assert.deepEqual(bodies, [
      "origin saw /landed",
      `origin saw ${proxied}/landed`, // absolute form: it came through the proxy
    ]);
    // The proxy logs the first request of each connection (then it pipes).
    assert.equal(
      log.lines[0],
      `GET ${proxied}/redirect?${encodeURIComponent(`${direct}/landed`)} HTTP/1.1`,
    );
  });
});

describe("ClientSession through a proxy named by host name", () => {
  /** A resolver for "proxy.test": a dead loopback address first, then the proxy's. */
  function proxyResolver(lookups: string[]) {
    return (host: string) => {
      lookups.push(host);
      // 127.0.0.2 is loopback too, and nothing listens on the proxy's port there: refused.
      return Promise.resolve([
        { address: "127.0.0.2", family: 4 as const },
        { address: "127.0.0.1", family: 4 as const },
      ]);
    };
  }

  test("its addresses come from the DNS cache and are raced; traced like an origin's", async () => {
    const { port, log } = await startProxy(null);
    const origin = await startOrigins();
    const lookups: string[] = [];
    const dns: string[] = [];
    const trace = new TraceConfig();
    trace.onDnsCacheMiss.push((_s, _c, p) => void dns.push(`miss ${p.host}`));
    trace.onDnsCacheHit.push((_s, _c, p) => void dns.push(`hit ${p.host}`));
    const s = session({
      proxy: `http://proxy.test:${port}`,
      connector: { resolver: proxyResolver(lookups), happyEyeballsDelay: 60_000, forceClose: true },
      trace: [trace],
    });
    for (let i = 0; i < 3; i++) {
      const res = await within(s.get(`http://127.0.0.1:${origin.http}/n${i}`), 5000, "GET");
      assert.equal(await res.text(), `origin saw http://127.0.0.1:${origin.http}/n${i}`);
    }
    assert.deepEqual(lookups, ["proxy.test"], "one lookup, then the cache");
    assert.deepEqual(dns, ["miss proxy.test", "hit proxy.test", "hit proxy.test"]);
    assert.equal(log.accepted, 3, "forceClose: one proxy connection per request");
  });

  test("an https origin through a CONNECT tunnel to the resolved proxy", async () => {
    const { port, log } = await startProxy(null);
    const origin = await startOrigins();
    const lookups: string[] = [];
    const s = session({
      proxy: `http://proxy.test:${port}`,
      connector: { resolver: proxyResolver(lookups), happyEyeballsDelay: 60_000, tls: { ca } },
    });
    const url = `https://localhost:${origin.https}/tunnel`;
    assert.equal(await (await within(s.get(url), 5000, "GET")).text(), "origin saw /tunnel");
    assert.deepEqual(lookups, ["proxy.test"]);
    assert.deepEqual(log.lines, [`CONNECT localhost:${origin.https} HTTP/1.1`]);
  });

  test("an https: proxy dialled at its address keeps its name for SNI", async () => {
    const { port, log } = await startProxy(null, true);
    const origin = await startOrigins();
    const lookups: string[] = [];
    const s = session({
      proxy: `https://localhost:${port}`,
      connector: {
        tls: { ca },
        resolver: (host, options) => {
          lookups.push(host);
          return resolveHost(host, options);
        },
      },
    });
    const plain = `http://127.0.0.1:${origin.http}/plain`;
    assert.equal(await (await within(s.get(plain), 5000, "GET")).text(), `origin saw ${plain}`);
    const secure = `https://localhost:${origin.https}/secure`;
    assert.equal(await (await within(s.get(secure), 5000, "GET")).text(), "origin saw /secure");
    assert.deepEqual(lookups, ["localhost"], "the proxy's name was resolved by the connector");
    assert.deepEqual(log.servernames, ["localhost", "localhost"]);
  });

  test("a proxy name that does not resolve: SLUICE_ERR_CLIENT_DNS naming the route", async () => {
    const s = session({ proxy: "http://no-such-proxy.invalid:3128" });
    for (const url of ["http://origin.test/", "https://origin.test/"]) {
      const error = await within(s.get(url), 10_000, "GET").catch((e: unknown) => e);
      assert.ok(error instanceof ClientConnectionError, String(error));
      assert.equal(error.code, "SLUICE_ERR_CLIENT_DNS");
      assert.match(
        error.message,
        /^Cannot connect to origin\.test:(80|443) through the proxy no-such-proxy\.invalid:3128: the name no-such-proxy\.invalid was not found/,
      );
    }
    assert.equal(s.connector.stats().inUse, 0);
  });
});
