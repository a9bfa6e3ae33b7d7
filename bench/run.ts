/**
 * The benchmark runner: `npm run bench [-- names...] [options]`, i.e.
 * `node --import tsx bench/run.ts`.
 *
 * Finds `bench/*_bench.ts`, times every contender of every case side by side
 * (warm-up, then interleaved rounds), and prints median ops/s with the
 * min–max over rounds, MB/s, bytes allocated per operation (Node: measured
 * in a child process with `--expose-gc`) and the ratio Sluice ÷ peer.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  type Allocation,
  canMeasureAllocation,
  measureAllocation,
  timeContenders,
  type TimingOptions,
} from "./_measure.ts";
import { formatHeader, formatRows, layoutFor, type Row } from "./_report.ts";
import { type Contender, isUnavailable, type Suite } from "./_suite.ts";

const USAGE = `Usage: npm run bench -- [names...] [options]
  names            benchmark modules to run (bench/<name>_bench.ts); all when omitted
  --filter RE      run only contenders whose "suite/case/contender" matches RE
  --rounds N       timed rounds per contender (default 7)
  --round-ms MS    length of one round (default 400)
  --warmup-ms MS   untimed warm-up per contender (default 1000)
  --clock cpu|wall measure rounds in the process's CPU time (default: steady
                   when other processes share the cores) or in elapsed time
  --no-alloc       skip the bytes-per-operation measurement
  --json           print one JSON document instead of the table
  --list           list suites, cases and contenders
  -h, --help       this text`;

const ALLOC_FLAGS = ["--expose-gc", "--min-semi-space-size=256", "--max-semi-space-size=256"];

interface Runtime {
  name: string;
  version: string;
  engine: string;
}

function runtime(): Runtime {
  const deno = (globalThis as { Deno?: { version: { deno: string; v8: string } } }).Deno;
  if (deno) return { name: "deno", version: deno.version.deno, engine: `v8 ${deno.version.v8}` };
  const v = process.versions as Record<string, string | undefined>;
  if (v.bun) return { name: "bun", version: v.bun, engine: `JavaScriptCore ${v.webkit ?? "?"}` };
  return { name: "node", version: v.node ?? "?", engine: `v8 ${v.v8 ?? "?"}` };
}

function cpuModel(): string {
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1];
    if (model) return model.trim();
  } catch {
    // Not Linux: fall back to what the OS module says.
  }
  return os.cpus()[0]?.model ?? "unknown";
}

/** Busy CPU seconds of the whole machine so far (Linux), or null. */
function machineBusySeconds(): number | null {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n", 1)[0].trim().split(/\s+/);
    // user nice system (idle iowait) irq softirq steal, in USER_HZ (100/s).
    const [user, nice, system, , , irq, softirq, steal] = fields.slice(1).map(Number);
    return (user + nice + system + irq + softirq + (steal || 0)) / 100;
  } catch {
    return null;
  }
}

/** Machine-wide and own CPU seconds, summed over the timed phases only. */
const load = { busy: 0, own: 0, wall: 0, known: machineBusySeconds() !== null };

/** Runs `fn`, adding what the machine and this process did meanwhile to `load`. */
async function watched<T>(fn: () => Promise<T>): Promise<T> {
  const own = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  };
  const b0 = machineBusySeconds() ?? 0, o0 = own(), t0 = performance.now();
  const result = await fn();
  load.busy += (machineBusySeconds() ?? 0) - b0;
  load.own += own() - o0;
  load.wall += (performance.now() - t0) / 1000;
  return result;
}

const benchDir = fileURLToPath(new URL(".", import.meta.url));

