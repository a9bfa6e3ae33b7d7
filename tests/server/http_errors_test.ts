import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { nodeTransport } from "../../adapters/node.ts";
import type { RunningServer } from "../../server/types.ts";
import { rawBackend } from "../../server/engine.ts";
import { SluiceError } from "../../util/errors.ts";
import { HttpError, isHttpError, renderHttpError } from "../../server/http_errors.ts";
import {
  HttpBadGateway,
  HttpBadRequest,
  HttpConflict,
  HttpExpectationFailed,
  HttpForbidden,
  HttpFound,
  HttpGatewayTimeout,
  HttpGone,
  HttpInternalServerError,
  HttpLengthRequired,
  HttpMethodNotAllowed,
  HttpMisdirectedRequest,
  HttpMovedPermanently,
  HttpNotAcceptable,
  HttpNotFound,
  HttpNotImplemented,
  HttpPaymentRequired,
  HttpPermanentRedirect,
  HttpPreconditionFailed,
  HttpPreconditionRequired,
  HttpRedirect,
  HttpRequestEntityTooLarge,
  HttpRequestHeaderFieldsTooLarge,
  HttpRequestRangeNotSatisfiable,
  HttpRequestTimeout,
  HttpRequestUriTooLong,
  HttpSeeOther,
  HttpServiceUnavailable,
  HttpTemporaryRedirect,
  HttpTooEarly,
  HttpTooManyRequests,
  HttpUnauthorized,
  HttpUnavailableForLegalReasons,
  HttpUnprocessableEntity,
  HttpUnsupportedMediaType,
  HttpUpgradeRequired,
  HttpVersionNotSupported,
} from "../../server/mod.ts";
import { within } from "../adapters/_net.ts";
import { portOf, RawClient } from "./_client.ts";

// [class, status, reason, how to make one]
const CLASSES: [string, number, string, () => HttpError][] = [
  ["HttpMovedPermanently", 301, "Moved Permanently", () => new HttpMovedPermanently("/a")],
  ["HttpFound", 302, "Found", () => new HttpFound("/a")],
  ["HttpSeeOther", 303, "See Other", () => new HttpSeeOther("/a")],
  ["HttpTemporaryRedirect", 307, "Temporary Redirect", () => new HttpTemporaryRedirect("/a")],
  ["HttpPermanentRedirect", 308, "Permanent Redirect", () => new HttpPermanentRedirect("/a")],
  ["HttpBadRequest", 400, "Bad Request", () => new HttpBadRequest()],
  ["HttpUnauthorized", 401, "Unauthorized", () => new HttpUnauthorized()],
  ["HttpPaymentRequired", 402, "Payment Required", () => new HttpPaymentRequired()],
  ["HttpForbidden", 403, "Forbidden", () => new HttpForbidden()],
  ["HttpNotFound", 404, "Not Found", () => new HttpNotFound()],
  ["HttpMethodNotAllowed", 405, "Method Not Allowed", () => new HttpMethodNotAllowed(["GET"])],
  ["HttpNotAcceptable", 406, "Not Acceptable", () => new HttpNotAcceptable()],
  ["HttpRequestTimeout", 408, "Request Timeout", () => new HttpRequestTimeout()],
  ["HttpConflict", 409, "Conflict", () => new HttpConflict()],
  ["HttpGone", 410, "Gone", () => new HttpGone()],
  ["HttpLengthRequired", 411, "Length Required", () => new HttpLengthRequired()],
  ["HttpPreconditionFailed", 412, "Precondition Failed", () => new HttpPreconditionFailed()],
  ["HttpRequestEntityTooLarge", 413, "Content Too Large", () => new HttpRequestEntityTooLarge()],
  ["HttpRequestUriTooLong", 414, "URI Too Long", () => new HttpRequestUriTooLong()],
  [
    "HttpUnsupportedMediaType",
    415,
    "Unsupported Media Type",
    () => new HttpUnsupportedMediaType(),
  ],
  [
    "HttpRequestRangeNotSatisfiable",
    416,
    "Range Not Satisfiable",
    () => new HttpRequestRangeNotSatisfiable(),
  ],
  ["HttpExpectationFailed", 417, "Expectation Failed", () => new HttpExpectationFailed()],
  ["HttpMisdirectedRequest", 421, "Misdirected Request", () => new HttpMisdirectedRequest()],
  ["HttpUnprocessableEntity", 422, "Unprocessable Content", () => new HttpUnprocessableEntity()],
  ["HttpTooEarly", 425, "Too Early", () => new HttpTooEarly()],
  ["HttpUpgradeRequired", 426, "Upgrade Required", () => new HttpUpgradeRequired()],
  ["HttpPreconditionRequired", 428, "Precondition Required", () => new HttpPreconditionRequired()],
  ["HttpTooManyRequests", 429, "Too Many Requests", () => new HttpTooManyRequests()],
  [
    "HttpRequestHeaderFieldsTooLarge",
    431,
    "Request Header Fields Too Large",
    () => new HttpRequestHeaderFieldsTooLarge(),
  ],
  [
    "HttpUnavailableForLegalReasons",
    451,
    "Unavailable For Legal Reasons",
    () => new HttpUnavailableForLegalReasons(),
  ],
  ["HttpInternalServerError", 500, "Internal Server Error", () => new HttpInternalServerError()],
  ["HttpNotImplemented", 501, "Not Implemented", () => new HttpNotImplemented()],
  ["HttpBadGateway", 502, "Bad Gateway", () => new HttpBadGateway()],
  ["HttpServiceUnavailable", 503, "Service Unavailable", () => new HttpServiceUnavailable()],
  ["HttpGatewayTimeout", 504, "Gateway Timeout", () => new HttpGatewayTimeout()],
  [
    "HttpVersionNotSupported",
    505,
    "HTTP Version Not Supported",
    () => new HttpVersionNotSupported(),
  ],
];

