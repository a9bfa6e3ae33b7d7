// node:net servers (plain, node:http, node:https, node:tls: all extend
// net.Server) that a test file starts: each accepted socket is tracked
// (its errors swallowed) and destroyed after the file, then the servers are
// closed, each close bounded.

import { after } from "node:test";
import type { Server, Socket } from "node:net";
import { within } from "../adapters/_net.ts";

/** What {@linkcode trackedServers} gives a test file. */
export interface TrackedServers {
  /** Tracks `server` (and its sockets) for closing after the file; returns it. */
  track<T extends Server>(server: T): T;
  /** Listens on 127.0.0.1, port 0 (bounded by 5 s); resolves with the port. */
  listen(server: Server): Promise<number>;
  /** Sockets accepted and not closed yet; add others (e.g. a proxy's upstream) to destroy them too. */
  sockets: Set<Socket>;
}

/**
 * Registers the `after` hook that destroys the sockets and closes the
 * servers; `before` runs first (e.g. closing the file's clients). Call once,
 * at the top level of a test file.
 */
export function trackedServers(before: () => Promise<unknown> | void = () => {}): TrackedServers {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  after(async () => {
    await before();
    for (const socket of sockets) socket.destroy();
    await Promise.all(
      servers.map((s) => within(new Promise<void>((r) => s.close(() => r())), 5000, "close")),
    );
  });
  return {
    sockets,
    track(server) {
      servers.push(server);
      server.on("connection", (socket: Socket) => {
        sockets.add(socket);
        socket.on("error", () => {});
        socket.on("close", () => sockets.delete(socket));
      });
      return server;
    },
    async listen(server) {
      await within(
        new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve());
        }),
        5000,
        "listen",
      );
      return (server.address() as { port: number }).port;
    },
  };
}
