/**
 * `session.fetch`: the standard fetch signature over a session's request
 * path, resolving with a real `Response`.
 *
 * @module
 */

import type { ClientRequestOptions } from "./_session_types.ts";
import type { RequestData } from "./_session_body.ts";
import type { ClientResponse } from "./response.ts";
import { joinOwned } from "../util/bytes.ts";
import { TimeoutError } from "./errors.ts";

/** What `sessionFetch` needs of a session. */
interface Requester {
  request(
    method: string,
    url: string | URL,
    options?: ClientRequestOptions,
  ): Promise<ClientResponse>;
}

/**
 * How much of a `Request`'s body is read ahead and kept, so that a 307/308
 * redirect (or a retry middleware) can send it again: a body that ends
 * within it goes as bytes with `Content-Length`; a longer one is streamed
 * (chunked), never held whole, and a redirect that must resend it fails, as
 * `fetch` fails for a stream body.
 */
export const REPLAYABLE_REQUEST_BODY = 1024 * 1024;

const EMPTY = new Uint8Array(0);

/** Statuses whose `Response` must have a null body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
/** The statuses Fetch calls redirects. */
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

/**
 * Runs `fetch(input, init)` through a session.
 *
 * @param session The session.
 * @param input A URL or a `Request`.
 * @param init The `RequestInit`.
 * @param total The session's `total` timeout (ms, `Infinity` for none): it
 *   covers reading a `Request`'s body ahead too.
 * @returns A real `Response` with `url` and `redirected` set.
 * @throws {TypeError} for network and protocol failures (`cause`: the client error).
 */
export async function sessionFetch(
  session: Requester,
  input: RequestInfo | URL,
  init: RequestInit = {},
  total: number = Infinity,
): Promise<Response> {
  const request = input instanceof Request ? input : null;
  const url = request !== null ? request.url : input instanceof URL ? input : String(input);
  const method = init.method ?? request?.method ?? "GET";
  const headers = new Headers(init.headers ?? request?.headers);
  const signal = init.signal ?? request?.signal ?? undefined;
  const redirect = init.redirect ?? request?.redirect ?? "follow";
  let data: RequestData | null = null;
  let timeout: ClientRequestOptions["timeout"];
  if (init.body !== undefined && init.body !== null) data = init.body as RequestData;
  else if (request !== null && request.body !== null) {
    if (request.bodyUsed) {
      throw new TypeError("Failed to fetch: the Request's body was already used");
    }
    const started = Date.now();
    try {
      data = await requestBodyData(request.body, signal, total);
    } catch (error) {
      if (error instanceof TimeoutError) throw new TypeError("fetch failed", { cause: error });
      throw error;
    }
    // What is left of `total` for the request itself.
    if (Number.isFinite(total)) timeout = { total: Math.max(1, total - (Date.now() - started)) };
  }
  if (data !== null && (method === "GET" || method === "HEAD")) {
    throw new TypeError(`Failed to fetch: a ${method} request cannot have a body`);
  }
  let res: ClientResponse;
  try {
    res = await session.request(method, url, {
      headers,
      data,
      signal: signal ?? undefined,
      allowRedirects: redirect === "follow",
      ...(timeout === undefined ? {} : { timeout }),
    });
  } catch (error) {
    // A body stream that was never sent (the request failed or was aborted first): its
    // source is released, as fetch does.
    if (data instanceof ReadableStream && !data.locked) data.cancel(error).catch(() => {});
    if (signal?.aborted && error === signal.reason) throw error;
    throw new TypeError("fetch failed", { cause: error });
  }
  // Fetch: a redirect status is a network error, whatever its Location says.
  if (redirect === "error" && REDIRECT_STATUS.has(res.status)) {
    await res.release();
    throw new TypeError(
      `fetch failed: ${res.status} redirect (to ${
        res.headers.get("location") ?? "nowhere"
      }) with redirect: "error"`,
    );
  }
  let out: Response;
  try {
    out = new Response(NULL_BODY.has(res.status) ? null : res.body, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  } catch (error) {
    await res.release();
    throw new TypeError("fetch failed", { cause: error });
  }
  if (NULL_BODY.has(res.status)) await res.release();
  Object.defineProperty(out, "url", { value: res.url });
  Object.defineProperty(out, "redirected", { value: res.redirected });
  return out;
}

/**
 * A `Request`'s body as request data: its bytes when it ends within
 * {@linkcode REPLAYABLE_REQUEST_BODY}, else the chunks read so far followed
 * by the rest of the stream (cancelled if the send stops early).
 */
async function requestBodyData(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal | undefined,
  total: number,
): Promise<RequestData> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  // The session's `total` runs from the call: a stalled body must not hang the fetch.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = Number.isFinite(total)
    ? new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError("total", total)), total);
    })
    : null;
  expired?.catch(() => {});
  try {
    while (size <= REPLAYABLE_REQUEST_BODY) {
      const read = readOrAbort(reader, signal);
      const { done, value } = await (expired === null ? read : Promise.race([read, expired]));
      if (done) return joinOwned(chunks);
      chunks.push(value);
      size += value.byteLength;
    }
  } catch (error) {
    reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return rest(chunks, reader);
}

/** `reader.read()`, rejecting with the signal's reason (and cancelling) when it aborts first. */
function readOrAbort(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  signal: AbortSignal | undefined,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (signal === undefined) return reader.read();
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    reader.read().then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** The chunks already read, then the rest of `reader`'s stream; cancelling it cancels that stream. */
function rest(
  chunks: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (next < chunks.length) {
        controller.enqueue(chunks[next]);
        chunks[next++] = EMPTY; // sent: not kept
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
