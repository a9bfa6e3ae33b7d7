// ClientSession against real servers in this process, each on 127.0.0.1
// port 0: Sluice's own raw engine, node:http, Deno.serve (on Deno only) and
// Bun.serve (on Bun only). The checks are in tests/_helpers/peer_suite.ts.

import { serve } from "../../server/run_app.ts";
import { nodeHttpPeer, peerFetch } from "../_helpers/peer_routes.ts";
import { type Peer, peerSuite } from "../_helpers/peer_suite.ts";

// deno-lint-ignore no-explicit-any
const runtime = globalThis as any;
const onDeno = typeof runtime.Deno?.serve === "function" && runtime.Bun === undefined;
const onBun = typeof runtime.Bun?.serve === "function";

peerSuite("Sluice's server (raw engine)", false, async (): Promise<Peer> => {
  const handle = await serve(
    (request, info) => {
      const remote = info.remoteAddress;
      return peerFetch(request, remote.transport === "tcp" ? String(remote.port) : "unix");
    },
    { hostname: "127.0.0.1", port: 0, engine: "sluice", shutdownTimeout: 2000 },
  );
  return { url: handle.url, close: () => handle.shutdown() };
});

peerSuite("node:http", false, nodeHttpPeer);

peerSuite(
  "Deno.serve",
  onDeno ? false : "Deno.serve exists on Deno only",
  (): Promise<Peer> => {
    const controller = new AbortController();
    return new Promise((resolve) => {
      const server = runtime.Deno.serve(
        {
          hostname: "127.0.0.1",
          port: 0,
          signal: controller.signal,
          onListen: ({ port }: { port: number }) =>
            resolve({
              url: `http://127.0.0.1:${port}`,
              close: async () => {
                controller.abort();
                await server.finished;
              },
            }),
        },
        (request: Request, info: { remoteAddr: { port: number } }) =>
          peerFetch(request, String(info.remoteAddr.port)),
      );
    });
  },
);

peerSuite("Bun.serve", onBun ? false : "Bun.serve exists on Bun only", (): Promise<Peer> => {
  const server = runtime.Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request: Request, srv: { requestIP(r: Request): { port: number } | null }) =>
      peerFetch(request, String(srv.requestIP(request)?.port ?? "")),
  });
  return Promise.resolve({
    url: `http://127.0.0.1:${server.port}`,
    close: async () => {
      await server.stop(true);
    },
  });
});
