import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type AuthChallenge, BasicAuth, DigestAuth, parseChallenges } from "../../client/auth.ts";

describe("BasicAuth", () => {
  const encodings: [string, string, string][] = [
    ["Aladdin", "open sesame", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="],
    ["test", "123£", "Basic dGVzdDoxMjPCow=="], // RFC 7617 §2.1 UTF-8 example
    ["user", "", "Basic dXNlcjo="],
    ["", "pw", "Basic OnB3"],
    ["ünï", "pa:ss", "Basic w7xuw686cGE6c3M="],
  ];
  for (const [login, password, header] of encodings) {
    test(`BasicAuth.encode() of ${JSON.stringify([login, password])} and back`, () => {
      const auth = new BasicAuth(login, password);
      assert.equal(auth.encode(), header);
      const back = BasicAuth.decode(header);
      assert.equal(back.login, login);
      assert.equal(back.password, password);
    });
  }

  test("BasicAuth refuses ':' in the login and non-strings", () => {
    assert.throws(() => new BasicAuth("a:b", "c"), /login must not contain ":"/);
    assert.throws(() => new BasicAuth(1 as unknown as string), TypeError);
    assert.equal(new BasicAuth("a").password, "");
  });

  test("BasicAuth.decode() accepts any scheme case and surrounding spaces", () => {
    assert.equal(BasicAuth.decode("  bAsIc   dXNlcjpwdw==  ").password, "pw");
  });

  const badHeaders = [
    "Bearer dXNlcjpwdw==",
    "Basic",
    "Basic dXNlcjpwdw== extra",
    "Basic dXNlcnB3", // no colon
    "Basic !!!!",
    "Basic /w==", // 0xff: not UTF-8
    "Basic a",
    "BasicdXNlcjpwdw==",
  ];
  for (const header of badHeaders) {
    test(`BasicAuth.decode() rejects ${JSON.stringify(header)}`, () => {
      assert.throws(() => BasicAuth.decode(header), TypeError);
    });
  }

  const urls: [string, [string, string] | null][] = [
    ["http://example.test/", null],
    ["http://user@example.test/", ["user", ""]],
    ["http://user:pw@example.test/", ["user", "pw"]],
    ["http://:pw@example.test/", ["", "pw"]],
    ["http://j%40ne:p%3Ass%20w@example.test/", ["j@ne", "p:ss w"]],
    ["http://%C3%BC:%E2%82%AC@example.test/", ["ü", "€"]],
  ];
  for (const [url, want] of urls) {
    test(`BasicAuth.fromUrl(${url})`, () => {
      const got = BasicAuth.fromUrl(url);
      if (want === null) assert.equal(got, null);
      else assert.deepEqual([got?.login, got?.password], want);
      assert.deepEqual(BasicAuth.fromUrl(new URL(url)), got);
    });
  }

  test("BasicAuth.fromUrl() rejects malformed percent-encoding and ':' in a decoded login", () => {
    assert.throws(() => BasicAuth.fromUrl("http://a:%E2%82@example.test/"), TypeError);
    assert.throws(() => BasicAuth.fromUrl("http://a%3Ab:c@example.test/"), /must not contain/);
  });
});

describe("parseChallenges()", () => {
  const cases: [string, string | string[], AuthChallenge[]][] = [
    ["one basic", 'Basic realm="x"', [{ scheme: "basic", params: { realm: "x" } }]],
    [
      "quoted commas and escapes",
      'Digest realm="a, \\"b\\"", nonce=abc',
      [{ scheme: "digest", params: { realm: 'a, "b"', nonce: "abc" } }],
    ],
    [
      "RFC 9110 example with two challenges",
      'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
      [
        { scheme: "newauth", params: { realm: "apps", type: "1", title: 'Login to "apps"' } },
        { scheme: "basic", params: { realm: "simple" } },
      ],
    ],
    [
      "token68 and bare schemes",
      "Negotiate abc==, Bearer, NTLM",
      [
        { scheme: "negotiate", params: {}, token68: "abc==" },
        { scheme: "bearer", params: {} },
        { scheme: "ntlm", params: {} },
      ],
    ],
    [
      "several header values, names lower-cased, spaces around '='",
      ['DIGEST Realm = "r"', ' , Basic realm="b",,'],
      [
        { scheme: "digest", params: { realm: "r" } },
        { scheme: "basic", params: { realm: "b" } },
      ],
    ],
    ["empty", "", []],
  ];
  for (const [name, header, want] of cases) {
    test(`parseChallenges() ${name}`, () => {
      assert.deepEqual(parseChallenges(header), want);
    });
  }

  const bad = [
    'realm="x"', // a param before any scheme
    'Basic realm="x',
    'Basic realm="x\\',
    "Basic a=b=",
    'Basic realm="x" junk',
    "Basic abc==, foo=bar", // param after token68
    "Digest foo bar",
    "Basic @",
  ];
  for (const header of bad) {
    test(`parseChallenges() rejects ${JSON.stringify(header)}`, () => {
      assert.throws(() => parseChallenges(header), TypeError);
    });
  }
});

// RFC 7616 §3.9.1
const RFC_SHA256 = 'Digest realm="http-auth@example.org", qop="auth, auth-int", ' +
  'algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", ' +
  'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
const RFC_MD5 = RFC_SHA256.replace("SHA-256", "MD5");
const RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

function mufasa(): DigestAuth {
  return new DigestAuth("Mufasa", "Circle of Life", { cnonce: () => RFC_CNONCE });
}

function params(header: string): Record<string, string> {
  assert.match(header, /^Digest /);
  return parseChallenges(header)[0].params;
}

describe("DigestAuth", () => {
  const vectors: [string, string | string[], string, string][] = [
    [
      "RFC 7616 §3.9.1 SHA-256",
      RFC_SHA256,
      "SHA-256",
      "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    ],
    ["RFC 7616 §3.9.1 MD5", RFC_MD5, "MD5", "8ca523f5e9506fed4657c9700eebdbec"],
    [
      "first supported of several challenges (SHA-256 before MD5)",
      [RFC_SHA256, RFC_MD5],
      "SHA-256",
      "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    ],
    [
      "skips an unsupported algorithm and a Basic challenge",
      ['Basic realm="b"', RFC_SHA256.replace("SHA-256", "SHA-1"), RFC_MD5],
      "MD5",
      "8ca523f5e9506fed4657c9700eebdbec",
    ],
  ];
  for (const [name, challenge, algorithm, response] of vectors) {
    test(`DigestAuth.authorize() ${name}`, () => {
      const digest = mufasa();
      assert.equal(digest.authorize("GET", "/dir/index.html"), null);
      assert.equal(digest.challenge(challenge), true);
      assert.equal(digest.algorithm, algorithm);
      const p = params(digest.authorize("GET", "/dir/index.html")!);
      assert.deepEqual(p, {
        username: "Mufasa",
        realm: "http-auth@example.org",
        uri: "/dir/index.html",
        algorithm,
        nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        nc: "00000001",
        cnonce: RFC_CNONCE,
        qop: "auth",
        response,
        opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
      });
    });
  }

  test("DigestAuth.authorize() SHA-512-256 with userhash (RFC 7616 §3.9.2, errata 4897 values)", {
    skip: !supportsSha512_256(),
  }, () => {
    const digest = new DigestAuth("J\u00e4s\u00f8n Doe", "Secret, or not?", {
      cnonce: () => "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
    });
    assert.ok(digest.challenge(
      'Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, ' +
        'nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", ' +
        'opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8, userhash=true',
    ));
    const p = params(digest.authorize("GET", "/doe.json")!);
    assert.equal(p.username, "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b");
    assert.equal(p.response, "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5");
    assert.equal(p.userhash, "true");
  });

  test("DigestAuth counts nc per nonce and makes a cnonce per request", () => {
    let n = 0;
    const digest = new DigestAuth("u", "p", { cnonce: () => `c${++n}` });
    digest.challenge(RFC_MD5);
    const first = params(digest.authorize("GET", "/a")!);
    const second = params(digest.authorize("GET", "/a")!);
    assert.deepEqual([first.nc, second.nc], ["00000001", "00000002"]);
    assert.deepEqual([first.cnonce, second.cnonce], ["c1", "c2"]);
    assert.notEqual(first.response, second.response);
    assert.equal(digest.nonceCount, 2);
  });

  test("DigestAuth default cnonce is random hex", () => {
    const digest = new DigestAuth("u", "p");
    digest.challenge(RFC_MD5);
    const a = params(digest.authorize("GET", "/")!).cnonce;
    const b = params(digest.authorize("GET", "/")!).cnonce;
    assert.match(a, /^[0-9a-f]{32}$/);
    assert.notEqual(a, b);
  });

  test("DigestAuth.challenge() refuses a second non-stale challenge after use, accepts stale=true", () => {
    const digest = mufasa();
    assert.equal(digest.challenge(RFC_MD5), true);
    assert.equal(digest.challenge(RFC_MD5), true, "unused challenge may be replaced");
    digest.authorize("GET", "/");
    assert.equal(digest.challenge(RFC_MD5.replace('nonce="7y', 'nonce="8y')), false);
    const stale = RFC_MD5.replace('nonce="7y', 'nonce="9y') + ", stale=TRUE";
    assert.equal(digest.challenge(stale), true);
    assert.equal(digest.nonceCount, 0);
    const p = params(digest.authorize("GET", "/")!);
    assert.equal(p.nonce, "9ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
    assert.equal(p.nc, "00000001");
  });

  test("DigestAuth.challenge() returns false for no usable challenge", () => {
    const digest = mufasa();
    for (
      const header of [
        'Basic realm="x"',
        'Digest nonce="n"', // no realm
        'Digest realm="r"', // no nonce
        'Digest realm="r", nonce="n", qop="other"',
        'Digest realm="r", nonce="n", algorithm=SHA-1',
        'Digest realm="r', // malformed
      ]
    ) {
      assert.equal(digest.challenge(header), false, header);
    }
    assert.equal(digest.algorithm, null);
  });

  const variants: [string, string, (s: { ha1: string; ha2: string; body: string }) => string][] = [
    [
      "MD5-sess",
      'Digest realm="r", nonce="n", qop="auth", algorithm=MD5-sess',
      ({ ha2 }) => md5(`${md5(`${md5("u:r:p")}:n:c`)}:n:00000001:c:auth:${ha2}`),
    ],
    [
      "no qop (RFC 2069)",
      'Digest realm="r", nonce="n"',
      ({ ha1, ha2 }) => md5(`${ha1}:n:${ha2}`),
    ],
    [
      "auth-int hashes the body",
      'Digest realm="r", nonce="n", qop="auth-int"',
      ({ ha1, body }) => md5(`${ha1}:n:00000001:c:auth-int:${md5(`PUT:/x:${md5(body)}`)}`),
    ],
  ];
  for (const [name, challenge, expected] of variants) {
    test(`DigestAuth.authorize() ${name}`, () => {
      const digest = new DigestAuth("u", "p", { cnonce: () => "c" });
      assert.ok(digest.challenge(challenge));
      const body = "hello";
      const p = params(digest.authorize("PUT", "/x", new TextEncoder().encode(body))!);
      assert.equal(
        p.response,
        expected({ ha1: md5("u:r:p"), ha2: md5("PUT:/x"), body }),
      );
      if (name.startsWith("no qop")) assert.ok(!("nc" in p) && !("qop" in p) && !("cnonce" in p));
    });
  }

  test("DigestAuth.authorize() SHA-256-sess", async () => {
    const { createHash } = await import("node:crypto");
    const sha = (s: string) => createHash("sha256").update(s).digest("hex");
    const digest = new DigestAuth("u", "p", { cnonce: () => "c" });
    assert.ok(digest.challenge('Digest realm="r", nonce="n", qop=auth, algorithm=sha-256-SESS'));
    const p = params(digest.authorize("GET", "/")!);
    assert.equal(p.algorithm, "SHA-256-sess");
    const ha1 = sha(`${sha("u:r:p")}:n:c`);
    assert.equal(p.response, sha(`${ha1}:n:00000001:c:auth:${sha("GET:/")}`));
  });

  test("DigestAuth quotes special characters and uses username* for non-ASCII", () => {
    const quoted = new DigestAuth('a"b\\c', "p");
    quoted.challenge('Digest realm="r", nonce="n"');
    assert.equal(params(quoted.authorize("GET", "/")!).username, 'a"b\\c');
    const utf = new DigestAuth("ünï", "p");
    utf.challenge('Digest realm="r", nonce="n"');
    assert.match(utf.authorize("GET", "/")!, /username\*=UTF-8''%C3%BCn%C3%AF/);
  });
});

import { createHash } from "node:crypto";

function md5(s: string): string {
  return createHash("md5").update(s).digest("hex");
}

function supportsSha512_256(): boolean {
  try {
    createHash("sha512-256");
    return true;
  } catch {
    return false;
  }
}
