/**
 * {@linkcode ClientSession}: the HTTP client, aiohttp's `ClientSession`. It
 * owns a connection pool, a cookie jar, default fields and timeouts, runs
 * client middlewares, follows redirects and decodes compressed bodies.
 *
 * @module
 */

import { BasicAuth } from "./auth.ts";
import { CookieJar } from "./cookie_jar.ts";
import type { AbstractCookieJar } from "./cookie_jar.ts";
import { ClientError } from "./errors.ts";
import { ClientRequest } from "./middleware.ts";
import { Connector } from "./pool.ts";
import { proxyFromEnv, type ProxyInfo } from "./proxy_env.ts";
import type { ClientResponse } from "./response.ts";
import {
  type AbortSource,
  PhaseTimer,
  type ResolvedTimeouts,
  resolveTimeouts,
} from "./timeouts.ts";
import type { TraceConfig } from "./trace.ts";
import { buildUrl, encodeBody, type EncodedBody } from "./_session_body.ts";
import { followHops, type HopDefaults } from "./_session_hops.ts";
import { doneStateOf, type SendContext } from "./_session_send.ts";
import { RequestTrace } from "./_trace_run.ts";
import { checkMethod, checkRedirects, poolObserver, proxyInfo } from "./_session_util.ts";
import { acceptEncodingValue } from "./_decompress.ts";
import { compressRequestBody } from "./_compress_request.ts";
import { sessionFetch } from "./_session_fetch.ts";
import type {
  AutoDecompressOptions,
  ClientRequestOptions,
  ClientSessionOptions,
} from "./_session_types.ts";

export type { AutoDecompressOptions, ClientRequestOptions, ClientSessionOptions };

/**
 * An HTTP client session: a pool of keep-alive connections with cookies,
 * default fields, timeouts, middlewares, redirects and decompression.
 * Create one per application (or per service you call) and close it when
 * done, with `await session.close()` or `await using`.
 *
 * @example GET JSON and POST JSON
 * ```ts ignore
 * import { ClientSession } from "@sluice/http/client";
 *
 * await using session = new ClientSession({ baseUrl: "https://api.example.com/" });
 * const user = await (await session.get("users/1", { timeout: { total: 5_000 } })).json();
 * await using res = await session.post("users", { json: { name: "Ann" } });
 * console.log(res.status, user);
 * ```
 */
export class ClientSession {
  readonly #baseUrl: URL | undefined;
  readonly #headers: Headers;
  /** The default fields as lower-case pairs, copied into each request. */
  readonly #defaultFields: ReadonlyArray<readonly [string, string]>;
  readonly #jar: AbstractCookieJar;
  readonly #timeout: ResolvedTimeouts;
  readonly #connector: Connector;
  readonly #ownsConnector: boolean;
  readonly #auth: BasicAuth | null;
  /** The jar, middlewares, `raiseForStatus` and `maxRedirects` every request's hops use. */
  readonly #hopDefaults: HopDefaults;
  readonly #traces: readonly TraceConfig[];
  readonly #decompress: AutoDecompressOptions | null;
  readonly #serialize: (value: unknown) => string;
  readonly #proxy: ProxyInfo | null;
  readonly #trustEnv: boolean;
  #closed = false;

