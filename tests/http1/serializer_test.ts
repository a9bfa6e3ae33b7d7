import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  encodeChunk,
  encodeLastChunk,
  encodeRequest,
  encodeRequestHead,
  encodeResponse,
  encodeResponseHead,
  HttpSerializeError,
  type SerializeErrorCode,
} from "../../http1/mod.ts";
import { requestHeadOf } from "../../http1/serializer.ts";
import { bytes, latin1, runAllFeedings, runChunks } from "./_harness.ts";

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function assertSerializeError(
  fn: () => unknown,
  codes: SerializeErrorCode | SerializeErrorCode[],
  what: string,
) {
  const allowed = typeof codes === "string" ? [codes] : codes;
  assert.throws(
    fn,
    (e: unknown) => e instanceof HttpSerializeError && allowed.includes(e.code),
    what,
  );
}

const BAD_VALUES: [string, string][] = [
  ["CRLF and a second field", "a\r\nSet-Cookie: admin=1"],
  ["CRLF CRLF and a body", "a\r\n\r\nHTTP/1.1 200 OK"],
  ["a bare LF", "a\nb"],
  ["a bare CR", "a\rb"],
  ["NUL", "a\x00b"],
  ["SOH", "\x01"],
  ["ESC", "\x1b[0m"],
  ["DEL", "a\x7f"],
];

const BAD_NAMES: [string, string][] = [
  ["an empty name", ""],
  ["a space", "X Y"],
  ["a colon", "X:Y"],
  ["CRLF", "X\r\nY"],
  ["a trailing space", "Host "],
  ["NUL", "X\x00"],
  ["a non-ASCII letter", "Caf\xe9"],
  ["a slash", "a/b"],
  ["parentheses", "(x)"],
];

describe("http1 head encoders", () => {
  test("encodeResponseHead writes the status line, fields and the empty line", () => {
    assert.equal(
      latin1(encodeResponseHead(200, [["Content-Type", "text/plain"], ["X-Two", "a b"]])),
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Two: a b\r\n\r\n",
    );
  });

  test("encodeResponseHead uses the registered reason phrase", () => {
    assert.equal(latin1(encodeResponseHead(404, [])), "HTTP/1.1 404 Not Found\r\n\r\n");
    assert.equal(latin1(encodeResponseHead(204, {})), "HTTP/1.1 204 No Content\r\n\r\n");
    assert.equal(latin1(encodeResponseHead(500, [])), "HTTP/1.1 500 Internal Server Error\r\n\r\n");
  });

  test("encodeResponseHead takes a custom reason and HTTP/1.0", () => {
    assert.equal(
      latin1(encodeResponseHead(200, [], { reason: "Fine Thanks", versionMinor: 0 })),
      "HTTP/1.0 200 Fine Thanks\r\n\r\n",
    );
  });

  test("encodeResponseHead writes an unregistered status that ResponseParser reads back", () => {
    const head = encodeResponseHead(799, [["Content-Length", "0"]]);
    const result = runChunks([head], { kind: "response" });
    assert.equal(result.events.length, 2);
    assert.equal((result.events[0][1] as { status: number }).status, 799);
  });

  test("encodeRequestHead writes the request line, fields and the empty line", () => {
    assert.equal(
      latin1(encodeRequestHead("GET", "/a?b=c", [["Host", "example.com"], ["Accept", "*/*"]])),
      "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
    );
    assert.equal(
      latin1(encodeRequestHead("OPTIONS", "*", [], { versionMinor: 0 })),
      "OPTIONS * HTTP/1.0\r\n\r\n",
    );
  });

  test("encodeRequestHead accepts Headers, records, Maps and generators", () => {
    function* pairs(): Generator<[string, string]> {
      yield ["Host", "h"];
      yield ["X-Gen", "1"];
    }
    const inputs: [string, Parameters<typeof encodeRequestHead>[2], string[]][] = [
      ["Headers", new Headers([["Host", "h"], ["X-A", "1"]]), ["host", "h", "x-a", "1"]],
      ["record", { Host: "h", "X-Rec": "2" }, ["Host", "h", "X-Rec", "2"]],
      ["Map", new Map([["Host", "h"], ["X-Map", "3"]]), ["Host", "h", "X-Map", "3"]],
      ["generator", pairs(), ["Host", "h", "X-Gen", "1"]],
    ];
    for (const [what, headers, expected] of inputs) {
      const result = runChunks([encodeRequestHead("GET", "/", headers)], { kind: "request" });
      assert.equal(result.events[0][0], "head", what);
      assert.deepEqual((result.events[0][1] as { headers: string[] }).headers, expected, what);
    }
  });

  test("encodeResponseHead keeps HTAB inside values", () => {
    const result = runChunks([encodeResponseHead(204, [["X", "a\tb"]])], { kind: "response" });
    assert.deepEqual((result.events[0][1] as { headers: string[] }).headers, ["X", "a\tb"]);
  });

  test("encodeResponseHead with Transfer-Encoding: chunked frames a body the parser reads", () => {
    const message = concat(
      encodeResponseHead(200, [["Transfer-Encoding", "chunked"]]),
      encodeChunk(bytes("hello ")),
      encodeChunk(new Uint8Array(0)),
      encodeChunk(bytes("world")),
      encodeLastChunk(),
    );
    const result = runAllFeedings(message, { kind: "response" });
    assert.deepEqual(result.events.slice(1), [["body", "hello world"], ["complete", null]]);
  });
});

