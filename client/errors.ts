/**
 * Errors the HTTP client raises. Each class is distinct and each carries a
 * stable `code` (`"SLUICE_ERR_CLIENT_..."`); all extend {@linkcode ClientError},
 * which extends `SluiceError`.
 *
 * Socket-level connect failures are raised by the transport as `ConnectError`
 * (`adapters/connect.ts`); the client wraps them in
 * {@linkcode ClientConnectionError} with the original as `cause`.
 *
 * @module
 */

import { SluiceError } from "../util/errors.ts";

/** Every stable code a {@linkcode ClientError} can carry. */
export type ClientErrorCode =
  | ClientConnectionErrorCode
  | "SLUICE_ERR_CLIENT_TLS"
  | "SLUICE_ERR_CLIENT_INVALID_URL"
  | ClientPayloadErrorCode
  | "SLUICE_ERR_CLIENT_TOO_MANY_REDIRECTS"
  | "SLUICE_ERR_CLIENT_REDIRECT_BODY"
  | "SLUICE_ERR_CLIENT_SESSION_CLOSED"
  | "SLUICE_ERR_CLIENT_RESPONSE_STATUS"
  | "SLUICE_ERR_CLIENT_POOL_CLOSED"
  | TimeoutErrorCode;

/**
 * The base class of every error the client raises on purpose. Catch it to
 * handle any client failure; switch on `code` for the reason.
 *
 * @example Catch any client error
 * ```ts
 * import { ClientError, InvalidUrlError } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const err: unknown = new InvalidUrlError("not a url", "Cannot request \"not a url\": invalid URL");
 * assert.ok(err instanceof ClientError);
 * assert.equal((err as ClientError).code, "SLUICE_ERR_CLIENT_INVALID_URL");
 * ```
 */
export class ClientError extends SluiceError {
  /** Stable machine-readable code, one of {@linkcode ClientErrorCode}. */
  override readonly code: ClientErrorCode;

  /**
   * Creates a client error.
   *
   * @param code One of the stable client error codes.
   * @param message "Cannot X: reason".
   * @param options The underlying error, if any.
   */
  constructor(code: ClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.code = code;
  }
}

/** A stable code of {@linkcode ClientConnectionError}. */
export type ClientConnectionErrorCode =
  | "SLUICE_ERR_CLIENT_CONNECTION_REFUSED"
  | "SLUICE_ERR_CLIENT_CONNECTION_RESET"
  | "SLUICE_ERR_CLIENT_CONNECTION_CLOSED"
  | "SLUICE_ERR_CLIENT_DNS"
  | "SLUICE_ERR_CLIENT_PROXY";

/**
 * The connection to the server (or proxy) failed: refused
 * (`SLUICE_ERR_CLIENT_CONNECTION_REFUSED`), reset by the peer
 * (`SLUICE_ERR_CLIENT_CONNECTION_RESET`), closed by the peer before a full
 * response came (`SLUICE_ERR_CLIENT_CONNECTION_CLOSED`), the host name did
 * not resolve (`SLUICE_ERR_CLIENT_DNS`), or the proxy refused the `CONNECT`
 * tunnel (`SLUICE_ERR_CLIENT_PROXY`; the cause's `status` is the proxy's
 * answer, e.g. 407). The transport's error is the `cause`.
 *
 * @example Tell a refused connection apart
 * ```ts
 * import { ClientConnectionError } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const err = new ClientConnectionError(
 *   "SLUICE_ERR_CLIENT_CONNECTION_REFUSED",
 *   "Cannot connect to 127.0.0.1:1: connection refused",
 *   { host: "127.0.0.1", port: 1 },
 * );
 * assert.equal(err.host, "127.0.0.1");
 * assert.equal(err.port, 1);
 * ```
 */
export class ClientConnectionError extends ClientError {
  /** Stable machine-readable code, one of {@linkcode ClientConnectionErrorCode}. */
  override readonly code: ClientConnectionErrorCode;
  /** The host the client tried to reach (the proxy's, when one is used). */
  readonly host: string;
  /** The port the client tried to reach. */
  readonly port: number;

  /**
   * Creates a connection error.
   *
   * @param code One of the stable connection error codes.
   * @param message "Cannot connect to host:port: reason".
   * @param details The host, port and underlying error.
   */
  constructor(
    code: ClientConnectionErrorCode,
    message: string,
    details: { host: string; port: number; cause?: unknown },
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.host = details.host;
    this.port = details.port;
  }
}

/**
 * The TLS handshake failed: the certificate did not verify, the host name did
 * not match, or the peer spoke no TLS. Code `SLUICE_ERR_CLIENT_TLS`; the
 * runtime's error is the `cause`.
 *
 * @example
 * ```ts
 * import { ClientTlsError } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const err = new ClientTlsError("Cannot connect to example.test:443: certificate has expired", {
 *   host: "example.test",
 *   port: 443,
 * });
 * assert.equal(err.code, "SLUICE_ERR_CLIENT_TLS");
 * ```
 */
