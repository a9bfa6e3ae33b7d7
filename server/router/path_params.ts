/**
 * Route params typed from a path string (first version: every route gets
 * string-keyed params).
 *
 * @module
 */

/**
 * The params of a URLPattern pathname, as an object type.
 *
 * @example
 * ```ts
 * import type { PathParams } from "@sluice/http/server";
 *
 * const params: PathParams<"/users/:id"> = { id: "7" };
 * ```
 */
export type PathParams<Path extends string> = Path extends string ? Record<string, string> : never;
