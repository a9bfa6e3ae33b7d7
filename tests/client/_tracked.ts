// The sessions and node:http servers a client test file opens, closed after
// the file's tests (each close bounded): sessions first, then the servers'
// connections, then the servers.

import { after } from "node:test";
import type { Server } from "node:http";
import { ClientSession, type ClientSessionOptions } from "../../client/session.ts";
import { within } from "../adapters/_net.ts";

/** What {@linkcode tracked} gives a test file. */
export interface Tracked {
  /** Servers to close after the file; push each one started. */
  servers: Server[];
  /** A new session (with the file's defaults under `options`), closed after the file. */
  session(options?: ClientSessionOptions): ClientSession;
}

/** Registers the `after` hook that closes what the file opens; call once, at the top level. */
export function tracked(defaults: () => ClientSessionOptions = () => ({})): Tracked {
  const sessions: ClientSession[] = [];
  const servers: Server[] = [];
  after(async () => {
    await Promise.all(sessions.map((s) => within(s.close(), 5000, "session close")));
    for (const s of servers) s.closeAllConnections();
    await Promise.all(
      servers.map((s) => within(new Promise<void>((r) => s.close(() => r())), 5000, "close")),
    );
  });
  return {
    servers,
    session(options = {}) {
      const s = new ClientSession({ ...defaults(), ...options });
      sessions.push(s);
      return s;
    },
  };
}
