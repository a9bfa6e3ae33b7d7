import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { RequestParser, ResponseParser } from "../../http1/mod.ts";
import { bytes, type Event, latin1, makeParser, runAllFeedings } from "./_harness.ts";

/** Sixteen requests of every framing, the kind a client pipelines. */
const PIPELINE: { raw: string; target: string; body: string; trailers: string[] | null }[] = [];
for (let i = 0; i < 16; i++) {
  const target = `/r${i}?q=${i}`;
  const body = "x".repeat(i * 3);
  let raw: string;
  let trailers: string[] | null = null;
  switch (i % 4) {
    case 0:
      raw = `GET ${target} HTTP/1.1\r\nHost: h\r\n\r\n`;
      break;
    case 1:
      raw = `POST ${target} HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      break;
    case 2:
      raw = `PUT ${target} HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n${
        body.length.toString(16)
      }\r\n${body}\r\n0\r\nX-Seq: ${i}\r\n\r\n`;
      trailers = ["X-Seq", String(i)];
      break;
    default:
      raw = `\r\nDELETE ${target} HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n`;
  }
  PIPELINE.push({ raw, target, body: i % 4 === 0 || i % 4 === 3 ? "" : body, trailers });
}
const PIPELINED = PIPELINE.map((r) => r.raw).join("");

function expectedPipeline(from = 0, to = PIPELINE.length): unknown[] {
  return PIPELINE.slice(from, to).flatMap((r) => [
    ["head", r.target],
    ...(r.body ? [["body", r.body]] : []),
    ["complete", r.trailers],
  ]);
}

function summary(events: Event[]): unknown[] {
  return events.map((e) => e[0] === "head" ? ["head", (e[1] as { target: string }).target] : e);
}

/** An event as the recorder keeps it: heads by target only. */
type Seen = ["head", string] | ["body", string] | ["complete", string[] | null];

/** A RequestParser recording events, with a hook that runs after each callback. */
function recorder(after?: (event: Seen, parser: RequestParser) => void) {
  const events: Seen[] = [];
  const parser: RequestParser = new RequestParser({
    onHead(head) {
      events.push(["head", head.target]);
      after?.(events[events.length - 1], parser);
    },
    onBody(chunk) {
      events.push(["body", latin1(chunk)]);
      after?.(events[events.length - 1], parser);
    },
    onComplete(trailers) {
      events.push(["complete", trailers]);
      after?.(events[events.length - 1], parser);
    },
  });
  return { events, parser };
}

/** Adjacent body events merged, so chunking does not matter. */
function merged(events: unknown[][]): unknown[][] {
  const out: unknown[][] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (e[0] === "body" && last?.[0] === "body") last[1] = `${last[1]}${e[1]}`;
    else out.push([...e]);
  }
  return out;
}

const CONNECT = "CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n";
const UPGRADE = "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";

describe("http1 pipelining", () => {
  test("RequestParser parses 16 pipelined requests from one buffer, at every split", () => {
    const result = runAllFeedings(PIPELINED, { kind: "request" });
    assert.deepEqual(summary(result.events), expectedPipeline());
    assert.equal(result.state, "idle");
  });

  test("RequestParser parses 16 pipelined requests fed one request at a time", () => {
    const { events, parser } = recorder();
    for (const r of PIPELINE) parser.feed(bytes(r.raw));
    assert.deepEqual(merged(events), expectedPipeline());
  });

  test("RequestParser stops after the request with Connection: close in a pipeline", () => {
    const input =
      "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" +
      "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n";
    const result = runAllFeedings(input, { kind: "request" });
    assert.deepEqual(summary(result.events), [["head", "/1"], ["complete", null], ["head", "/2"], [
      "complete",
      null,
    ]]);
    assert.equal(result.state, "finished");
  });

  test("ResponseParser parses pipelined responses against a queue of methods", () => {
    const input = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n" + // HEAD: no body
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nabc" +
      "HTTP/1.1 204 No Content\r\n\r\n" +
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ndef\r\n0\r\n\r\n";
    const result = runAllFeedings(input, {
      kind: "response",
      expect: ["HEAD", "POST", "DELETE", "GET"],
    });
    assert.deepEqual(
      result.events.map((e) => e[0] === "head" ? ["head", (e[1] as { status: number }).status] : e),
      [
        ["head", 200],
        ["complete", null],
        ["head", 100],
        ["complete", null],
        ["head", 201],
        ["body", "abc"],
        ["complete", null],
        ["head", 204],
        ["complete", null],
        ["head", 200],
        ["body", "def"],
        ["complete", null],
      ],
    );
  });
});

describe("RequestParser pause and resume", () => {
  test("RequestParser.pause() in onHead holds the rest until resume()", () => {
    const { events, parser } = recorder((e, p) => {
      if (e[0] === "head" && e[1] === PIPELINE[1].target) p.pause();
    });
    parser.feed(bytes(PIPELINE[0].raw + PIPELINE[1].raw + PIPELINE[2].raw));
    assert.equal(parser.paused, true);
    assert.deepEqual(events, [["head", PIPELINE[0].target], ["complete", null], [
      "head",
      PIPELINE[1].target,
    ]]);
    parser.resume();
    assert.equal(parser.paused, false);
    assert.deepEqual(merged(events), expectedPipeline(0, 3));
    assert.equal(parser.state, "idle");
  });

  test("RequestParser.pause() in onBody stops after that body chunk", () => {
    const input =
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n";
    const { events, parser } = recorder((e, p) => {
      if (e[0] === "body" && e[1] === "ab") p.pause();
    });
    parser.feed(bytes(input));
    assert.deepEqual(events, [["head", "/"], ["body", "ab"]]);
    assert.equal(parser.paused, true);
    parser.resume();
    assert.deepEqual(merged(events), [["head", "/"], ["body", "abcd"], ["complete", null]]);
  });

  test("RequestParser.takeRemaining() after pause() in onComplete returns exactly the unread requests", () => {
    const { events, parser } = recorder((e, p) => {
      if (e[0] === "complete") p.pause();
    });
    const rest = PIPELINE.slice(1, 6).map((r) => r.raw).join("");
    parser.feed(bytes(PIPELINE[0].raw + rest));
    assert.deepEqual(events, [["head", PIPELINE[0].target], ["complete", null]]);
    assert.equal(latin1(parser.takeRemaining()), rest);
    assert.equal(parser.takeRemaining().length, 0);
    parser.resume();
    assert.equal(events.length, 2);
    assert.equal(parser.state, "idle");
    // The handed-back bytes are whole requests: another parser reads them.
    const other = recorder();
    other.parser.feed(bytes(rest));
    assert.deepEqual(merged(other.events), expectedPipeline(1, 6));
  });

  test("RequestParser pausing at every message reads 16 pipelined requests with 16 resumes", () => {
    const { events, parser } = recorder((e, p) => {
      if (e[0] === "complete") p.pause();
    });
    parser.feed(bytes(PIPELINED));
    let resumes = 0;
    while (parser.paused && resumes < 100) {
      assert.equal(events.filter((e) => e[0] === "complete").length, resumes + 1);
      parser.resume();
      resumes++;
    }
    assert.equal(resumes, 16);
    assert.deepEqual(merged(events), expectedPipeline());
  });

  test("RequestParser holds bytes fed while paused until resume()", () => {
    const { events, parser } = recorder((e, p) => {
      if (e[0] === "complete" && events.length === 2) p.pause();
    });
    parser.feed(bytes(PIPELINE[0].raw + PIPELINE[1].raw.slice(0, 10)));
    assert.equal(parser.paused, true);
    parser.feed(bytes(PIPELINE[1].raw.slice(10) + PIPELINE[2].raw));
    assert.equal(events.length, 2);
    parser.resume();
    assert.deepEqual(merged(events), expectedPipeline(0, 3));
  });
});

describe("http1 upgrades", () => {
  test("RequestParser hands back the exact bytes after CONNECT, then appends later feeds", () => {
    const { events, parser } = recorder();
    parser.feed(bytes(`${CONNECT}\x16\x03\x01\x02\x00\x01`));
    assert.deepEqual(events, [["head", "db.internal:5432"], ["complete", null]]);
    assert.equal(parser.state, "upgraded");
    parser.feed(bytes("\x00\xffGET / HTTP/1.1\r\n"));
    parser.feed(bytes("more"));
    assert.equal(events.length, 2);
    assert.equal(
      latin1(parser.takeRemaining()),
      "\x16\x03\x01\x02\x00\x01\x00\xffGET / HTTP/1.1\r\nmore",
    );
    assert.equal(parser.takeRemaining().length, 0);
    assert.equal(parser.state, "upgraded");
    parser.feed(bytes("tail"));
    assert.equal(latin1(parser.takeRemaining()), "tail");
  });

  test("RequestParser hands back the bytes after CONNECT for every split", () => {
    const tunnel = "\x16\x03\x01 not http \r\n\r\n";
    const result = runAllFeedings(CONNECT + tunnel, { kind: "request" });
    assert.equal(result.state, "upgraded");
    assert.equal(result.remaining, tunnel);
    assert.deepEqual(summary(result.events), [["head", "db.internal:5432"], ["complete", null]]);
  });

  test("RequestParser keeps bytes fed after an upgrade out of HTTP parsing", () => {
    const events: Event[] = [];
    const parser = makeParser({ kind: "request" }, events);
    parser.feed(bytes(UPGRADE));
    assert.equal(parser.state, "upgraded");
    parser.feed(bytes("\x00\x01\x02 garbage that is not HTTP \r\n\r\n"));
    assert.equal(events.length, 2);
    assert.equal(latin1(parser.takeRemaining()), "\x00\x01\x02 garbage that is not HTTP \r\n\r\n");
  });

  test("RequestParser continues HTTP parsing when an upgrade is declined with resume()", () => {
    const { events, parser } = recorder();
    parser.feed(bytes(`${UPGRADE}GET /next HTTP/1.1\r\nHost: h\r\n\r\nGET /la`));
    assert.equal(parser.state, "upgraded");
    assert.deepEqual(events, [["head", "/ws"], ["complete", null]]);
    parser.resume();
    assert.deepEqual(events, [["head", "/ws"], ["complete", null], ["head", "/next"], [
      "complete",
      null,
    ]]);
    assert.equal(parser.state, "head");
    parser.feed(bytes("st HTTP/1.1\r\nHost: h\r\n\r\n"));
    assert.deepEqual(events.slice(4), [["head", "/last"], ["complete", null]]);
    assert.equal(parser.state, "idle");
  });

  test("RequestParser parses bytes fed during a declined upgrade after resume()", () => {
    const { events, parser } = recorder();
    parser.feed(bytes(UPGRADE));
    parser.feed(bytes("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"));
    assert.equal(events.length, 2);
    parser.resume();
    assert.deepEqual(events.slice(2), [["head", "/a"], ["complete", null]]);
    parser.feed(bytes("GET /b HTTP/1.1\r\nHost: h\r\n\r\n"));
    assert.deepEqual(events.slice(4), [["head", "/b"], ["complete", null]]);
  });

  test("ResponseParser hands back the bytes after 101 Switching Protocols", () => {
    const frames = "\x81\x05hello\x88\x00";
    const result = runAllFeedings(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n${frames}`,
      { kind: "response" },
    );
    assert.equal(result.state, "upgraded");
    assert.equal(result.remaining, frames);
    assert.equal(result.events.length, 2);
  });

  test("ResponseParser hands back the tunnel bytes after a 200 to CONNECT", () => {
    const events: Event[] = [];
    const parser = makeParser({ kind: "response" }, events) as ResponseParser;
    parser.expect("CONNECT");
    parser.feed(bytes("HTTP/1.1 200 OK\r\n\r\n\x16\x03"));
    parser.feed(bytes("\x03\x00"));
    assert.equal(parser.state, "upgraded");
    assert.equal(latin1(parser.takeRemaining()), "\x16\x03\x03\x00");
    assert.deepEqual(events.map((e) => e[0]), ["head", "complete"]);
  });
});

describe("RequestParser pause() and resume() from inside callbacks", () => {
  test("RequestParser keeps parsing when a callback pauses and resumes at once", () => {
    const targets: string[] = [];
    const parser = new RequestParser({
      onHead(head) {
        targets.push(head.target);
        parser.pause();
        parser.resume();
      },
      onBody() {},
      onComplete() {},
    });
    parser.feed(bytes("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert.deepEqual(targets, ["/a", "/b"]);
    assert.equal(parser.paused, false);
    assert.equal(parser.state, "idle");
  });

  test("RequestParser never nests callbacks when onBody pauses and resumes", () => {
    let depth = 0;
    const order: string[] = [];
    const enter = (name: string) => {
      assert.equal(depth, 0, `${name} called inside another callback`);
      order.push(name);
    };
    const parser = new RequestParser({
      onHead: () => enter("head"),
      onBody() {
        enter("body");
        depth++;
        parser.pause();
        parser.resume();
        depth--;
      },
      onComplete: () => enter("complete"),
    });
    parser.feed(bytes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"));
    assert.deepEqual(order, ["head", "body", "complete"]);
  });
});
