import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CookieJar, DummyCookieJar } from "../../client/cookie_jar.ts";
import {
  defaultPath,
  domainMatch,
  parseCookieDate,
  type ParsedSetCookie,
  parseSetCookie,
  pathMatch,
} from "../../client/_cookie_parse.ts";

const T0 = Date.UTC(2030, 0, 1);
const DAY = 24 * 60 * 60 * 1000;

/** A jar on a clock the test moves. */
function fakeJar(options: { unsafe?: boolean } = {}): { jar: CookieJar; clock: { now: number } } {
  const clock = { now: T0 };
  return { jar: new CookieJar({ ...options, now: () => clock.now }), clock };
}

const BASE: ParsedSetCookie = {
  name: "a",
  value: "b",
  expires: null,
  maxAge: null,
  domain: null,
  path: null,
  secure: false,
  httpOnly: false,
  sameSite: null,
  partitioned: false,
};

describe("parseSetCookie()", () => {
  const cases: [string, Partial<ParsedSetCookie> | null][] = [
    ["a=b", {}],
    ["  a = b  ", {}],
    ["a=b\tc", { value: "b\tc" }],
    ['a="quoted; value"', { value: '"quoted' }],
    ['a="quoted value"', { value: '"quoted value"' }],
    ["a=", { value: "" }],
    ["a==b=", { value: "=b=" }],
    ["=b", null],
    ["novalue", null],
    ["", null],
    ["a b=c", null],
    ['a"=c', null],
    ["a,b=c", null],
    ["a\x01=b", null],
    ["a=b\x7f", null],
    ["a=b; Path=/\n", null],
    ["a=b; Max-Age=abc", {}],
    ["a=b; Max-Age=1e3", {}],
    ["a=b; Max-Age=+5", {}],
    ["a=b; Max-Age=-5", { maxAge: -5 }],
    ["a=b; max-age = 60 ", { maxAge: 60 }],
    ["a=b; Expires=garbage", {}],
    ["a=b; Expires=Sun, 06 Nov 1994 08:49:37 GMT", { expires: Date.UTC(1994, 10, 6, 8, 49, 37) }],
    ["a=b; Domain=", {}],
    ["a=b; Domain=.Example.COM", { domain: "example.com" }],
    ["a=b; Domain=x.com; Domain=", { domain: "x.com" }],
    ["a=b; Path=foo", {}],
    ["a=b; Path=/x; Path=/y", { path: "/y" }],
    ["a=b; Path=/x; Path=y", {}],
    ["a=b; SameSite=bogus", {}],
    ["a=b; SameSite=LAX", { sameSite: "lax" }],
    ["a=b; samesite=None; SameSite=strict", { sameSite: "strict" }],
    ["a=b; secure; HTTPONLY; Partitioned", { secure: true, httpOnly: true, partitioned: true }],
    ["a=b; Secure=yes", { secure: true }],
    ["a=b; =; ;;unknown=1; Version=1", {}],
    [`a=b; Path=/${"x".repeat(1023)}`, { path: `/${"x".repeat(1023)}` }],
    [`a=b; Path=/${"x".repeat(1024)}`, {}],
    [`a=${"x".repeat(4095)}`, { value: "x".repeat(4095) }],
    [`a=${"x".repeat(4096)}`, null],
    // Byte strings from the wire: one code unit per byte (here é sent as UTF-8).
    [`a=${"\xc3\xa9".repeat(2047)}x`, { value: `${"\xc3\xa9".repeat(2047)}x` }],
    [`a=${"\xc3\xa9".repeat(2047)}xx`, null],
    // Past U+00FF (only a caller passes such): their UTF-8 bytes count.
    [`a=${"€".repeat(1365)}`, { value: "€".repeat(1365) }],
    [`a=${"€".repeat(1366)}`, null],
  ];
  for (const [field, expected] of cases) {
    test(`parseSetCookie() on ${JSON.stringify(field.slice(0, 60))}`, () => {
      assert.deepEqual(parseSetCookie(field), expected === null ? null : { ...BASE, ...expected });
    });
  }
});

