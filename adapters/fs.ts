/**
 * File access for the server: the little a file response needs (`stat` a
 * path, `open` it, read bytes at a position, close it), as an interface so
 * that tests and other hosts can supply their own, and {@linkcode nodeFs},
 * its implementation on `node:fs/promises` (present on Deno, Bun and Node).
 * This is the only server module that imports `node:fs`.
 *
 * Errors are passed through as the runtime raises them: they carry the
 * POSIX `code` (`"ENOENT"`, `"EACCES"`, `"ENOTDIR"`, `"EISDIR"`…).
 *
 * @module
 */

import { open, readdir, realpath, stat } from "node:fs/promises";
import { join, resolve, sep } from "node:path";

/** What {@linkcode FileSystem.stat} tells about a path. */
export interface FileStat {
  /** Size in bytes. */
  readonly size: number;
  /** Last modification time, in milliseconds since the epoch. */
  readonly mtimeMs: number;
  /** `true` for a regular file (after following symbolic links). */
  readonly isFile: boolean;
  /** `true` for a directory (after following symbolic links). */
  readonly isDirectory: boolean;
}

/** One entry of a directory, as {@linkcode FileSystem.readDir} lists it. */
export interface DirEntry {
  /** The file name. */
  readonly name: string;
  /** `true` for a directory (not following a symbolic link). */
  readonly isDirectory: boolean;
  /** `true` for a symbolic link. */
  readonly isSymlink: boolean;
}

/** An open file, read at explicit positions. */
export interface FileHandle {
  /**
   * Reads up to `buffer.length` bytes starting at byte `position` into
   * `buffer`; resolves with how many were read (`0` at the end of the file).
   */
  read(buffer: Uint8Array, position: number): Promise<number>;
  /** Closes the file. Closing twice is harmless. */
  close(): Promise<void>;
}

/**
 * The file access a server needs.
 *
 * @example Count the files a handler opens
 * ```ts
 * import { type FileSystem, nodeFs } from "@sluice/http/adapters/fs";
 * import assert from "node:assert/strict";
 *
 * let opened = 0;
 * const counting: FileSystem = {
 *   stat: (path) => nodeFs.stat(path),
 *   open: (path) => {
 *     opened++;
 *     return nodeFs.open(path);
 *   },
 * };
 * assert.equal(opened, 0);
 * assert.equal(typeof counting.stat, "function");
 * ```
 */
export interface FileSystem {
  /** Describes the file at `path` (following symbolic links); rejects with the runtime's error (`code` `"ENOENT"`…). */
  stat(path: string): Promise<FileStat>;
  /** Opens the file at `path` for reading. */
  open(path: string): Promise<FileHandle>;
  /** The canonical absolute path of `path`, every symbolic link resolved (static files' symlink checks). */
  realpath?(path: string): Promise<string>;
  /** The entries of the directory at `path` (static files' listings). */
  readDir?(path: string): Promise<DirEntry[]>;
}

/** The platform's path separator (`"/"`, or `"\\"` on Windows). */
export const pathSeparator: string = sep;

/** `path` made absolute against the working directory, normalised. */
export function resolvePath(path: string): string {
  return resolve(path);
}

/** `segments` joined onto `base` with the platform's separator, normalised. */
export function joinPath(base: string, ...segments: string[]): string {
  return join(base, ...segments);
}

/**
 * {@linkcode FileSystem} on `node:fs/promises`.
 *
 * @example Read the first bytes of a file
 * ```ts
 * import { nodeFs } from "@sluice/http/adapters/fs";
 * import assert from "node:assert/strict";
 * import { mkdtemp, writeFile } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const path = join(await mkdtemp(join(tmpdir(), "sluice-")), "a.txt");
 * await writeFile(path, "hello");
 * assert.equal((await nodeFs.stat(path)).size, 5);
 * const handle = await nodeFs.open(path);
 * const buffer = new Uint8Array(3);
 * assert.equal(await handle.read(buffer, 1), 3);
 * await handle.close();
 * assert.equal(new TextDecoder().decode(buffer), "ell");
 * ```
 */
export const nodeFs: FileSystem = {
  async stat(path: string): Promise<FileStat> {
    const s = await stat(path);
    return {
      size: s.size,
      mtimeMs: s.mtimeMs,
      isFile: s.isFile(),
      isDirectory: s.isDirectory(),
    };
  },
  realpath: (path: string): Promise<string> => realpath(path),
  async readDir(path: string): Promise<DirEntry[]> {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.map((e) => ({
      name: e.name,
      isDirectory: e.isDirectory(),
      isSymlink: e.isSymbolicLink(),
    }));
  },
  async open(path: string): Promise<FileHandle> {
    const handle = await open(path, "r");
    let closed: Promise<void> | null = null;
    return {
      async read(buffer: Uint8Array, position: number): Promise<number> {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        return bytesRead;
      },
      close(): Promise<void> {
        closed ??= handle.close();
        return closed;
      },
    };
  },
};
