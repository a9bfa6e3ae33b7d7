// Run as a child process by the transport contract tests: adopts the
// listening socket inherited as file descriptor 3 with the transport named by
// SLUICE_FD_TRANSPORT (node, bun or deno; default node), prints its address
// as one JSON line and the addresses of each connection as another, echoes
// every connection, and exits when its standard input closes.

import process from "node:process";
// Node's timers everywhere: Deno's global setTimeout returns a number, with no unref().
import { setTimeout } from "node:timers";
import { ListenError, nodeTransport, type ServerTransport } from "../../adapters/node.ts";

// Never outlive a test run that forgot us.
setTimeout(() => process.exit(3), 30_000).unref();

async function pick(name: string): Promise<ServerTransport> {
  if (name === "bun") return (await import("../../adapters/_bun_listen.ts")).bunTransport;
  if (name === "deno") return (await import("../../adapters/_deno_transport.ts")).denoTransport;
  return nodeTransport;
}

try {
  const transport = await pick(process.env.SLUICE_FD_TRANSPORT ?? "node");
  const listener = await transport.listen({ fd: 3 }, (conn) => {
    const { localAddress, remoteAddress } = conn;
    process.stdout.write(`${JSON.stringify({ localAddress, remoteAddress })}\n`);
    conn.start({
      data: (chunk) => conn.write(chunk),
      end: () => conn.end(),
      drain() {},
      close() {},
    });
  });
  process.stdout.write(`${JSON.stringify({ address: listener.address })}\n`);
  process.stdin.on("data", () => {});
  process.stdin.once("end", async () => {
    await listener.close();
    process.exit(0);
  });
} catch (error) {
  const reply = error instanceof ListenError
    ? { code: error.code, syscallCode: error.syscallCode, message: error.message }
    : { message: String(error) };
  process.stdout.write(`${JSON.stringify({ error: reply })}\n`);
  process.exit(1);
}
