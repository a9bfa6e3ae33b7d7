// The whole test run: Deno's checks, then the same `*_test.ts` files on Deno,
// Bun, Node (this Node, through tsx) and Node 24 (native type stripping).
//
// Every step runs even when an earlier one failed, and its output streams
// through. The end is one summary line per step and a last line
// `N passed, N failed` (CI reads it): passed counts tests over all runtimes;
// failed counts failed tests plus one for each check or runtime that failed
// without a test to blame (crash, timeout, type error), so it is 0 exactly
// when the exit code is 0.
//
// Usage: node scripts/test.mjs [path ...]   (paths narrow the test files)
// Env:   STEP_TIMEOUT=seconds (default 600), NODE24=/path/to/node

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { bunSummary, denoSummary, nodeSummary } from "./_summaries.mjs";
import { ensureNode24, nodeVersion } from "./ensure_node24.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS = join(ROOT, ".cache", "test-results");
const TIMEOUT_MS = Number(process.env.STEP_TIMEOUT ?? 600) * 1000;
const SKIP_DIRS = new Set(["node_modules", ".cache", ".git"]);
const isWindows = process.platform === "win32";
// Deno colours its output even into a pipe; keep logs (CI, files) plain.
const childEnv = process.stdout.isTTY || "FORCE_COLOR" in process.env
  ? process.env
  : { ...process.env, NO_COLOR: "1" };

/** Files under `dir` (repo-relative, `/`-separated, sorted) whose names pass `keep`. */
function walk(dir, keep) {
  if (!existsSync(dir)) return [];
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && !SKIP_DIRS.has(entry.name)) found.push(...walk(path, keep));
    else if (entry.isFile() && keep(entry.name)) {
      found.push(relative(ROOT, path).split(sep).join("/"));
    }
  }
  return found.sort();
}

function localBin(name) {
  return join(ROOT, "node_modules", ".bin", isWindows ? `${name}.cmd` : name);
}

let current = null;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (current) killTree(current);
    process.exit(130);
  });
}

function killTree(child) {
  try {
    if (isWindows) child.kill();
    else process.kill(-child.pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/** Runs a command with output streamed through; resolves to `{ code, output, timedOut }`. */
function run(command, args) {
  return new Promise((done) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: childEnv,
      stdio: ["ignore", "pipe", "pipe"],
      // Own process group, so a timeout also ends the grandchildren.
      detached: !isWindows,
      shell: isWindows,
    });
    current = child;
    let output = "";
    const tee = (stream) => (chunk) => {
      output += chunk;
      stream.write(chunk);
    };
    child.stdout.on("data", tee(process.stdout));
    child.stderr.on("data", tee(process.stderr));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      console.error(`Timed out after ${TIMEOUT_MS / 1000} s: ${command} ${args.join(" ")}`);
      killTree(child);
    }, TIMEOUT_MS);
    child.on("error", (error) => (output += `\n${error.message}\n`));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      current = null;
      done({ code: code ?? (signal ? 1 : 0), output, timedOut });
    });
  });
}

const results = [];

/**
 * Records one step. A step that failed with no failed test to blame (crash,
 * timeout, type error, missing summary) counts as one failure.
 */
function record(name, code, counts = null, problem = "") {
  const failedTests = counts?.failed ?? 0;
  const broken = (code !== 0 || problem !== "") && failedTests === 0;
  const failed = broken ? 1 : failedTests;
  const status = counts ? `${counts.passed} passed, ${failed} failed` : failed ? "FAILED" : "ok";
  const reason = broken ? ` (${problem || `exit code ${code}`})` : "";
  results.push({ line: `${name}: ${status}${reason}`, passed: counts?.passed ?? 0, failed });
}

const timeoutNote = `timed out after ${TIMEOUT_MS / 1000} s`;

/** `deno test -A <3 files>`: the command as a reader wants to see it. */
function describeCommand(command, args) {
  const files = args.filter((a) => /\.m?tsx?$/.test(a)).length;
  const shown = [
    basename(command).replace(/\.cmd$/, ""),
    ...args.filter((a) => !/\.m?tsx?$/.test(a)),
  ];
  return `${shown.join(" ")}${files ? ` <${files} files>` : ""}`;
}

async function check(name, args) {
  console.log(`\n=== ${name}: ${describeCommand("deno", args)}`);
  const { code, timedOut } = await run(localBin("deno"), args);
  record(name, code, null, timedOut ? timeoutNote : "");
}

