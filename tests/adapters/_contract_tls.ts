// The contract over TLS: echo and half-close, what TlsInfo reports, client
// certificates, failed handshakes, and TLS over a Unix socket.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect as connectTls, type TLSSocket } from "node:tls";
import { ListenError } from "../../adapters/transport.ts";
import { CERT, type Context, KEY, KiB } from "./_contract_context.ts";
import {
  countUntilClosed,
  echo,
  pattern,
  portOf,
  readToEnd,
  Recorder,
  sameBytes,
  str,
  text,
  until,
  watched,
  within,
} from "./_net.ts";

export function tlsTests(ctx: Context): void {
  const { name, transport, caps } = ctx;

  function tlsClient(
    to: number | string,
    options: Record<string, unknown> = {},
  ): Promise<TLSSocket> {
    const socket = connectTls({
      ...(typeof to === "number" ? { port: to, host: "127.0.0.1" } : { path: to }),
      servername: "localhost",
      ca: CERT,
      ...options,
    });
    ctx.sockets.push(socket);
    return within(
      new Promise<TLSSocket>((resolve, reject) => {
        socket.once("secureConnect", () => resolve(socket));
        socket.once("error", reject);
      }),
      5000,
      "TLS handshake",
    );
  }

  describe(`${name}: TLS`, () => {
    test("Conn over TLS echoes and reports protocol, ALPN and server name", async () => {
      const { listener, queue } = await ctx.listen({
        hostname: "127.0.0.1",
        port: 0,
        tls: { cert: CERT, key: text(KEY), alpnProtocols: ["h2", "http/1.1"] },
      });
      const socket = await tlsClient(portOf(listener), { ALPNProtocols: ["http/1.1"] });
      const conn = await queue.next();
      assert.ok(conn.tls !== null);
      if (caps.tlsDetails) {
        assert.match(conn.tls.protocol ?? "", /^TLSv1\.[23]$/);
        assert.deepEqual(
          { ...conn.tls, protocol: null },
          { protocol: null, alpnProtocol: "http/1.1", servername: "localhost", authorized: false },
        );
      } else {
        // The runtime tells the ALPN protocol only.
        assert.deepEqual(conn.tls, {
          protocol: null,
          alpnProtocol: "http/1.1",
          servername: null,
          authorized: false,
        });
      }
      const rec = echo(conn);
      const reply = readToEnd(socket);
      socket.end(pattern(256 * KiB));
      assert.ok(sameBytes(await reply, pattern(256 * KiB)));
      assert.equal(await within(rec.closed, 5000, "close()"), null);
      assert.deepEqual(rec.violations, []);
    });

    test("Conn over TLS writes after the peer's EOF, and reads after its own end()", async () => {
      const { listener, queue } = await ctx.listen({
        hostname: "127.0.0.1",
        port: 0,
        tls: { cert: CERT, key: KEY },
      });
      const socket = await tlsClient(portOf(listener), { allowHalfOpen: true });
      const rec = new Recorder();
      const conn = watched(await queue.next(), rec);
      rec.onEnd = () => {
        conn.write(text("late reply"));
        conn.end();
      };
      conn.start(rec);
      const reply = readToEnd(socket);
      socket.end("question");
      assert.equal(str(await reply), "late reply");
      assert.equal(await within(rec.closed, 5000, "close()"), null);
      assert.equal(str(rec.received()), "question");

      const second = await tlsClient(portOf(listener), { allowHalfOpen: true });
      const rec2 = new Recorder();
      const conn2 = watched(await queue.next(), rec2);
      conn2.start(rec2);
      conn2.end();
      await within(new Promise((r) => second.once("end", r)), 5000, "our close_notify and FIN");
      second.end("after your end");
      assert.equal(await within(rec2.closed, 5000, "close()"), null);
      assert.equal(str(rec2.received()), "after your end");
      assert.ok(rec2.ended);
      assert.deepEqual([...rec.violations, ...rec2.violations], []);
    });

    test("Conn over TLS reports alpnProtocol null when the client offers none", async () => {
      const { listener, queue } = await ctx.listen({
        hostname: "127.0.0.1",
        port: 0,
        tls: { cert: CERT, key: KEY, alpnProtocols: ["http/1.1"] },
      });
      await tlsClient(portOf(listener));
      const conn = await queue.next();
      assert.equal(conn.tls?.alpnProtocol, null);
      conn.destroy();
    });

    if (caps.requestCert) {
      test("listen({ tls: { requestCert } }) reports whether the client certificate verified", async () => {
        const { listener, queue } = await ctx.listen({
          hostname: "127.0.0.1",
          port: 0,
          tls: { cert: CERT, key: KEY, ca: CERT, requestCert: true },
        });
        await tlsClient(portOf(listener), { cert: CERT, key: KEY });
        const withCert = await queue.next();
        assert.equal(withCert.tls?.authorized, true);
        withCert.destroy();
        await tlsClient(portOf(listener));
        const without = await queue.next();
        assert.equal(without.tls?.authorized, false);
        without.destroy();
      });
    } else {
      test("listen({ tls: { requestCert } }) rejects with SLUICE_ERR_LISTEN_UNSUPPORTED", async () => {
        await assert.rejects(
          transport.listen(
            { hostname: "127.0.0.1", port: 0, tls: { cert: CERT, key: KEY, requestCert: true } },
            () => {},
          ),
          (error: unknown) =>
            error instanceof ListenError && error.code === "SLUICE_ERR_LISTEN_UNSUPPORTED" &&
            /client certificates/.test(error.message) && error.address === "127.0.0.1:0",
        );
      });
    }

    test("a failed TLS handshake goes to onError and the listener keeps serving", async () => {
      const errors: Error[] = [];
      const { listener, queue } = await ctx.listen(
        { hostname: "127.0.0.1", port: 0, tls: { cert: CERT, key: KEY } },
        (error) => errors.push(error),
      );
      const plain = await ctx.client(portOf(listener));
      const closed = countUntilClosed(plain, 5000);
      plain.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      await closed;
      await until(() => errors.length > 0, 5000, "onError");
      assert.ok(errors[0] instanceof Error);
      assert.equal(queue.all.length, 0);
      await tlsClient(portOf(listener));
      (await queue.next()).destroy();
    });

    if (caps.unixTls) {
      test("Conn over TLS on a Unix socket echoes", async () => {
        const path = ctx.uniquePath("tls");
        const { listener, queue } = await ctx.listen({ path, tls: { cert: CERT, key: KEY } });
        assert.deepEqual(listener.address, { transport: "unix", path });
        const socket = await tlsClient(path);
        const conn = await queue.next();
        assert.ok(conn.tls !== null);
        assert.deepEqual(conn.localAddress, { transport: "unix", path });
        const rec = echo(conn);
        const reply = readToEnd(socket);
        socket.end(pattern(64 * KiB));
        assert.ok(sameBytes(await reply, pattern(64 * KiB)));
        assert.equal(await within(rec.closed, 5000, "close()"), null);
      });
    } else {
      test("listen({ path, tls }) rejects with SLUICE_ERR_LISTEN_UNSUPPORTED", async () => {
        const path = ctx.uniquePath("tls");
        await assert.rejects(
          transport.listen({ path, tls: { cert: CERT, key: KEY } }, () => {}),
          (error: unknown) =>
            error instanceof ListenError && error.code === "SLUICE_ERR_LISTEN_UNSUPPORTED" &&
            error.address === `unix:${path}` && /TCP only/.test(error.message),
        );
      });
    }
  });
}
