// The transport contract (adapters/transport.ts) as one suite that every
// ServerTransport runs: `transportContract("denoTransport", denoTransport,
// caps)`. The tests use plain node:net and node:tls clients, so they run the
// same on Deno, Bun and Node. `caps` says what a runtime cannot do; each such
// gap is pinned by a test that expects SLUICE_ERR_LISTEN_UNSUPPORTED or the
// weaker report, never skipped silently.

import { after } from "node:test";
import type { ServerTransport } from "../../adapters/transport.ts";
import { Context, type TransportCaps } from "./_contract_context.ts";
import { connTests } from "./_contract_conn.ts";
import { listenTests } from "./_contract_listen.ts";
import { tlsTests } from "./_contract_tls.ts";

export type { TransportCaps } from "./_contract_context.ts";

/** Registers the whole contract suite for `transport`. */
export function transportContract(
  name: string,
  transport: ServerTransport,
  caps: TransportCaps,
): void {
  const ctx = new Context(name, transport, caps);
  after(() => ctx.cleanup());
  connTests(ctx);
  listenTests(ctx);
  tlsTests(ctx);
}
