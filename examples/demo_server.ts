/**
 * The demo behind `npm start`: a small `Application` served by Sluice's raw
 * engine (`engine: "sluice"`: Deno.listen under Deno, node:net under Node,
 * Bun.listen under Bun), with middleware, a class-based view, a mounted
 * sub-application, lifecycle hooks and graceful Ctrl-C.
 *
 *   GET  /            → "Hello from Sluice!"
 *   GET  /json        → {"message":"Hello, World!"}
 *   POST /echo        → the request body (up to 1 MiB, else 413)
 *   GET  /stream      → five lines, one every 100 ms (chunked)
 *   GET  /users/:id   → {"id":"…"} (a class-based view; PUT too)
 *   GET  /api/time    → the server's clock (a sub-application with a request id)
 *
 * Every answer carries `Server-Timing`. Run: `npm start` (or
 * `deno run --allow-net examples/demo_server.ts --port 8080`).
 *
 * @module
 */

import process from "node:process";
import {
  Application,
  json,
  requestId,
  runApp,
  serve,
  serverTiming,
  stream,
  text,
  View,
} from "../mod.ts";

const MAX_BODY = 1024 * 1024;

/** A running demo server. */
export interface DemoServer {
  /** The port it listens on (useful with port 0). */
  port: number;
  /** Stops gracefully, resolves when done. */
  close(): Promise<void>;
}

class UserView extends View<{ id: string }> {
  get(): Response {
    return json({ id: this.request.params.id });
  }
  async put(): Promise<Response> {
    return json({ id: this.request.params.id, saved: await this.request.json() });
  }
}

/** Makes the demo application: routes, middleware, a sub-application and lifecycle hooks. */
export function makeDemoApp(): Application {
  const app = new Application({ clientMaxSize: MAX_BODY });
  app.use(serverTiming());
  app.router.get("/", () => text("Hello from Sluice!\n"));
  app.router.get("/json", () => json({ message: "Hello, World!" }));
  app.router.post(
    "/echo",
    async (req) =>
      new Response(await req.bytes() as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": "application/octet-stream" },
      }),
  );
  app.router.get("/stream", () => {
    const { response, writer } = stream({
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
    (async () => {
      for (let n = 1; n <= 5; n++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        await writer.write(`line ${n}\n`);
      }
      await writer.close();
    })().catch(() => {}); // the client left: the writer is closed for us
    return response;
  });
  app.router.view("/users/:id", UserView);

  const api = new Application();
  api.use(requestId());
  api.router.get("/time", () => json({ now: new Date().toISOString() }));
  app.mount("/api", api);

  app.onStartup.push(() => console.log("Sluice demo starting"));
  app.onCleanup.push(() => console.log("Sluice demo stopped"));
  return app;
}

const options = { engine: "sluice", maxBodySize: MAX_BODY, shutdownTimeout: 5_000 } as const;

/**
 * Starts the demo server.
 *
 * @param hostname The address to bind, default `127.0.0.1`.
 * @param port The port, default 8080 (0 picks a free one).
 * @returns The running server.
 */
export async function startDemoServer(hostname = "127.0.0.1", port = 8080): Promise<DemoServer> {
  const server = await serve(makeDemoApp(), { hostname, port, ...options });
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
  await runApp(makeDemoApp(), {
    hostname: "127.0.0.1",
    port: portFromArgs(process.argv.slice(2)),
    ...options,
  });
}
