import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { SMUGGLING_CASES } from "../_fixtures/http1_smuggling.ts";
import { bytes, checkCase, runChunks } from "./_harness.ts";

describe("request smuggling table", () => {
  for (const c of SMUGGLING_CASES) {
    const kind = c.kind ?? "request";
    const symbol = kind === "request" ? "RequestParser" : "ResponseParser";
    test(`${symbol} ${c.name}`, () => {
      checkCase(c, kind);
    });
  }
});

describe("request smuggling, across cases", () => {
  test("RequestParser never reports the smuggled /admin request of a rejected message", () => {
    let rejected = 0;
    for (const c of SMUGGLING_CASES) {
      if (c.error === undefined) continue;
      rejected++;
      const result = runChunks([bytes(c.input)], { kind: c.kind ?? "request", options: c.options });
      const targets = result.events.filter((e) => e[0] === "head").map((e) =>
        (e[1] as { target?: string }).target
      );
      assert.ok(!targets.includes("/admin"), c.name);
      assert.equal(result.events.at(-1)?.[0], "error", c.name);
    }
    assert.ok(rejected >= 30, `only ${rejected} rejected cases`);
  });
});