export class ClientTlsError extends ClientError {
  /** The host of the failed handshake. */
  readonly host: string;
  /** The port of the failed handshake. */
  readonly port: number;

  /**
   * Creates a TLS error.
   *
   * @param message "Cannot connect to host:port: reason".
   * @param details The host, port and underlying error.
   */
  constructor(message: string, details: { host: string; port: number; cause?: unknown }) {
    super(
      "SLUICE_ERR_CLIENT_TLS",
      message,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.host = details.host;
    this.port = details.port;
  }
}

/**
 * A URL given to the client (request, redirect `Location`, proxy) cannot be
 * used: it does not parse, or its scheme is not `http:`/`https:`. Code
 * `SLUICE_ERR_CLIENT_INVALID_URL`.
 *
 * @example
 * ```ts
 * import { InvalidUrlError } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const err = new InvalidUrlError("ftp://x/", "Cannot request \"ftp://x/\": unsupported scheme");
 * assert.equal(err.url, "ftp://x/");
 * ```
 */
export class InvalidUrlError extends ClientError {
  /** The offending URL, as given. */
  readonly url: string;

  /**
   * Creates an invalid-URL error.
   *
   * @param url The offending URL, as given.
   * @param message "Cannot X "url": reason".
   * @param options The underlying error, if any.
   */
  constructor(url: string, message: string, options?: { cause?: unknown }) {
    super("SLUICE_ERR_CLIENT_INVALID_URL", message, options);
    this.url = url;
  }
}

/** A stable code of {@linkcode ClientPayloadError}. */
export type ClientPayloadErrorCode =
  | "SLUICE_ERR_CLIENT_PAYLOAD_TRUNCATED"
  | "SLUICE_ERR_CLIENT_PAYLOAD_BAD_CHUNKING"
  | "SLUICE_ERR_CLIENT_PAYLOAD_MALFORMED"
  | "SLUICE_ERR_CLIENT_PAYLOAD_LENGTH_MISMATCH"
  | "SLUICE_ERR_CLIENT_PAYLOAD_DECOMPRESS"
  | "SLUICE_ERR_CLIENT_PAYLOAD_TOO_LARGE";

/**
 * Reading a response body failed: the connection ended before the body did
 * (`..._TRUNCATED`), the chunked framing was malformed (`..._BAD_CHUNKING`),
 * the response head was malformed (`..._MALFORMED`, the parser's error as `cause`),
 * more bytes came than `Content-Length` announced (`..._LENGTH_MISMATCH`),
 * the compressed body was corrupt (`..._DECOMPRESS`), or decompression went
 * past the size or ratio cap (`..._TOO_LARGE`). Nothing is silently truncated.
 *
 * @example
 * ```ts
 * import { ClientPayloadError } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const err = new ClientPayloadError(
 *   "SLUICE_ERR_CLIENT_PAYLOAD_TRUNCATED",
 *   "Cannot read response body: connection closed after 10 of 20 bytes",
 * );
 * assert.equal(err.code, "SLUICE_ERR_CLIENT_PAYLOAD_TRUNCATED");
 * ```
 */
export class ClientPayloadError extends ClientError {
  /** Stable machine-readable code, one of {@linkcode ClientPayloadErrorCode}. */
  override readonly code: ClientPayloadErrorCode;

  /**
   * Creates a payload error.
   *
   * @param code One of the stable payload error codes.
   * @param message "Cannot read response body: reason".
   * @param options The underlying error (e.g. an `HttpParseError`), if any.
   */
  constructor(code: ClientPayloadErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.code = code;
  }
}

/**
 * A request followed more redirects than `maxRedirects` (default 10). Code
 * `SLUICE_ERR_CLIENT_TOO_MANY_REDIRECTS`; `history` holds the redirect
 * responses in order, the last one included.
 *
 * @example
 * ```ts
 * import { TooManyRedirectsError } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const hops = [new Response(null, { status: 302, headers: { location: "/a" } })];
 * const err = new TooManyRedirectsError(0, hops);
 * assert.equal(err.history.length, 1);
 * assert.match(err.message, /more than 0 redirects/);
 * ```
 */
export class TooManyRedirectsError extends ClientError {
  /** The configured maximum. */
  readonly maxRedirects: number;
  /** The redirect responses followed, oldest first. */
  readonly history: readonly Response[];

