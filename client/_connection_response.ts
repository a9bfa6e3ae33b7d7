/**
 * The response side of a client connection: the head handed to the caller,
 * with trailers behind a lazily created promise.
 *
 * @module
 */

import type { ResponseHead } from "../http1/mod.ts";
import type { ConnectionResponse, Exchange } from "./_connection_types.ts";
import type { BodyChannel } from "./_body_channel.ts";
import { equalsName } from "../http1/_fields.ts";

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
 * A field's value in a parsed head's flat field list (several are joined
 * with `", "`, as `Headers.get` does).
 *
 * @param fields Name, value, name, value, …
 * @param lower The field name, lower case.
 * @returns The value, or `null`.
 *
 * @example
 * ```ts ignore
 * fieldValue(["Keep-Alive", "timeout=5"], "keep-alive"); // "timeout=5"
 * ```
 */
export function fieldValue(fields: readonly string[], lower: string): string | null {
  let value: string | null = null;
  for (let i = 0; i < fields.length; i += 2) {
    if (!equalsName(fields[i], lower)) continue;
    value = value === null ? fields[i + 1] : `${value}, ${fields[i + 1]}`;
  }
  return value;
}

/**
 * A {@linkcode ConnectionResponse} over its exchange: `trailers` costs
 * nothing until somebody reads it.
 *
 * @example
 * ```ts ignore
 * const res = new ExchangeResponse(ex, head, null);
 * console.log(res.status, await res.trailers);
 * ```
 */
export class ExchangeResponse implements ConnectionResponse {
  /** The status code. */
  readonly status: number;
  /** The reason phrase as sent. */
  readonly statusText: string;
  /** The head's fields as parsed: name, value, name, value, … */
  readonly fields: readonly string[];
  #headers: Headers | null = null;
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
   * @param channel Its body's chunks, or `null` when it has none.
   */
  constructor(
    ex: Exchange,
    head: ResponseHead,
    channel: BodyChannel | null,
  ) {
    this.status = head.status;
    this.statusText = head.reason;
    this.fields = head.headers;
    this.channel = channel;
    this.httpVersion = head.versionMinor === 0 ? "1.0" : "1.1";
    this.#ex = ex;
  }

  /** The header fields (made on first use). */
  get headers(): Headers {
    return this.#headers ??= headersOf(this.fields);
  }

  /**
   * A field's value without making the `Headers` (several are joined with
   * `", "`, as `Headers.get` does).
   *
   * @param lower The field name, lower case.
   * @returns The value, or `null`.
   */
  field(lower: string): string | null {
    return fieldValue(this.fields, lower);
  }

  /**
   * Every value of a field, e.g. the `Set-Cookie` lines.
   *
   * @param lower The field name, lower case.
   * @returns The values in order.
   */
  fieldValues(lower: string): string[] {
    const fields = this.fields;
    const values: string[] = [];
    for (let i = 0; i < fields.length; i += 2) {
      if (equalsName(fields[i], lower)) values.push(fields[i + 1]);
    }
    return values;
  }

  /** The body as a stream (made on first use), or `null` when there is none. */
  get body(): ReadableStream<Uint8Array> | null {
    return this.channel === null ? null : this.channel.stream();
  }

  /**
   * Calls `callback` once the exchange has ended on the wire (the body was
   * received whole, or failed) — at once if it already has. Cheaper than
   * waiting on `trailers`.
   *
   * @param callback What to call.
   */
  whenEnded(callback: () => void): void {
    const ex = this.#ex;
    if (ex.done) callback();
    else ex.onEnd = callback;
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

/**
 * Tells the exchange's `whenEnded` callback that it ended.
 *
 * @param ex The exchange, now done.
 *
 * @example
 * ```ts ignore
 * endExchange(ex);
 * ```
 */
export function endExchange(ex: Exchange): void {
  const onEnd = ex.onEnd;
  if (onEnd === null) return;
  ex.onEnd = null;
  onEnd();
}
