/**
 * {@linkcode StaticFiles}: a directory served under a URL prefix (aiohttp's
 * `router.add_static`), every file through {@linkcode fileResponse} (ranges,
 * validators, 304, precompressed siblings), with versioned URLs and an
 * optional directory listing, and no way out of the directory.
 *
 * @module
 */

import {
  type DirEntry,
  type FileStat,
  type FileSystem,
  joinPath as join,
  nodeFs,
  pathSeparator as sep,
  resolvePath as resolve,
} from "../adapters/fs.ts";
import { HttpForbidden, HttpNotFound } from "./_http_client_errors.ts";
import { HttpMovedPermanently } from "./_http_redirects.ts";
import {
  base64url,
  encodeSegment,
  FORBIDDEN_CHAR,
  fsError,
  indexPage,
  isWindowsAlias,
  type ListedEntry,
  parsePath,
} from "./_static_index.ts";
import { type FileRequest, fileResponse, type FileResponseOptions } from "./file_response.ts";

/**
 * The file access {@linkcode StaticFiles} uses: a {@linkcode FileSystem};
 * where it has no `realpath` (symlink checks) or `readDir` (listings),
 * `nodeFs`'s are used.
 */
export type StaticFileSystem = FileSystem;

/** Options of {@linkcode StaticFiles}. */
export interface StaticFilesOptions extends Omit<FileResponseOptions, "fs" | "contentType"> {
  /** Answer a directory URL (`/static/docs/`) with a listing page. Default `false` (403). */
  showIndex?: boolean;
  /**
   * A file name served for a directory URL when the directory has it, e.g.
   * `"index.html"` (before any listing). Default `null`: none.
   */
  index?: string | null;
  /**
   * Symbolic links: `false` (default) answers 404 for any path that passes
   * through one; `"within"` follows those whose target is inside the
   * directory; `true` follows them all, wherever they point (aiohttp's
   * `follow_symlinks`: links are put there by whoever runs the server).
   */
  followSymlinks?: boolean | "within";
  /** Serve (and list) names that start with `.`. Default `false`: 404, and not listed. */
  dotFiles?: boolean;
  /** The default of `appendVersion` in {@linkcode StaticFiles.url}. Default `false`. */
  appendVersion?: boolean;
  /** The file access to use (default {@linkcode nodeFs}). */
  fs?: StaticFileSystem;
}

/** What {@linkcode StaticFiles.handler} reads of a request (a `ServerRequest` has it all). */
export interface StaticRequest extends FileRequest {
  /** The path, not decoded. */
  readonly pathname: string;
  /** The query with its `?`, or `""`. */
  readonly search: string;
}

/** Options of {@linkcode StaticFiles.url}. */
export interface StaticUrlOptions {
  /** Append `?v=<content hash>` (the constructor's `appendVersion` when not given). */
  appendVersion?: boolean;
}

