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
 * (records through /api, sockets). With the browser voice leg configured it also reaches Twilio,
 * as the Voice SDK does: its signalling websocket (`wss://voice-js.<edge>.twilio.com`), its call
 * quality events (eventgw.twilio.com) and its ringtones (sdk.twilio.com, fetched and played).
 */
export function contentSecurityPolicy(env: Pick<Env, 'TWILIO_API_KEY_SID' | 'TWILIO_TWIML_APP_SID'>): Record<string, string[]> {
  const voice = Boolean(env.TWILIO_API_KEY_SID && env.TWILIO_TWIML_APP_SID);
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'style-src': ["'self'"],
    'connect-src': ["'self'", ...(voice ? ['wss://*.twilio.com', 'https://eventgw.twilio.com', 'https://sdk.twilio.com'] : [])],
    'media-src': ["'self'", ...(voice ? ['blob:', 'https://sdk.twilio.com'] : [])],
    'img-src': ["'self'", 'data:'],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'frame-ancestors': ["'none'"],
    'form-action': ["'self'"],
  };
}

/**
 * helmet on every gateway answer (the console page included: ConsoleController sets no security
 * header of its own): the CSP above, no framing, no sniffing, no referrer, same-origin opener and
 * resource policies, and HSTS only when PUBLIC_URL is https (over plain http, as on a laptop, a
 * browser ignores it; sent behind https it keeps the console on https for a year).
 */
export function securityHeaders(env: Pick<Env, 'PUBLIC_URL' | 'TWILIO_API_KEY_SID' | 'TWILIO_TWIML_APP_SID'>) {
  const https = new URL(env.PUBLIC_URL).protocol === 'https:';
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicy(env) },
    strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
}
