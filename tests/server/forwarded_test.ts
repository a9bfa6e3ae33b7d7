import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Address } from "../../adapters/transport.ts";
import type { TrustProxyOptions } from "../../server/types.ts";
import { resolveForwarded, validateTrustProxy } from "../../server/forwarded.ts";

const tcp = (hostname: string, port = 0): Address => ({
  transport: "tcp",
  hostname,
  port,
  family: hostname.includes(":") ? "IPv6" : "IPv4",
});

const LOCAL_PEER = tcp("127.0.0.1", 51000);
const CLIENT = "203.0.113.7";

interface Case {
  name: string;
  headers: Record<string, string | string[]>;
  trust?: TrustProxyOptions | boolean;
  peer?: Address;
  secure?: boolean;
  /** Expected client address: a hostname (port 0), an Address, or undefined for the peer. */
  address?: string | Address;
  https?: boolean;
  host?: string | null;
}

/** Reads like `IncomingRequest.header`: case-insensitive, repeated fields joined with ", ". */
function reader(headers: Record<string, string | string[]>): (name: string) => string | null {
  const map = new Map<string, string>();
  for (const [key, value] of Object.entries(headers)) {
    map.set(key.toLowerCase(), Array.isArray(value) ? value.join(", ") : value);
  }
  return (name) => map.get(name.toLowerCase()) ?? null;
}

function run(c: Case): void {
  const peer = c.peer ?? LOCAL_PEER;
  let trust = "trust" in c ? c.trust : { hops: 1 };
  // Cases with a Forwarded field read that family (the default is X-Forwarded-*).
  const hasForwarded = Object.keys(c.headers).some((k) => k.toLowerCase() === "forwarded");
  if (hasForwarded && typeof trust === "object" && trust.headers === undefined) {
    trust = { ...trust, headers: "forwarded" };
  }
  const view = resolveForwarded(
    reader(c.headers),
    { remoteAddress: peer, secure: c.secure ?? false },
    trust,
  );
  const address = c.address === undefined
    ? peer
    : typeof c.address === "string"
    ? tcp(c.address)
    : c.address;
  assert.deepEqual(view.remoteAddress, address, "remoteAddress");
  assert.equal(view.secure, c.https ?? c.secure ?? false, "secure");
  assert.equal(view.host, c.host ?? null, "host");
}

