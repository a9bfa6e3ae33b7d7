/**
 * The hops of one session request: each hop is sent through the session's
 * middlewares with its cookies, its `Set-Cookie` fields go to the jar, and
 * a redirect becomes the next hop until a final response (or too many).
 *
 * @module
 */

import type { AbstractCookieJar } from "./cookie_jar.ts";
import { TooManyRedirectsError } from "./errors.ts";
import {
  type ClientMiddleware,
  type ClientRequest,
  composeClientMiddlewares,
} from "./middleware.ts";
import { type ClientResponse, setCookieLines, setRedirectChain } from "./response.ts";
import { redirectLocation, redirectRequest, sameOrigin } from "./_session_redirect.ts";
import { type SendContext, sendHop } from "./_session_send.ts";
import { checkRedirects, joinCookies, raiseStatus } from "./_session_util.ts";
import type { ClientRequestOptions } from "./_session_types.ts";

/** What a session lends the hops of each of its requests. */
export interface HopDefaults {
  jar: AbstractCookieJar;
  middlewares: readonly ClientMiddleware[];
  raiseForStatus: boolean;
  maxRedirects: number;
}

/** The hops of one request: what every hop needs, and the redirects so far. */
interface Hops {
  first: ClientRequest;
  options: ClientRequestOptions;
  ctx: SendContext;
  jar: AbstractCookieJar;
  raiseForStatus: boolean;
  send: (req: ClientRequest) => Promise<ClientResponse>;
  /** The caller's `Cookie` field. */
  userCookie: string | null;
  /** The caller's `cookies` option, as a `Cookie` value. */
  extraCookies: string | null;
  history: ClientResponse[];
  maxRedirects: number;
}

/**
 * Sends `first` and follows its redirects.
 *
 * @param first The first hop, its fields and body set.
 * @param options The caller's request options (`cookies`, `allowRedirects`,
 *   `maxRedirects`, `raiseForStatus`).
 * @param ctx What every hop's send shares.
 * @param defaults The session's jar, middlewares and defaults.
 * @returns The final response.
 */
export function followHops(
  first: ClientRequest,
  options: ClientRequestOptions,
  ctx: SendContext,
  defaults: HopDefaults,
): Promise<ClientResponse> {
  const last = (req: ClientRequest): Promise<ClientResponse> => sendHop(req, ctx);
  const { middlewares } = defaults;
  const hops: Hops = {
    first,
    options,
    ctx,
    jar: defaults.jar,
    raiseForStatus: options.raiseForStatus ?? defaults.raiseForStatus,
    send: middlewares.length === 0 ? last : composeClientMiddlewares(middlewares, last),
    userCookie: first.getField("cookie"),
    extraCookies: options.cookies === undefined
      ? null
      : Object.entries(options.cookies).map(([name, value]) => `${name}=${value}`).join("; "),
    history: [],
    maxRedirects: options.maxRedirects === undefined
      ? defaults.maxRedirects
      : checkRedirects(options.maxRedirects),
  };
  return hop(hops, first);
}

/** Sends one hop with the cookies it gets; resolves with the final response. */
function hop(hops: Hops, req: ClientRequest): Promise<ClientResponse> {
  const { first, userCookie, jar } = hops;
  // The caller's cookies (a `Cookie` field, `cookies`) are for the first origin only.
  const firstOrigin = req === first || sameOrigin(first.url, req.url);
  const cookie = joinCookies(
    firstOrigin ? userCookie : null,
    firstOrigin ? hops.extraCookies : null,
    jar.size === 0 ? null : jar.header(req.url),
  );
  if (cookie !== null) req.setField("cookie", cookie);
  else if (req !== first || userCookie !== null) req.deleteField("cookie");
  return hops.send(req).then((res) => landed(hops, req, res));
}

/** A hop's response: the final one, or a redirect to follow. */
function landed(
  hops: Hops,
  req: ClientRequest,
  res: ClientResponse,
): ClientResponse | Promise<ClientResponse> {
  const setCookies = setCookieLines(res);
  if (setCookies.length > 0) hops.jar.update(setCookies, req.url);
  const location = (hops.options.allowRedirects ?? true) ? redirectLocation(res) : null;
  if (location !== null) return redirect(hops, req, res, location);
  if (hops.history.length > 0) setRedirectChain(res, hops.history);
  if (res.status >= 400 && hops.raiseForStatus) return raiseStatus(res, req).then(() => res);
  return res;
}

/** Follows a redirect: the response is released and kept in the history. */
async function redirect(
  hops: Hops,
  req: ClientRequest,
  res: ClientResponse,
  location: string,
): Promise<ClientResponse> {
  const { history, maxRedirects } = hops;
  if (history.length >= maxRedirects) {
    await res.release();
    throw new TooManyRedirectsError(maxRedirects, [...history, res] as unknown as Response[]);
  }
  let next;
  try {
    next = redirectRequest(req, res.status, location, hops.ctx.proxyFor).next;
  } catch (error) {
    await res.release();
    throw error;
  }
  await res.release();
  await hops.ctx.trace?.emit("onRequestRedirect", {
    method: req.method,
    url: req.url,
    headers: req.headers,
    response: res,
  });
  history.push(res);
  return await hop(hops, next);
}
