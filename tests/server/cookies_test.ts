import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type CookieOptions,
  deleteCookie,
  parseCookieHeader,
  serializeSetCookie,
  setCookie,
} from "../../server/cookies.ts";
import { html, json, lightParts, text } from "../../server/responses.ts";
import { rawBackend } from "../../server/engine.ts";
import { nodeTransport } from "../../adapters/node.ts";
import type { RunningServer } from "../../server/types.ts";
import { portOf, RawClient } from "./_client.ts";
import { runtime, within } from "../adapters/_net.ts";

const EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT";

describe("server/cookies parseCookieHeader()", () => {
  const cases: [string, string | null, [string, string][]][] = [
    ["null", null, []],
    ["empty", "", []],
    ["one pair", "a=1", [["a", "1"]]],
    ["pairs separated by '; '", "a=1; b=2; c=3", [["a", "1"], ["b", "2"], ["c", "3"]]],
    ["no spaces", "a=1;b=2", [["a", "1"], ["b", "2"]]],
    ["spaces and tabs around names and values", " \ta = 1 \t;  b\t=\t2 ", [["a", "1"], [
      "b",
      "2",
    ]]],
    ["a quoted value loses its DQUOTEs", 'a="x y"; b=""; c="', [["a", "x y"], ["b", ""], [
      "c",
      '"',
    ]]],
    ["an empty value", "a=; b=2", [["a", ""], ["b", "2"]]],
    ["'=' inside the value stays", "t=a=b==", [["t", "a=b=="]]],
    ["the first of a repeated name wins", "sid=new; sid=old; x=1", [["sid", "new"], ["x", "1"]]],
    ["pairs without '=' are skipped", "junk; a=1; ; ;;b=2;", [["a", "1"], ["b", "2"]]],
    ["an empty name is skipped", "=x; =; a=1", [["a", "1"]]],
    ["a trailing ';'", "a=1;", [["a", "1"]]],
    ["commas are content, not separators", "a=1, b=2", [["a", "1, b=2"]]],
    ["percent-encoding is not decoded", "a=%20%3B", [["a", "%20%3B"]]],
    ["non-ASCII passes through", "név=érték", [["név", "érték"]]],
    ["names like Object.prototype keys", "__proto__=1; constructor=2", [["__proto__", "1"], [
      "constructor",
      "2",
    ]]],
  ];
  for (const [name, header, expected] of cases) {
    test(name, () => {
      assert.deepEqual([...parseCookieHeader(header)], expected);
    });
  }

  test("undefined is like null", () => {
    assert.equal(parseCookieHeader(undefined).size, 0);
  });

  test("reads at most 256 pairs by default, or maxCookies", () => {
    const header = Array.from({ length: 1000 }, (_, i) => `c${i}=${i}`).join("; ");
    const cookies = parseCookieHeader(header);
    assert.equal(cookies.size, 256);
    assert.equal(cookies.get("c255"), "255");
    assert.equal(cookies.has("c256"), false);
    assert.equal(parseCookieHeader(header, { maxCookies: 3 }).size, 3);
    // Repeats count towards the cap: the work is bounded, not just the map.
    assert.equal(parseCookieHeader("a=1; a=2; a=3; b=1", { maxCookies: 3 }).has("b"), false);
  });

  test("never throws on odd input", () => {
    const odd = [
      ";;;;",
      "====",
      '"',
      '""=""',
      "\uD800=\uDFFF",
      "\0=\0",
      "a=\r\n; b=2",
      ";".repeat(100_000),
      "a".repeat(100_000) + "=" + "b",
    ];
    for (const header of odd) parseCookieHeader(header);
    assert.deepEqual([...parseCookieHeader('""=""')], [['""', ""]]);
  });
});

