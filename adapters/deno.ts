/**
 * Deno bindings: the transport over `Deno.listen` / `Deno.listenTls` / Unix
 * sockets for the raw engine, and the native backend over `Deno.serve`.
 *
 * @example Serve with the raw engine on Deno.listen
 * ```ts ignore
 * import { rawBackend, text } from "@sluice/http";
 * import { denoTransport } from "@sluice/http/adapters/deno";
 *
 * const server = await rawBackend(denoTransport).listen({ port: 8080 }, () => text("Hi"), {});
 * ```
 *
 * @module
 */

export { DenoTransport, denoTransport } from "./_deno_transport.ts";
export { denoNativeBackend } from "./_deno_native.ts";
