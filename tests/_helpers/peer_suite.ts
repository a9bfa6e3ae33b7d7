// The ClientSession checks run against each real peer (tests/client/peers_*_test.ts).
// A peer serves the routes of tests/_helpers/peer_routes.ts.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { CookieJar } from "../../client/cookie_jar.ts";
import { ClientSession } from "../../client/session.ts";
import type { ClientResponse } from "../../client/response.ts";
import { pattern, sameBytes, within } from "../adapters/_net.ts";
import {
  Checksum,
  checksumOf,
  CHUNKED_TEXT,
  GZIP_TEXT,
  LARGE_SIZE,
  largeBytes,
} from "./peer_routes.ts";

/** A running peer. */
export interface Peer {
  url: string;
  close(): Promise<void>;
}

/** Bounds every wait of the suite. */
const LIMIT = 30_000;

/**
 * Declares the suite for one peer. `skip` is false or the reason the peer
 * is unavailable here (shown by the runner).
 */
export function peerSuite(name: string, skip: false | string, start: () => Promise<Peer>): void {
  describe(`ClientSession against ${name}`, { skip, timeout: 120_000 }, () => {
    let peer: Peer | null = null;
    const sessions: ClientSession[] = [];
    let base = "";
    let session!: ClientSession;

    const open = (): ClientSession => {
      const s = new ClientSession({ baseUrl: base, timeout: { total: LIMIT } });
      sessions.push(s);
      return s;
    };
    const get = (path: string, init?: Parameters<ClientSession["get"]>[1]) =>
      within(session.get(path, init), LIMIT, `GET ${name}${path}`);
    const text = (res: ClientResponse) => within(res.text(), LIMIT, `body of ${res.url}`);

    before(async () => {
      peer = await within(start(), LIMIT, `${name} to start`);
      base = peer.url;
      session = open();
    });

    after(async () => {
      await Promise.all(sessions.map((s) => within(s.close(), 5000, "session close")));
      if (peer !== null) await within(peer.close(), 10_000, `${name} to stop`);
    });

    test("GET a small body", async () => {
      const res = await get("/small");
      assert.equal(res.status, 200);
      assert.equal(await text(res), "hello");
    });

    test("GET a large body, streamed, with its checksum", async () => {
      const res = await get("/large");
      assert.equal(res.status, 200);
      const sum = new Checksum();
      let chunks = 0;
      await within(
        (async () => {
          for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
            sum.update(chunk);
            chunks++;
          }
        })(),
        LIMIT,
        "the large body",
      );
      assert.equal(sum.bytes, LARGE_SIZE);
      assert.equal(sum.value, checksumOf(largeBytes()));
      assert.ok(chunks > 1, "more than one chunk (streamed)");
    });

    test("keep-alive: sequential requests reuse one server-side connection", async () => {
      const own = open();
      const seen = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const res = await within(own.get("/conn"), LIMIT, "GET /conn");
        seen.add(await text(res));
      }
      assert.equal(seen.size, 1, `one connection, saw ${[...seen].join(", ")}`);
      assert.equal(own.connector.stats().opened, 1);
    });

    test("a chunked response", async () => {
      const res = await get("/chunked");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-length"), null);
      assert.equal(res.headers.get("transfer-encoding"), "chunked");
      assert.equal(await text(res), CHUNKED_TEXT);
    });

    test("a gzip response is decoded", async () => {
      const res = await get("/gzip", { headers: { "accept-encoding": "gzip" } });
      assert.equal(res.status, 200);
      assert.equal(await text(res), GZIP_TEXT);
      const raw = await get("/gzip", {
        headers: { "accept-encoding": "gzip" },
        autoDecompress: false,
      });
      assert.equal(raw.headers.get("content-encoding"), "gzip");
      const bytes = new Uint8Array(await within(raw.arrayBuffer(), LIMIT, "raw gzip body"));
      assert.deepEqual([bytes[0], bytes[1]], [0x1f, 0x8b], "gzip on the wire");
    });

    test("POST 1 MiB, echoed", async () => {
      const body = pattern(1024 * 1024);
      const res = await within(session.post("/echo", { data: body }), LIMIT, "POST /echo");
      assert.equal(res.status, 200);
      const back = new Uint8Array(await within(res.arrayBuffer(), LIMIT, "echo body"));
      assert.equal(back.length, body.length);
      assert.ok(sameBytes(back, body), "the same bytes");
    });

    test("cookies round trip (an IP host needs an unsafe jar)", async () => {
      const own = new ClientSession({
        baseUrl: base,
        timeout: { total: LIMIT },
        cookieJar: new CookieJar({ unsafe: true }),
      });
      sessions.push(own);
      const set = await within(own.get("/set-cookie"), LIMIT, "GET /set-cookie");
      await text(set);
      const res = await within(own.get("/cookies"), LIMIT, "GET /cookies");
      assert.equal(await text(res), "peer=v1");
    });

    test("a redirect is followed", async () => {
      const res = await get("/redirect");
      assert.equal(res.status, 200);
      assert.equal(await text(res), "hello");
      assert.equal(res.redirected, true);
      assert.equal(new URL(res.url).pathname, "/small");
      assert.equal(res.history.length, 1);
      assert.equal(res.history[0].status, 302);
    });

    test("HEAD has no body and leaves the connection usable", async () => {
      const own = open();
      const res = await within(own.head("/small"), LIMIT, "HEAD /small");
      assert.equal(res.status, 200);
      assert.equal(await text(res), "");
      const next = await within(own.get("/small"), LIMIT, "GET after HEAD");
      assert.equal(await text(next), "hello");
      assert.equal(own.connector.stats().opened, 1);
    });

    test("204 and 304 have no body", async () => {
      const own = open();
      const empty = await within(own.get("/204"), LIMIT, "GET /204");
      assert.equal(empty.status, 204);
      assert.equal(await text(empty), "");
      const same = await within(
        own.get("/304", { headers: { "if-none-match": '"v1"' } }),
        LIMIT,
        "GET /304",
      );
      assert.equal(same.status, 304);
      assert.equal(await text(same), "");
      const next = await within(own.get("/small"), LIMIT, "GET after 304");
      assert.equal(await text(next), "hello");
    });

    test("100 sequential and 100 concurrent requests", async () => {
      const own = open();
      for (let i = 0; i < 100; i++) {
        const res = await within(own.get("/small"), LIMIT, `sequential GET ${i}`);
        assert.equal(await text(res), "hello");
      }
      assert.equal(own.connector.stats().opened, 1, "sequential requests share one connection");
      const bodies = await within(
        Promise.all(
          Array.from({ length: 100 }, async () => (await own.get("/small")).text()),
        ),
        LIMIT,
        "100 concurrent GETs",
      );
      assert.deepEqual(new Set(bodies), new Set(["hello"]));
      assert.equal(bodies.length, 100);
    });

    test("the pool stats end empty", async () => {
      for (const s of sessions) {
        const stats = s.connector.stats();
        assert.equal(stats.inUse, 0, "no connection in use");
        assert.equal(stats.waiting, 0, "no waiter");
      }
      await Promise.all(sessions.map((s) => within(s.close(), 5000, "session close")));
      for (const s of sessions) assert.equal(s.connector.stats().open, 0, "all closed");
    });
  });
}