const cases: Case[] = [
  // Without trust nothing is read.
  {
    name: "no trust: X-Forwarded-* ignored",
    trust: undefined,
    headers: { "x-forwarded-for": CLIENT, "x-forwarded-proto": "https", "x-forwarded-host": "a.b" },
  },
  {
    name: "trust false: Forwarded ignored",
    trust: false,
    headers: { forwarded: `for=${CLIENT};proto=https;host=a.b` },
  },
  { name: "trust, no headers: the socket's view", headers: {}, secure: true },
  // X-Forwarded-*.
  {
    name: "trust true: X-Forwarded-For, -Proto, -Host",
    trust: true,
    headers: {
      "x-forwarded-for": CLIENT,
      "x-forwarded-proto": "https",
      "x-forwarded-host": "example.com:8443",
    },
    address: CLIENT,
    https: true,
    host: "example.com:8443",
  },
  {
    name: "family: by default a client's own Forwarded is ignored, X-Forwarded-For read",
    trust: { hops: 1, headers: "x-forwarded" },
    headers: { forwarded: "for=6.6.6.6;proto=https;host=evil.example", "x-forwarded-for": CLIENT },
    address: CLIENT,
  },
  {
    name: "family: with headers forwarded, X-Forwarded-* are ignored",
    trust: { hops: 1, headers: "forwarded" },
    headers: { "x-forwarded-for": "6.6.6.6", "x-forwarded-proto": "https" },
  },
  {
    name: "spoofing: a client-supplied leftmost X-Forwarded-For loses with hops=1",
    headers: { "x-forwarded-for": `6.6.6.6, ${CLIENT}` },
    address: CLIENT,
  },
  {
    name: "spoofing: several client-supplied entries lose with hops=1",
    headers: { "x-forwarded-for": ["1.1.1.1, 6.6.6.6", CLIENT] },
    address: CLIENT,
  },
  {
    name: "hops=2 takes the second entry from the right",
    trust: { hops: 2 },
    headers: { "x-forwarded-for": `6.6.6.6, ${CLIENT}, 10.0.0.2` },
    address: CLIENT,
  },
  {
    name: "hops larger than the list takes the leftmost",
    trust: { hops: 3 },
    headers: { "x-forwarded-for": `${CLIENT}, 10.0.0.2` },
    address: CLIENT,
  },
  {
    name: "empty list entries are skipped",
    headers: { "x-forwarded-for": `6.6.6.6, ${CLIENT} , ,` },
    address: CLIENT,
  },
  {
    name: "X-Forwarded-For IPv6, bracketed, with ports",
    trust: { hops: 2 },
    headers: { "x-forwarded-for": "[2001:DB8:0:0::1]:4711, 198.51.100.1:8080" },
    address: tcp("2001:db8::1", 4711),
  },
  {
    name: "X-Forwarded-For IPv4 with a port",
    headers: { "x-forwarded-for": "198.51.100.1:8080" },
    address: tcp("198.51.100.1", 8080),
  },
  {
    name: "X-Forwarded-For bare IPv6 is normalised",
    headers: { "x-forwarded-for": "2001:0db8:0000:0000:0000:0000:0000:0001" },
    address: "2001:db8::1",
  },
  {
    name: "X-Forwarded-For IPv4-mapped IPv6 becomes IPv4",
    headers: { "x-forwarded-for": "::ffff:203.0.113.7" },
    address: CLIENT,
  },
  {
    name: "X-Forwarded-For unknown keeps the peer",
    headers: { "x-forwarded-for": `${CLIENT}, unknown` },
  },
  {
    name: "X-Forwarded-For garbage keeps the peer",
    headers: { "x-forwarded-for": "not-an-ip" },
  },
  {
    name: "X-Forwarded-For out-of-range octet keeps the peer",
    headers: { "x-forwarded-for": "256.1.1.1" },
  },
  {
    name: "X-Forwarded-For leading zeros (octal in some parsers) keep the peer",
    headers: { "x-forwarded-for": "010.0.0.1" },
  },
  {
    name: "X-Forwarded-For with a bad port keeps the peer",
    headers: { "x-forwarded-for": "1.2.3.4:99999" },
  },
  {
    name: "X-Forwarded-For with two gaps keeps the peer",
    headers: { "x-forwarded-for": "1::2::3" },
  },
  {
    name: "X-Forwarded-Proto rightmost wins (spoofed https before the proxy's http)",
    headers: { "x-forwarded-proto": "https, http" },
    https: false,
  },
  {
    name: "X-Forwarded-Proto is case-insensitive",
    headers: { "x-forwarded-proto": "HTTPS" },
    https: true,
  },
  {
    name: "X-Forwarded-Proto http over a TLS socket means the client used http",
    secure: true,
    headers: { "x-forwarded-proto": "http" },
    https: false,
  },
  {
    name: "X-Forwarded-Proto other schemes are ignored",
    secure: true,
    headers: { "x-forwarded-proto": "gopher" },
    https: true,
  },
  {
    name: "X-Forwarded-Host rightmost wins",
    headers: { "x-forwarded-host": "evil.example, good.example" },
    host: "good.example",
  },
  {
    name: "X-Forwarded-Host bracketed IPv6 with a port",
    headers: { "x-forwarded-host": "[::1]:8080" },
    host: "[::1]:8080",
  },
  ...[
    "a.b/c",
    "a.b?x",
    "user@a.b",
    "a b",
    "a.b:",
    "a.b:99999",
    "a.b:8x",
    ":80",
    "[::1",
    "[zz::1]",
    "[::1]x",
    "a.b#f",
    "a%2fb",
    "x".repeat(254),
  ].map((bad): Case => ({
    name: `X-Forwarded-Host "${bad.slice(0, 20)}" is refused`,
    headers: { "x-forwarded-host": bad, "x-forwarded-for": CLIENT },
    address: CLIENT,
  })),
  // Forwarded (RFC 7239).
  {
    name: "Forwarded for/proto/host",
    headers: { forwarded: `for=${CLIENT};proto=https;host=example.com` },
    address: CLIENT,
    https: true,
    host: "example.com",
  },
  {
    name: "Forwarded quoted IPv6 with a port (RFC 7239 example)",
    headers: { forwarded: 'For="[2001:db8:cafe::17]:4711"' },
    address: tcp("2001:db8:cafe::17", 4711),
  },
  {
    name: "Forwarded parameter names are case-insensitive, whitespace around ; and , allowed",
    headers: { forwarded: `FOR=${CLIENT} ; Proto=HTTPS ; HOST="a.example"` },
    address: CLIENT,
    https: true,
    host: "a.example",
  },
  {
    name: "Forwarded takes the last element with hops=1 (spoofed first element loses)",
    headers: { forwarded: `for=6.6.6.6;proto=https;host=evil.example, for=${CLIENT};proto=http` },
    address: CLIENT,
    https: false,
  },
  {
    name: "Forwarded across header lines joined with a comma",
    headers: { forwarded: ["for=6.6.6.6", `for=${CLIENT}`] },
    address: CLIENT,
  },
  {
    name: "Forwarded hops=2",
    trust: { hops: 2 },
    headers: { forwarded: `for=6.6.6.6, for=${CLIENT};proto=https, for=10.0.0.2` },
    address: CLIENT,
    https: true,
  },
  {
    name: "Forwarded commas and semicolons inside quoted strings do not split",
    headers: { forwarded: `for=6.6.6.6;by="a,b;c", for="${CLIENT}";x="q\\"uote, d"` },
    address: CLIENT,
  },
  {
    name: "Forwarded: the by parameter and extensions are ignored",
    headers: { forwarded: `by=10.0.0.1;for=${CLIENT};ext=x` },
    address: CLIENT,
  },
  {
    name: "Forwarded for=unknown keeps the peer but uses proto",
    headers: { forwarded: "for=unknown;proto=https" },
    https: true,
  },
  {
    name: "Forwarded obfuscated node keeps the peer",
    headers: { forwarded: "for=_hidden;host=a.example" },
    host: "a.example",
  },
  {
    name: "Forwarded obfuscated port reads as 0",
    headers: { forwarded: `for="${CLIENT}:_p1"` },
    address: CLIENT,
  },
  {
    name: "Forwarded without for keeps the peer",
    headers: { forwarded: "proto=https" },
    https: true,
  },
  {
    name: "Forwarded bare IPv6 in quotes (a common proxy config) is accepted",
    headers: { forwarded: 'for="::1"' },
    address: tcp("::1"),
  },
  {
    name: "Forwarded present: X-Forwarded-* are ignored",
    headers: {
      forwarded: `for=${CLIENT}`,
      "x-forwarded-for": "6.6.6.6",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "evil.example",
    },
    address: CLIENT,
  },
  {
    name: "Forwarded unclosed quote: the socket's view",
    headers: { forwarded: `for="${CLIENT}`, "x-forwarded-for": "6.6.6.6" },
  },
  {
    name: "Forwarded: a client's unclosed quote swallows the proxy's element, so the socket wins",
    headers: { forwarded: ['for="6.6.6.6', `for=${CLIENT}`] },
  },
  {
    name: "Forwarded trailing backslash in a quoted string: the socket's view",
    headers: { forwarded: `for="${CLIENT}\\` },
  },
  {
    name: "Forwarded repeated parameter makes the element bad",
    headers: { forwarded: `for=${CLIENT};for=6.6.6.6;proto=https` },
  },
  {
    name: "Forwarded bad element elsewhere does not matter",
    headers: { forwarded: `for=6.6.6.6;for=1.1.1.1, for=${CLIENT}` },
    address: CLIENT,
  },
  {
    name: "Forwarded bad chosen element: nothing of it is used",
    headers: { forwarded: `for=6.6.6.6, proto=https;junk;for=${CLIENT}` },
  },
  {
    name: "Forwarded empty value makes the element bad",
    headers: { forwarded: "for=;proto=https" },
  },
  {
    name: "Forwarded space around = is malformed",
    headers: { forwarded: `for = ${CLIENT}` },
  },
  {
    name: "Forwarded junk after a quoted value is malformed",
    headers: { forwarded: `for="${CLIENT}"x;proto=https` },
  },
  {
    name: "Forwarded unquoted IPv6 with brackets is accepted leniently",
    headers: { forwarded: "for=[2001:db8::1]:80" },
    address: tcp("2001:db8::1", 80),
  },
  {
    name: "Forwarded [IPv4] is refused",
    headers: { forwarded: `for="[${CLIENT}]"` },
  },
  {
    name: "Forwarded empty port is refused",
    headers: { forwarded: 'for="[::1]:"' },
  },
  {
    name: "Forwarded bad host ignored, the rest used",
    headers: { forwarded: `for=${CLIENT};host="a.example/evil"` },
    address: CLIENT,
  },
  {
    name: "Forwarded only empty elements: the socket's view, X-Forwarded-For still ignored",
    headers: { forwarded: " , ,", "x-forwarded-for": "6.6.6.6" },
  },
  {
    name: "Forwarded host with a quoted-pair",
    headers: { forwarded: 'host="a\\.example"' },
    host: "a.example",
  },
];

