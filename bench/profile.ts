/**
 * CPU hot spots of contenders: runs `bench/run.ts` under `node --cpu-prof`
 * once per matching contender and prints the functions that take the most
 * time (self and inclusive, as % of all samples).
 *
 * ```sh
 * node --import tsx bench/profile.ts http1_parser --filter '/sluice$' [--top 15] [--keep DIR]
 * node --import tsx bench/profile.ts --read some.cpuprofile   # summarize an existing profile
 * ```
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { findSourceMap } from "node:module";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Suite } from "./_suite.ts";

// The profiled process runs tsx's output (one line per module); the same
// modules loaded here with source maps on give back the TypeScript lines.
process.setSourceMapsEnabled(true);

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
}

/** One function's share of the samples. */
export interface HotSpot {
  /** `name (file:line)`. */
  name: string;
  /** % of samples spent in the function itself. */
  self: number;
  /** % of samples with the function anywhere on the stack. */
  total: number;
}

const repoRoot = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

function label(frame: CallFrame): string {
  const name = frame.functionName || "(anonymous)";
  if (!frame.url) return name;
  let line = frame.lineNumber + 1;
  if (frame.url.startsWith("file:") && frame.url.endsWith(".ts")) {
    const entry = findSourceMap(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber);
    if (entry && "originalLine" in entry) line = entry.originalLine + 1;
  }
  const file = frame.url.replace(/^file:\/\//, "").replace(/\?.*$/, "");
  const rel = file.startsWith(repoRoot) ? path.relative(repoRoot, file) : path.basename(file);
  return `${name} (${rel}:${line})`;
}

/**
 * Self and inclusive time per function of a `.cpuprofile`.
 *
 * @param profile The parsed JSON of a V8 CPU profile.
 * @returns Every function seen, most self time first.
 */
export function hotSpots(profile: CpuProfile): HotSpot[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  const childIds = new Set(profile.nodes.flatMap((n) => n.children ?? []));
  const roots = profile.nodes.filter((n) => !childIds.has(n.id));
  // Inclusive hits per node, then summed per function once per stack (recursion).
  const inclusive = new Map<number, number>();
  const sumHits = (node: ProfileNode): number => {
    let hits = node.hitCount ?? 0;
    for (const id of node.children ?? []) hits += sumHits(byId.get(id)!);
    inclusive.set(node.id, hits);
    return hits;
  };
  for (const root of roots) all += sumHits(root);
  const walk = (node: ProfileNode, onStack: Set<string>) => {
    const key = label(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + (node.hitCount ?? 0));
    const fresh = !onStack.has(key);
    if (fresh) {
      total.set(key, (total.get(key) ?? 0) + inclusive.get(node.id)!);
      onStack.add(key);
    }
    for (const id of node.children ?? []) walk(byId.get(id)!, onStack);
    if (fresh) onStack.delete(key);
  };
  for (const root of roots) walk(root, new Set());
  const pct = (x: number) => (all ? (100 * x) / all : 0);
  return [...self.keys()]
    .map((name) => ({ name, self: pct(self.get(name)!), total: pct(total.get(name) ?? 0) }))
    .sort((a, b) => b.self - a.self);
}

function print(title: string, spots: HotSpot[], top: number): void {
  console.log(`\n${title}`);
  console.log("  self%  total%  function");
  for (const s of spots.slice(0, top)) {
    console.log(`  ${s.self.toFixed(1).padStart(5)}  ${s.total.toFixed(1).padStart(6)}  ${s.name}`);
  }
}

const { values: opts, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    filter: { type: "string" },
    top: { type: "string" },
    keep: { type: "string" },
    read: { type: "string", multiple: true },
    rounds: { type: "string" },
  },
});
const top = Number(opts.top ?? 15);

if (opts.read) {
  for (const file of opts.read) {
    print(file, hotSpots(JSON.parse(readFileSync(file, "utf8"))), top);
  }
  process.exit(0);
}

const benchDir = path.dirname(fileURLToPath(import.meta.url));
// Loaded for their source maps: the runner's own frames appear in profiles.
await import("./_measure.ts");
const names = positionals.length ? positionals : readdirSync(benchDir)
  .filter((f) => f.endsWith("_bench.ts"))
  .map((f) => f.slice(0, -"_bench.ts".length));
const filter = new RegExp(opts.filter ?? "/sluice$");

for (const name of names) {
  const { suite } = await import(new URL(`./${name}_bench.ts`, import.meta.url).href) as {
    suite: Suite;
  };
  for (const c of suite.cases) {
    for (const [who, contender] of Object.entries(c.contenders)) {
      const id = `${suite.name}/${c.name}/${who}`;
      if (!filter.test(id) || "unavailable" in contender) continue;
      const dir = opts.keep ?? mkdtempSync(path.join(os.tmpdir(), "sluice-prof-"));
      const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      const run = spawnSync(process.execPath, [
        ...process.execArgv,
        "--cpu-prof",
        `--cpu-prof-dir=${dir}`,
        `--cpu-prof-name=${id.replaceAll("/", "__")}.cpuprofile`,
        path.join(benchDir, "run.ts"),
        suite.name,
        "--filter",
        `^${escaped}$`,
        "--no-alloc",
        "--rounds",
        opts.rounds ?? "5",
      ], { stdio: ["ignore", "ignore", "inherit"] });
      if (run.status !== 0) {
        console.error(`Profile run of ${id} failed (exit ${run.status})`);
        continue;
      }
      const file = path.join(dir, `${id.replaceAll("/", "__")}.cpuprofile`);
      print(id, hotSpots(JSON.parse(readFileSync(file, "utf8"))), top);
      if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    }
  }
}
