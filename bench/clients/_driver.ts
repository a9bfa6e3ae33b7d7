/**
 * The load driver of the client benchmarks (Node, Deno, Bun): the protocol of
 * `../shared/bench/clients/driver.mjs` (warm-up, then N requests with CONC
 * workers taking the next request until N are done, one `CLIENTJSON` line),
 * written again here so that `bench/clients/` is self-contained.
 *
 * @module
 */

/** The command-line arguments on Node, Deno and Bun. */
export const args: readonly string[] = (globalThis as { Deno?: { args: string[] } }).Deno?.args ??
  (globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2);

/** The runtime and its version, e.g. `node v20.20.2`. */
export function runtimeName(): string {
  const g = globalThis as Record<string, unknown>;
  if (g.Bun) return `bun ${(g.Bun as { version: string }).version}`;
  if (g.Deno) return `deno ${(g.Deno as { version: { deno: string } }).version.deno}`;
  return `node ${(g.process as { version: string }).version}`;
}

/** Process CPU time in microseconds (user + system), or null where unknown. */
export function cpuMicros(): number | null {
  const p = (globalThis as { process?: { cpuUsage?: () => { user: number; system: number } } })
    .process;
  const u = p?.cpuUsage?.();
  return u ? u.user + u.system : null;
}

/** Runs `total` calls of `one` with at most `conc` in flight; counts bad results. */
export async function phase(
  total: number,
  conc: number,
  one: () => Promise<boolean | string>,
  errs: { errors: number; firstError: string | null },
): Promise<void> {
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (issued < total) {
      issued++;
      try {
        const ok = await one();
        if (ok !== true) {
          errs.errors++;
          errs.firstError ??= ok === false ? "bad response" : ok;
        }
      } catch (e) {
        errs.errors++;
        errs.firstError ??= String((e as Error)?.message ?? e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(conc, total) }, worker));
}

/** Warm-up (untimed), then the timed phase; prints `<tag> {...}` and returns the record. */
export async function run(
  tag: string,
  name: string,
  n: number,
  conc: number,
  warm: number,
  one: () => Promise<boolean | string>,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const errs = { errors: 0, firstError: null as string | null };
  await phase(warm, conc, one, errs);
  errs.errors = 0;
  errs.firstError = null;
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  await phase(n, conc, one, errs);
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = cpuMicros();
  const cpu_pct = cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / 1e4 / seconds;
  console.log(
    `${tag} ` + JSON.stringify({
      name,
      runtime: runtimeName(),
      requests: n,
      concurrency: conc,
      seconds,
      rps: n / seconds,
      cpu_pct,
      errors: errs.errors,
      firstError: errs.firstError,
      ...extra,
    }),
  );
}

/** A `/proc/self/status` field in KiB (`VmHWM`, `VmRSS`), or -1 where unreadable. */
export async function procStatusKib(field: string): Promise<number> {
  let text: string;
  try {
    const g = globalThis as { Deno?: { readTextFileSync(p: string): string } };
    if (g.Deno) text = g.Deno.readTextFileSync("/proc/self/status");
    else text = (await import("node:fs")).readFileSync("/proc/self/status", "utf8");
  } catch {
    return -1;
  }
  const m = new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(text);
  return m ? Number(m[1]) : -1;
}
