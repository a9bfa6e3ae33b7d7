/**
 * Sluice's HTTP/1.1 parsers against llhttp, the C parser inside Node, driven
 * through Node's own binding (`HTTPParser` of `node:_http_common`): requests
 * through `RequestParser` and llhttp as `node:http`'s server drives it,
 * responses through `ResponseParser` and llhttp as `node:http`'s client drives
 * it. Both parse the same bytes on the same number of "connections" (one
 * parser each, new ones every timed round), and receive the same things per
 * message: method and target (or status and reason), the flat header list,
 * body chunks, completion.
 *
 * @module
 */

import { createRequire } from "node:module";
import type {
  ParserHandler,
  RequestHead,
  RequestParser,
  ResponseHead,
  ResponseParser,
} from "../http1/mod.ts";
import { corpora, type Corpus, type StartLine } from "./_http1_corpus.ts";
import type { Batch, Case, Contender, Suite, Unavailable } from "./_suite.ts";

/**
 * Open keep-alive connections, each with its own parser and handler, fed in
 * turn. More than one, as on a real server: the JIT cannot specialise the
 * parser on one handler's closures (which the first rounds of a
 * one-connection run would reward, and a GC would later take back).
 */
const CONNECTIONS = 4;

/**
 * What each contender counts (summed over connections), and the start line of
 * the last message; checked after every batch.
 */
interface Tally extends StartLine {
  messages: number;
  headerFields: number;
  bodyBytes: number;
}

function newTally(): Tally {
  return {
    messages: 0,
    headerFields: 0,
    bodyBytes: 0,
    method: "",
    target: "",
    status: 0,
    reason: "",
  };
}

function showStartLine(corpus: Corpus, line: StartLine): string {
  return corpus.kind === "request"
    ? `${line.method} ${line.target}`
    : `${line.status} ${line.reason}`;
}

/** Throws unless `tally` is exactly `iterations` parses of `corpus`, then resets the counts. */
function check(who: string, corpus: Corpus, tally: Tally, iterations: number): void {
  const want = [corpus.messages, corpus.headerFields, corpus.bodyBytes].map((n) => n * iterations);
  const got = [tally.messages, tally.headerFields, tally.bodyBytes];
  const { last } = corpus;
  if (
    got[0] !== want[0] || got[1] !== want[1] || got[2] !== want[2] ||
    tally.method !== last.method || tally.target !== last.target ||
    tally.status !== last.status || tally.reason !== last.reason
  ) {
    throw new Error(
      `Cannot trust ${who} on ${corpus.name}: messages/fields/body bytes ${got.join("/")}, ` +
        `expected ${want.join("/")}; last ${showStartLine(corpus, tally)}, ` +
        `expected ${showStartLine(corpus, last)}`,
    );
  }
  tally.messages = tally.headerFields = tally.bodyBytes = 0;
}

/** One "connection": a parser with its own handler, fed one whole corpus per call. */
type Connection = (bytes: Uint8Array) => void;

/** Opens a connection whose parser counts into `tally`. */
type Connect = (tally: Tally) => Connection;

/** Feeds `corpus` to {@linkcode CONNECTIONS} fresh connections in turn, checking every batch. */
function contender(who: string, corpus: Corpus, connect: Connect): Contender {
  return {
    setup(): Batch {
      const tally = newTally();
      const connections = Array.from({ length: CONNECTIONS }, () => connect(tally));
      const { bytes } = corpus;
      return (iterations) => {
        for (let i = 0; i < iterations; i++) connections[i % CONNECTIONS](bytes);
        check(who, corpus, tally, iterations);
        return iterations * corpus.messages;
      };
    },
  };
}

// Sluice --------------------------------------------------------------------

interface Http1 {
  RequestParser: typeof RequestParser;
  ResponseParser: typeof ResponseParser;
}

/**
 * The parsers, or why they cannot be loaded: while http1/ is being changed,
 * the llhttp rows still run and the Sluice rows say what went wrong.
 */