describe("http1 message encoders", () => {
  test("encodeResponse adds content-length and the body", () => {
    assert.equal(
      latin1(encodeResponse(200, [["Content-Type", "text/plain"]], "hello")),
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 5\r\n\r\nhello",
    );
  });

  test("encodeResponse counts a string body in UTF-8 bytes", () => {
    const text = "h\u00e9llo \u2713 \u{1F600}";
    const utf8 = new TextEncoder().encode(text);
    const result = runAllFeedings(encodeResponse(200, [], text), { kind: "response" });
    assert.equal((result.events[0][1] as { contentLength: number }).contentLength, utf8.length);
    assert.deepEqual(result.events.slice(1), [["body", latin1(utf8)], ["complete", null]]);
  });

  test("encodeResponse writes binary bodies unchanged", () => {
    const body = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
    const result = runChunks([encodeResponse(200, [], body)], { kind: "response" });
    assert.deepEqual(result.events.slice(1), [["body", latin1(body)], ["complete", null]]);
  });

  test("encodeResponse writes content-length: 0 for an empty body", () => {
    assert.equal(
      latin1(encodeResponse(200, [], "")),
      "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
    );
  });

  test("encodeResponse keeps a Content-Length that agrees, without a second one", () => {
    const out = encodeResponse(200, [["Content-Length", "3"]], "abc");
    const result = runChunks([out], { kind: "response" });
    assert.deepEqual(result.events.map((e) => e[0]), ["head", "body", "complete"]);
    assert.equal(latin1(out).match(/content-length/gi)?.length, 1);
  });

  test("encodeResponse refuses a Content-Length that disagrees with the body", () => {
    assert.throws(() => encodeResponse(200, [["Content-Length", "4"]], "abc"), HttpSerializeError);
    assert.throws(() => encodeResponse(200, { "content-length": "0" }, "abc"), HttpSerializeError);
  });

  test("encodeResponse refuses Transfer-Encoding with a known body", () => {
    assert.throws(
      () => encodeResponse(200, [["Transfer-Encoding", "chunked"]], "abc"),
      HttpSerializeError,
    );
    assert.throws(
      () => encodeRequest("POST", "/", { "transfer-encoding": "gzip" }, "abc"),
      HttpSerializeError,
    );
  });

  test("encodeRequest round-trips through RequestParser at every split", () => {
    const out = encodeRequest("POST", "/submit", [["Host", "example.com"], [
      "Content-Type",
      "text/plain",
    ]], "a=1&b=2");
    const result = runAllFeedings(out, { kind: "request" });
    assert.deepEqual(result.events, [
      ["head", {
        method: "POST",
        target: "/submit",
        versionMinor: 1,
        headers: ["Host", "example.com", "Content-Type", "text/plain", "content-length", "7"],
        host: "example.com",
        keepAlive: true,
        upgrade: false,
        expectContinue: false,
        framing: "length",
        contentLength: 7,
      }],
      ["body", "a=1&b=2"],
      ["complete", null],
    ]);
  });

  test("encodeResponse with HTTP/1.0 and a reason round-trips", () => {
    const out = encodeResponse(404, [["Connection", "keep-alive"]], "gone", {
      versionMinor: 0,
      reason: "Gone Away",
    });
    const result = runChunks([out], { kind: "response" });
    const head = result.events[0][1] as {
      versionMinor: number;
      reason: string;
      keepAlive: boolean;
    };
    assert.deepEqual([head.versionMinor, head.reason, head.keepAlive], [0, "Gone Away", true]);
  });
});

