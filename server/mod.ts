/**
 * Serving HTTP: the raw Sluice engine (`rawBackend`), the lifecycle of an
 * application (`runApp`, `serve`, `AppRunner` and its sites, aiohttp's
 * signal order), access logs, trusted proxy headers, and response helpers.
 *
 * The contract every server honours is in {@linkcode ServerBackend},
 * {@linkcode IncomingRequest} and {@linkcode ServerOptions}; the backends
 * are the raw engine over a transport (`node:net`, `Deno.listen`,
 * `Bun.listen`) and the runtimes' own servers (`Deno.serve`, `Bun.serve`).
 *
 * @example Serve until Ctrl-C
 * ```ts ignore
 * import { json, runApp, text } from "@sluice/http";
 *
 * await runApp({
 *   handleIncoming: (req) => req.pathname === "/" ? text("Hello") : json({ path: req.pathname }),
 *   onStartup: [() => console.log("starting")],
 * }, { hostname: "127.0.0.1", port: 8080 });
 * ```
 *
 * @module
 */

export type * from "./types.ts";
export type {
  ConnEvents,
  Listener,
  ListenErrorCode,
  ListenOptions,
  ListenTlsOptions,
  ServerTransport,
} from "../adapters/transport.ts";
export { ListenError } from "../adapters/transport.ts";
export { rawBackend } from "./engine.ts";
export { BodyError, type BodyErrorCode } from "./errors.ts";
export * from "./http_errors.ts";
export * from "./_http_redirects.ts";
export * from "./_http_client_errors.ts";
export * from "./_http_server_errors.ts";
export { html, json, redirect, switchingProtocols, text, withTrailers } from "./responses.ts";
export { type RouteMatch, RouteMatcher } from "./router/matcher.ts";
export {
  type AddRouteOptions,
  type RouteInfo,
  Router,
  type RouteResolution,
  type RouterOptions,
  type UrlOptions,
  type UrlParams,
  type UrlQuery,
} from "./router/router.ts";
export { normalizePath, type NormalizePathOptions } from "./router/normalize.ts";
export { compose, type Middleware, type Next } from "./middleware/compose.ts";
export { cors, type CorsOptions, type CorsOrigin } from "./middleware/cors.ts";
export {
  compress,
  type CompressMiddlewareOptions,
  type DecompressRequestOptions,
} from "./middleware/compress.ts";
export { REQUEST_ID, requestId, type RequestIdOptions } from "./middleware/request_id.ts";
export {
  errorPages,
  type ErrorPagesOptions,
  type ErrorRenderer,
  renderErrorPage,
} from "./middleware/error_pages.ts";
export {
  serverTiming,
  type ServerTimingOptions,
  timing,
  type TimingRecorder,
} from "./middleware/server_timing.ts";
export { bodyLimit } from "./middleware/body_limit.ts";
export {
  normalizePathMiddleware,
  type NormalizePathMiddlewareOptions,
} from "./middleware/normalize_path.ts";
export { AppKey, AppState } from "./app_key.ts";
export {
  type ResponseWriter,
  sse,
  type SseEvent,
  type SseInit,
  type SseWriter,
  stream,
  StreamError,
  type StreamErrorCode,
  type StreamInit,
  streamResponse,
} from "./streaming.ts";
export { ServerRequest, type ServerRequestOptions } from "./server_request.ts";
export { Application, type ApplicationOptions, type ResponsePrepareHook } from "./application.ts";
export {
  AppRouter,
  type Handler,
  type Params,
  type RouteMiddleware,
  type RouteOptions,
  type RouteVerb,
} from "./app_router.ts";
export { View, type ViewClass, type ViewMethodName } from "./view.ts";
export {
  StaticFiles,
  type StaticFilesOptions,
  type StaticFileSystem,
  type StaticRequest,
  type StaticUrlOptions,
} from "./static_files.ts";
export type { PathParams } from "./router/path_params.ts";
export { file, type FileRequest, fileResponse, type FileResponseOptions } from "./file_response.ts";
export {
  type QueryInit,
  type QueryValue,
  type TestBody,
  TestClient,
  testClient,
  type TestClientOptions,
  type TestCookie,
  TestCookieJar,
  type TestRequestInit,
  TestServer,
  testServer,
  type TestServerOptions,
} from "./test_client.ts";
export type { DirEntry, FileHandle, FileStat, FileSystem } from "../adapters/fs.ts";
export {
  type CompressionLevels,
  type CompressOptions,
  compressResponse,
  decompressBody,
  type DecompressOptions,
  negotiateEncoding,
  supportedEncodings,
} from "./compression.ts";
export {
  type CookieOptions,
  type CookiePriority,
  type CookieSameSite,
  deleteCookie,
  type DeleteCookieOptions,
  parseCookieHeader,
  type ParseCookieOptions,
  serializeSetCookie,
  setCookie,
} from "./cookies.ts";
export { type ForwardedView, resolveForwarded, validateTrustProxy } from "./forwarded.ts";
export * from "./lifecycle.ts";
export * from "./access_log.ts";
export * from "./runner.ts";
export * from "./run_app.ts";
export {
  defaultBackend,
  type EngineName,
  exitProcess,
  onTerminationSignals,
  type RuntimeName,
  runtimeName,
  setExitCode,
  type TerminationSignal,
} from "../adapters/auto.ts";
