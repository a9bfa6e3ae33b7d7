// The application every backend serves in the conformance suite, and the
// servers it runs on: one handler with a route per behaviour, recording
// what it saw in a context the tests read.

import { createHash } from "node:crypto";
import { test } from "node:test";
import type { Conn } from "../../adapters/transport.ts";
import { BodyError } from "../../server/errors.ts";
import { json, switchingProtocols, text, withTrailers } from "../../server/responses.ts";
import type {
  AccessLogEntry,
  IncomingHandler,
  RunningServer,
  ServerBackend,
  ServerOptions,
} from "../../server/types.ts";
import { sleep, within } from "../adapters/_net.ts";
import { portOf, RawClient, type RawResponse } from "./_client.ts";

/**
 * What a backend does differently from the raw engine (the reference, where
 * every flag is `true`). A test of such a behaviour asserts what the backend
 * does instead, so that a change on either side shows.
 */
export interface Caps {
  /** `info.takeover` hands out the connection; else it is `null`. */
  takeover: boolean;
  /**
   * Sluice's own parser reads the bytes: each malformed head gets its exact
   * status and a close. Else the runtime's parser and the native checks
   * refuse it somehow (a status ≥ 400, or a close without an answer).
   */
  exactParser: boolean;
  /** Names of rows of `MALFORMED` (_conformance_connections.ts) that the runtime serves as if they were well-formed. */
  lenientHeads: readonly string[];
  /** The server ends the connection after a `Connection: close` the client did not ask for (the handler's field, refusals). */
  closesAfterClose: boolean;
  /** A client's `Connection: close` is answered with `Connection: close` (the connection closes either way). */
  echoesClose: boolean;
  /** An HTTP/1.0 client's `Connection: keep-alive` is honoured (and echoed). */
  http10KeepAlive: boolean;
  /** `100 Continue` goes out only once the handler reads the body (else as soon as the head is in). */
  lazyContinue: boolean;
  /** An unread body within `drainLimit` is drained and the connection reused (else it is closed). */
  drainsUnreadBody: boolean;
  /** The answer to a request whose unread body is over `drainLimit` says `Connection: close`. */
  closesOnLargeUnreadBody: boolean;
  /** `headersTimeout` answers a slow head 408. */
  headersTimeout: boolean;
  /** `bodyTimeout` fails a body read that waits too long. */
  bodyTimeout: boolean;
  /** `idleTimeout` closes an idle keep-alive connection: to the second, in coarse ticks (seconds), or not at all. */
  idleTimeout: "exact" | "coarse" | false;
  /** `maxRequestsPerConnection` closes after that many requests. */
  maxRequestsPerConnection: boolean;
  /** Trailers of `withTrailers` are sent (else dropped, the body intact). */
  trailers: boolean;
  /** `RunningServer.connections` counts sockets (else requests in flight). */
  countsConnections: boolean;
  /** `bytesSent` of the access log counts body bytes (else a declared `Content-Length`, 0 without one). */
  accessBytes: boolean;
  /** A response stream that fails midway is reported to the logger. */
  logsStreamErrors: boolean;
  /** A stream body with a declared `Content-Length` is sent with it (else chunked). */
  keepsStreamLength: boolean;
  /** Requests pipelined behind a streamed response are answered. */
  pipelinesAfterStream: boolean;
}

/** Registers a test bounded to 30 s on every runtime (Bun's default is 5 s). */
export function it(name: string, fn: () => Promise<void>): void {
  test(name, { timeout: 30_000 }, fn);
}

/** Whether a response's `Connection` field has the `close` token. */
export function saysClose(response: RawResponse): boolean {
  return (response.headers.get("connection") ?? "").toLowerCase().split(/\s*,\s*/).includes(
    "close",
  );
}

/** What the handler of one server saw. */
export class Context {
  /** Handler calls, and the paths asked for. */
  calls = 0;
  readonly paths: string[] = [];
  readonly errors: Array<{ message: string; error: unknown }> = [];
  readonly access: AccessLogEntry[] = [];
  /** Errors that reads of request bodies rejected with. */
  readonly bodyErrors: unknown[] = [];
  /** Pulls of the endless and huge streams, and what their ends saw. */
  pulls = 0;
  cancelled = false;
  aborted = false;
  /** When the /expect handler started to read its body. */
  readStarted = false;
  /** Connections handed over by takeover, to close at the end. */
  readonly taken: Conn[] = [];
  /** Requests whose handler has started (in-flight checks). */
  started = 0;
  readonly logger = {
    error: (message: string, error?: unknown) => this.errors.push({ message, error }),
    info: () => {},
  };
}

