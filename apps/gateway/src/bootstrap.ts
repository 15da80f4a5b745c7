import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
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
  // First, so that every answer carries them: the console page, its assets, TwiML, /api, errors, 404s.
  app.use(securityHeaders(env));
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

/**
 * The console page loads only its own bundled script and style and talks only to this origin
 * (records through /api, sockets): the same policy as ConsoleController's own, on every answer.
 */
const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'connect-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'frame-ancestors': ["'none'"],
  'form-action': ["'self'"],
};

/**
 * helmet on every gateway answer: the CSP above, no framing, no sniffing, no referrer, same-origin
 * opener and resource policies, and HSTS only when PUBLIC_URL is https (over plain http, as on a
 * laptop, a browser ignores it; sent behind https it keeps the console on https for a year).
 */
export function securityHeaders(env: Pick<Env, 'PUBLIC_URL'>) {
  const https = new URL(env.PUBLIC_URL).protocol === 'https:';
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: CONTENT_SECURITY_POLICY,
    },
    strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
}
