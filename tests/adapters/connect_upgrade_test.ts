// CONNECT tunnels of the client transports (ConnectOptions.tunnel): a small
// proxy written here with node:net (or node:tls for an https: proxy) in front
// of TLS and plain origins: TLS with a CA, insecure, verification failure,
// proxy refusals (407), an abort during CONNECT, and the bytes around the
// proxy's response head (split head, head coalesced with the origin's first
// bytes).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  connect as netConnect,
  createServer as createNetServer,
  type Server,
  type Socket,
} from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { Buffer } from "node:buffer";
import {
  ConnectError,
  type ConnectOptions,
  defaultClientTransport,
} from "../../adapters/connect.ts";
import type { Conn } from "../../adapters/transport.ts";
import { Recorder, runtime, str, text, until, watched, within } from "./_net.ts";
import { ca, cert, key } from "../_fixtures/tls_chain.ts";
import { trackedServers } from "../_helpers/tracked_servers.ts";

const { track, listen: start, sockets } = trackedServers();

/** A TLS origin that echoes every byte. */
function tlsEchoServer(): Server {
  const server = createTlsServer({ cert, key, ALPNProtocols: ["http/1.1"] }, (socket) => {
    socket.on("data", (chunk) => socket.write(chunk));
    socket.on("end", () => socket.end());
    socket.on("error", () => {});
  });
  server.on("tlsClientError", () => {});
  return track(server);
}

/** A plain origin that greets first (`greeting\n`), then echoes. */
function greeterServer(): Server {
  return track(createNetServer({ allowHalfOpen: true }, (socket) => {
    socket.write("greeting\n");
    socket.on("data", (chunk) => socket.write(chunk));
    socket.on("end", () => socket.end());
  }));
}

interface ProxyOptions {
  /** Required `Proxy-Authorization` value; without it the proxy answers 407. */
  auth?: string;
  /** Never answer CONNECT. */
  silent?: boolean;
  /** Send the 200 head in two writes. */
  split?: boolean;
  /** Wait for the origin's first bytes and send them in the same write as the 200 head. */
  coalesce?: boolean;
  /** Answer this instead of a 200 head. */
  answer?: string;
  /** Speak TLS to the client (an https: proxy). */
  tls?: boolean;
}

interface ProxyStats {
  port: number;
  opened: number;
  closed: number;
  heads: string[];
}

const OK = "HTTP/1.1 200 Connection Established\r\n\r\n";

/** A CONNECT proxy on node:net (node:tls with `tls`), counting its client sockets. */
async function proxyServer(options: ProxyOptions = {}): Promise<ProxyStats> {
  const stats: ProxyStats = { port: 0, opened: 0, closed: 0, heads: [] };
  const handle = (client: Socket): void => {
    stats.opened++;
    client.on("close", () => stats.closed++);
    client.on("error", () => {});
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end === -1) return;
      client.off("data", onData);
      client.pause();
      const head = buffered.subarray(0, end).toString("latin1");
      stats.heads.push(head);
      const [requestLine, ...lines] = head.split("\r\n");
      const auth = lines.find((l) => /^proxy-authorization:/i.test(l))?.replace(/^[^:]*:\s*/, "");
      if (options.auth !== undefined && auth !== options.auth) {
        client.end(
          "HTTP/1.1 407 Proxy Authentication Required\r\n" +
            'proxy-authenticate: Basic realm="test"\r\ncontent-length: 0\r\n\r\n',
        );
        return;
      }
      if (options.silent) {
        // Reading on, to see the client go away.
        client.on("end", () => client.end());
        client.resume();
        return;
      }
      if (options.answer !== undefined) {
        client.end(options.answer);
        return;
      }
      const authority = requestLine.split(" ")[1];
      const at = authority.lastIndexOf(":");
      const upstream = netConnect(Number(authority.slice(at + 1)), authority.slice(0, at));
      sockets.add(upstream);
      upstream.on("error", () => client.destroy());
      upstream.on("close", () => {
        sockets.delete(upstream);
        client.destroy();
      });
      client.on("close", () => upstream.destroy());
      upstream.once("connect", () => {
        const pipe = (): void => {
          client.pipe(upstream);
          upstream.pipe(client);
          client.resume();
        };
        if (options.coalesce) {
          upstream.once("data", (first: Buffer) => {
            client.write(Buffer.concat([Buffer.from(OK), first]));
            pipe();
          });
        } else if (options.split) {
          client.write(OK.slice(0, 20));
          setTimeout(() => {
            client.write(OK.slice(20));
            pipe();
          }, 20);
        } else {
          client.write(OK);
          pipe();
        }
      });
    };
    client.on("data", onData);
  };
  const server = options.tls
    ? createTlsServer({ cert, key, allowHalfOpen: true }, handle)
    : createNetServer({ allowHalfOpen: true }, handle);
  server.on("tlsClientError", () => {});
  track(server);
  stats.port = await start(server);
  return stats;
}