const encoder = new TextEncoder();
const CHUNK_64K = new Uint8Array(64 * 1024).fill(120);

/** A pull-based stream of `parts`, one per pull, with a timer tick between them. */
function slowStream(parts: string[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      await sleep(1);
      if (i < parts.length) controller.enqueue(encoder.encode(parts[i++]));
      else controller.close();
    },
  }, { highWaterMark: 0 });
}

/** Reads a stream to its end, counting and hashing. */
async function digest(
  body: ReadableStream<Uint8Array>,
): Promise<{ length: number; sha256: string }> {
  const hash = createHash("sha256");
  let length = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    hash.update(value);
  }
  return { length, sha256: hash.digest("hex") };
}

/** {@linkcode digest} through a BYOB reader that reuses one 1000-byte buffer. */
async function digestByob(
  body: ReadableStream<Uint8Array>,
): Promise<{ length: number; sha256: string }> {
  const hash = createHash("sha256");
  let length = 0;
  const reader = body.getReader({ mode: "byob" });
  let buffer = new Uint8Array(1000);
  for (;;) {
    const { done, value } = await reader.read(buffer);
    if (done) break;
    length += value.length;
    hash.update(value);
    buffer = new Uint8Array(value.buffer);
  }
  return { length, sha256: hash.digest("hex") };
}

/** Runs `read`, recording a rejection in `ctx.bodyErrors` before passing it on. */
async function recorded<T>(ctx: Context, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    ctx.bodyErrors.push(error);
    throw error;
  }
}

/** The conformance application: one route per behaviour under test. */
export function conformanceApp(ctx: Context): IncomingHandler {
  return async (req, info) => {
    ctx.calls++;
    ctx.paths.push(req.pathname);
    ctx.started++;
    if (req.method === "CONNECT") {
      info.takeover?.((conn, head) => echoOver(ctx, conn, head));
      return new Response(null, { status: 200 });
    }
    switch (req.pathname) {
      case "/text":
        return text("hello");
      case "/json":
        return json({ hello: "world", n: 1 });
      case "/bytes":
        return new Response(new Uint8Array([1, 2, 3]));
      case "/stream":
        return new Response(slowStream(["ab", "cd", "ef"]));
      case "/stream-length":
        return new Response(slowStream(["ab", "cd", "ef"]), {
          headers: { "content-length": "6" },
        });
      case "/empty":
        return new Response(null);
      case "/204":
        return new Response(null, { status: 204 });
      case "/304":
        return new Response(null, { status: 304 });
      case "/close":
        return text("bye", { headers: { connection: "close" } });
      case "/echo":
        return text(await recorded(ctx, () => req.text()));
      case "/echo-json":
        return json({ got: await recorded(ctx, () => req.json()) });
      case "/echo-bytes": {
        const bytes = await recorded(ctx, () => req.bytes());
        return json({ length: bytes.length, first: bytes[0] ?? null, last: bytes.at(-1) ?? null });
      }
      case "/echo-owned": {
        // What the buffered reads hand out owns its memory: `.buffer` is the body, nothing around it.
        const bytes = await recorded(ctx, () => req.bytes());
        return json({
          text: new TextDecoder().decode(bytes),
          bytesBuffer: bytes.buffer.byteLength,
          plain: bytes.constructor === Uint8Array,
        });
      }
      case "/echo-array-buffer": {
        const buffer = await recorded(ctx, () => req.arrayBuffer());
        return json({ text: new TextDecoder().decode(buffer), length: buffer.byteLength });
      }
      case "/echo-stream":
        return json(await recorded(ctx, () => digest(req.body!)));
      case "/echo-byob":
        return json(await recorded(ctx, () => digestByob(req.body!)));
      case "/ignore":
        return text("ignored");
      case "/expect":
        await sleep(100);
        ctx.readStarted = true;
        return text(await recorded(ctx, () => req.text()));
      case "/read-later":
        await sleep(1000);
        return json(await recorded(ctx, () => digest(req.body!)));
      case "/throw":
        throw new Error("secret internals at /etc/secret.key");
      case "/not-response":
        return { status: 200 } as unknown as Response;
      case "/stream-error":
        return new Response(
          new ReadableStream<Uint8Array>({
            async pull(controller) {
              if (ctx.pulls++ === 0) controller.enqueue(encoder.encode("partial body"));
              else {
                await sleep(20);
                controller.error(new Error("producer broke"));
              }
            },
          }, { highWaterMark: 0 }),
        );
      case "/endless":
        return endless(ctx, req.signal, encoder.encode("tick\n"), 2);
      case "/huge":
        return endless(ctx, req.signal, CHUNK_64K, 0);
      case "/slow":
        await sleep(300);
        return text("slow done");
      case "/hang":
        await new Promise((resolve) => req.signal.addEventListener("abort", resolve));
        ctx.aborted = true;
        return text("never sent");
      case "/upgrade":
        info.takeover?.((conn, head) => echoOver(ctx, conn, head));
        return switchingProtocols({ connection: "upgrade", upgrade: "echo" });
      case "/takeover-info":
        return text(`takeover=${info.takeover === null ? "null" : typeof info.takeover}`);
      case "/trailers":
        return withTrailers(
          new Response(slowStream(["tra", "iler"]), { headers: { trailer: "x-sum" } }),
          () => ({ "x-sum": "42" }),
        );
      case "/signal": {
        const aborted = req.signal.aborted;
        return text(`aborted=${aborted}`);
      }
      default:
        return text("not found", { status: 404 });
    }
  };
}

