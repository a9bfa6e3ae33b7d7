/**
 * What the web platform's objects cost per request, on the runtime that runs
 * the suite (Node, Deno, Bun): `Request`, `Headers`, `URL`, `Response` and
 * the ways of reading one back, `ReadableStream`, `AbortController`,
 * `TextEncoder`. Each case puts them next to the plain-JavaScript
 * alternative a server engine could use instead (a plain object holding the
 * parsed fields, bytes written with `encodeInto`), which is the baseline of
 * its ratios: the ratio says how many times faster the baseline is.
 *
 * Every object made is stored in a small ring (`sink`) so that it escapes and
 * no JIT can drop its allocation; every read is summed and the sum checked
 * after each batch; every contender's output is checked once per setup.
 * Asynchronous contenders await each operation in turn, as a handler would.
 *
 * @module
 */

import { BROWSER_FIELDS } from "./_http1_corpus.ts";
import type { Batch, Case, Contender, Suite } from "./_suite.ts";

// Inputs --------------------------------------------------------------------

const URL_STRING = "http://127.0.0.1:8080/path?q=1";

/**
 * The 12 fields of bench/_http1_corpus.ts's browser-get, with `Host` and
 * `Referer` pointing at the local server, as a parser hands them over.
 */
const BROWSER_HEADERS: [string, string][] = BROWSER_FIELDS.map(([name, value]): [string, string] =>
  name === "Host"
    ? [name, "127.0.0.1:8080"]
    : name === "Referer"
    ? [name, "http://127.0.0.1:8080/"]
    : [name, value]
);

/** One 64-byte request body chunk (ASCII JSON). */
const POST_BODY = '{"sku":"RUN-4471","qty":2,"size":42,"gift":false,"note":"hello"}';
const POST_CHUNK = new TextEncoder().encode(POST_BODY);
if (POST_CHUNK.byteLength !== 64) throw new Error(`POST body is ${POST_CHUNK.byteLength} B`);

const HELLO = "Hello, World!";
const HELLO_BYTES = 13;
const MESSAGE = { message: HELLO };
const JSON_TEXT = JSON.stringify(MESSAGE);
const JSON_BYTES = JSON_TEXT.length;
const JSON_INIT: ResponseInit = { headers: { "content-type": "application/json" } };
const TEXT_TYPE = "text/plain;charset=UTF-8";

/** Where results go so that they escape (the JIT cannot elide the allocation). */
const sink: unknown[] = new Array(64).fill(null);

/** A reused output buffer, as a server's write buffer would be. */
const scratch = new Uint8Array(4096);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Throws unless `got` is `want`: a contender that does not do its work is not timed. */
function expect(who: string, got: unknown, want: unknown): void {
  if (got !== want) {
    throw new Error(`Cannot trust ${who}: got ${String(got)}, expected ${String(want)}`);
  }
}

/** Sum of the lengths of every name and value, as a serializer would visit them. */
function headerChars(headers: Headers): number {
  let n = 0;
  for (const [name, value] of headers) n += name.length + value.length;
  return n;
}

/** Reads a body stream to its end and returns its byte count. */
async function drain(body: ReadableStream<Uint8Array> | null): Promise<number> {
  if (body === null) return 0;
  const reader = body.getReader();
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return n;
    n += value.byteLength;
  }
}

function oneChunkStream(): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(POST_CHUNK);
      controller.close();
    },
  });
}

// Each contender writes its own loop: one shared loop calling a callback would
// see every contender's callback at one call site, and none would be inlined.

// 1. Request head -----------------------------------------------------------

/** The "lazy request": the fields a parser has, in a plain object. */
interface PlainRequest {
  method: string;
  url: string;
  headers: [string, string][];
}

