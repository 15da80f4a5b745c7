import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { TokenService } from '@hotline/auth';
import { registry } from '@hotline/observability';
import { ReconcileService, SecureDeleteService } from '@hotline/retention';
import Redis from 'ioredis';
import { alertsChannel } from '@hotline/events';
import { ReconcileProcessor } from '../../apps/worker/src/retention/reconcile.processor';
import { TEST_REDIS_URL } from '../support/test-config';
import { createWorkerApp } from '../../apps/worker/src/bootstrap';
import { openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { TwilioPeer, randomSid } from '../support/twilio-peer';
import {
  CallFactory,
  callThroughEverything,
  callsAtTwilioOf,
  countRows,
  dropRetentionQueue,
  notDeleted,
  readCall,
  shortRetentionFile,
  tablesMentioning,
  waitFor,
} from './retention-support';
import { RecordsTestApp, startRecordsApp } from '../support/records-app';
import { clearRouting, startGatewayApp, startTwilioPeer } from '../support/gateway-app';
import { ConsoleClient, TwilioWebhooks, testNumber } from '../support/webhooks';
import { insertCallback, insertCallbackAttempt, insertLegalHold, insertRecording, setCallFields } from '@hotline/calls/fixtures';
import { backdateDataKeys, deleteDataKeysPlainly } from '@hotline/crypto/fixtures';

const PUBLIC_URL = 'https://hotline.example.test';
const HOTLINE = '+15550000000';

async function certificateOf(db: DataSource, callId: string): Promise<any | undefined> {
  const [row] = await db.query('SELECT * FROM deletion_certificates WHERE call_id = ?', [callId]);
  return row;
}

describe('retention and secure deletion', () => {
  let peer: TwilioPeer;
  let db: DataSource;
  let keys: DataSource;
  let closeDb: () => Promise<void>;
  let calls: CallFactory;
  let worker: INestApplication;
  let recordsApp: RecordsTestApp;
  let records: INestApplication;
  let gateway: INestApplication;
  let gatewayBase: string;
  let hooks: TwilioWebhooks;
  let redis: Redis;
  const clients: ConsoleClient[] = [];
  const retentionFile = shortRetentionFile();
  const bearer = (role: string) => `Bearer ${records.get(TokenService).sign({ id: randomUUID(), username: role, role: role as any })}`;
  /**
   * Twilio refuses (20009) to delete a call for a while after it ended: the local peer for 1.5 s
   * (Twilio: at least a minute), so the deletions' backoff starts there.
   */
  const twilioVars = () => ({ TWILIO_API_URL: peer.url, PUBLIC_URL, TWILIO_DELETE_RETRY_MS: String(peer.realism.deleteRefusalMs) });

  beforeAll(async () => {
    await dropRetentionQueue();
    peer = await startTwilioPeer();
    ({ db, keys, close: closeDb } = await openTestDataSources());
    calls = new CallFactory(db, keys);
    redis = new Redis(TEST_REDIS_URL);
    await clearRouting(redis);
    worker = await createWorkerApp(envFor({ RETENTION_CONFIG: retentionFile, ...twilioVars() }));
    await worker.init();
    recordsApp = await startRecordsApp({ RETENTION_CONFIG: retentionFile, ...twilioVars() });
    records = recordsApp.app;
    // The gateway keeps the shipped retention file (calls it opens are not destroyed mid-call); a test expires them itself.
    ({ app: gateway, base: gatewayBase, hooks } = await startGatewayApp(envFor(twilioVars())));
  });

  afterAll(async () => {
    clients.forEach((c) => c.close());
    hooks?.close();
    await gateway?.close();
    await records?.close();
    await worker?.close();
    await dropRetentionQueue();
    await peer?.stop();
    await redis?.quit();
    await closeDb?.();
  });

  /** The caller's call as the peer holds it: in progress (`live`), or ended moments ago (Twilio refuses to delete it for a while). */
  function callAtTwilio(state: 'live' | 'ended'): string {
    const sid = randomSid('CA');
    peer.registerCall(sid, testNumber(), HOTLINE);
    if (state === 'ended') peer.endQuietly(sid);
    return sid;
  }
  const deletesOf = (sid: string) => peer.requests.filter((r) => r.method === 'DELETE' && r.path.endsWith(`/Calls/${sid}.json`));

  it('destroys an expired call end to end: key, every row, a certificate and an audit entry; then its call and recording at Twilio', async () => {
    // The caller's call is still in progress at Twilio when the call is destroyed: Twilio refuses to delete it (20009).
    const callSid = callAtTwilio('live');
    const call = await calls.seed({ deadlineInMs: -1000, notes: 2, recording: true, escalation: true, liftedHold: true, callSid });
    await waitFor("Twilio's refusal to delete the call still in progress", async () => deletesOf(callSid).some((r) => r.status === 409));
    // It ends: Twilio still refuses for a while, then deletes it; the cleanup waited (not a failure) and came back.
    peer.hangUp(callSid);

    // The Twilio cleanup adds its steps to the certificate once Twilio has deleted the call there.
    const cert = await waitFor('the certificate with the Twilio steps', async () => {
      const c = await certificateOf(db, call.callId);
      return c && JSON.stringify(c.steps).includes('call_at_twilio') ? c : undefined;
    });
    expect(deletesOf(callSid).map((r) => r.status)).toEqual([
      ...deletesOf(callSid)
        .slice(0, -1)
        .map(() => 409),
      204,
    ]);
    expect(await registry.getSingleMetricAsString('hotline_jobs_not_yet_total')).toMatch(/job="twilio-cleanup"[^}]*} [1-9]/);

    expect(peer.deletedRecordings).toContain(call.recordingSid);
    expect(await keys.query('SELECT 1 FROM data_keys WHERE call_id = ?', [call.callId])).toHaveLength(0);
    expect(await tablesMentioning(db, call.callId)).toEqual(['audit_log', 'deletion_certificates']);
    expect(await tablesMentioning(keys, call.callId)).toEqual([]);
    expect(await readCall(db, keys, call.callId)).toEqual({ kind: 'gone', certified: true });
    const read = await request(records.getHttpServer()).get(`/calls/${call.callId}`).set('Authorization', bearer('records_officer'));
    expect(read.status).toBe(410);
    expect(read.body.certificate).toMatchObject({ id: cert.id, callId: call.callId, reason: 'retention' });

    expect(cert).toMatchObject({ reason: 'retention', retention_policy: 'default', deletion_request_id: null });
    const steps = typeof cert.steps === 'string' ? JSON.parse(cert.steps) : cert.steps;
    expect(steps.map((s: any) => `${s.step}:${s.outcome}`)).toEqual([
      'hold_check:done',
      'data_key:done',
      'rows:done',
      'twilio:queued',
      'recording_at_twilio:done',
      'call_at_twilio:done',
    ]);
    expect(peer.deletedCalls).toContain(steps.find((s: any) => s.step === 'call_at_twilio').detail);
    // The sealed SIDs and the one-time key that opened them are gone with the cleanup.
    const cleanupId = steps.find((s: any) => s.step === 'twilio').detail.replace('cleanup ', '');
    expect(await countRows(db, 'SELECT COUNT(*) FROM twilio_cleanup WHERE id = ?', [cleanupId])).toBe(0);
    // Twilio's refusals were waited out, not failures: nothing audited, nothing alerted.
    expect(
      await countRows(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'twilio_cleanup.failed' AND target_id = ?", [cleanupId]),
    ).toBe(0);
    const certText = JSON.stringify(cert);
    expect(certText).not.toContain(call.pseudonym);
    for (const t of call.noteTexts) expect(certText).not.toContain(t);

    const audit = await db.query("SELECT action, detail FROM audit_log WHERE target_id = ? AND action = 'call.destroyed'", [call.callId]);
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit[0].detail)).toContain(cert.id);
    expect((await worker.get(AuditService).verify()).ok).toBe(true);
    expect(await registry.getSingleMetricAsString('hotline_secure_deletions_total')).toMatch(/reason="retention"[^}]*} [1-9]/);
  });

  it('destroys the records on time while Twilio is failing: the SIDs wait sealed (in plain nowhere), the cleanup retries, audits its last failure, and finishes once Twilio answers', async () => {
    const callSid = callAtTwilio('ended');
    peer.failAll = 503;
    const call = await calls.seed({ deadlineInMs: -1000, notes: 1, recording: true, callSid });
    let cleanupId: string;
    let keyId: string;
    try {
      const cert = await waitFor('the certificate, Twilio failing', () => certificateOf(db, call.callId));
      const steps = typeof cert.steps === 'string' ? JSON.parse(cert.steps) : cert.steps;
      cleanupId = steps.find((s: any) => s.step === 'twilio').detail.replace('cleanup ', '');
      // The records are destroyed: key, rows; the Twilio SIDs are nowhere in plain, in either database.
      expect(await readCall(db, keys, call.callId)).toEqual({ kind: 'gone', certified: true });
      expect(await tablesMentioning(db, call.recordingSid!)).toEqual([]);
      expect(await tablesMentioning(db, callSid)).toEqual([]);
      expect(await tablesMentioning(keys, call.recordingSid!)).toEqual([]);
      [{ contact_key_id: keyId }] = await db.query('SELECT contact_key_id FROM twilio_cleanup WHERE id = ?', [cleanupId]);
      expect(await countRows(keys, 'SELECT COUNT(*) FROM contact_keys WHERE id = ?', [keyId])).toBe(1);
      // Every quick retry fails; the last one is audited (no phone number, no SID), and the report says Twilio is behind.
      await waitFor(
        "the cleanup's last failure, audited",
        async () =>
          (await countRows(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'twilio_cleanup.failed' AND target_id = ?", [cleanupId])) > 0,
      );
      const [entry] = await db.query("SELECT detail FROM audit_log WHERE action = 'twilio_cleanup.failed' AND target_id = ?", [cleanupId]);
      expect(JSON.stringify(entry.detail)).not.toContain(call.recordingSid);
      expect(peer.requests.filter((r) => r.path.endsWith(`/Recordings/${call.recordingSid}.json`)).length).toBeGreaterThanOrEqual(5);
      expect(peer.deletedRecordings).not.toContain(call.recordingSid);
    } finally {
      peer.failAll = undefined;
    }
    // The reconciler queues it again (its scheduled run does the same).
    expect((await worker.get(ReconcileProcessor).process()).twilioCleanupsQueued).toBeGreaterThanOrEqual(1);
    await waitFor(
      'the cleanup done once Twilio answers',
      async () => (await countRows(db, 'SELECT COUNT(*) FROM twilio_cleanup WHERE id = ?', [cleanupId!])) === 0,
    );
    expect(peer.deletedRecordings).toContain(call.recordingSid);
    expect(peer.deletedCalls).toContain(callSid);
    // Its one-time key is destroyed: no copy of the sealed SIDs (binlogs, backups) opens any more.
    expect(await countRows(keys, 'SELECT COUNT(*) FROM contact_keys WHERE id = ?', [keyId!])).toBe(0);
  });

  it('deletes at Twilio the calls placed back to the caller (callback attempts) with the call', async () => {
    const call = await calls.seed({ deadlineInMs: 3_600_000, notes: 1 });
    const callbackId = randomUUID();
    const outbound = callAtTwilio('ended');
    await insertCallback(db, {
      id: callbackId,
      callId: call.callId,
      kind: 'callback',
      status: 'closed',
      dueAt: new Date(),
      maxAttempts: 3,
    });
    await insertCallbackAttempt(db, {
      id: randomUUID(),
      callbackId,
      callId: call.callId,
      operatorId: randomUUID(),
      twilioCallSid: outbound,
      outcome: 'reached',
      startedAt: new Date(),
    });
    expect((await worker.get(SecureDeleteService).destroy({ callId: call.callId, reason: 'caller_request' })).outcome).toBe('destroyed');
    expect(await countRows(db, 'SELECT COUNT(*) FROM callback_attempts WHERE call_id = ?', [call.callId])).toBe(0);
    await waitFor('the callback call deleted at Twilio', async () => peer.deletedCalls.includes(outbound));
    const cert = await waitFor('the certificate with the callback step', async () => {
      const c = await certificateOf(db, call.callId);
      return c && JSON.stringify(c.steps).includes('callback_call_at_twilio') ? c : undefined;
    });
    expect(JSON.stringify(cert.steps)).toContain(outbound);
  });

  it("deletes at Twilio every Call of a conference-bridged call it destroys: the caller's, every participant leg (operators, transfer target, supervisor), the callback placed to the caller and its leg, and the recording; the callback's own Call within seconds of its end", async () => {
    const trail = await callThroughEverything({ peer, hooks, base: gatewayBase, f: recordsApp.f, db, clients });

    // The callback's Call (its record at Twilio holds the number it dialled) and its <Dial> leg go by a
    // job of their own once Twilio allows it (20009 until then): seconds after their end, not at retention.
    await waitFor("the callback's Call deleted at Twilio", async () => peer.calls.get(trail.callbackSid)?.deleted, 15_000);
    expect(Date.now() - trail.callbackEndedAt).toBeLessThan(8_000);
    const callbackLegs = peer.legsOf(trail.callbackSid).map((sid) => peer.calls.get(sid)!);
    expect(callbackLegs).toHaveLength(1);
    expect(notDeleted(callbackLegs)).toEqual([]);
    // Until the call is destroyed, the only Call at Twilio that carries the number is the caller's own.
    expect(peer.callsWith(trail.from).map((c) => c.sid)).toEqual([trail.callSid]);
    // The record knows every leg of the call at Twilio (SIDs only): the conference's participants, which have no parent there, and the callback's.
    const conferenceLegs = [...peer.calls.values()].filter((c) => c.conference === trail.callId).map((c) => c.sid);
    expect(conferenceLegs).toHaveLength(3);
    await waitFor('every leg on record', async () => {
      const rows: { call_sid: string }[] = await db.query('SELECT call_sid FROM call_legs WHERE call_id = ?', [trail.callId]);
      return [...conferenceLegs, ...callbackLegs.map((c) => c.sid)].every((sid) => rows.some((r) => r.call_sid === sid));
    });

    // Expired: the scan destroys it, the cleanup deletes at Twilio what is left there.
    await setCallFields(db, trail.callId, { retentionDeadline: new Date(Date.now() - 1000) });
    const cert = await waitFor('the call destroyed and its Twilio steps certified', async () => {
      const c = await certificateOf(db, trail.callId);
      return c && JSON.stringify(c.steps).includes('call_at_twilio') ? c : undefined;
    });
    await waitFor('the cleanup done', async () => (await countRows(db, 'SELECT COUNT(*) FROM twilio_cleanup')) === 0);

    const { calls: atTwilio, recordings } = callsAtTwilioOf(peer, {
      callIds: [trail.callId],
      callSids: [trail.callSid],
      outboundSids: [trail.callbackSid],
    });
    // The caller's call, operator A's leg, the supervisor's, operator B's (the transfer target), the callback and its leg.
    expect(atTwilio.length).toBeGreaterThanOrEqual(6);
    expect(atTwilio.filter((c) => c.conference === trail.callId && !c.parentCallSid)).toHaveLength(3);
    expect(notDeleted(atTwilio)).toEqual([]);
    expect(recordings).toHaveLength(1);
    expect(peer.deletedRecordings).toEqual(expect.arrayContaining(recordings));
    expect(peer.callsWith(trail.from)).toEqual([]);
    // The certificate names each leg deleted there; nothing of the call is left in the records database.
    const steps: { step: string; detail?: string }[] = typeof cert.steps === 'string' ? JSON.parse(cert.steps) : cert.steps;
    expect(steps.filter((x) => x.step === 'call_leg_at_twilio').map((x) => x.detail)).toEqual(expect.arrayContaining(conferenceLegs));
    expect(await tablesMentioning(db, trail.callId)).toEqual(['audit_log', 'deletion_certificates']);
  });

  it('keeps a call under legal hold past its deadline, and destroys it once the hold is lifted', async () => {
    const held = await calls.seed({ deadlineInMs: -1000, notes: 1, recording: true, hold: true });
    // A call expired at the same moment: once it is gone, scans have passed over the held one.
    const witness = await calls.seed({ deadlineInMs: -1000, notes: 1 });
    await waitFor('the witness to go', () => certificateOf(db, witness.callId));

    expect(await readCall(db, keys, held.callId)).toEqual({ kind: 'whole', notes: held.noteTexts });
    expect(peer.deletedRecordings).not.toContain(held.recordingSid);
    expect(await certificateOf(db, held.callId)).toBeUndefined();

    await calls.liftHolds(held.callId);
    await waitFor('the certificate after the hold was lifted', () => certificateOf(db, held.callId));
    // Then its recording at Twilio, by the cleanup that follows the destruction.
    await waitFor('the recording deleted at Twilio', async () => peer.deletedRecordings.includes(held.recordingSid!));
    expect(await tablesMentioning(db, held.callId)).toEqual(['audit_log', 'deletion_certificates']);
    expect(await tablesMentioning(keys, held.callId)).toEqual([]);
  });

  it('stops at a hold placed while the deletion is under way: nothing destroyed, nothing deleted at Twilio', async () => {
    const service = worker.get(SecureDeleteService);
    // Deletion by request, on a call the scan leaves alone (not expired).
    const call = await calls.seed({ deadlineInMs: 3_600_000, notes: 1, recording: true });
    const holder = db.createQueryRunner();
    await holder.connect();
    try {
      // A hold being placed (not yet committed) when the deletion starts: the first check cannot see it.
      await holder.startTransaction();
      await insertLegalHold(holder, call.callId, { reason: 'subpoena' });
      const pending = service.destroy({ callId: call.callId, reason: 'caller_request' });
      // The deletion waits on the hold's lock before anything: the hold check under lock cannot pass it by.
      await waitFor('the hold check under lock to wait for the hold', async () => {
        const threads: { Info: string | null }[] = await db.query('SHOW FULL PROCESSLIST');
        return threads.some((t) => t.Info?.includes('FOR UPDATE') && t.Info.includes(call.callId));
      });
      expect(peer.deletedRecordings).not.toContain(call.recordingSid);
      expect(await countRows(keys, 'SELECT COUNT(*) FROM data_keys WHERE call_id = ?', [call.callId])).toBe(1);
      await holder.commitTransaction();
      expect(await pending).toEqual({ callId: call.callId, outcome: 'held' });
    } finally {
      if (holder.isTransactionActive) await holder.rollbackTransaction();
      await holder.release();
    }
    expect(await readCall(db, keys, call.callId)).toEqual({ kind: 'whole', notes: call.noteTexts });
    expect(await certificateOf(db, call.callId)).toBeUndefined();
    // The recording is kept, at Twilio and on record.
    expect(peer.deletedRecordings).not.toContain(call.recordingSid);
    expect(await countRows(db, 'SELECT COUNT(*) FROM recordings WHERE call_id = ? AND deleted_at IS NULL', [call.callId])).toBe(1);
  });

  it('waits for a reader holding the call; a recording that arrived mid-deletion goes with the call, at Twilio too', async () => {
    const service = worker.get(SecureDeleteService);
    const call = await calls.seed({ deadlineInMs: 3_600_000, notes: 1 });
    const reader = db.createQueryRunner();
    await reader.connect();
    let pending: Promise<unknown> | undefined;
    const sid = 'RE' + randomUUID().replace(/-/g, '');
    try {
      // A records read in progress (it locks the call row in share mode).
      await reader.startTransaction();
      await reader.query('SELECT id FROM calls WHERE id = ? LOCK IN SHARE MODE', [call.callId]);
      pending = service.destroy({ callId: call.callId, reason: 'caller_request' });
      await waitFor('the deletion to wait for the reader', async () => {
        const threads: { Info: string | null }[] = await db.query('SHOW FULL PROCESSLIST');
        return threads.some(
          (t) => /FROM calls (c )?WHERE (c\.)?id IN/.test(t.Info ?? '') && t.Info!.includes('FOR UPDATE') && t.Info!.includes(call.callId),
        );
      });
      // Meanwhile Twilio's late recording callback lands.
      await insertRecording(db, { id: randomUUID(), callId: call.callId, sid, retentionDeadline: new Date(Date.now() + 3_600_000) });
      expect(await countRows(keys, 'SELECT COUNT(*) FROM data_keys WHERE call_id = ?', [call.callId])).toBe(1);
      // The reader sees the whole call: nothing was destroyed under it.
      expect(await countRows(db, 'SELECT COUNT(*) FROM notes WHERE call_id = ?', [call.callId])).toBe(1);
      await reader.commitTransaction();
      expect(await pending).toMatchObject({ callId: call.callId, outcome: 'destroyed' });
    } finally {
      if (reader.isTransactionActive) await reader.rollbackTransaction();
      await reader.release();
    }
    expect(await readCall(db, keys, call.callId)).toEqual({ kind: 'gone', certified: true });
    await waitFor('the late recording deleted at Twilio', async () => peer.deletedRecordings.includes(sid));
  });

  it('does not destroy a call whose deadline moved later while its job waited', async () => {
    const call = await calls.seed({ deadlineInMs: 3_600_000, notes: 1 });
    expect(await worker.get(SecureDeleteService).destroy({ callId: call.callId, reason: 'retention' })).toEqual({
      callId: call.callId,
      outcome: 'not_expired',
    });
    expect((await readCall(db, keys, call.callId)).kind).toBe('whole');
  });

  it('is safe to repeat: a second run of a finished deletion changes nothing and writes no second certificate', async () => {
    const service = worker.get(SecureDeleteService);
    const call = await calls.seed({ deadlineInMs: 3_600_000, notes: 1, recording: true });
    const first = await service.destroy({ callId: call.callId, reason: 'caller_request', deletionRequestId: randomUUID() });
    expect(first.outcome).toBe('destroyed');
    const again = await service.destroy({ callId: call.callId, reason: 'caller_request' });
    expect(again).toEqual({ callId: call.callId, outcome: 'already_destroyed', certificateId: (first as any).certificateId });
    expect(await countRows(db, 'SELECT COUNT(*) FROM deletion_certificates WHERE call_id = ?', [call.callId])).toBe(1);
    await waitFor('the recording deleted at Twilio', async () => peer.deletedRecordings.includes(call.recordingSid!));
    expect(peer.deletedRecordings.filter((s) => s === call.recordingSid)).toHaveLength(1);
  });

  it('finishes a deletion interrupted after the key was destroyed; meanwhile the call reads as destroyed, never half', async () => {
    const call = await calls.seed({ deadlineInMs: -1000, notes: 2, recording: true, hold: true });
    // As if a worker died between the key and the rows: key gone, rows still there.
    await deleteDataKeysPlainly(keys, [call.callId]);
    expect(await readCall(db, keys, call.callId)).toEqual({ kind: 'gone', certified: false });
    await calls.liftHolds(call.callId);
    const cert = await waitFor('the certificate', () => certificateOf(db, call.callId));
    const steps = typeof cert.steps === 'string' ? JSON.parse(cert.steps) : cert.steps;
    expect(steps.find((s: any) => s.step === 'data_key').outcome).toBe('already_done');
    expect(await tablesMentioning(db, call.callId)).toEqual(['audit_log', 'deletion_certificates']);
  });

  it('deletes a recording at Twilio when its own deadline passes, and keeps the call', async () => {
    const call = await calls.seed({ deadlineInMs: 3_600_000, notes: 1, recording: true, recordingDeadlineInMs: -1000 });
    await waitFor(
      'the recording deleted',
      async () =>
        (await countRows(db, 'SELECT COUNT(*) FROM recordings WHERE call_id = ? AND deleted_at IS NOT NULL', [call.callId])) === 1,
    );
    expect(peer.deletedRecordings).toContain(call.recordingSid);
    expect(await readCall(db, keys, call.callId)).toEqual({ kind: 'whole', notes: call.noteTexts });
    expect(await db.query("SELECT 1 FROM audit_log WHERE action = 'recording.deleted' AND target_id = ?", [call.callId])).toHaveLength(1);
  });

  it('reconciles: destroys keys of destroyed calls at once, quarantines other orphan keys before destroying them, deletes rows that arrived for a destroyed call', async () => {
    const reconcile = worker.get(ReconcileService);
    const orphanOld = randomUUID();
    const orphanYoung = randomUUID();
    await calls.keystore.getOrCreate(orphanOld);
    await calls.keystore.getOrCreate(orphanYoung);
    await backdateDataKeys(keys, [orphanOld], { createdAt: new Date(Date.now() - 2 * 3600_000) });
    const gone = await calls.seed({ deadlineInMs: 3_600_000, notes: 1 });
    await worker.get(SecureDeleteService).destroy({ callId: gone.callId, reason: 'caller_request' });
    await calls.keystore.getOrCreate(gone.callId); // a key re-created after destruction
    await db.query("INSERT INTO notes (id, call_id, author_id, body_enc, created_at) VALUES (?, ?, ?, 'x', ?)", [
      randomUUID(),
      gone.callId,
      randomUUID(),
      new Date(),
    ]);
    const live = await calls.seed({ deadlineInMs: 3_600_000, notes: 1 });
    const keysOf = async (ids: string[]) =>
      ((await keys.query('SELECT call_id FROM data_keys WHERE call_id IN (?)', [ids])) as { call_id: string }[])
        .map((r) => r.call_id)
        .sort();

    // (The scheduled reconciliation may get there first; either way this is the state after one run.)
    await reconcile.run();
    expect(await keysOf([orphanOld, orphanYoung, gone.callId, live.callId])).toEqual([orphanOld, orphanYoung, live.callId].sort());
    const [quarantined] = await keys.query('SELECT quarantined_at FROM data_keys WHERE call_id = ?', [orphanOld]);
    expect(quarantined.quarantined_at).not.toBeNull();
    expect(await tablesMentioning(db, gone.callId)).toEqual(['audit_log', 'deletion_certificates']);

    // Past the quarantine (P7D by default): the orphan goes, the young one and the live call's stay.
    await reconcile.run(new Date(Date.now() + 8 * 24 * 3600_000));
    expect(await keysOf([orphanOld, orphanYoung, live.callId])).toEqual([orphanYoung, live.callId].sort());
    expect(await readCall(db, keys, live.callId)).toEqual({ kind: 'whole', notes: live.noteTexts });
  });

  it('releases a quarantined key whose call row comes back (a restore), and never destroys it', async () => {
    const reconcile = worker.get(ReconcileService);
    const call = await calls.seed({ deadlineInMs: 3_600_000, notes: 1 });
    const [row] = await db.query('SELECT * FROM calls WHERE id = ?', [call.callId]);
    await backdateDataKeys(keys, [call.callId], { createdAt: new Date(Date.now() - 2 * 3600_000) });
    const notes = await db.query('SELECT * FROM notes WHERE call_id = ?', [call.callId]);
    // The row is missing for a while (a restore under way), then comes back.
    await db.query('DELETE FROM notes WHERE call_id = ?', [call.callId]);
    await db.query('DELETE FROM calls WHERE id = ?', [call.callId]);
    await reconcile.run();
    expect((await keys.query('SELECT quarantined_at FROM data_keys WHERE call_id = ?', [call.callId]))[0].quarantined_at).not.toBeNull();
    const cols = Object.keys(row);
    await db.query(`INSERT INTO calls (${cols.join(', ')}) VALUES (?)`, [cols.map((c) => row[c])]);
    for (const n of notes) await db.query(`INSERT INTO notes (${Object.keys(n).join(', ')}) VALUES (?)`, [Object.values(n)]);
    await reconcile.run(new Date(Date.now() + 8 * 24 * 3600_000));
    expect((await keys.query('SELECT quarantined_at FROM data_keys WHERE call_id = ?', [call.callId]))[0]).toEqual({
      quarantined_at: null,
    });
    expect(await readCall(db, keys, call.callId)).toEqual({ kind: 'whole', notes: call.noteTexts });
  });

  it('refuses to destroy any key against another records database, or when too many keys would be orphans, and says so', async () => {
    const reconcile = worker.get(ReconcileService);
    const orphan = randomUUID();
    await calls.keystore.getOrCreate(orphan);
    await backdateDataKeys(keys, [orphan], {
      createdAt: new Date(Date.now() - 30 * 24 * 3600_000),
      quarantinedAt: new Date(Date.now() - 30 * 24 * 3600_000),
    });
    const [{ seq: auditFrom }] = await db.query('SELECT seq FROM audit_head WHERE id = 1');
    const [{ records_database_id: pairedWith }] = await keys.query('SELECT records_database_id FROM keystore_identity WHERE id = 1');
    const [{ database_id: recordsId }] = await db.query('SELECT database_id FROM records_identity WHERE id = 1');
    expect(pairedWith).toBe(recordsId);

    // Pointed at another records database (here: this one under another identity).
    await db.query('UPDATE records_identity SET database_id = ? WHERE id = 1', [randomUUID()]);
    const listener = new Redis(TEST_REDIS_URL);
    try {
      // The worker's run of it also alerts the supervisors' wallboards (through the alerts channel).
      const heard = new Promise<string>((resolve) => listener.on('message', (_c, m) => resolve(m)));
      await listener.subscribe(alertsChannel(listener.options.db));
      expect(await worker.get(ReconcileProcessor).process()).toMatchObject({
        refused: 'keystore_paired_elsewhere',
        orphanKeysDestroyed: 0,
      });
      expect(JSON.parse(await heard)).toEqual({
        type: 'reconcile_refused',
        alert: { reason: 'keystore_paired_elsewhere', at: expect.any(String) },
      });
      // (The worker's scheduled runs refuse alike meanwhile.)
      expect(await countRows(keys, 'SELECT COUNT(*) FROM data_keys WHERE call_id = ?', [orphan])).toBe(1);
    } finally {
      listener.disconnect();
      await db.query('UPDATE records_identity SET database_id = ? WHERE id = 1', [recordsId]);
    }
    // Its own records database again: the long-quarantined orphan goes (this run or a scheduled one).
    await reconcile.run();
    expect(await countRows(keys, 'SELECT COUNT(*) FROM data_keys WHERE call_id = ?', [orphan])).toBe(0);

    // A records database that lost most of its calls (an empty one, a restore under way): more orphans than the share allows.
    const [{ n: total }] = await keys.query('SELECT COUNT(*) AS n FROM data_keys');
    const many = Array.from({ length: Math.max(12, Math.ceil(Number(total) * 0.06) + 2) }, () => randomUUID());
    for (const id of many) await calls.keystore.getOrCreate(id);
    await backdateDataKeys(keys, many, {
      createdAt: new Date(Date.now() - 30 * 24 * 3600_000),
      quarantinedAt: new Date(Date.now() - 30 * 24 * 3600_000),
    });
    try {
      expect(await reconcile.run()).toMatchObject({ refused: 'too_many_orphans', orphanKeysDestroyed: 0 });
      expect(await countRows(keys, 'SELECT COUNT(*) FROM data_keys WHERE call_id IN (?)', [many])).toBe(many.length);
      const audited = await db.query("SELECT detail FROM audit_log WHERE action = 'retention.reconcile_refused' AND seq > ?", [auditFrom]);
      expect(new Set(audited.map((a: any) => (typeof a.detail === 'string' ? JSON.parse(a.detail) : a.detail).reason))).toEqual(
        new Set(['too_many_orphans', 'keystore_paired_elsewhere']),
      );
      expect(await registry.getSingleMetricAsString('hotline_reconcile_refused_total')).toMatch(/reason="too_many_orphans"[^}]*} [1-9]/);
    } finally {
      await calls.keystore.destroyMany(many);
    }
    // Back to a sane share: nothing refused.
    expect(await reconcile.run()).not.toHaveProperty('refused');
  });

  it('reports retention at GET /retention/report to records officers and auditors only', async () => {
    await calls.seed({ deadlineInMs: 3_600_000, hold: true });
    const res = await request(records.getHttpServer()).get('/retention/report').set('Authorization', bearer('records_officer'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ scanEvery: 'PT1S', overdue: 0, overdueRecordings: 0, ok: true });
    expect(res.body.twilioCleanup).toEqual({ calls: 0, oldestQueuedAt: null, overdue: false });
    expect(res.body.holdsInForce.holds).toBeGreaterThanOrEqual(1);
    expect(res.body.deletions.lastDay).toBeGreaterThanOrEqual(3);
    expect(res.body.deletions.lastWeek).toBeGreaterThanOrEqual(res.body.deletions.lastDay);
    expect(res.body.failures.lastDay).toBeGreaterThanOrEqual(1);
    const byPolicy = Object.fromEntries(res.body.policies.map((p: any) => [p.policy, p]));
    expect(byPolicy.default).toMatchObject({ duration: 'PT2S' });
    expect(byPolicy.default.calls).toBeGreaterThanOrEqual(1);
    expect((await request(records.getHttpServer()).get('/retention/report').set('Authorization', bearer('auditor'))).status).toBe(200);
    for (const role of ['operator', 'supervisor', 'admin']) {
      expect((await request(records.getHttpServer()).get('/retention/report').set('Authorization', bearer(role))).status).toBe(403);
    }
    expect((await request(records.getHttpServer()).get('/retention/report')).status).toBe(401);
  });

  it('exposes its metrics on the worker: deletions, failed cleanups, scan duration, overdue', async () => {
    const res = await request(worker.getHttpServer()).get('/metrics');
    expect(res.status).toBe(200);
    for (const name of [
      'hotline_secure_deletions_total',
      'hotline_jobs_failed_total{queue="retention",job="twilio-cleanup",last="true"',
      'hotline_retention_scan_duration_seconds_count',
      'hotline_retention_overdue_calls',
    ]) {
      expect(res.text).toContain(name);
    }
  });
});
