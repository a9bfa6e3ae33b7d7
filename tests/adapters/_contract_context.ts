// What the transport contract suites share: the capabilities a transport
// declares, fixtures, and a Context that closes whatever a test opened.

import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { Server, Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Listener, ListenOptions, ServerTransport } from "../../adapters/transport.ts";
import { ConnQueue, dial, within } from "./_net.ts";

/** What a transport can do; the contract checks the refusal where it cannot. */
export interface TransportCaps {
  /** `reusePort` works (else it must be refused with SLUICE_ERR_LISTEN_UNSUPPORTED). */
  reusePort: boolean;
  /** `fd` adoption works; `fdChild` names the transport `_fd_child.ts` loads. */
  fd: boolean;
  fdChild: "node" | "bun" | "deno";
  /** `backlog` is honoured for TCP / for Unix sockets. */
  backlog: boolean;
  unixBacklog: boolean;
  /** TLS over a Unix socket works. */
  unixTls: boolean;
  /** `tls.requestCert` works. */
  requestCert: boolean;
  /** `TlsInfo.protocol` and `TlsInfo.servername` are reported (else `null`). */
  tlsDetails: boolean;
  /** The code of a bind to an address this host does not have. */
  notAvailableCode: string;
  /**
   * A known bug, not a limit of the runtime: `data()` or `end()` still come
   * after `destroy()`. The test runs as a todo with this reason.
   */
  eventsAfterDestroy?: string;
}

export const HERE: string = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(HERE, "..", "_fixtures", "tls");
export const CERT: string = readFileSync(join(FIXTURES, "cert.pem"), "utf8");
export const KEY: string = readFileSync(join(FIXTURES, "key.pem"), "utf8");
export const KiB = 1024;
export const MiB: number = 1024 * KiB;

/** One transport under test, with everything its tests open, closed in after(). */
export class Context {
  readonly name: string;
  readonly transport: ServerTransport;
  readonly caps: TransportCaps;
  readonly listeners: Listener[] = [];
  readonly sockets: Socket[] = [];
  readonly servers: Server[] = [];
  readonly children: ChildProcess[] = [];
  readonly tempDir: string;

  constructor(name: string, transport: ServerTransport, caps: TransportCaps) {
    this.name = name;
    this.transport = transport;
    this.caps = caps;
    this.tempDir = mkdtempSync(join(tmpdir(), "sluice-adapters-"));
  }

  /** Listens with the transport under test; the listener is closed in after(). */
  async listen(
    options: ListenOptions,
    onError?: (error: Error) => void,
  ): Promise<{ listener: Listener; queue: ConnQueue }> {
    const queue = new ConnQueue();
    const listener = await this.transport.listen(options, queue.push, onError);
    this.listeners.push(listener);
    return { listener, queue };
  }

  /** A connected node:net client, destroyed in after(). */
  async client(to: number | string, host?: string, allowHalfOpen = false): Promise<Socket> {
    const socket = await dial(to, host, allowHalfOpen);
    this.sockets.push(socket);
    return socket;
  }

  uniquePath(name: string): string {
    return join(this.tempDir, `${name}-${Math.random().toString(36).slice(2, 8)}.sock`);
  }

  async cleanup(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    for (const child of this.children) if (child.exitCode === null) child.kill("SIGKILL");
    await Promise.all(this.listeners.map((l) => within(l.close(), 5000, "listener close")));
    await Promise.all(
      this.servers.map((s) => within(new Promise<void>((r) => s.close(() => r())), 5000, "close")),
    );
    rmSync(this.tempDir, { recursive: true, force: true });
  }
}
