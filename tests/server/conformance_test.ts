// Runs the conformance suite against every server backend of this runtime:
// the raw engine over node:net everywhere, the raw engine over the runtime's
// own sockets and the runtime's native server on Deno and Bun. The caps of
// each native server say where it differs from the raw engine.

import { bunNativeBackend } from "../../adapters/_bun_native.ts";
import { bunTransport } from "../../adapters/_bun_listen.ts";
import { denoNativeBackend } from "../../adapters/_deno_native.ts";
import { denoTransport } from "../../adapters/_deno_transport.ts";
import { nodeTransport } from "../../adapters/node.ts";
import { rawBackend } from "../../server/engine.ts";
import type { ServerBackend } from "../../server/types.ts";
import { runtime } from "../adapters/_net.ts";
import { type Caps, conformance, FULL_CAPS } from "./_conformance.ts";

/** What both native servers do differently (see adapters/_deno_native.ts and _bun_native.ts). */
const NATIVE_CAPS: Caps = {
  ...FULL_CAPS,
  takeover: false,
  exactParser: false,
  lazyContinue: false,
  headersTimeout: false,
  bodyTimeout: false,
  maxRequestsPerConnection: false,
  trailers: false,
  countsConnections: false,
  accessBytes: false,
};

/** `Deno.serve` (hyper): lenient where hyper is, no timeouts, closes only where hyper decides to. */
const DENO_NATIVE_CAPS: Caps = {
  ...NATIVE_CAPS,
  lenientHeads: ["bare LF line endings", "no Host in HTTP/1.1"],
  closesAfterClose: false,
  drainsUnreadBody: false,
  idleTimeout: false,
};

/** `Bun.serve` (uWebSockets). */
const BUN_NATIVE_CAPS: Caps = {
  ...NATIVE_CAPS,
  echoesClose: false,
  http10KeepAlive: false,
  closesOnLargeUnreadBody: false,
  idleTimeout: "coarse",
  logsStreamErrors: false,
  keepsStreamLength: false,
  pipelinesAfterStream: false,
};

const backends: Array<{ name: string; backend: ServerBackend; caps: Caps }> = [
  { name: "rawBackend(nodeTransport)", backend: rawBackend(nodeTransport), caps: FULL_CAPS },
];
if (runtime === "deno") {
  backends.push(
    { name: "rawBackend(denoTransport)", backend: rawBackend(denoTransport), caps: FULL_CAPS },
    { name: "denoNativeBackend", backend: denoNativeBackend, caps: DENO_NATIVE_CAPS },
  );
}
if (runtime === "bun") {
  backends.push(
    { name: "rawBackend(bunTransport)", backend: rawBackend(bunTransport), caps: FULL_CAPS },
    { name: "bunNativeBackend", backend: bunNativeBackend, caps: BUN_NATIVE_CAPS },
  );
}

for (const { name, backend, caps } of backends) conformance(name, backend, caps);