describe("HttpError", () => {
  test("HttpError carries status, reason, code, headers and a default message", () => {
    const cause = new Error("inner");
    const err = new HttpError(418, undefined, { headers: { "x-a": "1" }, cause });
    assert.ok(err instanceof Error);
    assert.ok(err instanceof SluiceError);
    assert.equal(err.name, "HttpError");
    assert.equal(err.code, "SLUICE_ERR_HTTP_STATUS");
    assert.equal(err.status, 418);
    assert.equal(err.reason, "I'm a teapot");
    assert.equal(err.message, "418 I'm a teapot");
    assert.equal(err.headers.get("x-a"), "1");
    assert.equal(err.body, undefined);
    assert.equal(err.cause, cause);
  });

  test("HttpError exposes 3xx/4xx messages and hides 5xx ones unless told", () => {
    assert.equal(new HttpError(302).expose, true);
    assert.equal(new HttpError(499).expose, true);
    assert.equal(new HttpError(500).expose, false);
    assert.equal(new HttpError(500, "x", { expose: true }).expose, true);
    assert.equal(new HttpError(404, "x", { expose: false }).expose, false);
  });

  test("HttpError takes a custom reason and has an empty one for unregistered statuses", () => {
    assert.equal(new HttpError(404, undefined, { reason: "Nope" }).reason, "Nope");
    const err = new HttpError(499);
    assert.equal(err.reason, "");
    assert.equal(err.message, "499");
  });

  test("HttpError refuses statuses outside 300–599 and reasons with control characters", () => {
    for (const status of [0, 200, 299, 600, 404.5, NaN, Infinity]) {
      assert.throws(() => new HttpError(status), RangeError, `status ${status}`);
    }
    assert.throws(() => new HttpError(400, undefined, { reason: "Bad\r\nX-Evil: 1" }), TypeError);
  });

  test("each subclass has its status, registered reason and name", () => {
    for (const [name, status, reason, make] of CLASSES) {
      const err = make();
      assert.equal(err.status, status, name);
      assert.equal(err.reason, reason, name);
      assert.equal(err.name, name);
      assert.equal(err.constructor.name, name);
      assert.ok(err instanceof HttpError, name);
      assert.equal(err.code, "SLUICE_ERR_HTTP_STATUS");
      assert.equal(err.expose, status < 500, name);
    }
  });

  test("subclasses take a message and options", () => {
    const err = new HttpNotFound("No user 42", { headers: { "cache-control": "no-store" } });
    assert.equal(err.message, "No user 42");
    assert.equal(err.headers.get("cache-control"), "no-store");
    assert.ok(err instanceof HttpNotFound);
    assert.ok(!(err instanceof HttpForbidden));
  });
});