const requestGet: Case = {
  name: "request-get",
  description: "GET with 12 browser fields: plain object vs Request, Headers alone, URL alone",
  baseline: "plain-object",
  contenders: {
    "plain-object": {
      setup(): Batch {
        const r: PlainRequest = { method: "GET", url: URL_STRING, headers: BROWSER_HEADERS };
        expect("plain-object", r.headers.length, 12);
        return (iterations) => {
          for (let i = 0; i < iterations; i++) {
            const req: PlainRequest = { method: "GET", url: URL_STRING, headers: BROWSER_HEADERS };
            sink[i & 63] = req;
          }
          return iterations;
        };
      },
    },
    "new-request": {
      setup(): Batch {
        const r = new Request(URL_STRING, { method: "GET", headers: BROWSER_HEADERS });
        expect("new-request url", r.url, URL_STRING);
        expect("new-request fields", [...r.headers].length, 12);
        return (iterations) => {
          for (let i = 0; i < iterations; i++) {
            sink[i & 63] = new Request(URL_STRING, { method: "GET", headers: BROWSER_HEADERS });
          }
          return iterations;
        };
      },
    },
    // Some runtimes may defer work to the first read: a handler reads a few things.
    "new-request+read": {
      setup(): Batch {
        const want = 3 + URL_STRING.length + BROWSER_HEADERS[4][1].length;
        return (iterations) => {
          let n = 0;
          for (let i = 0; i < iterations; i++) {
            const req = new Request(URL_STRING, { method: "GET", headers: BROWSER_HEADERS });
            n += req.method.length + req.url.length + (req.headers.get("accept")?.length ?? 0);
            sink[i & 63] = req;
          }
          expect("new-request+read", n, want * iterations);
          return iterations;
        };
      },
    },
    "new-headers": {
      setup(): Batch {
        expect("new-headers", [...new Headers(BROWSER_HEADERS)].length, 12);
        return (iterations) => {
          for (let i = 0; i < iterations; i++) sink[i & 63] = new Headers(BROWSER_HEADERS);
          return iterations;
        };
      },
    },
    "new-url": {
      setup(): Batch {
        const u = new URL(URL_STRING);
        expect("new-url", u.pathname + u.search, "/path?q=1");
        return (iterations) => {
          for (let i = 0; i < iterations; i++) sink[i & 63] = new URL(URL_STRING);
          return iterations;
        };
      },
    },
  },
};

// 2. Request body -----------------------------------------------------------

/** `duplex` is required with a stream body, and not in every runtime's types. */
function postInit(body: BodyInit): RequestInit {
  return { method: "POST", body, duplex: "half" } as RequestInit;
}

const requestPost: Case = {
  name: "request-post",
  description: "POST with a 64-byte body: Request over a one-chunk stream or bytes, then text()",
  baseline: "plain+decode",
  contenders: {
    // The lazy alternative: the parser's chunk in a plain object, decoded on demand.
    "plain+decode": {
      setup(): Batch {
        expect("plain+decode", decoder.decode(POST_CHUNK), POST_BODY);
        return (iterations) => {
          let n = 0;
          for (let i = 0; i < iterations; i++) {
            const req = { method: "POST", url: URL_STRING, body: POST_CHUNK };
            n += decoder.decode(req.body).length;
            sink[i & 63] = req;
          }
          expect("plain+decode", n, 64 * iterations);
          return iterations;
        };
      },
    },
    "stream-request": {
      setup(): Batch {
        expect(
          "stream-request",
          new Request(URL_STRING, postInit(oneChunkStream())).method,
          "POST",
        );
        return (iterations) => {
          for (let i = 0; i < iterations; i++) {
            sink[i & 63] = new Request(URL_STRING, postInit(oneChunkStream()));
          }
          return iterations;
        };
      },
    },
    "stream-request+text": {
      async setup(): Promise<Batch> {
        const text = await new Request(URL_STRING, postInit(oneChunkStream())).text();
        expect("stream-request+text", text, POST_BODY);
        return async (iterations) => {
          let n = 0;
          for (let i = 0; i < iterations; i++) {
            const req = new Request(URL_STRING, postInit(oneChunkStream()));
            n += (await req.text()).length;
          }
          expect("stream-request+text", n, 64 * iterations);
          return iterations;
        };
      },
    },
    "bytes-request+text": {
      async setup(): Promise<Batch> {
        const text = await new Request(URL_STRING, postInit(POST_CHUNK)).text();
        expect("bytes-request+text", text, POST_BODY);
        return async (iterations) => {
          let n = 0;
          for (let i = 0; i < iterations; i++) {
            const req = new Request(URL_STRING, postInit(POST_CHUNK));
            n += (await req.text()).length;
          }
          expect("bytes-request+text", n, 64 * iterations);
          return iterations;
        };
      },
    },
  },
};

// 3. Responses --------------------------------------------------------------