  /**
   * Creates a session; nothing is connected before the first request.
   *
   * @param options Defaults for every request, and the pool.
   * @throws {InvalidUrlError} for a `baseUrl` or `proxy` that does not parse.
   * @throws {RangeError} for a negative `maxRedirects` or timeout.
   */
  constructor(options: ClientSessionOptions = {}) {
    if (options.baseUrl !== undefined) {
      buildUrl(options.baseUrl, undefined, undefined); // throws for a bad one
      // Credentials stay: a relative URL inherits them (as new URL(input, base) does),
      // and buildUrl() turns them into Basic auth per request.
      this.#baseUrl = new URL(options.baseUrl);
    }
    const decompress = options.autoDecompress ?? true;
    this.#decompress = decompress === false ? null : decompress === true ? {} : { ...decompress };
    const headers = new Headers();
    const userAgent = options.userAgent === undefined ? "sluice" : options.userAgent;
    if (userAgent !== null) headers.set("user-agent", userAgent);
    headers.set("accept", "*/*");
    if (this.#decompress !== null) headers.set("accept-encoding", acceptEncodingValue());
    for (const [name, value] of new Headers(options.headers)) headers.set(name, value);
    this.#headers = headers;
    // Frozen, pairs too: shared by every request (copied on a change), its head text made once.
    this.#defaultFields = Object.freeze([...headers].map((pair) => Object.freeze(pair)));
    this.#jar = options.cookieJar ?? new CookieJar();
    this.#timeout = resolveTimeouts(options.timeout);
    const connector = options.connector;
    this.#connector = connector instanceof Connector ? connector : new Connector(connector);
    this.#ownsConnector = options.connectorOwner ?? !(connector instanceof Connector);
    this.#auth = options.auth ?? null;
    this.#traces = [...(options.trace ?? [])];
    this.#hopDefaults = {
      jar: this.#jar,
      middlewares: [...(options.middlewares ?? [])],
      raiseForStatus: options.raiseForStatus ?? false,
      maxRedirects: checkRedirects(options.maxRedirects ?? 10),
    };
    this.#serialize = options.jsonSerialize ?? JSON.stringify;
    this.#proxy = proxyInfo(options.proxy, options.proxyAuth);
    this.#trustEnv = options.trustEnv ?? false;
  }

  /** The cookie jar. */
  get cookieJar(): AbstractCookieJar {
    return this.#jar;
  }

  /** The connection pool. */
  get connector(): Connector {
    return this.#connector;
  }