  /**
   * Creates a too-many-redirects error.
   *
   * @param maxRedirects The configured maximum.
   * @param history The redirect responses, oldest first.
   */
  constructor(maxRedirects: number, history: readonly Response[]) {
    const last = history.at(-1)?.headers.get("location");
    super(
      "SLUICE_ERR_CLIENT_TOO_MANY_REDIRECTS",
      `Cannot follow redirect: more than ${maxRedirects} redirects` +
        (last == null ? "" : ` (last Location "${last}")`),
    );
    this.maxRedirects = maxRedirects;
    this.history = Object.freeze([...history]);
  }
}

/**
 * A response had a 4xx or 5xx status and the caller asked for errors on those
 * (`raiseForStatus`), like aiohttp's `ClientResponseError`. Code
 * `SLUICE_ERR_CLIENT_RESPONSE_STATUS`. The response is attached; its body was
 * not consumed, so it can still be read (or must be released).
 *
 * @example
 * ```ts
 * import { ResponseStatusError } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const res = new Response("gone", { status: 410, statusText: "Gone" });
 * const err = new ResponseStatusError(res, { method: "GET", url: "http://example.test/x" });
 * assert.equal(err.status, 410);
 * assert.equal(err.message, "Cannot GET http://example.test/x: 410 Gone");
 * assert.equal(await err.response.text(), "gone");
 * ```
 */
export class ResponseStatusError extends ClientError {
  /** The response status. */
  readonly status: number;
  /** The response reason phrase. */
  readonly statusText: string;
  /** The response headers. */
  readonly headers: Headers;
  /** The final URL of the request. */
  readonly url: string;
  /** The response itself, body unread. */
  readonly response: Response;

  /**
   * Creates a status error for a response.
   *
   * @param response The response with the error status.
   * @param request The request's method and final URL (`url` defaults to `response.url`).
   */
  constructor(response: Response, request: { method?: string; url?: string } = {}) {
    const url = request.url ?? response.url;
    const reason = response.statusText === "" ? "" : ` ${response.statusText}`;
    super(
      "SLUICE_ERR_CLIENT_RESPONSE_STATUS",
      `Cannot ${request.method ?? "request"}${
        url === "" ? "" : ` ${url}`
      }: ${response.status}${reason}`,
    );
    this.status = response.status;
    this.statusText = response.statusText;
    this.headers = response.headers;
    this.url = url;
    this.response = response;
  }
}

/** A phase of a request that can time out; see `ClientTimeout`. */
export type TimeoutPhase = "total" | "poolWait" | "connect" | "headers" | "sockRead";

/** A stable code of {@linkcode TimeoutError}: one per {@linkcode TimeoutPhase}. */
export type TimeoutErrorCode =
  | "SLUICE_ERR_CLIENT_TIMEOUT_TOTAL"
  | "SLUICE_ERR_CLIENT_TIMEOUT_POOL_WAIT"
  | "SLUICE_ERR_CLIENT_TIMEOUT_CONNECT"
  | "SLUICE_ERR_CLIENT_TIMEOUT_HEADERS"
  | "SLUICE_ERR_CLIENT_TIMEOUT_SOCK_READ";

const TIMEOUT_CODES: Record<TimeoutPhase, TimeoutErrorCode> = {
  total: "SLUICE_ERR_CLIENT_TIMEOUT_TOTAL",
  poolWait: "SLUICE_ERR_CLIENT_TIMEOUT_POOL_WAIT",
  connect: "SLUICE_ERR_CLIENT_TIMEOUT_CONNECT",
  headers: "SLUICE_ERR_CLIENT_TIMEOUT_HEADERS",
  sockRead: "SLUICE_ERR_CLIENT_TIMEOUT_SOCK_READ",
};

const TIMEOUT_WHAT: Record<TimeoutPhase, string> = {
  total: "complete request",
  poolWait: "get a connection from the pool",
  connect: "connect",
  headers: "receive response headers",
  sockRead: "read response body",
};

/**
 * A request phase ran past its configured timeout. There is one code per
 * phase (`SLUICE_ERR_CLIENT_TIMEOUT_TOTAL`, `..._POOL_WAIT`, `..._CONNECT`,
 * `..._HEADERS`, `..._SOCK_READ`) and the same information in `phase`, so
 * callers can match either. The message names the phase and the value:
 * `Cannot connect: connect timeout of 2000 ms exceeded`.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@sluice/http/client";
 * import assert from "node:assert/strict";
 *
 * const err = new TimeoutError("headers", 5000);
 * assert.equal(err.code, "SLUICE_ERR_CLIENT_TIMEOUT_HEADERS");
 * assert.equal(err.phase, "headers");
 * assert.equal(err.timeout, 5000);
 * assert.equal(err.message, "Cannot receive response headers: headers timeout of 5000 ms exceeded");
 * ```
 */
export class TimeoutError extends ClientError {
  /** Stable machine-readable code, one of {@linkcode TimeoutErrorCode}. */
  override readonly code: TimeoutErrorCode;
  /** The phase that timed out. */
  readonly phase: TimeoutPhase;
  /** The configured timeout of that phase, in milliseconds. */
  readonly timeout: number;

  /**
   * Creates a timeout error for a phase.
   *
   * @param phase The phase that timed out.
   * @param timeout Its configured value in milliseconds.
   */
  constructor(phase: TimeoutPhase, timeout: number) {
    const code = TIMEOUT_CODES[phase];
    if (code === undefined) {
      throw new TypeError(`Cannot create TimeoutError: unknown phase "${String(phase)}"`);
    }
    super(code, `Cannot ${TIMEOUT_WHAT[phase]}: ${phase} timeout of ${timeout} ms exceeded`);
    this.code = code;
    this.phase = phase;
    this.timeout = timeout;
  }
}
