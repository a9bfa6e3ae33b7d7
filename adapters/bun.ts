/**
 * Bun bindings: the transport over `Bun.listen` for the raw engine, and the
 * native backend over `Bun.serve`.
 *
 * @example Serve with the raw engine on Bun.listen
 * ```ts ignore
 * import { rawBackend, text } from "@sluice/http";
 * import { bunTransport } from "@sluice/http/adapters/bun";
 *
 * const server = await rawBackend(bunTransport).listen({ port: 8080 }, () => text("Hi"), {});
 * ```
 *
 * @module
 */

export { BunTransport, bunTransport } from "./_bun_listen.ts";
export { bunNativeBackend } from "./_bun_native.ts";
