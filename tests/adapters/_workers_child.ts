// Run as a child process by workers_test.ts:
//   _workers_child.ts <mode> <port> <count> <shutdownTimeout>
// The primary supervises <count> workers and logs as JSON lines on stdout;
// with mode "abort" it stops when its stdin closes (an AbortSignal), else on
// SIGINT/SIGTERM. Each worker serves its pid on 127.0.0.1:<port> (node:http
// through node:cluster on Node, Deno.serve / Bun.serve with reusePort) and
// prints {"ready"} once listening. Worker modes: "crash" exits at once with
// code 1, "stubborn" ignores SIGTERM, the others stop on it and exit 0.

import { createServer } from "node:http";
import process from "node:process";
// Node's timers everywhere: Deno's global setTimeout returns a number, with no unref().
import { setTimeout } from "node:timers";
import { superviseWorkers, workerIndex } from "../../adapters/workers.ts";

const [mode, portText, countText, shutdownText] = process.argv.slice(2);
const port = Number(portText);

function line(record: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

// Never outlive a test run that forgot us.
setTimeout(() => process.exit(3), 90_000).unref();

interface BunServe {
  serve(options: {
    hostname: string;
    port: number;
    reusePort: boolean;
    fetch: () => Response;
  }): { stop(closeActiveConnections?: boolean): Promise<void> };
}

const index = workerIndex();
if (index === null) {
  const controller = new AbortController();
  if (mode === "abort") {
    process.stdin.on("data", () => {});
    process.stdin.once("end", () => controller.abort());
  }
  const code = await superviseWorkers(Number(countText), {
    logger: {
      info: (message) => line({ info: message }),
      error: (message, error) =>
        line({ error: message, ...(error === undefined ? {} : { cause: String(error) }) }),
    },
    signal: controller.signal,
    shutdownTimeout: Number(shutdownText),
    handleSignals: mode !== "abort",
  });
  line({ primaryDone: code });
  process.exit(code);
} else if (mode === "crash") {
  process.exit(1);
} else {
  const pid = process.pid;
  const reply = () => new Response(String(pid), { headers: { connection: "close" } });
  let stop: () => Promise<void> = () => Promise.resolve();
  // Installed before "ready" is printed: the test may signal as soon as it reads it (Bun
  // has been seen to die of a SIGTERM that came right after a later registration).
  process.on("SIGTERM", async () => {
    if (mode === "stubborn") {
      line({ ignored: "SIGTERM", worker: index, pid });
      return;
    }
    await stop();
    line({ stopped: true, worker: index, pid });
    process.exit(0);
  });
  if ("Deno" in globalThis) {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port,
      reusePort: true,
      onListen: () => line({ ready: true, worker: index, pid }),
    }, reply);
    stop = () => server.shutdown();
  } else if ("Bun" in globalThis) {
    const bun = (globalThis as unknown as { Bun: BunServe }).Bun;
    const server = bun.serve({ hostname: "127.0.0.1", port, reusePort: true, fetch: reply });
    line({ ready: true, worker: index, pid });
    stop = () => server.stop(true);
  } else {
    const server = createServer((_req, res) => {
      res.setHeader("connection", "close");
      res.end(String(pid));
    });
    server.listen(port, "127.0.0.1", () => line({ ready: true, worker: index, pid }));
    stop = () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
  }
}
