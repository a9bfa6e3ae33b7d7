/**
 * HTTP Digest authentication (RFC 7616) as a client middleware:
 * {@linkcode digestAuth}, like aiohttp's `DigestAuthMiddleware`.
 *
 * @module
 */

import { DigestAuth, type DigestAuthOptions } from "../auth.ts";
import type { ClientMiddleware, ClientRequest } from "../middleware.ts";
import { urlParts } from "../_pool_connect.ts";

async function authorization(digest: DigestAuth, req: ClientRequest): Promise<string | null> {
  // The request-target as sent (RFC 7616 §3.4): `search` would drop a bare "?".
  const target = urlParts(req.url).path;
  if (digest.qop !== "auth-int") return digest.authorize(req.method, target);
  const body = req.body;
  if (body instanceof ReadableStream) return null; // auth-int needs the bytes of a stream: skip
  const bytes = body === null
    ? new Uint8Array(0)
    : body instanceof Uint8Array
    ? body
    : new Uint8Array(await body.arrayBuffer());
  return digest.authorize(req.method, target, bytes);
}

/**
 * A client middleware answering Digest challenges (RFC 7616). Once a server
 * sent a challenge, every later request carries `Authorization` up front (the
 * nonce count goes up); a 401 with a `Digest` challenge in
 * `WWW-Authenticate` is released and the request sent once more with
 * credentials, when its body is replayable. Credentials go up front only to
 * the origin (scheme, host, port) of the last challenge. A 401 to credentials
 * already sent is answered once more with its new challenge (a `stale` nonce,
 * or a server that forgot its nonces) and the second 401 returned as it is
 * (a wrong password: no loop). Algorithms MD5, SHA-256,
 * SHA-512-256 and their `-sess`; qop `auth`, or `auth-int` (not for a stream
 * body). Pass a {@linkcode DigestAuth} to share its state.
 *
 * @param auth The {@linkcode DigestAuth} to use (its state is shared).
 * @returns The middleware.
 *
 * @example
 * ```ts ignore
 * import { ClientSession, DigestAuth, digestAuth } from "@sluice/http/client";
 *
 * const auth = new DigestAuth("Mufasa", "Circle of Life");
 * await using session = new ClientSession({ middlewares: [digestAuth(auth)] });
 * const res = await session.get("http://127.0.0.1:8080/dir/index.html");
 * ```
 */
export function digestAuth(auth: DigestAuth): ClientMiddleware;
/**
 * The digest middleware (see the first signature) with its own
 * {@linkcode DigestAuth} for `login` and `password`.
 *
 * @param login The user name.
 * @param password The password.
 * @param options A `cnonce` maker, for tests.
 * @returns The middleware.
 *
 * @example
 * ```ts ignore
 * import { ClientSession, digestAuth } from "@sluice/http/client";
 *
 * await using session = new ClientSession({ middlewares: [digestAuth("user", "secret")] });
 * ```
 */
export function digestAuth(
  login: string,
  password: string,
  options?: DigestAuthOptions,
): ClientMiddleware;
export function digestAuth(
  login: string | DigestAuth,
  password?: string,
  options?: DigestAuthOptions,
): ClientMiddleware {
  let digest: DigestAuth;
  if (login instanceof DigestAuth) digest = login;
  else if (typeof login === "string" && typeof password === "string") {
    digest = new DigestAuth(login, password, options);
  } else {
    throw new TypeError(
      "Cannot create digest auth middleware: give a DigestAuth, or a login and a password",
    );
  }
  // The origin that sent the challenge: credentials go up front only there.
  let origin: string | null = null;
  return async (req, next) => {
    let sent: string | null = null;
    if (digest.algorithm !== null && req.url.origin === origin) {
      sent = await authorization(digest, req);
      if (sent !== null) req.headers.set("authorization", sent);
    }
    const res = await next(req);
    if (res.status !== 401 || !req.replayable) return res;
    const header = res.headers.get("www-authenticate");
    if (header === null) return res;
    let retry = digest.challenge(header);
    if (!retry && sent === null) {
      // Sent without credentials while a concurrent request took the
      // challenge: DigestAuth refuses the repeat, but a first try is due.
      retry = digest.algorithm !== null && req.url.origin === origin;
    } else if (!retry) {
      // Credentials refused under a nonce DigestAuth took: the server may have
      // dropped its nonces (a restart) without saying `stale`. One try with
      // the new challenge, as for any request; a wrong password costs one more.
      digest.reset();
      retry = digest.challenge(header);
    }
    if (!retry) return res;
    origin = req.url.origin;
    const value = await authorization(digest, req);
    if (value === null) return res;
    await res.release();
    req.headers.set("authorization", value);
    return await next(req);
  };
}
