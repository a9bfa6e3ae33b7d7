/**
 * The middleware onion: each middleware gets the request and `next`, and
 * may act before and after the rest of the chain, replace the request it
 * passes on, or answer without calling `next` at all.
 *
 * @module
 */

/** What a middleware calls to run the rest of the chain. */
export type Next<Req> = (request: Req) => Promise<Response>;

/**
 * A middleware: `(req, next) => Response`, as aiohttp's new-style
 * middlewares and Hono's are.
 *
 * @example Time every request
 * ```ts
 * import type { Middleware } from "@sluice/http/server";
 *
 * const timing: Middleware<Request> = async (req, next) => {
 *   const started = performance.now();
 *   const res = await next(req);
 *   res.headers.set("server-timing", `total;dur=${(performance.now() - started).toFixed(1)}`);
 *   return res;
 * };
 * ```
 */
export type Middleware<Req> = (request: Req, next: Next<Req>) => Response | Promise<Response>;

/**
 * Runs `middlewares` around `handler`, outermost first. A middleware that
 * calls `next` twice gets a `TypeError` (the rest of the chain already ran),
 * and one that returns something other than a `Response` makes the chain
 * reject with a `TypeError` naming its position. With no middleware the
 * handler is returned as it is (no extra Promise on the hot path).
 *
 * @param middlewares The chain, outermost first.
 * @param handler What the innermost `next` calls.
 * @returns A function that runs the whole chain for one request.
 *
 * @example
 * ```ts
 * import { compose } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 *
 * const order: string[] = [];
 * const run = compose<string>([
 *   async (req, next) => {
 *     order.push("a in");
 *     const res = await next(req + "!");
 *     order.push("a out");
 *     return res;
 *   },
 * ], (req) => {
 *   order.push(`handler ${req}`);
 *   return new Response(req);
 * });
 * const res = await run("hi");
 * assert.equal(await res.text(), "hi!");
 * assert.deepEqual(order, ["a in", "handler hi!", "a out"]);
 * ```
 */
export function compose<Req>(
  middlewares: readonly Middleware<Req>[],
  handler: (request: Req) => Response | Promise<Response>,
): (request: Req) => Response | Promise<Response> {
  for (let i = 0; i < middlewares.length; i++) {
    if (typeof middlewares[i] !== "function") {
      throw new TypeError(`Cannot compose middleware ${i}: not a function`);
    }
  }
  if (middlewares.length === 0) return handler;
  const chain = middlewares.slice();
  return (request: Req): Promise<Response> => {
    const dispatch = (i: number, req: Req): Promise<Response> => {
      if (i === chain.length) {
        // A handler that throws before returning a Promise still rejects next()'s Promise.
        try {
          return Promise.resolve(handler(req)).then((res) => checked(res, -1));
        } catch (error) {
          return Promise.reject(error);
        }
      }
      let called = false;
      const next: Next<Req> = (nextReq) => {
        if (called) {
          return Promise.reject(
            new TypeError(`Cannot call next() twice from middleware ${i}`),
          );
        }
        called = true;
        return dispatch(i + 1, nextReq);
      };
      try {
        return Promise.resolve(chain[i](req, next)).then((res) => checked(res, i));
      } catch (error) {
        return Promise.reject(error);
      }
    };
    return dispatch(0, request);
  };
}

function checked(value: unknown, position: number): Response {
  if (value instanceof Response) return value;
  const who = position < 0 ? "the handler" : `middleware ${position}`;
  throw new TypeError(`Cannot use the result of ${who}: it is not a Response`);
}
