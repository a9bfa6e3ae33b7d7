/**
 * Sluice's framework contender for ../shared/bench's server runs: an
 * `Application` holding the 50 GET routes of `routes.json` (a copy of the
 * shared bench's table), no middleware, as the Hono contender is built:
 * `GET /` → "Hello, World!", `GET /json` → {"message":"Hello, World!"},
 * `GET /users/:id` → "User <id>", other routes answer their own pattern.
 * Served on 127.0.0.1:$PORT through the runtime's default path (or
 * `ENGINE=sluice|native`).
 *
 *   PORT=8080 node --import tsx bench/servers/sluice_app_server.ts
 *   PORT=8080 deno run -A bench/servers/sluice_app_server.ts
 *   PORT=8080 bun bench/servers/sluice_app_server.ts
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { Application } from "../../server/application.ts";
import { json, text } from "../../server/responses.ts";
import { serve } from "../../server/run_app.ts";
import type { EngineName } from "../../adapters/auto.ts";

const HELLO = "Hello, World!";
const { routes } = JSON.parse(
  readFileSync(new URL("./routes.json", import.meta.url), "utf8"),
) as { routes: string[] };

const app = new Application();
for (const path of routes) {
  if (path === "/") app.router.get(path, () => text(HELLO));
  else if (path === "/json") app.router.get(path, () => json({ message: HELLO }));
  else if (path === "/users/:id") app.router.get(path, (req) => text(`User ${req.params.id}`));
  else app.router.get(path, () => text(path));
}

const server = await serve(app, {
  hostname: "127.0.0.1",
  port: Number(process.env.PORT ?? 8080),
  engine: process.env.ENGINE as EngineName | undefined,
  handleSignals: true,
});
console.log(`sluice app (${server.runner.backend.engine}) listening on ${server.url}`);
