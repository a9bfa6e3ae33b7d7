/**
 * The pieces of `StaticFiles` that touch no file: the request path's
 * decoding and checks, the segment encoding of its URLs, the directory
 * listing page (`showIndex`).
 *
 * @module
 */

import { HttpBadRequest, HttpForbidden, HttpNotFound } from "./_http_client_errors.ts";
import { escapeHtml } from "../util/html.ts";

const ENCODED_SEPARATOR = /%(?:2f|5c)/i;
/** Characters no served name may have: controls (NUL…) and the backslash. */
// deno-lint-ignore no-control-regex
export const FORBIDDEN_CHAR = /[\x00-\x1f\x7f\\]/;

const DOS_DEVICE =
  /^(?:con|prn|aux|nul|conin\$|conout\$|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3]) *(?:\.|$)/i;

/**
 * Whether a decoded path segment would name something else on Windows than
 * it spells, so that checks made on the spelling (dot-files, the symlink
 * policy) could be bypassed: `:` (drives, alternate data streams such as
 * `a.txt::$DATA`), trailing dots or spaces (Win32 drops them: `.env.`),
 * 8.3 short names (`HTACCE~1` for `.htaccess`) and DOS devices (`CON`,
 * `NUL.txt`, `COM1`…).
 */
export function isWindowsAlias(segment: string): boolean {
  return segment.includes(":") || /[. ]$/.test(segment) || /~\d/.test(segment) ||
    DOS_DEVICE.test(segment);
}

/** One entry of a listed directory. */
export interface ListedEntry {
  /** The file name as stored (not encoded). */
  readonly name: string;
  /** Whether it is listed as a directory (its link ends in `/`). */
  readonly isDirectory: boolean;
}

/**
 * One path segment percent-encoded: everything but the unreserved
 * characters and the sub-delimiters that mean nothing special in a path
 * (`$&+,:;=@`), as the router's `url()` does.
 */
export function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%(?:24|26|2B|2C|3A|3B|3D|40)/g, decodeURIComponent);
}

/**
 * The listing page: a title, a parent link unless at the root, then the
 * directories and the files, each group sorted by name. Names are
 * HTML-escaped and hrefs are relative (`./name`, so a `:` in a name is
 * never read as a scheme) and percent-encoded: no name can inject markup
 * or point elsewhere.
 *
 * @param urlPath The decoded URL path of the directory (it ends in `/`).
 * @param entries The entries to list (already filtered).
 * @param atRoot Whether this is the root of the served directory.
 */
export function indexPage(
  urlPath: string,
  entries: readonly ListedEntry[],
  atRoot: boolean,
): string {
  const sorted = [...entries].sort((a, b) =>
    a.isDirectory !== b.isDirectory
      ? (a.isDirectory ? -1 : 1)
      : a.name < b.name
      ? -1
      : a.name > b.name
      ? 1
      : 0
  );
  const title = escapeHtml(`Index of ${urlPath}`);
  const items: string[] = [];
  if (!atRoot) items.push('<li><a href="../">../</a></li>');
  for (const { name, isDirectory } of sorted) {
    const slash = isDirectory ? "/" : "";
    items.push(
      `<li><a href="./${escapeHtml(encodeSegment(name))}${slash}">${
        escapeHtml(name)
      }${slash}</a></li>`,
    );
  }
  return `<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>${title}</title>\n` +
    `</head>\n<body>\n<h1>${title}</h1>\n<ul>\n${items.join("\n")}\n</ul>\n</body>\n</html>\n`;
}

/**
 * The raw path below the prefix as decoded segments: 400 for malformed
 * percent-encoding or bytes that are not UTF-8, 404 for encoded separators,
 * control characters, backslashes, `.`/`..` and empty segments (a trailing
 * empty segment, the directory form, is kept).
 */
export function parsePath(rawPath: string): string[] {
  if (rawPath === "") return [];
  if (ENCODED_SEPARATOR.test(rawPath)) throw new HttpNotFound();
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch (error) {
    throw new HttpBadRequest("Malformed percent-encoding in the path", { cause: error });
  }
  if (FORBIDDEN_CHAR.test(decoded)) throw new HttpNotFound();
  const segments = decoded.split("/");
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    if (s === "." || s === ".." || (s === "" && i < segments.length - 1)) throw new HttpNotFound();
  }
  return segments;
}

/** Bytes as unpadded base64url. */
export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** A file system error as an answer: 403 when not allowed, 404 for any other `code`. */
export function fsError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "EACCES" || code === "EPERM") return new HttpForbidden(undefined, { cause: error });
  if (typeof code === "string") return new HttpNotFound(undefined, { cause: error });
  return error;
}
