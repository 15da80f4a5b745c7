import { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import type Redis from 'ioredis';
import type { Server, ServerOptions } from 'socket.io';
import { createRedis } from '@hotline/observability';

/**
 * socket.io over the Redis adapter, so an event for `operator:<id>` reaches that operator on
 * whichever gateway node holds their socket. Websocket transport only: no sticky sessions needed.
 * Connect (and await) before `app.useWebSocketAdapter`.
 */
export class RedisIoAdapter extends IoAdapter {
  private pub?: Redis;
  private sub?: Redis;

  constructor(
    app: INestApplicationContext,
    private readonly redisUrl: string,
  ) {
    super(app);
  }

  async connect(): Promise<void> {
    this.pub = createRedis(this.redisUrl, { connectionName: 'hotline-io-pub' });
    this.sub = this.pub.duplicate({ connectionName: 'hotline-io-sub' });
    for (const c of [this.pub, this.sub]) c.on('error', () => undefined);
    await Promise.all(
      [this.pub, this.sub].map((c) => (c.status === 'ready' ? undefined : new Promise((resolve) => c.once('ready', resolve)))),
    );
  }

  createIOServer(port: number, options?: ServerOptions): Server {
    const server: Server = super.createIOServer(port, { ...options, transports: ['websocket'], serveClient: false });
    // The adapter's channels carry the database: pub/sub is shared by every database of a server.
    if (this.pub && this.sub)
      server.adapter(createAdapter(this.pub, this.sub, { requestsTimeout: 2000, key: `socket.io-db${this.pub.options.db ?? 0}` }));
    // The default namespace serves nothing: nobody connects there, signed in or not.
    server.of('/').use((_socket, next) => next(new Error('forbidden: no console here; the consoles are /operator and /supervisor')));
    return server;
  }

  async dispose(): Promise<void> {
    await super.dispose?.();
    await Promise.all([this.pub, this.sub].map((c) => c?.quit().catch(() => c.disconnect())));
  }
}
