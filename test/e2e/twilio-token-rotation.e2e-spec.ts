import { INestApplication } from '@nestjs/common';
import { ConfigurationError, loadEnv } from '@hotline/config';
import { envFor } from '../support/env-for';
import { startGatewayApp, startTwilioPeer } from '../support/gateway-app';
import { TEST_SECRETS, testEnvVars } from '../support/test-config';
import { TwilioPeer, randomSid } from '../support/twilio-peer';
import { TwilioWebhooks } from '../support/webhooks';

const PUBLIC_URL = 'https://hotline.example.test';
/** The token being rotated in (Twilio's secondary auth token), and one that is neither. */
const SECONDARY = 'test-secondary-token-fedcba9876543210';
const UNKNOWN = 'test-unknown-token-00112233445566778899';

/**
 * Rotating Twilio's auth token (docs/configuration.md: TWILIO_AUTH_TOKEN_SECONDARY): while the gateway holds a second
 * token, a webhook signed with either is Twilio's; one signed with neither is refused (403) and changes
 * nothing. Without the second token, a signature made with it is refused like any other.
 */
describe('Twilio auth token rotation: TWILIO_AUTH_TOKEN_SECONDARY', () => {
  let peer: TwilioPeer;
  let rotating: { app: INestApplication; base: string };
  let plain: { app: INestApplication; base: string };
  const closers: TwilioWebhooks[] = [];

  beforeAll(async () => {
    peer = await startTwilioPeer();
    rotating = await startGatewayApp(envFor({ TWILIO_API_URL: peer.url, PUBLIC_URL, TWILIO_AUTH_TOKEN_SECONDARY: SECONDARY }));
    plain = await startGatewayApp(envFor({ TWILIO_API_URL: peer.url, PUBLIC_URL }));
  });

  afterAll(async () => {
    for (const h of closers) h.close();
    await rotating?.app.close();
    await plain?.app.close();
    await peer?.stop();
  });

  /** A status callback for a made-up call, signed as Twilio signs it with `token` (what twilio:check sends). */
  function statusCallbackSignedWith(gateway: { base: string }, token: string) {
    const hooks = new TwilioWebhooks(gateway.base, PUBLIC_URL, token);
    closers.push(hooks);
    return hooks.post('/twilio/voice/status', {
      AccountSid: TEST_SECRETS.TWILIO_ACCOUNT_SID,
      CallSid: randomSid('CA'),
      From: '+15550000001',
      To: '+15550000000',
      CallStatus: 'completed',
      Direction: 'inbound',
      CallDuration: '0',
      SequenceNumber: '0',
    });
  }

  it('accepts a signature made with the secondary token as with the primary, and refuses one made with neither', async () => {
    expect((await statusCallbackSignedWith(rotating, TEST_SECRETS.TWILIO_AUTH_TOKEN)).status).toBe(200);
    expect((await statusCallbackSignedWith(rotating, SECONDARY)).status).toBe(200);
    expect((await statusCallbackSignedWith(rotating, UNKNOWN)).status).toBe(403);
  });

  it('without TWILIO_AUTH_TOKEN_SECONDARY, a signature made with that token is refused', async () => {
    expect((await statusCallbackSignedWith(plain, TEST_SECRETS.TWILIO_AUTH_TOKEN)).status).toBe(200);
    expect((await statusCallbackSignedWith(plain, SECONDARY)).status).toBe(403);
  });

  it('checks TWILIO_AUTH_TOKEN_SECONDARY as it checks TWILIO_AUTH_TOKEN (a short one stops the app, naming it)', () => {
    const vars = { ...process.env, ...testEnvVars() };
    expect(loadEnv([], { ...vars, TWILIO_AUTH_TOKEN_SECONDARY: SECONDARY }).TWILIO_AUTH_TOKEN_SECONDARY).toBe(SECONDARY);
    let error: unknown;
    try {
      loadEnv([], { ...vars, TWILIO_AUTH_TOKEN_SECONDARY: 'too-short' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('TWILIO_AUTH_TOKEN_SECONDARY is too short');
  });
});
