/**
 * The contract between the servers (the raw engine and the native adapters)
 * and what they serve: the request object handlers get, what they learn about
 * the connection, the options every backend honours and the handle of a
 * running server.
 *
 * @module
 */

import type { Address, Conn, ListenOptions, TlsInfo } from "../adapters/transport.ts";

export type { Address, Conn, TlsInfo };

/**
 * A request as a server hands it to {@linkcode IncomingHandler}: the read side
 * of the platform `Request`, made lazily. On the raw engine nothing is built
 * until asked for (`headers`, `url`, `body`, `signal` and the platform
 * `Request` in `request` are made on first use, from the parsed head); on
 * native adapters (`Deno.serve`, `Bun.serve`) it is a thin view over the
 * runtime's own `Request`.
 *
 * @example Read a JSON body and a header
 * ```ts
 * import type { IncomingRequest } from "@sluice/http";
 *
 * async function handle(req: IncomingRequest): Promise<Response> {
 *   if (req.method !== "POST") return new Response(null, { status: 405 });
 *   const agent = req.header("user-agent") ?? "unknown";
 *   const body = await req.json() as { name?: string };
 *   return Response.json({ hello: body.name ?? "world", agent });
 * }
 * ```
 */
export interface IncomingRequest {
  /** The method token as sent, e.g. `"GET"`. */
  readonly method: string;
  /**
   * The absolute URL: scheme (`https` behind TLS, or as a trusted proxy
   * says), the `Host` field (or the listening address when an HTTP/1.0 client
   * sent none) and the request-target.
   */
  readonly url: string;
  /** The path of the request-target as sent (not percent-decoded), always starting with `/` (`*` for `OPTIONS *`, `host:port` for `CONNECT`). */
  readonly pathname: string;
  /** The query of the request-target with its `?`, or `""`. */
  readonly search: string;
  /** `"1.1"` or `"1.0"` (native adapters report `"1.1"` unless the runtime tells otherwise). */
  readonly httpVersion: string;
  /** The header fields. Built on first use on the raw engine; {@linkcode IncomingRequest.header} is cheaper for one field. */
  readonly headers: Headers;
  /** The first value of one field (case-insensitive name), or `null`; repeated fields are joined with `", "` as `Headers.get` does. */
  header(name: string): string | null;
  /** The declared `Content-Length`, or `null` when the body is chunked or absent. */
  readonly contentLength: number | null;
  /** The body as a byte stream read straight off the connection, or `null` when the request has none. */
  readonly body: ReadableStream<Uint8Array> | null;
  /** Whether the body has been read or locked. */
  readonly bodyUsed: boolean;
  /** Aborted when the client goes away before the response is complete, or when the server is forced down. */
  readonly signal: AbortSignal;
  /** The peer: the socket's address, or the client a trusted proxy reports. */
  readonly remoteAddress: Address;
  /** `true` when the request came over TLS (or a trusted proxy says it did). */
  readonly secure: boolean;
  /** A platform `Request` with the same method, URL, headers, body and signal, made on first use. Reading it consumes the same body. */
  readonly request: Request;
  /** Reads the whole body. Rejects with a `BodyError` (413) past the server's body limit. */
  arrayBuffer(): Promise<ArrayBuffer>;
  /** Reads the whole body into one `Uint8Array`. */
  bytes(): Promise<Uint8Array>;
  /** Reads the whole body as UTF-8 text. */
  text(): Promise<string>;
  /** Reads the whole body and parses it as JSON (a `SyntaxError` when it is not JSON). */
  json(): Promise<unknown>;
  /** Reads the whole body as form data (through the platform `Request`). */
  formData(): Promise<FormData>;
  /** Reads the whole body as a `Blob`. */
  blob(): Promise<Blob>;
}

/**
 * What a server knows about the connection a request came on, given to
 * handlers beside the request.
 *
 * @example Log who asked
 * ```ts
 * import type { IncomingRequest, ServeInfo } from "@sluice/http";
 *
 * function handle(req: IncomingRequest, info: ServeInfo): Response {
 *   const peer = info.remoteAddress.transport === "tcp" ? info.remoteAddress.hostname : "unix";
 *   return new Response(`${req.method} from ${peer} via ${info.engine}`);
 * }
 * ```
 */
