/**
 * Building a route's path from its parsed pattern and param values, for
 * `Router.url`. Internal.
 *
 * @module
 */

import type { Part } from "./_compile.ts";
import type { UrlParams } from "./router.ts";

/** Percent-encodes a param value for a path, keeping the sub-delims a path allows. */
function encodeValue(value: string): string {
  return encodeURIComponent(value).replace(/%(?:24|26|2B|2C|3A|3B|3D|40)/g, decodeURIComponent);
}

/** The path of a route for `params`: see {@linkcode Router.url}. */
export function buildPath(pattern: string, parts: readonly Part[], params: UrlParams): string {
  const fail = (reason: string): never => {
    throw new TypeError(`Cannot build URL for "${pattern}": ${reason}`);
  };
  const used = new Set<string>();
  let out = "";
  for (const part of parts) {
    if (part.type === "fixed") {
      if (part.modifier === "" || part.modifier === "+") out += part.value;
      continue;
    }
    const raw = Object.hasOwn(params, part.name) ? params[part.name] : undefined;
    if (raw !== undefined) used.add(part.name);
    const repeated = part.modifier === "+" || part.modifier === "*";
    if (Array.isArray(raw) && !repeated) fail(`param "${part.name}" takes one value`);
    const values = raw === undefined ? [] : Array.isArray(raw) ? raw.map(String) : [String(raw)];
    if (values.length === 0) {
      if (part.modifier === "?" || part.modifier === "*") continue;
      fail(`param "${part.name}" is required`);
    }
    const test = part.type === "regexp" ? new RegExp(`^(?:${part.value})$`, "v") : null;
    const encoded = values.map((value) => {
      let text: string;
      try {
        text = part.type === "full"
          ? value.split("/").map(encodeValue).join("/")
          : encodeValue(value);
      } catch {
        return fail(`param "${part.name}" is not well-formed Unicode`);
      }
      if (part.type === "segment" && text === "") fail(`param "${part.name}" is empty`);
      if (test && !test.test(text)) {
        fail(`param "${part.name}" ("${value}") does not match (${part.value})`);
      }
      return text;
    });
    out += part.prefix + encoded.join(part.suffix + part.prefix) + part.suffix;
  }
  for (const key of Object.keys(params)) {
    if (!used.has(key) && params[key] !== undefined && !parts.some((p) => p.name === key)) {
      fail(`the pattern has no param "${key}"`);
    }
  }
  if (out.split("/").some((segment) => segment === "." || segment === "..")) {
    fail(`the params make a "." or ".." segment`);
  }
  return out;
}
