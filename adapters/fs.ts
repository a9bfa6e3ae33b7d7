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

import { open, stat } from "node:fs/promises";

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