async function loadSluice(): Promise<Http1 | string> {
  // Imported at run time so that a broken http1/ fails one contender, not the run.
  const specifier = "../http1/mod.ts";
  try {
    const mod = await import(specifier) as Partial<Http1>;
    for (const name of ["RequestParser", "ResponseParser"] as const) {
      if (typeof mod[name] !== "function") return `http1/mod.ts does not export ${name} yet`;
    }
    return mod as Http1;
  } catch (err) {
    return `http1/mod.ts failed to load: ${(err as Error).message}`;
  }
}

/** A handler that counts into `tally`; `onStartLine` records what the head's start line says. */
function tallyHandler<Head extends { headers: string[] }>(
  tally: Tally,
  onStartLine: (head: Head) => void,
): ParserHandler<Head> {
  return {
    onHead(head) {
      tally.headerFields += head.headers.length >> 1;
      onStartLine(head);
    },
    onBody(chunk) {
      tally.bodyBytes += chunk.byteLength;
    },
    onComplete() {
      tally.messages++;
    },
  };
}

function sluiceConnect(http1: Http1, corpus: Corpus): Connect {
  if (corpus.kind === "request") {
    return (tally) => {
      const parser = new http1.RequestParser(
        tallyHandler(tally, (head: RequestHead) => {
          tally.method = head.method;
          tally.target = head.target;
        }),
      );
      return (bytes) => parser.feed(bytes);
    };
  }
  const responses = corpus.messages;
  return (tally) => {
    const parser = new http1.ResponseParser(
      tallyHandler(tally, (head: ResponseHead) => {
        tally.status = head.status;
        tally.reason = head.reason;
      }),
    );
    return (bytes) => {
      // As a client does: the method of each request sent, queued before its response arrives.
      for (let m = 0; m < responses; m++) parser.expect("GET");
      parser.feed(bytes);
    };
  };
}

// llhttp via node:_http_common ---------------------------------------------

/** The slice of Node's internal `HTTPParser` binding (Node 20–24) used here. */
interface HttpParserBinding {
  initialize(type: number, resource: object, maxHeaderSize?: number, lenient?: number): void;
  /** Bytes parsed, or the parse error. */
  execute(data: Uint8Array): number | Error;
  [callback: number]: unknown;
}
interface HttpParserClass {
  new (): HttpParserBinding;
  REQUEST: number;
  RESPONSE: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
}
interface HttpCommon {
  HTTPParser: HttpParserClass;
  /** Method names indexed by llhttp's method code. */
  methods: string[];
}

/** Node's internal module, or why it is not there (Deno, Bun). */
function loadLlhttp(): HttpCommon | string {
  try {
    // Not a public module: `import` would not type-check in Deno, require does.
    const common = createRequire(import.meta.url)("_http_common") as Partial<HttpCommon>;
    if (typeof common.HTTPParser !== "function" || !Array.isArray(common.methods)) {
      return "node:_http_common has no HTTPParser on this runtime";
    }
    return common as HttpCommon;
  } catch (err) {
    return `node:_http_common is not available: ${(err as Error).message}`;
  }
}

/**
 * The head `node:http` would build from llhttp's arguments (the fields of its
 * `IncomingMessage`, not the object): `method` on the server side only,
 * `statusCode` and `statusMessage` on the client side only.
 */
interface LlhttpHead {
  versionMinor: number;
  headers: string[];
  url: string;
  upgrade: boolean;
  keepAlive: boolean;
  method: string | null;
  statusCode: number | null;
  statusMessage: string | null;
}

/**
 * What `node:http` does with a head (`parser.onIncoming`), reduced to
 * recording its start line. Returns 0 (parse the body), 1 (skip it) or 2
 * (skip it and hand over the connection).
 */
type OnIncoming = (head: LlhttpHead, tally: Tally) => number;

/** lib/_http_server.js's parserOnIncoming: a request always reads its body. */
const serverOnIncoming: OnIncoming = (head, tally) => {
  tally.method = head.method ?? "";
  tally.target = head.url;
  return 0;
};

