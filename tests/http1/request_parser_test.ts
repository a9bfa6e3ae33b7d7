import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HttpParseError, type RequestHead, RequestParser } from "../../http1/mod.ts";
import { CHUNKED_CASES } from "../_fixtures/http1_chunked.ts";
import { REQUEST_CASES } from "../_fixtures/http1_requests.ts";
import type { ParseCase } from "../_fixtures/http1_types.ts";
import { RESPONSE_CASES } from "../_fixtures/http1_responses.ts";
import { SMUGGLING_CASES } from "../_fixtures/http1_smuggling.ts";
import { bytes, checkCase, type Event, latin1, makeParser } from "./_harness.ts";

describe("RequestParser conformance table", () => {
  for (const c of REQUEST_CASES) {
    test(`RequestParser ${c.name}`, () => {
      checkCase(c, "request");
    });
  }
});

describe("RequestParser API", () => {
  test("RequestParser moves through idle, head, body and back to idle", () => {
    const events: Event[] = [];
    const parser = makeParser({ kind: "request" }, events);
    assert.equal(parser.state, "idle");
    parser.feed(bytes("POST / HTTP/1.1\r\nHost: a\r\n"));
    assert.equal(parser.state, "head");
    parser.feed(bytes("Content-Length: 4\r\n\r\nab"));
    assert.equal(parser.state, "body");
    parser.feed(bytes("cd"));
    assert.equal(parser.state, "idle");
    assert.deepEqual(events.map((e) => e[0]), ["head", "body", "complete"]);
  });

  test("RequestParser calls onHead with a plain RequestHead", () => {
    const heads: RequestHead[] = [];
    const parser = new RequestParser({
      onHead: (head) => heads.push(head),
      onBody: () => {},
      onComplete: () => {},
    });
    parser.feed(bytes("PATCH /x?y HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"));
    assert.equal(heads.length, 1);
    assert.deepEqual({ ...heads[0], headers: [...heads[0].headers] }, {
      method: "PATCH",
      target: "/x?y",
      versionMinor: 1,
      headers: ["Host", "h", "Content-Length", "0"],
      host: "h",
      keepAlive: true,
      upgrade: false,
      expectContinue: false,
      framing: "length",
      contentLength: 0,
    });
  });

  test("RequestParser throws HttpParseError with code, status and offset", () => {
    const parser = makeParser({ kind: "request" }, []);
    let caught: unknown;
    try {
      parser.feed(bytes("GET / HTTP/2.0\r\n\r\n"));
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof HttpParseError, "expected an HttpParseError");
    assert.equal(caught.code, "SLUICE_ERR_HTTP_VERSION_NOT_SUPPORTED");
    assert.equal(caught.status, 505);
    assert.equal(caught.name, "HttpParseError");
    assert.ok(caught.message.length > 0);
    assert.ok(Number.isInteger(caught.offset) && caught.offset >= -1 && caught.offset < 18);
  });

  test("RequestParser keeps throwing after an error", () => {
    const parser = makeParser({ kind: "request" }, []);
    assert.throws(() => parser.feed(bytes("G\x00T / HTTP/1.1\r\nHost: a\r\n\r\n")), HttpParseError);
    assert.equal(parser.state, "failed");
    for (const more of ["GET / HTTP/1.1\r\nHost: a\r\n\r\n", "\r\n", "x"]) {
      assert.throws(() => parser.feed(bytes(more)), HttpParseError);
    }
    assert.equal(parser.state, "failed");
  });

  test("RequestParser finish() between messages reports nothing", () => {
    const events: Event[] = [];
    const parser = makeParser({ kind: "request" }, events);
    parser.feed(bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    parser.finish();
    assert.deepEqual(events.map((e) => e[0]), ["head", "complete"]);
  });

  test("RequestParser finish() inside a message throws INCOMPLETE_MESSAGE", () => {
    for (
      const partial of [
        "G",
        "GET / HTTP/1.1\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\r",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n",
      ]
    ) {
      const parser = makeParser({ kind: "request" }, []);
      parser.feed(bytes(partial));
      assert.throws(
        () => parser.finish(),
        (e: unknown) =>
          e instanceof HttpParseError && e.code === "SLUICE_ERR_HTTP_INCOMPLETE_MESSAGE" &&
          e.status === 400,
        JSON.stringify(partial),
      );
    }
  });

  test("RequestParser hands body chunks that stay valid inside onBody", () => {
    const seen: string[] = [];
    const parser = new RequestParser({
      onHead: () => {},
      onBody: (chunk) => seen.push(latin1(chunk)),
      onComplete: () => seen.push("<end>"),
    });
    const data = bytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabcdef");
    parser.feed(data.subarray(0, data.length - 2));
    parser.feed(data.subarray(data.length - 2));
    assert.equal(seen.join(""), "abcdef<end>");
    assert.equal(seen.at(-1), "<end>");
  });

  test("RequestParser accepts a fresh message after a complete one in separate feeds", () => {
    const events: Event[] = [];
    const parser = makeParser({ kind: "request" }, events);
    for (let i = 0; i < 5; i++) parser.feed(bytes(`GET /${i} HTTP/1.1\r\nHost: a\r\n\r\n`));
    const targets = events.filter((e) => e[0] === "head").map((e) =>
      (e[1] as { target: string }).target
    );
    assert.deepEqual(targets, ["/0", "/1", "/2", "/3", "/4"]);
  });
});

describe("http1 conformance tables", () => {
  test("checkCase fails when a case expects the wrong events, error, state or remaining bytes", () => {
    const input = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    const done = ["complete", null] as const;
    checkCase(
      { name: "right", input, events: [["head", { method: "GET" }], done], state: "idle" },
      "request",
    );
    const wrong: ParseCase[] = [
      { name: "head field", input, events: [["head", { method: "POST" }], done] },
      { name: "missing event", input, events: [["head", { method: "GET" }]] },
      {
        name: "error",
        input,
        events: [["head", {}], done],
        error: "SLUICE_ERR_HTTP_INVALID_METHOD",
      },
      { name: "state", input, events: [["head", {}], done], state: "finished" },
      {
        name: "remaining",
        input: `CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\nx`,
        events: [["head", {}], done],
      },
    ];
    for (const c of wrong) {
      assert.throws(() => checkCase(c, "request"), assert.AssertionError, c.name);
    }
  });

  test("http1 fixture tables hold at least 220 cases with unique names per parser", () => {
    const all = [...REQUEST_CASES, ...RESPONSE_CASES, ...CHUNKED_CASES, ...SMUGGLING_CASES];
    assert.ok(all.length >= 220, `only ${all.length} cases`);
    for (const table of [REQUEST_CASES, RESPONSE_CASES, CHUNKED_CASES, SMUGGLING_CASES]) {
      const names = table.map((c) => c.name);
      assert.equal(
        new Set(names).size,
        names.length,
        `duplicate names: ${names.filter((n, i) => names.indexOf(n) !== i)}`,
      );
    }
    for (const c of all) {
      assert.ok(c.events !== undefined || c.error !== undefined || c.state !== undefined, c.name);
      for (let i = 0; i < c.input.length; i++) assert.ok(c.input.charCodeAt(i) <= 0xff, c.name);
    }
  });
});