/** The commit measured, `+dirty` when the work tree has changes; "" outside git. */
function revision(): string {
  const git = (...args: string[]) =>
    spawnSync("git", args, {
      cwd: benchDir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
  const head = git("rev-parse", "--short", "HEAD");
  if (head.status !== 0 || head.error) return "";
  const dirty = git("status", "--porcelain", "--untracked-files=no").stdout?.trim();
  return head.stdout.trim() + (dirty ? "+dirty" : "");
}

function discover(): string[] {
  return readdirSync(benchDir)
    .filter((f) => f.endsWith("_bench.ts"))
    .map((f) => f.slice(0, -"_bench.ts".length))
    .sort();
}

async function loadSuite(name: string): Promise<Suite> {
  const mod = await import(new URL(`./${name}_bench.ts`, import.meta.url).href) as {
    suite?: Suite;
  };
  if (!mod.suite) throw new TypeError(`Cannot load bench/${name}_bench.ts: no "suite" export`);
  return mod.suite;
}

/** Prints why the command line is wrong, then the usage, and exits. */
function usageError(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function positiveInt(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    usageError(`Cannot use ${flag} "${value}": expected a positive integer`);
  }
  return n;
}

function parseCommandLine() {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      allowPositionals: true,
      options: {
        filter: { type: "string" },
        rounds: { type: "string" },
        "round-ms": { type: "string" },
        "warmup-ms": { type: "string" },
        clock: { type: "string" },
        "no-alloc": { type: "boolean" },
        json: { type: "boolean" },
        list: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        // Internal: the child process that measures allocation.
        "alloc-child": { type: "boolean" },
      },
    });
  } catch (err) {
    usageError((err as Error).message);
  }
}

const { values: opts, positionals } = parseCommandLine();

if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}

if (opts.clock !== undefined && opts.clock !== "cpu" && opts.clock !== "wall") {
  usageError(`Cannot use --clock "${opts.clock}": expected "cpu" or "wall"`);
}
const timing: TimingOptions = {
  rounds: positiveInt(opts.rounds, 7, "--rounds"),
  roundMs: positiveInt(opts["round-ms"], 400, "--round-ms"),
  warmupMs: positiveInt(opts["warmup-ms"], 1000, "--warmup-ms"),
  batchMs: 10,
  clock: opts.clock === "wall" ? "wall" : "cpu",
};
let filter: RegExp | null = null;
try {
  if (opts.filter !== undefined) filter = new RegExp(opts.filter);
} catch (err) {
  usageError(`Cannot use --filter: ${(err as Error).message}`);
}
const selected = (path: string) => filter === null || filter.test(path);

const available = discover();
const names = positionals.length ? positionals : available;
for (const name of names) {
  if (!available.includes(name)) {
    usageError(`Unknown benchmark "${name}". Available: ${available.join(", ")}`);
  }
}

const suites: Suite[] = [];
for (const name of names) suites.push(await loadSuite(name));

if (opts.list) {
  for (const suite of suites) {
    console.log(`${suite.name}: ${suite.description ?? ""}`);
    for (const c of suite.cases) {
      console.log(`  ${c.name}: ${c.description ?? ""}`);
      for (const [name, contender] of Object.entries(c.contenders)) {
        const note = isUnavailable(contender) ? `  (unavailable: ${contender.unavailable})` : "";
        console.log(`    ${suite.name}/${c.name}/${name}${note}`);
      }
    }
  }
  process.exit(0);
}

// The child that measures allocation: one JSON object on stdout, keyed by path.
if (opts["alloc-child"]) {
  const out: Record<string, Allocation | null> = {};
  if (canMeasureAllocation()) {
    for (const suite of suites) {
      for (const c of suite.cases) {
        for (const [name, contender] of Object.entries(c.contenders)) {
          const path = `${suite.name}/${c.name}/${name}`;
          if (isUnavailable(contender) || !selected(path)) continue;
          out[path] = await measureAllocation(contender);
        }
      }
    }
  }
  process.stdout.write(JSON.stringify(out) + "\n");
  process.exit(0);
}

/**
 * Runs this script again under Node, with the flags that allocation
 * measurement needs, on the given contender paths only.
 */
function measureAllocations(suiteName: string, paths: string[]): Record<string, Allocation | null> {
  const only = "^(" + paths.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|") + ")$";
  const args = [
    ...process.execArgv.filter((a) => !a.startsWith("--cpu-prof") && !a.startsWith("--prof")),
    ...ALLOC_FLAGS,
    fileURLToPath(import.meta.url),
    suiteName,
    "--alloc-child",
    "--filter",
    only,
  ];
  const child = spawnSync(process.execPath, args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 24,
  });
  if (child.status !== 0) {
    console.error(`Allocation run of ${suiteName} failed (exit ${child.status}): B/op left empty`);
    return {};
  }
  return JSON.parse(child.stdout.trim().split("\n").pop() ?? "{}");
}

