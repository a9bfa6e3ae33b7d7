import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CHUNKED_CASES } from "../_fixtures/http1_chunked.ts";
import { bytes, checkCase, type Event, makeParser, runAllFeedings, runChunks } from "./_harness.ts";

const HEAD = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

/** `data` cut into chunks of the given sizes (cycled), as chunked framing. */
function chunked(data: string, sizes: readonly number[], upper = false): string {
  let out = "";
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = Math.min(sizes[i % sizes.length], data.length - at);
    const hex = size.toString(16);
    out += `${upper ? hex.toUpperCase() : hex}\r\n${data.slice(at, at + size)}\r\n`;
    at += size;
  }
  return `${out}0\r\n\r\n`;
}

describe("chunked conformance table", () => {
  for (const c of CHUNKED_CASES) {
    test(`RequestParser chunked body ${c.name}`, () => {
      checkCase(c, "request");
    });
  }
});

describe("chunked bodies of every shape", () => {
  const data = Array.from({ length: 300 }, (_, i) => String.fromCharCode((i * 37) % 256)).join("");

  test("RequestParser reassembles one body cut into many chunk sizes", () => {
    const shapes = [[1], [2, 3], [15, 16, 17], [255, 1], [256], [300], [7, 1, 64, 0x1f]];
    for (const [k, sizes] of shapes.entries()) {
      const input = HEAD + chunked(data, sizes, k % 2 === 1);
      const result = runChunks([bytes(input)], { kind: "request" });
      assert.deepEqual(
        result.events.slice(1),
        [["body", data], ["complete", null]],
        `sizes ${sizes}`,
      );
      assert.equal(result.state, "idle");
    }
  });

  test("RequestParser gives the same chunked body for every split of the input", () => {
    const input = HEAD + chunked(data.slice(0, 40), [1, 7, 3]);
    const result = runAllFeedings(input, { kind: "request" });
    assert.deepEqual(result.events.slice(1), [["body", data.slice(0, 40)], ["complete", null]]);
  });

  test("RequestParser does not report chunk framing bytes as body", () => {
    const events: Event[] = [];
    const parser = makeParser({ kind: "request" }, events);
    parser.feed(bytes(`${HEAD}3;ext=1\r\nabc\r\n`));
    parser.feed(bytes("2\r\nde\r\n0;last\r\nT: v\r\n\r\n"));
    assert.deepEqual(events.slice(1), [["body", "abcde"], ["complete", ["T", "v"]]]);
  });
});
