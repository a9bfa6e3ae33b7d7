// A raw HTTP/1.1 test server on node:net (runs on Deno, Bun and Node) that
// counts sockets (accepted, live, most live at once) and requests, records
// the order of request targets, and can close idle keep-alive sockets at
// seeded random moments to exercise a client's stale-socket handling.
//
// Routes (GET, HEAD or any other method):
// - `/slow/<chunks>/<gapMs>/...`: a chunked body of `<chunks>` chunks
//   `chunk <i>\n`, one every `<gapMs>` ms.
// - `/wait/<ms>/...`: the head comes after `<ms>` ms.
// - anything else: `ok <method> <target>` (plus ` <n> bytes` for a request
//   body of n bytes), with Content-Length.

import { createServer, type Server, type Socket } from "node:net";

/** Deterministic PRNG (mulberry32), as in tests/client/slots_test.ts. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How a socket is closed after a response (see {@linkcode CloseIdlePolicy}). */
export type CloseMode = "immediate" | "delayed" | "unread" | "keepAliveTimeout";

/**
 * After each keep-alive response, with probability `probability` the socket
 * is closed in one of the modes, picked by `weights`:
 * - `immediate`: `end()` (FIN) or `destroy()` right after the response;
 * - `delayed`: the same after a random 0–5 ms;
 * - `unread`: the next request's bytes arrive and the socket is closed with
 *   no response (the client must retry an idempotent request);
 * - `keepAliveTimeout`: the response advertises `Keep-Alive: timeout=1` and
 *   the socket is closed 1 s later.
 */
export interface CloseIdlePolicy {
  seed: number;
  probability: number;
  weights?: Partial<Record<CloseMode, number>>;
}

/** Options of {@linkcode socketCountingServer}. */
export interface SocketCountingOptions {
  closeIdle?: CloseIdlePolicy;
  /** Keep every request target in `order` (default true). */
  record?: boolean;
}

/** The running server and its counters (live, read them at any time). */
export interface SocketCountingServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Sockets accepted since the start. */
  accepted: number;
  /** Sockets open now. */
  live: number;
  /** The most sockets open at once, as counted at each accept (racy: see `maxOpen`). */
  maxLive: number;
  /**
   * The most sockets open at once whose client had not closed its side,
   * counted a macrotask after each accept: a client closing one socket and
   * opening the next right away can be accepted before its FIN is read, so
   * `maxLive` may count a socket the client has already closed.
   */
  maxOpen: number;
  /**
   * The most sockets that had carried a request, open at once (their client
   * not gone), counted a macrotask after each request head: sockets a client
   * opened and dropped unused (e.g. a connect aborted too late) do not count.
   */
  maxServing: number;
  /** Sockets closed without ever carrying a request. */
  unused: number;
  /** Request heads received (answered or not). */
  requests: number;
  /** Responses whose head was written. */
  answered: number;
  /** Requests met by an `unread` close (no response). */
  dropped: number;
  /** Requests that came in after the server had closed its side (no response). */
  late: number;
  /** Socket closes decided by the policy, per mode. */
  closes: Record<CloseMode, number>;
  /** `METHOD target` of every request, in arrival order (when recording). */
  readonly order: string[];
  /** Destroys every socket and stops listening. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * Starts a {@linkcode SocketCountingServer} on 127.0.0.1, port 0.
 */