const rt = runtime();
const withAlloc = !opts["no-alloc"] && rt.name === "node";
const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
const meta = {
  date,
  revision: revision(),
  runtime: rt,
  cpu: { model: cpuModel(), count: os.cpus().length, platform: `${os.platform()} ${os.arch()}` },
  options: { ...timing, alloc: withAlloc },
};

if (!opts.json) {
  console.log(`Sluice benchmarks, ${date}${meta.revision ? `, at ${meta.revision}` : ""}`);
  console.log(`runtime  ${rt.name} ${rt.version}, ${rt.engine}`);
  console.log(`cpu      ${meta.cpu.model} × ${meta.cpu.count} (${meta.cpu.platform})`);
  console.log(
    `method   ${timing.rounds} rounds × ${timing.roundMs} ms after ${timing.warmupMs} ms ` +
      `warm-up; median ops per ${timing.clock === "cpu" ? "CPU" : "wall-clock"} second, ` +
      `min–max over rounds; ratio = sluice ÷ peer` +
      (withAlloc ? "; B/op from a --expose-gc child run (+ext: outside the JS heap)" : ""),
  );
}

interface CaseResult {
  suite: string;
  case: string;
  description: string;
  unit: string;
  bytesPerOp: number | null;
  baseline: string;
  rows: Row[];
}

const results: CaseResult[] = [];
for (const suite of suites) {
  const cases = suite.cases.filter((c) =>
    Object.keys(c.contenders).some((n) => selected(`${suite.name}/${c.name}/${n}`))
  );
  if (cases.length === 0) continue;
  const layout = layoutFor(cases);
  if (!opts.json) {
    console.log(`\n${suite.name}: ${suite.description ?? ""}`);
    console.log(formatHeader(layout));
  }
  for (const c of cases) {
    const runnable: Record<string, Contender> = {};
    const rows: Row[] = [];
    for (const [name, contender] of Object.entries(c.contenders)) {
      const path = `${suite.name}/${c.name}/${name}`;
      if (!selected(path)) continue;
      if (isUnavailable(contender)) {
        rows.push({ contender: name, unavailable: contender.unavailable });
      } else {
        runnable[name] = contender;
        rows.push({ contender: name });
      }
    }
    const timings = await watched(() => timeContenders(runnable, timing));
    const paths = Object.keys(runnable).map((n) => `${suite.name}/${c.name}/${n}`);
    // After the timings, so that the child never shares the CPU with them.
    const alloc = withAlloc && paths.length ? measureAllocations(suite.name, paths) : {};
    const baseline = c.baseline ?? "sluice";
    const base = timings[baseline]?.median;
    for (const row of rows) {
      row.timing = timings[row.contender];
      if (withAlloc && row.timing) {
        row.allocation = alloc[`${suite.name}/${c.name}/${row.contender}`] ?? null;
      }
      if (base !== undefined && row.timing && row.contender !== baseline) {
        row.ratio = base / row.timing.median;
      }
    }
    results.push({
      suite: suite.name,
      case: c.name,
      description: c.description ?? "",
      unit: c.unit ?? "op",
      bytesPerOp: c.bytesPerOp ?? null,
      baseline,
      rows,
    });
    if (!opts.json) console.log(formatRows(layout, c, rows));
  }
}

// Cores used on average by other processes while contenders were timed.
const others: number | null = load.known && load.wall > 0
  ? Math.max(0, (load.busy - load.own) / load.wall)
  : null;
if (opts.json) console.log(JSON.stringify({ ...meta, otherLoad: others, results }, null, 2));
else if (others !== null) {
  console.log(
    `\nother processes used ${others.toFixed(2)} of ${meta.cpu.count} cores on average during ` +
      `the run${others > 0.3 ? ": figures are noisy, rerun on a quieter machine" : ""}`,
  );
}
