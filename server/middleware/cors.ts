/**
 * Cross-origin resource sharing (the Fetch standard's CORS protocol) as a
 * middleware: answers preflight requests and adds the
 * `Access-Control-*` fields to the others.
 *
 * @module
 */

import { isHttpError } from "../http_errors.ts";
import type { ServerRequest } from "../server_request.ts";
import type { Middleware } from "./compose.ts";
import { appendVary, editHeaders, isToken } from "./_headers.ts";

/**
 * Which origins may read responses: `"*"` (any), one origin, a list, a
 * `RegExp` that must match the whole `Origin` field (`/https:\/\/(a|b)\.example/`
 * does not allow `https://a.example.evil.net`), or a function returning
 * whether to allow it (or the value to send in
 * `Access-Control-Allow-Origin`), possibly asynchronously.
 */
export type CorsOrigin<R = ServerRequest> =
  | string
  | readonly string[]
  | RegExp
  | ((origin: string, request: R) => boolean | string | Promise<boolean | string>);

/** Options of {@linkcode cors}. */
export interface CorsOptions<R = ServerRequest> {
  /** The allowed origins. Default `"*"`. */
  origin?: CorsOrigin<R>;
  /** Methods a preflight allows. Default `GET, HEAD, PUT, PATCH, POST, DELETE`. */
  methods?: readonly string[];
  /** Request fields a preflight allows. Default: those the preflight asks for (`Access-Control-Request-Headers`). */
  allowHeaders?: readonly string[];
  /** Response fields scripts may read besides the safelisted ones. Default none. */
  exposeHeaders?: readonly string[];
  /**
   * Whether cookies and HTTP authentication may be sent along
   * (`Access-Control-Allow-Credentials: true`). Not with `origin: "*"` (the
   * default): that would let every site read the user's responses, so it
   * is a `TypeError`; list the origins, or pass a function to decide (one
   * returning `true` for all is the deliberate, dangerous choice). Default `false`.
   */
  credentials?: boolean;
  /** How long (seconds) browsers may cache a preflight answer (`Access-Control-Max-Age`). Default: not sent. */
  maxAge?: number;
  /** Pass preflight requests on to the handler (after adding the fields) instead of answering them. Default `false`. */
  preflightContinue?: boolean;
  /** The status of a preflight answer. Default `204`. */
  optionsSuccessStatus?: number;
  /** Answer Private Network Access preflights (`Access-Control-Allow-Private-Network: true`). Default `false`. */
  allowPrivateNetwork?: boolean;
}

const DEFAULT_METHODS = ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"];
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/i;

/**
 * A CORS middleware, for `app.use()` or for one route.
 *
 * A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
 * is answered here with `optionsSuccessStatus` (204) and the allow fields,
 * without reaching the handler unless `preflightContinue`. Other requests
 * with an allowed `Origin` get `Access-Control-Allow-Origin` (plus
 * `-Credentials` and `-Expose-Headers` as configured) on their response,
 * including the answers to `HttpError`s thrown further in (the fields are
 * added to the error's `headers`, so whoever renders it sends them). A
 * disallowed origin is not an error: the response just lacks the fields and
 * the browser keeps it from the page. `Vary: Origin` is appended whenever
 * the answer depends on the origin (everything but `"*"`). `credentials`
 * with `"*"` is a `TypeError`: name the origins. Errors that are not `HttpError`s pass through untouched: put
 * `errorPages()` inside `cors()` so 500s carry the fields too.
 *
 * @param options Origins, methods, headers, credentials, preflight caching.
 * @returns The middleware.
 *
 * @example Allow one front end, with cookies
 * ```ts
 * import { Application, cors, json } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const app = new Application();
 * app.use(cors({ origin: "https://app.example", credentials: true, maxAge: 600 }));
 * app.router.post("/api/items", () => json({ ok: true }));
 *
 * const preflight = await app.fetch(new Request("http://localhost/api/items", {
 *   method: "OPTIONS",
 *   headers: { origin: "https://app.example", "access-control-request-method": "POST" },
 * }));
 * assert.equal(preflight.status, 204);
 * assert.equal(preflight.headers.get("access-control-allow-origin"), "https://app.example");
 * assert.equal(preflight.headers.get("access-control-allow-credentials"), "true");
 *
 * const other = await app.fetch(new Request("http://localhost/api/items", {
 *   method: "POST",
 *   headers: { origin: "https://evil.example" },
 * }));
 * assert.equal(other.headers.get("access-control-allow-origin"), null);
 * ```
 */
