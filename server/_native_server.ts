/**
 * What the native backends share above `Deno.serve` and `Bun.serve`: the
 * handler call with the checks of `_native_checks.ts` before it, handler
 * failures as bare 500s (a {@linkcode BodyError} as its status), the
 * `Server` and `Connection: close` headers, the access log, the
 * `expectContinue` hook, the count of requests in flight and the forced end
 * of a shutdown. Each runtime's adapter supplies a {@linkcode NativeRuntime}.
 *
 * The path of a request whose handler returns a `Response` synchronously
 * stays synchronous, so the runtimes keep their fast paths for it.
 *
 * @module
 */

import type { Address } from "../adapters/transport.ts";
import {
  checkRequest,
  type NativeLimits,
  nativeLimits,
  refusal,
  type RuntimeParser,
} from "./_native_checks.ts";
import { NativeIncomingRequest, NativeServeInfo, type NativeSite } from "./_native_request.ts";
import { BodyError } from "./errors.ts";
import { validateTrustProxy } from "./forwarded.ts";
import type {
  AccessLogEntry,
  IncomingHandler,
  IncomingRequest,
  ServerLogger,
  ServerOptions,
  TlsInfo,
  TrustProxyOptions,
} from "./types.ts";

/** What an adapter tells the shared layer about its runtime. */
export interface NativeRuntime<N> {
  readonly engine: "deno" | "bun";
  /** What its parser refuses by itself. */
  readonly parser: RuntimeParser;
  /** It stops request bodies past `maxBodySize` itself (Bun's `maxRequestBodySize`). */
  readonly limitsBodies: boolean;
  /** Its request bodies are byte streams (BYOB readers work on them; Bun's are not). */
  readonly byteBodies: boolean;
  /** Its `request.signal` aborts exactly when the client goes away (or the server is forced down). */
  readonly nativeSignal: boolean;
  /** It can close its connections when a shutdown's time is up (else pending handlers are answered 503 here). */
  readonly canForceClose: boolean;
  /** It closes the connection after a response with `Connection: close` (Deno does not). */
  readonly honoursConnectionClose: boolean;
  /** The socket's peer of a request. */
  peer(request: Request, native: N): Address;
  /**
   * Where `nativeSignal` is false: calls `abort` when the client goes away
   * before the response is complete, and `done` once the exchange is over.
   */
  watch(request: Request, native: N, abort: (reason: unknown) => void, done: () => void): void;
  /** Settles when the response is fully sent or failed, where the runtime tells (else `null`). */
  completion(native: N): Promise<unknown> | null;
}

/** Writes to the console. */
const consoleLogger: ServerLogger = {
  error: (message, error) =>
    error === undefined ? console.error(message) : console.error(message, error),
  info: (message) => console.log(message),
};

type ExpectHook = NonNullable<ServerOptions["expectContinue"]>;

/** An async handler a forced shutdown may have to answer. */
interface Pending {
  request: NativeIncomingRequest<unknown>;
  resolve: (response: Response) => void;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === "AbortError";
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return `an object (${Object.prototype.toString.call(value)})`;
  return typeof value;
}

