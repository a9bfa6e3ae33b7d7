/**
 * The test client itself: {@linkcode TestClient}, its options, its
 * redirect loop. `test_client.ts` makes clients over an application.
 *
 * @module
 */

import { TestCookieJar } from "./_test_client_jar.ts";
import {
  bodyOf,
  checkMethod,
  makeRequest,
  resolveUrl,
  type TestRequestInit,
} from "./_test_client_request.ts";

/**
 * Options of {@linkcode testClient} and of the client of
 * {@linkcode testServer}.
 *
 * @example
 * ```ts
 * import type { TestClientOptions } from "@sluice/http/server";
 *
 * const options: TestClientOptions = { headers: { accept: "application/json" }, redirect: "follow" };
 * ```
 */
export interface TestClientOptions {
  /** The origin (and base path) requests are resolved against. Default `http://localhost`; the server's URL for {@linkcode testServer}. */
  baseUrl?: string | URL;
  /** Header fields sent with every request (a request's own fields win). */
  headers?: HeadersInit;
  /** The default of each request's `redirect`. Default `"manual"`: redirects are returned, to be checked. */
  redirect?: "manual" | "follow";
  /** Run the application's startup signals first and its shutdown and cleanup signals at `close()`. Default `true`. */
  lifecycle?: boolean;
}

/** Sends one platform request: the application in-process, or `fetch` over a socket. */
export type Send = (request: Request) => Promise<Response>;

const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Installs what `close()` runs besides aborting requests (for `testClient` and `TestServer`). */
export let setCloser: (client: TestClient, closer: () => Promise<void>) => void;

/**
 * A client for tests: `get`, `post`, … and `request` send a request and
 * give back the platform `Response`. It keeps a cookie jar
 * ({@linkcode TestClient.cookies}) and, by default, returns redirects
 * instead of following them. Make one with {@linkcode testClient}
 * (in-process) or {@linkcode testServer} (over a socket); the constructor
 * makes one over any function that answers a `Request`.
 *
 * @example
 * ```ts
 * import { Application, json, testClient } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const app = new Application();
 * app.router.post("/echo", async (req) => json(await req.json()));
 * await using client = await testClient(app);
 * const res = await client.post("/echo", { json: { hello: "world" } });
 * assert.deepEqual(await res.json(), { hello: "world" });
 * ```
 */
export class TestClient {
  /** The URL requests are resolved against. */
  readonly baseUrl: URL;
  /** The cookies kept from the responses, sent back with later requests. */
  readonly cookies: TestCookieJar = new TestCookieJar();
  readonly #send: Send;
  readonly #headers: Headers;
  readonly #redirect: "manual" | "follow";
  /** Aborted by `close()`: every request's signal follows it. */
  readonly #closing = new AbortController();
  #closer: (() => Promise<void>) | null = null;
  #closed: Promise<void> | null = null;

