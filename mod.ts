/**
 * Sluice: an asynchronous HTTP toolkit for TypeScript, written for Deno and
 * Bun first and running on Node. It aims to be what aiohttp is to Python: an
 * HTTP/1.1 client with a connection pool, a server framework, WebSocket on
 * both sides and streaming bodies and multipart, all speaking the web
 * platform's `Request`, `Response`, `Headers` and `ReadableStream`.
 *
 * This entry point re-exports each finished part: the sans-I/O HTTP/1.1
 * codec (also at `@sluice/http/http1`), the server and its framework — raw
 * engine, lifecycle, `runApp`, `Application` — (also at
 * `@sluice/http/server`; runtime bindings at `@sluice/http/adapters/node`,
 * `/deno`, `/bun`), the HTTP client — `ClientSession` — (also at
 * `@sluice/http/client`), and {@linkcode SluiceError}, the base class of
 * every error Sluice throws on purpose.
 *
 * @example Every Sluice error has a stable code
 * ```ts
 * import { SluiceError } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const err = new SluiceError("SLUICE_ERR_EXAMPLE", "Cannot do it: reason");
 * assert.ok(err instanceof SluiceError);
 * assert.equal(err.code, "SLUICE_ERR_EXAMPLE");
 * ```
 *
 * @module
 */

export * from "./http1/mod.ts";
export * from "./server/mod.ts";
export * from "./client/mod.ts";
export { SluiceError } from "./util/errors.ts";
