/**
 * The upper bound of a raw engine on `node:net`: Sluice's codec and nothing
 * else (no request object, no Response, no streams). Serves the endpoints of
 * ../shared/bench (`GET /` → "Hello, World!", `GET /json`) on 127.0.0.1:$PORT,
 * with keep-alive, pipelining (one write per read) and a Date header cached
 * per second. Runs on Node (tsx or Node ≥ 22.18), Deno and Bun:
 *
 *   PORT=8080 node --import tsx bench/servers/codec_net_server.ts
 *
 * @module
 */

import { createServer, type Socket } from "node:net";
import { Buffer } from "node:buffer";
import process from "node:process";
import {
  encodeResponse,
  HttpParseError,
  type RequestHead,
  RequestParser,
} from "../../http1/mod.ts";

let date = new Date().toUTCString();
setInterval(() => (date = new Date().toUTCString()), 1000).unref();

function respond(head: RequestHead): Uint8Array {
  const close = !head.keepAlive;
  const headers: Record<string, string> = { date };
  if (close) headers.connection = "close";
  if (head.target === "/") {
    headers["content-type"] = "text/plain;charset=UTF-8";
    return encodeResponse(200, headers, "Hello, World!");
  }
  if (head.target === "/json") {
    headers["content-type"] = "application/json";
    return encodeResponse(200, headers, JSON.stringify({ message: "Hello, World!" }));
  }
  return encodeResponse(404, headers, "Not Found");
}

function serve(socket: Socket): void {
  socket.setNoDelay(true);
  const out: Uint8Array[] = [];
  let head: RequestHead | null = null;
  let close = false;
  const parser = new RequestParser({
    onHead(h) {
      head = h;
    },
    onBody() {},
    onComplete() {
      out.push(respond(head!));
      if (!head!.keepAlive) close = true;
    },
  });
  socket.on("data", (chunk: Uint8Array) => {
    try {
      parser.feed(chunk);
    } catch (err) {
      if (!(err instanceof HttpParseError)) throw err;
      out.push(encodeResponse(err.status, { connection: "close" }, ""));
      close = true;
    }
    if (out.length === 1) socket.write(out[0]);
    else if (out.length > 1) socket.write(Buffer.concat(out));
    out.length = 0;
    if (close) socket.end();
  });
  socket.on("error", () => socket.destroy());
}

const port = Number(process.env.PORT ?? 8080);
createServer(serve).listen(port, "127.0.0.1", () => console.log(`listening on 127.0.0.1:${port}`));