describe("parseCookieDate()", () => {
  const NOV6 = Date.UTC(1994, 10, 6, 8, 49, 37);
  const cases: [string, number | null][] = [
    ["Sun, 06 Nov 1994 08:49:37 GMT", NOV6],
    ["Sunday, 06-Nov-94 08:49:37 GMT", NOV6],
    ["Sun Nov  6 08:49:37 1994", NOV6],
    ["06 november 1994 08:49:37", NOV6],
    ["Thu, 01 Jan 70 00:00:00 GMT", 0],
    ["1 Jan 69 0:0:0", Date.UTC(2069, 0, 1)],
    ["Wed, 09 Jun 2021 10:18:14 GMT+0200", Date.UTC(2021, 5, 9, 10, 18, 14)],
    ["Feb 29 2024 00:00:00", Date.UTC(2024, 1, 29)],
    ["Feb 29 2023 00:00:00", null],
    ["Feb 30 2024 00:00:00", null],
    ["Jan 1 1600 00:00:00", null],
    ["Jan 1 2021 24:00:00", null],
    ["Jan 1 2021 23:60:00", null],
    ["Jan 32 2021 00:00:00", null],
    ["Jan 0 2021 00:00:00", null],
    ["Jan 1 2021", null],
    ["Foo 1 2021 00:00:00", null],
    ["garbage", null],
    ["", null],
  ];
  for (const [text, expected] of cases) {
    test(`parseCookieDate() on ${JSON.stringify(text)}`, () => {
      assert.equal(parseCookieDate(text), expected);
    });
  }
});

describe("cookie domain and path matching (RFC 6265 §5.1.3, §5.1.4)", () => {
  const domains: [string, string, boolean][] = [
    ["example.com", "example.com", true],
    ["www.example.com", "example.com", true],
    ["a.b.example.com", "example.com", true],
    ["notexample.com", "example.com", false],
    ["example.com", "www.example.com", false],
    ["example.com", "com", true],
    ["127.0.0.1", "0.0.1", false],
    ["127.0.0.1", "127.0.0.1", true],
    ["[::1]", "[::1]", true],
  ];
  for (const [host, domain, expected] of domains) {
    test(`domainMatch() ${host} against ${domain} is ${expected}`, () => {
      assert.equal(domainMatch(host, domain), expected);
    });
  }
  const paths: [string, string, boolean][] = [
    ["/", "/", true],
    ["/foo", "/foo", true],
    ["/foo/bar", "/foo", true],
    ["/foo/", "/foo", true],
    ["/foobar", "/foo", false],
    ["/foo/bar", "/foo/", true],
    ["/foo", "/foo/", false],
    ["/bar", "/foo", false],
    ["/", "/foo", false],
    ["/anything", "/", true],
  ];
  for (const [requestPath, cookiePath, expected] of paths) {
    test(`pathMatch() ${requestPath} against ${cookiePath} is ${expected}`, () => {
      assert.equal(pathMatch(requestPath, cookiePath), expected);
    });
  }
  const defaults: [string, string][] = [
    ["", "/"],
    ["x", "/"],
    ["/", "/"],
    ["/a", "/"],
    ["/a/b", "/a"],
    ["/a/b/", "/a/b"],
  ];
  for (const [pathname, expected] of defaults) {
    test(`defaultPath() of ${JSON.stringify(pathname)} is ${expected}`, () => {
      assert.equal(defaultPath(pathname), expected);
    });
  }
});

