// The server conformance suite (Hono's `common.case.test.ts`, srvx's
// `addTests`): one set of behaviours over real sockets, registered for any
// ServerBackend. `caps` says what a backend cannot do; the tests of such a
// feature then assert the documented fallback instead of skipping.

import { after, describe } from "node:test";
import type { ServerBackend } from "../../server/types.ts";
import { bodyTests } from "./_conformance_bodies.ts";
import { connectionTests } from "./_conformance_connections.ts";
import { type Caps, Servers } from "./_conformance_fixture.ts";
import { messageTests } from "./_conformance_messages.ts";

export type { Caps } from "./_conformance_fixture.ts";

/** Everything the raw engine does: the reference. */
export const FULL_CAPS: Caps = {
  takeover: true,
  exactParser: true,
  lenientHeads: [],
  closesAfterClose: true,
  echoesClose: true,
  http10KeepAlive: true,
  lazyContinue: true,
  drainsUnreadBody: true,
  closesOnLargeUnreadBody: true,
  headersTimeout: true,
  bodyTimeout: true,
  idleTimeout: "exact",
  maxRequestsPerConnection: true,
  trailers: true,
  countsConnections: true,
  accessBytes: true,
  logsStreamErrors: true,
  keepsStreamLength: true,
  pipelinesAfterStream: true,
};

/** Registers `describe(name)` with the whole suite against `backend`. */
export function conformance(name: string, backend: ServerBackend, caps: Caps): void {
  describe(name, () => {
    const servers = new Servers(backend);
    after(() => servers.stopAll());
    messageTests(servers, caps);
    bodyTests(servers, caps);
    connectionTests(servers, caps);
  });
}