const peerCases: Case[] = [
  {
    name: "from: exact address matches",
    trust: { from: ["127.0.0.1"] },
    headers: { "x-forwarded-for": CLIENT },
    address: CLIENT,
  },
  {
    name: "from: another address does not",
    trust: { from: ["127.0.0.2"] },
    headers: { "x-forwarded-for": CLIENT },
  },
  {
    name: "from: an IPv4-mapped peer matches its IPv4 entry",
    trust: { from: ["10.1.2.3"] },
    peer: tcp("::ffff:10.1.2.3", 4000),
    headers: { "x-forwarded-for": CLIENT },
    address: CLIENT,
  },
  {
    name: "from: an IPv4-mapped entry matches an IPv4 peer",
    trust: { from: ["::FFFF:127.0.0.1"] },
    headers: { "x-forwarded-for": CLIENT },
    address: CLIENT,
  },
  {
    name: "from: IPv6 entries compare by value, not text",
    trust: { from: ["2001:db8:0:0:0:0:0:1"] },
    peer: tcp("2001:db8::1", 4000),
    headers: { "x-forwarded-for": CLIENT },
    address: CLIENT,
  },
  {
    name: "from: a zone index on the peer is ignored",
    trust: { from: ["fe80::1"] },
    peer: tcp("fe80::1%eth0", 4000),
    headers: { "x-forwarded-for": CLIENT },
    address: CLIENT,
  },
  ...["127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.2"].map((ip): Case => ({
    name: `from: loopback matches ${ip}`,
    trust: { from: ["loopback"] },
    peer: tcp(ip, 4000),
    headers: { "x-forwarded-for": CLIENT },
    address: CLIENT,
  })),
  ...["128.0.0.1", "10.0.0.1", "::2", "::127.0.0.1"].map((ip): Case => ({
    name: `from: loopback does not match ${ip}`,
    trust: { from: ["loopback"] },
    peer: tcp(ip, 4000),
    headers: { "x-forwarded-for": CLIENT },
  })),
  ...["10.9.8.7", "172.16.0.1", "172.31.255.255", "192.168.1.1", "fd12::1", "fc00::"].map((
    ip,
  ): Case => ({
    name: `from: private matches ${ip}`,
    trust: { from: ["private"] },
    peer: tcp(ip, 4000),
    headers: { "x-forwarded-for": CLIENT },
    address: CLIENT,
  })),
  ...["172.32.0.1", "172.15.255.255", "192.169.0.1", "11.0.0.1", "fe00::1", "127.0.0.1"].map((
    ip,
  ): Case => ({
    name: `from: private does not match ${ip}`,
    trust: { from: ["private"] },
    peer: tcp(ip, 4000),
    headers: { "x-forwarded-for": CLIENT },
  })),
  {
    name: "from: CIDR ranges (IPv4)",
    trust: { from: ["198.51.100.0/24"] },
    peer: tcp("198.51.100.200", 4000),
    headers: { "x-forwarded-for": CLIENT },
    address: CLIENT,
  },
  {
    name: "from: CIDR ranges (IPv4) exclude outside",
    trust: { from: ["198.51.100.0/25"] },
    peer: tcp("198.51.100.200", 4000),
    headers: { "x-forwarded-for": CLIENT },
  },
  {
    name: "from: CIDR ranges (IPv6)",
    trust: { from: ["2001:db8::/32"] },
    peer: tcp("2001:db8:ffff::1", 4000),
    headers: { "x-forwarded-for": CLIENT },
    address: CLIENT,
  },
  {
    name: "from: unix matches a Unix socket peer",
    trust: { from: ["unix"] },
    peer: { transport: "unix", path: "" },
    headers: { "x-forwarded-for": CLIENT },
    address: CLIENT,
  },
  {
    name: "from: a Unix socket peer needs unix",
    trust: { from: ["loopback"] },
    peer: { transport: "unix", path: "" },
    headers: { "x-forwarded-for": CLIENT },
  },
  {
    name: "from: a TCP peer does not match unix",
    trust: { from: ["unix"] },
    headers: { "x-forwarded-for": CLIENT },
  },
  {
    name: "from: empty list trusts no one",
    trust: { from: [] },
    headers: { "x-forwarded-for": CLIENT },
  },
  {
    name: "from: omitted trusts any peer, Unix included",
    trust: {},
    peer: { transport: "unix", path: "/run/app.sock" },
    headers: { "x-forwarded-for": CLIENT },
    address: CLIENT,
  },
  {
    name: "an untrusted peer: Forwarded ignored too",
    trust: { from: ["loopback"] },
    peer: tcp("198.51.100.9", 4000),
    secure: true,
    headers: { forwarded: `for=${CLIENT};proto=http;host=a.example` },
  },
];

