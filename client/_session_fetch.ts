/**
 * `session.fetch`: the standard fetch signature over a session's request
 * path, resolving with a real `Response`.
 *
 * @module
 */

import type { ClientRequestOptions } from "./_session_types.ts";
import type { RequestData } from "./_session_body.ts";
import type { ClientResponse } from "./response.ts";

/** What `sessionFetch` needs of a session. */
interface Requester {
  request(
    method: string,
    url: string | URL,
    options?: ClientRequestOptions,
  ): Promise<ClientResponse>;
}

/** Statuses whose `Response` must have a null body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * Runs `fetch(input, init)` through a session.
 *
 * @param session The session.
 * @param input A URL or a `Request`.
 * @param init The `RequestInit`.
 * @returns A real `Response` with `url` and `redirected` set.
 * @throws {TypeError} for network and protocol failures (`cause`: the client error).
 */
export async function sessionFetch(
  session: Requester,
  input: RequestInfo | URL,
  init: RequestInit = {},
): Promise<Response> {
  const request = input instanceof Request ? input : null;
  const url = request !== null ? request.url : input instanceof URL ? input : String(input);
  const method = init.method ?? request?.method ?? "GET";
  const headers = new Headers(init.headers ?? request?.headers);
  const signal = init.signal ?? request?.signal ?? undefined;
  const redirect = init.redirect ?? request?.redirect ?? "follow";
  let data: RequestData | null = null;
  if (init.body !== undefined && init.body !== null) data = init.body as RequestData;
  else if (request !== null && request.body !== null) {
    data = new Uint8Array(await request.arrayBuffer());
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
    });
  } catch (error) {
    if (signal?.aborted && error === signal.reason) throw error;
    throw new TypeError("fetch failed", { cause: error });
  }
  if (
    redirect === "error" && res.status >= 300 && res.status < 400 && res.headers.has("location")
  ) {
    await res.release();
    throw new TypeError(
      `fetch failed: redirect to ${res.headers.get("location")} with redirect: "error"`,
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
