import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Env, HotlineConfigOptions, trustProxySetting } from '@hotline/config';
import { commonSetup, startDefaultMetrics } from '@hotline/observability';
import { GatewayModule } from './gateway.module';
import { RedisIoAdapter } from './live/redis-io.adapter';

export async function createGatewayApp(env: Env, options: HotlineConfigOptions = {}): Promise<INestApplication> {
  startDefaultMetrics('gateway');
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(env, options), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useBodyParser('urlencoded', { limit: '32kb', extended: false });
  // As records' own limit: the console's /api pass-through carries notes of up to 16 KB of text.
  app.useBodyParser('json', { limit: '64kb' });
  // Only known proxies' X-Forwarded-For is believed (records: the gateway's); a client's own claim changes nothing.
  app.set('trust proxy', trustProxySetting(env.TRUSTED_PROXIES));
  // TwiML and socket handshakes are never cached: no ETag hashing of every reply, no X-Powered-By.
  app.set('etag', false);
  app.disable('x-powered-by');
  commonSetup(app);
  // socket.io across gateway nodes: the adapter's Redis must be connected before Nest creates the server.
  const io = new RedisIoAdapter(app, env.REDIS_URL);
  await io.connect();
  app.useWebSocketAdapter(io);
  return app;
}
