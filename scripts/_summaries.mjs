// Reads each runtime's own test summary, so the runner can print one line per
// runtime. Every count is of leaf tests (`test()` calls): suites
// (`describe()`) are not tests, and skipped or todo tests are neither passed
// nor failed. Each parser returns `{ passed, failed }`, or `null` when the
// output has no summary (the run crashed before reporting).

// deno-lint-ignore no-control-regex -- colour codes start with ESC
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** Removes terminal colour codes. */
export function stripAnsi(text) {
  return text.replace(ANSI, "");
}

function count(text, pattern) {
  const match = text.match(pattern);
  return match ? Number(match[1]) : null;
}

/**
 * Node's test runner (spec reporter `ℹ pass 3`, TAP reporter `# pass 3`).
 * Cancelled tests (a failed hook cancels the tests after it) count as failed.
 */
export function nodeSummary(output) {
  const text = stripAnsi(output);
  const passed = count(text, /^[#ℹ] pass (\d+)$/m);
  const failed = count(text, /^[#ℹ] fail (\d+)$/m);
  if (passed === null || failed === null) return null;
  return { passed, failed: failed + (count(text, /^[#ℹ] cancelled (\d+)$/m) ?? 0) };
}

/**
 * `bun test` (` 3 pass`, ` 0 fail`, on stderr). Bun reports a throwing hook
 * as an error between tests (` 1 error`) and still runs the tests after it;
 * each such error counts as failed.
 */
export function bunSummary(output) {
  const text = stripAnsi(output);
  const passed = count(text, /^\s*(\d+) pass$/m);
  const failed = count(text, /^\s*(\d+) fail$/m);
  if (passed === null || failed === null) return null;
  return { passed, failed: failed + (count(text, /^\s*(\d+) errors?$/m) ?? 0) };
}

const XML_ENTITIES = { "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&amp;": "&" };

/**
 * `deno test`: leaf counts from its `--junit-path` report, plus one failure
 * per file whose top-level code threw (`./x_test.ts (uncaught error)` in the
 * output), which the report leaves out.
 */
export function denoSummary(output, junitXml) {
  const counts = denoJunitSummary(junitXml);
  const crashed = new Set(stripAnsi(output).match(/^\S.* \(uncaught error\)$/gm) ?? []);
  if (!counts) return crashed.size ? { passed: 0, failed: crashed.size } : null;
  return { passed: counts.passed, failed: counts.failed + crashed.size };
}

/**
 * `deno test --junit-path` report. Deno runs a `describe()` as a test and its
 * children as steps named `suite > child`; both appear as test cases, so a
 * case is a leaf unless another case is named after it plus ` > `.
 * (A top-level `test("x")` in one file and a `describe("x")` in another would
 * count the test as a suite: keep top-level names distinct.)
 */
export function denoJunitSummary(xml) {
  if (!xml) return null;
  const cases = [];
  for (
    const match of xml.matchAll(/<testcase name="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)
  ) {
    const name = match[1].replace(/&(lt|gt|quot|apos|amp);/g, (e) => XML_ENTITIES[e]);
    const body = match[3] ?? "";
    cases.push({ name, failed: /<(failure|error)\b/.test(body), skipped: /<skipped\b/.test(body) });
  }
  const parents = new Set();
  for (const { name } of cases) {
    const parts = name.split(" > ");
    for (let i = 1; i < parts.length; i++) parents.add(parts.slice(0, i).join(" > "));
  }
  const leaves = cases.filter((c) => !parents.has(c.name) && !c.skipped);
  const failed = leaves.filter((c) => c.failed).length;
  return { passed: leaves.length - failed, failed };
}
