/**
 * Running an application's lifecycle signals in aiohttp's order, and turning
 * whatever is served into an {@linkcode IncomingHandler}.
 *
 * Startup runs every `onStartup` hook in order, then enters every
 * `cleanupCtx` generator up to its first `yield`. Shutdown runs the
 * `onShutdown` hooks. Cleanup resumes the entered cleanup contexts in reverse
 * order, then runs the `onCleanup` hooks.
 *
 * As in aiohttp, when startup fails the cleanup contexts already entered are
 * torn down (in reverse order) and the `onCleanup` hooks do not run: they
 * pair with a startup that did not finish. Unlike aiohttp, whose contexts are
 * entered before the `onStartup` hooks added after the application was made,
 * contexts here are always entered after every `onStartup` hook. And where
 * aiohttp stops at the first failing `onShutdown` or `onCleanup` hook, every
 * hook here runs and the failures are reported together afterwards.
 *
 * @module
 */

import { SluiceError } from "../util/errors.ts";
import type {
  CleanupContext,
  FetchHandler,
  IncomingHandler,
  LifecycleHook,
  ServerApp,
} from "./types.ts";

/** A stable code of {@linkcode LifecycleError}. */
export type LifecycleErrorCode =
  | "SLUICE_ERR_STARTUP"
  | "SLUICE_ERR_SHUTDOWN"
  | "SLUICE_ERR_CLEANUP";

/**
 * A lifecycle signal failed. `SLUICE_ERR_STARTUP`: an `onStartup` hook or the
 * set-up part of a cleanup context threw (the message names it; `cause` is
 * what it threw), and what had been entered was torn down. Code
 * `SLUICE_ERR_SHUTDOWN`: one or more `onShutdown` hooks threw. Code
 * `SLUICE_ERR_CLEANUP`: one or more cleanup contexts or `onCleanup` hooks
 * threw, or a cleanup context yielded more than once. Shutdown and cleanup
 * errors are thrown after every hook ran; `errors` holds each of them.
 *
 * @example Tell a failed startup from other errors
 * ```ts
 * import { LifecycleError, runStartup } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const app = {
 *   fetch: () => new Response("ok"),
 *   onStartup: [function openDatabase() {
 *     throw new Error("connection refused");
 *   }],
 * };
 * try {
 *   await runStartup(app);
 *   assert.fail("expected a LifecycleError");
 * } catch (error) {
 *   assert.ok(error instanceof LifecycleError);
 *   assert.equal(error.code, "SLUICE_ERR_STARTUP");
 *   assert.equal(error.hook, "onStartup[0] (openDatabase)");
 * }
 * ```
 */
export class LifecycleError extends SluiceError {
  /** Stable machine-readable code, one of {@linkcode LifecycleErrorCode}. */
  override readonly code: LifecycleErrorCode;
  /** The first hook that failed, e.g. `"onStartup[1] (openDatabase)"`. */
  readonly hook: string;
  /** Every error thrown, in the order they happened (the first one is also `cause`). */
  readonly errors: readonly unknown[];

  /**
   * Creates a lifecycle error.
   *
   * @param code One of the stable lifecycle codes.
   * @param message "Cannot X: reason".
   * @param details The first failing hook and every error thrown.
   */
  constructor(
    code: LifecycleErrorCode,
    message: string,
    details: { hook: string; errors: readonly unknown[] },
  ) {
    super(code, message, { cause: details.errors[0] });
    this.code = code;
    this.hook = details.hook;
    this.errors = details.errors;
  }
}

/** A hook's failure: which hook, and what it threw. */
interface Failure {
  hook: string;
  error: unknown;
}

