// The tests of the native backends (adapters/_deno_native.ts,
// adapters/_bun_native.ts) over real sockets: one suite, registered by
// deno_native_test.ts on Deno and bun_native_test.ts on Bun. `caps` holds
// what differs between the runtimes; each difference is asserted, not skipped.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { connect as connectTls } from "node:tls";
import { fileURLToPath } from "node:url";
import { ListenError } from "../../adapters/transport.ts";
import { BodyError } from "../../server/errors.ts";
import type {
  AccessLogEntry,
  IncomingHandler,
  IncomingRequest,
  RunningServer,
  ServeInfo,
  ServerBackend,
  ServerOptions,
} from "../../server/types.ts";
import { RawClient, type RawResponse } from "../server/_client.ts";
import { dial, sleep, until, within } from "./_net.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const CERT = readFileSync(join(HERE, "..", "_fixtures", "tls", "cert.pem"), "utf8");
const KEY = readFileSync(join(HERE, "..", "_fixtures", "tls", "key.pem"), "utf8");
const encoder = new TextEncoder();

/** What differs between the runtimes, as measured. */
export interface NativeCaps {
  engine: "deno" | "bun";
  /** The runtime closes the connection after a response with `Connection: close`. */
  honoursConnectionClose: boolean;
  /** What a client whose handler still runs when a shutdown's time is up gets. */
  forcedAnswer: "503" | "close";
  /** `idleTimeout` closes an idle keep-alive connection. */
  idleTimeout: boolean;
  /** Raw requests the runtime's parser treats differently from the raw engine: name → status (0: closed unanswered). */
  parser: Record<string, number>;
}

