// The server of the client shapes that ../shared/bench lacks (node:http; runs on
// Node and Bun): listens on 127.0.0.1:$PORT.
//   GET  /                -> "Hello, World!"
//   POST /echo            -> reads the whole body (bytes counted, dropped), answers its length
//   GET  /stream?bytes=N  -> N bytes (default 1 GiB) in 64 KiB chunks, Content-Length set,
//                            written with backpressure (one reused chunk)
import http from "node:http";
import process from "node:process";

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  if (req.method === "POST" && url.pathname === "/echo") {
    let n = 0;
    req.on("data", (c) => {
      n += c.length;
    });
    req.on("end", () => {
      const body = String(n);
      res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
      res.end(body);
    });
    return;
  }
  if (req.method === "GET" && url.pathname === "/stream") {
    const total = Number(url.searchParams.get("bytes") ?? 2 ** 30);
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": total });
    let left = total;
    const pump = () => {
      while (left > 0) {
        const c = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
        left -= c.length;
        if (left === 0) {
          res.end(c);
          return;
        }
        if (!res.write(c)) {
          res.once("drain", pump);
          return;
        }
      }
    };
    res.on("close", () => {
      left = 0;
    });
    pump();
    return;
  }
  res.writeHead(200, { "content-type": "text/plain", "content-length": 13 });
  res.end("Hello, World!");
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 8080), "127.0.0.1");
process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
});