describe("http1 chunk encoders", () => {
  test("encodeChunk writes hex size, CRLF, data, CRLF", () => {
    assert.equal(latin1(encodeChunk(bytes("hello"))), "5\r\nhello\r\n");
    const big = new Uint8Array(255).fill(0x61);
    assert.match(latin1(encodeChunk(big)).slice(0, 4), /^ff\r\n$/i);
    assert.equal(encodeChunk(big).length, 2 + 2 + 255 + 2);
    assert.match(latin1(encodeChunk(new Uint8Array(4096))).slice(0, 6), /^1000\r\n$/);
  });

  test("encodeChunk writes nothing for empty data", () => {
    assert.equal(encodeChunk(new Uint8Array(0)).length, 0);
  });

  test("encodeChunk copies the data", () => {
    const data = bytes("abc");
    const chunk = encodeChunk(data);
    data.fill(0x7a);
    assert.equal(latin1(chunk), "3\r\nabc\r\n");
  });

  test("encodeLastChunk writes the last chunk with and without trailers", () => {
    assert.equal(latin1(encodeLastChunk()), "0\r\n\r\n");
    assert.equal(
      latin1(encodeLastChunk([["X-Checksum", "abc"], ["X-Two", "2"]])),
      "0\r\nX-Checksum: abc\r\nX-Two: 2\r\n\r\n",
    );
  });

  test("encodeChunk and encodeLastChunk round-trip a body of many chunks with trailers", () => {
    const pieces = ["a", "bc", "\r\n0\r\n\r\n", "x".repeat(300), "\x00\xff"];
    const message = concat(
      encodeRequestHead("PUT", "/f", [["Host", "h"], ["Transfer-Encoding", "chunked"], [
        "Trailer",
        "X-Sum",
      ]]),
      ...pieces.map((p) => encodeChunk(bytes(p))),
      encodeLastChunk({ "X-Sum": "42" }),
    );
    const result = runAllFeedings(message, { kind: "request" });
    assert.deepEqual(result.events.slice(1), [["body", pieces.join("")], ["complete", [
      "X-Sum",
      "42",
    ]]]);
  });
});

describe("http1 serializer refuses injection", () => {
  for (const [what, value] of BAD_VALUES) {
    test(`encodeResponseHead refuses a field value with ${what}`, () => {
      assertSerializeError(
        () => encodeResponseHead(200, [["X-A", value]]),
        "SLUICE_ERR_HTTP_SERIALIZE_HEADER_VALUE",
        "response head",
      );
      assertSerializeError(
        () => encodeRequestHead("GET", "/", { "X-A": value }),
        "SLUICE_ERR_HTTP_SERIALIZE_HEADER_VALUE",
        "request head",
      );
      assertSerializeError(
        () => encodeResponse(200, [["X-A", value]], "x"),
        "SLUICE_ERR_HTTP_SERIALIZE_HEADER_VALUE",
        "response",
      );
      assertSerializeError(
        () => encodeLastChunk([["X-A", value]]),
        ["SLUICE_ERR_HTTP_SERIALIZE_TRAILER", "SLUICE_ERR_HTTP_SERIALIZE_HEADER_VALUE"],
        "trailer",
      );
    });
  }

  for (const [what, name] of BAD_NAMES) {
    test(`encodeRequestHead refuses a field name with ${what}`, () => {
      assertSerializeError(
        () => encodeRequestHead("GET", "/", [[name, "v"]]),
        "SLUICE_ERR_HTTP_SERIALIZE_HEADER_NAME",
        "request head",
      );
      assertSerializeError(
        () => encodeResponseHead(200, [[name, "v"]]),
        "SLUICE_ERR_HTTP_SERIALIZE_HEADER_NAME",
        "response head",
      );
      assertSerializeError(
        () => encodeRequest("POST", "/", [[name, "v"]], "x"),
        "SLUICE_ERR_HTTP_SERIALIZE_HEADER_NAME",
        "request",
      );
      assertSerializeError(
        () => encodeLastChunk([[name, "v"]]),
        ["SLUICE_ERR_HTTP_SERIALIZE_TRAILER", "SLUICE_ERR_HTTP_SERIALIZE_HEADER_NAME"],
        "trailer",
      );
    });
  }

  test("encodeRequestHead refuses methods that are not tokens", () => {
    for (const method of ["", "GET /admin HTTP/1.1\r\n", "GE T", "G\x00T", "GET\r\n"]) {
      assertSerializeError(
        () => encodeRequestHead(method, "/", []),
        "SLUICE_ERR_HTTP_SERIALIZE_METHOD",
        JSON.stringify(method),
      );
    }
  });

  test("encodeRequestHead refuses targets with whitespace or controls", () => {
    for (const target of ["", "/a b", "/a\r\nX-Injected: 1", "/\x00", "/a\tb", "/\x7f"]) {
      assertSerializeError(
        () => encodeRequestHead("GET", target, []),
        "SLUICE_ERR_HTTP_SERIALIZE_TARGET",
        JSON.stringify(target),
      );
    }
  });

  test("encodeResponseHead refuses a status outside 100-999", () => {
    for (const status of [0, 99, 1000, -200, 200.5, Number.NaN, Infinity]) {
      assertSerializeError(
        () => encodeResponseHead(status, []),
        "SLUICE_ERR_HTTP_SERIALIZE_STATUS",
        String(status),
      );
      assertSerializeError(
        () => encodeResponse(status, [], "x"),
        "SLUICE_ERR_HTTP_SERIALIZE_STATUS",
        String(status),
      );
    }
    assert.match(latin1(encodeResponseHead(100, [])), /^HTTP\/1\.1 100 /);
    assert.match(latin1(encodeResponseHead(999, [])), /^HTTP\/1\.1 999[ \r]/);
  });

  test("encodeResponseHead refuses a reason phrase with CR or LF", () => {
    for (const reason of ["OK\r\nSet-Cookie: a=1", "O\nK", "O\rK", "O\x00K"]) {
      assert.throws(
        () => encodeResponseHead(200, [], { reason }),
        HttpSerializeError,
        JSON.stringify(reason),
      );
    }
  });
});

