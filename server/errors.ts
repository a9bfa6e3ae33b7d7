/**
 * Errors a server raises while reading a request body.
 *
 * @module
 */

import { SluiceError } from "../util/errors.ts";

/** A stable code of {@linkcode BodyError}. */
export type BodyErrorCode =
  | "SLUICE_ERR_BODY_TOO_LARGE"
  | "SLUICE_ERR_BODY_TIMEOUT"
  | "SLUICE_ERR_BODY_ABORTED";

const STATUS: Record<BodyErrorCode, number> = {
  SLUICE_ERR_BODY_TOO_LARGE: 413,
  SLUICE_ERR_BODY_TIMEOUT: 408,
  SLUICE_ERR_BODY_ABORTED: 400,
};

/**
 * Reading a request body failed: it grew past the server's `maxBodySize`
 * (`SLUICE_ERR_BODY_TOO_LARGE`, 413), no byte came for `bodyTimeout`
 * (`SLUICE_ERR_BODY_TIMEOUT`, 408), or the client went away or sent a
 * malformed body (`SLUICE_ERR_BODY_ABORTED`, 400). A handler that lets it
 * escape gets `status` as the answer (when the client can still hear it).
 *
 * @example Answer a too-large upload yourself
 * ```ts
 * import { BodyError } from "@sluice/http";
 * import type { IncomingRequest } from "@sluice/http";
 *
 * async function upload(req: IncomingRequest): Promise<Response> {
 *   try {
 *     const bytes = await req.bytes();
 *     return new Response(`got ${bytes.length} bytes`);
 *   } catch (err) {
 *     if (err instanceof BodyError && err.code === "SLUICE_ERR_BODY_TOO_LARGE") {
 *       return new Response("Upload too large", { status: 413 });
 *     }
 *     throw err;
 *   }
 * }
 * ```
 */
export class BodyError extends SluiceError {
  /** Stable machine-readable code, one of {@linkcode BodyErrorCode}. */
  override readonly code: BodyErrorCode;
  /** The HTTP status this failure answers with: 413, 408 or 400. */
  readonly status: number;

  /**
   * Creates a body error.
   *
   * @param code One of the stable body error codes.
   * @param message "Cannot read request body: reason".
   * @param options The underlying error, if any.
   */
  constructor(code: BodyErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.code = code;
    this.status = STATUS[code];
  }
}
