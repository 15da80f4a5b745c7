import { randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { CallEventTooEarly, CallLifecycle, CallRowMissing } from '@hotline/calls';
import { loadRetentionConfig } from '@hotline/config';
import { openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { randomSid } from '../support/twilio-peer';

/**
 * The gateway's lifecycle writes, queued while MySQL was away, are replayed by several workers with
 * retries: they may land in any order. Whatever the order, the record ends the same: a write that
 * needs an earlier one waits for it (and is retried), never lands wrong, never is dropped.
 */
describe('call lifecycle writes in any order', () => {
  let db: DataSource;
  let close: () => Promise<void>;
  let life: CallLifecycle;

  beforeAll(async () => {
    ({ db, close } = await openTestDataSources());
    life = new CallLifecycle(db, loadRetentionConfig(envFor().RETENTION_CONFIG));
  });
  afterAll(() => close());

  const row = async (id: string) =>
    (await db.query('SELECT operator_id, status, wrapup_category, answered_at, ended_at FROM calls WHERE id = ?', [id]))[0];

  it('a wrap-up, an end and an answer replayed before the opening and out of order end as if in order', async () => {
    const callId = randomUUID();
    const callSid = randomSid('CA');
    const operatorId = randomUUID();
    const t0 = Date.now();
    const at = (s: number) => new Date(t0 + s * 1000).toISOString();
    const opening = { callId, callSid, callerPseudonym: null, recordingConsent: false, wordingVersion: 'v1', startedAt: at(0) };
    const wrapup = { kind: 'wrapup' as const, callId, operatorId, category: 'listening' };
    const ended = { kind: 'ended' as const, callId, callSid, outcome: 'completed' as const, at: at(90), sequence: 3 };
    const answered = { kind: 'connected' as const, callId, operatorId, at: at(10) };

    // Nothing can land before the opening: each is retried.
    for (const e of [wrapup, ended, answered]) await expect(life.apply(e)).rejects.toBeInstanceOf(CallRowMissing);
    await life.open(opening);
    // The wrap-up needs the answer first: it waits (retried), it is not dropped.
    await expect(life.apply(wrapup)).rejects.toBeInstanceOf(CallEventTooEarly);
    await life.apply(ended);
    await life.apply(answered);
    await life.apply(wrapup);
    expect(await row(callId)).toMatchObject({ operator_id: operatorId, status: 'completed', wrapup_category: 'listening' });
    const r = await row(callId);
    expect(new Date(r.answered_at).toISOString()).toBe(at(10));
    expect(new Date(r.ended_at).toISOString()).toBe(at(90));
  });

  it("another operator's wrap-up of an answered call changes nothing (and is not retried)", async () => {
    const callId = randomUUID();
    const operatorId = randomUUID();
    await life.open({
      callId,
      callSid: randomSid('CA'),
      callerPseudonym: null,
      recordingConsent: false,
      wordingVersion: 'v1',
      startedAt: new Date().toISOString(),
    });
    await life.apply({ kind: 'connected', callId, operatorId, at: new Date().toISOString() });
    await life.apply({ kind: 'wrapup', callId, operatorId: randomUUID(), category: 'other' });
    expect(await row(callId)).toMatchObject({ operator_id: operatorId, wrapup_category: null });
  });
});