describe("encodeResponse() with string bodies", () => {
  test("encodeResponse() writes small and large string bodies as UTF-8 with the right length", () => {
    for (const body of ["héllo ✓", "é".repeat(40_000), "x".repeat(200_000)]) {
      const bytes = encodeResponse(200, {}, body);
      const text = new TextDecoder().decode(bytes);
      const split = text.indexOf("\r\n\r\n") + 4;
      assert.equal(text.slice(split), body);
      const length = new TextEncoder().encode(body).length;
      assert.match(text.slice(0, split), new RegExp(`content-length: ${length}\r\n`));
    }
  });
});

describe("requestHeadOf: frozen field lists (a client session's defaults)", () => {
  const frozen = (pairs: [string, string][]) =>
    Object.freeze(pairs.map((pair) => Object.freeze(pair) as readonly [string, string]));

  test("a frozen list writes the same head as a plain one, every time", () => {
    const pairs: [string, string][] = [["user-agent", "sluice"], ["accept", "*/*"]];
    const list = frozen(pairs);
    const plain = requestHeadOf("GET", "/a", [["host", "x"]], pairs, null);
    assert.equal(plain, "GET /a HTTP/1.1\r\nhost: x\r\nuser-agent: sluice\r\naccept: */*\r\n\r\n");
    for (let i = 0; i < 3; i++) {
      assert.equal(requestHeadOf("GET", "/a", [["host", "x"]], list, null), plain);
    }
    assert.equal(
      requestHeadOf("POST", "/b", null, list, [["content-length", "3"]]),
      "POST /b HTTP/1.1\r\nuser-agent: sluice\r\naccept: */*\r\ncontent-length: 3\r\n\r\n",
    );
  });

  test("a frozen list whose pairs can change is not remembered", () => {
    const pair: [string, string] = ["x-token", "one"];
    const list = Object.freeze([pair]);
    assert.match(requestHeadOf("GET", "/", null, list, null), /x-token: one\r\n/);
    pair[1] = "two";
    assert.match(requestHeadOf("GET", "/", null, list, null), /x-token: two\r\n/);
  });

  test("a bad field in a frozen list is refused on every use", () => {
    const list = frozen([["x-bad", "a\r\nb"]]);
    for (let i = 0; i < 2; i++) {
      assert.throws(
        () => requestHeadOf("GET", "/", null, list, null),
        (error: unknown) =>
          error instanceof HttpSerializeError &&
          error.code === "SLUICE_ERR_HTTP_SERIALIZE_HEADER_VALUE",
      );
    }
  });
});
