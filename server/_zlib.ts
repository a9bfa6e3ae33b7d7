/**
 * The one module of the server layer that touches `node:zlib` (present on
 * Node, Deno and Bun): encoder and decoder streams for gzip, deflate, br and,
 * where the runtime has it, zstd, exposed as web `ReadableStream`s.
 *
 * @module
 */

import * as zlib from "node:zlib";
import { ZstdFrames } from "./_zstd_frames.ts";

/** A content coding this module can encode and decode. */
export type ZlibCoding = "gzip" | "deflate" | "br" | "zstd";

/** The subset of a `node:zlib` stream this module drives. */
interface ZStream {
  on(event: "data", listener: (chunk: Uint8Array) => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
  on(event: "end", listener: () => void): unknown;
  write(chunk: Uint8Array, callback?: (err?: Error | null) => void): boolean;
  flush(kind: number, callback: () => void): void;
  flush(callback: () => void): void;
  end(): unknown;
  destroy(err?: Error): unknown;
}

type ZlibModule = typeof zlib & {
  createZstdCompress?: (options?: unknown) => ZStream;
  createZstdDecompress?: (options?: unknown) => ZStream;
};

const z = zlib as ZlibModule;

/** Whether this runtime's `node:zlib` has zstd (Node 22.15+/23.8+, Bun, Deno 2.x; not Node 20). */
export const HAS_ZSTD: boolean = typeof z.createZstdCompress === "function" &&
  typeof z.createZstdDecompress === "function";

/** Makes a `node:zlib` encoder for `coding` at `level` (already validated). */
export function createEncoder(coding: ZlibCoding, level: number): ZStream {
  switch (coding) {
    case "gzip":
      return zlib.createGzip({ level }) as unknown as ZStream;
    case "deflate":
      return zlib.createDeflate({ level }) as unknown as ZStream;
    case "br":
      return zlib.createBrotliCompress({
        params: { [zlib.constants.BROTLI_PARAM_QUALITY]: level },
      }) as unknown as ZStream;
    case "zstd":
      // 100 is ZSTD_c_compressionLevel.
      return z.createZstdCompress!({ params: { 100: level } });
  }
}

/** Makes a `node:zlib` decoder; `raw` picks raw deflate (no zlib header). */
export function createDecoder(coding: ZlibCoding, raw = false): ZStream {
  switch (coding) {
    case "gzip":
      return zlib.createGunzip() as unknown as ZStream;
    case "deflate":
      return (raw ? zlib.createInflateRaw() : zlib.createInflate()) as unknown as ZStream;
    case "br":
      return zlib.createBrotliDecompress() as unknown as ZStream;
    case "zstd":
      return z.createZstdDecompress!();
  }
}

/**
 * Whether `first` starts a zlib-wrapped deflate stream (RFC 1950 header:
 * method 8 and a header checksum that divides by 31). Some clients send raw
 * deflate as `deflate`; this tells the two apart.
 */
export function looksZlibWrapped(first: Uint8Array): boolean {
  if (first.length < 2) return true;
  return (first[0] & 0x0f) === 8 && ((first[0] << 8) | first[1]) % 31 === 0;
}

/** Hooks of {@linkcode pipeZlib}. */
export interface PipeHooks {
  /** Makes the zlib stream, given the first input chunk (to sniff formats). */
  create(first: Uint8Array): ZStream;
  /** Flush after every input chunk (encoders: send what a chunk produced at once). */
  flushEach: ((s: ZStream, done: () => void) => void) | null;
  /** Sees each input chunk; returns an error to stop. */
  onInput?(chunk: Uint8Array): Error | null;
  /** Called when the input ends; returns an error (given to `mapError`) for an input cut short. */
  onEnd?(): Error | null;
  /** Sees each output chunk's size; returns an error to stop. */
  onOutput?(size: number): Error | null;
  /** Turns a zlib error into the error the stream fails with. */
  mapError(err: Error): Error;
  /**
   * An input of no bytes at all gives an output of none (decoders: an empty
   * body is no content, not a cut stream); else the zlib stream is run on it
   * (encoders: an empty body still makes a valid stream).
   */
  emptyToEmpty?: boolean;
}

/** Flushes a gzip/deflate encoder without resetting its dictionary. */
export function syncFlush(s: ZStream, done: () => void): void {
  s.flush(zlib.constants.Z_SYNC_FLUSH, done);
}

/** Flushes a br/zstd encoder with its default flush operation. */
export function defaultFlush(s: ZStream, done: () => void): void {
  s.flush(done);
}

/**
 * Streams `source` through a zlib stream, pulled by the consumer: one source
 * chunk is read per pull, written, and (for encoders) flushed, so output
 * follows input chunk by chunk. Cancelling the result destroys the zlib
 * stream and cancels `source`.
 */
export function pipeZlib(
  source: ReadableStream<Uint8Array>,
  hooks: PipeHooks,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let zs: ZStream | null = null;
  let failed = false;
  let closed = false;
  let produced = 0;
  let pending: ((err: Error) => void) | null = null;
  let ctrl!: ReadableStreamDefaultController<Uint8Array>;
  let ended: Promise<void> | null = null;

  const fail = (err: Error): void => {
    if (failed) return;
    failed = true;
    zs?.destroy();
    reader.cancel(err).catch(() => {});
    try {
      ctrl.error(err);
    } catch {
      // already closed or errored
    }
    const reject = pending;
    pending = null;
    reject?.(err);
  };

  const start = (first: Uint8Array): ZStream => {
    const s = hooks.create(first);
    ended = new Promise<void>((resolve, reject) => {
      s.on("data", (chunk: Uint8Array) => {
        if (failed) return;
        const err = hooks.onOutput?.(chunk.byteLength) ?? null;
        if (err !== null) return fail(err);
        produced++;
        ctrl.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      });
      s.on("error", (err: Error) => {
        const mapped = hooks.mapError(err);
        fail(mapped);
        reject(mapped);
      });
      s.on("end", () => resolve());
    });
    ended.catch(() => {});
    return s;
  };

  const wait = (run: (done: () => void) => void): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      pending = reject;
      run(() => {
        pending = null;
        resolve();
      });
    });

  /** Reads one source chunk and feeds it in (or ends the zlib stream). */
  const step = async (): Promise<void> => {
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await reader.read();
    } catch (err) {
      zs?.destroy();
      failed = true;
      throw err;
    }
    if (failed) return;
    if (result.done) {
      const cut = hooks.onEnd?.() ?? null;
      if (cut !== null) return fail(hooks.mapError(cut));
      if (zs === null && hooks.emptyToEmpty === true) {
        closed = true;
        ctrl.close();
        return;
      }
      zs ??= start(new Uint8Array(0));
      zs.end();
      await ended;
      if (!failed) {
        closed = true;
        ctrl.close();
      }
      return;
    }
    const chunk = result.value;
    if (chunk.byteLength === 0) return;
    const err = hooks.onInput?.(chunk) ?? null;
    if (err !== null) return fail(err);
    const s = zs ??= start(chunk);
    const flushEach = hooks.flushEach;
    await wait((done) => {
      if (flushEach === null) s.write(chunk, () => done());
      else {
        s.write(chunk);
        flushEach(s, done);
      }
    });
  };

  return new ReadableStream<Uint8Array>({
    start(controller) {
      ctrl = controller;
    },
    async pull() {
      // A pull must enqueue (or end) before it returns: the stream calls it
      // again only when it is asked for more while a pull is running.
      const before = produced;
      while (produced === before && !failed && !closed) await step();
    },
    cancel(reason) {
      failed = true;
      zs?.destroy();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** Decoded bytes allowed before the ratio cap applies. */
export const RATIO_GRACE: number = 1024 * 1024;

/** Caps and errors of {@linkcode decodeChain}. */
export interface DecodeChainOptions {
  /** Most decoded bytes. */
  maxSize: number;
  /** Most decoded bytes per encoded byte, checked past {@linkcode RATIO_GRACE}. */
  maxRatio: number;
  /** The error for a cap passed; `detail` says which ("more than N bytes once decoded", …). */
  tooLarge(detail: string): Error;
  /** The error for data a decoder refused. */
  corrupt(coding: ZlibCoding, err: Error): Error;
  /** Re-chunks each decoder's input (e.g. into bounded slices); default as is. */
  input?(stream: ReadableStream<Uint8Array>, coding: ZlibCoding): ReadableStream<Uint8Array>;
}

/**
 * Undoes content codings, in the order given (the last applied first), as a
 * pull-driven stream with size and ratio caps against zip bombs. Shared by
 * the server's request decompression and the client's response decoding.
 *
 * @param body The encoded body.
 * @param codings The codings to undo, in undo order.
 * @param options Caps and the errors to raise.
 * @returns The decoded body.
 */
export function decodeChain(
  body: ReadableStream<Uint8Array>,
  codings: readonly ZlibCoding[],
  options: DecodeChainOptions,
): ReadableStream<Uint8Array> {
  const { maxSize, maxRatio } = options;
  let encoded = 0;
  let stream = body;
  codings.forEach((coding, i) => {
    const first = i === 0;
    // Every layer's output is capped, not the last one's alone: an inner
    // layer may expand to gigabytes that the next one turns into nothing.
    let decoded = 0;
    // Bun's and Deno's zstd decoders end quietly on a cut stream: its frames tell.
    const frames = coding === "zstd" ? new ZstdFrames() : null;
    stream = pipeZlib(options.input ? options.input(stream, coding) : stream, {
      create: (chunk) => createDecoder(coding, coding === "deflate" && !looksZlibWrapped(chunk)),
      flushEach: null,
      onInput: (chunk) => {
        if (first) encoded += chunk.byteLength;
        frames?.push(chunk);
        return null;
      },
      onEnd: () => frames?.truncated() ? new Error("unexpected end of file") : null,
      onOutput: (size) => {
        decoded += size;
        if (decoded > maxSize) return options.tooLarge(`more than ${maxSize} bytes once decoded`);
        if (decoded > RATIO_GRACE && decoded > encoded * maxRatio) {
          return options.tooLarge(`it decodes to over ${maxRatio}× its size (a zip bomb?)`);
        }
        return null;
      },
      mapError: (err) => options.corrupt(coding, err),
      emptyToEmpty: true,
    });
  });
  return stream;
}
