/**
 * The raw engine: Sluice's own HTTP/1.1 server over any
 * {@linkcode ServerTransport}, with the `http1/` codec. The same parser and
 * the same answers on every runtime.
 *
 * @module
 */

import type {
  Address,
  Conn,
  Listener,
  ListenOptions,
  ServerTransport,
} from "../adapters/transport.ts";
import { EngineConnection } from "./_engine/connection.ts";
import { httpDate } from "./_engine/clock.ts";
import { type EngineSettings, engineSettings } from "./_engine/settings.ts";
import type { IncomingHandler, RunningServer, ServerBackend, ServerOptions } from "./types.ts";

/** How often deadlines are checked: timeouts are precise to about this much. */
const SWEEP_MS = 1_000;

/** One listening raw-engine server. */
class RawServer implements RunningServer {
  readonly settings: EngineSettings;
  readonly #connections = new Set<EngineConnection>();
  #listener: Listener | null = null;
  #sweep: ReturnType<typeof setInterval> | null = null;
  #shutdown: Promise<void> | null = null;
  #emptied: (() => void) | null = null;
  shuttingDown = false;

  constructor(settings: EngineSettings) {
    this.settings = settings;
  }

  get engine(): "sluice" {
    return "sluice";
  }

  get address(): Address {
    return this.#listener!.address;
  }

  get connections(): number {
    return this.#connections.size;
  }

  async listen(transport: ServerTransport, options: ListenOptions): Promise<void> {
    this.#listener = await transport.listen(
      options,
      (conn) => this.#accept(conn),
      (error) => this.settings.logger.error("Listener error", error),
    );
  }

  #accept(conn: Conn): void {
    if (this.shuttingDown) {
      conn.destroy();
      return;
    }
    const connection = new EngineConnection(conn, this);
    this.#connections.add(connection);
    if (this.#sweep === null) this.#startSweep();
    connection.start();
  }

  #startSweep(): void {
    this.#sweep = setInterval(() => {
      const now = Date.now();
      httpDate(now);
      for (const connection of this.#connections) connection.checkDeadline(now);
      if (this.#connections.size === 0) this.#stopSweep();
    }, SWEEP_MS);
    // Deno and Node: a timer of an idle server must not keep the process alive by itself.
    (this.#sweep as { unref?: () => void }).unref?.();
  }

  #stopSweep(): void {
    if (this.#sweep !== null) clearInterval(this.#sweep);
    this.#sweep = null;
  }

  release(connection: EngineConnection): void {
    this.#connections.delete(connection);
    if (this.#connections.size === 0) this.#emptied?.();
  }

  shutdown(timeout: number): Promise<void> {
    if (this.#shutdown !== null) return this.#shutdown;
    this.shuttingDown = true;
    this.#shutdown = (async () => {
      const closed = this.#listener?.close() ?? Promise.resolve();
      for (const connection of this.#connections) connection.shutdown();
      if (this.#connections.size > 0) {
        const empty = new Promise<void>((resolve) => (this.#emptied = resolve));
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<"late">((
          resolve,
        ) => (timer = setTimeout(() => resolve("late"), timeout)));
        const outcome = await Promise.race([empty, late]);
        clearTimeout(timer);
        if (outcome === "late") {
          for (const connection of this.#connections) connection.destroy();
          await empty;
        }
      }
      this.#stopSweep();
      await closed;
    })();
    return this.#shutdown;
  }
}

/**
 * The raw engine on a transport, as a {@linkcode ServerBackend}.
 *
 * @param transport Where connections come from (`nodeTransport`, `denoTransport`, `bunTransport`).
 * @returns A backend whose servers use Sluice's own parser.
 *
 * @example Serve on a random port with the node:net transport
 * ```ts
 * import { rawBackend, text } from "@sluice/http";
 * import { nodeTransport } from "@sluice/http/adapters/node";
 * import assert from "node:assert/strict";
 *
 * const server = await rawBackend(nodeTransport).listen(
 *   { hostname: "127.0.0.1", port: 0 },
 *   (req) => text(`Hello from ${req.pathname}`),
 *   {},
 * );
 * const port = server.address.transport === "tcp" ? server.address.port : 0;
 * const res = await fetch(`http://127.0.0.1:${port}/there`);
 * assert.equal(await res.text(), "Hello from /there");
 * await server.shutdown(1000);
 * ```
 */
export function rawBackend(transport: ServerTransport): ServerBackend {
  return {
    engine: "sluice",
    async listen(
      listen: ListenOptions,
      handler: IncomingHandler,
      options: ServerOptions,
    ): Promise<RunningServer> {
      const server = new RawServer(engineSettings(handler, options));
      await server.listen(transport, listen);
      return server;
    },
  };
}