export interface ServeInfo {
  /** Which server runs: the raw `"sluice"` engine, or a runtime's own (`"deno"`, `"bun"`). */
  readonly engine: "sluice" | "deno" | "bun";
  /** The socket's peer (not what a proxy says: see {@linkcode IncomingRequest.remoteAddress}). */
  readonly remoteAddress: Address;
  /** The socket's local end, or `null` where the runtime does not tell. */
  readonly localAddress: Address | null;
  /** The TLS session, or `null` for plain connections (or where the runtime does not tell). */
  readonly tls: TlsInfo | null;
  /**
   * Takes the connection over after the response: for an `Upgrade` request
   * answered `101`, or a `CONNECT` answered `2xx`. The server writes the
   * response head, then calls `onTakeover` with the connection and the bytes
   * the client sent after the request, and forgets the connection. Called on
   * any other request, or with another status, the response is sent and the
   * connection is closed instead. `null` where the backend cannot hand out its
   * connections (native `Deno.serve` and `Bun.serve`).
   */
  readonly takeover: ((onTakeover: (conn: Conn, head: Uint8Array) => void) => void) | null;
}

/**
 * A server's entry point into an application: gets each request and answers
 * with a platform `Response`.
 *
 * @example
 * ```ts
 * import type { IncomingHandler } from "@sluice/http";
 *
 * const handler: IncomingHandler = (req) =>
 *   req.pathname === "/" ? new Response("Hello") : new Response("Not Found", { status: 404 });
 * ```
 */
export type IncomingHandler = (
  request: IncomingRequest,
  info: ServeInfo,
) => Response | Promise<Response>;

/**
 * A standard fetch handler, as edge hosts call it: a platform `Request` in, a
 * `Response` out.
 *
 * @example
 * ```ts
 * import type { FetchHandler } from "@sluice/http";
 *
 * const handler: FetchHandler = (request) => new Response(new URL(request.url).pathname);
 * ```
 */
export type FetchHandler = (request: Request, info: ServeInfo) => Response | Promise<Response>;

/**
 * One lifecycle hook: called with the application, awaited in list order.
 *
 * @example
 * ```ts
 * import type { LifecycleHook } from "@sluice/http";
 *
 * const hook: LifecycleHook<{ name: string }> = async (app) => {
 *   console.log(`starting ${app.name}`);
 * };
 * ```
 */
export type LifecycleHook<A> = (app: A) => void | Promise<void>;

/**
 * A cleanup context (aiohttp's `cleanup_ctx`): an async generator whose code
 * up to its first `yield` runs at startup and whose rest runs at cleanup, in
 * reverse order of registration.
 *
 * @example Open a pool at startup, close it at cleanup
 * ```ts
 * import type { CleanupContext } from "@sluice/http";
 *
 * const pool: CleanupContext<{ state: Map<string, unknown> }> = async function* (app) {
 *   app.state.set("pool", "opened");
 *   yield;
 *   app.state.delete("pool");
 * };
 * ```
 */
export type CleanupContext<A> = (app: A) => AsyncGenerator<unknown, void, unknown>;

/**
 * What `runApp` and `AppRunner` serve: a handler (either kind) and, optionally,
 * the lifecycle signal lists of aiohttp's `Application`. The framework's
 * `Application` is one; a plain object is another.
 *
 * Signals run in aiohttp's order: `onStartup` hooks, then each
 * `cleanupCtx` generator up to its `yield` (startup); at shutdown,
 * `onShutdown` hooks, then the rest of each cleanup context in reverse
 * order, then `onCleanup` hooks.
 *
 * @example
 * ```ts
 * import type { ServerApp } from "@sluice/http";
 *
 * const app: ServerApp = {
 *   fetch: () => new Response("Hello"),
 *   onStartup: [() => console.log("up")],
 *   onCleanup: [() => console.log("down")],
 * };
 * ```
 */
