/**
 * Sluice's contender for ../shared/bench's server runs: `GET /` →
 * "Hello, World!" (text/plain), `GET /json` → {"message":"Hello, World!"},
 * else 404, on 127.0.0.1:$PORT, through the default path of the runtime it
 * runs on (or `ENGINE=sluice|native`).
 *
 *   PORT=8080 node --import tsx bench/servers/sluice_server.ts
 *   PORT=8080 deno run -A bench/servers/sluice_server.ts
 *   PORT=8080 bun bench/servers/sluice_server.ts
 *
 * @module
 */

import process from "node:process";
import { json, text } from "../../server/responses.ts";
import type { IncomingRequest } from "../../server/types.ts";
import { serve } from "../../server/run_app.ts";
import type { EngineName } from "../../adapters/auto.ts";

const HELLO = "Hello, World!";

function handle(req: IncomingRequest): Response {
  const path = req.pathname;
  if (path === "/") return text(HELLO);
  if (path === "/json") return json({ message: HELLO });
  return text("Not Found", { status: 404 });
}

const port = Number(process.env.PORT ?? 8080);
const engine = process.env.ENGINE as EngineName | undefined;
const server = await serve({ handleIncoming: handle }, {
  hostname: "127.0.0.1",
  port,
  engine,
  handleSignals: true,
});
console.log(`sluice (${server.runner.backend.engine}) listening on ${server.url}`);

// For bench/idle_connections.ts: collect garbage on demand, to read steady-state memory.
const gc = (globalThis as { gc?: () => void }).gc ??
  (globalThis as { Bun?: { gc(force: boolean): void } }).Bun?.gc.bind(null, true);
if (gc !== undefined && process.env.BENCH_GC === "1") process.on("SIGUSR2", () => gc());