describe("redirects", () => {
  test("HttpFound sets Location from a string or a URL", () => {
    const err = new HttpFound("/login");
    assert.ok(err instanceof HttpRedirect);
    assert.equal(err.location, "/login");
    assert.equal(err.headers.get("location"), "/login");
    const abs = new HttpSeeOther(new URL("https://example.com/a b"));
    assert.equal(abs.headers.get("location"), "https://example.com/a%20b");
  });

  test("HttpFound percent-encodes spaces and non-ASCII characters but keeps escapes", () => {
    const err = new HttpFound("/caf\u00e9 au lait?q=%2F&x=\u{1F600}");
    assert.equal(err.location, "/caf%C3%A9%20au%20lait?q=%2F&x=%F0%9F%98%80");
  });

  test("HttpFound refuses CR, LF, other controls, empty targets and lone surrogates", () => {
    for (const bad of ["/a\r\nSet-Cookie: x=1", "/a\nb", "/a\rb", "/a\x00", "/a\tb", "/\x7f", ""]) {
      assert.throws(() => new HttpFound(bad), TypeError, JSON.stringify(bad));
    }
    assert.throws(() => new HttpFound("/\ud800"), TypeError);
    assert.throws(() => new HttpFound(42 as unknown as string), TypeError);
  });

  test("HttpRedirect only takes 3xx statuses and keeps a header given in options overridden", () => {
    assert.equal(new HttpRedirect(300, "/choices").status, 300);
    assert.throws(() => new HttpRedirect(404, "/a"), RangeError);
    const err = new HttpMovedPermanently("/new", {
      headers: { location: "/old", "cache-control": "max-age=60" },
      message: "Moved to /new",
    });
    assert.equal(err.headers.get("location"), "/new");
    assert.equal(err.headers.get("cache-control"), "max-age=60");
    assert.equal(err.message, "Moved to /new");
  });
});

describe("statuses with fields", () => {
  test("HttpMethodNotAllowed lists allow in the Allow field", () => {
    const err = new HttpMethodNotAllowed(new Set(["GET", "HEAD", "POST"]), "Use GET");
    assert.deepEqual(err.allow, ["GET", "HEAD", "POST"]);
    assert.ok(Object.isFrozen(err.allow));
    assert.equal(err.headers.get("allow"), "GET, HEAD, POST");
    assert.equal(err.message, "Use GET");
    assert.equal(new HttpMethodNotAllowed([]).headers.get("allow"), "");
    assert.throws(() => new HttpMethodNotAllowed(["GET\r\nX: 1"]), TypeError);
    assert.throws(() => new HttpMethodNotAllowed(["GET, POST"]), TypeError);
  });

  test("HttpUnauthorized sets WWW-Authenticate", () => {
    const err = new HttpUnauthorized(undefined, { wwwAuthenticate: 'Basic realm="x"' });
    assert.equal(err.headers.get("www-authenticate"), 'Basic realm="x"');
    assert.equal(new HttpUnauthorized().headers.has("www-authenticate"), false);
    assert.throws(() => new HttpUnauthorized(undefined, { wwwAuthenticate: "a\r\nb" }), TypeError);
  });

  test("HttpRequestRangeNotSatisfiable sets Content-Range: bytes */size", () => {
    const err = new HttpRequestRangeNotSatisfiable(undefined, { size: 0 });
    assert.equal(err.headers.get("content-range"), "bytes */0");
    for (const size of [-1, 1.5, NaN]) {
      assert.throws(() => new HttpRequestRangeNotSatisfiable(undefined, { size }), RangeError);
    }
  });

  test("HttpTooManyRequests and HttpServiceUnavailable set Retry-After", () => {
    assert.equal(
      new HttpTooManyRequests(undefined, { retryAfter: 0 }).headers.get("retry-after"),
      "0",
    );
    const date = new Date(Date.UTC(2030, 5, 15, 12, 30, 0));
    assert.equal(
      new HttpServiceUnavailable(undefined, { retryAfter: date }).headers.get("retry-after"),
      "Sat, 15 Jun 2030 12:30:00 GMT",
    );
    for (const retryAfter of [-1, 2.5, NaN, new Date(NaN)]) {
      assert.throws(() => new HttpTooManyRequests(undefined, { retryAfter }), RangeError);
      assert.throws(() => new HttpServiceUnavailable(undefined, { retryAfter }), RangeError);
    }
  });

  test("HttpUpgradeRequired sets Upgrade", () => {
    const err = new HttpUpgradeRequired(undefined, { upgrade: "websocket" });
    assert.equal(err.headers.get("upgrade"), "websocket");
    assert.throws(() => new HttpUpgradeRequired(undefined, { upgrade: "a\nb" }), TypeError);
  });
});

