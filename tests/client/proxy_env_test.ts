import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  matchesNoProxy,
  parseProxyUrl,
  type ProxyEnv,
  proxyFromEnv,
} from "../../client/proxy_env.ts";
import { InvalidUrlError } from "../../client/errors.ts";

describe("proxyFromEnv()", () => {
  const cases: [string, string, ProxyEnv, string | null][] = [
    ["no variables", "http://a.test/", {}, null],
    ["HTTP_PROXY for http", "http://a.test/", { HTTP_PROXY: "http://p:1" }, "http://p:1/"],
    ["http_proxy for ws", "ws://a.test/", { http_proxy: "http://p:1" }, "http://p:1/"],
    ["HTTP_PROXY not for https", "https://a.test/", { HTTP_PROXY: "http://p:1" }, null],
    ["HTTPS_PROXY for https", "https://a.test/", { HTTPS_PROXY: "http://p:2" }, "http://p:2/"],
    ["https_proxy for wss", "wss://a.test/", { https_proxy: "https://p:2" }, "https://p:2/"],
    ["HTTPS_PROXY not for http", "http://a.test/", { HTTPS_PROXY: "http://p:2" }, null],
    [
      "lower case wins",
      "http://a.test/",
      { http_proxy: "http://low:1", HTTP_PROXY: "http://up:1" },
      "http://low:1/",
    ],
    [
      "empty lower case counts as unset",
      "http://a.test/",
      { http_proxy: "", HTTP_PROXY: "http://up:1" },
      "http://up:1/",
    ],
    ["ALL_PROXY as fallback", "https://a.test/", { ALL_PROXY: "http://all:3" }, "http://all:3/"],
    [
      "scheme variable before all_proxy",
      "http://a.test/",
      { all_proxy: "http://all:3", HTTP_PROXY: "http://p:1" },
      "http://p:1/",
    ],
    [
      "all_proxy over ALL_PROXY",
      "http://a.test/",
      { all_proxy: "http://low:3", ALL_PROXY: "http://up:3" },
      "http://low:3/",
    ],
    [
      "scheme-less value means http",
      "http://a.test/",
      { HTTP_PROXY: "p.test:8080" },
      "http://p.test:8080/",
    ],
    [
      "CGI ignores upper-case HTTP_PROXY (httpoxy)",
      "http://a.test/",
      { REQUEST_METHOD: "GET", HTTP_PROXY: "http://evil:1" },
      null,
    ],
    [
      "CGI still honours http_proxy",
      "http://a.test/",
      { REQUEST_METHOD: "GET", http_proxy: "http://p:1" },
      "http://p:1/",
    ],
    [
      "NO_PROXY bypasses",
      "http://a.test/",
      { HTTP_PROXY: "http://p:1", NO_PROXY: "a.test" },
      null,
    ],
    [
      "no_proxy wins over NO_PROXY",
      "http://a.test/",
      { HTTP_PROXY: "http://p:1", no_proxy: "b.test", NO_PROXY: "a.test" },
      "http://p:1/",
    ],
    ["other schemes never", "ftp://a.test/", { ALL_PROXY: "http://p:1" }, null],
  ];
  for (const [name, url, env, want] of cases) {
    test(`proxyFromEnv() ${name}`, () => {
      const got = proxyFromEnv(url, env);
      assert.equal(got?.url.href ?? null, want);
      assert.equal(proxyFromEnv(new URL(url), env)?.url.href ?? null, want);
    });
  }

  test("proxyFromEnv() takes credentials out of the proxy URL", () => {
    const got = proxyFromEnv("https://a.test/", { HTTPS_PROXY: "http://us%40r:p%3Aw@p.test:3128" });
    assert.equal(got?.url.href, "http://p.test:3128/");
    assert.equal(got?.auth?.login, "us@r");
    assert.equal(got?.auth?.password, "p:w");
    assert.equal(got?.auth?.encode(), "Basic dXNAcjpwOnc=");
  });

  test("proxyFromEnv() rejects an unsupported proxy scheme", () => {
    assert.throws(
      () => proxyFromEnv("http://a.test/", { HTTP_PROXY: "socks5://p:1080" }),
      (err: unknown) =>
        err instanceof InvalidUrlError && /unsupported scheme "socks5:"/.test(err.message),
    );
  });
});

