import { readFileSync, writeFileSync, mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { clearRouting, startGatewayApp, startTwilioPeer } from '../support/gateway-app';
import { TwilioPeer, randomSid } from '../support/twilio-peer';
import { TwilioWebhooks, eventually, testNumber, twimlAttr } from '../support/webhooks';

const PUBLIC_URL = 'https://hotline.example.test';
const QUESTION = 'To let the details of this call be used, without anything that identifies you, in research, press 1. Otherwise press 2.';
const FOLLOW_UP = 'If we may contact you again about this call, press 1. Otherwise press 2.';

/**
 * The research and follow-up consents, asked in the call flow when the wording file has
 * `researchQuestion` and `followUpQuestion`: after the recording menu, 1 consents; anything else or
 * silence declines. Each answer is a consent of its kind on the call, under the caller's pseudonym
 * like the recording consent.
 */
describe('research and follow-up consent in the call flow (when configured)', () => {
  let app: INestApplication;
  let hooks: TwilioWebhooks;
  let peer: TwilioPeer;
  let db: DataSource;
  let closeDb: () => Promise<void>;
  let redis: Redis;

  beforeAll(async () => {
    const wording = join(mkdtempSync(join(tmpdir(), 'hotline-wording-')), 'wording.yaml');
    writeFileSync(
      wording,
      readFileSync(join(__dirname, '..', '..', 'config', 'wording.yaml'), 'utf8').replace(/^version: .*$/m, 'version: "research-test"') +
        `researchQuestion: ${QUESTION}\nfollowUpQuestion: ${FOLLOW_UP}\n`,
    );
    peer = await startTwilioPeer();
    const env = envFor({ TWILIO_API_URL: peer.url, PUBLIC_URL, WORDING_FILE: wording });
    redis = new Redis(env.REDIS_URL);
    await clearRouting(redis);
    ({ app, hooks } = await startGatewayApp(env));
    ({ db, close: closeDb } = await openTestDataSources());
  });

  afterAll(async () => {
    hooks?.close();
    await app?.close();
    await peer?.stop();
    await closeDb?.();
    await redis?.quit();
  });

  async function call(recording: string, research: string, followUp = '2') {
    const base = {
      AccountSid: 'AC' + '0123456789abcdef'.repeat(2),
      CallSid: randomSid('CA'),
      From: testNumber(),
      To: '+15550000000',
      CallStatus: 'in-progress',
      Direction: 'inbound',
    };
    const incoming = await hooks.post('/twilio/voice/incoming', base);
    const consent = await hooks.post(twimlAttr(incoming.text, 'Gather', 'action')!, { ...base, Digits: recording });
    expect(consent.status).toBe(200);
    // The recording answer acknowledged, then the research question; not yet in the queue.
    expect(consent.text).toContain(QUESTION);
    expect(consent.text).not.toContain('<Enqueue');
    const action = twimlAttr(consent.text, 'Gather', 'action')!;
    expect(new URL(action).pathname).toBe('/twilio/voice/research');
    const second = await hooks.post(action, { ...base, Digits: research });
    expect(second.status).toBe(200);
    // Then the follow-up question (the consent that says who can be told after a breach).
    expect(second.text).toContain(FOLLOW_UP);
    const followUpAction = twimlAttr(second.text, 'Gather', 'action')!;
    expect(new URL(followUpAction).pathname).toBe('/twilio/voice/follow-up');
    const answer = await hooks.post(followUpAction, { ...base, Digits: followUp });
    expect(answer.status).toBe(200);
    const waitUrl = twimlAttr(answer.text, 'Enqueue', 'waitUrl')!;
    expect(new URL(waitUrl).searchParams.get('r')).toBe(recording === '1' ? '1' : '0');
    lastAnswer = () =>
      hooks.post(action, { ...base, Digits: research }).then(() => hooks.post(followUpAction, { ...base, Digits: followUp }));
    return new URL(waitUrl).searchParams.get('c')!;
  }
  let lastAnswer: () => Promise<unknown> = async () => undefined;

  const consents = (callId: string) =>
    db.query(
      'SELECT kind, granted, wording_version, caller_pseudonym IS NOT NULL AS pseudonymous FROM consents WHERE call_id = ? ORDER BY kind',
      [callId],
    );

  it('records a research and a follow-up consent given with 1', async () => {
    const callId = await call('1', '1', '1');
    const rows = await eventually(async () => ((await consents(callId)).length === 3 ? consents(callId) : null));
    expect(rows.map((r: any) => [r.kind, Number(r.granted), r.wording_version, Number(r.pseudonymous)])).toEqual([
      ['follow_up', 1, 'research-test', 1],
      ['recording', 1, 'research-test', 1],
      ['research', 1, 'research-test', 1],
    ]);
    const [audit] = await db.query(
      "SELECT detail FROM audit_log WHERE action = 'consent.recorded' AND target_id = ? ORDER BY seq LIMIT 1",
      [callId],
    );
    expect(typeof audit.detail === 'string' ? JSON.parse(audit.detail) : audit.detail).toEqual({
      kind: 'research',
      granted: true,
      wordingVersion: 'research-test',
    });
  });

  it('records a refusal for any other key or silence, and a replayed answer changes nothing', async () => {
    const declined = await call('2', '2');
    const replay = lastAnswer;
    const silent = await call('2', '');
    for (const callId of [declined, silent]) {
      const rows = await eventually(async () => ((await consents(callId)).length === 3 ? consents(callId) : null));
      expect(rows.find((r: any) => r.kind === 'research')).toMatchObject({ granted: 0 });
      expect(rows.find((r: any) => r.kind === 'follow_up')).toMatchObject({ granted: 0 });
    }
    // Twilio retrying the same webhook: still one research consent on the call.
    await replay();
    const [row] = await db.query("SELECT COUNT(*) AS n FROM consents WHERE call_id = ? AND kind IN ('research', 'follow_up')", [declined]);
    expect(Number(row.n)).toBe(2);
  });
});
