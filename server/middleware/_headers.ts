/**
 * Header helpers shared by the built-in middlewares: editing a response's
 * fields when they may be immutable, and merging `Vary`.
 *
 * @module
 */

import { trailersOf, withTrailers } from "../responses.ts";

/**
 * Runs `edit` on the response's headers, or on a copy of the response when
 * its headers are immutable (`Response.redirect()`, a `fetch()` result).
 * `1xx` responses (a `101` upgrade) are returned as they are.
 */
export function editHeaders(response: Response, edit: (headers: Headers) => void): Response {
  if (response.status < 200) return response;
  try {
    edit(response.headers);
    return response;
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
  const headers = new Headers(response.headers);
  edit(headers);
  const copy = new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
  const trailers = trailersOf(response);
  return trailers === null ? copy : withTrailers(copy, trailers);
}

/** Adds `name` to the `Vary` field unless it (or `*`) is listed already. */
export function appendVary(headers: Headers, name: string): void {
  const vary = headers.get("vary");
  if (vary === null || vary.trim() === "") {
    headers.set("vary", name);
    return;
  }
  const lower = name.toLowerCase();
  for (const item of vary.split(",")) {
    const listed = item.trim().toLowerCase();
    if (listed === "*" || listed === lower) return;
  }
  headers.set("vary", `${vary}, ${name}`);
}

/** Whether `value` is a token (RFC 9110 §5.6.2). */
export function isToken(value: string): boolean {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value);
}
