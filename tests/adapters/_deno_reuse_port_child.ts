// Run by deno_transport_test.ts as `deno run -A --unstable-net`: two
// denoTransport listeners with reusePort on one port, 32 connections, and a
// JSON line telling whether both listeners got some.

import { connect } from "node:net";
import { denoTransport } from "../../adapters/_deno_transport.ts";
import type { Conn } from "../../adapters/transport.ts";

const counts = { a: 0, b: 0 };
const accept = (key: "a" | "b") => (conn: Conn) => {
  counts[key]++;
  conn.destroy();
};
const options = { hostname: "127.0.0.1", port: 0, reusePort: true };
const first = await denoTransport.listen(options, accept("a"));
const port = first.address.transport === "tcp" ? first.address.port : 0;
const second = await denoTransport.listen({ ...options, port }, accept("b"));
const samePort = second.address.transport === "tcp" && second.address.port === port;
for (let i = 0; i < 32; i++) {
  await new Promise<void>((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.destroy();
      resolve();
    });
    socket.on("error", () => resolve());
  });
}
const deadline = Date.now() + 5000;
while (counts.a + counts.b < 32 && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 10));
}
await first.close();
await second.close();
console.log(JSON.stringify({ samePort, ...counts }));