export interface ServerApp {
  /** The fast entry point: gets the server's lazy request. Preferred over `fetch` when both exist. */
  handleIncoming?: IncomingHandler;
  /** An edge-style entry point: gets a platform `Request`. */
  fetch?: FetchHandler;
  /** Run at startup, before the server accepts connections. */
  readonly onStartup?: ReadonlyArray<LifecycleHook<never>>;
  /** Set up at startup (after `onStartup`), torn down after `onShutdown`, in reverse order. */
  readonly cleanupCtx?: ReadonlyArray<CleanupContext<never>>;
  /** Run once the server stopped accepting and in-flight requests finished (or timed out). */
  readonly onShutdown?: ReadonlyArray<LifecycleHook<never>>;
  /** Run last, after the cleanup contexts were torn down. */
  readonly onCleanup?: ReadonlyArray<LifecycleHook<never>>;
}

/**
 * Receives what a server has to report that belongs to no response: handler
 * exceptions (the client got a bare 500), failed connections, failed
 * lifecycle hooks. The default writes to `console.error`.
 *
 * @example Send errors to a structured log
 * ```ts
 * import type { ServerLogger } from "@sluice/http";
 *
 * const logger: ServerLogger = {
 *   error: (message, error) => console.error(JSON.stringify({ message, error: String(error) })),
 *   info: (message) => console.log(message),
 * };
 * ```
 */
export interface ServerLogger {
  /** Something went wrong; `error` is the exception, when there is one. */
  error(message: string, error?: unknown): void;
  /** Something worth knowing happened (where the server listens, a worker restarted). */
  info(message: string): void;
}

/**
 * One line of the access log, handed to a custom access logger after the
 * response was sent (or failed).
 *
 * @example
 * ```ts
 * import type { AccessLogEntry } from "@sluice/http";
 *
 * function line(e: AccessLogEntry): string {
 *   return `${e.method} ${e.target} ${e.status} ${e.bytesSent}B ${e.durationMs.toFixed(1)}ms`;
 * }
 * ```
 */
export interface AccessLogEntry {
  /** The client's address as text (after trusted proxy headers). */
  remote: string;
  /** When the request arrived (ms since the epoch). */
  startTime: number;
  /** The request method. */
  method: string;
  /** The request-target as sent. */
  target: string;
  /** `"1.1"` or `"1.0"`. */
  httpVersion: string;
  /** The status sent, or 0 when none could be sent. */
  status: number;
  /** Body bytes sent (not the head). */
  bytesSent: number;
  /** From the arrival of the request to the end of the response. */
  durationMs: number;
  /** Reads one request header (case-insensitive), or `null`. */
  requestHeader(name: string): string | null;
  /** Reads one response header (case-insensitive), or `null`. */
  responseHeader(name: string): string | null;
}

/**
 * Which proxy headers to believe. Without it (the default) `Forwarded` and
 * `X-Forwarded-*` are ignored: anyone can send them.
 *
 * @example Behind one nginx on the same host
 * ```ts
 * import type { TrustProxyOptions } from "@sluice/http";
 *
 * const trust: TrustProxyOptions = { hops: 1, from: ["127.0.0.1", "::1"] };
 * ```
 */
export interface TrustProxyOptions {
  /** How many proxies in front of the server to believe, counted from the server. Default 1. */
  hops?: number;
  /**
   * Socket peers whose proxy headers are believed (exact addresses, ranges
   * such as `"10.0.0.0/8"`, or `"loopback"`, `"private"`, `"unix"`).
   * Default: any peer.
   */
  from?: string[];
  /**
   * Which fields the proxies set: `"x-forwarded"` (`X-Forwarded-For`,
   * `-Proto`, `-Host`; the default) or `"forwarded"` (RFC 7239). Only that
   * family is read: a client's own fields of the other kind are ignored.
   */
  headers?: "x-forwarded" | "forwarded";
}

