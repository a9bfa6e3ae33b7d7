/**
 * One connection of the raw engine: feeds the parser from the transport,
 * runs one exchange at a time (pipelined requests wait in the parser, so
 * responses go out in order), keeps the connection alive between requests,
 * enforces the timeouts, and closes without losing a response.
 *
 * @module
 */

import { HttpParseError, type RequestHead, RequestParser } from "../../http1/mod.ts";
import type { Conn, ConnEvents } from "../../adapters/transport.ts";
import { BodyError } from "../errors.ts";
import { type BodyOwner, BodySource } from "./body_source.ts";
import { EngineRequest, type RequestSite } from "./engine_request.ts";
import { Exchange, type ExchangeOwner } from "./exchange.ts";
import type { EngineSettings } from "./settings.ts";
import { accessEntry } from "./access.ts";
import { TakenConn } from "./taken_conn.ts";

/** Why reading is paused: bits, so each cause resumes only its own pause. */
const PAUSE_BODY = 1;
const PAUSE_PIPELINE = 2;
const PAUSE_WRITE = 4;

/** Pipelined bytes held while a response is in progress before the socket is paused. */
const PIPELINE_BUDGET = 64 * 1024;
/** Write queue size above which the next pipelined request waits for a drain. */
const WRITE_HIGH_WATER = 64 * 1024;
/** How long a closing connection keeps reading (and dropping) before it is destroyed. */
const LINGER_MS = 5_000;

/** Deadline kinds checked by the server's sweep. */
export const DEADLINE_NONE = 0;
const DEADLINE_IDLE = 1;
const DEADLINE_HEAD = 2;
const DEADLINE_DRAIN = 3;
const DEADLINE_LINGER = 4;

/** What a connection needs from its server. */
export interface ConnectionServer {
  readonly settings: EngineSettings;
  readonly shuttingDown: boolean;
  /** The connection is closed (or handed over): forget it. */
  release(connection: EngineConnection): void;
}

/** The engine's side of one transport connection. */
export class EngineConnection implements ConnEvents, BodyOwner, ExchangeOwner, RequestSite {
  readonly conn: Conn;
  readonly settings: EngineSettings;
  readonly trust: EngineSettings["trust"];
  readonly #server: ConnectionServer;
  /** The parser, held only while a request is in progress (idle connections give it back to the pool). */
  #slot: ParserSlot | null = null;
  #exchange: Exchange | null = null;
  served = 0;
  closing = false;
  closed = false;
  /** We ended our side: input is dropped until the peer closes or the linger deadline. */
  #ended = false;
  #pause = 0;
  #held = 0;
  /** Bytes of a next head arrived (a request is on the wire). */
  #partial = false;
  #inParser = false;
  #waitingDrain = false;
  #drainWaiters: Array<() => void> = [];
  #handedOver: TakenConn | null = null;
  /** When the current deadline falls (ms since the epoch), and what it is for. */
  deadline = 0;
  deadlineKind = DEADLINE_NONE;

  constructor(conn: Conn, server: ConnectionServer) {
    this.conn = conn;
    this.#server = server;
    this.settings = server.settings;
    this.trust = server.settings.trust;
    this.#setDeadline(DEADLINE_HEAD, this.settings.headersTimeout);
  }

  get #parser(): RequestParser {
    return (this.#slot ??= acquireParser(this.settings, this)).parser;
  }

