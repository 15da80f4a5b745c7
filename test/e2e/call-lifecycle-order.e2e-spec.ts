import { randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { CallEventTooEarly, CallLifecycle, CallRowMissing } from '@hotline/calls';
import { loadRetentionConfig } from '@hotline/config';
import { openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { randomSid } from '../support/twilio-peer';
import { leaveOnlyCertificate } from '@hotline/calls/fixtures';

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

  it('openings that arrive together are committed as a group: each call opened once, with its consent and its own audit entry', async () => {
    const t = new Date().toISOString();
    const openings = Array.from({ length: 24 }, () => ({
      callId: randomUUID(),
      callSid: randomSid('CA'),
      callerPseudonym: null,
      recordingConsent: true,
      wordingVersion: 'v1',
      startedAt: t,
    }));
    // The same CallSid again, under another id, in the same moment (a retried webhook): the call is opened once.
    const replay = { ...openings[3], callId: randomUUID() };
    const [{ seq: before }] = await db.query('SELECT seq FROM audit_head WHERE id = 1');
    await Promise.all([...openings, replay].map((o) => life.open(o)));
    const ids = openings.map((o) => o.callId);
    const [{ n: calls }] = await db.query('SELECT COUNT(*) AS n FROM calls WHERE id IN (?) OR call_sid IN (?)', [
      [...ids, replay.callId],
      openings.map((o) => o.callSid),
    ]);
    expect(Number(calls)).toBe(24);
    const [{ n: consents }] = await db.query(
      "SELECT COUNT(*) AS n FROM consents WHERE call_id IN (?) AND kind = 'recording' AND granted = 1",
      [ids],
    );
    expect(Number(consents)).toBe(24);
    const entries: { target_id: string; seq: number }[] = await db.query(
      "SELECT target_id, seq FROM audit_log WHERE action = 'call.opened' AND seq > ? ORDER BY seq",
      [before],
    );
    expect(entries.map((e) => e.target_id).sort()).toEqual([...ids].sort());

    // A destroyed call is not opened again by a late replay, even inside a group.
    const gone = openings[0];
    await leaveOnlyCertificate(db, gone.callId);
    const fresh = { ...openings[1], callId: randomUUID(), callSid: randomSid('CA') };
    await Promise.all([life.open(gone), life.open(fresh)]);
    expect((await db.query('SELECT id FROM calls WHERE id = ?', [gone.callId])).length).toBe(0);
    expect((await db.query('SELECT id FROM calls WHERE id = ?', [fresh.callId])).length).toBe(1);
  });
});