/**
 * Connection behaviour shared by every backend (the raw engine and the native
 * adapters). Times are milliseconds; `0` turns a timeout off.
 *
 * @example A tighter server
 * ```ts
 * import type { ServerOptions } from "@sluice/http";
 *
 * const options: ServerOptions = { idleTimeout: 5_000, headersTimeout: 10_000, maxBodySize: 10 * 1024 ** 2 };
 * ```
 */
export interface ServerOptions {
  /** Close a keep-alive connection after this long without a request. Default 75 000 (aiohttp). */
  idleTimeout?: number;
  /** A request head must arrive in full within this time of its first byte (slowloris); else 408 and close. Default 30 000. */
  headersTimeout?: number;
  /** While a handler waits for body bytes, at most this long between two reads; else the body stream errors and the connection closes. Default 60 000. */
  bodyTimeout?: number;
  /** Close a connection (`Connection: close` on the last response) after this many requests. Default 0 (no limit). */
  maxRequestsPerConnection?: number;
  /** Largest request body, enforced while it streams (413). Default 128 MiB; `Infinity` for none. */
  maxBodySize?: number;
  /** An unread request body is read and dropped up to this many bytes so the connection can be reused; past it, the connection closes. Default 256 KiB. */
  drainLimit?: number;
  /** Longest request line. Default 8190. */
  maxRequestLineSize?: number;
  /** Longest header line. Default 8190. */
  maxHeaderSize?: number;
  /** Most header fields. Default 128. */
  maxHeaders?: number;
  /** The `Server` header to add to responses that have none; default none. */
  serverHeader?: string | null;
  /**
   * Decides on `Expect: 100-continue`: return `true` to let the body come
   * (the `100 Continue` is sent when the handler first reads it), `false` to
   * answer `417 Expectation Failed`, or a `Response` to answer that instead.
   * Default: accept.
   */
  expectContinue?: (request: IncomingRequest) => boolean | Response | Promise<boolean | Response>;
  /** Believe `Forwarded` / `X-Forwarded-*` from these proxies. Default: never. */
  trustProxy?: TrustProxyOptions | boolean;
  /** Where errors go. Default: `console.error`. */
  logger?: ServerLogger;
  /** Called after each response with its access log entry. Default: none (the runner installs the formatted log). */
  onAccess?: ((entry: AccessLogEntry) => void) | null;
}

/**
 * A server listening on one address, as a backend returns it.
 *
 * @example Stop a server, giving requests 5 s to finish
 * ```ts
 * import type { RunningServer } from "@sluice/http";
 *
 * async function stop(server: RunningServer): Promise<void> {
 *   await server.shutdown(5_000);
 * }
 * ```
 */
export interface RunningServer {
  /** Where it listens (the real port when 0 was asked for). */
  readonly address: Address;
  /** Which server runs. */
  readonly engine: "sluice" | "deno" | "bun";
  /** Connections open now (where the backend can count them; native backends count requests in flight). */
  readonly connections: number;
  /**
   * Graceful stop: stops accepting (new connections are refused), closes idle
   * keep-alive connections, sends `Connection: close` on the responses in
   * flight and lets them finish; after `timeout` ms whatever is left is
   * closed, aborting the requests' signals. Resolves when every connection is
   * closed. Idempotent: a second call returns the same promise.
   */
  shutdown(timeout: number): Promise<void>;
}

/**
 * A way to serve: the raw engine over a transport, or a runtime's native
 * server. Sites use one to listen.
 *
 * @example
 * ```ts
 * import type { ServerBackend } from "@sluice/http";
 *
 * async function serveOn(backend: ServerBackend): Promise<void> {
 *   const server = await backend.listen({ hostname: "127.0.0.1", port: 0 }, () => new Response("ok"), {});
 *   await server.shutdown(1000);
 * }
 * ```
 */
export interface ServerBackend {
  /** `"sluice"` (raw engine) or the native server's name. */
  readonly engine: "sluice" | "deno" | "bun";
  /** Starts serving `handler` on one address. Rejects with `ListenError` when it cannot listen. */
  listen(
    listen: ListenOptions,
    handler: IncomingHandler,
    options: ServerOptions,
  ): Promise<RunningServer>;
}