  /** Gives the parser back when nothing is in progress, so that idle connections hold none. */
  #releaseParser(): void {
    const slot = this.#slot;
    if (
      slot === null || this.#exchange !== null || this.#inParser ||
      (!this.closed && (slot.parser.paused || slot.parser.state !== "idle"))
    ) return;
    this.#slot = null;
    releaseParser(this.settings, slot);
  }

  /** Begins reading. */
  start(): void {
    this.conn.setNoDelay(true);
    this.conn.start(this);
  }

  // ---- ConnEvents ----

  data(chunk: Uint8Array): void {
    if (this.#handedOver !== null) return this.#handedOver.events.data(chunk);
    if (this.#ended) return;
    if (this.#exchange === null) {
      if (!this.#partial) {
        this.#partial = true;
        this.#setDeadline(DEADLINE_HEAD, this.settings.headersTimeout);
      }
    } else if (this.#slot !== null && this.#slot.parser.paused) {
      this.#held += chunk.length;
      if (this.#held > PIPELINE_BUDGET) this.#pauseFor(PAUSE_PIPELINE);
    }
    this.#feed(chunk);
    // Between requests the parser goes back to the pool: a connection holds
    // one only while a request is in progress, so the server needs about as
    // many parsers as requests in flight, not as connections open.
    if (this.#exchange === null) this.#releaseParser();
  }

  end(): void {
    if (this.#handedOver !== null) return this.#handedOver.events.end();
    if (this.#ended) {
      this.conn.end();
      return;
    }
    const exchange = this.#exchange;
    if (exchange !== null) {
      // The client half-closed with a request in progress: it is gone (as hyper and Deno.serve read it).
      exchange.abort();
      this.destroy();
      return;
    }
    this.#endConn();
  }

  drain(): void {
    if (this.#handedOver !== null) return this.#handedOver.events.drain();
    const waiters = this.#drainWaiters;
    if (waiters.length > 0) {
      this.#drainWaiters = [];
      for (const resolve of waiters) resolve();
    }
    if (this.#waitingDrain) {
      this.#waitingDrain = false;
      this.#resumeFor(PAUSE_WRITE);
      this.#continue();
    }
  }

  close(error: Error | null): void {
    if (this.#handedOver !== null) return this.#handedOver.events.close(error);
    this.closed = true;
    this.deadlineKind = DEADLINE_NONE;
    const exchange = this.#exchange;
    if (exchange !== null) {
      exchange.abort();
      this.#log(exchange);
      this.#exchange = null;
    }
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
    this.#releaseParser();
    this.#server.release(this);
  }

  // ---- parser events ----

  #feed(chunk: Uint8Array): void {
    this.#inParser = true;
    try {
      this.#parser.feed(chunk);
    } catch (error) {
      this.#parseFailed(error);
    } finally {
      this.#inParser = false;
    }
  }

  /** Parser event: a request head. */
  parserHead(head: RequestHead): void {
    this.#partial = false;
    this.deadlineKind = DEADLINE_NONE;
    this.served++;
    const settings = this.settings;
    const body = head.framing === "none" ? null : new BodySource(this, settings.maxBodySize);
    const request = new EngineRequest(head, this, body);
    const exchange = new Exchange(this, head, body, request);
    this.#exchange = exchange;
    if (head.framing === "length" && head.contentLength > settings.maxBodySize) {
      // Refused up front: the body is not read, so the connection cannot be reused.
      body!.fail(
        new BodyError(
          "SLUICE_ERR_BODY_TOO_LARGE",
          `Cannot read request body: Content-Length ${head.contentLength} is over the limit of ${settings.maxBodySize} bytes`,
        ),
      );
      this.closing = true;
      exchange.respondStatus(413, true);
      return;
    }
    if (head.expectContinue && settings.expectContinue !== null) {
      this.#checkExpectation(exchange);
      return;
    }
    exchange.run();
  }

  #checkExpectation(exchange: Exchange): void {
    let verdict: boolean | Response | Promise<boolean | Response>;
    try {
      verdict = this.settings.expectContinue!(exchange.request);
    } catch (error) {
      exchange.fail(error);
      return;
    }
    const decide = (value: boolean | Response): void => {
      if (value === true) exchange.run();
      else if (value instanceof Response) {
        exchange.closeAfter = true;
        exchange.respond(value);
      } else exchange.respondStatus(417, true);
    };
    if (verdict instanceof Promise) verdict.then(decide, (error) => exchange.fail(error));
    else decide(verdict);
  }

  /** Parser event: body bytes. */
  parserBody(chunk: Uint8Array): void {
    const exchange = this.#exchange;
    if (exchange === null) return;
    if (!exchange.body!.push(chunk)) {
      // Over the body limit mid-stream: stop taking input; the 413 goes out when the handler answers.
      this.closing = true;
      this.#parser.pause();
      this.#pauseFor(PAUSE_BODY);
    }
  }

  /** Parser event: the request ended. */
  parserComplete(): void {
    const exchange = this.#exchange;
    if (exchange === null) return;
    exchange.requestComplete = true;
    exchange.body?.end();
    if (exchange.responseDone) {
      this.#afterExchange();
    } else {
      this.#parser.pause();
    }
  }

  #parseFailed(error: unknown): void {
    if (!(error instanceof HttpParseError)) {
      this.settings.logger.error("Request parser failed", error);
      this.destroy(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.closing = true;
    const exchange = this.#exchange;
    if (exchange !== null) {
      // A malformed body (bad chunk): the handler's read fails; the answer closes.
      exchange.body?.fail(
        new BodyError("SLUICE_ERR_BODY_ABORTED", `Cannot read request body: ${error.message}`, {
          cause: error,
        }),
      );
      if (exchange.responseDone) this.#endConn();
      return;
    }
    // A malformed head: answer its status and close; no handler sees it.
    this.#partial = false;
    const fake = new Exchange(this, BAD_HEAD, null, new EngineRequest(BAD_HEAD, this, null));
    this.#exchange = fake;
    fake.requestComplete = true;
    fake.respondStatus(error.status, true);
    this.#exchange = null;
    this.#endConn();
  }

  // ---- BodyOwner ----

  pauseForBody(): void {
    this.#pauseFor(PAUSE_BODY);
  }

  resumeForBody(): void {
    this.#resumeFor(PAUSE_BODY);
  }

  bodyWanted(): void {
    this.#exchange?.sendContinue();
  }

  bodyAbandoned(): void {}

  // ---- ExchangeOwner ----

  write(bytes: Uint8Array): boolean {
    return this.conn.write(bytes);
  }

  drained(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  responseFinished(exchange: Exchange): void {
    if (exchange !== this.#exchange || this.closed) return;
    if (exchange.requestComplete) {
      if (!this.#inParser) this.#afterExchange();
      // Inside the parser, parserComplete() follows and moves on.
      return;
    }
    // A request without a body completes right after its head, in the same parse.
    if (exchange.body === null) return;
    if (exchange.closeAfter) {
      this.#log(exchange);
      this.#exchange = null;
      this.#endConn();
      return;
    }
    // Drain the rest of the unread body, then carry on with the next request.
    exchange.body.discard();
    this.#setDeadline(DEADLINE_DRAIN, this.settings.bodyTimeout);
  }

  destroy(error?: Error): void {
    this.conn.destroy(error);
  }

  // ---- moving on ----

  #afterExchange(): void {
    const exchange = this.#exchange!;
    this.#exchange = null;
    this.#log(exchange);
    if (exchange.takingOver) {
      this.#handOver(exchange);
      return;
    }
    if (exchange.closeAfter || this.closing) {
      this.#endConn();
      return;
    }
    if (exchange.head.upgrade) {
      // Upgrade not taken: the held bytes are HTTP again.
      if (this.#inParser) {
        queueMicrotask(() => this.#continue());
        return;
      }
    }
    if (this.conn.bufferedAmount > WRITE_HIGH_WATER) {
      this.#waitingDrain = true;
      this.#pauseFor(PAUSE_WRITE);
      if (this.#inParser) this.#parser.pause();
      return;
    }
    if (!this.#inParser) this.#continue();
    else this.#idle();
  }

  /** Parses what was held while the last exchange ran. */
  #continue(): void {
    if (this.closed || this.#ended || this.#exchange !== null) return;
    this.#held = 0;
    this.#resumeFor(PAUSE_PIPELINE);
    const parser = this.#slot?.parser;
    if (parser !== undefined && (parser.paused || parser.state === "upgraded")) {
      this.#inParser = true;
      try {
        parser.resume();
      } catch (error) {
        this.#parseFailed(error);
      } finally {
        this.#inParser = false;
      }
    }
    if (this.#exchange === null && !this.#ended) this.#idle();
  }

  #idle(): void {
    if (this.#server.shuttingDown) {
      if (!this.#partial) this.#endConn();
      return;
    }
    if (!this.#partial) this.#setDeadline(DEADLINE_IDLE, this.settings.idleTimeout);
  }

  #handOver(exchange: Exchange): void {
    const rest = this.#parser.takeRemaining();
    const slot = this.#slot!;
    this.#slot = null;
    releaseParser(this.settings, slot);
    this.conn.pause();
    const taken = new TakenConn(this.conn);
    this.#handedOver = taken;
    this.deadlineKind = DEADLINE_NONE;
    this.#server.release(this);
    try {
      exchange.onTakeover!(taken, rest);
    } catch (error) {
      this.settings.logger.error(
        `Takeover of ${exchange.head.method} ${exchange.head.target} failed`,
        error,
      );
      this.conn.destroy();
    }
  }

  /** Ends our side after the queued bytes; keeps reading (dropped) so the peer gets no reset. */
  #endConn(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#slot?.parser.pause();
    this.#pause = 0;
    this.conn.resume();
    this.conn.end();
    this.#setDeadline(DEADLINE_LINGER, LINGER_MS);
  }

  /** Graceful shutdown: idle connections end now, busy ones after their response. */
  shutdown(): void {
    this.closing = true;
    if (this.#exchange === null && !this.#partial) this.#endConn();
  }

  /** Called by the server's sweep once a second. */
  checkDeadline(now: number): void {
    const exchange = this.#exchange;
    if (exchange !== null && exchange.body !== null) {
      const since = exchange.body.waitingSince;
      if (since !== 0 && now - since >= this.settings.bodyTimeout) {
        this.closing = true;
        exchange.body.fail(
          new BodyError(
            "SLUICE_ERR_BODY_TIMEOUT",
            `Cannot read request body: no data for ${this.settings.bodyTimeout} ms`,
          ),
        );
      }
    }
    if (this.deadlineKind === DEADLINE_NONE || now < this.deadline) return;
    const kind = this.deadlineKind;
    this.deadlineKind = DEADLINE_NONE;
    switch (kind) {
      case DEADLINE_IDLE:
        this.#endConn();
        break;
      case DEADLINE_HEAD:
        if (this.#exchange !== null) break;
        if (this.#partial) {
          // Slow head (slowloris): 408 and close.
          this.closing = true;
          this.#partial = false;
          const fake = new Exchange(this, BAD_HEAD, null, new EngineRequest(BAD_HEAD, this, null));
          this.#exchange = fake;
          fake.requestComplete = true;
          fake.respondStatus(408, true);
        } else this.#endConn();
        break;
      case DEADLINE_DRAIN:
      case DEADLINE_LINGER:
        this.destroy();
        break;
    }
  }

  #setDeadline(kind: number, ms: number): void {
    if (ms === Infinity) {
      this.deadlineKind = DEADLINE_NONE;
      return;
    }
    this.deadlineKind = kind;
    this.deadline = Date.now() + ms;
  }

  #pauseFor(reason: number): void {
    if (this.#pause === 0) this.conn.pause();
    this.#pause |= reason;
  }

  #resumeFor(reason: number): void {
    if ((this.#pause & reason) === 0) return;
    this.#pause &= ~reason;
    if (this.#pause === 0 && !this.closed) this.conn.resume();
  }

  #log(exchange: Exchange): void {
    const onAccess = this.settings.onAccess;
    if (onAccess === null || exchange.head === BAD_HEAD && exchange.status === 0) return;
    try {
      onAccess(accessEntry(exchange));
    } catch (error) {
      this.settings.logger.error("Access logger failed", error);
    }
  }
}

/** A pooled parser; its handler forwards to the connection that holds it. */
interface ParserSlot {
  parser: RequestParser;
  target: EngineConnection | null;
}

/** Parsers kept for reuse, per server (their options differ). */
const pools = new WeakMap<EngineSettings, ParserSlot[]>();
/** Pooled parsers kept at most, per server. */
const POOL_MAX = 1024;

function acquireParser(settings: EngineSettings, target: EngineConnection): ParserSlot {
  const slot = pools.get(settings)?.pop();
  if (slot !== undefined) {
    slot.target = target;
    return slot;
  }
  const fresh: ParserSlot = { parser: null as unknown as RequestParser, target };
  fresh.parser = new RequestParser({
    onHead: (head) => fresh.target!.parserHead(head),
    onBody: (chunk) => fresh.target!.parserBody(chunk),
    onComplete: () => fresh.target!.parserComplete(),
  }, settings.parser);
  return fresh;
}

function releaseParser(settings: EngineSettings, slot: ParserSlot): void {
  slot.target = null;
  slot.parser.reset();
  let pool = pools.get(settings);
  if (pool === undefined) pools.set(settings, pool = []);
  if (pool.length < POOL_MAX) pool.push(slot);
}

/** Stands in for the head of a request that could not be parsed. */
const BAD_HEAD: RequestHead = {
  method: "-",
  target: "-",
  versionMinor: 1,
  headers: [],
  host: null,
  keepAlive: false,
  upgrade: false,
  expectContinue: false,
  framing: "none",
  contentLength: -1,
};
