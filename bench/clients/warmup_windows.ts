/**
 * Throughput per window of requests, from a cold start: how fast a client
 * gets to its steady state. The harness' GET shape times 20,000 requests
 * after a 5,000-request warm-up, and on Bun our JavaScript is still being
 * compiled by JavaScriptCore's optimizing tier then (on the one pinned core),
 * while Bun's `fetch` is native from the first request.
 *
 *   <runtime> bench/clients/warmup_windows.ts URL [TOTAL] [CONC] [WINDOW]
 *
 * Runs TOTAL (default 80,000) GETs at CONC (64) with `ClientSession`, then
 * the same with the runtime's `fetch`, and prints each one's req/s per
 * WINDOW (5,000) requests, in thousands. Run it pinned, against bun-raw:
 * `taskset -c 1 bun bench/clients/warmup_windows.ts http://127.0.0.1:PORT/`
 * (Deno: `deno run -A …`; Node: `npx tsx …`).
 *
 * @module
 */

import { ClientSession } from "../../client/mod.ts";
import { args, runtimeName } from "./_driver.ts";

const url = args[0];
const total = Number(args[1] ?? 80_000);
const conc = Number(args[2] ?? 64);
const window = Number(args[3] ?? 5_000);
if (url === undefined || !(total > 0 && conc > 0 && window > 0)) {
  throw new TypeError("usage: warmup_windows.ts URL [TOTAL] [CONC] [WINDOW]");
}

/** Runs `total` GETs with `conc` workers; returns req/s (thousands) per window. */
async function windows(get: () => Promise<string>): Promise<number[]> {
  const out: number[] = [];
  let issued = 0;
  let done = 0;
  let last = performance.now();
  const worker = async (): Promise<void> => {
    while (issued < total) {
      issued++;
      const text = await get();
      if (text.length !== 13) throw new Error(`body length ${text.length}`);
      if (++done % window === 0) {
        const now = performance.now();
        out.push(Math.round(window / (now - last)));
        last = now;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(conc, total) }, worker));
  return out;
}

const session = new ClientSession({ connector: { limit: conc } });
const ours = await windows(async () => (await session.get(url)).text());
await session.close();
const theirs = await windows(async () => (await fetch(url)).text());
console.log(`${runtimeName()}: req/s (thousands) per ${window} requests, ${conc} in flight`);
console.log(`sluice ${ours.join(" ")}`);
console.log(`fetch  ${theirs.join(" ")}`);