const PREFIX = /^(?:\/[A-Za-z0-9\-._~!$&'@=;,]+)*\/?$/;
const WINDOWS = sep === "\\";
const HASH_CHARS = 16;

/**
 * Serves the files under a directory at `prefix + "/" + path`, like
 * aiohttp's static routes. Register {@linkcode StaticFiles.handler} as
 * `GET prefix + "/*"` (`HEAD` comes with it).
 *
 * What is served, and what is refused:
 * - A file: through {@linkcode fileResponse}, so `Range`, `ETag`,
 *   `Last-Modified`, conditional requests (304/412) and, with
 *   `precompressed`, `.br`/`.gz` siblings all work; a name with a trailing
 *   slash is not a file (404).
 * - The path is taken raw from `pathname` and percent-decoded once here.
 *   Malformed escapes or bytes that are not UTF-8 (overlong forms such as
 *   `%c0%ae` included) answer 400. Every other refusal is 404, revealing
 *   nothing: `.` and `..` segments (plain or encoded), encoded separators
 *   `%2f` and `%5c`, backslashes, control characters (`%00`), empty
 *   segments (`//etc/passwd`); on Windows, names that alias another (`:`
 *   for drives and streams, trailing dots or spaces, 8.3 short names such
 *   as `HTACCE~1`, devices such as `NUL`); names
 *   starting with `.` unless `dotFiles`, and symbolic links as
 *   `followSymlinks` says. Unreadable files answer 403.
 * - A directory: with a trailing slash, the `index` file if set and
 *   present, else the listing if `showIndex`, else 403 (as aiohttp);
 *   without one, a 301 to the slash form when there is something to show
 *   (relative links need it), else 403.
 *
 * The directory is resolved when constructed and its canonical path looked
 * up on first use; one that does not exist answers 404 to everything.
 *
 * @example Serve a directory, build a versioned URL
 * ```ts
 * import { Application, StaticFiles } from "@sluice/http/server";
 * import assert from "node:assert/strict";
 * import { mkdtemp, writeFile } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const dir = await mkdtemp(join(tmpdir(), "sluice-"));
 * await writeFile(join(dir, "app.css"), "body { margin: 0 }");
 * const files = new StaticFiles("/static", dir);
 * const app = new Application();
 * app.router.get("/static/*", files.handler);
 *
 * const res = await app.fetch(new Request("http://localhost/static/app.css"));
 * assert.equal(res.headers.get("content-type"), "text/css; charset=utf-8");
 * assert.equal(await res.text(), "body { margin: 0 }");
 * assert.match(await files.url("app.css", { appendVersion: true }), /^\/static\/app\.css\?v=[\w-]{16}$/);
 * ```
 */
export class StaticFiles {
  /** The URL prefix, without a trailing slash (`""` for the root). */
  readonly prefix: string;
  /** The directory served, as an absolute path. */
  readonly directory: string;
  readonly #fs: FileSystem;
  readonly #realpath: (path: string) => Promise<string>;
  readonly #readDir: (path: string) => Promise<DirEntry[]>;
  readonly #fileOptions: FileResponseOptions;
  readonly #showIndex: boolean;
  readonly #index: string | null;
  readonly #follow: boolean | "within";
  readonly #dotFiles: boolean;
  readonly #appendVersion: boolean;
  #root: Promise<string> | null = null;
  readonly #versions = new Map<string, { mtimeMs: number; size: number; hash: string }>();

  /**
   * Creates the static route's handler.
   *
   * @param prefix The URL prefix, e.g. `"/static"` (`"/"` for the root):
   *   literal segments of unreserved characters and `!$&'@=;,`.
   * @param directory The directory to serve.
   * @param options Listing, index file, symlinks, dot-files, versioning,
   *   file access and the {@linkcode fileResponse} options.
   */
  constructor(prefix: string, directory: string, options: StaticFilesOptions = {}) {
    if (typeof prefix !== "string" || !prefix.startsWith("/") || !PREFIX.test(prefix)) {
      throw new TypeError(
        `Cannot serve static files at prefix ${JSON.stringify(prefix)}: ` +
          `it must be a literal path like "/static"`,
      );
    }
    if (prefix.split("/").some((s) => s === "." || s === "..")) {
      throw new TypeError(`Cannot serve static files at prefix "${prefix}": it has "." or ".."`);
    }
    if (typeof directory !== "string" || directory === "") {
      throw new TypeError("Cannot serve static files: the directory is not a non-empty string");
    }
    const index = options.index ?? null;
    if (index !== null && (index === "" || index.includes("/") || FORBIDDEN_CHAR.test(index))) {
      throw new TypeError(`Cannot use index ${JSON.stringify(index)}: not a plain file name`);
    }
    this.prefix = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
    this.directory = resolve(directory);
    const {
      showIndex = false,
      followSymlinks = false,
      dotFiles = false,
      appendVersion = false,
      fs = nodeFs as StaticFileSystem,
      index: _index,
      ...fileOptions
    } = options;
    if (followSymlinks !== true && followSymlinks !== false && followSymlinks !== "within") {
      throw new TypeError(
        `Cannot use followSymlinks ${JSON.stringify(followSymlinks)}: not true, false or "within"`,
      );
    }
    this.#fs = fs;
    this.#realpath = fs.realpath?.bind(fs) ?? nodeFs.realpath!;
    this.#readDir = fs.readDir?.bind(fs) ?? nodeFs.readDir!;
    this.#showIndex = showIndex;
    this.#index = index;
    this.#follow = followSymlinks;
    this.#dotFiles = dotFiles;
    this.#appendVersion = appendVersion;
    this.#fileOptions = { ...fileOptions, fs: this.#guarded() };
  }

  /**
   * Answers a request whose `pathname` starts with `prefix + "/"` (404
   * otherwise). A bound function: pass it to the router as it is.
   *
   * @param request The request (a `ServerRequest`).
   * @returns The file, the listing or a redirect; rejects with an `HttpError` (400, 403, 404).
   */
  readonly handler = (request: StaticRequest): Promise<Response> => {
    const base = this.prefix + "/";
    if (!request.pathname.startsWith(base)) return Promise.reject(new HttpNotFound());
    return this.serve(request, request.pathname.slice(base.length));
  };

  /**
   * Answers `request` for `rawPath`, the part of the path after the prefix
   * and its slash, not decoded (for hosts that strip a mount prefix
   * themselves).
   *
   * @param request The request.
   * @param rawPath The path below the prefix, as sent (e.g. `"css/a%20b.css"`).
   * @returns The file, the listing or a redirect; rejects with an `HttpError` (400, 403, 404).
   */
  async serve(request: StaticRequest, rawPath: string): Promise<Response> {
    const segments = parsePath(rawPath);
    const isDirUrl = segments.length === 0 || segments[segments.length - 1] === "";
    if (isDirUrl && segments.length > 0) segments.pop();
    this.#check(segments);
    const path = join(this.directory, ...segments);
    const stat = await this.#stat(path);
    if (!stat.isDirectory) {
      if (isDirUrl) throw new HttpNotFound();
      return await fileResponse(request, path, this.#fileOptions);
    }
    if (!this.#showIndex && this.#index === null) throw new HttpForbidden();
    if (!isDirUrl) {
      // Relative ("./docs/"), so that it holds wherever the application is mounted.
      const target = `./${encodeSegment(segments[segments.length - 1])}/`;
      throw new HttpMovedPermanently(target + request.search);
    }
    if (this.#index !== null) {
      const indexPath = join(path, this.#index);
      const found = await this.#stat(indexPath).catch(() => null);
      if (found !== null && found.isFile) {
        return await fileResponse(request, indexPath, this.#fileOptions);
      }
    }
    if (!this.#showIndex) throw new HttpForbidden();
    return await this.#listing(request, path, segments);
  }

  /**
   * The URL of `filename` (a path below the directory, `/`-separated, not
   * encoded): `prefix/` + its percent-encoded segments, and with
   * `appendVersion`, `?v=` and a short hash of the content (SHA-256,
   * base64url, 16 characters; cached per file until its modification time
   * or size changes), so that caches can keep it for good. A file that
   * cannot be served gets no version. Returns a string, or a promise of one
   * when a version is wanted: `await` it either way.
   *
   * @param filename The file, e.g. `"css/app.css"`.
   * @param options Whether to append the version.
   * @returns The URL path (with the version, a promise of it).
   */
  url(filename: string, options: { appendVersion: true }): Promise<string>;
  /**
   * The URL of `filename`; a promise of it when versioned (see above).
   *
   * @param filename The file, e.g. `"css/app.css"`.
   * @param options Whether to append the version.
   * @returns The URL path, or a promise of it.
   */
  url(filename: string, options?: StaticUrlOptions): Promise<string> | string;
  url(filename: string, options: StaticUrlOptions = {}): Promise<string> | string {
    if (typeof filename !== "string") {
      throw new TypeError("Cannot build a static URL: the file name is not a string");
    }
    const segments = filename.replace(/^\/+/, "").split("/");
    if (segments.some((s, i) => s === "." || s === ".." || (s === "" && i < segments.length - 1))) {
      throw new TypeError(
        `Cannot build a static URL for "${filename}": it has "." or ".." or "//"`,
      );
    }
    const url = `${this.prefix}/${segments.map(encodeSegment).join("/")}`;
    if (!(options.appendVersion ?? this.#appendVersion)) return url;
    return this.#version(segments).then((hash) => hash === null ? url : `${url}?v=${hash}`);
  }

  /** Refuses what may not be served: dot-files, and on Windows names that alias others. */
  #check(segments: string[]): void {
    for (const segment of segments) {
      if (segment.startsWith(".") && !this.#dotFiles) throw new HttpNotFound();
      if (WINDOWS && isWindowsAlias(segment)) throw new HttpNotFound();
    }
  }

  /** The directory's canonical path, looked up once (again after a failure). */
  #realRoot(): Promise<string> {
    const root = this.#root ??= this.#realpath(this.directory);
    root.catch(() => {
      if (this.#root === root) this.#root = null;
    });
    return root;
  }

  /**
   * Whether `path` (below the directory) may be opened under the symlink
   * policy: with `false`, its canonical path must be the one it spells;
   * with `"within"`, inside the directory.
   */
  async #allowed(path: string): Promise<boolean> {
    if (this.#follow === true) return true;
    const [root, real] = await Promise.all([this.#realRoot(), this.#realpath(path)]);
    if (this.#follow === "within") {
      return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
    }
    const below = path.slice(this.directory.length);
    return real === root + below;
  }

  /** The file access given to fileResponse: paths that break the symlink policy do not exist. */
  #guarded(): FileSystem {
    const fs = (): FileSystem => this.#fs;
    const allowed = (path: string): Promise<boolean> => this.#allowed(path);
    return {
      async stat(path: string): Promise<FileStat> {
        if (!(await allowed(path))) throw notFoundError(path);
        return await fs().stat(path);
      },
      open: (path: string) => fs().open(path),
    };
  }

  /** Stats a path below the directory, policy applied, as HTTP errors. */
  async #stat(path: string): Promise<FileStat> {
    try {
      return await this.#fileOptions.fs!.stat(path);
    } catch (error) {
      throw fsError(error);
    }
  }

  async #listing(request: StaticRequest, path: string, segments: string[]): Promise<Response> {
    let entries: DirEntry[];
    try {
      entries = await this.#readDir(path);
    } catch (error) {
      throw fsError(error);
    }
    const listed: ListedEntry[] = [];
    for (const entry of entries) {
      if (entry.name.startsWith(".") && !this.#dotFiles) continue;
      if (FORBIDDEN_CHAR.test(entry.name) || (WINDOWS && isWindowsAlias(entry.name))) continue;
      if (!entry.isSymlink) {
        listed.push({ name: entry.name, isDirectory: entry.isDirectory });
        continue;
      }
      if (this.#follow === false) continue;
      const target = await this.#stat(join(path, entry.name)).catch(() => null);
      if (target !== null) listed.push({ name: entry.name, isDirectory: target.isDirectory });
    }
    const urlPath = `${this.prefix}/${segments.map((s) => s + "/").join("")}`;
    const body = new TextEncoder().encode(indexPage(urlPath, listed, segments.length === 0));
    const headers = {
      "content-type": "text/html; charset=utf-8",
      "content-length": String(body.length),
    };
    if (request.method === "HEAD") {
      return new Response(new ReadableStream({ start: (c) => c.close() }), { headers });
    }
    return new Response(body, { headers });
  }

  /** The content hash of the file at `segments`, or `null` when it cannot be served. */
  async #version(segments: string[]): Promise<string | null> {
    try {
      this.#check(segments);
    } catch {
      return null;
    }
    const path = join(this.directory, ...segments);
    const stat = await this.#stat(path).catch(() => null);
    if (stat === null || !stat.isFile) return null;
    const cached = this.#versions.get(path);
    if (cached !== undefined && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) {
      return cached.hash;
    }
    const bytes = new Uint8Array(stat.size);
    const handle = await this.#fs.open(path);
    try {
      let filled = 0;
      while (filled < bytes.length) {
        const n = await handle.read(bytes.subarray(filled), filled);
        if (n === 0) break;
        filled += n;
      }
    } finally {
      await handle.close();
    }
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const hash = base64url(digest).slice(0, HASH_CHARS);
    this.#versions.set(path, { mtimeMs: stat.mtimeMs, size: stat.size, hash });
    return hash;
  }
}

function notFoundError(path: string): Error {
  return Object.assign(new Error(`Cannot serve "${path}": a symbolic link is not allowed here`), {
    code: "ENOENT",
  });
}
