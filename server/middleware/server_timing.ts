/**
 * `Server-Timing` (W3C Server Timing) as a middleware: the request's total
 * time plus the metrics handlers record with {@linkcode timing}, shown in
 * the browser's developer tools.
 *
 * @module
 */

import { AppKey } from "../app_key.ts";
import { isHttpError } from "../http_errors.ts";
import type { ServerRequest } from "../server_request.ts";
import type { Middleware } from "./compose.ts";
import { editHeaders, isToken } from "./_headers.ts";

/**
 * Records the metrics of one request. Names that are not tokens have their
 * other characters replaced by `_`; descriptions are quoted and escaped as
 * the header needs. Durations are milliseconds.
 *
 * @example
 * ```ts
 * import type { TimingRecorder } from "@sluice/http/server";
 *
 * async function load(t: TimingRecorder): Promise<void> {
 *   t.start("db", "user lookup");
 *   await Promise.resolve();
 *   t.end("db");
 *   t.add("cache", undefined, "miss");
 * }
 * ```
 */
export interface TimingRecorder {
  /** Starts the metric `name` (ended by `end(name)`); metrics never ended are not sent. */
  start(name: string, description?: string): void;
  /** Ends the metric `name` started last; returns its duration, or `undefined` when it was not started. */
  end(name: string): number | undefined;
  /** Adds a metric with a duration you measured (or none: a plain marker). */
  add(name: string, duration?: number, description?: string): void;
  /** Runs `work` as the metric `name` (ended also when `work` fails) and returns its result. */
  measure<T>(name: string, work: () => T | Promise<T>, description?: string): Promise<T>;
}

/** Options of {@linkcode serverTiming}. */
export interface ServerTimingOptions {
  /**
   * Whether to send the field; when `false`, {@linkcode timing} still works
   * but records nothing (so handlers need no checks). Default `true`: the
   * field tells clients how long your database calls take, so consider
   * enabling it only in development or for trusted clients.
   */
  enabled?: boolean;
  /** Whether to add `total`, the time until the response (not its body) was ready. Default `true`. */
  total?: boolean;
  /**
   * Also send `Timing-Allow-Origin` with these origins (or `"*"`), so that
   * pages of other origins can read the metrics. Default: not sent.
   */
  timingAllowOrigin?: string | readonly string[];
}

interface Metric {
  name: string;
  duration: number | undefined;
  description: string | undefined;
}

class Recorder implements TimingRecorder {
  readonly metrics: Metric[] = [];
  readonly #open = new Map<string, { started: number; description: string | undefined }[]>();

  start(name: string, description?: string): void {
    const list = this.#open.get(name);
    const entry = { started: performance.now(), description };
    if (list === undefined) this.#open.set(name, [entry]);
    else list.push(entry);
  }

  end(name: string): number | undefined {
    const entry = this.#open.get(name)?.pop();
    if (entry === undefined) return undefined;
    const duration = performance.now() - entry.started;
    this.metrics.push({ name, duration, description: entry.description });
    return duration;
  }

  add(name: string, duration?: number, description?: string): void {
    if (duration !== undefined && !(Number.isFinite(duration) && duration >= 0)) {
      throw new RangeError(`Cannot add timing "${name}" of ${duration} ms: not a duration ≥ 0`);
    }
    this.metrics.push({ name, duration, description });
  }

  async measure<T>(name: string, work: () => T | Promise<T>, description?: string): Promise<T> {
    this.start(name, description);
    try {
      return await work();
    } finally {
      this.end(name);
    }
  }
}

const NOOP: TimingRecorder = {
  start() {},
  end: () => undefined,
  add() {},
  measure: async (_name, work) => await work(),
};

const TIMING = new AppKey<Recorder>("serverTiming");

