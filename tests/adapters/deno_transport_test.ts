// denoTransport (adapters/_deno_transport.ts) runs on Deno only: the shared
// contract suite, plus what is Deno's own (reusePort behind --unstable-net).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { ListenError } from "../../adapters/transport.ts";
import { DenoTransport, denoTransport } from "../../adapters/_deno_transport.ts";
import { transportContract } from "./_transport_contract.ts";
import { HERE } from "./_contract_context.ts";
import { runtime, str, within } from "./_net.ts";

if (runtime !== "deno") {
  test(`denoTransport.listen() on ${runtime} rejects with SLUICE_ERR_LISTEN_UNSUPPORTED (the contract runs on Deno)`, async () => {
    await assert.rejects(
      denoTransport.listen({ hostname: "127.0.0.1", port: 0 }, () => {}),
      (error: unknown) =>
        error instanceof ListenError && error.code === "SLUICE_ERR_LISTEN_UNSUPPORTED" &&
        /needs Deno/.test(error.message),
    );
  });
} else {
  // Unstable APIs exist only with their flag; listenDatagram is one of --unstable-net.
  const unstableNet = "listenDatagram" in Deno;
  transportContract("denoTransport", denoTransport, {
    reusePort: unstableNet && Deno.build.os === "linux",
    fd: false,
    fdChild: "deno",
    backlog: true,
    unixBacklog: false,
    unixTls: false,
    requestCert: false,
    tlsDetails: false,
    notAvailableCode: "EADDRNOTAVAIL",
  });

  describe("denoTransport on Deno", () => {
    test("denoTransport is a DenoTransport", () => {
      assert.ok(denoTransport instanceof DenoTransport);
    });

    test("listen({ reusePort }) works under --unstable-net (two listeners, one port)", {
      skip: Deno.build.os !== "linux" && "Deno has SO_REUSEPORT on Linux only",
    }, async () => {
      const child = spawn(
        process.execPath,
        ["run", "-A", "--unstable-net", join(HERE, "_deno_reuse_port_child.ts")],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      let out = "";
      child.stdout.on("data", (chunk: Uint8Array) => (out += str(chunk)));
      const code = await within(
        new Promise<number | null>((resolve) => child.once("exit", resolve)),
        20_000,
        "the --unstable-net child",
      );
      assert.equal(code, 0, out);
      const reply = JSON.parse(out.trim());
      assert.equal(reply.samePort, true);
      assert.ok(reply.a > 0 && reply.b > 0, `accepts spread ${reply.a}/${reply.b}`);
    });
  });
}
