// Sluice's raw engine behind a real nginx, configured as the docs tell users
// to: Forwarded, X-Forwarded-For/-Proto/-Host, HTTP/1.1 keep-alive upstream.
// nginx runs unprivileged from a temp dir, in its own process group so that
// its worker dies with it. Skips itself where nginx is not installed
// (scripts/ci_setup.sh installs it).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { nodeTransport } from "../../adapters/node.ts";
import { rawBackend } from "../../server/engine.ts";
import type { IncomingHandler, RunningServer, ServerOptions } from "../../server/types.ts";
import { dial, pattern, sleep, within } from "../adapters/_net.ts";

const NGINX = "/usr/sbin/nginx";
const HERE = dirname(fileURLToPath(import.meta.url));
const TLS_DIR = join(HERE, "..", "_fixtures", "tls");
const skip = existsSync(NGINX)
  ? false
  : `nginx is not installed (${NGINX}): run scripts/ci_setup.sh to test Sluice behind it`;
/** nginx connects upstream from this address, so that the proxy and the client (127.0.0.1) differ. */
const PROXY_ADDRESS = "127.0.0.3";
const MAX_BODY = 2 * 1024 * 1024;

/** What the handler tells about each request. */
interface Seen {
  remote: { hostname: string; port: number };
  socket: { hostname: string; port: number };
  secure: boolean;
  url: string;
  host: string | null;
  xff: string | null;
}

const handler: IncomingHandler = async (req, info) => {
  const path = req.pathname.replace(/^\/plain/, "");
  if (path === "/upload") {
    let bytes = 0;
    let sum = 0;
    for await (const chunk of req.body!) {
      for (let i = 0; i < chunk.length; i++) sum = (sum * 31 + chunk[i]) >>> 0;
      bytes += chunk.length;
    }
    return Response.json({ bytes, sum });
  }
  if (path === "/chunked") {
    let n = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await sleep(5);
        if (n === 20) controller.close();
        else controller.enqueue(new TextEncoder().encode(`part ${n++};`));
      },
    });
    return new Response(body, { headers: { "content-type": "text/plain" } });
  }
  const remote = req.remoteAddress;
  const socket = info.remoteAddress;
  const seen: Seen = {
    remote: remote.transport === "tcp" ? remote : { hostname: "unix", port: 0 },
    socket: socket.transport === "tcp" ? socket : { hostname: "unix", port: 0 },
    secure: req.secure,
    url: req.url,
    host: req.header("host"),
    xff: req.header("x-forwarded-for"),
  };
  return Response.json(seen);
};

