/**
 * The demo behind `npm start`: a small HTTP/1.1 server answered through
 * Sluice's codec on a `node:net` socket (it runs on Deno, Bun and Node).
 * The server engine of `server/` will replace this hand-written loop.
 *
 *   GET  /       → "Hello from Sluice!"
 *   GET  /json   → {"message":"Hello, World!"}
 *   POST /echo   → the request body (up to 1 MiB)
 *
 * Run: `npm start` (or `deno run --allow-net examples/demo_server.ts --port 8080`).
 *
 * @module
 */

import { createServer, type Server, type Socket } from "node:net";
import process from "node:process";
import {
  encodeResponse,
  HttpParseError,
  type ParserHandler,
  type RequestHead,
  RequestParser,
} from "../http1/mod.ts";

const MAX_BODY = 1024 * 1024;
const encoder = new TextEncoder();
const CONTINUE = encoder.encode("HTTP/1.1 100 Continue\r\n\r\n");

/** A running demo server. */
export interface DemoServer {
  /** The port it listens on (useful with port 0). */
  port: number;
  /** Stops accepting, closes every connection, resolves when done. */
  close(): Promise<void>;
}

function respond(
  head: RequestHead,
  body: Uint8Array,
): [number, Record<string, string>, string | Uint8Array] {
  const path = head.target.split("?", 1)[0];
  if (path === "/") {
    if (head.method !== "GET" && head.method !== "HEAD") return [405, { allow: "GET, HEAD" }, ""];
    return [200, { "content-type": "text/plain; charset=utf-8" }, "Hello from Sluice!\n"];
  }
  if (path === "/json") {
    return [
      200,
      { "content-type": "application/json" },
      JSON.stringify({ message: "Hello, World!" }),
    ];
  }
  if (path === "/echo") {
    if (head.method !== "POST") return [405, { allow: "POST" }, ""];
    return [200, { "content-type": "application/octet-stream" }, body];
  }
  return [404, { "content-type": "text/plain; charset=utf-8" }, "Not Found\n"];
}

function serveConnection(socket: Socket): void {
  let head: RequestHead | null = null;
  let parts: Uint8Array[] = [];
  let size = 0;
  let tooLarge = false;

  const send = (
    status: number,
    headers: Record<string, string>,
    body: string | Uint8Array,
    close: boolean,
  ) => {
    if (close) headers.connection = "close";
    const content = typeof body === "string" ? encoder.encode(body) : body;
    const message = encodeResponse(status, headers, content);
    // A HEAD response carries the GET's length but no content.
    const out = head?.method === "HEAD"
      ? message.subarray(0, message.length - content.length)
      : message;
    if (!socket.write(out)) socket.pause();
    if (close) socket.end();
  };

  const handler: ParserHandler<RequestHead> = {
    onHead(h) {
      head = h;
      parts = [];
      size = 0;
      tooLarge = h.contentLength > MAX_BODY;
      if (tooLarge) {
        send(413, { "content-type": "text/plain" }, "Content Too Large\n", true);
        parser.pause();
      } else if (h.expectContinue) {
        socket.write(CONTINUE);
      }
    },
    onBody(chunk) {
      size += chunk.length;
      if (size > MAX_BODY) {
        tooLarge = true;
        send(413, { "content-type": "text/plain" }, "Content Too Large\n", true);
        parser.pause();
        return;
      }
      parts.push(chunk.slice());
    },
    onComplete() {
      const h = head!;
      if (tooLarge) return;
      if (h.upgrade) {
        send(501, { "content-type": "text/plain" }, "Upgrade is not supported by the demo\n", true);
        return;
      }
      const body = new Uint8Array(size);
      let offset = 0;
      for (const part of parts) {
        body.set(part, offset);
        offset += part.length;
      }
      const [status, headers, content] = respond(h, body);
      send(status, headers, content, !h.keepAlive);
      head = null;
    },
  };
  const parser = new RequestParser(handler);

  socket.on("data", (data: Uint8Array) => {
    try {
      parser.feed(data);
    } catch (err) {
      if (err instanceof HttpParseError) {
        send(err.status, { "content-type": "text/plain" }, `${err.message}\n`, true);
      } else {
        console.error(err);
        socket.destroy();
      }
    }
  });
  socket.on("drain", () => socket.resume());
  socket.on("end", () => {
    try {
      parser.finish();
    } catch { /* a request cut short: nothing to answer */ }
    socket.end();
  });
  socket.on("error", () => socket.destroy());
}

/**
 * Starts the demo server.
 *
 * @param hostname The address to bind, default `127.0.0.1`.
 * @param port The port, default 8080 (0 picks a free one).
 * @returns The running server.
 */
export function startDemoServer(hostname = "127.0.0.1", port = 8080): Promise<DemoServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serveConnection(socket);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      const address = server.address();
      resolve({
        port: typeof address === "object" && address !== null ? address.port : port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const socket of sockets) socket.destroy();
          }),
      });
    });
  });
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
  const server = await startDemoServer("127.0.0.1", portFromArgs(process.argv.slice(2)));
  console.log(`Sluice demo listening on http://127.0.0.1:${server.port}/ (Ctrl-C to stop)`);
  const stop = async () => {
    await server.close();
    console.log("Sluice demo stopped");
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
