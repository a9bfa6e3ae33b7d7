/**
 * The raw engine's options with defaults applied, shared by every connection
 * of one server.
 *
 * @module
 */

import type { ParserOptions } from "../../http1/mod.ts";
import { validateTrustProxy } from "../forwarded.ts";
import type {
  AccessLogEntry,
  IncomingHandler,
  IncomingRequest,
  ServerLogger,
  ServerOptions,
  TrustProxyOptions,
} from "../types.ts";

/** Resolved {@linkcode ServerOptions}. */
export interface EngineSettings {
  readonly handler: IncomingHandler;
  readonly idleTimeout: number;
  readonly headersTimeout: number;
  readonly bodyTimeout: number;
  readonly maxRequests: number;
  readonly maxBodySize: number;
  readonly drainLimit: number;
  readonly parser: ParserOptions;
  readonly serverHeader: string | null;
  readonly expectContinue:
    | ((request: IncomingRequest) => boolean | Response | Promise<boolean | Response>)
    | null;
  readonly trust: TrustProxyOptions | boolean | undefined;
  readonly logger: ServerLogger;
  readonly onAccess: ((entry: AccessLogEntry) => void) | null;
}

/** Writes to the console. */
export const consoleLogger: ServerLogger = {
  error: (message, error) =>
    error === undefined ? console.error(message) : console.error(message, error),
  info: (message) => console.log(message),
};

function time(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= 0)) {
    throw new RangeError(`Cannot use ${name} ${value}: not a number of milliseconds ≥ 0`);
  }
  return value === 0 ? Infinity : value;
}

function size(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= 0)) {
    throw new RangeError(`Cannot use ${name} ${value}: not a number of bytes ≥ 0`);
  }
  return value;
}

/** Applies the defaults and checks the values. */
export function engineSettings(handler: IncomingHandler, options: ServerOptions): EngineSettings {
  if (typeof handler !== "function") {
    throw new TypeError("Cannot serve: the handler is not a function");
  }
  const serverHeader = options.serverHeader ?? null;
  if (serverHeader !== null && !/^[\t\x20-\x7e]+$/.test(serverHeader)) {
    throw new TypeError(
      `Cannot use serverHeader ${JSON.stringify(serverHeader)}: not a field value`,
    );
  }
  const maxRequests = options.maxRequestsPerConnection ?? 0;
  if (!Number.isInteger(maxRequests) || maxRequests < 0) {
    throw new RangeError(`Cannot use maxRequestsPerConnection ${maxRequests}: not an integer ≥ 0`);
  }
  validateTrustProxy(options.trustProxy);
  return {
    handler,
    idleTimeout: time(options.idleTimeout, 75_000, "idleTimeout"),
    headersTimeout: time(options.headersTimeout, 30_000, "headersTimeout"),
    bodyTimeout: time(options.bodyTimeout, 60_000, "bodyTimeout"),
    maxRequests: maxRequests === 0 ? Infinity : maxRequests,
    maxBodySize: size(options.maxBodySize, 128 * 1024 * 1024, "maxBodySize"),
    drainLimit: size(options.drainLimit, 256 * 1024, "drainLimit"),
    parser: {
      maxRequestLineSize: options.maxRequestLineSize,
      maxHeaderSize: options.maxHeaderSize,
      maxHeaders: options.maxHeaders,
    },
    serverHeader,
    expectContinue: options.expectContinue ?? null,
    trust: options.trustProxy,
    logger: options.logger ?? consoleLogger,
    onAccess: options.onAccess ?? null,
  };
}
