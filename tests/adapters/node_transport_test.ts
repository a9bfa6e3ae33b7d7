// nodeTransport (adapters/node.ts) on every runtime: Node natively, Deno and
// Bun through their node:net and node:tls. The contract suite is shared with
// the other transports (_transport_contract.ts); what differs per runtime is
// stated in the capabilities below.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { NodeTransport, nodeTransport } from "../../adapters/node.ts";
import { transportContract } from "./_transport_contract.ts";
import { runtime, runtimeLabel } from "./_net.ts";

const [major, minor] = process.versions.node.split(".").map(Number);
// node:net honours reusePort from Node 22.12 and 23.1 (and ignores it
// before); Deno and Bun report a recent Node version and honour it.
const reusePort = runtime !== "node" || major > 23 || (major === 23 && minor >= 1) ||
  (major === 22 && minor >= 12);

transportContract("nodeTransport", nodeTransport, {
  reusePort,
  fd: true,
  fdChild: "node",
  backlog: true,
  unixBacklog: true,
  unixTls: true,
  requestCert: true,
  tlsDetails: true,
  // Deno's node:net reports every bind failure but EADDRINUSE as EINVAL.
  notAvailableCode: runtime === "deno" ? "EINVAL" : "EADDRNOTAVAIL",
});

describe("nodeTransport on this runtime", () => {
  test(`nodeTransport ${reusePort ? "honours" : "refuses"} reusePort on ${runtimeLabel}`, async () => {
    assert.ok(nodeTransport instanceof NodeTransport);
    const options = { hostname: "127.0.0.1", port: 0, reusePort: true };
    if (reusePort) {
      const listener = await nodeTransport.listen(options, (conn) => conn.destroy());
      await listener.close();
      return;
    }
    await assert.rejects(
      nodeTransport.listen(options, () => {}),
      (error: Error) => new RegExp(`Node ${process.versions.node} ignores it`).test(error.message),
    );
  });
});
