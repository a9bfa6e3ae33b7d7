// denoNativeBackend (adapters/_deno_native.ts) runs on Deno only: the shared
// native suite with what Deno does differently. Elsewhere it must refuse to
// listen.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ListenError } from "../../adapters/transport.ts";
import { denoNativeBackend } from "../../adapters/_deno_native.ts";
import { nativeSuite } from "./_native_suite.ts";
import { runtime } from "./_net.ts";

if (runtime !== "deno") {
  test(`denoNativeBackend.listen() on ${runtime} rejects with SLUICE_ERR_LISTEN_UNSUPPORTED (the suite runs on Deno)`, async () => {
    assert.equal(denoNativeBackend.engine, "deno");
    await assert.rejects(
      denoNativeBackend.listen({ hostname: "127.0.0.1", port: 0 }, () => new Response(), {}),
      (error: unknown) =>
        error instanceof ListenError && error.code === "SLUICE_ERR_LISTEN_UNSUPPORTED" &&
        /not Deno/.test(error.message),
    );
  });
} else {
  nativeSuite("denoNativeBackend", denoNativeBackend, {
    engine: "deno",
    // Deno answers with the field but keeps the connection (denoland/deno#9411).
    honoursConnectionClose: false,
    // Deno cannot close connections once its shutdown began: pending handlers get our 503.
    forcedAnswer: "503",
    // Deno.serve has no idle timeout at all.
    idleTimeout: false,
    parser: {
      "bare LF line endings": 200,
      "obs-fold": 400,
      "DEL in a field value": 400,
      "NUL in a field value": 400,
      "no Host in HTTP/1.1": 200,
      "two Host fields": 400,
      "a Host with a bad port": 400,
      // The Host is checked on request.url, where a slash looks like the path.
      "a Host with a slash": 200,
      "Content-Length and Transfer-Encoding": 400,
      "two equal Content-Length fields": 400,
      "gzip before chunked": 501,
      "a request line over 8190 bytes": 414,
      "a field line over 8190 bytes": 200,
      "150 fields": 400,
      "a non-ASCII byte in the target": 400,
      "a lower-case method": 200,
      "an empty line before the request": 200,
      "HTTP/1.2": 400,
      "OPTIONS *": 200,
      "a bad chunk size": 0,
    },
  });
}
