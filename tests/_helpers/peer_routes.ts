// The routes every peer of tests/client/peers_*_test.ts serves, as a
// standard fetch handler (our server, Deno.serve, Bun.serve) and as a
// node:http handler. nginx and aiohttp serve the same routes from their own
// configuration (tests/_helpers/peer_external.ts).
//
// - GET /small: "hello" with Content-Length; HEAD answers its head only.
// - GET /large: LARGE_SIZE bytes of pattern(), streamed in 64 KiB chunks.
// - GET /conn: an identifier of the server-side connection (the peer port).
// - GET /chunked: CHUNK_PARTS parts "part <i>;" with no length (chunked).
// - GET /gzip: GZIP_TEXT, gzip-encoded.
// - POST /echo: the request body back.
// - GET /set-cookie: sets `peer=v1; Path=/`; GET /cookies: the Cookie field.
// - GET /redirect: 302 to /small.
// - GET /204: 204; GET /304: 304 (no body either way).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { gzipSync } from "node:zlib";
import { pattern } from "../adapters/_net.ts";

/** Size of /large. */
export const LARGE_SIZE = 5 * 1024 * 1024 + 123;
/** Number of parts of /chunked. */
export const CHUNK_PARTS = 20;
/** The decoded body of /gzip. */
export const GZIP_TEXT = "sluice gzip body ".repeat(400);
/** The expected body of /chunked. */
export const CHUNKED_TEXT = Array.from({ length: CHUNK_PARTS }, (_, i) => `part ${i};`).join("");

let largeBody: Uint8Array | null = null;
/** The body of /large (made once). */
export function largeBytes(): Uint8Array {
  largeBody ??= pattern(LARGE_SIZE);
  return largeBody;
}

/** A 32-bit checksum that can be computed chunk by chunk. */
export class Checksum {
  value = 0x811c9dc5;
  bytes = 0;
  /** Adds a chunk. */
  update(chunk: Uint8Array): void {
    let h = this.value;
    for (let i = 0; i < chunk.length; i++) h = Math.imul(h ^ chunk[i], 16777619) >>> 0;
    this.value = h;
    this.bytes += chunk.length;
  }
}

/** The checksum of the whole of `bytes`. */
export function checksumOf(bytes: Uint8Array): number {
  const sum = new Checksum();
  sum.update(bytes);
  return sum.value;
}

const encoder = new TextEncoder();

function streamOf(parts: Uint8Array[], gapMs = 0): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      if (at === parts.length) controller.close();
      else controller.enqueue(parts[at++]);
    },
  });
}

function largeParts(): Uint8Array[] {
  const bytes = largeBytes();
  const parts: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += 65536) parts.push(bytes.subarray(at, at + 65536));
  return parts;
}

/** The routes as a fetch handler; `connection` identifies the socket. */
export async function peerFetch(request: Request, connection: string): Promise<Response> {
  const path = new URL(request.url).pathname;
  switch (path) {
    case "/small":
      return new Response("hello", { headers: { "content-type": "text/plain" } });
    case "/large":
      return new Response(streamOf(largeParts()), {
        headers: { "content-type": "application/octet-stream" },
      });
    case "/conn":
      return new Response(connection);
    case "/chunked":
      return new Response(
        streamOf(Array.from({ length: CHUNK_PARTS }, (_, i) => encoder.encode(`part ${i};`)), 2),
      );
    case "/gzip":
      return new Response(gzipSync(GZIP_TEXT), {
        headers: { "content-encoding": "gzip", "content-type": "text/plain" },
      });
    case "/echo":
      return new Response(await request.arrayBuffer(), {
        headers: { "content-type": "application/octet-stream" },
      });
    case "/set-cookie":
      return new Response("set", { headers: { "set-cookie": "peer=v1; Path=/" } });
    case "/cookies":
      return new Response(request.headers.get("cookie") ?? "");
    case "/redirect":
      return new Response(null, { status: 302, headers: { location: "/small" } });
    case "/204":
      return new Response(null, { status: 204 });
    case "/304":
      return new Response(null, { status: 304, headers: { etag: '"v1"' } });
    default:
      return new Response("not found", { status: 404 });
  }
}

async function nodeRoute(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? "/", "http://x").pathname;
  if (path === "/large") {
    res.writeHead(200, { "content-type": "application/octet-stream" });
    for (const part of largeParts()) {
      if (!res.write(part)) await new Promise((resolve) => res.once("drain", resolve));
    }
    res.end();
    return;
  }
  if (path === "/chunked") {
    res.writeHead(200, { "content-type": "text/plain" });
    for (let i = 0; i < CHUNK_PARTS; i++) {
      res.write(`part ${i};`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    res.end();
    return;
  }
  if (path === "/conn") {
    res.end(String(req.socket.remotePort));
    return;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const request = new Request(`http://x${req.url}`, {
    method: req.method,
    headers: req.headers as Record<string, string>,
    body: req.method === "POST" ? Buffer.concat(chunks) : undefined,
  });
  const response = await peerFetch(request, "");
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  const body = new Uint8Array(await response.arrayBuffer());
  if (response.status !== 204 && response.status !== 304) {
    headers["content-length"] = String(body.length);
  }
  res.writeHead(response.status, headers);
  res.end(req.method === "HEAD" ? undefined : body);
}

/** Starts a node:http server with the routes on 127.0.0.1. */
export async function nodeHttpPeer(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    nodeRoute(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
