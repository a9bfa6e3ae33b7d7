import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { SluiceError } from "../../util/errors.ts";
import {
  ClientConnectionError,
  ClientError,
  ClientPayloadError,
  ClientTlsError,
  InvalidUrlError,
  ResponseStatusError,
  TimeoutError,
  type TimeoutPhase,
  TooManyRedirectsError,
} from "../../client/errors.ts";

describe("client errors", () => {
  const cases: {
    name: string;
    err: ClientError;
    code: string;
    cls: new (...args: never[]) => ClientError;
  }[] = [
    {
      name: "ClientConnectionError",
      err: new ClientConnectionError("SLUICE_ERR_CLIENT_CONNECTION_RESET", "Cannot read: reset", {
        host: "h",
        port: 1,
      }),
      code: "SLUICE_ERR_CLIENT_CONNECTION_RESET",
      cls: ClientConnectionError,
    },
    {
      name: "ClientTlsError",
      err: new ClientTlsError("Cannot connect to h:443: bad cert", { host: "h", port: 443 }),
      code: "SLUICE_ERR_CLIENT_TLS",
      cls: ClientTlsError,
    },
    {
      name: "InvalidUrlError",
      err: new InvalidUrlError("x", 'Cannot request "x": invalid URL'),
      code: "SLUICE_ERR_CLIENT_INVALID_URL",
      cls: InvalidUrlError,
    },
    {
      name: "ClientPayloadError",
      err: new ClientPayloadError("SLUICE_ERR_CLIENT_PAYLOAD_BAD_CHUNKING", "Cannot read: bad"),
      code: "SLUICE_ERR_CLIENT_PAYLOAD_BAD_CHUNKING",
      cls: ClientPayloadError,
    },
    {
      name: "TooManyRedirectsError",
      err: new TooManyRedirectsError(10, []),
      code: "SLUICE_ERR_CLIENT_TOO_MANY_REDIRECTS",
      cls: TooManyRedirectsError,
    },
    {
      name: "ResponseStatusError",
      err: new ResponseStatusError(new Response(null, { status: 500 })),
      code: "SLUICE_ERR_CLIENT_RESPONSE_STATUS",
      cls: ResponseStatusError,
    },
    {
      name: "TimeoutError",
      err: new TimeoutError("total", 1),
      code: "SLUICE_ERR_CLIENT_TIMEOUT_TOTAL",
      cls: TimeoutError,
    },
  ];

  for (const c of cases) {
    test(`${c.name} has code ${c.code}, its name, and is a ClientError and SluiceError`, () => {
      assert.equal(c.err.code, c.code);
      assert.equal(c.err.name, c.name);
      assert.ok(c.err instanceof c.cls);
      assert.ok(c.err instanceof ClientError);
      assert.ok(c.err instanceof SluiceError);
      assert.ok(c.err instanceof Error);
      assert.match(c.err.message, /^Cannot /);
      for (const other of cases) {
        if (other !== c) assert.ok(!(c.err instanceof other.cls), `${c.name} vs ${other.name}`);
      }
    });
  }

  test("ClientConnectionError keeps host, port and cause", () => {
    const cause = new Error("ECONNREFUSED");
    const err = new ClientConnectionError(
      "SLUICE_ERR_CLIENT_CONNECTION_REFUSED",
      "Cannot connect to 127.0.0.1:9: connection refused",
      { host: "127.0.0.1", port: 9, cause },
    );
    assert.equal(err.host, "127.0.0.1");
    assert.equal(err.port, 9);
    assert.equal(err.cause, cause);
    assert.ok(!("cause" in new ClientTlsError("Cannot x: y", { host: "h", port: 1 })));
  });

  const phases: [TimeoutPhase, string, string][] = [
    [
      "total",
      "SLUICE_ERR_CLIENT_TIMEOUT_TOTAL",
      "Cannot complete request: total timeout of 7 ms exceeded",
    ],
    [
      "poolWait",
      "SLUICE_ERR_CLIENT_TIMEOUT_POOL_WAIT",
      "Cannot get a connection from the pool: poolWait timeout of 7 ms exceeded",
    ],
    [
      "connect",
      "SLUICE_ERR_CLIENT_TIMEOUT_CONNECT",
      "Cannot connect: connect timeout of 7 ms exceeded",
    ],
    [
      "headers",
      "SLUICE_ERR_CLIENT_TIMEOUT_HEADERS",
      "Cannot receive response headers: headers timeout of 7 ms exceeded",
    ],
    [
      "sockRead",
      "SLUICE_ERR_CLIENT_TIMEOUT_SOCK_READ",
      "Cannot read response body: sockRead timeout of 7 ms exceeded",
    ],
  ];
  for (const [phase, code, message] of phases) {
    test(`TimeoutError("${phase}") has code ${code} and names phase and value`, () => {
      const err = new TimeoutError(phase, 7);
      assert.equal(err.code, code);
      assert.equal(err.phase, phase);
      assert.equal(err.timeout, 7);
      assert.equal(err.message, message);
    });
  }

  test("TimeoutError rejects an unknown phase", () => {
    assert.throws(() => new TimeoutError("read" as TimeoutPhase, 1), TypeError);
  });

  test("ResponseStatusError attaches the response with its body unread", async () => {
    const res = new Response("nope", {
      status: 404,
      statusText: "Not Found",
      headers: { "x-a": "1" },
    });
    const err = new ResponseStatusError(res, { method: "POST", url: "http://h.test/p" });
    assert.equal(err.status, 404);
    assert.equal(err.statusText, "Not Found");
    assert.equal(err.headers.get("x-a"), "1");
    assert.equal(err.url, "http://h.test/p");
    assert.equal(err.response, res);
    assert.equal(err.message, "Cannot POST http://h.test/p: 404 Not Found");
    assert.equal(await err.response.text(), "nope");
  });

  test("ResponseStatusError without request details uses response.url", () => {
    const err = new ResponseStatusError(new Response(null, { status: 503 }));
    assert.equal(err.url, "");
    assert.equal(err.message, "Cannot request: 503");
  });

  test("TooManyRedirectsError keeps a frozen copy of the history and names the last Location", () => {
    const hops = [
      new Response(null, { status: 302, headers: { location: "/a" } }),
      new Response(null, { status: 301, headers: { location: "/b" } }),
    ];
    const err = new TooManyRedirectsError(1, hops);
    hops.pop();
    assert.equal(err.history.length, 2);
    assert.equal(err.maxRedirects, 1);
    assert.ok(Object.isFrozen(err.history));
    assert.equal(err.message, 'Cannot follow redirect: more than 1 redirects (last Location "/b")');
  });
});