/** Runs the test files on one runtime; `summary` reads its counts from the run. */
async function suite(name, command, args, summary) {
  console.log(`\n=== ${name}: ${describeCommand(command, args)}`);
  const { code, output, timedOut } = await run(command, args);
  const counts = summary(output);
  const problem = timedOut ? timeoutNote : counts ? "" : "no test summary in the output";
  record(name, code, counts ?? { passed: 0, failed: 0 }, problem);
}

function sameManifest() {
  const deno = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
  const jsr = JSON.parse(readFileSync(join(ROOT, "jsr.json"), "utf8"));
  const keys = ["name", "version", "license", "exports", "publish"];
  const differ = keys.filter((k) => JSON.stringify(deno[k]) !== JSON.stringify(jsr[k]));
  if (differ.length) console.error(`jsr.json and deno.json disagree on: ${differ.join(", ")}`);
  return differ.length === 0;
}

/** The `*_test.ts` files under the given paths (default `tests/`), repo-relative. */
function findTestFiles(paths) {
  const files = [];
  for (const path of paths.length ? paths.map((p) => resolve(p)) : [join(ROOT, "tests")]) {
    if (path.endsWith(".ts")) files.push(relative(ROOT, path).split(sep).join("/"));
    else files.push(...walk(path, (f) => f.endsWith("_test.ts")));
  }
  return files;
}

/** Type stripping is on by default from Node 23.6 and 22.18; older builds need the flag. */
function stripTypesFlags(node) {
  const [major, minor] = (nodeVersion(node) ?? "v0.0").slice(1).split(".").map(Number);
  const native = major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
  return native ? [] : ["--experimental-strip-types"];
}

const testFiles = findTestFiles(process.argv.slice(2));
const typeScriptFiles = walk(ROOT, (f) => /\.m?tsx?$/.test(f) && !f.endsWith(".d.ts"));

await check("deno check", ["check", ...typeScriptFiles]);
await check("deno lint", ["lint"]);
await check("deno fmt", ["fmt", "--check"]);
// JSR's documentation rules on the public surface: JSDoc on every export, no private types.
const entryPoints = Object.values(
  JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).exports,
);
await check("deno doc --lint", ["doc", "--lint", ...entryPoints]);
console.log("\n=== jsr.json: same name, version, license, exports and publish as deno.json");
record("jsr.json", 0, null, sameManifest() ? "" : "differs from deno.json");
await check("deno publish", ["publish", "--dry-run", "--allow-dirty"]);

// Typed route params must keep a 500-route app cheap to type-check (issue 5).
console.log("\n=== typecheck budget: node scripts/typecheck_budget.mjs");
{
  const { code, timedOut } = await run(process.execPath, [join("scripts", "typecheck_budget.mjs")]);
  record("typecheck budget", code, null, timedOut ? timeoutNote : "");
}

if (testFiles.length === 0) {
  console.log("\nNo *_test.ts files found.");
} else {
  rmSync(RESULTS, { recursive: true, force: true });
  mkdirSync(RESULTS, { recursive: true });
  const junit = join(RESULTS, "deno.xml");
  // Types were checked above; here Deno only runs the tests, like the others.
  const denoArgs = ["test", "-A", "--no-check", `--junit-path=${junit}`, ...testFiles];
  const readJunit = () => existsSync(junit) ? readFileSync(junit, "utf8") : "";
  await suite("deno", localBin("deno"), denoArgs, (output) => denoSummary(output, readJunit()));
  await suite("bun", localBin("bun"), ["test", ...testFiles.map((f) => `./${f}`)], bunSummary);

  const major = process.versions.node.split(".")[0];
  const tsxArgs = ["--import", "tsx", "--test", "--test-reporter=spec", ...testFiles];
  await suite(`node${major} (tsx)`, process.execPath, tsxArgs, nodeSummary);

  let node24 = null;
  try {
    node24 = ensureNode24();
  } catch (error) {
    console.error(`\n${error.message}`);
    record("node24", 0, null, "Node 24 unavailable");
  }
  if (node24) {
    const args = [...stripTypesFlags(node24), "--test", "--test-reporter=spec", ...testFiles];
    await suite("node24", node24, args, nodeSummary);
  }
}

const passed = results.reduce((sum, r) => sum + r.passed, 0);
const failed = results.reduce((sum, r) => sum + r.failed, 0);
console.log("\n=== summary");
for (const { line } of results) console.log(line);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