/**
 * The timing recorder of `request`: the one {@linkcode serverTiming} put
 * there, or one that records nothing when the middleware is absent or
 * disabled.
 *
 * @param request The request being handled.
 * @returns Its recorder.
 *
 * @example
 * ```ts
 * import { Application, json, serverTiming, timing } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const app = new Application();
 * app.use(serverTiming());
 * app.router.get("/", async (req) => {
 *   const rows = await timing(req).measure("db", () => [1, 2, 3], "select");
 *   return json(rows);
 * });
 * const res = await app.fetch(new Request("http://localhost/"));
 * assert.match(res.headers.get("server-timing") ?? "", /^db;dur=[\d.]+;desc=select, total;dur=/);
 * ```
 */
export function timing(request: ServerRequest<unknown, Record<string, string>>): TimingRecorder {
  return request.state.maybe(TIMING) ?? NOOP;
}

/**
 * A `Server-Timing` middleware, for `app.use()` (first, so `total` covers
 * the other middlewares) or for one route. The metrics recorded with
 * {@linkcode timing} are sent in the order they ended, then `total`; they
 * are appended to any `Server-Timing` the handler set, and also sent on the
 * answer to an `HttpError` thrown further in.
 *
 * @param options Whether it is on, `total`, `Timing-Allow-Origin`.
 * @returns The middleware.
 *
 * @example On in development only
 * ```ts
 * import { Application, serverTiming, text } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const app = new Application();
 * app.use(serverTiming({ enabled: true, timingAllowOrigin: "https://app.example" }));
 * app.router.get("/", () => text("ok"));
 * const res = await app.fetch(new Request("http://localhost/"));
 * assert.match(res.headers.get("server-timing") ?? "", /^total;dur=\d+(\.\d)?$/);
 * assert.equal(res.headers.get("timing-allow-origin"), "https://app.example");
 * ```
 */
export function serverTiming<
  R extends ServerRequest<unknown, Record<string, string>> = ServerRequest,
>(options: ServerTimingOptions = {}): Middleware<R> {
  const enabled = options.enabled ?? true;
  const total = options.total ?? true;
  const allowOrigin = options.timingAllowOrigin;
  let allowValue: string | null = null;
  if (allowOrigin !== undefined) {
    const list = typeof allowOrigin === "string" ? [allowOrigin] : [...allowOrigin];
    for (const origin of list) {
      if (typeof origin !== "string" || !/^[\x21-\x7e]+$/.test(origin)) {
        throw new TypeError(`Cannot use Timing-Allow-Origin "${String(origin)}": not an origin`);
      }
    }
    allowValue = list.join(", ");
  }
  if (!enabled) return (req, next) => next(req);

  return async (req, next) => {
    const started = performance.now();
    const recorder = new Recorder();
    req.state.set(TIMING, recorder);
    const decorate = (headers: Headers): void => {
      const entries = recorder.metrics.map(format);
      if (total) entries.push(`total;dur=${round(performance.now() - started)}`);
      if (entries.length > 0) headers.append("server-timing", entries.join(", "));
      if (allowValue !== null) headers.set("timing-allow-origin", allowValue);
    };
    let res: Response;
    try {
      res = await next(req);
    } catch (error) {
      if (isHttpError(error)) decorate(error.headers);
      throw error;
    }
    return editHeaders(res, decorate);
  };
}

function round(ms: number): string {
  return String(Math.round(ms * 10) / 10);
}

function format(metric: Metric): string {
  let out = isToken(metric.name)
    ? metric.name
    : metric.name.replace(/[^!#$%&'*+.^_`|~0-9A-Za-z-]/g, "_") || "_";
  if (metric.duration !== undefined) out += `;dur=${round(metric.duration)}`;
  if (metric.description !== undefined) out += `;desc=${quote(metric.description)}`;
  return out;
}

/** A description as a token, or as a quoted-string (RFC 9110 §5.6.4) when it is not one. */
function quote(text: string): string {
  if (isToken(text)) return text;
  // A quoted-string holds HTAB, SP and visible ASCII (obs-text aside, which clients decode unevenly).
  const safe = text.replace(/[^\t\x20-\x7e]/g, "?");
  return `"${safe.replace(/["\\]/g, "\\$&")}"`;
}
