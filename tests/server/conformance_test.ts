// Runs the conformance suite against every server backend of this runtime:
// the raw engine over node:net everywhere, the raw engine over the runtime's
// own sockets and the runtime's native server on Deno and Bun. A backend
// whose module is not written yet is reported as a skipped test.

import { test } from "node:test";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { nodeTransport } from "../../adapters/node.ts";
import { rawBackend } from "../../server/engine.ts";
import type { ServerBackend } from "../../server/types.ts";
import { runtime } from "../adapters/_net.ts";
import { type Caps, conformance, FULL_CAPS } from "./_conformance.ts";

/** A backend from a module that may not exist yet, or `null`. */
async function optional(
  file: string,
  make: (module: Record<string, unknown>) => ServerBackend,
): Promise<ServerBackend | null> {
  const url = new URL(`../../adapters/${file}`, import.meta.url);
  if (!existsSync(fileURLToPath(url))) return null;
  return make(await import(url.href));
}

const NATIVE_CAPS: Caps = {
  ...FULL_CAPS,
  takeover: false,
  expectContinueHook: false,
  exactParser: false,
  countsConnections: false,
};

const backends: Array<{ name: string; backend: ServerBackend | null; caps: Caps }> = [
  { name: "rawBackend(nodeTransport)", backend: rawBackend(nodeTransport), caps: FULL_CAPS },
];
if (runtime === "deno") {
  backends.push(
    {
      name: "rawBackend(denoTransport)",
      backend: await optional(
        "_deno_transport.ts",
        (m) => rawBackend(m.denoTransport as Parameters<typeof rawBackend>[0]),
      ),
      caps: FULL_CAPS,
    },
    {
      name: "denoNativeBackend",
      backend: await optional("_deno_native.ts", (m) => m.denoNativeBackend as ServerBackend),
      caps: NATIVE_CAPS,
    },
  );
}
if (runtime === "bun") {
  backends.push(
    {
      name: "rawBackend(bunTransport)",
      backend: await optional(
        "_bun_transport.ts",
        (m) => rawBackend(m.bunTransport as Parameters<typeof rawBackend>[0]),
      ),
      caps: FULL_CAPS,
    },
    {
      name: "bunNativeBackend",
      backend: await optional("_bun_native.ts", (m) => m.bunNativeBackend as ServerBackend),
      caps: NATIVE_CAPS,
    },
  );
}

for (const { name, backend, caps } of backends) {
  if (backend === null) test.skip(`${name}: its module is not written yet`, () => {});
  else conformance(name, backend, caps);
}
