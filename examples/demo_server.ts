/**
 * The demo behind `npm start`: a small application served by Sluice's raw
 * engine (`engine: "sluice"`: Deno.listen under Deno, node:net under Node,
 * Bun.listen under Bun), with its lifecycle hooks and graceful Ctrl-C.
 *
 *   GET  /        → "Hello from Sluice!"
 *   GET  /json    → {"message":"Hello, World!"}
 *   POST /echo    → the request body (up to 1 MiB, else 413)
 *   GET  /stream  → five lines, one every 100 ms (chunked)
 *
 * Run: `npm start` (or `deno run --allow-net examples/demo_server.ts --port 8080`).
 *
 * @module
 */

import process from "node:process";
import { type IncomingRequest, json, runApp, serve, type ServerApp, text } from "../mod.ts";

const MAX_BODY = 1024 * 1024;
const encoder = new TextEncoder();

/** A running demo server. */
export interface DemoServer {
  /** The port it listens on (useful with port 0). */
  port: number;
  /** Stops gracefully, resolves when done. */
  close(): Promise<void>;
}

async function handle(req: IncomingRequest): Promise<Response> {
  switch (req.pathname) {
    case "/":
      if (req.method !== "GET" && req.method !== "HEAD") {
        return text("Method Not Allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
      }
      return text("Hello from Sluice!\n");
    case "/json":
      return json({ message: "Hello, World!" });
    case "/echo":
      if (req.method !== "POST") {
        return text("Method Not Allowed\n", { status: 405, headers: { allow: "POST" } });
      }
      return new Response(await req.bytes() as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": "application/octet-stream" },
      });
    case "/stream": {
      let n = 0;
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          controller.enqueue(encoder.encode(`line ${++n}\n`));
          if (n === 5) controller.close();
        },
      }, { highWaterMark: 0 });
      return new Response(stream, { headers: { "content-type": "text/plain; charset=utf-8" } });
    }
    default:
      return text("Not Found\n", { status: 404 });
  }
}

/** The demo application: a handler and lifecycle hooks. */
export const demoApp: ServerApp = {
  handleIncoming: handle,
  onStartup: [() => console.log("Sluice demo starting")],
  onCleanup: [() => console.log("Sluice demo stopped")],
};

const options = { engine: "sluice", maxBodySize: MAX_BODY, shutdownTimeout: 5_000 } as const;

/**
 * Starts the demo server.
 *
 * @param hostname The address to bind, default `127.0.0.1`.
 * @param port The port, default 8080 (0 picks a free one).
 * @returns The running server.
 */
export async function startDemoServer(hostname = "127.0.0.1", port = 8080): Promise<DemoServer> {
  const server = await serve({ handleIncoming: handle }, { hostname, port, ...options });
  const address = server.addresses[0];
  return {
    port: address.transport === "tcp" ? address.port : port,
    close: () => server.shutdown(),
  };
}

function portFromArgs(args: string[]): number {
  const i = args.indexOf("--port");
  if (i === -1) return 8080;
  const port = Number(args[i + 1]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot start demo: invalid port "${args[i + 1]}"`);
  }
  return port;
}

if (import.meta.main) {
  await runApp(demoApp, {
    hostname: "127.0.0.1",
    port: portFromArgs(process.argv.slice(2)),
    ...options,
  });
}