describe("resolveForwarded()", () => {
  for (const c of cases) test(`resolveForwarded() ${c.name}`, () => run(c));
});

describe("resolveForwarded() trust.from", () => {
  for (const c of peerCases) test(`resolveForwarded() ${c.name}`, () => run(c));
});

describe("resolveForwarded() robustness", () => {
  test("resolveForwarded() never throws on hostile header values", () => {
    const pieces = ['"', "\\", ",", ";", "=", "for", "proto", "host", "[", "]", ":", " ", "_", "1"];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let k = 0; k < 3000; k++) {
      let value = "";
      const length = next() % 24;
      for (let j = 0; j < length; j++) value += pieces[next() % pieces.length];
      const view = resolveForwarded(
        reader({ forwarded: value, "x-forwarded-for": value, "x-forwarded-host": value }),
        { remoteAddress: LOCAL_PEER, secure: false },
        { hops: 1 + (k % 3) },
      );
      assert.ok(view.remoteAddress.transport === "tcp", value);
      if (view.host !== null) assert.doesNotMatch(view.host, /[\s"\\,;/]/, value);
    }
  });

  test("resolveForwarded() reads no header without trust", () => {
    const view = resolveForwarded(
      () => assert.fail("header() must not be called"),
      { remoteAddress: LOCAL_PEER, secure: false },
      undefined,
    );
    assert.equal(view.remoteAddress, LOCAL_PEER);
  });

  test("resolveForwarded() reads no header from an untrusted peer", () => {
    const view = resolveForwarded(
      () => assert.fail("header() must not be called"),
      { remoteAddress: tcp("198.51.100.9"), secure: false },
      { from: ["loopback"] },
    );
    assert.equal(view.remoteAddress.transport, "tcp");
  });
});

describe("validateTrustProxy()", () => {
  test("validateTrustProxy() accepts addresses, ranges and keywords", () => {
    validateTrustProxy(undefined);
    validateTrustProxy(true);
    validateTrustProxy(false);
    validateTrustProxy({});
    validateTrustProxy({
      hops: 3,
      from: ["loopback", "private", "unix", "::1", "10.0.0.0/8", "fd00::/8", "1.2.3.4/32"],
    });
  });

  for (
    const from of ["localhost", "10.0.0.0/33", "::/129", "1.2.3.4/x", "", "1.2.3", "10.0.0.0/"]
  ) {
    test(`validateTrustProxy() refuses from entry "${from}" with TypeError`, () => {
      assert.throws(() => validateTrustProxy({ from: [from] }), TypeError);
      assert.throws(
        () =>
          resolveForwarded(() => null, { remoteAddress: LOCAL_PEER, secure: false }, {
            from: [from],
          }),
        TypeError,
      );
    });
  }

  for (const hops of [0, -1, 1.5, Number.NaN, Infinity]) {
    test(`validateTrustProxy() refuses hops ${hops} with RangeError`, () => {
      assert.throws(() => validateTrustProxy({ hops }), RangeError);
    });
  }
});
