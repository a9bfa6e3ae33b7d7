/**
 * Sluice's `ClientSession` in the peer harness (`../shared/bench/run-clients.sh`):
 * `<runtime> bench/clients/sluice_client.ts URL N CONC [WARMUP]` does an
 * untimed warm-up (min(5000, N/4) requests), then N GETs with CONC workers,
 * checks status 200 and the 13-byte body and prints one `CLIENTJSON {...}`
 * line with the fields of the harness' `clients/driver.mjs`.
 *
 * @module
 */

import { ClientSession } from "../../client/mod.ts";
import { args, run } from "./_driver.ts";

const url = args[0];
const n = Number(args[1] ?? 20000);
const conc = Number(args[2] ?? 64);
const warm = Number(args[3] ?? Math.min(5000, Math.ceil(n / 4)));

const session = new ClientSession({ connector: { limit: Math.max(conc, 1) } });
await run("CLIENTJSON", "sluice.ClientSession", n, conc, warm, async () => {
  const res = await session.get(url);
  const text = await res.text();
  if (res.status !== 200) return `status ${res.status}`;
  return text.length === 13 ? true : `body length ${text.length}`;
});
await session.close();
