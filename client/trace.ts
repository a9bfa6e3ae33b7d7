/**
 * Tracing hooks of the client, like aiohttp's `TraceConfig`: lists of
 * callbacks for the steps of every request a session sends (start, end,
 * exception, redirect, chunks sent and received, waiting for and opening
 * connections, DNS), each given the elapsed time since the request began.
 *
 * @module
 */

/** What every trace event carries. */
export interface TraceEventBase {
  /** Milliseconds since the request started (`performance.now()` based). */
  elapsed: number;
}

/** Parameters of `onRequestStart`, `onRequestHeadersSent`. */
export interface TraceRequestParams extends TraceEventBase {
  /** The method. */
  method: string;
  /** The URL of this hop. */
  url: URL;
  /** The request's fields. */
  headers: Headers;
}

/** Parameters of `onRequestEnd` and `onRequestRedirect`. */
export interface TraceResponseParams extends TraceRequestParams {
  /** The response (of the redirect, for `onRequestRedirect`). */
  response: { status: number; headers: Headers };
}

/** Parameters of `onRequestException`. */
export interface TraceExceptionParams extends TraceRequestParams {
  /** What failed the request. */
  error: unknown;
}

/** Parameters of `onRequestChunkSent` and `onResponseChunkReceived`. */
export interface TraceChunkParams extends TraceEventBase {
  /** The method. */
  method: string;
  /** The URL of this hop. */
  url: URL;
  /** Bytes in this chunk. */
  size: number;
  /** Bytes so far, this chunk included. */
  total: number;
}

/** Parameters of the connection events (queued, create, reuse). */
export interface TraceConnectionParams extends TraceEventBase {
  /** The pool key: scheme, host, port, TLS settings, proxy. */
  key: string;
}

/** Parameters of the DNS events. */
export interface TraceDnsParams extends TraceEventBase {
  /** The host name being resolved. */
  host: string;
  /** The addresses found (`onDnsResolveHostEnd` only). */
  addresses?: readonly string[];
}

/**
 * A trace callback: the session, this config's per-request context object
 * and the event's parameters. It may return a promise, which the session
 * waits for on request-level events (start, end, exception, redirect, chunks);
 * connection and DNS events are not waited for. A callback that throws fails
 * the request, as in aiohttp.
 *
 * @example
 * ```ts
 * import type { TraceHandler, TraceRequestParams } from "@sluice/http/client";
 *
 * const onStart: TraceHandler<TraceRequestParams> = (_session, ctx, params) => {
 *   ctx.started = params.elapsed;
 * };
 * ```
 */
export type TraceHandler<P> = (
  session: object,
  context: Record<string, unknown>,
  params: P,
) => void | Promise<void>;

/**
 * The lists of trace callbacks. Push callbacks onto the lists, then pass
 * the config in `new ClientSession({ trace: [config] })`. Each request gets
 * a fresh context object per config (from `traceContext`, default `{}`),
 * shared by that request's callbacks, redirect hops included.
 *
 * @example Time every request
 * ```ts
 * import { TraceConfig } from "@sluice/http/client";
 *
 * const trace = new TraceConfig();
 * trace.onRequestEnd.push((_session, _ctx, { method, url, elapsed, response }) => {
 *   console.log(`${method} ${url.href} → ${response.status} in ${elapsed.toFixed(1)} ms`);
 * });
 * ```
 */
export class TraceConfig {
  /** The request starts (once per `request()` call, before middlewares). */
  readonly onRequestStart: TraceHandler<TraceRequestParams>[] = [];
  /** A hop's head was handed to the connection. */
  readonly onRequestHeadersSent: TraceHandler<TraceRequestParams>[] = [];
  /** A body chunk was written. */
  readonly onRequestChunkSent: TraceHandler<TraceChunkParams>[] = [];
  /** A body chunk was received (after decompression). */
  readonly onResponseChunkReceived: TraceHandler<TraceChunkParams>[] = [];
  /** A redirect response is followed. */
  readonly onRequestRedirect: TraceHandler<TraceResponseParams>[] = [];
  /** The final response head arrived. */
  readonly onRequestEnd: TraceHandler<TraceResponseParams>[] = [];
  /** The request failed. */
  readonly onRequestException: TraceHandler<TraceExceptionParams>[] = [];
  /** Waiting for a free connection starts. */
  readonly onConnectionQueuedStart: TraceHandler<TraceConnectionParams>[] = [];
  /** Waiting for a free connection ends. */
  readonly onConnectionQueuedEnd: TraceHandler<TraceConnectionParams>[] = [];
  /** Opening a connection starts. */
  readonly onConnectionCreateStart: TraceHandler<TraceConnectionParams>[] = [];
  /** A connection was opened. */
  readonly onConnectionCreateEnd: TraceHandler<TraceConnectionParams>[] = [];
  /** An idle pooled connection is reused. */
  readonly onConnectionReuseconn: TraceHandler<TraceConnectionParams>[] = [];
  /** A DNS lookup starts. */
  readonly onDnsResolveHostStart: TraceHandler<TraceDnsParams>[] = [];
  /** A DNS lookup ended. */
  readonly onDnsResolveHostEnd: TraceHandler<TraceDnsParams>[] = [];
  /** A host was found in the DNS cache. */
  readonly onDnsCacheHit: TraceHandler<TraceDnsParams>[] = [];
  /** A host was not in the DNS cache. */
  readonly onDnsCacheMiss: TraceHandler<TraceDnsParams>[] = [];
  readonly #makeContext: () => Record<string, unknown>;

  /**
   * Creates empty lists.
   *
   * @param options `traceContext` makes each request's context object.
   */
  constructor(options: { traceContext?: () => Record<string, unknown> } = {}) {
    this.#makeContext = options.traceContext ?? (() => ({}));
  }

  /**
   * A fresh context object for one request (the session calls this).
   *
   * @returns The object passed to this request's callbacks.
   */
  newContext(): Record<string, unknown> {
    return this.#makeContext();
  }
}