function describeHook(list: string, index: number, fn: unknown): string {
  const name = typeof fn === "function" ? fn.name : "";
  return name ? `${list}[${index}] (${name})` : `${list}[${index}]`;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function failed(code: LifecycleErrorCode, what: string, failures: Failure[]): LifecycleError {
  const first = failures[0];
  const list = failures.map((f) => `${f.hook}: ${reason(f.error)}`).join("; ");
  const count = failures.length === 1 ? "" : ` (${failures.length} failures)`;
  return new LifecycleError(code, `Cannot ${what}${count}: ${list}`, {
    hook: first.hook,
    errors: failures.map((f) => f.error),
  });
}

async function runHooks(
  app: ServerApp,
  list: "onShutdown" | "onCleanup",
  failures: Failure[],
): Promise<void> {
  const hooks = (app[list] ?? []) as ReadonlyArray<LifecycleHook<ServerApp>>;
  for (let i = 0; i < hooks.length; i++) {
    try {
      await hooks[i](app);
    } catch (error) {
      failures.push({ hook: describeHook(list, i, hooks[i]), error });
    }
  }
}

/** The cleanup contexts entered by {@linkcode runStartup}, torn down by {@linkcode runCleanup}. */
const entered = new WeakMap<object, Array<{ hook: string; it: AsyncGenerator<unknown> }>>();

/**
 * Resumes each entered cleanup context, last entered first, recording what
 * fails. A context that yields again is an error, like aiohttp's "has more
 * than one 'yield'"; it is then closed, so its `finally` blocks run.
 */
async function exitContexts(app: ServerApp, failures: Failure[]): Promise<void> {
  const contexts = entered.get(app) ?? [];
  entered.delete(app);
  for (let i = contexts.length - 1; i >= 0; i--) {
    const { hook, it } = contexts[i];
    try {
      const step = await it.next();
      if (!step.done) {
        failures.push({ hook, error: new Error(`${hook} has more than one 'yield'`) });
        await it.return(undefined);
      }
    } catch (error) {
      failures.push({ hook, error });
    }
  }
}

/**
 * Runs the startup signal: every `onStartup` hook in order, then every
 * cleanup context up to its first `yield`. When one fails, the contexts
 * already entered are torn down in reverse order (the `onCleanup` hooks do
 * not run, as in aiohttp) and it rejects with a {@linkcode LifecycleError}
 * `SLUICE_ERR_STARTUP` naming the hook; errors of that teardown are in its
 * `errors` after the first. A context that ends without yielding is a
 * startup failure.
 *
 * @param app The application whose signals to run.
 * @returns Resolves once every hook and context is set up.
 *
 * @example
 * ```ts
 * import { runCleanup, runStartup } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const log: string[] = [];
 * const app = {
 *   fetch: () => new Response("ok"),
 *   onStartup: [() => void log.push("startup")],
 *   cleanupCtx: [async function* () {
 *     log.push("enter");
 *     yield;
 *     log.push("exit");
 *   }],
 *   onCleanup: [() => void log.push("cleanup")],
 * };
 * await runStartup(app);
 * await runCleanup(app);
 * assert.deepEqual(log, ["startup", "enter", "exit", "cleanup"]);
 * ```
 */
export async function runStartup(app: ServerApp): Promise<void> {
  if (entered.has(app)) {
    throw new TypeError("Cannot start the application: it is already started");
  }
  const contexts: Array<{ hook: string; it: AsyncGenerator<unknown> }> = [];
  entered.set(app, contexts);
  let current = "";
  try {
    const hooks = (app.onStartup ?? []) as ReadonlyArray<LifecycleHook<ServerApp>>;
    for (let i = 0; i < hooks.length; i++) {
      current = describeHook("onStartup", i, hooks[i]);
      await hooks[i](app);
    }
    const factories = (app.cleanupCtx ?? []) as ReadonlyArray<CleanupContext<ServerApp>>;
    for (let i = 0; i < factories.length; i++) {
      current = describeHook("cleanupCtx", i, factories[i]);
      const it = factories[i](app);
      const step = await it.next();
      if (step.done) throw new Error(`${current} ended without a 'yield'`);
      contexts.push({ hook: current, it });
    }
  } catch (error) {
    const failures: Failure[] = [{ hook: current, error }];
    await exitContexts(app, failures);
    throw failed("SLUICE_ERR_STARTUP", "start the application", failures);
  }
}

/**
 * Runs the shutdown signal: every `onShutdown` hook in order, each one even
 * when an earlier one failed. Rejects afterwards with a
 * {@linkcode LifecycleError} `SLUICE_ERR_SHUTDOWN` holding every failure.
 *
 * @param app The application whose signals to run.
 * @returns Resolves once every hook ran.
 *
 * @example
 * ```ts
 * import { runShutdown } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * let closed = false;
 * await runShutdown({ fetch: () => new Response("ok"), onShutdown: [() => void (closed = true)] });
 * assert.ok(closed);
 * ```
 */
export async function runShutdown(app: ServerApp): Promise<void> {
  const failures: Failure[] = [];
  await runHooks(app, "onShutdown", failures);
  if (failures.length > 0) {
    throw failed("SLUICE_ERR_SHUTDOWN", "shut the application down", failures);
  }
}

/**
 * Runs the cleanup signal: the cleanup contexts that {@linkcode runStartup}
 * entered are resumed in reverse order, then every `onCleanup` hook runs in
 * order. Everything runs even when something fails; then it rejects with a
 * {@linkcode LifecycleError} `SLUICE_ERR_CLEANUP` holding every failure. The
 * contexts are resumed once: a second call runs only the `onCleanup` hooks.
 *
 * @param app The application whose signals to run.
 * @returns Resolves once everything was torn down.
 *
 * @example
 * ```ts
 * import { runCleanup, runStartup } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const order: number[] = [];
 * const app = {
 *   fetch: () => new Response("ok"),
 *   cleanupCtx: [1, 2].map((n) =>
 *     async function* () {
 *       yield;
 *       order.push(n);
 *     }
 *   ),
 * };
 * await runStartup(app);
 * await runCleanup(app);
 * assert.deepEqual(order, [2, 1]);
 * ```
 */
export async function runCleanup(app: ServerApp): Promise<void> {
  const failures: Failure[] = [];
  await exitContexts(app, failures);
  await runHooks(app, "onCleanup", failures);
  if (failures.length > 0) throw failed("SLUICE_ERR_CLEANUP", "clean the application up", failures);
}

/**
 * The handler a server calls for what is served: a plain function is a
 * {@linkcode FetchHandler} (it gets the platform `Request`); an object's
 * `handleIncoming` is used when it has one, else its `fetch` (both called
 * as methods). Anything else is a `TypeError`.
 *
 * @param app An application, or a fetch handler.
 * @returns The handler to give to a backend.
 *
 * @example
 * ```ts
 * import { toIncomingHandler } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const handler = toIncomingHandler((request: Request) => new Response(request.method));
 * assert.equal(typeof handler, "function");
 * assert.throws(() => toIncomingHandler({} as never), TypeError);
 * ```
 */
export function toIncomingHandler(app: ServerApp | FetchHandler): IncomingHandler {
  if (typeof app === "function") return (req, info) => app(req.request, info);
  if (typeof app === "object" && app !== null) {
    if (typeof app.handleIncoming === "function") return app.handleIncoming.bind(app);
    const fetch = app.fetch;
    if (typeof fetch === "function") return (req, info) => fetch.call(app, req.request, info);
  }
  throw new TypeError(
    "Cannot serve the application: it is neither a function nor an object with handleIncoming() or fetch()",
  );
}