describe("server/cookies serializeSetCookie()", () => {
  const ok: [string, string, string, CookieOptions, string][] = [
    ["name and value", "sid", "abc", {}, "sid=abc"],
    ["empty value", "sid", "", {}, "sid="],
    ["quoted value", "q", '"a-b"', {}, 'q="a-b"'],
    [
      "encodeURIComponent output",
      "e",
      encodeURIComponent('a b;c,d"é'),
      {},
      "e=a%20b%3Bc%2Cd%22%C3%A9",
    ],
    ["token punctuation in the name", "a!#$%&'*+-.^_`|~9", "v", {}, "a!#$%&'*+-.^_`|~9=v"],
    ["maxAge", "a", "1", { maxAge: 3600 }, "a=1; Max-Age=3600"],
    ["maxAge 0", "a", "1", { maxAge: 0 }, "a=1; Max-Age=0"],
    ["negative maxAge", "a", "1", { maxAge: -1 }, "a=1; Max-Age=-1"],
    [
      "expires as IMF-fixdate",
      "a",
      "1",
      { expires: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)) },
      "a=1; Expires=Wed, 02 Jan 2030 03:04:05 GMT",
    ],
    ["domain", "a", "1", { domain: "example.com" }, "a=1; Domain=example.com"],
    [
      "domain: a leading dot is dropped",
      "a",
      "1",
      { domain: ".example.com" },
      "a=1; Domain=example.com",
    ],
    ["domain: an IPv4 address", "a", "1", { domain: "192.0.2.1" }, "a=1; Domain=192.0.2.1"],
    [
      "domain: punycode",
      "a",
      "1",
      { domain: "xn--bcher-kva.example" },
      "a=1; Domain=xn--bcher-kva.example",
    ],
    ["path", "a", "1", { path: "/app/x y" }, "a=1; Path=/app/x y"],
    ["secure", "a", "1", { secure: true }, "a=1; Secure"],
    ["httpOnly", "a", "1", { httpOnly: true }, "a=1; HttpOnly"],
    [
      "false flags are left out",
      "a",
      "1",
      { secure: false, httpOnly: false, partitioned: false },
      "a=1",
    ],
    ["sameSite Strict", "a", "1", { sameSite: "Strict" }, "a=1; SameSite=Strict"],
    ["sameSite Lax", "a", "1", { sameSite: "Lax" }, "a=1; SameSite=Lax"],
    [
      "sameSite None with secure",
      "a",
      "1",
      { sameSite: "None", secure: true },
      "a=1; Secure; SameSite=None",
    ],
    [
      "sameSite in lower case is made canonical",
      "a",
      "1",
      { sameSite: "lax" as CookieOptions["sameSite"] },
      "a=1; SameSite=Lax",
    ],
    [
      "partitioned with secure",
      "a",
      "1",
      { partitioned: true, secure: true },
      "a=1; Secure; Partitioned",
    ],
    ["priority", "a", "1", { priority: "High" }, "a=1; Priority=High"],
    [
      "every attribute",
      "sid",
      "v",
      {
        maxAge: 60,
        expires: new Date(0),
        domain: "example.com",
        path: "/",
        secure: true,
        httpOnly: true,
        sameSite: "None",
        partitioned: true,
        priority: "Low",
      },
      `sid=v; Max-Age=60; Domain=example.com; Path=/; Expires=${EPOCH}; HttpOnly; Secure; SameSite=None; Partitioned; Priority=Low`,
    ],
    ["__Secure- with secure", "__Secure-id", "1", { secure: true }, "__Secure-id=1; Secure"],
    [
      "__Host- with secure, path / and no domain",
      "__Host-id",
      "1",
      { secure: true, path: "/" },
      "__Host-id=1; Path=/; Secure",
    ],
    [
      "__Http- with secure and httpOnly",
      "__Http-id",
      "1",
      { secure: true, httpOnly: true },
      "__Http-id=1; HttpOnly; Secure",
    ],
    [
      "__Host-Http- with everything",
      "__Host-Http-id",
      "1",
      { secure: true, httpOnly: true, path: "/" },
      "__Host-Http-id=1; Path=/; HttpOnly; Secure",
    ],
    ["a name that only looks like a prefix", "_Secure-id", "1", {}, "_Secure-id=1"],
  ];
  for (const [label, name, value, options, expected] of ok) {
    test(`writes ${label}`, () => {
      assert.equal(serializeSetCookie(name, value, options), expected);
    });
  }

  const bad: [string, string, string, CookieOptions, RegExp][] = [
    ["an empty name", "", "v", {}, /not a token/],
    ["';' in the name", "a;b", "v", {}, /not a token/],
    ["'=' in the name", "a=b", "v", {}, /not a token/],
    ["a space in the name", "a b", "v", {}, /not a token/],
    ["CR LF in the name", "a\r\nSet-Cookie: x", "v", {}, /not a token/],
    ["NUL in the name", "a\0", "v", {}, /not a token/],
    ["non-ASCII in the name", "é", "v", {}, /not a token/],
    ["';' in the value (attribute injection)", "a", "1; Domain=evil.example", {}, /value/],
    ["CR LF in the value (header injection)", "a", "1\r\nSet-Cookie: b=2", {}, /value/],
    ["LF in the value", "a", "1\n", {}, /value/],
    ["NUL in the value", "a", "1\0", {}, /value/],
    ["DEL in the value", "a", "1\x7f", {}, /value/],
    ["a space in the value", "a", "x y", {}, /value/],
    ["a comma in the value", "a", "x,y", {}, /value/],
    ["a backslash in the value", "a", "x\\y", {}, /value/],
    ["a DQUOTE inside the value", "a", 'x"y', {}, /value/],
    ["an unbalanced DQUOTE", "a", '"xy', {}, /value/],
    ["non-ASCII in the value", "a", "é", {}, /value/],
    ["';' in the path", "a", "1", { path: "/x; Domain=evil.example" }, /path/],
    ["CR LF in the path", "a", "1", { path: "/x\r\nX: y" }, /path/],
    ["NUL in the path", "a", "1", { path: "/x\0" }, /path/],
    ["a tab in the path", "a", "1", { path: "/x\t" }, /path/],
    ["a path not starting with '/'", "a", "1", { path: "x" }, /path/],
    ["an empty path", "a", "1", { path: "" }, /path/],
    ["non-ASCII in the path", "a", "1", { path: "/é" }, /path/],
    ["';' in the domain", "a", "1", { domain: "a.com; Secure" }, /domain/],
    ["CR LF in the domain", "a", "1", { domain: "a.com\r\nX: y" }, /domain/],
    ["NUL in the domain", "a", "1", { domain: "a.com\0" }, /domain/],
    ["an empty domain", "a", "1", { domain: "" }, /domain/],
    ["a lone dot as domain", "a", "1", { domain: "." }, /domain/],
    ["an empty label", "a", "1", { domain: "a..com" }, /domain/],
    ["a label ending with '-'", "a", "1", { domain: "a-.com" }, /domain/],
    ["a label over 63", "a", "1", { domain: `${"a".repeat(64)}.com` }, /domain/],
    ["a non-ASCII domain", "a", "1", { domain: "bücher.example" }, /domain/],
    ["a domain with a port", "a", "1", { domain: "a.com:80" }, /domain/],
    [
      "sameSite None without secure",
      "a",
      "1",
      { sameSite: "None" },
      /SameSite=None requires secure/,
    ],
    [
      "an unknown sameSite",
      "a",
      "1",
      { sameSite: "Maybe" as CookieOptions["sameSite"] },
      /sameSite/,
    ],
    ["partitioned without secure", "a", "1", { partitioned: true }, /partitioned requires secure/],
    ["an unknown priority", "a", "1", { priority: "Top" as CookieOptions["priority"] }, /priority/],
    ["__Secure- without secure", "__Secure-id", "1", {}, /requires secure/],
    ["__secure- (any case) without secure", "__sEcUrE-id", "1", {}, /requires secure/],
    ["__Host- without secure", "__Host-id", "1", { path: "/" }, /requires secure/],
    ["__Host- without a path", "__Host-id", "1", { secure: true }, /requires path "\/"/],
    ["__Host- with another path", "__Host-id", "1", { secure: true, path: "/app" }, /path "\/"/],
    [
      "__Host- with a domain",
      "__Host-id",
      "1",
      { secure: true, path: "/", domain: "example.com" },
      /cannot have a domain/,
    ],
    ["__Http- without httpOnly", "__Http-id", "1", { secure: true }, /requires httpOnly/],
    [
      "__Host-Http- without httpOnly",
      "__Host-Http-id",
      "1",
      { secure: true, path: "/" },
      /httpOnly/,
    ],
  ];
  for (const [label, name, value, options, message] of bad) {
    test(`refuses ${label} with a TypeError`, () => {
      assert.throws(() => serializeSetCookie(name, value, options), (error: unknown) => {
        assert.ok(error instanceof TypeError, String(error));
        assert.match(error.message, /^Cannot set cookie /);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  const range: [string, string, CookieOptions][] = [
    ["a fractional maxAge", "1", { maxAge: 1.5 }],
    ["a NaN maxAge", "1", { maxAge: NaN }],
    ["an infinite maxAge", "1", { maxAge: Infinity }],
    ["an invalid Date", "1", { expires: new Date(NaN) }],
    ["a date before 1601", "1", { expires: new Date(Date.UTC(1600, 0, 1)) }],
    ["a date after 9999", "1", { expires: new Date(Date.UTC(10000, 0, 1)) }],
    ["a name and value over 4096 bytes", "x".repeat(4096), {}],
    ["a path over 1024 bytes", "1", { path: "/" + "p".repeat(1024) }],
  ];
  for (const [label, value, options] of range) {
    test(`refuses ${label} with a RangeError`, () => {
      assert.throws(() => serializeSetCookie("a", value, options), RangeError);
    });
  }

  test("values round-trip through parseCookieHeader", () => {
    const values = [
      "",
      "abc",
      '"quoted"',
      "a=b=c",
      encodeURIComponent("ünïcödé; x, y"),
      "!#$%&'()*+-./:<>?@[]^_`{|}~",
    ];
    for (const value of values) {
      const field = serializeSetCookie("k", value, { path: "/", httpOnly: true });
      const pair = field.split("; ")[0];
      const expected = value.startsWith('"') ? value.slice(1, -1) : value;
      assert.equal(parseCookieHeader(`other=1; ${pair}`).get("k"), expected, value);
    }
    const name = "a!#$%&'*+-.^_`|~9";
    assert.equal(parseCookieHeader(serializeSetCookie(name, "v").split(";")[0]).get(name), "v");
  });
});

describe("server/cookies setCookie() and deleteCookie()", () => {
  test("setCookie() appends to a platform Response in place, once per call", () => {
    const res = new Response("x", { headers: { "set-cookie": "pre=0" } });
    assert.equal(setCookie(res, "a", "1", { path: "/" }), res);
    assert.equal(setCookie(res, "b", "2"), res);
    assert.deepEqual(res.headers.getSetCookie(), ["pre=0", "a=1; Path=/", "b=2"]);
  });

  test("setCookie() copies a response whose headers are immutable (Response.redirect)", async () => {
    const original = Response.redirect("http://example.com/next", 303);
    const res = setCookie(original, "a", "1");
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "http://example.com/next");
    assert.deepEqual(res.headers.getSetCookie(), ["a=1"]);
    assert.equal(await res.text(), "");
  });

  test("setCookie() and deleteCookie() chain on a copy; Response.error() cannot be copied", () => {
    const original = Response.redirect("http://example.com/", 302);
    const res = deleteCookie(setCookie(original, "a", "1"), "b");
    assert.deepEqual(res.headers.getSetCookie(), ["a=1", `b=; Max-Age=0; Expires=${EPOCH}`]);
    if (runtime === "bun") {
      // Bun leaves the headers of Response.error() mutable: the field is added in place.
      const error = Response.error();
      assert.equal(setCookie(error, "a", "1"), error);
      assert.deepEqual(error.headers.getSetCookie(), ["a=1"]);
    } else {
      assert.throws(() => setCookie(Response.error(), "a", "1"), /Cannot set cookie on a response/);
    }
  });

  test("setCookie() refuses an invalid cookie and leaves the response alone", () => {
    const res = new Response("x");
    assert.throws(() => setCookie(res, "a", "1\r\nX-Evil: 1"), TypeError);
    assert.deepEqual(res.headers.getSetCookie(), []);
  });

  for (const [name, make] of [["text", text], ["html", html], ["json", json]] as const) {
    test(`setCookie() on ${name}() keeps a light response light and its headers intact`, async () => {
      const initHeaders: [string, string][] = [["x-a", "1"], ["set-cookie", "pre=0"]];
      const res = make("body" as string, { status: 201, headers: initHeaders });
      const wasLight = lightParts(res) !== null;
      const out = deleteCookie(setCookie(res, "a", "1", { httpOnly: true }), "gone", { path: "/" });
      assert.equal(out, res);
      assert.equal(lightParts(res) !== null, wasLight);
      assert.deepEqual(
        initHeaders,
        [["x-a", "1"], ["set-cookie", "pre=0"]],
        "the init is not mutated",
      );
      assert.equal(out.status, 201);
      assert.equal(out.headers.get("x-a"), "1");
      assert.match(out.headers.get("content-type") ?? "", /charset=utf-8|json/);
      assert.deepEqual(out.headers.getSetCookie(), [
        "pre=0",
        "a=1; HttpOnly",
        `gone=; Max-Age=0; Path=/; Expires=${EPOCH}`,
      ]);
      assert.ok((await out.text()).includes("body"));
    });
  }

  test("setCookie() on a light response made with a record or a Headers init", () => {
    const record = { "x-r": "1" };
    const a = setCookie(text("a", { headers: record }), "a", "1");
    assert.deepEqual(record, { "x-r": "1" });
    assert.equal(a.headers.get("x-r"), "1");
    assert.deepEqual(a.headers.getSetCookie(), ["a=1"]);
    const headers = new Headers([["x-h", "1"], ["set-cookie", "p=1"], ["set-cookie", "q=2"]]);
    const b = setCookie(text("b", { headers }), "b", "2");
    assert.deepEqual(headers.getSetCookie(), ["p=1", "q=2"], "the caller's Headers is not mutated");
    assert.equal(b.headers.get("x-h"), "1");
    assert.deepEqual(b.headers.getSetCookie(), ["p=1", "q=2", "b=2"]);
  });

  test("setCookie() after a light response was materialized appends to the real headers", () => {
    const res = text("x");
    void res.headers; // makes the real Response on Node
    setCookie(res, "a", "1");
    assert.deepEqual(res.headers.getSetCookie(), ["a=1"]);
  });

  test("deleteCookie() writes an empty value, Max-Age=0 and the epoch", () => {
    const res = deleteCookie(new Response(null), "sid", { path: "/app", domain: ".example.com" });
    assert.deepEqual(res.headers.getSetCookie(), [
      `sid=; Max-Age=0; Domain=example.com; Path=/app; Expires=${EPOCH}`,
    ]);
  });

  test("deleteCookie() meets the prefixes' rules by default", () => {
    const res = new Response(null);
    deleteCookie(res, "__Secure-a");
    deleteCookie(res, "__Host-b");
    deleteCookie(res, "__Host-Http-c");
    deleteCookie(res, "__Secure-p", { partitioned: true });
    assert.deepEqual(res.headers.getSetCookie(), [
      `__Secure-a=; Max-Age=0; Expires=${EPOCH}; Secure`,
      `__Host-b=; Max-Age=0; Path=/; Expires=${EPOCH}; Secure`,
      `__Host-Http-c=; Max-Age=0; Path=/; Expires=${EPOCH}; HttpOnly; Secure`,
      `__Secure-p=; Max-Age=0; Expires=${EPOCH}; Secure; Partitioned`,
    ]);
    assert.throws(() => deleteCookie(res, "__Host-d", { path: "/x" }), /path "\/"/);
    assert.throws(() => deleteCookie(res, "bad name"), TypeError);
  });
});

describe("server/cookies through the raw engine", () => {
  let server: RunningServer | null = null;
  let client: RawClient | null = null;

  before(async () => {
    server = await rawBackend(nodeTransport).listen(
      { hostname: "127.0.0.1", port: 0 },
      (req) => {
        const got = parseCookieHeader(req.header("cookie"));
        const res = setCookie(text(`sid=${got.get("sid")}`), "a", "1", {
          path: "/",
          httpOnly: true,
        });
        return deleteCookie(setCookie(res, "b", "2", { maxAge: 60 }), "old");
      },
      { logger: { error: () => {}, info: () => {} } },
    );
  });

  after(async () => {
    client?.close();
    if (server !== null) await within(server.shutdown(1000), 5000, "shutdown");
  });

  test("each cookie is its own Set-Cookie line and the Cookie field is read", async () => {
    client = await RawClient.open(portOf(server!.address));
    client.send("GET / HTTP/1.1\r\nHost: x\r\nCookie: sid=abc; sid=older; x=1\r\n\r\n");
    const res = await client.response();
    assert.equal(res.status, 200);
    assert.equal(res.text, "sid=abc");
    const lines = res.head.split("\r\n").filter((line) => /^set-cookie:/i.test(line));
    assert.deepEqual(lines.map((line) => line.replace(/^set-cookie:\s*/i, "")), [
      "a=1; Path=/; HttpOnly",
      "b=2; Max-Age=60",
      `old=; Max-Age=0; Expires=${EPOCH}`,
    ]);
  });

  test("setCookie() on a fetch() response (immutable headers) copies it with its body", async () => {
    const fetched = await within(
      fetch(`http://127.0.0.1:${portOf(server!.address)}/`, { headers: { cookie: "sid=f" } }),
      10_000,
      "fetch",
    );
    const res = setCookie(fetched, "c", "3");
    assert.deepEqual(res.headers.getSetCookie(), [
      "a=1; Path=/; HttpOnly",
      "b=2; Max-Age=60",
      `old=; Max-Age=0; Expires=${EPOCH}`,
      "c=3",
    ]);
    assert.equal(await within(res.text(), 10_000, "body"), "sid=f");
  });
});