/** The lazy alternative: what the handler returned, as a plain object. */
interface PlainResponse {
  status: number;
  headers: [string, string][];
  body: string;
}

interface ResponseKind {
  name: string;
  description: string;
  /** Builds the response (JSON kinds stringify here, as a handler would). */
  make: () => Response;
  /** The plain-object alternative with the same fields. */
  plain: () => PlainResponse;
  body: string;
  contentType: string;
}

/**
 * The contenders of one response case. The three response cases share these
 * loops, so their call of `make` or `plain` sees up to three functions
 * (checked: running response-json alone moves its figures by no more than
 * rerunning it does, ≤ 5 % on Node 20 and ≤ 15 % on Bun).
 */
function responseCase(kind: ResponseKind): Case {
  const { make, plain, body } = kind;
  const bytes = body.length; // ASCII
  const headerLength = "content-type".length + kind.contentType.length;
  const contenders: Record<string, Contender> = {
    "plain-object": {
      setup(): Batch {
        expect(`${kind.name}/plain-object`, plain().body, body);
        return (iterations) => {
          for (let i = 0; i < iterations; i++) sink[i & 63] = plain();
          return iterations;
        };
      },
    },
    // What an engine that never builds a Response does to get the bytes out.
    "plain+encodeInto": {
      setup(): Batch {
        return (iterations) => {
          let n = 0;
          for (let i = 0; i < iterations; i++) {
            const res = plain();
            let h = 0;
            for (const [name, value] of res.headers) h += name.length + value.length;
            n += encoder.encodeInto(res.body, scratch).written + h;
            sink[i & 63] = res;
          }
          expect(`${kind.name}/plain+encodeInto`, n, (bytes + headerLength) * iterations);
          return iterations;
        };
      },
    },
    "new": {
      setup(): Batch {
        const res = make();
        expect(`${kind.name}/new`, res.status, 200);
        // Bun leaves the implied text/plain off a string body's headers (it adds it
        // when it writes the response), and Response.json's type has a charset there.
        const type = res.headers.get("content-type");
        if (type !== null || kind.name !== "response-text") {
          expect(`${kind.name}/new content-type`, type?.startsWith(kind.contentType), true);
        }
        return (iterations) => {
          for (let i = 0; i < iterations; i++) sink[i & 63] = make();
          return iterations;
        };
      },
    },
    "new+headers": {
      setup(): Batch {
        // What this runtime puts there (see "new" above), same every time.
        const res = make();
        const type = res.headers.get("content-type");
        const chars = headerChars(res.headers);
        expect(`${kind.name}/new+headers`, chars, type === null ? 0 : 12 + type.length);
        return (iterations) => {
          let n = 0;
          for (let i = 0; i < iterations; i++) {
            const res = make();
            for (const [name, value] of res.headers) n += name.length + value.length;
            sink[i & 63] = res;
          }
          expect(`${kind.name}/new+headers`, n, chars * iterations);
          return iterations;
        };
      },
    },
    "new+text": {
      async setup(): Promise<Batch> {
        expect(`${kind.name}/new+text`, await make().text(), body);
        return async (iterations) => {
          let n = 0;
          for (let i = 0; i < iterations; i++) n += (await make().text()).length;
          expect(`${kind.name}/new+text`, n, bytes * iterations);
          return iterations;
        };
      },
    },
    "new+arrayBuffer": {
      async setup(): Promise<Batch> {
        const buf = await make().arrayBuffer();
        expect(`${kind.name}/new+arrayBuffer`, decoder.decode(buf), body);
        return async (iterations) => {
          let n = 0;
          for (let i = 0; i < iterations; i++) n += (await make().arrayBuffer()).byteLength;
          expect(`${kind.name}/new+arrayBuffer`, n, bytes * iterations);
          return iterations;
        };
      },
    },
    "new+getReader": {
      async setup(): Promise<Batch> {
        expect(`${kind.name}/new+getReader`, await drain(make().body), bytes);
        return async (iterations) => {
          let n = 0;
          for (let i = 0; i < iterations; i++) {
            const reader = make().body!.getReader();
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              n += value.byteLength;
            }
          }
          expect(`${kind.name}/new+getReader`, n, bytes * iterations);
          return iterations;
        };
      },
    },
  };
  return {
    name: kind.name,
    description: kind.description,
    baseline: "plain-object",
    contenders,
  };
}

