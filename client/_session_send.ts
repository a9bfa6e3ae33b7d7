/**
 * The end of the session's middleware chain: one hop sent on a pooled
 * connection, its response wrapped (decompression, read timeout, download
 * progress, trace events) into a {@linkcode ClientResponse}.
 *
 * @module
 */

import type { ConnectionResponse } from "./_connection.ts";
import type { RequestTrace } from "./_trace_run.ts";
import type { Connector, PoolResponse } from "./pool.ts";
import type { PoolObserver } from "./_pool_types.ts";
import type { ClientRequest } from "./middleware.ts";
import type { ProxyInfo } from "./proxy_env.ts";
import { ClientResponse, sessionState } from "./response.ts";
import { ExchangeResponse } from "./_connection_response.ts";
import type { PhaseTimer } from "./timeouts.ts";
import { decodeBody } from "./_decompress.ts";

/**
 * Progress of an upload or a download.
 *
 * @example
 * ```ts
 * import type { Progress } from "@sluice/http/client";
 *
 * const percent = (p: Progress): number | null => p.total === null ? null : (100 * p.loaded) / p.total;
 * ```
 */
export interface Progress {
  /** Bytes sent or received so far (as on the wire: before decompression). */
  loaded: number;
  /** The body's length when known (`Content-Length` or the request body's size), else `null`. */
  total: number | null;
}

/** What one request's hops share. */
export interface SendContext {
  connector: Connector;
  timer: PhaseTimer;
  trace: RequestTrace | null;
  observer: PoolObserver | undefined;
  /** Decode `Content-Encoding` (and the caps), or `null` to hand bodies over as received. */
  decompress: { maxSize?: number; maxRatio?: number } | null;
  onUploadProgress: ((progress: Progress) => void) | undefined;
  onDownloadProgress: ((progress: Progress) => void) | undefined;
  /** Chooses each redirect hop's proxy from its URL (`trustEnv`), or `null` to keep the first hop's. */
  proxyFor: ((url: URL) => ProxyInfo | null) | null;
}

/** Whether a hop's body is done, and whether it is the request's final response. */
export interface DoneState {
  done: boolean;
  final: boolean;
  /** The request's timers, cleared once the final response is done. */
  timer: PhaseTimer;
}

/** The done state of a response {@linkcode sendHop} made, else `undefined`. */
export function doneStateOf(res: ClientResponse): DoneState | undefined {
  return sessionState.get(res) as DoneState | undefined;
}

/**
 * Sends one hop and resolves at its response head.
 *
 * @param req The hop (after the middlewares).
 * @param ctx The request's timer, trace and options.
 * @returns The response, body unread.
 * @throws {TypeError} when the body is a stream that was already sent.
 */
export function sendHop(req: ClientRequest, ctx: SendContext): Promise<ClientResponse> {
  if (!req.replayable) {
    return Promise.reject(
      new TypeError(
        `Cannot send ${req.method} ${req.url.href}: its body is a stream that was already sent ` +
          "(give bytes or a Blob to send it again, e.g. from a retry middleware)",
      ),
    );
  }
  const { body, contentLength } = wireBody(req);
  req.markSent();
  const trace = ctx.trace;
  const upload = ctx.onUploadProgress;
  const chunkTrace = trace !== null && trace.has("onRequestChunkSent");
  const onChunkSent = upload === undefined && !chunkTrace
    ? undefined
    : (size: number, total: number) => {
      upload?.({ loaded: total, total: contentLength ?? bodySize(req) });
      if (chunkTrace) {
        trace.fire("onRequestChunkSent", {
          method: req.method,
          url: req.url,
          size,
          total,
        });
      }
    };
  // Reported as the head goes out (before any body chunk); a failing callback fails the
  // request once its response head is in (`traced`).
  const onHeadSent = trace === null || !trace.has("onRequestHeadersSent")
    ? undefined
    : () =>
      trace.fire("onRequestHeadersSent", {
        method: req.method,
        url: req.url,
        headers: req.headers,
      });
  const sent = ctx.connector.request(req.url, {
    method: req.method,
    headers: req.fieldList(),
    body,
    contentLength,
    expect100: req.expect100 === false ? undefined : req.expect100,
    onChunkSent,
    onHeadSent,
  }, { signal: req.abortSource, timer: ctx.timer, trace: ctx.observer, proxy: req.proxy });
  // No async frame on the usual path (no trace): one `then` from the pool's answer to the response.
  return trace === null
    ? sent.then((result) => responseOf(result, req, ctx))
    : sent.then((result) => traced(responseOf(result, req, ctx), trace));
}