describe("parseProxyUrl()", () => {
  test("parseProxyUrl() without credentials has auth null", () => {
    const got = parseProxyUrl(" https://p.test ");
    assert.equal(got.url.href, "https://p.test/");
    assert.equal(got.auth, null);
  });

  for (const bad of ["http://", "http://[::1", "file:///x", "http://a%3Ab:c@p/"]) {
    test(`parseProxyUrl() rejects ${bad}`, () => {
      assert.throws(() => parseProxyUrl(bad), InvalidUrlError);
    });
  }
});

describe("matchesNoProxy()", () => {
  const cases: [string, string, boolean][] = [
    ["http://a.test/", "", false],
    ["http://a.test/", "*", true],
    ["http://a.test/", "b.test, *", true],
    ["http://a.test/", "a.test", true],
    ["http://A.Test/", "a.TEST", true],
    ["http://x.a.test/", "a.test", true],
    ["http://x.a.test/", ".a.test", true],
    ["http://a.test/", ".a.test", true],
    ["http://x.a.test/", "*.a.test", true],
    ["http://ba.test/", "a.test", false],
    ["http://a.test.evil/", "a.test", false],
    ["http://a.test./", "a.test", true],
    ["http://a.test/", " b.test ,  a.test ", true],
    ["http://a.test:8080/", "a.test:8080", true],
    ["http://a.test:8080/", "a.test:9090", false],
    ["http://a.test/", "a.test:80", true],
    ["https://a.test/", "a.test:443", true],
    ["https://a.test/", "a.test:80", false],
    ["http://127.0.0.1/", "127.0.0.1", true],
    ["http://127.0.0.1:5000/", "127.0.0.1:5000", true],
    ["http://127.0.0.2/", "127.0.0.1", false],
    ["http://localhost/", "127.0.0.1", false],
    ["http://127.0.0.1/", "localhost", false],
    ["http://10.20.30.40/", "10.0.0.0/8", true],
    ["http://11.0.0.1/", "10.0.0.0/8", false],
    ["http://192.168.1.77/", "192.168.1.64/26", true],
    ["http://192.168.1.128/", "192.168.1.64/26", false],
    ["http://1.2.3.4/", "0.0.0.0/0", true],
    ["http://10.0.0.1/", "10.0.0.0/33", false],
    ["http://a10.test/", "10.0.0.0/8", false],
    ["http://[::1]/", "::1", true],
    ["http://[::1]/", "[::1]", true],
    ["http://[::1]:8080/", "[::1]:8080", true],
    ["http://[::1]:8080/", "[::1]:9090", false],
    ["http://[::1]/", "0:0:0:0:0:0:0:1", true],
    ["http://[fe80::1234]/", "fe80::/10", true],
    ["http://[fec0::1]/", "fe80::/10", false],
    ["http://[2001:db8::1]/", "2001:db8::/32", true],
    ["http://[2001:db9::1]/", "2001:db8::/32", false],
    ["http://[::ffff:10.1.2.3]/", "::ffff:10.0.0.0/104", true],
    ["http://10.1.2.3/", "::ffff:10.0.0.0/104", false],
    ["http://[::1]/", "127.0.0.1", false],
    ["http://10.1.2.3/", "0.0.0.0/0", true],
    ["http://[::1]/", "::/0", true],
    ["http://10.1.2.3/", "::/0", false],
    ["http://10.1.2.3/", "10.1.2.3/33", false],
    ["http://10.1.2.3/", "010.1.2.3", false],
    ["http://a.test/", ",,,", false],
  ];
  for (const [url, noProxy, want] of cases) {
    test(`matchesNoProxy(${url}, ${JSON.stringify(noProxy)}) is ${want}`, () => {
      assert.equal(matchesNoProxy(new URL(url), noProxy), want);
    });
  }
});
