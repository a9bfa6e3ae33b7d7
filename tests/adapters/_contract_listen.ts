// The contract of listen() and Listener: addresses, errors, option checks,
// reusePort, Unix sockets (stale files, live ones, regular files) and
// adopting a listening socket from a file descriptor.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { ListenError, type ListenOptions } from "../../adapters/transport.ts";
import { SluiceError } from "../../util/errors.ts";
import { CERT, type Context, HERE, MiB } from "./_contract_context.ts";
import {
  dial,
  echo,
  pattern,
  portOf,
  readToEnd,
  runtime,
  runtimeLabel,
  sameBytes,
  str,
  until,
  within,
} from "./_net.ts";

/** Whether `promise` rejects with ListenError SLUICE_ERR_LISTEN_UNSUPPORTED naming `where`. */
async function assertUnsupported(
  promise: Promise<unknown>,
  where: string,
  mention: RegExp,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ListenError, String(error));
    assert.equal(error.code, "SLUICE_ERR_LISTEN_UNSUPPORTED");
    assert.equal(error.address, where);
    assert.ok(error.message.startsWith(`Cannot listen on ${where}`), error.message);
    assert.match(error.message, mention);
    return true;
  });
}

export function listenTests(ctx: Context): void {
  const { name, transport, caps } = ctx;

  describe(`${name}: listen() and Listener`, () => {
    test("listen() on port 0 reports the real port; connections report both addresses", async () => {
      const { listener, queue } = await ctx.listen({ hostname: "127.0.0.1", port: 0 });
      const port = portOf(listener);
      assert.ok(port > 0);
      assert.deepEqual(listener.address, {
        transport: "tcp",
        hostname: "127.0.0.1",
        port,
        family: "IPv4",
      });
      const socket = await ctx.client(port);
      const conn = await queue.next();
      assert.deepEqual(conn.localAddress, listener.address);
      assert.deepEqual(conn.remoteAddress, {
        transport: "tcp",
        hostname: "127.0.0.1",
        port: socket.localPort,
        family: "IPv4",
      });
      assert.equal(conn.tls, null);
      conn.destroy();
    });

    test("listen() on ::1 reports an IPv6 address", async (t) => {
      let listener, queue;
      try {
        ({ listener, queue } = await ctx.listen({ hostname: "::1", port: 0 }));
      } catch (error) {
        if (error instanceof ListenError && error.syscallCode === "EADDRNOTAVAIL") {
          t.skip("this host has no IPv6 loopback");
          return;
        }
        throw error;
      }
      assert.deepEqual(listener.address, {
        transport: "tcp",
        hostname: "::1",
        port: portOf(listener),
        family: "IPv6",
      });
      await ctx.client(portOf(listener), "::1");
      const conn = await queue.next();
      assert.equal(conn.remoteAddress.transport === "tcp" && conn.remoteAddress.family, "IPv6");
      conn.destroy();
    });

    test("Listener.close() stops accepting while an accepted connection keeps working", async () => {
      const { listener, queue } = await ctx.listen({ hostname: "127.0.0.1", port: 0 });
      const port = portOf(listener);
      const socket = await ctx.client(port);
      const conn = await queue.next();
      const rec = echo(conn);
      await within(listener.close(), 2000, "Listener.close()");
      await listener.close();
      await assert.rejects(dial(port), (error: Error & { code?: string }) => {
        return error.code === "ECONNREFUSED";
      });
      const reply = readToEnd(socket);
      socket.end("still here");
      assert.equal(str(await reply), "still here");
      assert.equal(await within(rec.closed, 5000, "close()"), null);
    });

    test("listen() on a port in use rejects with ListenError SLUICE_ERR_LISTEN, EADDRINUSE", async () => {
      const { listener } = await ctx.listen({ hostname: "127.0.0.1", port: 0 });
      const port = portOf(listener);
      const error = await transport.listen({ hostname: "127.0.0.1", port }, () => {}).then(
        () => assert.fail("listened twice on one port"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof ListenError);
      assert.ok(error instanceof SluiceError);
      assert.equal(error.code, "SLUICE_ERR_LISTEN");
      assert.equal(error.syscallCode, "EADDRINUSE");
      assert.equal(error.address, `127.0.0.1:${port}`);
      assert.match(error.message, new RegExp(`^Cannot listen on 127\\.0\\.0\\.1:${port}: `));
    });

    test(`listen() on an address this host does not have rejects with ${caps.notAvailableCode}`, async () => {
      await assert.rejects(
        transport.listen({ hostname: "192.0.2.1", port: 0 }, () => {}),
        (error: unknown) =>
          error instanceof ListenError && error.code === "SLUICE_ERR_LISTEN" &&
          error.syscallCode === caps.notAvailableCode && error.message.includes("192.0.2.1:0"),
      );
    });

    test("listen() rejects contradicting or malformed options with TypeError or RangeError", async () => {
      const cases: [ListenOptions, typeof TypeError | typeof RangeError][] = [
        [{ path: join(ctx.tempDir, "x.sock"), port: 80 }, TypeError],
        [{ path: join(ctx.tempDir, "x.sock"), reusePort: true }, TypeError],
        [{ path: "" }, TypeError],
        [{ fd: 3, hostname: "127.0.0.1" }, TypeError],
        [{ fd: 3, reusePort: true }, TypeError],
        [{ fd: -1 }, RangeError],
        [{ port: 65536 }, RangeError],
        [{ port: 1.5 }, RangeError],
        [{ port: 0, backlog: 0 }, RangeError],
        [{ port: 0, tls: { cert: CERT } as { cert: string; key: string } }, TypeError],
      ];
      for (const [options, kind] of cases) {
        await assert.rejects(transport.listen(options, () => {}), kind, JSON.stringify(options));
      }
    });

    if (caps.backlog) {
      test("listen({ backlog }) is accepted", async () => {
        const { listener, queue } = await ctx.listen({
          hostname: "127.0.0.1",
          port: 0,
          backlog: 8,
        });
        await ctx.client(portOf(listener));
        (await queue.next()).destroy();
      });
    } else {
      test("listen({ backlog }) rejects with SLUICE_ERR_LISTEN_UNSUPPORTED", async () => {
        const options = { hostname: "127.0.0.1", port: 0, backlog: 8 };
        await assertUnsupported(transport.listen(options, () => {}), "127.0.0.1:0", /backlog/);
      });
    }

    if (caps.reusePort) {
      test("listen({ reusePort }) lets two listeners share a port", async () => {
        const options = { hostname: "127.0.0.1", port: 0, reusePort: true };
        const a = await ctx.listen(options);
        const port = portOf(a.listener);
        const b = await ctx.listen({ ...options, port });
        assert.equal(portOf(b.listener), port);
        // The kernel spreads connections over both (by a hash of the peer's port).
        for (let i = 0; i < 32; i++) (await ctx.client(port)).destroy();
        await until(() => a.queue.all.length + b.queue.all.length === 32, 5000, "32 accepts");
        assert.ok(a.queue.all.length > 0 && b.queue.all.length > 0, "one listener got all");
        for (const conn of [...a.queue.all, ...b.queue.all]) conn.destroy();
      });
    } else {
      test(`listen({ reusePort }) rejects with SLUICE_ERR_LISTEN_UNSUPPORTED (${runtimeLabel})`, async () => {
        const options = { hostname: "127.0.0.1", port: 0, reusePort: true };
        await assertUnsupported(transport.listen(options, () => {}), "127.0.0.1:0", /reusePort/);
      });
    }
  });

  describe(`${name}: Unix sockets`, () => {
    test("Conn echoes over a Unix socket; addresses name the path", async () => {
      const path = ctx.uniquePath("echo");
      const { listener, queue } = await ctx.listen({ path });
      assert.deepEqual(listener.address, { transport: "unix", path });
      assert.ok(statSync(path).isSocket());
      const socket = await ctx.client(path);
      const conn = await queue.next();
      conn.setNoDelay(true);
      assert.deepEqual(conn.localAddress, { transport: "unix", path });
      assert.deepEqual(conn.remoteAddress, { transport: "unix", path: "" });
      const rec = echo(conn);
      const reply = readToEnd(socket);
      socket.end(pattern(MiB));
      assert.ok(sameBytes(await reply, pattern(MiB)));
      assert.equal(await within(rec.closed, 5000, "close()"), null);
      assert.deepEqual(rec.violations, []);
    });

    test("Listener.close() removes the socket file", async () => {
      const path = ctx.uniquePath("remove");
      const { listener } = await ctx.listen({ path });
      await listener.close();
      assert.equal(existsSync(path), false);
    });

    test("listen({ path }) replaces a stale socket file that nothing accepts on", async () => {
      const path = ctx.uniquePath("stale");
      // A socket file whose listener is gone, as a crashed process leaves it.
      const bound = ctx.uniquePath("bound");
      const old = createNetServer();
      await within(new Promise<void>((r) => old.listen(bound, () => r())), 5000, "listen");
      renameSync(bound, path);
      await within(new Promise<void>((r) => old.close(() => r())), 5000, "close");
      assert.ok(statSync(path).isSocket());
      const { queue } = await ctx.listen({ path });
      const socket = await ctx.client(path);
      const rec = echo(await queue.next());
      const reply = readToEnd(socket);
      socket.end("fresh");
      assert.equal(str(await reply), "fresh");
      await within(rec.closed, 5000, "close()");
    });

    test("listen({ path }) leaves a live socket alone and rejects with EADDRINUSE", async () => {
      const path = ctx.uniquePath("live");
      const other = createNetServer((socket) => {
        socket.on("error", () => {});
        socket.end("other");
      });
      ctx.servers.push(other);
      await within(new Promise<void>((r) => other.listen(path, () => r())), 5000, "listen");
      await assert.rejects(
        transport.listen({ path }, () => {}),
        (error: unknown) =>
          error instanceof ListenError && error.syscallCode === "EADDRINUSE" &&
          error.address === `unix:${path}`,
      );
      const socket = await ctx.client(path);
      assert.equal(str(await readToEnd(socket)), "other");
    });

    test("listen({ path }) never deletes a regular file in the way", async () => {
      const path = ctx.uniquePath("regular");
      writeFileSync(path, "precious");
      await assert.rejects(
        transport.listen({ path }, () => {}),
        (error: unknown) =>
          error instanceof ListenError && error.code === "SLUICE_ERR_LISTEN" &&
          error.syscallCode === "EADDRINUSE" && /not a socket/.test(error.message),
      );
      assert.equal(readFileSync(path, "utf8"), "precious");
    });

    if (caps.unixBacklog) {
      test("listen({ path, backlog }) is accepted", async () => {
        const path = ctx.uniquePath("backlog");
        const { queue } = await ctx.listen({ path, backlog: 8 });
        await ctx.client(path);
        (await queue.next()).destroy();
      });
    } else {
      test("listen({ path, backlog }) rejects with SLUICE_ERR_LISTEN_UNSUPPORTED", async () => {
        const path = ctx.uniquePath("backlog");
        await assertUnsupported(
          transport.listen({ path, backlog: 8 }, () => {}),
          `unix:${path}`,
          /backlog/,
        );
        assert.equal(existsSync(path), false);
      });
    }
  });

  fdTests(ctx);
}

function fdTests(ctx: Context): void {
  const { name, transport, caps } = ctx;

  describe(`${name}: adopting a listening socket`, () => {
    test("listen({ fd }) on a descriptor that is not a listening socket rejects with ListenError", async () => {
      if (!caps.fd) {
        await assertUnsupported(
          transport.listen({ fd: 99_999 }, () => {}),
          "fd 99999",
          /descriptor/,
        );
        return;
      }
      await assert.rejects(
        transport.listen({ fd: 99_999 }, () => {}),
        (error: unknown) =>
          error instanceof ListenError && error.code === "SLUICE_ERR_LISTEN" &&
          error.syscallCode === "EINVAL" && error.address === "fd 99999",
      );
    });

    if (!caps.fd) return;

    // A small Node program binds the socket and starts this runtime on
    // _fd_child.ts with it as fd 3, as systemd socket activation would. A Unix
    // socket file is renamed away while the program closes its own copy, since
    // closing one unlinks the path.
    const provider = `
      const fs = require("node:fs");
      const net = require("node:net");
      const { spawn } = require("node:child_process");
      const [command, ...args] = JSON.parse(process.env.SLUICE_FD_CHILD);
      const path = process.env.SLUICE_FD_PATH;
      const server = net.createServer();
      server.listen(...(path ? [path] : [0, "127.0.0.1"]), () => {
        const child = spawn(command, args, { stdio: ["inherit", "inherit", "inherit", server._handle.fd] });
        if (path) fs.renameSync(path, path + ".away");
        server.close();
        if (path) fs.renameSync(path + ".away", path);
        child.on("exit", (code) => process.exit(code ?? 1));
      });`;

    /** Runs _fd_child.ts on an inherited socket; spawnError when no Node binary can hand it over. */
    async function adoptInChild(path: string | null) {
      const helper = join(HERE, "_fd_child.ts");
      const command = runtime === "deno"
        ? [process.execPath, "run", "-A", helper]
        : runtime === "bun"
        ? [process.execPath, helper]
        : [process.execPath, ...process.execArgv.filter((a) => !a.startsWith("--test")), helper];
      const child = spawn(runtime === "node" ? process.execPath : "node", ["-e", provider], {
        env: {
          ...process.env,
          SLUICE_FD_CHILD: JSON.stringify(command),
          SLUICE_FD_TRANSPORT: caps.fdChild,
          ...(path ? { SLUICE_FD_PATH: path } : {}),
        },
        stdio: ["pipe", "pipe", "inherit"],
      });
      ctx.children.push(child);
      const spawnError = await within(
        new Promise<Error | null>((resolve) => {
          child.once("spawn", () => resolve(null));
          child.once("error", resolve);
        }),
        5000,
        "spawn",
      );
      if (spawnError !== null) return { child, spawnError, line: () => Promise.resolve("") };
      let out = "";
      let exited = false;
      child.stdout!.on("data", (chunk: Uint8Array) => (out += str(chunk)));
      child.once("exit", () => (exited = true));
      /** The next line the child prints (within 20 s). */
      const line = async () => {
        await until(() => out.includes("\n") || exited, 20_000, "a line from the child");
        const at = out.indexOf("\n");
        const first = at < 0 ? out : out.slice(0, at);
        out = at < 0 ? "" : out.slice(at + 1);
        return first;
      };
      return { child, spawnError, line };
    }

    async function stopChild(child: ReturnType<typeof spawn>): Promise<void> {
      const exited = within(new Promise((r) => child.once("exit", r)), 10_000, "child exit");
      child.stdin!.end();
      assert.equal(await exited, 0);
    }

    test("listen({ fd }) adopts a TCP socket inherited from the parent process", async (t) => {
      const { child, spawnError, line } = await adoptInChild(null);
      if (spawnError !== null) {
        t.skip(`no Node binary on PATH to hand a listening socket over (${spawnError.message})`);
        return;
      }
      const first = await line();
      const reply = JSON.parse(first);
      assert.equal(reply.error, undefined, `the child failed: ${first}`);
      assert.equal(reply.address.transport, "tcp");
      assert.equal(reply.address.hostname, "127.0.0.1");
      const socket = await ctx.client(reply.address.port);
      const clientPort = socket.localPort;
      const echoed = readToEnd(socket);
      socket.end("through an adopted socket");
      assert.equal(str(await echoed), "through an adopted socket");
      const conn = JSON.parse(await line());
      assert.deepEqual(conn.localAddress, reply.address);
      assert.equal(conn.remoteAddress.port, clientPort);
      await stopChild(child);
    });

    test("listen({ fd }) adopts a Unix socket; its path reads as an empty string", async (t) => {
      const path = ctx.uniquePath("adopted");
      const { child, spawnError, line } = await adoptInChild(path);
      if (spawnError !== null) {
        t.skip(`no Node binary on PATH to hand a listening socket over (${spawnError.message})`);
        return;
      }
      const first = await line();
      const reply = JSON.parse(first);
      assert.equal(reply.error, undefined, `the child failed: ${first}`);
      assert.deepEqual(reply.address, { transport: "unix", path: "" });
      const socket = await ctx.client(path);
      const echoed = readToEnd(socket);
      socket.end("through an adopted Unix socket");
      assert.equal(str(await echoed), "through an adopted Unix socket");
      assert.deepEqual(JSON.parse(await line()), {
        localAddress: { transport: "unix", path: "" },
        remoteAddress: { transport: "unix", path: "" },
      });
      await stopChild(child);
    });
  });
}
