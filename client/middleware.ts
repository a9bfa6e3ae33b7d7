/**
 * Client middlewares (as in aiohttp 3.12): functions around every request a
 * session sends, redirect hops included, for retries, authentication
 * refresh, logging or metrics. {@linkcode ClientRequest} is what they see
 * and may change before calling `next`.
 *
 * @module
 */

import type { ProxyInfo } from "./proxy_env.ts";
import type { ClientResponse } from "./response.ts";
import { type AbortSource, type ResolvedTimeouts, toAbortSignal } from "./timeouts.ts";

/**
 * A request body as the session sends it: bytes and `Blob`s can be sent
 * again (retries, 307/308 redirects, authentication challenges); a stream
 * only once.
 *
 * @example
 * ```ts
 * import type { ClientRequestBody } from "@sluice/http/client";
 *
 * const body: ClientRequestBody = new TextEncoder().encode("hello");
 * ```
 */
export type ClientRequestBody = Uint8Array | Blob | ReadableStream<Uint8Array> | null;

/**
 * What {@linkcode ClientRequest} is made from.
 *
 * @example
 * ```ts
 * import type { ClientRequestInit } from "@sluice/http/client";
 *
 * const init: ClientRequestInit = { method: "GET", url: new URL("http://127.0.0.1/"), headers: new Headers() };
 * ```
 */
export interface ClientRequestInit {
  /** The method, upper case. */
  method: string;
  /** The absolute URL, query included. */
  url: URL;
  /**
   * The header fields (the session's defaults merged in): `Headers`, or
   * pairs with lower-case names (a frozen list is copied before a change).
   */
  headers: Headers | Array<[string, string]>;
  /** The body (default none). */
  body?: ClientRequestBody;
  /** The merged timeouts of this request. */
  timeout?: ResolvedTimeouts;
  /** Aborted by the caller's signal or by a timeout (an `AbortSignal`, or the session's `PhaseTimer`). */
  signal?: AbortSource;
  /** Send `Expect: 100-continue` and wait this long (ms; `true` = 1 s) before the body. */
  expect100?: boolean | number;
  /** The proxy to send it through, or `null` for a direct connection. */
  proxy?: ProxyInfo | null;
}

/**
 * One request a session sends (one hop of a redirect chain), as client
 * middlewares see it. Its fields can be changed before calling `next`.
 *
 * @example Add a header in a middleware
 * ```ts
 * import type { ClientMiddleware } from "@sluice/http/client";
 *
 * const addToken: ClientMiddleware = (req, next) => {
 *   req.headers.set("authorization", "Bearer abc");
 *   return next(req);
 * };
 * ```
 */
export class ClientRequest {
  /** The method, upper case. */
  method: string;
  /** The absolute URL, query included. */
  url: URL;
  /** The body. A stream can be sent once only (see {@linkcode ClientRequest.replayable}). */
  body: ClientRequestBody;
  /** The merged timeouts of this request. */
  readonly timeout: ResolvedTimeouts | undefined;
  /** What aborts this request (the caller's signal or a timeout); see {@linkcode ClientRequest.signal}. */
  readonly abortSource: AbortSource | undefined;
  /** Send `Expect: 100-continue` and wait this long (ms; `true` = 1 s) before the body. */
  expect100: boolean | number;
  /** The proxy to send it through, or `null` for a direct connection. */
  proxy: ProxyInfo | null;
  #sent = false;
  /** The fields as a `Headers`, once somebody asked for one. */
  #headers: Headers | null;
  /** The fields as lower-case pairs, until then (no `Headers` is made on the fast path). */
  #fields: Array<[string, string]> | null;

  /**
   * Makes a request (the session does this; middlewares get one).
   *
   * @param init Method, URL, fields, body and settings.
   */
  constructor(init: ClientRequestInit) {
    this.method = init.method;
    this.url = init.url;
    const headers = init.headers;
    this.#headers = headers instanceof Headers ? headers : null;
    this.#fields = headers instanceof Headers ? null : headers;
    this.body = init.body ?? null;
    this.timeout = init.timeout;
    this.abortSource = init.signal;
    this.expect100 = init.expect100 ?? false;
    this.proxy = init.proxy ?? null;
  }

  /**
   * Aborted by the caller's signal or a timeout: wait on it in middlewares
   * (e.g. a retry delay). Made on first use.
   */
  get signal(): AbortSignal | undefined {
    return toAbortSignal(this.abortSource);
  }

