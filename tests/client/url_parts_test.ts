// urlParts (client/_pool_connect.ts): a URL split from its `href` agrees
// with the URL's own getters, for every shape of host, port, credentials,
// query and fragment.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { targetOf, urlParts } from "../../client/_pool_connect.ts";
import { InvalidUrlError } from "../../client/errors.ts";

const URLS = [
  "http://example.com",
  "http://example.com/",
  "https://example.com/a/b?c=1&d=2",
  "http://EXAMPLE.com:80/x",
  "https://example.com:443/x",
  "http://example.com:8080/x?y#frag",
  "https://example.com:8443#only-a-fragment",
  "http://127.0.0.1:18431/",
  "http://[::1]:8080/p?q=1",
  "https://[2001:db8::1]/",
  "http://[::ffff:127.0.0.1]/",
  "http://user:pa:ss@example.com:81/p",
  "http://user@example.com/p",
  "http://us%40er:p%40ss@[::1]:9/p",
  "http://example.com/a%20b/%E2%82%AC?x=%25#y",
  "http://example.com/?",
  "http://example.com/path/with@sign?and@=in#query@",
  "http://xn--nxasmq6b.example/",
  "http://münchen.example:3000/straße",
];

describe("urlParts", () => {
  for (const input of URLS) {
    test(`agrees with the URL getters: ${input}`, () => {
      const url = new URL(input);
      const parts = urlParts(url);
      const secure = url.protocol === "https:";
      assert.deepEqual(parts, {
        hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: url.port === "" ? (secure ? 443 : 80) : Number(url.port),
        secure,
        host: url.host,
        // `search` drops an empty query's "?"; the request target keeps it, as fetch does.
        path: url.pathname + (url.href.split("#")[0].endsWith("?") ? "?" : url.search),
      });
      assert.deepEqual(targetOf(url), {
        hostname: parts.hostname,
        port: parts.port,
        secure: parts.secure,
        host: parts.host,
        path: parts.path,
      });
    });
  }

  test("refuses other schemes with an InvalidUrlError", () => {
    for (const input of ["ftp://example.com/", "ws://example.com/", "file:///etc/passwd"]) {
      assert.throws(() => urlParts(new URL(input)), (error: unknown) => {
        assert.ok(error instanceof InvalidUrlError);
        assert.match((error as Error).message, /unsupported scheme/);
        return true;
      });
    }
  });
});
