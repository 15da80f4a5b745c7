import { AddressInfo, Server, Socket, connect, createServer } from 'net';

/**
 * A TCP pass-through on loopback that a test can cut and restore, to put MySQL or Redis "away"
 * for the apps under test without touching the real server (other runs share it).
 *
 *   const proxy = await TcpProxy.start('127.0.0.1', 6379);
 *   envFor({ REDIS_URL: proxy.rewrite(TEST_REDIS_URL) })
 *   proxy.cut();      // open connections are reset, new ones are refused at once
 *   proxy.restore();  // new connections pass again
 *
 * While cut, the port stays bound (nobody else can take it) and each new connection is destroyed
 * as soon as it is accepted, as a server that is down would do: clients see ECONNRESET.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private down = false;
  /** How bytes pass while not cut: as they come, each chunk late by `delayMs`, or not at all. */
  private mode: 'pass' | 'slow' | 'blackhole' = 'pass';
  private delayMs = 0;
  /** Connections accepted in total, and refused while cut (tests can check the app really tried). */
  accepted = 0;
  refused = 0;

  private constructor(
    private readonly server: Server,
    readonly targetHost: string,
    readonly targetPort: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const server = createServer((client) => proxy.onConnection(client));
    const proxy = new TcpProxy(server, targetHost, targetPort);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  /** A proxy in front of the host and port of a `mysql://` or `redis://` URL. */
  static forUrl(url: string): Promise<TcpProxy> {
    const u = new URL(url);
    const port = Number(u.port) || (u.protocol === 'redis:' ? 6379 : 3306);
    return TcpProxy.start(u.hostname, port);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get isCut(): boolean {
    return this.down;
  }

  /** The same URL (credentials, database, path) pointed at this proxy. */
  rewrite(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  /** MySQL or Redis goes away: every open connection is reset; new ones are refused. */
  cut(): void {
    this.down = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /**
   * MySQL or Redis hangs: connections are still accepted, but no byte goes either way, and open
   * connections fall silent. Nothing is refused, so only a client's own timeouts notice.
   */
  blackhole(): void {
    this.mode = 'blackhole';
  }

  /** Every chunk, either way, is delivered `delayMs` late (order kept): a server or network gone slow. */
  slow(delayMs: number): void {
    this.mode = 'slow';
    this.delayMs = delayMs;
  }

  /**
   * It comes back: new connections pass (clients reconnect by themselves). After a blackhole the
   * connections that lost bytes are reset, as a real network partition's would time out.
   */
  restore(): void {
    const lostBytes = this.mode === 'blackhole';
    this.down = false;
    this.mode = 'pass';
    if (lostBytes) {
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
    }
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private onConnection(client: Socket): void {
    if (this.down) {
      this.refused++;
      client.destroy();
      return;
    }
    this.accepted++;
    if (this.mode === 'blackhole') {
      // Accepted and held, never forwarded.
      this.sockets.add(client);
      client.on('error', () => client.destroy()).on('close', () => this.sockets.delete(client));
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const done = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    const forward = (to: Socket) => (chunk: Buffer) => {
      if (this.mode === 'blackhole') return;
      if (this.mode === 'slow') setTimeout(() => to.destroyed || to.write(chunk), this.delayMs);
      else to.write(chunk);
    };
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
  }
}
