// Run as a child process by run_app_test.ts, on the runtime under test: a
// script that ends in `await runApp(app)` as a user's would. It prints each
// lifecycle step as a line on stdout (runApp prints its banner there too).
// GET /slow waits until standard input closes, then answers 100 000 bytes.
//
// SLUICE_RUN_APP_MODE: "serve" (default), "fail-startup" (an onStartup hook
// throws) or "workers" (no stdin; SLUICE_RUN_APP_WORKERS processes serve
// SLUICE_RUN_APP_PORT, each answering GET / with its pid).

import process from "node:process";
// Node's timers everywhere: Deno's global setTimeout returns a number, with no unref().
import { setTimeout } from "node:timers";
import { runApp } from "../../server/run_app.ts";
import type { ServerApp } from "../../server/types.ts";

// Never outlive a test run that forgot us.
setTimeout(() => process.exit(3), 60_000).unref();

const mode = process.env.SLUICE_RUN_APP_MODE ?? "serve";
const say = (line: string): void => void process.stdout.write(`${line}\n`);

let release!: () => void;
const released = new Promise<void>((resolve) => (release = resolve));
if (mode === "serve") {
  process.stdin.on("data", () => {});
  process.stdin.once("end", () => release());
}

const onStartup = [() => say("startup")];
if (mode === "fail-startup") {
  onStartup.push(function openDatabase() {
    throw new Error("database unreachable");
  });
}

const app: ServerApp = {
  fetch: async (request) => {
    if (new URL(request.url).pathname === "/slow") {
      say("in-flight");
      await released;
      return new Response("x".repeat(100_000));
    }
    return new Response(mode === "workers" ? `${process.pid}` : "hello");
  },
  onStartup,
  cleanupCtx: [async function* () {
    say("ctx:enter");
    yield;
    say("ctx:exit");
  }],
  onShutdown: [() => say("shutdown")],
  onCleanup: [() => say("cleanup")],
};

await runApp(app, {
  hostname: "127.0.0.1",
  port: Number(process.env.SLUICE_RUN_APP_PORT ?? 0),
  workers: Number(process.env.SLUICE_RUN_APP_WORKERS ?? 1),
  shutdownTimeout: 20_000,
});
say("runApp resolved");