  /** Whether {@linkcode ClientSession.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends a request and resolves at the final response head (redirects
   * followed), body unread: read it, or `release()` it (`await using`).
   *
   * @param method The method, e.g. `"GET"`.
   * @param url An absolute URL, or one relative to `baseUrl`.
   * @param options Query, fields, body, timeouts, signal, redirects, proxy, auth…
   * @returns The response.
   * @throws {ClientError} subclasses: connection, TLS, timeout, payload, redirects, status.
   */
  request(
    method: string,
    url: string | URL,
    options: ClientRequestOptions = {},
  ): Promise<ClientResponse> {
    if (this.#closed) {
      return Promise.reject(
        new ClientError(
          "SLUICE_ERR_CLIENT_SESSION_CLOSED",
          `Cannot ${method} ${String(url)}: the session is closed`,
        ),
      );
    }
    let timer: PhaseTimer;
    let timeouts: ResolvedTimeouts;
    try {
      timeouts = options.timeout === undefined
        ? this.#timeout
        : resolveTimeouts(this.#timeout, options.timeout);
      timer = new PhaseTimer(
        timeouts,
        options.signal === undefined ? undefined : { signal: options.signal },
      );
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#traces.length > 0) return this.#requestTraced(method, url, options, timeouts, timer);
    // No trace: no async frame between the caller and the pool.
    const fail = (error: unknown): never => {
      timer.clear();
      throw timer.aborted ? timer.reason : error;
    };
    let sent: Promise<ClientResponse>;
    try {
      const made = this.#firstHop(method, url, options, timeouts, timer);
      const ctx = this.#context(options, timer, null);
      sent = made instanceof Promise
        ? made.then((first) => this.#follow(first, options, ctx))
        : this.#follow(made, options, ctx);
    } catch (error) {
      timer.clear();
      return Promise.reject(timer.aborted ? timer.reason : error);
    }
    return sent.then((res) => finalResponse(res, timer), fail);
  }

  /** {@linkcode ClientSession.request} with trace configs: their events awaited in order. */
  async #requestTraced(
    method: string,
    url: string | URL,
    options: ClientRequestOptions,
    timeouts: ResolvedTimeouts,
    timer: PhaseTimer,
  ): Promise<ClientResponse> {
    const trace = new RequestTrace(this, this.#traces);
    let first: ClientRequest | null = null;
    try {
      const made = this.#firstHop(method, url, options, timeouts, timer);
      first = made instanceof Promise ? await made : made;
      await trace.emit("onRequestStart", {
        method: first.method,
        url: first.url,
        headers: first.headers,
      });
      const res = await this.#follow(first, options, this.#context(options, timer, trace));
      await trace.emit("onRequestEnd", {
        method: first.method,
        url: new URL(res.url),
        headers: first.headers,
        response: res,
      }).catch(async (error) => {
        await res.release();
        throw error;
      });
      return finalResponse(res, timer);
    } catch (error) {
      timer.clear();
      const reason = timer.aborted ? timer.reason : error;
      if (first !== null) {
        await trace.emit("onRequestException", {
          method: first.method,
          url: first.url,
          headers: first.headers,
          error: reason,
        }).catch(() => {});
      }
      throw reason;
    }
  }

  /**
   * `GET` (see {@linkcode ClientSession.request}).
   *
   * @param url The URL.
   * @param options Request options.
   * @returns The response.
   */
  get(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
    return this.request("GET", url, options);
  }

  /**
   * `POST` (see {@linkcode ClientSession.request}).
   *
   * @param url The URL.
   * @param options Request options (`json` or `data` for the body).
   * @returns The response.
   */
  post(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
    return this.request("POST", url, options);
  }

  /**
   * `PUT` (see {@linkcode ClientSession.request}).
   *
   * @param url The URL.
   * @param options Request options.
   * @returns The response.
   */
  put(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
    return this.request("PUT", url, options);
  }

  /**
   * `PATCH` (see {@linkcode ClientSession.request}).
   *
   * @param url The URL.
   * @param options Request options.
   * @returns The response.
   */
  patch(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
    return this.request("PATCH", url, options);
  }

  /**
   * `DELETE` (see {@linkcode ClientSession.request}).
   *
   * @param url The URL.
   * @param options Request options.
   * @returns The response.
   */
  delete(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
    return this.request("DELETE", url, options);
  }

  /**
   * `HEAD` (see {@linkcode ClientSession.request}); redirects are not followed unless asked.
   *
   * @param url The URL.
   * @param options Request options.
   * @returns The response (no body).
   */
  head(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
    return this.request("HEAD", url, { allowRedirects: false, ...options });
  }

  /**
   * `OPTIONS` (see {@linkcode ClientSession.request}).
   *
   * @param url The URL.
   * @param options Request options.
   * @returns The response.
   */
  options(url: string | URL, options?: ClientRequestOptions): Promise<ClientResponse> {
    return this.request("OPTIONS", url, options);
  }

  /**
   * The standard `fetch` over this session: the same pool, cookies,
   * timeouts and middlewares. Resolves with a real `Response` (its `url`
   * and `redirected` set); fails with a `TypeError` whose `cause` is the
   * client error, or with the signal's reason when aborted.
   *
   * @param input A URL or a `Request`.
   * @param init The usual `RequestInit` (`redirect: "manual"` and `"error"` included).
   * @returns The response.
   *
   * @example Hand the session to a library that takes a fetch function
   * ```ts ignore
   * const api = createApiClient({ fetch: session.fetch });
   * ```
   */
  readonly fetch: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response> = (
    input,
    init,
  ) => sessionFetch(this, input, init, this.#timeout.total);

  /**
   * Closes the session: the pool (when the session owns it) closes its idle
   * connections now and the others when their responses end; later requests
   * fail with `SLUICE_ERR_CLIENT_SESSION_CLOSED`. Idempotent.
   *
   * @returns Resolves once the idle connections are closed.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#ownsConnector) await this.#connector.close();
  }

  /** Same as {@linkcode ClientSession.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- internals ----

  #firstHop(
    method: string,
    input: string | URL,
    options: ClientRequestOptions,
    timeouts: ResolvedTimeouts,
    signal: AbortSource,
  ): ClientRequest | Promise<ClientRequest> {
    const encoded = encodeBody(options, this.#serialize);
    return encoded instanceof Promise
      ? encoded.then((body) => this.#makeFirst(method, input, options, timeouts, signal, body))
      : this.#makeFirst(method, input, options, timeouts, signal, encoded);
  }

  #makeFirst(
    method: string,
    input: string | URL,
    options: ClientRequestOptions,
    timeouts: ResolvedTimeouts,
    signal: AbortSource,
    encoded: EncodedBody,
  ): ClientRequest {
    const { url, auth: urlAuth } = buildUrl(input, this.#baseUrl, options.params);
    let { body } = encoded;
    const req = new ClientRequest({
      method: checkMethod(method),
      url,
      // Shared until changed: ClientRequest copies a frozen list on its first change.
      headers: this.#defaultFields as unknown as Array<[string, string]>,
      timeout: timeouts,
      signal,
      expect100: options.expect100,
    });
    if (options.headers !== undefined) {
      for (const [name, value] of new Headers(options.headers)) req.setField(name, value);
    }
    const { contentType } = encoded;
    if (contentType !== null && req.getField("content-type") === null) {
      req.setField("content-type", contentType);
    }
    if (options.compress !== undefined && body !== null) {
      const source = body instanceof Blob ? body.stream() as ReadableStream<Uint8Array> : body;
      body = compressRequestBody(source, options.compress).body;
      req.setField("content-encoding", options.compress);
      req.deleteField("content-length");
    }
    req.body = body;
    const auth = options.auth !== undefined ? options.auth : (urlAuth ?? this.#auth);
    if (auth !== null && req.getField("authorization") === null) {
      req.setField("authorization", auth.encode());
    }
    if (options.proxy !== undefined) req.proxy = proxyInfo(options.proxy, options.proxyAuth);
    else if (this.#proxy !== null) req.proxy = withProxyAuth(this.#proxy, options.proxyAuth);
    else if (this.#trustEnv) req.proxy = withProxyAuth(proxyFromEnv(url), options.proxyAuth);
    return req;
  }

  /** What one request's hops share. */
  #context(
    options: ClientRequestOptions,
    timer: PhaseTimer,
    trace: RequestTrace | null,
  ): SendContext {
    return {
      connector: this.#connector,
      timer,
      trace,
      observer: trace === null ? undefined : poolObserver(trace),
      decompress: (options.autoDecompress ?? this.#decompress !== null)
        ? (this.#decompress ?? {})
        : null,
      onUploadProgress: options.onUploadProgress,
      onDownloadProgress: options.onDownloadProgress,
      // The environment's proxy is chosen per URL, so again for each redirect hop.
      proxyFor: options.proxy === undefined && this.#proxy === null && this.#trustEnv
        ? (url) => withProxyAuth(proxyFromEnv(url), options.proxyAuth)
        : null,
    };
  }

  /** Sends `first` and follows its redirects; resolves with the final response. */
  #follow(
    first: ClientRequest,
    options: ClientRequestOptions,
    ctx: SendContext,
  ): Promise<ClientResponse> {
    return followHops(first, options, ctx, this.#hopDefaults);
  }
}

/** `proxy` with the request's `proxyAuth` instead of its own credentials, when given. */
function withProxyAuth(
  proxy: ProxyInfo | null,
  auth: BasicAuth | null | undefined,
): ProxyInfo | null {
  return proxy === null || auth === undefined ? proxy : { url: proxy.url, auth };
}

/**
 * The request's final response: its timers are cleared now when its body is
 * done already, else once it is (the done state is told it is final).
 */
function finalResponse(res: ClientResponse, timer: PhaseTimer): ClientResponse {
  const state = doneStateOf(res);
  if (state === undefined || state.done) timer.clear();
  else state.final = true;
  return res;
}
