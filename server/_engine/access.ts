/**
 * The access log entry of a finished exchange.
 *
 * @module
 */

import type { Address } from "../../adapters/transport.ts";
import type { AccessLogEntry } from "../types.ts";
import type { Exchange } from "./exchange.ts";

/** Formats an address for a log line. */
export function addressText(address: Address): string {
  if (address.transport === "unix") return address.path === "" ? "unix" : `unix:${address.path}`;
  return address.hostname;
}

/** Builds the entry; response headers are read from the written field text. */
export function accessEntry(exchange: Exchange): AccessLogEntry {
  const request = exchange.request;
  const fields = exchange.responseFields;
  return {
    remote: addressText(request.remoteAddress),
    startTime: exchange.startTime,
    method: exchange.head.method,
    target: exchange.head.target,
    httpVersion: request.httpVersion,
    status: exchange.status,
    bytesSent: exchange.bytesSent,
    durationMs: Date.now() - exchange.startTime,
    requestHeader: (name) => request.header(name),
    responseHeader: (name) => {
      if (fields === null) return null;
      const lower = name.toLowerCase();
      let found: string | null = null;
      for (const line of fields.text.split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon > 0 && line.slice(0, colon).toLowerCase() === lower) {
          const value = line.slice(colon + 1).trim();
          found = found === null ? value : `${found}, ${value}`;
        }
      }
      return found;
    },
  };
}