/** An HTTP error as another copy of Sluice would make it. */
class ForeignHttpError extends Error {
  code = "SLUICE_ERR_HTTP_STATUS";
  status = 409;
  reason = "Conflict";
  headers = new Headers({ "x-copy": "2" });
  body = undefined;
  expose = true;
  get [Symbol.for("sluice.httpError")](): true {
    return true;
  }
  get [Symbol.for("sluice.error")](): true {
    return true;
  }
}

describe("isHttpError()", () => {
  test("isHttpError() recognises every subclass and nothing else", () => {
    for (const [, , , make] of CLASSES) assert.equal(isHttpError(make()), true);
    for (const value of [null, undefined, 404, "404", {}, new Error("x"), { status: 404 }]) {
      assert.equal(isHttpError(value), false);
      assert.equal(value instanceof HttpError, false);
    }
  });

  test("isHttpError() and instanceof HttpError recognise errors of another package copy", () => {
    const foreign = new ForeignHttpError("Name taken");
    assert.equal(isHttpError(foreign), true);
    assert.ok(foreign instanceof HttpError);
    assert.ok(foreign instanceof SluiceError);
    assert.ok(!(foreign instanceof HttpNotFound));
    const res = renderHttpError(foreign, null);
    assert.equal(res.status, 409);
    assert.equal(res.headers.get("x-copy"), "2");
  });
});

describe("renderHttpError()", () => {
  test("renderHttpError() renders plain text with status, reason and headers", async () => {
    const res = renderHttpError(new HttpFound("/login"), null);
    assert.equal(res.status, 302);
    assert.equal(res.statusText, "Found");
    assert.equal(res.headers.get("location"), "/login");
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(await res.text(), "302 Found");
  });

  test("renderHttpError() appends an exposed message", async () => {
    assert.equal(
      await renderHttpError(new HttpNotFound("No user 42"), "*/*").text(),
      "404 Not Found: No user 42",
    );
    assert.equal(
      await renderHttpError(new HttpNotFound("No user 42", { expose: false }), null).text(),
      "404 Not Found",
    );
    assert.equal(
      await renderHttpError(new HttpBadGateway("Upstream said 418", { expose: true }), null).text(),
      "502 Bad Gateway: Upstream said 418",
    );
  });

  test("renderHttpError() never shows a 5xx message, cause or stack by default", async () => {
    const secret = "postgres://admin:hunter2@db";
    const cause = new Error(secret);
    for (const accept of [null, "application/json"]) {
      for (
        const err of [
          new HttpInternalServerError(secret, { cause }),
          new HttpServiceUnavailable(secret),
          new Error(secret),
          new TypeError(secret),
          secret,
          { status: 404, message: secret },
          undefined,
        ]
      ) {
        const res = renderHttpError(err, accept);
        assert.ok(res.status >= 500);
        const body = await res.text();
        assert.ok(!body.includes("hunter2"), body);
        assert.ok(!body.includes("at "), body);
      }
    }
    const res = renderHttpError(new Error(secret), null);
    assert.equal(res.status, 500);
    assert.equal(res.statusText, "Internal Server Error");
    assert.equal(await res.text(), "500 Internal Server Error");
  });

  test("renderHttpError() renders JSON with status, reason and an exposed message", async () => {
    const res = renderHttpError(new HttpBadRequest("Missing field: name"), "application/json");
    assert.equal(res.status, 400);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.deepEqual(await res.json(), {
      status: 400,
      reason: "Bad Request",
      message: "Missing field: name",
    });
    const hidden = renderHttpError(new HttpInternalServerError("boom"), "application/json");
    assert.deepEqual(await hidden.json(), { status: 500, reason: "Internal Server Error" });
    const plain = renderHttpError(new HttpNotFound(), "application/json");
    assert.deepEqual(await plain.json(), { status: 404, reason: "Not Found" });
  });

  test("renderHttpError() sends a given body as is, with a given Content-Type", async () => {
    const res = renderHttpError(
      new HttpNotFound(undefined, {
        body: "<h1>Gone fishing</h1>",
        headers: { "content-type": "text/html; charset=utf-8" },
      }),
      "application/json",
    );
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(await res.text(), "<h1>Gone fishing</h1>");
    const secret = renderHttpError(new HttpInternalServerError("x", { body: "Sorry" }), null);
    assert.equal(await secret.text(), "Sorry");
    assert.equal(secret.headers.get("content-type"), "text/plain; charset=utf-8");
  });

  test("renderHttpError() replaces a Content-Type header for a generated body", async () => {
    const err = new HttpConflict("Taken", { headers: { "content-type": "image/png" } });
    const res = renderHttpError(err, null);
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(await res.text(), "409 Conflict: Taken");
    assert.equal(err.headers.get("content-type"), "image/png");
  });

  test("renderHttpError() answers a 304 without a body", () => {
    const res = renderHttpError(new HttpError(304, undefined, { headers: { etag: '"x"' } }), null);
    assert.equal(res.status, 304);
    assert.equal(res.headers.get("etag"), '"x"');
    assert.equal(res.body, null);
  });

  const ACCEPT: [string | null, "json" | "text"][] = [
    [null, "text"],
    ["", "text"],
    ["*/*", "text"],
    ["text/plain", "text"],
    ["application/json", "json"],
    ["APPLICATION/JSON", "json"],
    ["application/json; charset=utf-8", "json"],
    ["application/*", "json"],
    ["application/json, text/plain, */*", "json"],
    ["text/plain, application/json", "text"],
    ["text/*, application/json", "json"],
    ["application/*, text/plain", "text"],
    ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text"],
    ["application/json;q=0.5, text/plain", "text"],
    ["text/plain;q=0.5, application/json", "json"],
    ["application/json;q=0.9, */*;q=0.1", "json"],
    ["application/json;q=0", "text"],
    ["application/json;q=0, */*", "text"],
    ["application/json;q=0.000", "text"],
    ["application/json;q=1.000", "json"],
    ["application/json ; q=0.7 , text/plain ; q=0.3", "json"],
    ["application/json;Q=0.2, text/plain;q=0.1", "json"],
    ["application/json;q=abc", "text"],
    ["application/json;q=1.5", "text"],
    ["application/json;q=0.1234", "text"],
    ["application/problem+json", "text"],
    ['text/plain;q=0.5;ext="x,application/json,y"', "text"],
    ["garbage", "text"],
    [",,;", "text"],
  ];
  for (const [accept, expected] of ACCEPT) {
    test(`renderHttpError() with Accept ${JSON.stringify(accept)} renders ${expected}`, () => {
      const res = renderHttpError(new HttpNotFound(), accept);
      const type = res.headers.get("content-type");
      assert.equal(type, expected === "json" ? "application/json" : "text/plain; charset=utf-8");
    });
  }
});