const responseText = responseCase({
  name: "response-text",
  description: 'new Response("Hello, World!"): construct, iterate headers, read back 3 ways',
  make: () => new Response(HELLO),
  plain: () => ({ status: 200, headers: [["content-type", TEXT_TYPE]], body: HELLO }),
  body: HELLO,
  contentType: TEXT_TYPE,
});

const responseJsonString = responseCase({
  name: "response-json-string",
  description: "new Response(JSON.stringify(obj), { headers: { content-type } }), same reads",
  make: () => new Response(JSON.stringify(MESSAGE), JSON_INIT),
  plain: () => ({
    status: 200,
    headers: [["content-type", "application/json"]],
    body: JSON.stringify(MESSAGE),
  }),
  body: JSON_TEXT,
  contentType: "application/json",
});

const responseJson = responseCase({
  name: "response-json",
  description: "Response.json(obj), same reads",
  make: () => Response.json(MESSAGE),
  plain: () => ({
    status: 200,
    headers: [["content-type", "application/json"]],
    body: JSON.stringify(MESSAGE),
  }),
  body: JSON_TEXT,
  contentType: "application/json",
});
if (JSON_BYTES !== 27) throw new Error(`JSON body is ${JSON_BYTES} B`);
if (HELLO.length !== HELLO_BYTES) throw new Error("Hello body is not 13 B");

// 4. Per-request stream and abort signal ------------------------------------

const perRequest: Case = {
  name: "per-request",
  description: "a ReadableStream with one chunk read to its end; an AbortController's signal",
  baseline: "plain-object",
  contenders: {
    "plain-object": {
      setup(): Batch {
        return (iterations) => {
          let n = 0;
          for (let i = 0; i < iterations; i++) {
            const body = { chunk: POST_CHUNK, done: true };
            n += body.chunk.byteLength;
            sink[i & 63] = body;
          }
          expect("plain-object", n, 64 * iterations);
          return iterations;
        };
      },
    },
    "readable-stream": {
      async setup(): Promise<Batch> {
        expect("readable-stream", await drain(oneChunkStream()), 64);
        return async (iterations) => {
          let n = 0;
          for (let i = 0; i < iterations; i++) {
            const stream = new ReadableStream<Uint8Array>({
              start(controller) {
                controller.enqueue(POST_CHUNK);
                controller.close();
              },
            });
            const reader = stream.getReader();
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              n += value.byteLength;
            }
          }
          expect("readable-stream", n, 64 * iterations);
          return iterations;
        };
      },
    },
    "abort-controller": {
      setup(): Batch {
        expect("abort-controller", new AbortController().signal.aborted, false);
        return (iterations) => {
          for (let i = 0; i < iterations; i++) sink[i & 63] = new AbortController().signal;
          return iterations;
        };
      },
    },
  },
};

// 5. Text encoding ----------------------------------------------------------

const textEncode: Case = {
  name: "text-encode",
  description: 'TextEncoder: encode("Hello, World!") vs encodeInto a reused buffer',
  baseline: "encodeInto",
  contenders: {
    "encodeInto": {
      setup(): Batch {
        expect("encodeInto", encoder.encodeInto(HELLO, scratch).written, HELLO_BYTES);
        return (iterations) => {
          let n = 0;
          for (let i = 0; i < iterations; i++) n += encoder.encodeInto(HELLO, scratch).written;
          expect("encodeInto", n, HELLO_BYTES * iterations);
          return iterations;
        };
      },
    },
    "encode": {
      setup(): Batch {
        expect("encode", decoder.decode(encoder.encode(HELLO)), HELLO);
        return (iterations) => {
          let n = 0;
          for (let i = 0; i < iterations; i++) {
            const bytes = encoder.encode(HELLO);
            n += bytes.byteLength;
            sink[i & 63] = bytes;
          }
          expect("encode", n, HELLO_BYTES * iterations);
          return iterations;
        };
      },
    },
  },
};

/** Web platform objects per request vs plain-JavaScript alternatives. */
export const suite: Suite = {
  name: "platform",
  description: "cost of Request/Headers/URL/Response/streams/TextEncoder per operation; " +
    "ratio = baseline ÷ contender (how many times faster the baseline is)",
  cases: [
    requestGet,
    requestPost,
    responseText,
    responseJsonString,
    responseJson,
    perRequest,
    textEncode,
  ],
};
