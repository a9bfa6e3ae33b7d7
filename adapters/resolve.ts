/**
 * Resolving host names for client connections, through `node:dns`'s
 * `lookup` (the OS resolver, `/etc/hosts` included), which Node, Deno and
 * Bun all provide. IP literals come back as they are, without a lookup.
 * Failures reject with a {@linkcode ConnectError} of code
 * `SLUICE_ERR_CONNECT_DNS` (or `SLUICE_ERR_CONNECT_ABORTED` when the signal
 * fired).
 *
 * @module
 */

import { lookup } from "node:dns";
import { isIP } from "node:net";
import { ConnectError } from "./connect.ts";

/**
 * One address of a resolved host.
 *
 * @example
 * ```ts
 * import type { ResolvedAddress } from "@sluice/http/adapters/resolve";
 *
 * const loopback: ResolvedAddress = { address: "127.0.0.1", family: 4 };
 * ```
 */
export interface ResolvedAddress {
  /** The IP address, without brackets. */
  address: string;
  /** 4 or 6. */
  family: 4 | 6;
}

/**
 * Options of {@linkcode resolveHost}.
 *
 * @example
 * ```ts
 * import type { ResolveOptions } from "@sluice/http/adapters/resolve";
 *
 * const ipv4Only: ResolveOptions = { family: 4 };
 * ```
 */
export interface ResolveOptions {
  /** Only addresses of this family (default `0`: both). */
  family?: 0 | 4 | 6;
  /** Stops waiting for the answer (the lookup itself cannot be cancelled). */
  signal?: AbortSignal;
}

/**
 * Resolves a host name to its addresses in the resolver's order (IPv6 first
 * if the system prefers it). An IP literal (brackets allowed) resolves to
 * itself.
 *
 * @param hostname The host name or IP address.
 * @param options The address family wanted and an abort signal.
 * @returns At least one address.
 * @throws {ConnectError} `SLUICE_ERR_CONNECT_DNS` when the name does not
 * resolve, `SLUICE_ERR_CONNECT_ABORTED` when the signal fired.
 * @throws {TypeError} when `hostname` is empty.
 *
 * @example
 * ```ts
 * import { resolveHost } from "@sluice/http/adapters/resolve";
 * import assert from "node:assert/strict";
 *
 * const addresses = await resolveHost("127.0.0.1");
 * assert.deepEqual(addresses, [{ address: "127.0.0.1", family: 4 }]);
 * ```
 */
export function resolveHost(
  hostname: string,
  options: ResolveOptions = {},
): Promise<ResolvedAddress[]> {
  if (typeof hostname !== "string" || hostname === "") {
    return Promise.reject(
      new TypeError("Cannot resolve host: hostname must be a non-empty string"),
    );
  }
  const host = hostname.startsWith("[") && hostname.endsWith("]")
    ? hostname.slice(1, -1)
    : hostname;
  const literal = isIP(host);
  if (literal !== 0) return Promise.resolve([{ address: host, family: literal as 4 | 6 }]);
  const { signal } = options;
  const family = options.family ?? 0;
  if (signal?.aborted) return Promise.reject(aborted(host, signal.reason));
  return new Promise<ResolvedAddress[]>((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      reject(aborted(host, signal!.reason));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    lookup(host, { all: true, verbatim: true, family }, (error, found) => {
      signal?.removeEventListener("abort", onAbort);
      if (settled) return;
      settled = true;
      const addresses = error === null
        ? (found ?? []).filter((a) => a.family === 4 || a.family === 6) as ResolvedAddress[]
        : [];
      if (addresses.length > 0) {
        resolve(addresses.map((a) => ({ address: a.address, family: a.family })));
        return;
      }
      reject(notFound(host, error));
    });
  });
}

function notFound(host: string, error: (Error & { code?: unknown }) | null): ConnectError {
  const syscallCode = typeof error?.code === "string" ? error.code : null;
  const reason = error === null
    ? "no address"
    : syscallCode !== null && !error.message.includes(syscallCode)
    ? `${error.message} (${syscallCode})`
    : error.message;
  return new ConnectError(
    "SLUICE_ERR_CONNECT_DNS",
    `Cannot connect to ${host}: the name ${host} was not found (${reason})`,
    { address: host, syscallCode, cause: error ?? undefined },
  );
}

function aborted(host: string, reason: unknown): ConnectError {
  return new ConnectError(
    "SLUICE_ERR_CONNECT_ABORTED",
    `Cannot connect to ${host}: aborted by the signal`,
    { address: host, cause: reason },
  );
}
