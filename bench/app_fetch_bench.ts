/**
 * A whole application in process: `app.fetch(new Request(...))` through three
 * middlewares (a no-op, one that sets a response header after the handler,
 * one that reads a request header) to a param route answering JSON, Sluice's
 * `Application` against `new Hono()` with the same middlewares and route.
 *
 * Each operation builds the `Request` and awaits the `Response` (status and
 * header checked; bodies are checked once in `setup`, not read in the loop).
 * Two cases: a table of that one route, and the route among 100 others.
 *
 * @module
 */

import type { Batch, Case, Contender, Suite, Unavailable } from "./_suite.ts";

/** An application under test: its `fetch`. */
type Fetch = (request: Request) => Response | Promise<Response>;

const URL_BASE = "http://localhost";
const PATHS = ["/users/42", "/users/7", "/users/a%20b", "/users/1234"];
const EXPECTED = ['{"id":"42"}', '{"id":"7"}', '{"id":"a b"}', '{"id":"1234"}'];
const HEADERS = { "user-agent": "bench/1.0", accept: "application/json" };

/** Other routes to file first, so that the router has some work. */
function fillerRoutes(count: number): string[] {
  return Array.from(
    { length: count },
    (_, i) => i % 2 === 0 ? `/api/v1/res${i}` : `/api/v1/res${i}/:id/sub/:sub_id`,
  );
}

/** Where the batches put what they got, so that no work can be optimised away. */
export let sink: unknown = null;

function contender(
  who: string,
  make: (extra: string[]) => Promise<Fetch>,
  extra: number,
): Contender {
  return {
    async setup(): Promise<Batch> {
      const fetch = await make(fillerRoutes(extra));
      for (let i = 0; i < PATHS.length; i++) {
        const res = await fetch(new Request(URL_BASE + PATHS[i], { headers: HEADERS }));
        const body = await res.text();
        if (
          res.status !== 200 || body !== EXPECTED[i] ||
          res.headers.get("x-powered-by") !== "bench" ||
          !res.headers.get("content-type")?.startsWith("application/json")
        ) {
          throw new Error(
            `Cannot trust ${who}: ${PATHS[i]} gave ${res.status} ${body} ` +
              JSON.stringify([...res.headers]),
          );
        }
      }
      const urls = PATHS.map((p) => URL_BASE + p);
      return async (iterations) => {
        let ok = 0;
        let last: Response | null = null;
        for (let i = 0; i < iterations; i++) {
          last = await fetch(new Request(urls[i & 3], { headers: HEADERS }));
          if (last.status === 200) ok++;
        }
        sink = last;
        if (ok !== iterations) throw new Error(`Cannot trust ${who}: ${iterations - ok} failed`);
        return iterations;
      };
    },
  };
}

// Sluice --------------------------------------------------------------------

interface SluiceServer {
  Application: new () => {
    use(
      mw: (
        req: SluiceRequest,
        next: (req: SluiceRequest) => Promise<Response>,
      ) => Promise<Response>,
    ): unknown;
    router: { get(path: string, handler: (req: SluiceRequest) => Response): unknown };
    fetch: Fetch;
  };
  json(value: unknown): Response;
}

interface SluiceRequest {
  params: Record<string, string>;
  header(name: string): string | null;
}

async function loadSluice(): Promise<((extra: string[]) => Promise<Fetch>) | string> {
  // Imported at run time so that a broken application fails its rows, not the run.
  const specifier = "../server/mod.ts";
  try {
    const { Application, json } = await import(specifier) as SluiceServer;
    return (extra) => {
      const app = new Application();
      let seen = 0;
      app.use(async (req, next) => await next(req));
      app.use(async (req, next) => {
        const res = await next(req);
        res.headers.set("x-powered-by", "bench");
        return res;
      });
      app.use(async (req, next) => {
        if (req.header("user-agent") !== null) seen++;
        return await next(req);
      });
      for (const path of extra) app.router.get(path, () => json({ seen }));
      app.router.get("/users/:id", (req) => json({ id: req.params.id }));
      return Promise.resolve(app.fetch);
    };
  } catch (err) {
    return `Cannot load server/mod.ts: ${(err as Error).message}`;
  }
}

// Hono ----------------------------------------------------------------------

interface HonoContext {
  req: { param(name: string): string; header(name: string): string | undefined };
  header(name: string, value: string): void;
  json(value: unknown): Response;
}

interface HonoModule {
  Hono: new () => {
    use(mw: (c: HonoContext, next: () => Promise<void>) => Promise<void>): unknown;
    get(path: string, handler: (c: HonoContext) => Response): unknown;
    fetch: Fetch;
  };
}

async function loadHono(): Promise<((extra: string[]) => Promise<Fetch>) | string> {
  try {
    const { Hono } = await import("hono") as HonoModule;
    return (extra) => {
      const app = new Hono();
      let seen = 0;
      app.use(async (_c, next) => {
        await next();
      });
      app.use(async (c, next) => {
        await next();
        c.header("x-powered-by", "bench");
      });
      app.use(async (c, next) => {
        if (c.req.header("user-agent") !== undefined) seen++;
        await next();
      });
      for (const path of extra) app.get(path, (c) => c.json({ seen }));
      app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
      return Promise.resolve(app.fetch);
    };
  } catch {
    return "hono is not installed";
  }
}

// Suite ---------------------------------------------------------------------

const made: Record<string, ((extra: string[]) => Promise<Fetch>) | string> = {
  sluice: await loadSluice(),
  hono: await loadHono(),
};

function caseOf(extra: number): Case {
  const contenders: Record<string, Contender | Unavailable> = {};
  for (const [who, make] of Object.entries(made)) {
    contenders[who] = typeof make === "string"
      ? { unavailable: make }
      : contender(who, make, extra);
  }
  return {
    name: extra === 0 ? "one-route" : `${extra + 1}-routes`,
    description: `app.fetch: 3 middlewares, GET /users/:id → JSON, among ${extra + 1} routes`,
    unit: "req",
    contenders,
  };
}

/** `app.fetch` of a small application: Sluice Application vs Hono. */
export const suite: Suite = {
  name: "app_fetch",
  description: "app.fetch(new Request) through 3 middlewares to a JSON param route: Sluice vs Hono",
  cases: [caseOf(0), caseOf(100)],
};