/** An endless pull-based stream (counting pulls, noting cancel and the request's abort). */
function endless(ctx: Context, signal: AbortSignal, chunk: Uint8Array, delay: number): Response {
  signal.addEventListener("abort", () => (ctx.aborted = true));
  return new Response(
    new ReadableStream<Uint8Array>({
      async pull(controller) {
        ctx.pulls++;
        if (delay > 0) await sleep(delay);
        controller.enqueue(chunk);
      },
      cancel() {
        ctx.cancelled = true;
      },
    }, { highWaterMark: 0 }),
  );
}

/** Echoes a taken-over connection: first the head bytes, then whatever comes. */
function echoOver(ctx: Context, conn: Conn, head: Uint8Array): void {
  ctx.taken.push(conn);
  conn.start({
    data: (chunk) => conn.write(chunk),
    end: () => conn.end(),
    drain: () => {},
    close: () => {},
  });
  if (head.length > 0) conn.write(head);
}

/** A running server of the suite with its context. */
export interface TestServer {
  readonly server: RunningServer;
  readonly port: number;
  readonly ctx: Context;
  /** A raw client connected to it (closed at the end of the suite). */
  client(): Promise<RawClient>;
}

/** Starts servers of one backend and stops them all in `stopAll()`. */
export class Servers {
  readonly backend: ServerBackend;
  readonly #servers: RunningServer[] = [];
  readonly #clients: RawClient[] = [];
  readonly #contexts: Context[] = [];

  constructor(backend: ServerBackend) {
    this.backend = backend;
  }

  /** Serves the conformance app with `options` (a logger and access log recorder added). */
  async start(options: ServerOptions = {}, handler?: IncomingHandler): Promise<TestServer> {
    const ctx = new Context();
    this.#contexts.push(ctx);
    const server = await this.backend.listen(
      { hostname: "127.0.0.1", port: 0 },
      handler ?? conformanceApp(ctx),
      {
        logger: ctx.logger,
        onAccess: (entry) => ctx.access.push(entry),
        ...options,
      },
    );
    this.#servers.push(server);
    const port = portOf(server.address);
    return {
      server,
      port,
      ctx,
      client: async () => {
        const client = await RawClient.open(port);
        this.#clients.push(client);
        return client;
      },
    };
  }

  /** Closes every client and taken connection and shuts every server down. */
  async stopAll(): Promise<void> {
    for (const client of this.#clients) client.close();
    for (const ctx of this.#contexts) for (const conn of ctx.taken) conn.destroy();
    await Promise.all(
      this.#servers.map((server) => within(server.shutdown(500), 5000, "server shutdown")),
    );
  }
}

/** Whether `error` is a {@linkcode BodyError} with `code`. */
export function isBodyError(error: unknown, code: string): boolean {
  return error instanceof BodyError && error.code === code;
}
