/**
 * The parts of `Bun.listen`'s API the Bun transport uses (`deno check` has
 * no Bun types), generic over the per-socket `data` the transport keeps.
 *
 * @module
 */

export interface BunSocket<D> {
  data: D | undefined;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
  readonly alpnProtocol: string | false | null;
  readonly authorized: boolean;
  /** A string is sent UTF-8 encoded. */
  write(data: Uint8Array | string): number;
  end(): unknown;
  shutdown(halfClose?: boolean): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay(noDelay?: boolean): boolean;
  getTLSVersion(): string | null;
  getServername(): string | undefined;
}
export interface BunSocketHandler<D> {
  binaryType: "uint8array";
  open(socket: BunSocket<D>): void;
  handshake?(socket: BunSocket<D>, success: boolean, error: Error | null): void;
  data(socket: BunSocket<D>, chunk: Uint8Array): void;
  end(socket: BunSocket<D>): void;
  drain(socket: BunSocket<D>): void;
  close(socket: BunSocket<D>, error?: Error): void;
  error(socket: BunSocket<D>, error: Error): void;
}
export interface BunListenOptions<D> {
  hostname?: string;
  port?: number;
  unix?: string;
  fd?: number;
  reusePort?: boolean;
  allowHalfOpen: boolean;
  tls?: {
    cert: string | Uint8Array;
    key: string | Uint8Array;
    ca?: string | Uint8Array;
    requestCert: boolean;
    rejectUnauthorized: boolean;
    ALPNProtocols?: Uint8Array;
  };
  socket: BunSocketHandler<D>;
}
export interface BunSocketListener {
  stop(closeActiveConnections?: boolean): void;
  readonly hostname?: string;
  readonly port?: number;
  getsockname(out: { address?: string; port?: number; family?: string }): void;
}
export interface BunLike<D> {
  listen(options: BunListenOptions<D>): BunSocketListener;
}