function internalError(): Response {
  return new Response("Internal Server Error", {
    status: 500,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** Drops a response nobody will send, releasing its body. */
function discard(value: unknown): void {
  if (value instanceof Response) value.body?.cancel().catch(() => {});
}

function addressText(address: Address): string {
  if (address.transport === "unix") return address.path === "" ? "unix" : `unix:${address.path}`;
  return address.hostname;
}

/** One native server's state and request path. */
export class NativeServer<N> implements NativeSite<N> {
  readonly engine: "deno" | "bun";
  /** Set by the adapter once the runtime listens (before any request). */
  localAddress: Address = { transport: "tcp", hostname: "0.0.0.0", port: 0, family: "IPv4" };
  readonly tls: TlsInfo | null;
  readonly trust: TrustProxyOptions | boolean | undefined;
  readonly bodyLimit: number;
  readonly byteBodies: boolean;
  readonly maxBodySize: number;
  readonly limits: NativeLimits;
  readonly logger: ServerLogger;
  /** Handlers that have not answered yet. */
  inFlight = 0;
  readonly #runtime: NativeRuntime<N>;
  readonly #handler: IncomingHandler;
  readonly #serverHeader: string | null;
  readonly #onAccess: ((entry: AccessLogEntry) => void) | null;
  readonly #expect: ExpectHook | null;
  #closing = false;
  /** Requests with a signal of our own, aborted when the server is forced down. */
  readonly #live = new Set<NativeIncomingRequest<N>>();
  readonly #pending: Set<Pending> | null;

  constructor(
    runtime: NativeRuntime<N>,
    handler: IncomingHandler,
    options: ServerOptions,
    tls: TlsInfo | null,
  ) {
    if (typeof handler !== "function") {
      throw new TypeError("Cannot serve: the handler is not a function");
    }
    const serverHeader = options.serverHeader ?? null;
    if (serverHeader !== null && !/^[\t\x20-\x7e]+$/.test(serverHeader)) {
      throw new TypeError(
        `Cannot use serverHeader ${JSON.stringify(serverHeader)}: not a field value`,
      );
    }
    validateTrustProxy(options.trustProxy);
    this.engine = runtime.engine;
    this.tls = tls;
    this.trust = options.trustProxy;
    this.limits = nativeLimits(options, runtime.parser);
    this.maxBodySize = this.limits.maxBodySize;
    this.bodyLimit = runtime.limitsBodies ? Infinity : this.maxBodySize;
    this.byteBodies = runtime.byteBodies;
    this.logger = options.logger ?? consoleLogger;
    this.#runtime = runtime;
    this.#handler = handler;
    this.#serverHeader = serverHeader;
    this.#onAccess = options.onAccess ?? null;
    this.#expect = options.expectContinue ?? null;
    this.#pending = runtime.canForceClose ? null : new Set();
  }

  peer(request: Request, native: N): Address {
    return this.#runtime.peer(request, native);
  }

  signal(request: NativeIncomingRequest<N>): AbortSignal {
    if (this.#runtime.nativeSignal) return request.raw.signal;
    const signal = request.ownSignal();
    this.#live.add(request);
    this.#runtime.watch(
      request.raw,
      request.native,
      (reason) => request.abort(reason),
      () => this.#live.delete(request),
    );
    return signal;
  }

  /** The runtime's handler. */
  readonly handle = (raw: Request, native: N): Response | Promise<Response> => {
    const request = new NativeIncomingRequest(raw, native, this);
    if (this.#onAccess !== null) return this.#logged(request);
    return this.#serve(request);
  };

  /** The runtime's error hook: something failed after our handler (a response body stream). */
  readonly onError = (error: unknown): Response => {
    this.logger.error("Response failed", error);
    return internalError();
  };

  /** Shutdown began: responses from now on carry `Connection: close`. */
  beginShutdown(): void {
    this.#closing = true;
  }

  /**
   * A shutdown's time is up: aborts the signals we own and answers every
   * handler still running `503` (where the runtime cannot close the
   * connections itself); what the handlers return later is dropped.
   */
  force(): void {
    const reason = new DOMException("The server shut down", "AbortError");
    for (const request of this.#live) request.abort(reason);
    this.#live.clear();
    const pending = this.#pending;
    if (pending === null) return;
    for (const entry of pending) {
      pending.delete(entry);
      this.inFlight--;
      entry.resolve(this.#finish(refusal(503)));
    }
  }

  #serve(request: NativeIncomingRequest<N>): Response | Promise<Response> {
    const refused = checkRequest(
      request.raw,
      request.method,
      request.rawUrl,
      request.targetStart,
      this.limits,
    );
    if (refused !== 0) return this.#finish(this.#refusal(refused));
    if (this.#expect !== null && request.raw.headers.get("expect") !== null) {
      return this.#expectation(request);
    }
    return this.#call(request);
  }

  async #expectation(request: NativeIncomingRequest<N>): Promise<Response> {
    if (request.raw.headers.get("expect")!.toLowerCase() !== "100-continue") {
      return this.#call(request);
    }
    let verdict: boolean | Response;
    try {
      verdict = await this.#expect!(request);
    } catch (error) {
      return this.#finish(this.#failure(request, error));
    }
    if (verdict === true) return this.#call(request);
    if (!(verdict instanceof Response)) return this.#finish(this.#refusal(417));
    const response = this.#finish(verdict);
    if (response.status === 101 || !this.#runtime.honoursConnectionClose) return response;
    return this.#decorate(response, null, true);
  }

  #call(request: NativeIncomingRequest<N>): Response | Promise<Response> {
    this.inFlight++;
    let result: unknown;
    try {
      result = this.#handler(request, new NativeServeInfo(request, this));
    } catch (error) {
      result = this.#failure(request, error);
    }
    if (result instanceof Response) {
      this.inFlight--;
      return this.#finish(result);
    }
    if (result === null || typeof (result as PromiseLike<unknown>)?.then !== "function") {
      return this.#settle(request, result);
    }
    const promise = result as PromiseLike<unknown>;
    const pending = this.#pending;
    if (pending === null) {
      return Promise.resolve(promise).then(
        (value) => this.#settle(request, value),
        (error) => this.#settle(request, this.#failure(request, error)),
      );
    }
    return new Promise<Response>((resolve) => {
      const entry: Pending = { request, resolve };
      pending.add(entry);
      promise.then(
        (value) => {
          if (pending.delete(entry)) resolve(this.#settle(request, value));
          else discard(value);
        },
        (error) => {
          if (pending.delete(entry)) resolve(this.#settle(request, this.#failure(request, error)));
        },
      );
    });
  }

  #settle(request: NativeIncomingRequest<N>, value: unknown): Response {
    this.inFlight--;
    if (value instanceof Response) return this.#finish(value);
    const error = new TypeError(
      `Cannot send ${describe(value)}: the handler must return a Response`,
    );
    return this.#finish(this.#failure(request, error));
  }

  /** The answer to a handler that threw: a body error's status, else a logged 500. */
  #failure(request: IncomingRequest & { aborted: boolean }, error: unknown): Response {
    if (error instanceof BodyError) return this.#refusal(error.status);
    if (!(request.aborted && isAbort(error))) {
      this.logger.error(`Handler failed for ${request.method} ${request.pathname}`, error);
    }
    return internalError();
  }

  /** A bare answer; `Connection: close` where the runtime then closes. */
  #refusal(status: number): Response {
    return refusal(status, this.#runtime.honoursConnectionClose);
  }

  #finish(response: Response): Response {
    if (this.#serverHeader === null && !this.#closing) return response;
    if (response.status === 101) return response;
    return this.#decorate(response, this.#serverHeader, this.#closing);
  }

  /** Adds `Server` (unless present) and `Connection: close`, copying a response whose headers are immutable. */
  #decorate(response: Response, server: string | null, close: boolean): Response {
    try {
      if (server !== null && !response.headers.has("server")) {
        response.headers.set("server", server);
      }
      if (close) response.headers.set("connection", "close");
      return response;
    } catch {
      // Response.redirect(), Response.error() and fetch() responses have immutable headers.
      const copy = new Response(response.body, response);
      if (server !== null && !copy.headers.has("server")) copy.headers.set("server", server);
      if (close) copy.headers.set("connection", "close");
      return copy;
    }
  }

  #logged(request: NativeIncomingRequest<N>): Response | Promise<Response> {
    const startTime = Date.now();
    const started = performance.now();
    // Read now: once the exchange is over, the runtime may no longer tell (Deno:
    // "Request closed").
    const remote = addressText(request.remoteAddress);
    const requestHeaders = new Headers(request.raw.headers);
    const target = request.pathname + request.search;
    const log = (response: Response): Response => {
      const write = () => {
        const length = response.headers.get("content-length");
        try {
          this.#onAccess!({
            remote,
            startTime,
            method: request.method,
            target,
            httpVersion: request.httpVersion,
            status: response.status,
            bytesSent: length === null ? 0 : Number(length),
            durationMs: performance.now() - started,
            requestHeader: (name) => requestHeaders.get(name),
            responseHeader: (name) => response.headers.get(name),
          });
        } catch (error) {
          this.logger.error("Access logger failed", error);
        }
      };
      const done = this.#runtime.completion(request.native);
      if (done === null) write();
      else done.then(write, write);
      return response;
    };
    const result = this.#serve(request);
    return result instanceof Response ? log(result) : result.then(log);
  }
}
