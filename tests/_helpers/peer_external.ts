// Peers in other processes for tests/client/peers_external_test.ts: nginx
// (Debian's nginx-light) as an origin, and a Python aiohttp web server
// (Debian's python3-aiohttp for /usr/bin/python3). Both serve the routes of
// tests/_helpers/peer_routes.ts; scripts/ci_setup.sh installs them. Each
// runs from a temp dir in its own process group, killed as a group.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { dial, sleep, within } from "../adapters/_net.ts";
import { CHUNK_PARTS, GZIP_TEXT, largeBytes, nodeHttpPeer } from "./peer_routes.ts";
import type { Peer } from "./peer_suite.ts";

export const NGINX = "/usr/sbin/nginx";
export const PYTHON = "/usr/bin/python3";

/** Why nginx cannot run here, or false. */
export function nginxMissing(): false | string {
  return existsSync(NGINX)
    ? false
    : `nginx is not installed (${NGINX}): scripts/ci_setup.sh installs nginx-light`;
}

/** Why the aiohttp server cannot run here, or false. */
export function aiohttpMissing(): false | string {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing: scripts/ci_setup.sh installs python3`;
  const probe = spawnSync(PYTHON, ["-c", "import aiohttp"], { timeout: 10_000 });
  return probe.status === 0
    ? false
    : `aiohttp is not importable by ${PYTHON}: scripts/ci_setup.sh installs python3-aiohttp`;
}

/** A temp dir with the static files both peers serve. */
function siteDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // nginx's worker may run as "nobody" when the tests run as root.
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, "small"), "hello");
  writeFileSync(join(dir, "large"), largeBytes());
  writeFileSync(join(dir, "gzip"), GZIP_TEXT);
  return dir;
}

/** Kills a detached child's process group, politely first. */
async function stopGroup(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGTERM");
    await within(exited, 5_000, "the peer to stop");
  } catch {
    // Already gone, or slow: killed below.
  }
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // No process left in the group.
  }
}

/** Waits for `port` to accept, failing early when the child exits. */
async function ready(port: () => number, exited: { value: boolean }, log: () => string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited.value) throw new Error(`the peer exited at startup:\n${log()}`);
    if (port() > 0) {
      try {
        (await dial(port())).destroy();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
    } else if (Date.now() > deadline) throw new Error(`the peer did not start:\n${log()}`);
    await sleep(50);
  }
}

async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function nginxConfig(dir: string, port: number, upstream: number): string {
  const proxy = `proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_buffering off; proxy_request_buffering off;`;
  return `
worker_processes 1;
events { worker_connections 512; }
http {
  access_log off;
  client_max_body_size 16m;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  default_type text/plain;
  gzip on;
  gzip_types text/plain;
  gzip_min_length 64;
  keepalive_requests 1000;
  upstream up { server 127.0.0.1:${upstream}; keepalive 4; }
  server {
    listen 127.0.0.1:${port};
    root ${dir};
    location = /small { }
    location = /large { default_type application/octet-stream; }
    location = /gzip { }
    location = /conn { return 200 "$connection"; }
    location = /chunked { ${proxy} }
    location = /echo { ${proxy} }
    location = /set-cookie { add_header Set-Cookie "peer=v1; Path=/"; return 200 "set"; }
    location = /cookies { return 200 "$http_cookie"; }
    location = /redirect { return 302 /small; }
    location = /204 { return 204; }
    location = /304 {
      if ($http_if_none_match = '"v1"') { return 304; }
      return 200 "changed";
    }
  }
}
`;
}

/**
 * Starts nginx as the origin: static files (/small, /large, /gzip with
 * `gzip on`), `return` directives, and /chunked and /echo proxied to a
 * node:http upstream.
 */
export async function startNginx(): Promise<Peer> {
  const upstream = await nodeHttpPeer();
  const dir = siteDir("sluice-peer-nginx-");
  const port = await freePort();
  const conf = join(dir, "nginx.conf");
  writeFileSync(conf, nginxConfig(dir, port, Number(new URL(upstream.url).port)));
  const log = join(dir, "error.log");
  const globals = `daemon off; master_process on; pid ${dir}/nginx.pid; error_log ${log};`;
  const child = spawn(NGINX, ["-e", log, "-p", dir, "-c", conf, "-g", globals], {
    stdio: ["ignore", "inherit", "inherit"],
    detached: true,
  });
  const exited = { value: false };
  const exit = new Promise((resolve) => child.once("exit", resolve));
  exit.then(() => (exited.value = true));
  const close = async () => {
    await stopGroup(child, exit);
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await ready(() => port, exited, () => existsSync(log) ? readFileSync(log, "utf8") : "");
  } catch (error) {
    await close();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, close };
}

const AIOHTTP_APP = `
import asyncio, gzip, os, sys
from aiohttp import web

port_file, site, parts = sys.argv[1], sys.argv[2], int(sys.argv[3])
read = lambda name: open(os.path.join(site, name), "rb").read()
large, gzip_text = read("large"), read("gzip")

async def small(request):
    return web.Response(text="hello")

async def large_route(request):
    resp = web.StreamResponse(headers={"content-type": "application/octet-stream"})
    await resp.prepare(request)
    for at in range(0, len(large), 65536):
        await resp.write(large[at:at + 65536])
    await resp.write_eof()
    return resp

async def conn(request):
    return web.Response(text=str(request.transport.get_extra_info("peername")[1]))

async def chunked(request):
    resp = web.StreamResponse()
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    for i in range(parts):
        await resp.write(f"part {i};".encode())
        await asyncio.sleep(0.002)
    await resp.write_eof()
    return resp

async def gzipped(request):
    return web.Response(body=gzip.compress(gzip_text),
                        headers={"content-encoding": "gzip", "content-type": "text/plain"})

async def echo(request):
    return web.Response(body=await request.read(), content_type="application/octet-stream")

async def set_cookie(request):
    resp = web.Response(text="set")
    resp.set_cookie("peer", "v1", path="/")
    return resp

async def cookies(request):
    return web.Response(text=request.headers.get("Cookie", ""))

async def redirect(request):
    raise web.HTTPFound("/small")

async def no_content(request):
    return web.Response(status=204)

async def not_modified(request):
    return web.Response(status=304, headers={"etag": '"v1"'})

async def main():
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_get("/small", small)
    app.router.add_get("/large", large_route)
    app.router.add_get("/conn", conn)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/gzip", gzipped)
    app.router.add_post("/echo", echo)
    app.router.add_get("/set-cookie", set_cookie)
    app.router.add_get("/cookies", cookies)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/204", no_content)
    app.router.add_get("/304", not_modified)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site_ = web.TCPSite(runner, "127.0.0.1", 0)
    await site_.start()
    port = site_._server.sockets[0].getsockname()[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(port_file + ".tmp", port_file)
    await asyncio.Event().wait()

asyncio.run(main())
`;

/** Starts the aiohttp app with /usr/bin/python3. */
export async function startAiohttp(): Promise<Peer> {
  const dir = siteDir("sluice-peer-aiohttp-");
  const app = join(dir, "app.py");
  const portFile = join(dir, "port");
  writeFileSync(app, AIOHTTP_APP);
  let stderr = "";
  const child = spawn(PYTHON, [app, portFile, dir, String(CHUNK_PARTS)], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  child.stderr?.on("data", (chunk) => (stderr += String(chunk)));
  const exited = { value: false };
  const exit = new Promise((resolve) => child.once("exit", resolve));
  exit.then(() => (exited.value = true));
  const close = async () => {
    await stopGroup(child, exit);
    rmSync(dir, { recursive: true, force: true });
  };
  let port = 0;
  const portNow = () => {
    if (port === 0 && existsSync(portFile)) port = Number(readFileSync(portFile, "utf8"));
    return port;
  };
  try {
    await ready(portNow, exited, () => stderr);
  } catch (error) {
    await close();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, close };
}
