// Results of bench/client_bench.sh.
//   node bench/clients/ratios.mjs --record JSON NAME SHAPE REP CLITIME SERVER_TICKS CLK_TCK
//     -> one results line (tools/summarize.mjs format) from a SHAPEJSON record
//   node bench/clients/ratios.mjs OUT
//     -> markdown: medians per contender of every shape (OUT/get/results.jsonl,
//        OUT/shapes.jsonl), then the ratios ours ÷ peer against issue 6's targets
import { existsSync, readFileSync } from "node:fs";

const argv = process.argv.slice(2);
if (argv[0] === "--record") {
  const [, j, name, shape, rep, ct, ticks, clk] = argv;
  const r = JSON.parse(j);
  const [, , elapsed, maxrss] = ct.split(" ").map(Number);
  const common = {
    errors: r.errors,
    "client CPU % (timed phase)": r.cpu_pct ?? "n/a",
    "client peak RSS MiB": maxrss / 1024,
    "server CPU % (client lifetime)": elapsed > 0
      ? (100 * Number(ticks)) / Number(clk) / elapsed
      : "n/a",
  };
  const m = shape === "post"
    ? { "req/s": r.rps, "MiB/s": (r.rps * r.body_bytes) / 1048576, ...common }
    : {
      "MiB/s": r.mib_s,
      "peak RSS growth MiB": r.hwm_growth_mib,
      "growth at 1/4 MiB": r.hwm_quarter_mib - r.hwm_before_mib,
      "VmHWM before MiB": r.hwm_before_mib,
      ...common,
    };
  const bench = shape === "post"
    ? `http-client post (${(r.body_bytes / 1048576).toFixed(0)} MiB, concurrency ${r.concurrency})`
    : `http-client stream (${(r.bytes / 1048576).toFixed(0)} MiB download)`;
  console.log(
    JSON.stringify({
      bench,
      subject: name,
      case: shape,
      rep: +rep,
      m,
      runtime: r.runtime,
      firstError: r.firstError,
    }),
  );
  process.exit(0);
}

const out = argv[0];
const rows = [];
for (const f of [`${out}/get/results.jsonl`, `${out}/shapes.jsonl`]) {
  if (!existsSync(f)) continue;
  for (const l of readFileSync(f, "utf8").split("\n")) if (l.trim()) rows.push(JSON.parse(l));
}
const median = (xs) => {
  const s = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const cols = [
  ["seq", "req/s", "seq req/s"],
  ["conc", "req/s", "conc req/s"],
  ["post", "req/s", "post req/s"],
  ["stream", "MiB/s", "stream MiB/s"],
  ["stream", "peak RSS growth MiB", "stream RSS growth MiB"],
];
const subjects = [...new Set(rows.map((r) => r.subject))];
const cell = (subject, c, metric) =>
  median(rows.filter((r) => r.subject === subject && r.case === c).map((r) => r.m[metric]));
const errs = (subject) =>
  rows.filter((r) => r.subject === subject).reduce((a, r) => a + (Number(r.m.errors) || 0), 0);
const fmt = (x) =>
  !Number.isFinite(x)
    ? "–"
    : x >= 1000
    ? `${(x / 1000).toFixed(1)}k`
    : x >= 10
    ? x.toFixed(0)
    : x.toFixed(2);

let md = `## Client medians (${out})\n\n| subject | ${
  cols.map((c) => c[2]).join(" | ")
} | errors |\n`;
md += `|---|${cols.map(() => "---:").join("|")}|---:|\n`;
for (const s of subjects) {
  md += `| ${s} | ${cols.map(([c, m]) => fmt(cell(s, c, m))).join(" | ")} | ${errs(s)} |\n`;
}
const pairs = [
  ["sluice-node", "undici-request", 1],
  ["sluice-node", "node-fetch", 2],
  ["sluice-node24", "undici-request-node24", 1],
  ["sluice-node24", "node24-fetch", 2],
  ["sluice-deno", "deno-fetch", 1],
  ["sluice-bun", "bun-fetch", 1],
  ["sluice-node", "aiohttp-client", 3],
  ["sluice-node24", "aiohttp-client", 3],
  ["sluice-deno", "aiohttp-client", 3],
  ["sluice-bun", "aiohttp-client", 3],
];
const rcols = cols.slice(0, 3);
md += `\n## Ratios ours ÷ peer (medians)\n\n| ratio | ${
  rcols.map((c) => c[2].replace(" req/s", "")).join(" | ")
} | target |\n`;
md += `|---|${rcols.map(() => "---:").join("|")}|---:|\n`;
for (const [a, b, target] of pairs) {
  if (!subjects.includes(a) || !subjects.includes(b)) continue;
  const rs = rcols.map(([c, m]) => cell(a, c, m) / cell(b, c, m));
  md += `| ${a} ÷ ${b} | ${
    rs.map((x) => (Number.isFinite(x) ? x.toFixed(2) + (x >= target ? "" : " ✗") : "–")).join(" | ")
  } | ≥ ${target} |\n`;
}
const mem = subjects.filter((s) => s.startsWith("sluice")).map((
  s,
) => [s, cell(s, "stream", "peak RSS growth MiB")])
  .filter(([, g]) => Number.isFinite(g));
if (mem.length) {
  md += `\nStream peak RSS growth (target < 32 MiB): ${
    mem.map(([s, g]) => `${s} ${g.toFixed(1)}${g < 32 ? "" : " ✗"}`).join(", ")
  }\n`;
}
process.stdout.write(md);