/** Sends `message`, ends our side, resolves with everything received before close(). */
async function roundTrip(raw: Conn, message: string): Promise<string> {
  const rec = new Recorder();
  const conn = watched(raw, rec);
  conn.start(rec);
  conn.write(text(message));
  conn.end();
  const error = await within(rec.closed, 5000, "close()");
  assert.equal(error, null);
  assert.deepEqual(rec.violations, []);
  return str(rec.received());
}

async function connectError(options: ConnectOptions): Promise<ConnectError> {
  try {
    const conn = await within(defaultClientTransport().connect(options), 5000, "connect to fail");
    conn.destroy();
  } catch (error) {
    assert.ok(error instanceof ConnectError, `a ConnectError, got ${error}`);
    return error;
  }
  assert.fail("expected the connect to fail");
}

function tunnel(proxy: ProxyStats, extra: Partial<ConnectOptions["tunnel"]> = {}) {
  return { proxyHostname: "127.0.0.1", proxyPort: proxy.port, ...extra };
}

describe(`${runtime} client transport through a CONNECT tunnel`, () => {
  const transport = defaultClientTransport();

  test("TLS to the origin with a private CA, inside the tunnel", async () => {
    const origin = await start(tlsEchoServer());
    const proxy = await proxyServer();
    const conn = await within(
      transport.connect({
        hostname: "localhost",
        port: origin,
        tls: { ca, alpnProtocols: ["http/1.1"] },
        tunnel: tunnel(proxy),
      }),
      5000,
      "connect",
    );
    assert.equal(conn.tls?.alpnProtocol, "http/1.1");
    assert.equal(await roundTrip(conn, "hello through the tunnel"), "hello through the tunnel");
    assert.match(
      proxy.heads[0],
      new RegExp(`^CONNECT localhost:${origin} HTTP/1.1\r\nhost: localhost:${origin}`),
    );
  });

  test("TLS with insecure skips verification", async () => {
    const origin = await start(tlsEchoServer());
    const proxy = await proxyServer();
    const conn = await within(
      transport.connect({
        hostname: "127.0.0.1",
        port: origin,
        tls: { insecure: true },
        tunnel: tunnel(proxy),
      }),
      5000,
      "connect",
    );
    assert.equal(await roundTrip(conn, "insecure"), "insecure");
  });

  test("an unverified certificate: SLUICE_ERR_CONNECT_TLS", async () => {
    const origin = await start(tlsEchoServer());
    const proxy = await proxyServer();
    const error = await connectError({
      hostname: "localhost",
      port: origin,
      tls: {},
      tunnel: tunnel(proxy),
    });
    assert.equal(error.code, "SLUICE_ERR_CONNECT_TLS");
    assert.equal(error.status, null);
    await until(() => proxy.closed === 1, 5000, "the proxy socket to close");
  });

  test("an https: proxy, TLS inside TLS", async () => {
    const origin = await start(tlsEchoServer());
    const proxy = await proxyServer({ tls: true });
    const conn = await within(
      transport.connect({
        hostname: "localhost",
        port: origin,
        tls: { ca },
        tunnel: tunnel(proxy, { proxyHostname: "localhost", proxyTls: { ca } }),
      }),
      5000,
      "connect",
    );
    assert.equal(await roundTrip(conn, "tls in tls"), "tls in tls");
  });

  test("an https: proxy with an unverified certificate: SLUICE_ERR_CONNECT_TLS naming the proxy", async () => {
    const proxy = await proxyServer({ tls: true });
    const error = await connectError({
      hostname: "localhost",
      port: 9,
      tls: { ca },
      tunnel: tunnel(proxy, { proxyHostname: "localhost", proxyTls: {} }),
    });
    assert.equal(error.code, "SLUICE_ERR_CONNECT_TLS");
    assert.match(error.message, /through the proxy localhost:\d+: TLS with localhost failed/);
  });

  test("no credentials: SLUICE_ERR_CONNECT_PROXY with status 407; with them the tunnel opens", async () => {
    const origin = await start(tlsEchoServer());
    const proxy = await proxyServer({ auth: "Basic dXNlcjpwYXNz" });
    const error = await connectError({
      hostname: "localhost",
      port: origin,
      tls: { ca },
      tunnel: tunnel(proxy),
    });
    assert.equal(error.code, "SLUICE_ERR_CONNECT_PROXY");
    assert.equal(error.status, 407);
    assert.equal(error.address, `localhost:${origin}`);
    assert.match(
      error.message,
      new RegExp(`proxy 127\\.0\\.0\\.1:${proxy.port} answered CONNECT with 407`),
    );
    const conn = await within(
      transport.connect({
        hostname: "localhost",
        port: origin,
        tls: { ca },
        tunnel: tunnel(proxy, { headers: [["proxy-authorization", "Basic dXNlcjpwYXNz"]] }),
      }),
      5000,
      "connect",
    );
    assert.equal(await roundTrip(conn, "authorized"), "authorized");
  });

  test("an answer that is not HTTP: SLUICE_ERR_CONNECT_PROXY with status null", async () => {
    const proxy = await proxyServer({ answer: "SSH-2.0-nope\r\n\r\n" });
    const error = await connectError({ hostname: "localhost", port: 1, tunnel: tunnel(proxy) });
    assert.equal(error.code, "SLUICE_ERR_CONNECT_PROXY");
    assert.equal(error.status, null);
  });

  test("a proxy that is not there: SLUICE_ERR_CONNECT_REFUSED naming the proxy", async () => {
    const server = createNetServer();
    const port = await start(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await connectError({
      hostname: "localhost",
      port: 443,
      tls: {},
      tunnel: { proxyHostname: "127.0.0.1", proxyPort: port },
    });
    assert.equal(error.code, "SLUICE_ERR_CONNECT_REFUSED");
    assert.match(error.message, new RegExp(`through the proxy 127\\.0\\.0\\.1:${port}`));
  });

  test("an abort during CONNECT rejects and closes the proxy socket", async () => {
    const proxy = await proxyServer({ silent: true });
    const controller = new AbortController();
    const connecting = transport.connect({
      hostname: "localhost",
      port: 443,
      tls: {},
      tunnel: tunnel(proxy),
      signal: controller.signal,
    });
    await until(() => proxy.heads.length === 1, 5000, "the CONNECT request");
    controller.abort();
    await assert.rejects(within(connecting, 5000, "the abort"), (error: unknown) => {
      assert.ok(error instanceof ConnectError);
      assert.equal(error.code, "SLUICE_ERR_CONNECT_ABORTED");
      return true;
    });
    await until(() => proxy.closed === 1, 5000, "the proxy socket to close");
  });

  test("a response head in two writes", async () => {
    const origin = await start(tlsEchoServer());
    const proxy = await proxyServer({ split: true });
    const conn = await within(
      transport.connect({
        hostname: "localhost",
        port: origin,
        tls: { ca },
        tunnel: tunnel(proxy),
      }),
      5000,
      "connect",
    );
    assert.equal(await roundTrip(conn, "split head"), "split head");
  });

  test("a plain tunnel keeps the origin's bytes sent with the head", async () => {
    const origin = await start(greeterServer());
    const proxy = await proxyServer({ coalesce: true });
    const conn = await within(
      transport.connect({ hostname: "127.0.0.1", port: origin, tunnel: tunnel(proxy) }),
      5000,
      "connect",
    );
    assert.equal(conn.tls, null);
    assert.equal(await roundTrip(conn, "echo"), "greeting\necho");
  });

  test("malformed tunnel options are refused before dialling", async () => {
    await assert.rejects(
      transport.connect({
        hostname: "a",
        port: 1,
        unix: "/tmp/x",
        tunnel: tunnel({ port: 1 } as ProxyStats),
      }),
      TypeError,
    );
    await assert.rejects(
      transport.connect({ hostname: "a", port: 1, tunnel: { proxyHostname: "p", proxyPort: 0 } }),
      RangeError,
    );
    await assert.rejects(
      transport.connect({
        hostname: "a",
        port: 1,
        tunnel: { proxyHostname: "p", proxyPort: 1, headers: [["x", "a\r\nb: c"]] },
      }),
      TypeError,
    );
  });
});