describe("CookieJar.update()", () => {
  // [field, response URL, stored as [domain, path, hostOnly] or null when refused]
  const cases: [string, string, [string, string, boolean] | null][] = [
    ["a=1", "https://example.com/x/y", ["example.com", "/x", true]],
    ["a=1; Path=/p", "https://example.com/x/y", ["example.com", "/p", true]],
    ["a=1; Domain=example.com", "https://www.example.com/", ["example.com", "/", false]],
    ["a=1; Domain=.example.com", "https://www.example.com/", ["example.com", "/", false]],
    ["a=1; Domain=EXAMPLE.com", "https://example.com/", ["example.com", "/", false]],
    ["a=1; Domain=other.com", "https://example.com/", null],
    ["a=1; Domain=www.example.com", "https://example.com/", null],
    ["a=1; Domain=ample.com", "https://example.com/", null],
    ["a=1; Domain=com", "https://example.com/", null],
    ["a=1; Domain=a/b", "https://example.com/", null],
    ["a=1; Domain=localhost", "http://localhost/", ["localhost", "/", true]],
    ["a=1; Secure", "http://example.com/", null],
    ["a=1; Secure", "https://example.com/", ["example.com", "/", true]],
    ["a=1; Secure", "wss://example.com/", ["example.com", "/", true]],
    ["a=1; Secure", "http://localhost:8080/", ["localhost", "/", true]],
    ["a=1", "ws://example.com/", ["example.com", "/", true]],
    ["a=1", "ftp://example.com/", null],
    ["a=1", "file:///tmp/x", null],
    ["__Secure-a=1", "https://example.com/", null],
    ["__Secure-a=1; Secure", "https://example.com/", ["example.com", "/", true]],
    ["__secure-a=1", "https://example.com/", null],
    ["__Host-a=1; Secure; Path=/", "https://example.com/x", ["example.com", "/", true]],
    ["__Host-a=1; Secure", "https://example.com/", null],
    ["__Host-a=1; Secure; Path=/x", "https://example.com/", null],
    ["__Host-a=1; Secure; Path=/; Domain=example.com", "https://example.com/", null],
    ["__host-A=1; Path=/", "https://example.com/", null],
    ["a=1; SameSite=None", "https://example.com/", null],
    ["a=1; SameSite=None; Secure", "https://example.com/", ["example.com", "/", true]],
    ["a=1; Partitioned", "https://example.com/", null],
    ["a=1; Partitioned; Secure", "https://example.com/", ["example.com", "/", true]],
    ["a=1; Max-Age=0", "https://example.com/", null],
    ["a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "https://example.com/", null],
  ];
  for (const [field, url, expected] of cases) {
    test(`CookieJar.update() ${JSON.stringify(field)} from ${url}`, () => {
      const { jar } = fakeJar();
      jar.update([field], url);
      const stored = jar.cookies().map((c) => [c.domain, c.path, c.hostOnly]);
      assert.deepEqual(stored, expected === null ? [] : [expected]);
    });
  }

  test("CookieJar.update() records the attributes", () => {
    const { jar } = fakeJar();
    jar.update(
      ['sid="x y"; Secure; HttpOnly; SameSite=Lax; Partitioned; Max-Age=60'],
      "https://example.com/",
    );
    assert.deepEqual(jar.cookies(), [{
      name: "sid",
      value: '"x y"',
      domain: "example.com",
      path: "/",
      hostOnly: true,
      secure: true,
      httpOnly: true,
      sameSite: "lax",
      partitioned: true,
      expires: T0 + 60_000,
      creation: T0,
      lastAccess: T0,
    }]);
  });

  test("CookieJar.update() replaces same name, domain and path, keeping the creation time", () => {
    const { jar, clock } = fakeJar();
    jar.update(["a=1", "b=1"], "https://example.com/");
    clock.now += 1000;
    jar.update(["a=2"], "https://example.com/");
    jar.update(["a=3; Path=/x"], "https://example.com/");
    const [b, a] = jar.cookies().filter((c) => c.path === "/");
    assert.deepEqual([a.name, a.value, a.creation, a.lastAccess], ["a", "2", T0, T0 + 1000]);
    assert.equal(b.name, "b");
    assert.equal(jar.header("https://example.com/"), "a=2; b=1");
    assert.equal(jar.size, 3);
  });

  test("CookieJar.update() keeps a host-only and a Domain cookie of one name apart (RFC 6265bis §5.7)", () => {
    const { jar } = fakeJar();
    jar.update(["sid=parent"], "https://example.com/");
    // A sibling host can set and delete its Domain cookie, never the host-only one.
    jar.update(["sid=evil; Domain=example.com"], "https://evil.example.com/");
    assert.equal(jar.header("https://example.com/"), "sid=parent; sid=evil");
    assert.equal(jar.header("https://www.example.com/"), "sid=evil");
    jar.update(["sid=; Domain=example.com; Max-Age=0"], "https://evil.example.com/");
    assert.equal(jar.header("https://example.com/"), "sid=parent");
    // The host itself replaces each of its two cookies separately.
    jar.update(["sid=dom; Domain=example.com", "sid=host"], "https://example.com/");
    assert.equal(jar.header("https://example.com/"), "sid=host; sid=dom");
    assert.equal(jar.size, 2);
  });

  test("CookieJar.update() lets an insecure origin not shadow a secure cookie", () => {
    const { jar } = fakeJar();
    jar.update(["a=secure; Secure; Domain=example.com"], "https://example.com/");
    jar.update(["a=plain"], "http://example.com/");
    jar.update(["a=plain; Path=/sub"], "http://www.example.com/");
    jar.update(["b=plain"], "http://example.com/");
    assert.equal(jar.header("https://example.com/sub"), "a=secure; b=plain");
    jar.update(["a=again; Path=/sub"], "https://example.com/");
    assert.equal(jar.header("https://example.com/sub"), "a=again; a=secure; b=plain");
  });

  test("CookieJar.update() deletes a cookie with Max-Age=0 or a past Expires", () => {
    const { jar } = fakeJar();
    jar.update(["a=1", "b=1", "c=1"], "https://example.com/");
    jar.update(
      ["a=; Max-Age=0", "b=; Expires=Thu, 01 Jan 1970 00:00:00 GMT"],
      "https://example.com/",
    );
    assert.equal(jar.header("https://example.com/"), "c=1");
  });

  test("CookieJar.update() refuses IP-address hosts unless unsafe", () => {
    const { jar } = fakeJar();
    jar.update(["a=1"], "http://127.0.0.1:8080/");
    jar.update(["a=1"], "http://[::1]/");
    assert.equal(jar.size, 0);
    const unsafe = fakeJar({ unsafe: true }).jar;
    unsafe.update(["a=1", "b=1; Domain=127.0.0.1", "c=1; Domain=0.0.1"], "http://127.0.0.1/");
    unsafe.update(["d=1; Domain=example.com", "e=1; Domain=com"], "http://127.0.0.1/");
    unsafe.update(["v6=1; Secure"], "http://[::1]/");
    assert.deepEqual(unsafe.cookies().map((c) => [c.name, c.domain, c.hostOnly]), [
      ["a", "127.0.0.1", true],
      ["b", "127.0.0.1", true],
      ["v6", "[::1]", true],
    ]);
    assert.equal(unsafe.header("http://127.0.0.1:9/"), "a=1; b=1");
    assert.equal(unsafe.header("http://127.0.0.2/"), null);
    assert.equal(unsafe.header("http://[::1]/"), "v6=1");
  });

  test("CookieJar.update() keeps at most 50 cookies per domain, evicting the oldest", () => {
    const { jar } = fakeJar();
    const fields = Array.from({ length: 51 }, (_, i) => `c${i}=1`);
    jar.update(fields, "https://example.com/");
    jar.update(["other=1"], "https://example.org/");
    assert.equal(jar.size, 51);
    const names = jar.cookies().map((c) => c.name);
    assert.ok(!names.includes("c0"));
    assert.ok(names.includes("c1") && names.includes("c50") && names.includes("other"));
  });

  test("CookieJar.update() keeps at most 3000 cookies, evicting the least recently used", () => {
    const { jar, clock } = fakeJar();
    for (let d = 0; d < 61; d++) {
      clock.now += 1;
      jar.update(Array.from({ length: 50 }, (_, i) => `c${i}=1`), `https://d${d}.example/`);
      if (d === 30) assert.ok(jar.header("https://d0.example/") !== null);
    }
    assert.equal(jar.size, 3000);
    assert.equal(jar.header("https://d1.example/"), null);
    assert.equal(jar.cookies("https://d0.example/").length, 50);
  });

  test("CookieJar.update() caps expiry at 400 days", () => {
    const { jar } = fakeJar();
    jar.update(
      ["a=1; Max-Age=999999999", "b=1; Expires=Fri, 01 Jan 2100 00:00:00 GMT"],
      "https://x.example/",
    );
    assert.deepEqual(jar.cookies().map((c) => c.expires), [T0 + 400 * DAY, T0 + 400 * DAY]);
  });
});

describe("CookieJar.header()", () => {
  test("CookieJar.header() orders longer paths first, then earlier creation", () => {
    const { jar, clock } = fakeJar();
    jar.update(["root=1; Path=/"], "https://example.com/");
    clock.now += 1;
    jar.update(["deep=1; Path=/a/b"], "https://example.com/");
    clock.now += 1;
    jar.update(["mid2=1; Path=/a", "mid1=1; Path=/a"], "https://example.com/");
    clock.now += 1;
    jar.update(["early=1; Path=/"], "https://example.com/");
    assert.equal(
      jar.header("https://example.com/a/b/c"),
      "deep=1; mid2=1; mid1=1; root=1; early=1",
    );
    assert.equal(jar.header("https://example.com/a"), "mid2=1; mid1=1; root=1; early=1");
    assert.equal(jar.header("https://example.com/ab"), "root=1; early=1");
  });

  test("CookieJar.header() matches host-only and domain cookies", () => {
    const { jar } = fakeJar();
    jar.update(["host=1", "dom=1; Domain=example.com"], "https://example.com/");
    assert.equal(jar.header("https://example.com/"), "host=1; dom=1");
    assert.equal(jar.header("https://www.example.com/"), "dom=1");
    assert.equal(jar.header("https://a.b.example.com:8443/"), "dom=1");
    assert.equal(jar.header("https://notexample.com/"), null);
    assert.equal(jar.header("https://com/"), null);
    assert.equal(jar.header(new URL("ws://example.com/")), "host=1; dom=1");
    assert.equal(jar.header("ftp://example.com/"), null);
  });

  test("CookieJar.header() sends Secure cookies over secure schemes only", () => {
    const { jar } = fakeJar();
    jar.update(["s=1; Secure", "p=1"], "https://example.com/");
    assert.equal(jar.header("https://example.com/"), "s=1; p=1");
    assert.equal(jar.header("wss://example.com/"), "s=1; p=1");
    assert.equal(jar.header("http://example.com/"), "p=1");
    assert.equal(jar.header("ws://example.com/"), "p=1");
    jar.update(["l=1; Secure"], "http://localhost/");
    assert.equal(jar.header("http://localhost:3000/"), "l=1");
  });

  test("CookieJar.header() skips and purges expired cookies on the clock", () => {
    const { jar, clock } = fakeJar();
    const future = new Date(T0 + 5_000).toUTCString();
    const far = new Date(T0 + 100 * DAY).toUTCString();
    jar.update([
      "short=1; Max-Age=10",
      `wins=1; Max-Age=10; Expires=${far}`,
      `date=1; Expires=${future}`,
      "session=1",
    ], "https://example.com/");
    clock.now = T0 + 4_999;
    assert.equal(jar.header("https://example.com/"), "short=1; wins=1; date=1; session=1");
    clock.now = T0 + 5_000;
    assert.equal(jar.header("https://example.com/"), "short=1; wins=1; session=1");
    clock.now = T0 + 9_999;
    assert.equal(jar.size, 3);
    clock.now = T0 + 10_000;
    assert.equal(jar.header("https://example.com/"), "session=1");
    assert.equal(jar.size, 1);
  });

  test("CookieJar.header() filters by the SameSite context", () => {
    const { jar } = fakeJar();
    jar.update(
      ["s=1; SameSite=Strict", "l=1; SameSite=Lax", "n=1; SameSite=None; Secure", "d=1"],
      "https://example.com/",
    );
    const url = "https://example.com/";
    assert.equal(jar.header(url), "s=1; l=1; n=1; d=1");
    assert.equal(jar.header(url, { sameSiteContext: "strict" }), "s=1; l=1; n=1; d=1");
    assert.equal(jar.header(url, { sameSiteContext: "lax" }), "l=1; n=1; d=1");
    assert.equal(jar.header(url, { sameSiteContext: "none" }), "n=1; d=1");
  });

  test("CookieJar.header() updates lastAccess", () => {
    const { jar, clock } = fakeJar();
    jar.update(["a=1"], "https://example.com/");
    clock.now += 500;
    jar.header("https://example.com/");
    assert.equal(jar.cookies()[0].lastAccess, T0 + 500);
    assert.equal(jar.cookies()[0].creation, T0);
  });
});

describe("CookieJar listing and clearing", () => {
  test("CookieJar.cookies() lists all or those for a URL, frozen", () => {
    const { jar } = fakeJar();
    jar.update(["a=1", "b=1; Path=/x"], "https://example.com/");
    jar.update(["c=1"], "https://example.org/");
    assert.deepEqual(jar.cookies().map((c) => c.name), ["a", "b", "c"]);
    assert.deepEqual(jar.cookies("https://example.com/x/y").map((c) => c.name), ["b", "a"]);
    assert.ok(Object.isFrozen(jar.cookies()[0]));
  });

  test("CookieJar.clear() removes all or what the predicate picks", () => {
    const { jar } = fakeJar();
    jar.update(["a=1", "b=1", "c=1"], "https://example.com/");
    jar.clear((c) => c.name === "b");
    assert.equal(jar.header("https://example.com/"), "a=1; c=1");
    jar.clear();
    assert.equal(jar.size, 0);
  });

  test("CookieJar.clearDomain() removes a domain and its subdomains", () => {
    const { jar } = fakeJar();
    jar.update(["a=1"], "https://example.com/");
    jar.update(["b=1"], "https://www.example.com/");
    jar.update(["c=1"], "https://notexample.com/");
    jar.clearDomain(".Example.com");
    assert.deepEqual(jar.cookies().map((c) => c.name), ["c"]);
  });
});

describe("CookieJar.save() and load()", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "sluice-jar-"));
    dirs.push(dir);
    return dir;
  }

  test("CookieJar.save() and load() round-trip the cookies", async () => {
    const path = join(await tempDir(), "jar.json");
    const { jar, clock } = fakeJar();
    jar.update(["root=1; Path=/"], "https://example.com/");
    clock.now += 1;
    jar.update([
      'deep="q v"; Path=/a; Secure; HttpOnly; SameSite=Strict; Max-Age=60',
      "dom=1; Domain=example.com; Partitioned; Secure",
    ], "https://example.com/");
    await jar.save(path);
    const copy = fakeJar();
    copy.clock.now = clock.now;
    copy.jar.update(["gone=1"], "https://example.com/");
    await copy.jar.load(path);
    assert.deepEqual(copy.jar.cookies(), jar.cookies());
    assert.equal(copy.jar.header("https://example.com/a"), 'deep="q v"; root=1; dom=1');
    assert.equal(copy.jar.header("https://www.example.com/a"), "dom=1");
  });

  test("CookieJar.load() drops expired cookies", async () => {
    const path = join(await tempDir(), "jar.json");
    const { jar } = fakeJar();
    jar.update(["a=1; Max-Age=10", "b=1"], "https://example.com/");
    await jar.save(path);
    const later = fakeJar();
    later.clock.now = T0 + 10_000;
    await later.jar.load(path);
    assert.deepEqual(later.jar.cookies().map((c) => c.name), ["b"]);
  });

  test("CookieJar.load() rejects a file that is not a saved jar", async () => {
    const dir = await tempDir();
    const { jar } = fakeJar();
    for (
      const [name, text] of [
        ["bad.json", "{"],
        ["version.json", '{"version":2,"cookies":[]}'],
        ["cookie.json", '{"version":1,"cookies":[{"name":"a"}]}'],
      ]
    ) {
      await writeFile(join(dir, name), text);
      await assert.rejects(jar.load(join(dir, name)), TypeError);
    }
    await assert.rejects(jar.load(join(dir, "missing.json")), { code: "ENOENT" });
  });
});

describe("DummyCookieJar", () => {
  test("DummyCookieJar stores nothing", () => {
    const jar = new DummyCookieJar();
    jar.update(["a=1"], "https://example.com/");
    jar.clear();
    jar.clearDomain("example.com");
    assert.equal(jar.size, 0);
    assert.equal(jar.header("https://example.com/"), null);
    assert.deepEqual(jar.cookies(), []);
    assert.deepEqual(jar.cookies("https://example.com/"), []);
  });
});