/** The hop's response around the pool's answer, with its done state. */
function responseOf(result: PoolResponse, req: ClientRequest, ctx: SendContext): ClientResponse {
  const response = wrapBody(result.response, req, ctx);
  const state: DoneState = { done: false, final: false, timer: ctx.timer };
  const settle = (): void => {
    state.done = true;
    if (state.final) state.timer.clear();
  };
  // The exchange ended on the wire (body received, or failed, even unread): no timer is
  // needed any more, and none may keep the process alive for a body nobody reads.
  const head = result.response;
  if (head instanceof ExchangeResponse) head.whenEnded(settle);
  else head.trailers.then(settle, settle);
  const res = new ClientResponse({
    response,
    connection: result.connection,
    method: req.method,
    url: req.url,
    onDone: settle,
  });
  sessionState.set(res, state);
  return res;
}

/** A trace callback that failed (the head's, or the pool's events) fails the request, not the pool. */
async function traced(res: ClientResponse, trace: RequestTrace): Promise<ClientResponse> {
  try {
    trace.check();
  } catch (error) {
    await res.release();
    throw error;
  }
  return res;
}

function bodySize(req: ClientRequest): number | null {
  const body = req.body;
  if (body instanceof Uint8Array) return body.length;
  if (body instanceof Blob) return body.size;
  return null;
}

/** The body as the connection takes it: bytes, or a stream with its length when known. */
function wireBody(
  req: ClientRequest,
): { body: Uint8Array | ReadableStream<Uint8Array> | null; contentLength: number | null } {
  const body = req.body;
  if (body === null || body instanceof Uint8Array) return { body, contentLength: null };
  if (body instanceof Blob) {
    return { body: body.stream() as ReadableStream<Uint8Array>, contentLength: body.size };
  }
  return { body, contentLength: null };
}

/** Whether a response has a body, without making its stream. */
function hasBody(response: ConnectionResponse): boolean {
  return response instanceof ExchangeResponse ? response.channel !== null : response.body !== null;
}

/** Wraps the body stream when something must see its chunks; else hands it over as is. */
function wrapBody(
  response: ConnectionResponse,
  req: ClientRequest,
  ctx: SendContext,
): ConnectionResponse {
  if (!hasBody(response)) return response;
  const coding = ctx.decompress === null
    ? null
    : response instanceof ExchangeResponse
    ? response.field("content-encoding")
    : response.headers.get("content-encoding");
  const decode = coding !== null && coding !== "" && coding.toLowerCase() !== "identity";
  const readTimeout = ctx.timer.hasTimeout("sockRead");
  const download = ctx.onDownloadProgress;
  const trace = ctx.trace !== null && ctx.trace.has("onResponseChunkReceived") ? ctx.trace : null;
  if (!decode && !readTimeout && download === undefined && trace === null) return response;
  let body: ReadableStream<Uint8Array> = response.body!;
  if (readTimeout || download !== undefined) {
    const length = response.headers.get("content-length");
    const total = length === null ? null : Number(length);
    body = observe(body, (_size, loaded) => download?.({ loaded, total }), ctx.timer, readTimeout);
  }
  if (decode) body = decodeBody(body, coding!, ctx.decompress!).body;
  if (trace !== null) {
    body = observe(
      body,
      (size, total) => {
        trace.fire("onResponseChunkReceived", { method: req.method, url: req.url, size, total });
      },
      null,
      false,
    );
  }
  return {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
    httpVersion: response.httpVersion,
    body,
    get trailers() {
      return response.trailers;
    },
  };
}

/** A pass-through that reports each chunk and (optionally) times the wait for it. */
function observe(
  source: ReadableStream<Uint8Array>,
  onChunk: (size: number, total: number) => void,
  timer: PhaseTimer | null,
  timed: boolean,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let total = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (timed) timer!.start("sockRead");
      let result;
      try {
        result = await reader.read();
      } finally {
        if (timed) timer!.end("sockRead");
      }
      if (result.done) {
        controller.close();
        return;
      }
      total += result.value.length;
      onChunk(result.value.length, total);
      controller.enqueue(result.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
