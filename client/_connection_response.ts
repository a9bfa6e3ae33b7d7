/**
 * The response side of a client connection: the head handed to the caller,
 * with trailers behind a lazily created promise.
 *
 * @module
 */

import type { ResponseHead } from "../http1/mod.ts";
import type { ConnectionResponse, Exchange } from "./_connection_types.ts";
import type { BodyChannel } from "./_body_channel.ts";

/**
 * Header fields from the parser's flat `[name, value, …]` pairs.
 *
 * @param fields The pairs, or `null` for none.
 * @returns The fields as `Headers`.
 *
 * @example
 * ```ts
 * import { headersOf } from "./_connection_response.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(headersOf(["X-Sum", "1"]).get("x-sum"), "1");
 * ```
 */
export function headersOf(fields: readonly string[] | null): Headers {
  const headers = new Headers();
  if (fields === null) return headers;
  for (let i = 0; i < fields.length; i += 2) headers.append(fields[i], fields[i + 1]);
  return headers;
}

/**
 * A {@linkcode ConnectionResponse} over its exchange: `trailers` costs
 * nothing until somebody reads it.
 *
 * @example
 * ```ts ignore
 * const res = new ExchangeResponse(ex, head, headersOf(head.headers), null);
 * console.log(res.status, await res.trailers);
 * ```
 */
export class ExchangeResponse implements ConnectionResponse {
  /** The status code. */
  readonly status: number;
  /** The reason phrase as sent. */
  readonly statusText: string;
  /** The header fields. */
  readonly headers: Headers;
  /** The body's chunks (the stream is made over it on first use of `body`). */
  readonly channel: BodyChannel | null;
  /** `"1.1"` or `"1.0"`. */
  readonly httpVersion: "1.0" | "1.1";
  readonly #ex: Exchange;
  #trailers: Promise<Headers> | null = null;

  /**
   * Wraps a final head.
   *
   * @param ex The exchange it answers.
   * @param head The parsed head.
   * @param headers Its fields.
   * @param channel Its body's chunks, or `null` when it has none.
   */
  constructor(
    ex: Exchange,
    head: ResponseHead,
    headers: Headers,
    channel: BodyChannel | null,
  ) {
    this.status = head.status;
    this.statusText = head.reason;
    this.headers = headers;
    this.channel = channel;
    this.httpVersion = head.versionMinor === 0 ? "1.0" : "1.1";
    this.#ex = ex;
  }

  /** The body as a stream (made on first use), or `null` when there is none. */
  get body(): ReadableStream<Uint8Array> | null {
    return this.channel === null ? null : this.channel.stream();
  }

  /** The trailer fields once the body ended (empty when none, or when the body failed). */
  get trailers(): Promise<Headers> {
    if (this.#trailers === null) {
      const ex = this.#ex;
      this.#trailers = ex.done
        ? Promise.resolve(headersOf(ex.trailers))
        : new Promise((resolve) => (ex.onTrailers = resolve));
    }
    return this.#trailers;
  }
}

/**
 * Ends the exchange's trailers: keeps them for a later `trailers` read and
 * settles one already asked for. Call with `null` when the body failed.
 *
 * @param ex The exchange, now done.
 * @param trailers The trailer fields (flat pairs), or `null`.
 *
 * @example
 * ```ts ignore
 * settleTrailers(ex, ["X-Sum", "1"]);
 * ```
 */
export function settleTrailers(ex: Exchange, trailers: string[] | null): void {
  ex.trailers = trailers;
  const onTrailers = ex.onTrailers;
  if (onTrailers === null) return;
  ex.onTrailers = null;
  try {
    onTrailers(headersOf(trailers));
  } catch {
    // Fields the parser accepted but Headers refuses: none in practice.
    onTrailers(new Headers());
  }
}
