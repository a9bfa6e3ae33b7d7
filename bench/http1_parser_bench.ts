/**
 * Sluice's `RequestParser` against llhttp, the C parser inside Node, driven
 * through Node's own binding (`HTTPParser` of `node:_http_common`) the way
 * `node:http`'s server drives it. Both parse the same bytes on the same number
 * of "connections" (one parser each, new ones every timed round), and
 * receive the same things per message: method, target, the flat header list,
 * body chunks, completion.
 *
 * @module
 */

import { createRequire } from "node:module";
import type { RequestParser as SluiceRequestParser } from "../http1/mod.ts";
import { corpora, type Corpus } from "./_http1_corpus.ts";
import type { Batch, Case, Contender, Suite, Unavailable } from "./_suite.ts";

/**
 * Open keep-alive connections, each with its own parser and handler, fed in
 * turn. More than one, as on a real server: the JIT cannot specialise the
 * parser on one handler's closures (which the first rounds of a
 * one-connection run would reward, and a GC would later take back).
 */
const CONNECTIONS = 4;

/** What each contender counts (summed over connections), checked after every batch. */
interface Tally {
  messages: number;
  headerFields: number;
  bodyBytes: number;
  lastMethod: string;
  lastTarget: string;
}

function newTally(): Tally {
  return { messages: 0, headerFields: 0, bodyBytes: 0, lastMethod: "", lastTarget: "" };
}

/** Throws unless `tally` is exactly `iterations` parses of `corpus`, then resets it. */
function check(who: string, corpus: Corpus, tally: Tally, iterations: number): void {
  const want = [corpus.messages, corpus.headerFields, corpus.bodyBytes].map((n) => n * iterations);
  const got = [tally.messages, tally.headerFields, tally.bodyBytes];
  if (
    got[0] !== want[0] || got[1] !== want[1] || got[2] !== want[2] ||
    tally.lastMethod !== corpus.lastMethod || tally.lastTarget !== corpus.lastTarget
  ) {
    throw new Error(
      `Cannot trust ${who} on ${corpus.name}: messages/fields/body bytes ${got.join("/")}, ` +
        `expected ${want.join("/")}; last ${tally.lastMethod} ${tally.lastTarget}`,
    );
  }
  tally.messages = tally.headerFields = tally.bodyBytes = 0;
}

// Sluice --------------------------------------------------------------------

type RequestParserClass = typeof SluiceRequestParser;
type RequestParserLike = InstanceType<RequestParserClass>;

/**
 * The parser, or why it cannot be loaded: while http1/ is being changed, the
 * llhttp rows still run and the Sluice rows say what went wrong.
 */
async function loadSluice(): Promise<RequestParserClass | string> {
  // Imported at run time so that a broken http1/ fails one contender, not the run.
  const specifier = "../http1/mod.ts";
  try {
    const mod = await import(specifier) as { RequestParser?: RequestParserClass };
    return typeof mod.RequestParser === "function"
      ? mod.RequestParser
      : "http1/mod.ts does not export RequestParser yet";
  } catch (err) {
    return `http1/mod.ts failed to load: ${(err as Error).message}`;
  }
}

function sluiceContender(RequestParser: RequestParserClass, corpus: Corpus): Contender {
  return {
    setup(): Batch {
      const tally = newTally();
      const parsers: RequestParserLike[] = [];
      for (let c = 0; c < CONNECTIONS; c++) {
        parsers.push(
          new RequestParser({
            onHead(head) {
              tally.headerFields += head.headers.length >> 1;
              tally.lastMethod = head.method;
              tally.lastTarget = head.target;
            },
            onBody(chunk) {
              tally.bodyBytes += chunk.byteLength;
            },
            onComplete() {
              tally.messages++;
            },
          }),
        );
      }
      const { bytes } = corpus;
      return (iterations) => {
        for (let i = 0; i < iterations; i++) parsers[i % CONNECTIONS].feed(bytes);
        check("sluice", corpus, tally, iterations);
        return iterations * corpus.messages;
      };
    },
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

/** The head `node:http` would build from llhttp's arguments (minus IncomingMessage). */
interface LlhttpHead {
  method: string;
  url: string;
  versionMinor: number;
  headers: string[];
  keepAlive: boolean;
  upgrade: boolean;
}

/** A parser set up as lib/_http_common.js's parsersCb and lib/_http_server.js do. */
function llhttpConnection({ HTTPParser, methods }: HttpCommon, tally: Tally): HttpParserBinding {
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
    method: number,
    url: string | undefined,
    _statusCode: number,
    _statusMessage: string,
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
      method: methods[method],
      url,
      versionMinor,
      headers,
      keepAlive: shouldKeepAlive,
      upgrade,
    };
    tally.headerFields += head.headers.length >> 1;
    tally.lastMethod = head.method;
    tally.lastTarget = head.url;
    return 0;
  };
  parser[HTTPParser.kOnBody] = (chunk: Uint8Array) => {
    tally.bodyBytes += chunk.byteLength;
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    tally.messages++;
  };
  // Server defaults: no async resource, default max header size, strict.
  parser.initialize(HTTPParser.REQUEST, {}, 0, 0);
  return parser;
}

function llhttpContender(common: HttpCommon, corpus: Corpus): Contender {
  return {
    setup(): Batch {
      const tally = newTally();
      const parsers: HttpParserBinding[] = [];
      for (let c = 0; c < CONNECTIONS; c++) parsers.push(llhttpConnection(common, tally));
      const { bytes } = corpus;
      return (iterations) => {
        for (let i = 0; i < iterations; i++) {
          const ret = parsers[i % CONNECTIONS].execute(bytes);
          if (typeof ret !== "number") throw ret;
        }
        check("llhttp", corpus, tally, iterations);
        return iterations * corpus.messages;
      };
    },
  };
}

// Suite ---------------------------------------------------------------------

const sluice = await loadSluice();
const llhttp = loadLlhttp();

function caseOf(corpus: Corpus): Case {
  const contenders: Record<string, Contender | Unavailable> = {
    sluice: typeof sluice === "string" ? { unavailable: sluice } : sluiceContender(sluice, corpus),
    llhttp: typeof llhttp === "string" ? { unavailable: llhttp } : llhttpContender(llhttp, corpus),
  };
  return {
    name: corpus.name,
    description: `${corpus.description} (${corpus.bytes.length} B per feed)`,
    unit: "msg",
    bytesPerOp: corpus.bytes.length / corpus.messages,
    contenders,
  };
}

/** HTTP/1.1 request parsing: Sluice vs llhttp (Node's binding). */
export const suite: Suite = {
  name: "http1_parser",
  description: "Sluice RequestParser vs HTTPParser of node:_http_common (llhttp on Node)",
  cases: corpora.map(caseOf),
};
