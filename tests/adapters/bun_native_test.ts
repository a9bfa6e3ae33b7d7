// bunNativeBackend (adapters/_bun_native.ts) runs on Bun only: the shared
// native suite with what Bun does differently. Elsewhere it must refuse to
// listen.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ListenError } from "../../adapters/transport.ts";
import { bunNativeBackend } from "../../adapters/_bun_native.ts";
import { nativeSuite } from "./_native_suite.ts";
import { runtime } from "./_net.ts";

if (runtime !== "bun") {
  test(`bunNativeBackend.listen() on ${runtime} rejects with SLUICE_ERR_LISTEN_UNSUPPORTED (the suite runs on Bun)`, async () => {
    assert.equal(bunNativeBackend.engine, "bun");
    await assert.rejects(
      bunNativeBackend.listen({ hostname: "127.0.0.1", port: 0 }, () => new Response(), {}),
      (error: unknown) =>
        error instanceof ListenError && error.code === "SLUICE_ERR_LISTEN_UNSUPPORTED" &&
        /not Bun/.test(error.message),
    );
  });
} else {
  nativeSuite("bunNativeBackend", bunNativeBackend, {
    engine: "bun",
    honoursConnectionClose: true,
    // Bun's stop(true) closes the connections.
    forcedAnswer: "close",
    // Bun's idleTimeout, in seconds on a 4-second tick.
    idleTimeout: true,
    parser: {
      "bare LF line endings": 505,
      "obs-fold": 400,
      "DEL in a field value": 200,
      "NUL in a field value": 400,
      "no Host in HTTP/1.1": 400,
      // The host is checked on request.url, which Bun builds from the first Host.
      "two Host fields": 200,
      "a Host with a bad port": 400,
      "a Host with a slash": 400,
      "Content-Length and Transfer-Encoding": 400,
      "two equal Content-Length fields": 400,
      "gzip before chunked": 400,
      "a request line over 8190 bytes": 414,
      "a field line over 8190 bytes": 200,
      "150 fields": 200,
      "a non-ASCII byte in the target": 200,
      "a lower-case method": 0,
      "an empty line before the request": 400,
      "HTTP/1.2": 505,
      "OPTIONS *": 400,
      "a bad chunk size": 200,
    },
  });
}
