/**
 * One request's trace: the session's configs with their context objects,
 * and a way to fire an event on all of them.
 *
 * @module
 */

import type { TraceConfig, TraceEventBase, TraceHandler } from "./trace.ts";

/** The names of the lists on a {@linkcode TraceConfig}. */
export type TraceEventName = {
  [K in keyof TraceConfig]: TraceConfig[K] extends readonly TraceHandler<infer _P>[] ? K : never;
}[keyof TraceConfig];

type ParamsOf<K extends TraceEventName> = TraceConfig[K] extends readonly TraceHandler<infer P>[]
  ? Omit<P, "elapsed">
  : never;

/**
 * Fires events on every config of a request, with `elapsed` filled in.
 *
 * @example
 * ```ts ignore
 * const trace = new RequestTrace(session, configs);
 * await trace.emit("onRequestStart", { method, url, headers });
 * ```
 */
export class RequestTrace {
  readonly #session: object;
  readonly #configs: readonly TraceConfig[];
  readonly #contexts: Record<string, unknown>[];
  readonly #start = performance.now();
  #failure: { error: unknown } | null = null;

  /**
   * Starts the clock and makes each config's context.
   *
   * @param session The session passed to callbacks.
   * @param configs The session's trace configs.
   */
  constructor(session: object, configs: readonly TraceConfig[]) {
    this.#session = session;
    this.#configs = configs;
    this.#contexts = configs.map((config) => config.newContext());
  }

  /**
   * Whether any config has a callback for an event.
   *
   * @param name The event.
   * @returns `true` when calling {@linkcode RequestTrace.emit} would do something.
   */
  has(name: TraceEventName): boolean {
    return this.#configs.some((config) => config[name].length > 0);
  }

  /**
   * Calls an event's callbacks in order, waiting for the ones that return a
   * promise.
   *
   * @param name The event.
   * @param params Its parameters (without `elapsed`).
   * @returns Resolves once every callback is done; rejects with the first failure.
   */
  async emit<K extends TraceEventName>(name: K, params: ParamsOf<K>): Promise<void> {
    const full = { ...params, elapsed: performance.now() - this.#start } as TraceEventBase;
    for (let i = 0; i < this.#configs.length; i++) {
      const list = this.#configs[i][name] as unknown as readonly TraceHandler<TraceEventBase>[];
      for (const handler of list) await handler(this.#session, this.#contexts[i], full);
    }
  }

  /**
   * Fires an event without waiting (connection and DNS events, which the
   * pool reports synchronously); the first failing callback's error is kept
   * for {@linkcode RequestTrace.check}.
   *
   * @param name The event.
   * @param params Its parameters (without `elapsed`).
   */
  fire<K extends TraceEventName>(name: K, params: ParamsOf<K>): void {
    this.emit(name, params).catch((error) => {
      this.#failure ??= { error };
    });
  }

  /**
   * Throws the error of a callback that failed under {@linkcode RequestTrace.fire}.
   *
   * @throws {unknown} that error, once.
   */
  check(): void {
    const failure = this.#failure;
    if (failure === null) return;
    this.#failure = null;
    throw failure.error;
  }
}