function config(dir: string, port: number, tlsPort: number, trusted: number, plain: number) {
  const proxy = `
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_bind ${PROXY_ADDRESS};
      proxy_request_buffering off;
      proxy_buffering off;
      # The public name reaches the app through Forwarded/X-Forwarded-Host only.
      proxy_set_header Host backend.internal;
      proxy_set_header Forwarded "for=$forwarded_for;proto=$scheme;host=\\"$http_host\\"";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;`;
  const locations = `
    location / {
      proxy_pass http://trusted;${proxy}
    }
    location /plain/ {
      proxy_pass http://plain;${proxy}
    }`;
  return `
worker_processes 1;
events { worker_connections 128; }
http {
  access_log off;
  client_max_body_size 16m;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  # RFC 7239 wants IPv6 nodes bracketed and quoted.
  map $remote_addr $forwarded_for {
    ~^[0-9.]+$ "$remote_addr";
    ~^[0-9A-Fa-f:.]+$ "\\"[$remote_addr]\\"";
    default "unknown";
  }
  upstream trusted {
    server 127.0.0.1:${trusted};
    keepalive 4;
  }
  upstream plain {
    server 127.0.0.1:${plain};
    keepalive 4;
  }
  server {
    listen 127.0.0.1:${port};${locations}
  }
  server {
    listen 127.0.0.1:${tlsPort} ssl;
    ssl_certificate ${join(TLS_DIR, "cert.pem")};
    ssl_certificate_key ${join(TLS_DIR, "key.pem")};${locations}
  }
}
`;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

const portOf = (server: RunningServer): number =>
  server.address.transport === "tcp" ? server.address.port : 0;

/** GET over TLS with the fixture's CA (fetch has no portable way to trust it). */
function getTls(port: number, path: string): Promise<{ status: number; body: string }> {
  return within(
    new Promise((resolve, reject) => {
      const req = httpsRequest({
        host: "127.0.0.1",
        port,
        path,
        ca: readFileSync(join(TLS_DIR, "cert.pem")),
        agent: false,
      }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    }),
    20_000,
    `GET https://127.0.0.1:${port}${path}`,
  );
}

describe("Sluice behind nginx", { skip }, () => {
  let dir = "";
  let nginx: ChildProcess | null = null;
  let nginxExit: Promise<unknown> = Promise.resolve();
  const servers: RunningServer[] = [];
  let port = 0;
  let tlsPort = 0;
  const base = () => `http://127.0.0.1:${port}`;

  before(async () => {
    const options: ServerOptions = { maxBodySize: MAX_BODY };
    const listen = (extra: ServerOptions) =>
      rawBackend(nodeTransport).listen({ hostname: "127.0.0.1", port: 0 }, handler, {
        ...options,
        ...extra,
      });
    servers.push(await listen({ trustProxy: { hops: 1, from: [PROXY_ADDRESS] } }));
    servers.push(await listen({}));
    port = await freePort();
    tlsPort = await freePort();

    dir = mkdtempSync(join(tmpdir(), "sluice-nginx-"));
    // Run as root, nginx's worker is "nobody": it must reach the temp paths.
    chmodSync(dir, 0o755);
    const conf = join(dir, "nginx.conf");
    writeFileSync(conf, config(dir, port, tlsPort, portOf(servers[0]), portOf(servers[1])));
    const globals =
      `daemon off; master_process on; pid ${dir}/nginx.pid; error_log ${dir}/error.log;`;
    nginx = spawn(NGINX, ["-e", join(dir, "error.log"), "-p", dir, "-c", conf, "-g", globals], {
      stdio: ["ignore", "inherit", "inherit"],
      detached: true,
    });
    const child = nginx;
    nginxExit = new Promise((resolve) => child.once("exit", resolve));
    let exited = false;
    nginxExit.then(() => (exited = true));
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (exited) {
        const log = existsSync(join(dir, "error.log")) ? readFileSync(join(dir, "error.log")) : "";
        throw new Error(`nginx exited at startup:\n${log}`);
      }
      try {
        (await dial(port)).destroy();
        (await dial(tlsPort)).destroy();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(50);
      }
    }
  });

  after(async () => {
    if (nginx !== null && nginx.pid !== undefined) {
      // The whole group: master and worker.
      const group = -nginx.pid;
      try {
        process.kill(group, "SIGTERM");
        await within(nginxExit, 5_000, "nginx to stop");
      } catch {
        // Already gone, or slow: killed below.
      }
      try {
        process.kill(group, "SIGKILL");
      } catch {
        // No process left in the group.
      }
    }
    await Promise.all(servers.map((server) => server.shutdown(1000)));
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  async function seen(path: string, headers: Record<string, string> = {}): Promise<Seen> {
    const res = await within(fetch(base() + path, { headers }), 20_000, `GET ${path}`);
    assert.equal(res.status, 200);
    return await res.json() as Seen;
  }

  test("the handler sees the client's address, scheme and host via trustProxy", async () => {
    const view = await seen("/who?x=1");
    assert.equal(view.socket.hostname, PROXY_ADDRESS, "the socket peer is nginx");
    assert.equal(view.remote.hostname, "127.0.0.1", "the client, from X-Forwarded-For");
    assert.equal(view.secure, false);
    assert.equal(view.url, `http://127.0.0.1:${port}/who?x=1`);
    assert.equal(view.host, "backend.internal", "the Host header nginx sent is left as it is");
  });

  test("the handler sees https and the public URL when nginx terminated TLS", async () => {
    const { status, body } = await getTls(tlsPort, "/secure/path?q");
    assert.equal(status, 200);
    const view = JSON.parse(body) as Seen;
    assert.equal(view.secure, true);
    assert.equal(view.url, `https://127.0.0.1:${tlsPort}/secure/path?q`);
    assert.equal(view.remote.hostname, "127.0.0.1");
  });

  test("client-sent Forwarded and X-Forwarded-* do not win through nginx", async () => {
    const view = await seen("/spoof", {
      forwarded: "for=6.6.6.6;proto=https;host=evil.example",
      "x-forwarded-for": "6.6.6.6",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "evil.example",
    });
    assert.equal(view.xff, "6.6.6.6, 127.0.0.1", "nginx appended the real client");
    assert.equal(view.remote.hostname, "127.0.0.1");
    assert.equal(view.secure, false);
    assert.equal(view.url, `http://127.0.0.1:${port}/spoof`);
  });

  test("a server without trustProxy ignores the proxy headers", async () => {
    const view = await seen("/plain/who");
    assert.match(view.xff ?? "", /127\.0\.0\.1$/, "the headers did arrive");
    assert.equal(view.remote.hostname, PROXY_ADDRESS);
    assert.deepEqual(view.remote, view.socket);
    assert.equal(view.url, "http://backend.internal/plain/who");
    const tls = JSON.parse((await getTls(tlsPort, "/plain/who")).body) as Seen;
    assert.equal(tls.secure, false);
    assert.equal(tls.url, "http://backend.internal/plain/who");
  });

  test("a 1 MiB POST streams through nginx intact", async () => {
    const body = pattern(1024 * 1024) as Uint8Array<ArrayBuffer>;
    let sum = 0;
    for (let i = 0; i < body.length; i++) sum = (sum * 31 + body[i]) >>> 0;
    const res = await within(
      fetch(`${base()}/upload`, { method: "POST", body }),
      30_000,
      "POST 1 MiB",
    );
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { bytes: body.length, sum });
  });

  test("a chunked response comes through nginx whole", async () => {
    const res = await within(fetch(`${base()}/chunked`), 20_000, "GET /chunked");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), null);
    const expected = Array.from({ length: 20 }, (_, n) => `part ${n};`).join("");
    assert.equal(await within(res.text(), 20_000, "the chunked body"), expected);
  });

  test("nginx reuses its upstream connection (keep-alive)", async () => {
    const ports = new Set<number>();
    for (let k = 0; k < 6; k++) ports.add((await seen(`/keepalive/${k}`)).socket.port);
    assert.equal(ports.size, 1, `upstream source ports: ${[...ports].join(", ")}`);
  });

  test("a body over maxBodySize gets 413 through nginx", async () => {
    const res = await within(
      fetch(`${base()}/upload`, { method: "POST", body: new Uint8Array(MAX_BODY + 1) }),
      30_000,
      "POST over the limit",
    );
    assert.equal(res.status, 413);
    await res.arrayBuffer();
  });
});