/** The raw requests of {@linkcode NativeCaps.parser}, and what the raw engine answers. */
export const PARSER_CASES: Record<string, { wire: string; engine: number }> = {
  "bare LF line endings": { wire: "GET /p HTTP/1.1\nHost: x\n\n", engine: 400 },
  "obs-fold": { wire: "GET /p HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n", engine: 400 },
  "DEL in a field value": {
    wire: "GET /p HTTP/1.1\r\nHost: x\r\nX-A: b\x7fc\r\n\r\n",
    engine: 400,
  },
  "NUL in a field value": {
    wire: "GET /p HTTP/1.1\r\nHost: x\r\nX-A: b\x00c\r\n\r\n",
    engine: 400,
  },
  "no Host in HTTP/1.1": { wire: "GET /p HTTP/1.1\r\n\r\n", engine: 400 },
  "two Host fields": { wire: "GET /p HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", engine: 400 },
  "a Host with a bad port": { wire: "GET /p HTTP/1.1\r\nHost: a:b\r\n\r\n", engine: 400 },
  "a Host with a slash": { wire: "GET /p HTTP/1.1\r\nHost: a/b\r\n\r\n", engine: 400 },
  "Content-Length and Transfer-Encoding": {
    wire:
      "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    engine: 400,
  },
  "two equal Content-Length fields": {
    wire: "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    engine: 400,
  },
  "gzip before chunked": {
    wire: "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    engine: 501,
  },
  "a request line over 8190 bytes": {
    wire: `GET /${"a".repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    engine: 414,
  },
  "a field line over 8190 bytes": {
    wire: `GET /p HTTP/1.1\r\nHost: x\r\nX-A: ${"a".repeat(9000)}\r\n\r\n`,
    engine: 431,
  },
  "150 fields": {
    wire: `GET /p HTTP/1.1\r\nHost: x\r\n${
      Array.from({ length: 149 }, (_, i) => `X-${i}: v\r\n`).join("")
    }\r\n`,
    engine: 431,
  },
  "a non-ASCII byte in the target": {
    wire: "GET /caf\xe9 HTTP/1.1\r\nHost: x\r\n\r\n",
    engine: 400,
  },
  "a lower-case method": { wire: "get /p HTTP/1.1\r\nHost: x\r\n\r\n", engine: 200 },
  "an empty line before the request": {
    wire: "\r\nGET /p HTTP/1.1\r\nHost: x\r\n\r\n",
    engine: 200,
  },
  "HTTP/1.2": { wire: "GET /p HTTP/1.2\r\nHost: x\r\n\r\n", engine: 505 },
  "OPTIONS *": { wire: "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", engine: 200 },
  "a bad chunk size": {
    wire: "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    engine: 400,
  },
};

interface Started {
  server: RunningServer;
  port: number;
  errors: [string, unknown][];
}

/** Registers the suite for `backend`. */
export function nativeSuite(name: string, backend: ServerBackend, caps: NativeCaps): void {
  const running: RunningServer[] = [];
  const sockets: Socket[] = [];
  const clients: RawClient[] = [];
  const servers: Server[] = [];
  const tempDir = mkdtempSync(join(tmpdir(), "sluice-native-"));

  after(async () => {
    for (const socket of sockets) socket.destroy();
    for (const client of clients) client.close();
    await Promise.all(running.map((server) => server.shutdown(0).catch(() => {})));
    for (const server of servers) server.close();
    rmSync(tempDir, { recursive: true, force: true });
  });

  async function start(handler: IncomingHandler, options: ServerOptions = {}): Promise<Started> {
    const errors: [string, unknown][] = [];
    const server = await backend.listen({ hostname: "127.0.0.1", port: 0 }, handler, {
      logger: { error: (message, error) => errors.push([message, error]), info: () => {} },
      ...options,
    });
    running.push(server);
    assert.equal(server.address.transport, "tcp");
    const port = server.address.transport === "tcp" ? server.address.port : 0;
    return { server, port, errors };
  }

  async function client(port: number): Promise<RawClient> {
    const c = await RawClient.open(port);
    c.socket.on("error", () => {});
    clients.push(c);
    return c;
  }

  async function get(port: number, path: string, fields = ""): Promise<RawResponse> {
    const c = await client(port);
    c.send(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${fields}\r\n`);
    const response = await c.response();
    c.close();
    return response;
  }

  /** A body that never ends: a chunk every 10 ms, counting pulls and noting cancel(). */
  function endless() {
    const state = { pulls: 0, cancelled: false, reason: undefined as unknown };
    const chunk = encoder.encode("x".repeat(256) + "\n");
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        state.pulls++;
        await sleep(10);
        controller.enqueue(chunk);
      },
      cancel(reason) {
        state.cancelled = true;
        state.reason = reason;
      },
    }, { highWaterMark: 0 });
    return { state, stream };
  }

  describe(name, () => {
    test(`${name} serves a request with pathname, search, url and the connection's info`, async () => {
      let seen: Record<string, unknown> = {};
      const { port } = await start((req: IncomingRequest, info: ServeInfo) => {
        seen = {
          method: req.method,
          pathname: req.pathname,
          search: req.search,
          url: req.url,
          httpVersion: req.httpVersion,
          header: req.header("x-token"),
          remote: req.remoteAddress.transport,
          secure: req.secure,
          engine: info.engine,
          local: info.localAddress,
          tls: info.tls,
          takeover: info.takeover,
          peerIsRemote: JSON.stringify(info.remoteAddress) === JSON.stringify(req.remoteAddress),
        };
        return new Response("hello");
      });
      const r = await get(port, "/a/b?x=1&y", "X-Token: t\r\n");
      assert.equal(r.status, 200);
      assert.equal(r.text, "hello");
      assert.deepEqual(seen, {
        method: "GET",
        pathname: "/a/b",
        search: "?x=1&y",
        url: `http://127.0.0.1:${port}/a/b?x=1&y`,
        httpVersion: "1.1",
        header: "t",
        remote: "tcp",
        secure: false,
        engine: caps.engine,
        local: { transport: "tcp", hostname: "127.0.0.1", port, family: "IPv4" },
        tls: null,
        takeover: null,
        peerIsRemote: true,
      });
    });

    test(`${name} reads request bodies with and without Content-Length`, async () => {
      const { port } = await start(async (req) =>
        Response.json({ text: await req.text(), length: req.contentLength })
      );
      const c = await client(port);
      c.send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
      assert.deepEqual(JSON.parse((await c.response()).text), { text: "hello", length: 5 });
      c.send(
        "POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
      );
      assert.deepEqual(JSON.parse((await c.response()).text), { text: "abcde", length: null });
    });

    test(`${name} answers a throwing handler with a bare 500 and logs the error`, async () => {
      const { port, errors } = await start(() => {
        throw new Error("secret /etc/passwd");
      });
      const r = await get(port, "/boom");
      assert.equal(r.status, 500);
      assert.equal(r.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(r.text, "Internal Server Error");
      assert.doesNotMatch(r.head, /secret/);
      assert.equal(errors.length, 1);
      assert.match(errors[0][0], /GET \/boom/);
    });

    test(`${name} adds serverHeader and reports each response to onAccess`, async () => {
      const entries: AccessLogEntry[] = [];
      const { port } = await start(
        (req) =>
          req.pathname === "/own"
            ? new Response("x", { headers: { server: "mine" } })
            : new Response("hello", { status: 201, headers: { "content-length": "5" } }),
        { serverHeader: "sluice-test", onAccess: (entry) => entries.push(entry) },
      );
      const r = await get(port, "/x?q", "User-Agent: probe\r\n");
      assert.equal(r.status, 201);
      assert.equal(r.headers.get("server"), "sluice-test");
      assert.equal((await get(port, "/own")).headers.get("server"), "mine");
      await until(() => entries.length === 2, 5000, "two access log entries");
      const e = entries[0];
      assert.equal(e.remote, "127.0.0.1");
      assert.equal(e.method, "GET");
      assert.equal(e.target, "/x?q");
      assert.equal(e.status, 201);
      assert.equal(e.bytesSent, 5);
      assert.ok(e.durationMs >= 0);
      assert.equal(e.requestHeader("user-agent"), "probe");
      assert.equal(e.responseHeader("server"), "sluice-test");
    });

    test(`${name} refuses a Content-Length over maxBodySize with 413 before the handler`, async () => {
      let calls = 0;
      const { port } = await start(() => {
        calls++;
        return new Response("ok");
      }, { maxBodySize: 10 });
      const c = await client(port);
      c.send("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n");
      const r = await c.response();
      assert.equal(r.status, 413);
      assert.equal(calls, 0);
    });

    test(`${name} stops a chunked body at maxBodySize: the handler's read fails with a 413 BodyError`, async () => {
      const seen: unknown[] = [];
      const { port } = await start(async (req) => {
        try {
          return new Response(await req.text());
        } catch (error) {
          seen.push(error);
          throw error;
        }
      }, { maxBodySize: 10 });
      const c = await client(port);
      c.send("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
      c.send("8\r\n12345678\r\n8\r\n12345678\r\n");
      const r = await c.response();
      assert.equal(r.status, 413);
      await until(() => seen.length === 1, 5000, "the handler's read to fail");
      assert.ok(seen[0] instanceof BodyError);
      assert.equal((seen[0] as BodyError).code, "SLUICE_ERR_BODY_TOO_LARGE");
    });

    test(`${name} refuses an invalid Host, an over-long request line and a Content-Length list`, async () => {
      const { port } = await start(() => new Response("ok"));
      const cases: [string, number][] = [
        ["GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400],
        [`GET /${"a".repeat(8200)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
        ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na", 400],
      ];
      for (const [wire, status] of cases) {
        const c = await client(port);
        c.send(wire);
        const r = await c.response();
        assert.equal(r.status, status, wire.slice(0, 40));
        assert.equal(r.headers.get("content-type"), "text/plain; charset=utf-8");
        if (caps.honoursConnectionClose) {
          assert.equal(r.headers.get("connection"), "close");
          await c.waitClosed(5000);
        }
        c.close();
      }
    });

    test(`${name}: a client that disconnects aborts the signal and cancels the response body`, async () => {
      const { state, stream } = endless();
      let signal: AbortSignal | null = null;
      const { port } = await start((req) => {
        signal = req.signal;
        return new Response(stream);
      });
      const c = await client(port);
      c.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
      await c.waitBytes(2000);
      c.close();
      await until(() => state.cancelled && signal!.aborted, 5000, "cancel() and the signal");
      const pulls = state.pulls;
      await sleep(200);
      assert.ok(state.pulls <= pulls + 1, `pulled ${state.pulls - pulls} more times after cancel`);
      assert.equal((signal!.reason as Error).name, "AbortError");
    });

    test(`${name}: a client that disconnects while the handler waits aborts the signal`, async () => {
      let signal: AbortSignal | null = null;
      const { port } = await start(async (req) => {
        signal = req.signal;
        await new Promise((resolve) => req.signal.addEventListener("abort", resolve));
        return new Response("too late");
      });
      const c = await client(port);
      c.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
      await until(() => signal !== null, 5000, "the handler to start");
      c.close();
      await until(() => signal!.aborted, 5000, "the signal to abort");
    });

    test(`${name}: the signal does not abort once the response was delivered`, async () => {
      const signals: AbortSignal[] = [];
      const { port } = await start((req) => {
        signals.push(req.signal);
        return new Response("fine");
      });
      const c = await client(port);
      c.send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.equal((await c.response()).text, "fine");
      c.send("GET /two HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.equal((await c.response()).text, "fine");
      await sleep(100);
      assert.deepEqual(signals.map((s) => s.aborted), [false, false]);
    });

    test(`${name}: shutdown() refuses new connections, closes idle ones and lets a request finish with Connection: close`, async () => {
      let release!: () => void;
      let started = false;
      const { server, port } = await start(async (req) => {
        if (req.pathname !== "/slow") return new Response("ok");
        started = true;
        await new Promise<void>((resolve) => (release = resolve));
        return new Response("done");
      });
      const idle = await client(port);
      idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.equal((await idle.response()).text, "ok");
      const busy = await client(port);
      busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
      await until(() => started, 5000, "the slow handler to start");
      assert.ok(server.connections >= 1);

      const stopping = server.shutdown(10_000);
      assert.equal(server.shutdown(10_000), stopping, "a second call returns the same promise");
      await idle.waitClosed(5000);
      await within(
        (async () => {
          for (;;) {
            try {
              const late = await dial(port);
              late.destroy();
              await sleep(20);
            } catch (error) {
              return (error as { code?: string }).code;
            }
          }
        })(),
        5000,
        "new connections to be refused",
      ).then((code) => assert.equal(code, "ECONNREFUSED"));

      release();
      const r = await busy.response();
      assert.equal(r.text, "done");
      assert.equal(r.headers.get("connection"), "close");
      await busy.waitClosed(5000);
      await within(stopping, 5000, "shutdown to resolve");
      assert.equal(server.connections, 0);
    });

    test(`${name}: shutdown(timeout) forces the rest down at the deadline and aborts their signals`, async () => {
      let signal: AbortSignal | null = null;
      const { server, port } = await start((req) => {
        signal = req.signal;
        return new Promise<Response>(() => {});
      });
      const c = await client(port);
      c.send("GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
      await until(() => signal !== null, 5000, "the handler to start");
      await within(server.shutdown(300), 10_000, "a forced shutdown to resolve");
      assert.equal(signal!.aborted, true);
      if (caps.forcedAnswer === "503") {
        const r = await c.response();
        assert.equal(r.status, 503);
        assert.equal(r.headers.get("connection"), "close");
      }
      await c.waitClosed(5000);
    });

    test(`${name}: a forced shutdown ends a response stream that stops on its signal`, async () => {
      let signal: AbortSignal | null = null;
      let cancelled = false;
      const { server, port } = await start((req) => {
        signal = req.signal;
        const timer = setInterval(() => {}, 1000);
        return new Response(
          new ReadableStream<Uint8Array>({
            async pull(controller) {
              await sleep(20);
              if (req.signal.aborted) {
                clearInterval(timer);
                controller.close();
              } else controller.enqueue(encoder.encode("tick\n"));
            },
            cancel() {
              cancelled = true;
              clearInterval(timer);
            },
          }, { highWaterMark: 0 }),
        );
      });
      const c = await client(port);
      c.send("GET /ticks HTTP/1.1\r\nHost: x\r\n\r\n");
      await c.waitBytes(100);
      await within(server.shutdown(200), 10_000, "a forced shutdown to resolve");
      assert.equal(signal!.aborted, true);
      await c.waitClosed(5000);
      assert.ok(cancelled || signal!.aborted);
    });

    test(`${name}: trustProxy makes proxy headers the client's address, scheme and host`, async () => {
      let seen: unknown = null;
      const handler = (req: IncomingRequest) => {
        seen = { remote: req.remoteAddress, secure: req.secure, url: req.url };
        return new Response("ok");
      };
      const proxyFields = "X-Forwarded-For: 6.6.6.6, 203.0.113.7\r\n" +
        "X-Forwarded-Proto: https\r\nX-Forwarded-Host: shop.example\r\n";
      const trusting = await start(handler, { trustProxy: { from: ["loopback"] } });
      await get(trusting.port, "/p?q", proxyFields);
      assert.deepEqual(seen, {
        remote: { transport: "tcp", hostname: "203.0.113.7", port: 0, family: "IPv4" },
        secure: true,
        url: "https://shop.example/p?q",
      });
      const plain = await start(handler);
      await get(plain.port, "/p?q", proxyFields);
      assert.equal((seen as { secure: boolean }).secure, false);
      assert.equal((seen as { url: string }).url, `http://127.0.0.1:${plain.port}/p?q`);
    });

    test(`${name}: expectContinue returning false answers 417 without calling the handler`, async () => {
      let calls = 0;
      const { port } = await start(() => {
        calls++;
        return new Response("ok");
      }, { expectContinue: () => false });
      const c = await client(port);
      c.send("POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
      let r = await c.response();
      // The runtime sends 100 Continue itself, before it asks the handler.
      if (r.status === 100) r = await c.response();
      assert.equal(r.status, 417);
      assert.equal(calls, 0);
    });

    test(`${name} listens on a Unix socket and removes it when it stops`, async () => {
      const path = join(tempDir, "native.sock");
      let seen: unknown = null;
      const server = await backend.listen({ path }, (req, info) => {
        seen = { remote: info.remoteAddress, local: info.localAddress, url: req.url };
        return new Response("unix");
      }, {});
      running.push(server);
      assert.deepEqual(server.address, { transport: "unix", path });
      const socket = await dial(path);
      sockets.push(socket);
      const text = await within(
        new Promise<string>((resolve) => {
          let got = "";
          socket.on("data", (chunk: Uint8Array) => {
            got += new TextDecoder().decode(chunk);
            if (got.endsWith("unix")) resolve(got);
          });
          socket.write("GET /u HTTP/1.1\r\nHost: app\r\n\r\n");
        }),
        5000,
        "the answer over the Unix socket",
      );
      assert.match(text, /^HTTP\/1\.1 200/);
      assert.deepEqual(seen, {
        remote: { transport: "unix", path: "" },
        local: { transport: "unix", path },
        url: "http://app/u",
      });
      socket.destroy();
      await server.shutdown(1000);
      assert.equal(existsSync(path), false);
    });

    test(`${name} refuses to listen where a file that is not a socket is in the way`, async () => {
      const path = join(tempDir, "not-a-socket");
      writeFileSync(path, "data");
      await assert.rejects(backend.listen({ path }, () => new Response(), {}), (error: unknown) => {
        assert.ok(error instanceof ListenError);
        assert.equal(error.code, "SLUICE_ERR_LISTEN");
        assert.equal(error.syscallCode, "EADDRINUSE");
        return true;
      });
      assert.equal(readFileSync(path, "utf8"), "data");
    });

    test(`${name} serves TLS: secure requests with https URLs`, async () => {
      let seen: unknown = null;
      const server = await backend.listen(
        { hostname: "127.0.0.1", port: 0, tls: { cert: CERT, key: KEY } },
        (req, info) => {
          seen = { secure: req.secure, url: req.url, tls: info.tls !== null };
          return new Response("secret");
        },
        {},
      );
      running.push(server);
      const port = server.address.transport === "tcp" ? server.address.port : 0;
      const text = await within(
        new Promise<string>((resolve, reject) => {
          const socket = connectTls({ port, host: "127.0.0.1", rejectUnauthorized: false });
          let got = "";
          socket.on(
            "secureConnect",
            () => socket.write("GET /s HTTP/1.1\r\nHost: localhost\r\n\r\n"),
          );
          socket.on("data", (chunk: Uint8Array) => {
            got += new TextDecoder().decode(chunk);
            if (got.endsWith("secret")) {
              socket.destroy();
              resolve(got);
            }
          });
          socket.on("error", reject);
        }),
        5000,
        "the answer over TLS",
      );
      assert.match(text, /^HTTP\/1\.1 200/);
      assert.deepEqual(seen, { secure: true, url: "https://localhost/s", tls: true });
    });

    test(`${name} reports a busy port as ListenError EADDRINUSE and bad options as TypeError / RangeError`, async () => {
      const busy = createServer();
      servers.push(busy);
      await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
      const port = (busy.address() as { port: number }).port;
      await assert.rejects(
        backend.listen({ hostname: "127.0.0.1", port }, () => new Response(), {}),
        (error: unknown) => {
          assert.ok(error instanceof ListenError);
          assert.equal(error.code, "SLUICE_ERR_LISTEN");
          assert.equal(error.syscallCode, "EADDRINUSE");
          assert.equal(error.address, `127.0.0.1:${port}`);
          return true;
        },
      );
      await assert.rejects(backend.listen({ port: 70000 }, () => new Response(), {}), RangeError);
      await assert.rejects(
        backend.listen({ hostname: "127.0.0.1", port: 0 }, () => new Response(), {
          maxBodySize: -1,
        }),
        RangeError,
      );
    });

    test(`${name} refuses options it cannot honour with SLUICE_ERR_LISTEN_UNSUPPORTED`, async () => {
      const refused = [
        { fd: 3 },
        { hostname: "127.0.0.1", port: 0, tls: { cert: CERT, key: KEY, requestCert: true } },
        { hostname: "127.0.0.1", port: 0, tls: { cert: CERT, key: KEY, alpnProtocols: ["h2"] } },
        ...(caps.engine === "bun" ? [{ hostname: "127.0.0.1", port: 0, backlog: 16 }] : []),
      ];
      for (const options of refused) {
        await assert.rejects(
          backend.listen(options, () => new Response(), {}),
          (error: unknown) =>
            error instanceof ListenError && error.code === "SLUICE_ERR_LISTEN_UNSUPPORTED",
          JSON.stringify(Object.keys(options)),
        );
      }
    });

    test(`${name}: what the runtime's parser does with requests the raw engine refuses (pinned)`, async () => {
      const { port } = await start(() => new Response("ok"));
      const seen: Record<string, number> = {};
      for (const [case_, { wire }] of Object.entries(PARSER_CASES)) {
        const c = await client(port);
        c.send(wire);
        try {
          seen[case_] = (await c.response({ ms: 3000 })).status;
        } catch {
          seen[case_] = 0;
        }
        c.close();
      }
      assert.deepEqual(seen, caps.parser);
    });

    if (caps.idleTimeout) {
      test(`${name}: idleTimeout closes an idle keep-alive connection (whole seconds, coarse)`, async () => {
        const { port } = await start(() => new Response("ok"), { idleTimeout: 1000 });
        const c = await client(port);
        c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert.equal((await c.response()).text, "ok");
        await c.waitClosed(15_000);
      });
    }
  });
}