describe("renderHttpError() through the raw engine", () => {
  let server: RunningServer | null = null;
  let port = 0;
  const clients: RawClient[] = [];

  before(async () => {
    server = await rawBackend(nodeTransport).listen(
      { hostname: "127.0.0.1", port: 0 },
      (req) => {
        const accept = req.header("accept");
        if (req.pathname === "/redirect") return renderHttpError(new HttpSeeOther("/x"), accept);
        if (req.pathname === "/405") {
          return renderHttpError(new HttpMethodNotAllowed(["GET", "HEAD"], "Use GET"), accept);
        }
        return renderHttpError(new Error("internal detail"), accept);
      },
      { logger: { error: () => {}, info: () => {} } },
    );
    port = portOf(server.address);
  });

  after(async () => {
    for (const c of clients) c.close();
    if (server !== null) await within(server.shutdown(1000), 5000, "shutdown");
  });

  test("the wire carries the status line, fields and body of a rendered error", async () => {
    const c = await RawClient.open(port);
    clients.push(c);
    c.send("POST /405 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    const r1 = await c.response();
    assert.equal(r1.status, 405);
    assert.equal(r1.reason, "Method Not Allowed");
    assert.equal(r1.headers.get("allow"), "GET, HEAD");
    assert.equal(r1.text, "405 Method Not Allowed: Use GET");

    c.send("GET /redirect HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n");
    const r2 = await c.response();
    assert.equal(r2.status, 303);
    assert.equal(r2.headers.get("location"), "/x");
    assert.equal(r2.headers.get("content-type"), "application/json");
    assert.deepEqual(JSON.parse(r2.text), { status: 303, reason: "See Other" });

    c.send("GET /crash HTTP/1.1\r\nHost: x\r\n\r\n");
    const r3 = await c.response();
    assert.equal(r3.status, 500);
    assert.equal(r3.text, "500 Internal Server Error");
  });
});
