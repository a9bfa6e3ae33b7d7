import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HttpParseError, type ResponseHead, ResponseParser } from "../../http1/mod.ts";
import { RESPONSE_CASES } from "../_fixtures/http1_responses.ts";
import { bytes, checkCase, type Event, makeParser } from "./_harness.ts";

describe("ResponseParser conformance table", () => {
  for (const c of RESPONSE_CASES) {
    test(`ResponseParser ${c.name}`, () => {
      checkCase(c, "response");
    });
  }
});

describe("ResponseParser API", () => {
  test("ResponseParser calls onHead with a plain ResponseHead", () => {
    const heads: ResponseHead[] = [];
    const parser = new ResponseParser({
      onHead: (head) => heads.push(head),
      onBody: () => {},
      onComplete: () => {},
    });
    parser.feed(bytes("HTTP/1.1 201 Created\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n"));
    assert.equal(heads.length, 1);
    assert.deepEqual({ ...heads[0], headers: [...heads[0].headers] }, {
      versionMinor: 1,
      status: 201,
      reason: "Created",
      headers: ["Location", "/x", "Content-Length", "0"],
      keepAlive: true,
      upgrade: false,
      framing: "length",
      contentLength: 0,
    });
  });

  test("ResponseParser expect() queues methods across separate feeds", () => {
    const events: Event[] = [];
    const parser = makeParser({ kind: "response" }, events) as ResponseParser;
    parser.expect("GET");
    parser.expect("HEAD");
    parser.feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    parser.feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"));
    // No expectation left: the next response is read as an answer to GET.
    parser.feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
    assert.deepEqual(events.map((e) => e[0] === "body" ? e[1] : e[0]), [
      "head",
      "ok",
      "complete",
      "head",
      "complete",
      "head",
      "hi",
      "complete",
    ]);
    assert.equal(parser.state, "idle");
  });

  test("ResponseParser expect() may be called after the previous response arrived", () => {
    const events: Event[] = [];
    const parser = makeParser({ kind: "response" }, events) as ResponseParser;
    parser.feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"));
    parser.expect("HEAD");
    parser.feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"));
    assert.deepEqual(events.map((e) => e[0]), ["head", "body", "complete", "head", "complete"]);
    assert.equal((events[3][1] as { framing: string }).framing, "none");
  });

  test("ResponseParser finish() ends a close-delimited body with onComplete(null)", () => {
    const events: Event[] = [];
    const parser = makeParser({ kind: "response" }, events);
    parser.feed(bytes("HTTP/1.1 200 OK\r\n\r\npart one, "));
    parser.feed(bytes("part two"));
    assert.equal(parser.state, "body");
    assert.deepEqual(events.slice(1), [["body", "part one, part two"]]);
    parser.finish();
    assert.deepEqual(events.slice(1), [["body", "part one, part two"], ["complete", null]]);
    assert.notEqual(parser.state, "body");
  });

  test("ResponseParser finish() inside a Content-Length body throws INCOMPLETE_MESSAGE", () => {
    const parser = makeParser({ kind: "response" }, []);
    parser.feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab"));
    assert.throws(
      () => parser.finish(),
      (e: unknown) =>
        e instanceof HttpParseError && e.code === "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE",
    );
  });

  test("ResponseParser status line errors carry status 400", () => {
    const parser = makeParser({ kind: "response" }, []);
    assert.throws(
      () => parser.feed(bytes("HTTP/1.1 099 X\r\n\r\n")),
      (e: unknown) =>
        e instanceof HttpParseError && e.code === "SLUICE_ERR_HTTP_INVALID_STATUS_LINE" &&
        e.status === 400 && /status code 099 is not 100 to 999/.test(e.message),
    );
    assert.equal(parser.state, "failed");
    // The message points at what is wrong with the code.
    for (
      const [line, message] of [
        ["HTTP/1.1 2x0 OK", /unexpected character "x" at 10/],
        ["HTTP/1.1 20 OK", /unexpected character 0x20 at 11/],
        ["HTTP/1.1  200 OK", /unexpected character 0x20 at 9/],
        ["HTTP/1.1\t200 OK", /unexpected character 0x09 at 8/],
      ] as const
    ) {
      const p = makeParser({ kind: "response" }, []);
      assert.throws(() => p.feed(bytes(`${line}\r\n\r\n`)), message, line);
    }
  });
});