  /** The header fields (change them freely before calling `next`). */
  get headers(): Headers {
    if (this.#headers === null) {
      const headers = new Headers();
      for (const [name, value] of this.#fields!) headers.append(name, value);
      this.#headers = headers;
      this.#fields = null;
    }
    return this.#headers;
  }

  set headers(headers: Headers) {
    this.#headers = headers;
    this.#fields = null;
  }

  /**
   * A field's value (as `headers.get`, without making a `Headers`).
   *
   * @param name The field name.
   * @returns The value, or `null`.
   */
  getField(name: string): string | null {
    if (this.#headers !== null) return this.#headers.get(name);
    const lower = name.toLowerCase();
    const fields = this.#fields!;
    for (let i = 0; i < fields.length; i++) if (fields[i][0] === lower) return fields[i][1];
    return null;
  }

  /**
   * Sets a field (as `headers.set`, without making a `Headers`).
   *
   * @param name The field name.
   * @param value Its value.
   */
  setField(name: string, value: string): void {
    if (this.#headers !== null) return this.#headers.set(name, value);
    const lower = name.toLowerCase();
    const fields = this.#ownFields();
    const at = fields.findIndex(([key]) => key === lower);
    if (at < 0) fields.push([lower, value]);
    else {
      fields[at] = [lower, value];
      this.#fields = fields.filter(([key], i) => i <= at || key !== lower);
    }
  }

  /**
   * Removes a field (as `headers.delete`, without making a `Headers`).
   *
   * @param name The field name.
   */
  deleteField(name: string): void {
    if (this.#headers !== null) return this.#headers.delete(name);
    const lower = name.toLowerCase();
    this.#fields = this.#fields!.filter(([key]) => key !== lower);
  }

  /** The pairs, copied first when they are shared (a frozen list, e.g. the session's defaults). */
  #ownFields(): Array<[string, string]> {
    let fields = this.#fields!;
    if (Object.isFrozen(fields)) this.#fields = fields = fields.slice();
    return fields;
  }

  /**
   * The fields as `[name, value]` pairs, for the wire.
   *
   * @returns The pairs (lower-case names).
   */
  fieldList(): ReadonlyArray<readonly [string, string]> {
    return this.#headers === null ? this.#fields! : [...this.#headers];
  }

  /**
   * Whether the body can be sent (again): no body, bytes and `Blob`s always;
   * a stream only before it was first sent.
   */
  get replayable(): boolean {
    return !(this.body instanceof ReadableStream) || !this.#sent;
  }

  /**
   * Marks the body as sent (the session calls this when it hands a stream
   * body to a connection).
   *
   * @returns Nothing.
   */
  markSent(): void {
    if (this.body instanceof ReadableStream) this.#sent = true;
  }
}

/**
 * The rest of the chain after a middleware: the next middleware, or the
 * session's sender at the end.
 *
 * @example
 * ```ts
 * import type { ClientHandler } from "@sluice/http/client";
 *
 * const status = async (next: ClientHandler, req: Parameters<ClientHandler>[0]): Promise<number> =>
 *   (await next(req)).status;
 * ```
 */
export type ClientHandler = (req: ClientRequest) => Promise<ClientResponse>;

/**
 * A client middleware: gets the request and the rest of the chain, returns
 * the response (it may call `next` more than once, e.g. to retry — then it
 * releases the responses it drops).
 *
 * @example Log every hop
 * ```ts
 * import type { ClientMiddleware } from "@sluice/http/client";
 *
 * const log: ClientMiddleware = async (req, next) => {
 *   const res = await next(req);
 *   console.log(req.method, req.url.href, res.status);
 *   return res;
 * };
 * ```
 */
export type ClientMiddleware = (
  req: ClientRequest,
  next: ClientHandler,
) => Promise<ClientResponse>;

/**
 * Builds the chain: `middlewares[0]` runs first, `send` last.
 *
 * @param middlewares The middlewares, outermost first.
 * @param send What ends the chain.
 * @returns A handler that runs the whole chain.
 *
 * @example
 * ```ts ignore
 * const handler = composeClientMiddlewares([log], send);
 * ```
 */
export function composeClientMiddlewares(
  middlewares: readonly ClientMiddleware[],
  send: ClientHandler,
): ClientHandler {
  let handler = send;
  for (let i = middlewares.length - 1; i >= 0; i--) {
    const middleware = middlewares[i];
    const next = handler;
    handler = (req) => middleware(req, next);
  }
  return handler;
}