export function cors<R extends ServerRequest<unknown, Record<string, string>> = ServerRequest>(
  options: CorsOptions<NoInfer<R>> = {},
): Middleware<R> {
  const credentials = options.credentials === true;
  const allowOrigin = originPolicy(options.origin ?? "*", credentials);
  const methods = tokens(options.methods ?? DEFAULT_METHODS, "methods").join(", ");
  const allowHeaders = options.allowHeaders === undefined
    ? null
    : tokens(options.allowHeaders, "allowHeaders").join(", ");
  const exposeHeaders = tokens(options.exposeHeaders ?? [], "exposeHeaders").join(", ");
  const maxAge = options.maxAge;
  if (maxAge !== undefined && !(Number.isInteger(maxAge) && maxAge >= 0)) {
    throw new RangeError(`Cannot use CORS maxAge ${maxAge}: not an integer number of seconds ≥ 0`);
  }
  const preflightStatus = options.optionsSuccessStatus ?? 204;
  if (!Number.isInteger(preflightStatus) || preflightStatus < 200 || preflightStatus > 299) {
    throw new RangeError(`Cannot use CORS optionsSuccessStatus ${preflightStatus}: not a 2xx`);
  }
  const varies = allowOrigin.varies;

  return async (req, next) => {
    const origin = req.header("origin");
    // A fixed "*" goes on every response: a cache may hand it to a CORS request later.
    const allowed = origin === null ? (varies ? null : "*") : await allowOrigin.check(origin, req);
    const simple = (headers: Headers): void => {
      if (varies) appendVary(headers, "Origin");
      if (allowed === null) return;
      headers.set("access-control-allow-origin", allowed);
      if (credentials) headers.set("access-control-allow-credentials", "true");
      if (exposeHeaders !== "") headers.set("access-control-expose-headers", exposeHeaders);
    };

    const requestMethod = req.header("access-control-request-method");
    if (req.method === "OPTIONS" && origin !== null && requestMethod !== null) {
      const preflight = (headers: Headers): void => {
        if (varies) appendVary(headers, "Origin");
        if (allowHeaders === null) appendVary(headers, "Access-Control-Request-Headers");
        if (allowed === null) return;
        headers.set("access-control-allow-origin", allowed);
        if (credentials) headers.set("access-control-allow-credentials", "true");
        headers.set("access-control-allow-methods", methods);
        const asked = req.header("access-control-request-headers");
        const headersValue = allowHeaders ?? asked;
        if (headersValue !== null && headersValue !== "") {
          headers.set("access-control-allow-headers", headersValue);
        }
        if (maxAge !== undefined) headers.set("access-control-max-age", String(maxAge));
        if (
          options.allowPrivateNetwork === true &&
          req.header("access-control-request-private-network") === "true"
        ) {
          headers.set("access-control-allow-private-network", "true");
        }
      };
      if (options.preflightContinue !== true) {
        const headers = new Headers();
        preflight(headers);
        headers.set("content-length", "0");
        return new Response(null, { status: preflightStatus, headers });
      }
      return editHeaders(await passErrors(() => next(req), preflight), preflight);
    }
    return editHeaders(await passErrors(() => next(req), simple), simple);
  };
}

/** Awaits the rest of the chain; an `HttpError` gets the fields too before it goes on. */
async function passErrors(
  run: () => Promise<Response>,
  decorate: (headers: Headers) => void,
): Promise<Response> {
  try {
    return await run();
  } catch (error) {
    if (isHttpError(error)) decorate(error.headers);
    throw error;
  }
}

interface OriginPolicy<R> {
  /** Whether the answer depends on the request's origin. */
  varies: boolean;
  /** The `Access-Control-Allow-Origin` value for `origin`, or `null` when not allowed. */
  check(origin: string, request: R): string | null | Promise<string | null>;
}

function originPolicy<R>(origin: CorsOrigin<R>, credentials: boolean): OriginPolicy<R> {
  if (origin === "*") {
    if (credentials) {
      // Reflecting any origin with credentials is the classic CORS hole: every site reads the user's data.
      throw new TypeError(
        'Cannot use CORS credentials with origin "*": any site could read the responses with the ' +
          "user's cookies; list the allowed origins (or decide in an origin function)",
      );
    }
    return { varies: false, check: () => "*" };
  }
  if (typeof origin === "string" || Array.isArray(origin)) {
    const list = (typeof origin === "string" ? [origin] : origin as readonly string[]).map(
      checkedOrigin,
    );
    const allowed = new Set(list.map((o) => o.toLowerCase()));
    return { varies: true, check: (o) => allowed.has(o.toLowerCase()) ? o : null };
  }
  if (origin instanceof RegExp) {
    // Matched against the whole origin: an unanchored /https:\/\/a\.example/ must not allow
    // https://a.example.evil.net. The g and y flags (stateful lastIndex) and m are dropped.
    const whole = new RegExp(`^(?:${origin.source})$`, origin.flags.replace(/[gmy]/g, ""));
    return { varies: true, check: (o) => whole.test(o) ? o : null };
  }
  if (typeof origin === "function") {
    return {
      varies: true,
      check: async (o, req) => {
        const answer = await origin(o, req);
        if (answer === true) return o;
        if (typeof answer === "string" && answer !== "") return answer;
        return null;
      },
    };
  }
  throw new TypeError(
    "Cannot use CORS origin: expected a string, an array of strings, a RegExp or a function",
  );
}

function checkedOrigin(origin: unknown): string {
  if (typeof origin !== "string") {
    throw new TypeError(`Cannot use CORS origin ${String(origin)}: not a string`);
  }
  if (origin === "null" || ORIGIN.test(origin)) return origin;
  throw new TypeError(
    `Cannot use CORS origin "${origin}": an origin is scheme://host[:port], without path or trailing slash`,
  );
}

function tokens(list: readonly string[], what: string): string[] {
  if (!Array.isArray(list)) throw new TypeError(`Cannot use CORS ${what}: not an array`);
  for (const item of list) {
    if (typeof item !== "string" || !isToken(item)) {
      throw new TypeError(`Cannot use CORS ${what} entry "${String(item)}": not a token`);
    }
  }
  return [...list];
}
