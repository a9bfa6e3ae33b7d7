/**
 * A per-route request body size limit as a middleware.
 *
 * @module
 */

import { HttpRequestEntityTooLarge } from "../_http_client_errors.ts";
import type { ServerRequest } from "../server_request.ts";
import type { Middleware } from "./compose.ts";

/**
 * A body size limit for the requests it sees (a route, a group, or the whole
 * app), instead of the application's `clientMaxSize`; it can lower it (a
 * login form) or raise it (an upload route). Three checks, all answering 413
 * (`HttpRequestEntityTooLarge`):
 *
 * 1. up front, when `Content-Length` is larger: the handler does not run and
 *    the body is not read (a client that sent `Expect: 100-continue` is
 *    answered before it sends the body);
 * 2. the buffered reads (`req.bytes()`, `text()`, `json()`, `formData()`…),
 *    through the request's `clientMaxSize`;
 * 3. streaming reads of `req.body` without `Content-Length` (chunked): the
 *    stream fails with the 413 error once more than `maxBytes` came, so a
 *    handler that lets it escape answers 413.
 *
 * The server's own `maxBodySize` still applies on top: raising the limit
 * here beyond it has no effect. Combined with `compress({ decompressRequests })`
 * placed outside, the limit counts decoded bytes.
 *
 * @param maxBytes The largest body accepted, in bytes.
 * @returns The middleware.
 *
 * @example Small bodies for the whole app, large ones for uploads
 * ```ts
 * import { Application, bodyLimit, json } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const app = new Application();
 * app.use(bodyLimit(16));
 * app.router.post("/echo", async (req) => json(await req.json()));
 *
 * const small = await app.fetch(new Request("http://localhost/echo", { method: "POST", body: "[1,2]" }));
 * assert.deepEqual(await small.json(), [1, 2]);
 * const big = await app.fetch(new Request("http://localhost/echo", {
 *   method: "POST",
 *   body: JSON.stringify("x".repeat(100)),
 * }));
 * assert.equal(big.status, 413);
 * ```
 */
export function bodyLimit<R extends ServerRequest<unknown, Record<string, string>> = ServerRequest>(
  maxBytes: number,
): Middleware<R> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError(`Cannot limit bodies to ${maxBytes} bytes: not an integer ≥ 0`);
  }
  return (req, next) => {
    const declared = req.contentLength;
    if (declared !== null && declared > maxBytes) throw tooLarge(maxBytes);
    req.clientMaxSize = maxBytes;
    // A declared length is enforced by the server's framing; only an
    // unknown one (chunked, or after decoding) needs counting. A request
    // without a body is left alone: a transform would make `req.request` a
    // copy, not the runtime's own request (which a WebSocket upgrade needs).
    // `incoming.body`, not `req.body`: that would apply the transforms set so far.
    if (declared === null && !req.bodyUsed && req.incoming.body !== null) {
      req.transformBody((body) => limited(body, maxBytes));
    }
    return next(req);
  };
}

function tooLarge(max: number): HttpRequestEntityTooLarge {
  return new HttpRequestEntityTooLarge(`Request body is larger than ${max} bytes`);
}

/** `body`, failing with 413 once more than `max` bytes came. */
function limited(body: ReadableStream<Uint8Array>, max: number): ReadableStream<Uint8Array> {
  let total = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        total += chunk.byteLength;
        if (total > max) controller.error(tooLarge(max));
        else controller.enqueue(chunk);
      },
    }),
  );
}
