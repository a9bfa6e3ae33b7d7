/**
 * What differs between the runtimes where a server process starts and stops:
 * which backend serves by default, how termination signals arrive and how
 * the process exits. `runApp` and `AppRunner` use it so that they touch no
 * runtime API themselves.
 *
 * The default engine is one constant per runtime, the fastest one measured
 * there (see `bench/RESULTS.md`): the runtime's own server on Deno
 * (`Deno.serve`) and Bun (`Bun.serve`), the raw Sluice engine over
 * `node:net` on Node.
 *
 * @module
 */

import process from "node:process";
import { rawBackend } from "../server/engine.ts";
import type { ServerBackend } from "../server/types.ts";
import { bunNativeBackend } from "./_bun_native.ts";
import { bunTransport } from "./_bun_listen.ts";
import { denoNativeBackend } from "./_deno_native.ts";
import { denoTransport } from "./_deno_transport.ts";
import { nodeTransport } from "./node.ts";

/** The runtimes Sluice knows. */
export type RuntimeName = "deno" | "bun" | "node";

/** Which server answers: the raw Sluice engine, or the runtime's own (`Deno.serve`, `Bun.serve`). */
export type EngineName = "sluice" | "native";

/**
 * The default engine per runtime, from the measurements in `bench/RESULTS.md`.
 * Node has no native server of its own that Sluice wraps.
 */
const DEFAULT_ENGINE: Record<RuntimeName, EngineName> = {
  deno: "native",
  bun: "native",
  node: "sluice",
};

/**
 * The runtime this code runs on. Deno and Bun are told by their globals;
 * anything else is taken for Node.
 *
 * @returns `"deno"`, `"bun"` or `"node"`.
 *
 * @example
 * ```ts
 * import { runtimeName } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * assert.ok(["deno", "bun", "node"].includes(runtimeName()));
 * ```
 */
export function runtimeName(): RuntimeName {
  if ("Deno" in globalThis) return "deno";
  if ("Bun" in globalThis) return "bun";
  return "node";
}

const backends = new Map<string, ServerBackend>();

function build(runtime: RuntimeName, engine: EngineName): ServerBackend {
  if (runtime === "deno") {
    return engine === "native" ? denoNativeBackend : rawBackend(denoTransport);
  }
  if (runtime === "bun") return engine === "native" ? bunNativeBackend : rawBackend(bunTransport);
  if (engine === "native") {
    throw new TypeError(
      'Cannot use the native engine on Node: Node has no native server that Sluice wraps; use engine "sluice"',
    );
  }
  return rawBackend(nodeTransport);
}

/**
 * The backend to serve with on this runtime. `engine` `"sluice"` is the raw
 * engine over the runtime's sockets (`node:net`, `Deno.listen`,
 * `Bun.listen`); `"native"` is `Deno.serve` or `Bun.serve`, and a
 * `TypeError` on Node. Without `engine`, the runtime's default: native on
 * Deno and Bun, sluice on Node. The same backend object is returned for the
 * same choice.
 *
 * @param engine Which server answers; default: the fastest measured on this runtime.
 * @returns A backend for `AppRunner` or `runApp`.
 *
 * @example
 * ```ts
 * import { defaultBackend } from "@sluice/http";
 * import assert from "node:assert/strict";
 *
 * const backend = defaultBackend("sluice");
 * assert.equal(backend.engine, "sluice");
 * ```
 */
export function defaultBackend(engine?: EngineName): ServerBackend {
  const runtime = runtimeName();
  const chosen = engine ?? DEFAULT_ENGINE[runtime];
  if (chosen !== "sluice" && chosen !== "native") {
    throw new TypeError(
      `Cannot use engine ${JSON.stringify(chosen)}: it is neither "sluice" nor "native"`,
    );
  }
  const key = `${runtime}:${chosen}`;
  let backend = backends.get(key);
  if (backend === undefined) {
    backend = build(runtime, chosen);
    backends.set(key, backend);
  }
  return backend;
}

/** The signals that ask a server process to stop. */
export type TerminationSignal = "SIGINT" | "SIGTERM";

const SIGNALS: readonly TerminationSignal[] = ["SIGINT", "SIGTERM"];

/**
 * Calls `callback` on SIGINT (Ctrl-C) and SIGTERM, instead of the runtime's
 * default of exiting at once, until the returned function is called. Where a
 * signal cannot be listened to (SIGTERM on Windows under Deno), it is
 * skipped.
 *
 * @param callback Gets the signal's name.
 * @returns A function that removes the listeners (idempotent).
 *
 * @example
 * ```ts
 * import { onTerminationSignals } from "@sluice/http";
 *
 * const stop = onTerminationSignals((signal) => console.log(`got ${signal}, stopping`));
 * stop();
 * ```
 */
export function onTerminationSignals(callback: (signal: TerminationSignal) => void): () => void {
  const removers: Array<() => void> = [];
  for (const signal of SIGNALS) {
    const listener = () => callback(signal);
    if (runtimeName() === "deno") {
      try {
        Deno.addSignalListener(signal, listener);
        removers.push(() => Deno.removeSignalListener(signal, listener));
      } catch {
        // This platform cannot deliver that signal (SIGTERM on Windows).
      }
    } else {
      process.on(signal, listener);
      removers.push(() => void process.off(signal, listener));
    }
  }
  return () => {
    for (const remove of removers.splice(0)) remove();
  };
}

/**
 * Ends the process now with `code`, without waiting for anything pending.
 *
 * @param code The exit status (0 for success).
 * @returns Never.
 *
 * @example
 * ```ts ignore
 * import { exitProcess } from "@sluice/http";
 *
 * exitProcess(1);
 * ```
 */
export function exitProcess(code: number): never {
  if (runtimeName() === "deno") Deno.exit(code);
  process.exit(code);
}

/**
 * Sets the status the process exits with when it ends on its own, without
 * ending it now.
 *
 * @param code The exit status (0 for success).
 *
 * @example
 * ```ts
 * import { setExitCode } from "@sluice/http";
 *
 * setExitCode(0);
 * ```
 */
export function setExitCode(code: number): void {
  if (runtimeName() === "deno") Deno.exitCode = code;
  else process.exitCode = code;
}

/**
 * Lets a worker process end once it has nothing left to do: under
 * `node:cluster` the IPC channel to the primary otherwise keeps it alive
 * after its server stopped. Elsewhere (Deno, Bun, a process with no
 * channel) it does nothing.
 *
 * @example
 * ```ts
 * import { releaseWorkerChannel } from "@sluice/http";
 *
 * releaseWorkerChannel();
 * ```
 */
export function releaseWorkerChannel(): void {
  if (runtimeName() !== "node") return;
  (process as unknown as { channel?: { unref(): void } }).channel?.unref();
}
