/**
 * Testing applications, as aiohttp's `aiohttp_client` fixture and Hono's
 * `testClient` do: {@linkcode testClient} calls the application in-process
 * through `app.fetch`, {@linkcode testServer} serves it on a real socket and
 * sends real HTTP. Both start the application (its startup signals) and
 * stop it on `close()` or `await using`, and both keep cookies.
 *
 * @module
 */

import { type Send, setCloser, TestClient, type TestClientOptions } from "./_test_client_core.ts";
import { runCleanup, runShutdown, runStartup } from "./lifecycle.ts";
import { trailersOf, withTrailers } from "./responses.ts";
import { serve, type ServeOptions, type ServerHandle } from "./run_app.ts";
import { ServerRequest } from "./server_request.ts";
import type { FetchHandler, IncomingRequest, ServerApp } from "./types.ts";

export { TestClient, type TestClientOptions } from "./_test_client_core.ts";
export { type TestCookie, TestCookieJar } from "./_test_client_jar.ts";
export type { QueryInit, QueryValue, TestBody, TestRequestInit } from "./_test_client_request.ts";

/** Runs shutdown then cleanup, both even when the first fails; rethrows. */
async function stopApp(app: ServerApp): Promise<void> {
  const errors: unknown[] = [];
  for (const run of [runShutdown, runCleanup]) {
    try {
      await run(app);
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    throw new AggregateError(errors, "Cannot stop the application: shutdown and cleanup failed");
  }
}

/** A fetch handler called with no `ServeInfo`: in-process there is no connection to describe. */
type InProcessFetch = (request: Request) => Response | Promise<Response>;
/** `handleIncoming` called with `null` info, as `Application` allows. */
type InProcessIncoming = (
  request: IncomingRequest,
  info: null,
) => Response | Promise<Response>;

/** How an application answers a platform `Request` in-process. */
function inProcess(app: ServerApp | FetchHandler): Send {
  if (typeof app === "function") {
    const handler = app as InProcessFetch;
    return async (request) => await handler(request);
  }
  if (typeof app !== "object" || app === null) {
    throw new TypeError("Cannot test the application: it is neither a function nor an object");
  }
  const fetch = app.fetch as InProcessFetch | undefined;
  if (typeof fetch === "function") return async (request) => await fetch.call(app, request);
  const handle = app.handleIncoming as InProcessIncoming | undefined;
  if (typeof handle === "function") {
    return async (request) =>
      await handle.call(app, ServerRequest.from(request, { app, params: {} }).incoming, null);
  }
  throw new TypeError(
    "Cannot test the application: it has neither fetch() nor handleIncoming()",
  );
}

/**
 * Races `work` against the signal (so an in-process request can be
 * abandoned), and ties the response body to it as `fetch` does: once the
 * signal aborts (the caller's signal, or `close()`), an unread body is
 * cancelled, so the application's stream (an SSE loop, its timers) stops.
 * A response that arrives after the abort has its body cancelled at once.
 */
function abortable(work: Send): Send {
  return (request) => {
    const { signal } = request;
    signal.throwIfAborted();
    return new Promise<Response>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      work(request).then((response) => {
        if (signal.aborted) {
          response.body?.cancel(signal.reason).catch(() => {});
          return;
        }
        resolve(tiedToSignal(response, signal));
      }, reject).finally(() => {
        signal.removeEventListener("abort", onAbort);
      });
    });
  };
}

/** `response` with a body that is cancelled (and fails with the reason) when `signal` aborts. */
function tiedToSignal(response: Response, signal: AbortSignal): Response {
  const source = response.body;
  if (source === null) return response;
  const reader = source.getReader();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stop = (): void => {
    reader.cancel(signal.reason).catch(() => {});
    try {
      controller.error(signal.reason);
    } catch {
      // already closed or errored
    }
  };
  const done = (): void => signal.removeEventListener("abort", stop);
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      signal.addEventListener("abort", stop, { once: true });
    },
    async pull(c) {
      try {
        const { done: end, value } = await reader.read();
        if (end) {
          done();
          c.close();
        } else c.enqueue(value);
      } catch (error) {
        done();
        throw error;
      }
    },
    cancel(reason) {
      done();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  const tied = new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  const trailers = trailersOf(response);
  return trailers === null ? tied : withTrailers(tied, trailers);
}

