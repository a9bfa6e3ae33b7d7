/**
 * The client shapes of issue 6 that `../shared/bench` lacks, for Sluice's
 * `ClientSession`, `undici.request` (Node) and the runtime's `fetch`:
 *
 *   <runtime> bench/clients/shapes.ts CLIENT post URL N CONC [MIB]
 *     warm-up (min(100, N/4)), then N POSTs of a MIB-MiB body (default 1) to
 *     URL (`/echo` of shape_server.mjs), CONC workers; the answer must be the
 *     body length.
 *   <runtime> bench/clients/shapes.ts CLIENT stream URL
 *     reads a 16 MiB body (warm-up), then URL (`/stream`, 1 GiB) chunk by
 *     chunk, dropping the chunks; records VmHWM (peak RSS) before and after.
 *     CLIENT `sluice-byob` or `fetch-byob` (bodies that are byte streams;
 *     not Bun's `fetch`) reads with `getReader({ mode: "byob" })` into one
 *     reused 64 KiB buffer instead (stream only).
 *
 * CLIENT: `sluice`, `fetch`, `undici` (Node; the npm package of the harness,
 * resolved from `$BENCH_ROOT`). Prints one line `SHAPEJSON {...}`.
 *
 * @module
 */

import { args, cpuMicros, procStatusKib, run, runtimeName } from "./_driver.ts";

interface Got {
  status: number;
  chunks: AsyncIterable<Uint8Array>;
  /** The body as a stream, for BYOB reads (clients that have one). */
  body?: ReadableStream<Uint8Array> | null;
}
type Get = (url: string) => Promise<Got>;
type Post = (url: string, body: Uint8Array) => Promise<{ status: number; text: string }>;
interface Client {
  name: string;
  get: Get;
  post: Post;
  close(): Promise<void>;
}

