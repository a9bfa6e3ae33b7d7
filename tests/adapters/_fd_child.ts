// Run as a child process by node_transport_test.ts: adopts the listening
// socket inherited as file descriptor 3, prints its address as one JSON line
// and the addresses of each connection as another, echoes every connection,
// and exits when its standard input closes.

import process from "node:process";
// Node's timers everywhere: Deno's global setTimeout returns a number, with no unref().
import { setTimeout } from "node:timers";
import { ListenError, nodeTransport } from "../../adapters/node.ts";

// Never outlive a test run that forgot us.
setTimeout(() => process.exit(3), 30_000).unref();

try {
  const listener = await nodeTransport.listen({ fd: 3 }, (conn) => {
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