/**
 * A client that calls the application in-process, with no socket: each
 * request is a platform `Request` given to `app.fetch` (or to the function,
 * or to `handleIncoming`). Unless `lifecycle` is `false`, the application's
 * startup signals run before it resolves (a failing hook rejects with its
 * `LifecycleError`), and `close()` / `await using` runs the shutdown and
 * cleanup signals, like aiohttp's test client. The base URL is
 * `http://localhost`.
 *
 * @param app An application, any object with `fetch(request)`, or a fetch handler.
 * @param options Base URL, default headers, redirect mode, lifecycle.
 * @returns The started client.
 *
 * @example
 * ```ts
 * import { Application, text, testClient } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const app = new Application();
 * let started = 0;
 * app.onStartup.push(() => void started++);
 * app.router.get("/", () => text("home"));
 * {
 *   await using client = await testClient(app);
 *   assert.equal(started, 1);
 *   const res = await client.get("/", { query: { page: 2 } });
 *   assert.equal(await res.text(), "home");
 *   assert.equal((await client.get("/missing")).status, 404);
 * }
 * ```
 */
export async function testClient(
  app: ServerApp | FetchHandler,
  options: TestClientOptions = {},
): Promise<TestClient> {
  const client = new TestClient(abortable(inProcess(app)), options);
  if ((options.lifecycle ?? true) && typeof app === "object") {
    await runStartup(app);
    setCloser(client, () => stopApp(app));
  }
  return client;
}

/**
 * Options of {@linkcode testServer}: {@linkcode ServeOptions} (engine,
 * `shutdownTimeout`, …) and the client's options.
 *
 * @example
 * ```ts
 * import type { TestServerOptions } from "@sluice/http/server";
 *
 * const options: TestServerOptions = { engine: "sluice", client: { headers: { accept: "application/json" } } };
 * ```
 */
export interface TestServerOptions extends ServeOptions {
  /** Options of the client (its base URL is the server's). */
  client?: Omit<TestClientOptions, "baseUrl" | "lifecycle">;
}

/**
 * A {@linkcode TestClient} whose requests go over a socket to a server of
 * its own, made by {@linkcode testServer}.
 *
 * @example
 * ```ts
 * import { testServer, type TestServer } from "@sluice/http/server";
 *
 * await using server: TestServer = await testServer(() => new Response("ok"));
 * console.log(server.url); // http://127.0.0.1:…
 * ```
 */
export class TestServer extends TestClient {
  /** The running server. */
  readonly server: ServerHandle;

  /**
   * Wraps a started server; {@linkcode testServer} is the usual way.
   *
   * @param server The server, from `serve()`.
   * @param options The client's options.
   */
  constructor(server: ServerHandle, options: TestServerOptions["client"] = {}) {
    super((request) => fetch(request), { ...options, baseUrl: server.url });
    this.server = server;
    setCloser(this, () => server.shutdown());
  }

  /** The server's URL, e.g. `http://127.0.0.1:41234`. */
  get url(): string {
    return this.server.url;
  }
}

/**
 * Serves the application on a real socket (`serve(app, { hostname:
 * "127.0.0.1", port: 0 })`, which runs its startup signals) and returns a
 * client that sends real HTTP there with the global `fetch`. `close()` /
 * `await using` aborts the requests and unread bodies still open, then shuts
 * the server down gracefully (its shutdown and cleanup signals run), which
 * also closes the client's idle keep-alive connections. `shutdownTimeout`
 * defaults to 10 s here.
 *
 * @param app An application or a fetch handler.
 * @param options Where and how to serve (see {@linkcode ServeOptions}), and `client` options.
 * @returns The client, with the server's `url` and handle.
 *
 * @example
 * ```ts
 * import { Application, json, testServer } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const app = new Application();
 * app.router.get("/users/:id", (req) => json({ id: req.params.id }));
 * await using server = await testServer(app);
 * const res = await server.get("/users/7");
 * assert.deepEqual(await res.json(), { id: "7" });
 * assert.ok(server.url.startsWith("http://127.0.0.1:"));
 * ```
 */
export async function testServer(
  app: ServerApp | FetchHandler,
  options: TestServerOptions = {},
): Promise<TestServer> {
  const { client, ...serveOptions } = options;
  const handle = await serve(app, {
    hostname: "127.0.0.1",
    port: 0,
    shutdownTimeout: 10_000,
    ...serveOptions,
  });
  try {
    return new TestServer(handle, client);
  } catch (error) {
    await handle.shutdown();
    throw error;
  }
}
