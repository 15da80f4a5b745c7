import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { createGatewayApp } from '../../apps/gateway/src/bootstrap';
import { GATEWAY_MUST_NOT_HOLD, type Env, type HotlineConfigOptions } from '@hotline/config';
import { RoutingStore } from '@hotline/routing';
import { TEST_SECRETS, withAppAccount } from './test-config';
import { TwilioPeer } from './twilio-peer';
import type { PeerRealism } from './twilio-peer-webhooks';
import { ConsoleClient, Staff, TwilioWebhooks, baseUrlOf, connectConsole, consoleDevice, staff } from './webhooks';

/** A gateway under test, listening on a free loopback port. */
export interface GatewayTestApp {
  app: INestApplication;
  env: Env;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Webhooks to it as Twilio signs them for `env`. */
  hooks: TwilioWebhooks;
}

/**
 * Creates a gateway with `env`, as it runs for real: without what it must not hold (no content key,
 * no signing key, no keystore), connecting as the gateway's own database account (where `env` names
 * the migrator) and as its own Redis user, `hotline-gateway` (where `env` names Redis's default user);
 * and listens on a free loopback port. The caller closes `app`.
 */
export async function startGatewayApp(env: Env, options: HotlineConfigOptions = {}): Promise<GatewayTestApp> {
  const own = { ...withAppAccount(env, 'gateway') } as Record<string, unknown>;
  for (const k of GATEWAY_MUST_NOT_HOLD) delete own[k];
  const app = await createGatewayApp(own as unknown as Env, options);
  await app.listen(0, '127.0.0.1');
  const base = baseUrlOf(app);
  const hooks = TwilioWebhooks.for(app, env);
  // The Twilio peer this gateway talks to (TWILIO_API_URL): it holds the test's calls and sends its callbacks here.
  // The newest gateway still open takes them (several nodes share Redis, so any node will do).
  const peer = TwilioPeer.at(env.TWILIO_API_URL);
  if (peer) {
    hooks.peer = peer;
    const server = app.getHttpServer() as { listening: boolean };
    peer.webhooks.gateways.push({ publicUrl: env.PUBLIC_URL, gatewayUrl: base, listening: () => server.listening });
  }
  return { app, env, base, hooks };
}

/** Twilio's side (REST API and signed callbacks) for the apps under test, with the test account. */
export function startTwilioPeer(realism: Partial<PeerRealism> = {}): Promise<TwilioPeer> {
  return new TwilioPeer(TEST_SECRETS.TWILIO_ACCOUNT_SID, TEST_SECRETS.TWILIO_AUTH_TOKEN, realism).start();
}

/** A routing store on `redis` with the test options (20 s offers), for tests that look at or reset routing state. */
export function testRoutingStore(redis: Redis): RoutingStore {
  return new RoutingStore(redis, { offerTimeoutMs: 20000, graceMs: 1000, serviceLevelMs: 30000, timeZone: 'UTC' });
}

/** Deletes every live routing key (a clean slate for the next test). */
export function clearRouting(redis: Redis): Promise<void> {
  return testRoutingStore(redis).clear();
}

/**
 * An operator signed in on a console as the browser does, once the gateway has told them their
 * status; then made available, unless `available: false`; with the console's voice device, which
 * answers the legs announced to it. The client is added to `track` (for the
 * test's teardown to close) as soon as it is connected.
 */
export async function connectOperator(
  base: string,
  env: Env,
  opts: { available?: boolean; track?: ConsoleClient[]; peer?: TwilioPeer; answerAfterMs?: number; voice?: boolean } = {},
): Promise<{ op: Staff; client: ConsoleClient }> {
  const op = staff(env, 'operator');
  const client = await connectConsole(base, '/operator', op.token);
  opts.track?.push(client);
  // Its browser's voice device answers the legs meant for it, as the console does (`voice: false`:
  // no device; the test answers the ringing leg itself with operatorAnswers).
  const peer = opts.peer ?? TwilioPeer.at(env.TWILIO_API_URL);
  if (peer && opts.voice !== false) {
    const unregister = consoleDevice(peer, client, op.id, { answerAfterMs: opts.answerAfterMs });
    client.socket.on('disconnect', unregister);
  }
  await client.next('status');
  if (opts.available ?? true) expect(await client.emit('status:set', { status: 'available' })).toEqual({ ok: true, status: 'available' });
  return { op, client };
}