async function* readerChunks(body: ReadableStream<Uint8Array> | null): AsyncIterable<Uint8Array> {
  if (body === null) return;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

async function makeClient(kind: string, conc: number): Promise<Client> {
  if (kind === "sluice") {
    const { ClientSession } = await import("../../client/mod.ts");
    const session = new ClientSession({ connector: { limit: Math.max(conc, 1) } });
    return {
      name: "sluice.ClientSession",
      get: async (url) => {
        const res = await session.get(url);
        return { status: res.status, chunks: readerChunks(res.body), body: res.body };
      },
      post: async (url, body) => {
        const res = await session.post(url, { data: body });
        return { status: res.status, text: await res.text() };
      },
      close: () => session.close(),
    };
  }
  if (kind === "fetch") {
    return {
      name: "fetch",
      get: async (url) => {
        const res = await fetch(url);
        return { status: res.status, chunks: readerChunks(res.body), body: res.body };
      },
      post: async (url, body) => {
        const res = await fetch(url, { method: "POST", body: body as BodyInit });
        return { status: res.status, text: await res.text() };
      },
      close: () => Promise.resolve(),
    };
  }
  if (kind === "undici") {
    const { createRequire } = await import("node:module");
    const env = (globalThis as unknown as { process: { env: Record<string, string> } }).process.env;
    const root = env.BENCH_ROOT ?? (globalThis as unknown as { process: { cwd(): string } })
      .process.cwd();
    // deno-lint-ignore no-explicit-any
    const { Pool } = createRequire(`${root}/`)("undici") as any;
    const pools = new Map<string, typeof Pool>();
    const pool = (u: URL) => {
      let p = pools.get(u.origin);
      if (!p) pools.set(u.origin, p = new Pool(u.origin, { connections: Math.max(conc, 1) }));
      return p;
    };
    return {
      name: "undici.request+Pool",
      get: async (url) => {
        const u = new URL(url);
        const { statusCode, body } = await pool(u).request({
          path: u.pathname + u.search,
          method: "GET",
        });
        return { status: statusCode, chunks: body };
      },
      post: async (url, body) => {
        const u = new URL(url);
        const res = await pool(u).request({ path: u.pathname + u.search, method: "POST", body });
        return { status: res.statusCode, text: await res.body.text() };
      },
      close: async () => {
        for (const p of pools.values()) await p.close();
      },
    };
  }
  throw new TypeError(`Cannot run shapes: unknown client ${kind} (sluice, fetch, undici)`);
}

/** Reads `body` with a BYOB reader into one reused 64 KiB buffer. */
async function* byobChunks(body: ReadableStream<Uint8Array>): AsyncIterable<Uint8Array> {
  const reader = body.getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(65536);
  for (;;) {
    const { done, value } = await reader.read(new Uint8Array(buffer));
    if (done) return;
    yield value;
    buffer = value.buffer as ArrayBuffer;
  }
}

async function drain(
  client: Client,
  url: string,
  mark = Infinity,
  atMark: () => Promise<void> = () => Promise.resolve(),
): Promise<number> {
  const res = await client.get(url);
  if (byob && !res.body) throw new TypeError(`Cannot read with BYOB: ${client.name} has no stream`);
  let n = 0;
  for await (const c of byob ? byobChunks(res.body!) : res.chunks) {
    n += c.byteLength;
    if (n >= mark) {
      mark = Infinity;
      await atMark();
    }
  }
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  return n;
}

const [client, shape, url] = args;
const byob = client.endsWith("-byob");
const kind = byob ? client.slice(0, -"-byob".length) : client;
if (byob && shape !== "stream") {
  throw new TypeError(`Cannot run ${shape} with ${client}: stream only`);
}
if (shape === "post") {
  const n = Number(args[3] ?? 1000);
  const conc = Number(args[4] ?? 8);
  const size = Math.round(Number(args[5] ?? 1) * 1024 * 1024);
  const body = new Uint8Array(size).fill(0x62);
  const want = String(size);
  const client = await makeClient(kind, conc);
  await run("SHAPEJSON", client.name, n, conc, Math.min(100, Math.ceil(n / 4)), async () => {
    const res = await client.post(url, body);
    if (res.status !== 200) return `status ${res.status}`;
    return res.text === want ? true : `answer ${res.text.slice(0, 40)}`;
  }, { shape: "post", body_bytes: size });
  await client.close();
} else if (shape === "stream") {
  const client = await makeClient(kind, 1);
  const base = new URL(url);
  base.searchParams.set("bytes", String(16 * 1024 * 1024));
  await drain(client, base.href);
  const hwm0 = await procStatusKib("VmHWM");
  const rss0 = await procStatusKib("VmRSS");
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  let errors = 0;
  let firstError: string | null = null;
  let bytes = 0;
  let hwmQuarter = -1;
  const want = Number(new URL(url).searchParams.get("bytes") ?? 2 ** 30);
  try {
    bytes = await drain(client, url, want / 4, async () => {
      hwmQuarter = await procStatusKib("VmHWM");
    });
  } catch (e) {
    errors++;
    firstError = String((e as Error)?.message ?? e);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = cpuMicros();
  const hwm1 = await procStatusKib("VmHWM");
  if (errors === 0 && bytes !== want) {
    errors++;
    firstError = `read ${bytes} of ${want} bytes`;
  }
  await client.close();
  console.log(
    "SHAPEJSON " + JSON.stringify({
      name: byob ? `${client.name} (BYOB reader)` : client.name,
      runtime: runtimeName(),
      shape: "stream",
      bytes,
      seconds,
      mib_s: bytes / 1048576 / seconds,
      cpu_pct: cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / 1e4 / seconds,
      rss_before_mib: rss0 / 1024,
      hwm_before_mib: hwm0 / 1024,
      hwm_quarter_mib: hwmQuarter / 1024,
      hwm_after_mib: hwm1 / 1024,
      hwm_growth_mib: (hwm1 - hwm0) / 1024,
      errors,
      firstError,
    }),
  );
} else {
  throw new TypeError(`Cannot run shapes: unknown shape ${shape} (post, stream)`);
}