export async function socketCountingServer(
  options: SocketCountingOptions = {},
): Promise<SocketCountingServer> {
  const policy = options.closeIdle;
  const rand = prng(policy?.seed ?? 1);
  const weights: [CloseMode, number][] = Object.entries({
    immediate: 1,
    delayed: 1,
    unread: 1,
    keepAliveTimeout: 1,
    ...policy?.weights,
  }) as [CloseMode, number][];
  const totalWeight = weights.reduce((n, [, w]) => n + w, 0);
  const pick = (): CloseMode => {
    let r = rand() * totalWeight;
    for (const [mode, w] of weights) {
      if ((r -= w) < 0) return mode;
    }
    return weights[weights.length - 1][0];
  };
  const record = options.record ?? true;
  const open = new Set<Socket>();
  /** Open sockets whose client has not ended or reset them. */
  const active = new Set<Socket>();
  /** Active sockets that carried at least one request. */
  const serving = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const state = {
    url: "",
    port: 0,
    accepted: 0,
    live: 0,
    maxLive: 0,
    maxOpen: 0,
    maxServing: 0,
    unused: 0,
    requests: 0,
    answered: 0,
    dropped: 0,
    late: 0,
    closes: { immediate: 0, delayed: 0, unread: 0, keepAliveTimeout: 0 },
    order: [] as string[],
    close: (): Promise<void> => Promise.resolve(),
  };

  const server: Server = createServer((socket) => {
    state.accepted++;
    state.live++;
    state.maxLive = Math.max(state.maxLive, state.live);
    open.add(socket);
    active.add(socket);
    setTimeout(() => {
      state.maxOpen = Math.max(state.maxOpen, active.size);
    }, 0);
    socket.setNoDelay(true);
    let buffered = "";
    /** Body bytes still to skip, and their count for the answer. */
    let bodyLeft = 0;
    let pending: { method: string; target: string; bodyLength: number } | null = null;
    /** Close with no answer when the next request comes. */
    let dropNext = false;
    /** Closed (or closing) by us: ignore whatever comes. */
    let done = false;
    /** Responses are answered one at a time, in order. */
    let queue: Promise<void> = Promise.resolve();

    let used = false;
    const gone = (): void => {
      active.delete(socket);
      serving.delete(socket);
    };
    socket.on("error", gone);
    socket.on("end", gone);
    socket.on("close", () => {
      done = true;
      gone();
      open.delete(socket);
      if (!used) state.unused++;
      state.live--;
    });

    const finish = (end: boolean): void => {
      done = true;
      if (end) socket.end();
      else socket.destroy();
    };

    const answer = async (method: string, target: string, bodyLength: number): Promise<void> => {
      if (done || socket.destroyed) return;
      if (dropNext) {
        state.dropped++;
        finish(rand() < 0.5);
        return;
      }
      const mode = policy !== undefined && rand() < policy.probability ? pick() : null;
      const parts = target.split("/");
      const keepAlive = mode === "keepAliveTimeout" ? "keep-alive: timeout=1\r\n" : "";
      state.answered++;
      if (parts[1] === "wait") {
        await new Promise<void>((resolve) => later(Number(parts[2]) || 0, resolve));
        if (done || socket.destroyed) return;
      }
      if (parts[1] === "slow") {
        const chunks = Number(parts[2]) || 1;
        const gap = Number(parts[3]) || 0;
        socket.write(`HTTP/1.1 200 OK\r\n${keepAlive}transfer-encoding: chunked\r\n\r\n`);
        for (let i = 0; i < chunks; i++) {
          await new Promise<void>((resolve) => later(gap, resolve));
          if (done || socket.destroyed) return;
          const line = `chunk ${i}\n`;
          socket.write(`${line.length.toString(16)}\r\n${line}\r\n`);
        }
        socket.write("0\r\n\r\n");
      } else {
        const text = `ok ${method} ${target}${bodyLength > 0 ? ` ${bodyLength} bytes` : ""}`;
        const body = method === "HEAD" ? "" : text;
        socket.write(
          `HTTP/1.1 200 OK\r\n${keepAlive}content-type: text/plain\r\ncontent-length: ${
            encoder.encode(text).length
          }\r\n\r\n${body}`,
        );
      }
      if (mode === null) return;
      state.closes[mode]++;
      if (mode === "immediate") finish(rand() < 0.5);
      else if (mode === "delayed") {
        const end = rand() < 0.5;
        later(Math.floor(rand() * 6), () => finish(end));
      } else if (mode === "unread") dropNext = true;
      else later(1000, () => finish(true));
    };

    const dispatch = (method: string, target: string, bodyLength: number): void => {
      state.requests++;
      if (!used) {
        used = true;
        if (active.has(socket)) serving.add(socket);
        setTimeout(() => {
          state.maxServing = Math.max(state.maxServing, serving.size);
        }, 0);
      }
      if (record) state.order.push(`${method} ${target}`);
      if (done) {
        state.late++;
        return;
      }
      queue = queue.then(() => answer(method, target, bodyLength)).catch(() => {});
    };

    socket.on("data", (chunk: Uint8Array) => {
      if (socket.destroyed) return;
      buffered += new TextDecoder("latin1").decode(chunk);
      for (;;) {
        if (pending !== null) {
          const take = Math.min(bodyLeft, buffered.length);
          buffered = buffered.slice(take);
          bodyLeft -= take;
          if (bodyLeft > 0) return;
          dispatch(pending.method, pending.target, pending.bodyLength);
          pending = null;
        }
        const at = buffered.indexOf("\r\n\r\n");
        if (at === -1) return;
        const head = buffered.slice(0, at);
        buffered = buffered.slice(at + 4);
        const [method = "", target = ""] = head.split("\r\n", 1)[0].split(" ");
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        bodyLeft = length === null ? 0 : Number(length[1]);
        pending = { method, target, bodyLength: bodyLeft };
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.port = (server.address() as { port: number }).port;
  state.url = `http://127.0.0.1:${state.port}`;
  let closing: Promise<void> | null = null;
  state.close = () => {
    closing ??= new Promise<void>((resolve) => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of open) socket.destroy();
      server.close(() => resolve());
    });
    return closing;
  };
  return state;
}
