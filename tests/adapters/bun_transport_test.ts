// bunTransport (adapters/_bun_listen.ts, over adapters/_bun_transport.ts) runs on Bun only: the shared
// contract suite, plus what is Bun's own. Elsewhere it must refuse to listen.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ListenError } from "../../adapters/transport.ts";
import { BunTransport, bunTransport } from "../../adapters/_bun_listen.ts";
import { transportContract } from "./_transport_contract.ts";
import { runtime } from "./_net.ts";

if (runtime !== "bun") {
  test(`bunTransport.listen() on ${runtime} rejects with SLUICE_ERR_LISTEN_UNSUPPORTED (the contract runs on Bun)`, async () => {
    await assert.rejects(
      bunTransport.listen({ hostname: "127.0.0.1", port: 0 }, () => {}),
      (error: unknown) =>
        error instanceof ListenError && error.code === "SLUICE_ERR_LISTEN_UNSUPPORTED" &&
        /needs Bun/.test(error.message),
    );
  });
} else {
  transportContract("bunTransport", bunTransport, {
    reusePort: true,
    fd: true,
    fdChild: "bun",
    backlog: false,
    unixBacklog: false,
    unixTls: true,
    requestCert: true,
    tlsDetails: true,
    notAvailableCode: "EADDRNOTAVAIL",
  });

  describe("bunTransport on Bun", () => {
    test("bunTransport is a BunTransport", () => {
      assert.ok(bunTransport instanceof BunTransport);
    });
  });
}
