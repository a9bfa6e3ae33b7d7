import { describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import {
  compileAccessLogFormat,
  createAccessLogger,
  DEFAULT_ACCESS_LOG_FORMAT,
} from "../../server/access_log.ts";
import type { AccessLogEntry } from "../../server/types.ts";

function entry(overrides: Partial<AccessLogEntry> = {}): AccessLogEntry {
  const request: Record<string, string> = {
    referer: "http://example.com/from",
    "user-agent": "curl/8.5.0",
  };
  const response: Record<string, string> = { "content-type": "text/plain" };
  return {
    remote: "192.0.2.7",
    startTime: new Date(2024, 9, 5, 7, 8, 9, 500).getTime(),
    method: "GET",
    target: "/path?q=1",
    httpVersion: "1.1",
    status: 200,
    bytesSent: 1234,
    durationMs: 1500.25,
    requestHeader: (name) => request[name.toLowerCase()] ?? null,
    responseHeader: (name) => response[name.toLowerCase()] ?? null,
    ...overrides,
  };
}

/** What strftime's `[%d/%b/%Y:%H:%M:%S %z]` gives for that time in this machine's zone. */
function expectedTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  const offset = -d.getTimezoneOffset();
  const zone = `${offset < 0 ? "-" : "+"}${p(Math.floor(Math.abs(offset) / 60))}${
    p(Math.abs(offset) % 60)
  }`;
  const month = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(" ")[d.getMonth()];
  return `[${p(d.getDate())}/${month}/${d.getFullYear()}:${p(d.getHours())}:${p(d.getMinutes())}:${
    p(d.getSeconds())
  } ${zone}]`;
}

describe("server/access_log", () => {
  test("DEFAULT_ACCESS_LOG_FORMAT is aiohttp's", () => {
    assert.equal(DEFAULT_ACCESS_LOG_FORMAT, '%a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"');
  });

  test("compileAccessLogFormat() with the default format prints aiohttp's line", () => {
    const e = entry();
    assert.equal(
      compileAccessLogFormat()(e),
      `192.0.2.7 ${
        expectedTime(e.startTime)
      } "GET /path?q=1 HTTP/1.1" 200 1234 "http://example.com/from" "curl/8.5.0"`,
    );
  });

  test("compileAccessLogFormat() %t is the arrival time in local time with its offset", () => {
    const line = compileAccessLogFormat("%t")(entry());
    assert.match(line, /^\[05\/Oct\/2024:07:08:09 [+-]\d{4}\]$/);
  });

  test("compileAccessLogFormat() prints the time taken as %T (rounded s), %Tf (6 decimals) and %D (µs)", () => {
    const format = compileAccessLogFormat("%T|%Tf|%D");
    assert.equal(format(entry({ durationMs: 1500.25 })), "2|1.500250|1500250");
    assert.equal(format(entry({ durationMs: 0.0004 })), "0|0.000000|0");
    assert.equal(format(entry({ durationMs: 2_400 })), "2|2.400000|2400000");
  });

  test("compileAccessLogFormat() prints %P as <pid>, %s, %b and the HTTP/1.0 request line", () => {
    const line = compileAccessLogFormat("%P %s %b %r")(
      entry({ status: 0, bytesSent: 0, httpVersion: "1.0", method: "HEAD", target: "/" }),
    );
    assert.equal(line, `<${process.pid}> 0 0 HEAD / HTTP/1.0`);
  });

  test("compileAccessLogFormat() prints - for an unknown client and for absent headers", () => {
    const line = compileAccessLogFormat("%a %{X-Missing}i %{X-Missing}o")(entry({ remote: "" }));
    assert.equal(line, "- - -");
  });

  test("compileAccessLogFormat() reads response headers with %{Name}o and repeats directives", () => {
    const line = compileAccessLogFormat("%{Content-Type}o %s %s %{user-agent}i")(entry());
    assert.equal(line, "text/plain 200 200 curl/8.5.0");
  });

  test("compileAccessLogFormat() keeps literal text and turns %% into %", () => {
    assert.equal(compileAccessLogFormat("100%% [%s] done")(entry()), "100% [200] done");
    assert.equal(compileAccessLogFormat("plain")(entry()), "plain");
    assert.equal(compileAccessLogFormat("")(entry()), "");
    assert.equal(compileAccessLogFormat("%%%s%%")(entry()), "%200%");
  });

  test("compileAccessLogFormat() refuses an unknown directive with a TypeError naming it", () => {
    for (
      const [format, shown] of [
        ["%x", "%x"],
        ["%a %{HOME}e", "%{"],
        ["trailing %", "%"],
        ["%{bad name}i", "%{"],
        ["%{Referer}", "%{"],
        ["%O", "%O"],
      ]
    ) {
      assert.throws(
        () => compileAccessLogFormat(format),
        (error: unknown) =>
          error instanceof TypeError &&
          error.message.startsWith(
            `Cannot compile the access log format: unknown directive "${shown}"`,
          ),
        format,
      );
    }
    assert.throws(() => compileAccessLogFormat(42 as never), TypeError);
  });

  test("createAccessLogger() formats each entry and hands the line to write()", () => {
    const lines: string[] = [];
    const log = createAccessLogger("%a %s", (line) => lines.push(line));
    log(entry());
    log(entry({ remote: "::1", status: 404 }));
    assert.deepEqual(lines, ["192.0.2.7 200", "::1 404"]);
  });

  test("createAccessLogger() writes with console.log by default, in the default format", () => {
    const original = console.log;
    const seen: unknown[][] = [];
    console.log = (...args: unknown[]) => void seen.push(args);
    try {
      createAccessLogger()(entry());
    } finally {
      console.log = original;
    }
    assert.equal(seen.length, 1);
    assert.match(String(seen[0][0]), /^192\.0\.2\.7 \[.+\] "GET \/path\?q=1 HTTP\/1\.1" 200 1234 /);
  });

  test("createAccessLogger() reports a failing write to console.error and does not throw", () => {
    const original = console.error;
    const seen: unknown[][] = [];
    console.error = (...args: unknown[]) => void seen.push(args);
    try {
      createAccessLogger("%s", () => {
        throw new Error("disk full");
      })(entry());
    } finally {
      console.error = original;
    }
    assert.equal(seen.length, 1);
    assert.match(String(seen[0][0]), /Cannot write the access log line/);
    assert.equal((seen[0][1] as Error).message, "disk full");
  });

  test("createAccessLogger() refuses a bad format when it is made, not per request", () => {
    assert.throws(() => createAccessLogger("%z", () => {}), TypeError);
  });
});