  static {
    setCloser = (client, closer) => void (client.#closer = closer);
  }

  /**
   * Makes a client over `send`. {@linkcode testClient} and
   * {@linkcode testServer} are the usual way.
   *
   * @param send Answers a platform `Request` (an application's `fetch`, or `fetch`).
   * @param options Base URL, default headers, redirect mode.
   */
  constructor(send: (request: Request) => Promise<Response>, options: TestClientOptions = {}) {
    if (typeof send !== "function") {
      throw new TypeError("Cannot make a test client: send is not a function");
    }
    this.#send = send;
    this.baseUrl = new URL(options.baseUrl ?? "http://localhost");
    this.#headers = new Headers(options.headers);
    const redirect = options.redirect ?? "manual";
    if (redirect !== "manual" && redirect !== "follow") {
      throw new TypeError(`Cannot use redirect ${JSON.stringify(redirect)}: not manual or follow`);
    }
    this.#redirect = redirect;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed !== null;
  }

  /**
   * Sends a `GET`.
   *
   * @param path A path (`/users/1?x=1`) or an absolute URL of the base's origin.
   * @param init Query, headers, cookies, signal, redirect mode.
   * @returns The response.
   */
  get(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("GET", path, init);
  }

  /**
   * Sends a `POST`.
   *
   * @param path A path or an absolute URL of the base's origin.
   * @param init Body (`json`, `body` or `data`), query, headers, cookies, signal.
   * @returns The response.
   */
  post(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("POST", path, init);
  }

  /**
   * Sends a `PUT`.
   *
   * @param path A path or an absolute URL of the base's origin.
   * @param init Body, query, headers, cookies, signal.
   * @returns The response.
   */
  put(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("PUT", path, init);
  }

  /**
   * Sends a `PATCH`.
   *
   * @param path A path or an absolute URL of the base's origin.
   * @param init Body, query, headers, cookies, signal.
   * @returns The response.
   */
  patch(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("PATCH", path, init);
  }

  /**
   * Sends a `DELETE`.
   *
   * @param path A path or an absolute URL of the base's origin.
   * @param init Body, query, headers, cookies, signal.
   * @returns The response.
   */
  delete(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("DELETE", path, init);
  }

  /**
   * Sends a `HEAD`; the response has no body, as from a server.
   *
   * @param path A path or an absolute URL of the base's origin.
   * @param init Query, headers, cookies, signal.
   * @returns The response.
   */
  head(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("HEAD", path, init);
  }

  /**
   * Sends an `OPTIONS`.
   *
   * @param path A path or an absolute URL of the base's origin.
   * @param init Query, headers, cookies, signal.
   * @returns The response.
   */
  options(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("OPTIONS", path, init);
  }

  /**
   * Sends a request. Rejects with a `TypeError` for a method that is not an
   * HTTP token (or that fetch forbids), a URL of another origin, two bodies,
   * a body with `GET`/`HEAD`, more than 10 redirects to follow, or a closed
   * client; with the signal's reason when it aborts.
   *
   * @param method The method (`"GET"`, `"PROPFIND"`, …).
   * @param path A path (`/users/1?x=1`) or an absolute URL of the base's origin.
   * @param init Body, query, headers, cookies, signal, redirect mode.
   * @returns The response (after the redirects, when following them).
   */
  async request(method: string, path: string, init: TestRequestInit = {}): Promise<Response> {
    if (this.#closed !== null) {
      throw new TypeError("Cannot send a request: the test client is closed");
    }
    if (init.query !== undefined && init.params !== undefined) {
      throw new TypeError("Cannot send a request with both query and params: give one");
    }
    const redirect = init.redirect ?? this.#redirect;
    if (redirect !== "manual" && redirect !== "follow") {
      throw new TypeError(`Cannot use redirect ${JSON.stringify(redirect)}: not manual or follow`);
    }
    let currentMethod = checkMethod(method);
    let url = resolveUrl(path, this.baseUrl, init.query ?? init.params);
    let { body, type } = bodyOf(init);
    // A signal of its own per request: `Request` listens on the signal it is given, and
    // thousands of requests listening on the client's one would leak listeners.
    const signal = AbortSignal.any(
      init.signal === undefined ? [this.#closing.signal] : [init.signal, this.#closing.signal],
    );
    let extra = init;
    for (let hops = 0;; hops++) {
      signal.throwIfAborted();
      const request = makeRequest({
        method: currentMethod,
        url,
        defaultHeaders: this.#headers,
        init: extra,
        body,
        type,
        jarCookies: this.cookies.header(url.pathname),
        signal,
      });
      const response = await this.#send(request);
      this.cookies.store(response.headers.getSetCookie(), url.pathname);
      const location = response.headers.get("location");
      if (redirect === "manual" || !REDIRECTS.has(response.status) || location === null) {
        return currentMethod === "HEAD" ? withoutBody(response) : response;
      }
      await response.body?.cancel().catch(() => {});
      if (hops === MAX_REDIRECTS) {
        throw new TypeError(`Cannot follow more than ${MAX_REDIRECTS} redirects (at ${url.href})`);
      }
      const next = new URL(location, url);
      if (next.origin !== this.baseUrl.origin) {
        throw new TypeError(
          `Cannot follow the redirect to ${next.href}: a test client only reaches ${this.baseUrl.origin}`,
        );
      }
      // The Fetch standard's rules: 303 (and 301/302 after a POST) turn into a GET without a body.
      const status = response.status;
      if (
        (status === 303 && currentMethod !== "HEAD") ||
        ((status === 301 || status === 302) && currentMethod === "POST")
      ) {
        currentMethod = "GET";
        body = null;
        type = null;
        extra = { ...extra, headers: withoutContentHeaders(extra.headers) };
      } else if (body instanceof ReadableStream) {
        throw new TypeError(
          `Cannot follow the ${status} redirect to ${next.href}: the request body was a stream`,
        );
      }
      url = next;
    }
  }

  /**
   * Forgets every cookie of the jar.
   */
  clearCookies(): void {
    this.cookies.clear();
  }

  /**
   * Closes the client: requests still running, and bodies not yet read,
   * are aborted; then the application is stopped (shutdown and cleanup
   * signals) and, for {@linkcode testServer}, the server shut down.
   * Idempotent: later calls return the same promise. Rejects with the
   * `LifecycleError` of failing hooks.
   *
   * @returns Resolves once everything is stopped.
   */
  close(): Promise<void> {
    return (this.#closed ??= (async () => {
      this.#closing.abort(new DOMException("The test client was closed", "AbortError"));
      if (this.#closer !== null) await this.#closer();
    })());
  }

  /**
   * Same as {@linkcode TestClient.close}, for `await using`.
   *
   * @returns Resolves once everything is stopped.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The response of a `HEAD`: no body, whatever the application gave. */
function withoutBody(response: Response): Response {
  if (response.body === null) return response;
  response.body.cancel().catch(() => {});
  return new Response(null, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

function withoutContentHeaders(init: HeadersInit | undefined): Headers {
  const headers = new Headers(init);
  for (const name of ["content-type", "content-length", "content-encoding", "content-language"]) {
    headers.delete(name);
  }
  return headers;
}