/** lib/_http_client.js's parserOnIncomingClient: 0 for a final response to GET (1 after HEAD). */
const clientOnIncoming: OnIncoming = (head, tally) => {
  tally.status = head.statusCode ?? 0;
  tally.reason = head.statusMessage ?? "";
  return 0;
};

/**
 * A parser set up as lib/_http_common.js's parsersCb does, then initialized
 * as lib/_http_server.js (`REQUEST`) or lib/_http_client.js (`RESPONSE`) do.
 */
function llhttpConnection(
  { HTTPParser, methods }: HttpCommon,
  type: number,
  onIncoming: OnIncoming,
  tally: Tally,
): HttpParserBinding {
  const parser = new HTTPParser();
  let pendingHeaders: string[] = [];
  let pendingUrl = "";
  // llhttp hands headers over early (kOnHeaders) past 32 fields or on a split head.
  parser[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
    for (const h of headers) pendingHeaders.push(h);
    pendingUrl += url;
  };
  parser[HTTPParser.kOnHeadersComplete] = (
    _versionMajor: number,
    versionMinor: number,
    headers: string[] | undefined,
    method: number | undefined,
    url: string | undefined,
    statusCode: number | undefined,
    statusMessage: string | undefined,
    upgrade: boolean,
    shouldKeepAlive: boolean,
  ) => {
    if (headers === undefined) {
      headers = pendingHeaders;
      pendingHeaders = [];
    }
    if (url === undefined) {
      url = pendingUrl;
      pendingUrl = "";
    }
    const head: LlhttpHead = {
      versionMinor,
      headers,
      url,
      upgrade,
      keepAlive: shouldKeepAlive,
      method: null,
      statusCode: null,
      statusMessage: null,
    };
    if (typeof method === "number") {
      head.method = methods[method]; // server only
    } else {
      head.statusCode = statusCode ?? null; // client only
      head.statusMessage = statusMessage ?? null;
    }
    tally.headerFields += head.headers.length >> 1;
    return onIncoming(head, tally);
  };
  parser[HTTPParser.kOnBody] = (chunk: Uint8Array) => {
    tally.bodyBytes += chunk.byteLength;
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    tally.messages++;
  };
  // As node:http: no async resource here, default max header size, strict.
  parser.initialize(type, {}, 0, 0);
  return parser;
}

function llhttpConnect(common: HttpCommon, corpus: Corpus): Connect {
  const { HTTPParser } = common;
  const [type, onIncoming] = corpus.kind === "request"
    ? [HTTPParser.REQUEST, serverOnIncoming]
    : [HTTPParser.RESPONSE, clientOnIncoming];
  return (tally) => {
    const parser = llhttpConnection(common, type, onIncoming, tally);
    return (bytes) => {
      const ret = parser.execute(bytes);
      if (typeof ret !== "number") throw ret;
    };
  };
}

// Suite ---------------------------------------------------------------------

const sluice = await loadSluice();
const llhttp = loadLlhttp();

function caseOf(corpus: Corpus): Case {
  const contenders: Record<string, Contender | Unavailable> = {
    sluice: typeof sluice === "string"
      ? { unavailable: sluice }
      : contender("sluice", corpus, sluiceConnect(sluice, corpus)),
    llhttp: typeof llhttp === "string"
      ? { unavailable: llhttp }
      : contender("llhttp", corpus, llhttpConnect(llhttp, corpus)),
  };
  return {
    name: corpus.name,
    description: `${corpus.description} (${corpus.bytes.length} B per feed)`,
    unit: "msg",
    bytesPerOp: corpus.bytes.length / corpus.messages,
    contenders,
  };
}

/** HTTP/1.1 request and response parsing: Sluice vs llhttp (Node's binding). */
export const suite: Suite = {
  name: "http1_parser",
  description:
    "Sluice RequestParser/ResponseParser vs HTTPParser of node:_http_common (llhttp on Node)",
  cases: corpora.map(caseOf),
};
