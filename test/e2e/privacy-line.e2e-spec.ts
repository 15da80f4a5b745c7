import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { readFileSync, statSync } from 'fs';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { createWorkerApp } from '../../apps/worker/src/bootstrap';
import { DeletionRequestProcessor } from '../../apps/worker/src/privacy/deletion-request.processor';
import { PrivacyReconciler } from '../../apps/worker/src/privacy/privacy-reconciler';
import { PrivacyWorker } from '../../apps/worker/src/privacy/privacy.worker';
import { Env } from '@hotline/config';
import { CallbackBook } from '@hotline/calls';
import {
  CONTACT_KEYS_REDIS_KEY,
  CONTACT_PUBLIC_KEY_REDIS_KEY,
  callerPseudonym,
  parsePublishedContactKey,
  sealContact,
} from '@hotline/crypto';
import { BULL_PREFIX, QueueName, jobId } from '@hotline/jobs';
import { redisOptionsFromUrl } from '@hotline/observability';
import { Queue } from 'bullmq';
import { PrivacyCall as SharedPrivacyCall, said, shortGraceRetentionFile } from '../support/privacy-call';
import { dumpAllText, openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { Factory, TestStaff, bearer } from '../support/factories';
import { findLeaks, logCaptureFile, registerSecret } from '../support/log-capture';
import { TEST_SECRETS } from '../support/test-config';
import { TwilioPeer, randomSid } from '../support/twilio-peer';
import {
  ConsoleClient,
  TwilioWebhooks,
  baseUrlOf,
  callStatus,
  connectConsole,
  eventually,
  placeCall,
  staff,
  testNumber,
  twimlAttr,
  twimlText,
} from '../support/webhooks';
import { startRecordsApp } from '../support/records-app';
import { clearRouting, startGatewayApp } from '../support/gateway-app';
import { expireCodes, reopenDeletionRequest } from '@hotline/privacy/fixtures';

const PUBLIC_URL = 'https://hotline.example.test';
const ACCOUNT = TEST_SECRETS.TWILIO_ACCOUNT_SID;
const PSEUDONYM_KEY = Buffer.from(TEST_SECRETS.PSEUDONYM_KEY, 'base64');

/** One call to the privacy line, played as Twilio would: the same CallSid and From on every step. */
/** The privacy-line calls placed from each number. */
const privacyCalls = new Map<string, string[]>();
const privacyCallsOf = (from: string) => privacyCalls.get(from) ?? [];

class PrivacyCall extends SharedPrivacyCall {
  constructor(hooks: TwilioWebhooks, from: string) {
    super(hooks, from);
    privacyCalls.set(from, [...privacyCallsOf(from), this.callSid]);
  }
}

describe('the privacy line', () => {
  let peer: TwilioPeer;
  let records: INestApplication;
  let gateway: INestApplication;
  let worker: INestApplication;
  let gatewayEnv: Env;
  let hooks: TwilioWebhooks;
  let f: Factory;
  let officer: TestStaff;
  let db: DataSource;
  let keys: DataSource;
  let closeDb: () => Promise<void>;
  let redis: Redis;
  let deletionQueue: Queue;
  let logStart = 0;
  const numbers: string[] = [];
  const codes: string[] = [];
  const consoles: ConsoleClient[] = [];

  const caller = () => {
    const n = testNumber();
    numbers.push(n);
    registerSecret('number', n);
    return n;
  };
  const pseudonymOf = (n: string) => callerPseudonym(PSEUDONYM_KEY, n);

  /** The code in the last SMS to `to`, which says exactly that and nothing else. */
  const codeSentTo = (to: string): string => {
    const sms = peer.messagesTo(to).at(-1)!;
    expect(sms.from).toBe(TEST_SECRETS.TWILIO_SMS_FROM);
    expect(sms.body).toMatch(/^Your code is \d{6}$/);
    const code = sms.body.slice(-6);
    codes.push(code);
    return code;
  };

  const codesSent = (to: string) => peer.messagesTo(to).map((m) => m.body.slice(-6));

  /** A call to the hotline (consenting or not), ended; optionally recorded. Returns its call id. */
  async function hotlineCall(from: string, opts: { consent?: boolean; recording?: boolean } = {}): Promise<string> {
    const call = await placeCall(hooks, { from, digits: opts.consent === false ? '2' : '1' });
    await eventually(async () => (await db.query('SELECT 1 FROM calls WHERE id = ?', [call.callId])).length > 0);
    if (opts.recording) {
      await hooks.post('/twilio/recording/status', {
        AccountSid: ACCOUNT,
        CallSid: call.callSid,
        RecordingSid: randomSid('RE'),
        RecordingStatus: 'completed',
      });
      await eventually(async () => (await db.query('SELECT 1 FROM recordings WHERE call_id = ?', [call.callId])).length > 0);
    }
    await callStatus(hooks, call, 'completed', 9);
    await eventually(async () => (await db.query('SELECT ended_at FROM calls WHERE id = ?', [call.callId]))[0]?.ended_at);
    return call.callId;
  }

  /** Rings the privacy line, presses `choice`, and enters the code from the SMS. */
  async function verified(from: string, choice: '1' | '2' | '3'): Promise<PrivacyCall> {
    const c = new PrivacyCall(hooks, from);
    await c.answer();
    expect(c.says).toContain('To delete your records, press 1');
    const sent = peer.messagesTo(from).length;
    await c.press(choice);
    expect(c.says).toContain('We have sent a six-digit code by text message');
    expect(peer.messagesTo(from)).toHaveLength(sent + 1);
    await c.press(codeSentTo(from));
    return c;
  }

  // A request carried out holds no pseudonym any more: it is found by the privacy-line calls that asked for it.
  const requestsOf = async (from: string) =>
    (
      await db.query('SELECT * FROM deletion_requests WHERE caller_pseudonym = ? OR caller_pseudonym IS NULL ORDER BY requested_at', [
        pseudonymOf(from),
      ])
    ).filter(
      (r: { caller_pseudonym: string | null; call_sids: string | null }) =>
        r.caller_pseudonym === pseudonymOf(from) || (r.call_sids ?? '').split(' ').some((sid) => privacyCallsOf(from).includes(sid)),
    );
  const callsOf = (from: string) =>
    db
      .query('SELECT id FROM calls WHERE caller_pseudonym = ?', [pseudonymOf(from)])
      .then((r: { id: string }[]) => r.map((x) => x.id).sort());
  const finished = (id: string) =>
    eventually(async () => {
      const [r] = await db.query('SELECT * FROM deletion_requests WHERE id = ?', [id]);
      return ['done', 'partly_held'].includes(r.status) && !r.contact_enc ? r : null;
    }, 15000);

  beforeAll(async () => {
    logStart = (() => {
      try {
        return statSync(logCaptureFile()).size;
      } catch {
        return 0;
      }
    })();
    peer = await new TwilioPeer(ACCOUNT, TEST_SECRETS.TWILIO_AUTH_TOKEN).start();
    const common = { TWILIO_API_URL: peer.url, PUBLIC_URL, RETENTION_CONFIG: shortGraceRetentionFile() };
    gatewayEnv = envFor(common);
    ({ db, keys, close: closeDb } = await openTestDataSources());
    redis = new Redis(gatewayEnv.REDIS_URL);
    await clearRouting(redis);
    // The worker publishes the key the gateway seals numbers to: it starts first, as in production.
    worker = await createWorkerApp(envFor({ ...common, SMS_DELETE_AFTER_SECONDS: '1' }, 'worker'));
    await worker.init();
    ({ app: records, f } = await startRecordsApp(common));
    officer = await f.staff('records_officer');
    ({ app: gateway, hooks } = await startGatewayApp(gatewayEnv));
    deletionQueue = new Queue(QueueName.DeletionRequests, { connection: redisOptionsFromUrl(gatewayEnv.REDIS_URL), prefix: BULL_PREFIX });
  });

  afterAll(async () => {
    consoles.forEach((c) => c.close());
    await gateway?.close();
    await records?.close();
    await worker?.close();
    await deletionQueue?.close();
    await peer?.stop();
    await redis?.quit();
    await closeDb?.();
  });

  it('answers only Twilio: unsigned or forged requests to its steps and to the SMS status callback get 403', async () => {
    const params = { AccountSid: ACCOUNT, CallSid: randomSid('CA'), From: testNumber(), Digits: '1' };
    for (const path of [
      '/twilio/voice/privacy',
      '/twilio/voice/privacy/choice',
      '/twilio/voice/privacy/code',
      '/twilio/voice/privacy/confirm',
      '/twilio/sms/status',
    ]) {
      expect(await hooks.post(path, params, { signature: null })).toEqual({ status: 403, text: 'Forbidden' });
      expect(await hooks.post(path, params, { signature: 'forged' })).toEqual({ status: 403, text: 'Forbidden' });
    }
  });

  it('is reached by 9 from the main menu, and repeats its menu once on no input before a polite goodbye', async () => {
    const from = caller();
    const c = new PrivacyCall(hooks, from);
    const incoming = await c.answer('/twilio/voice/incoming');
    const consentAction = twimlAttr(incoming, 'Gather', 'action')!;
    const nine = await hooks.post(consentAction, { AccountSid: ACCOUNT, CallSid: c.callSid, From: from, Digits: '9' });
    const redirect = nine.text.match(/<Redirect[^>]*>([^<]+)<\/Redirect>/)![1];
    expect(redirect).toBe(`${PUBLIC_URL}/twilio/voice/privacy`);
    await c.answer(redirect.slice(PUBLIC_URL.length));
    expect(c.says).toBe(
      'Privacy line. To delete your records, press 1. To withdraw your consent to recording, and to any callback or follow-up call you asked for, press 2. To cancel a deletion you asked for, press 3.',
    );
    await c.press('');
    expect(c.says).toContain('To delete your records, press 1');
    await c.press('');
    expect(c.ended).toBe(true);
    expect(c.says).toBe('Thank you for calling. Goodbye.');
    expect(peer.messagesTo(from)).toHaveLength(0);
  });

  it('tells a withheld number how else to ask, and does nothing', async () => {
    const before = { sms: peer.messages.length, codes: (await db.query('SELECT COUNT(*) AS n FROM privacy_codes'))[0].n };
    for (const from of ['anonymous', '', 'restricted']) {
      const c = new PrivacyCall(hooks, from);
      await c.answer();
      expect(c.ended).toBe(true);
      expect(c.says).toContain('We cannot verify a withheld number');
      expect(c.says).toContain('write to the service');
    }
    expect(peer.messages.length).toBe(before.sms);
    expect((await db.query('SELECT COUNT(*) AS n FROM privacy_codes'))[0].n).toBe(before.codes);
  });

  it('deletes the caller’s records after the grace period, once verified and confirmed, and leaves other callers alone', async () => {
    const from = caller();
    const other = caller();
    const mine = [await hotlineCall(from, { recording: true }), await hotlineCall(from, { consent: false })];
    const theirs = await hotlineCall(other, { recording: true });
    const [myRecording] = await db.query('SELECT recording_sid FROM recordings WHERE call_id = ?', [mine[0]]);

    const c = await verified(from, '1');
    expect(c.says).toBe(
      'Records of your calls that will be deleted: 2. Records that must be kept for legal reasons: 0. To confirm the deletion, press 1. To stop, press any other key.',
    );
    // Nothing happens before the caller confirms.
    expect(await requestsOf(from)).toHaveLength(0);
    await c.press('1');
    expect(c.ended).toBe(true);
    expect(c.says).toContain('Your records will be deleted in 1 second');

    const [req] = await requestsOf(from);
    expect(req).toMatchObject({
      status: expect.stringMatching(/^(pending|in_progress|done)$/),
      verified_by: 'sms_code',
      calls_total: 2,
      calls_held: 0,
    });
    expect(req.execute_after.getTime() - req.requested_at.getTime()).toBe(1000);
    const done = await finished(req.id);
    expect(done).toMatchObject({ status: 'done', calls_deleted: 2, calls_held: 0, completed_at: expect.any(Date), contact_enc: null });

    expect(await callsOf(from)).toEqual([]);
    const certs = await db.query('SELECT call_id, reason FROM deletion_certificates WHERE deletion_request_id = ? ORDER BY call_id', [
      req.id,
    ]);
    expect(certs).toEqual([...mine].sort().map((call_id) => ({ call_id, reason: 'caller_request' })));
    await eventually(async () => peer.deletedRecordings.includes(myRecording.recording_sid));
    // The caller's other data goes too: codes, SMS records (deleted at Twilio first), preferences.
    for (const t of ['privacy_codes', 'privacy_blocks', 'caller_preferences', 'sms_messages', 'consents']) {
      expect([t, (await db.query(`SELECT COUNT(*) AS n FROM ${t} WHERE caller_pseudonym = ?`, [pseudonymOf(from)]))[0].n]).toEqual([t, 0]);
    }
    expect(
      peer
        .messagesTo(from)
        .filter((m) => m.body.startsWith('Your code is'))
        .every((m) => m.deleted),
    ).toBe(true);

    // The closing SMS, with no content, then deleted at Twilio by the delayed job.
    const closing = await eventually(async () => peer.messagesTo(from).find((m) => m.body === 'Your request has been carried out.'));
    await eventually(async () => closing.deleted);
    expect(
      peer
        .messagesTo(from)
        .map((m) => m.body)
        .filter((b) => !b.startsWith('Your code is')),
    ).toEqual(['Your request has been carried out.']);

    // Someone else's calls are untouched.
    expect(await callsOf(other)).toEqual([theirs]);
    expect(peer.deletedRecordings).not.toContain(
      (await db.query('SELECT recording_sid FROM recordings WHERE call_id = ?', [theirs]))[0].recording_sid,
    );

    const actions = (
      await db.query(
        "SELECT action FROM audit_log WHERE target_id = ? OR target_id = ? OR JSON_UNQUOTE(JSON_EXTRACT(detail, '$.deletionRequestId')) = ? ORDER BY seq",
        [req.id, c.callSid, req.id],
      )
    ).map((r: { action: string }) => r.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'privacy.code_sent',
        'privacy.verified',
        'deletion_request.created',
        'deletion_request.started',
        'call.destroyed',
        'deletion_request.completed',
        'deletion_request.closing_sms_sent',
      ]),
    );

    // Records officers see the request and its outcome: a short caller prefix, never the number, pseudonym or sealed contact.
    const list = await f.http().get('/deletion-requests').set(bearer(officer)).expect(200);
    const item = list.body.items.find((i: { id: string }) => i.id === req.id);
    expect(item).toEqual({
      id: req.id,
      // Carried out: the request's own reference, nothing that links to the number.
      caller: `R-${req.id.slice(0, 8).toUpperCase()}`,
      requestedAt: req.requested_at.toISOString(),
      verifiedBy: 'sms_code',
      status: 'done',
      executeAfter: req.execute_after.toISOString(),
      callsTotal: 2,
      callsHeld: 0,
      callsDeleted: 2,
      completedAt: done.completed_at.toISOString(),
      cancelledAt: null,
      closingSmsPending: false,
    });
    expect(JSON.stringify(list.body)).not.toContain(pseudonymOf(from));
    expect(JSON.stringify(list.body)).not.toContain(`C-${pseudonymOf(from).slice(0, 6).toUpperCase()}`);
    expect((await f.http().get(`/deletion-requests/${req.id}`).set(bearer(officer)).expect(200)).body).toEqual(item);
    for (const role of ['operator', 'supervisor', 'auditor', 'admin'] as const) {
      const who = await f.staff(role);
      await f.http().get(`/deletion-requests/${req.id}`).set(bearer(who)).expect(403);
      await f.http().get('/deletion-requests').set(bearer(who)).expect(403);
    }
    await f.http().get('/deletion-requests').expect(401);
  });

  it('keeps a call under legal hold, says so before confirmation, and reports the request as partly held', async () => {
    const from = caller();
    const held = await hotlineCall(from);
    const free = await hotlineCall(from);
    await f.http().post(`/calls/${held}/legal-hold`).set(bearer(officer)).send({ reason: 'Preservation order' }).expect(201);

    const c = await verified(from, '1');
    expect(c.says).toContain('Records of your calls that will be deleted: 1. Records that must be kept for legal reasons: 1.');
    await c.press('1');
    const [req] = await requestsOf(from);
    const done = await finished(req.id);
    expect(done).toMatchObject({ status: 'partly_held', calls_total: 2, calls_deleted: 1, calls_held: 1 });
    expect(await callsOf(from)).toEqual([held]);
    expect(
      (await db.query('SELECT call_id FROM deletion_certificates WHERE deletion_request_id = ?', [req.id])).map((r: any) => r.call_id),
    ).toEqual([free]);
    expect((await f.http().get(`/deletion-requests/${req.id}`).set(bearer(officer)).expect(200)).body).toMatchObject({
      status: 'partly_held',
      callsHeld: 1,
      callsDeleted: 1,
    });

    // Safe to run twice: again when done, and again as if a run had died before closing the request.
    const processor = worker.get(DeletionRequestProcessor);
    expect(await processor.process(req.id)).toEqual({ outcome: 'nothing_to_do' });
    await reopenDeletionRequest(db, req.id);
    expect(await processor.process(req.id)).toEqual({ outcome: 'partly_held', deleted: 1, held: 1, closingSms: 'none' });
    expect(await requestsOf(from)).toEqual([
      expect.objectContaining({ status: 'partly_held', calls_deleted: 1, calls_held: 1, completed_at: expect.any(Date) }),
    ]);
    expect(await callsOf(from)).toEqual([held]);
  });

  it('acts on nothing that skipped the code: a confirmation without verification, or from another number on the same call', async () => {
    const from = caller();
    const kept = await hotlineCall(from);
    const c = new PrivacyCall(hooks, from);
    await c.answer();
    await c.press('1');
    codeSentTo(from);
    // Straight to the confirmation, code never entered.
    const confirm = await hooks.post('/twilio/voice/privacy/confirm', { AccountSid: ACCOUNT, CallSid: c.callSid, From: from, Digits: '1' });
    expect(said(confirm.text)).toContain('The privacy line cannot take requests at the moment');
    // The right code, but posted for this call by another number.
    const code = codesSent(from).at(-1)!;
    const other = await hooks.post(twimlAttr(c.twiml, 'Gather', 'action')!, {
      AccountSid: ACCOUNT,
      CallSid: c.callSid,
      From: caller(),
      Digits: code,
    });
    expect(said(other.text)).toContain('The privacy line cannot take requests at the moment');
    expect(await requestsOf(from)).toHaveLength(0);
    expect(await callsOf(from)).toEqual([kept]);
  });

  it('still takes a request when no contact key is published, without a closing SMS', async () => {
    const from = caller();
    await hotlineCall(from);
    await redis.del(CONTACT_PUBLIC_KEY_REDIS_KEY);
    try {
      const c = await verified(from, '1');
      await c.press('1');
      const [req] = await requestsOf(from);
      expect(req.contact_enc).toBeNull();
      expect(await finished(req.id)).toMatchObject({ status: 'done', calls_deleted: 1 });
      expect(await callsOf(from)).toEqual([]);
      expect(
        peer
          .messagesTo(from)
          .map((m) => m.body)
          .filter((b) => !b.startsWith('Your code is')),
      ).toEqual([]);
    } finally {
      await worker.get(PrivacyReconciler).publishContactKey();
    }
  });

  it('deletes nothing after three wrong codes: the call ends and the number gets no new code for an hour', async () => {
    const from = caller();
    const kept = await hotlineCall(from);
    const c = new PrivacyCall(hooks, from);
    await c.answer();
    await c.press('1');
    const code = codeSentTo(from);
    const wrong = code === '000000' ? '111111' : '000000';
    await c.press(wrong);
    expect(c.says).toContain('That code is not right. Please try again.');
    await c.press(wrong);
    expect(c.says).toContain('That code is not right');
    await c.press(wrong);
    expect(c.ended).toBe(true);
    expect(c.says).toContain('no new code can be sent to this number for an hour');

    expect(await requestsOf(from)).toHaveLength(0);
    expect(await callsOf(from)).toEqual([kept]);
    const [block] = await db.query('SELECT blocked_until FROM privacy_blocks WHERE caller_pseudonym = ?', [pseudonymOf(from)]);
    expect(block.blocked_until.getTime()).toBeGreaterThan(Date.now() + 59 * 60 * 1000);

    // The right code is no use now, and another call gets no code at all.
    const again = new PrivacyCall(hooks, from);
    await again.answer();
    const sent = peer.messagesTo(from).length;
    await again.press('1');
    expect(again.ended).toBe(true);
    expect(again.says).toContain('We cannot send a code to this number at the moment');
    expect(peer.messagesTo(from)).toHaveLength(sent);
    const actions = (await db.query('SELECT action FROM audit_log WHERE target_id IN (?, ?) ORDER BY seq', [c.callSid, again.callSid])).map(
      (r: any) => r.action,
    );
    expect(actions).toEqual(['privacy.code_sent', 'privacy.code_wrong', 'privacy.code_wrong', 'privacy.locked', 'privacy.code_refused']);
  });

  it('tells the caller plainly when a code has expired, and sends a new one when asked', async () => {
    const from = caller();
    const c = new PrivacyCall(hooks, from);
    await c.answer();
    await c.press('3');
    const old = codeSentTo(from);
    // Ten minutes pass.
    await expireCodes(db, pseudonymOf(from), new Date(Date.now() - 1000));
    await c.press(old);
    expect(c.says).toBe('That code is no longer valid. To get a new code, press 1. Otherwise, please hang up.');
    await c.press('1');
    expect(c.says).toContain('We have sent a six-digit code');
    const fresh = codeSentTo(from);
    await c.press(fresh);
    expect(c.ended).toBe(true);
    expect(c.says).toContain('There is no deletion request waiting that can be cancelled.');
  });

  it('takes a repeated request as the same one, and cancels it within the grace period: nothing is deleted', async () => {
    const from = caller();
    const kept = await hotlineCall(from);
    // The worker is held back, so that the grace period outlasts the calls below.
    const deletions = worker.get(PrivacyWorker).workers.get(QueueName.DeletionRequests)!;
    await deletions.pause();
    try {
      const first = await verified(from, '1');
      await first.press('1');
      const [req] = await requestsOf(from);
      expect(req.status).toBe('pending');
      expect(await deletionQueue.getJobState(jobId.deletionRequest(req.id))).toMatch(/delayed|waiting/);

      const second = await verified(from, '1');
      expect(second.ended).toBe(true);
      expect(second.says).toContain('You have already asked for your records to be deleted, and your request is in hand.');
      expect(await requestsOf(from)).toHaveLength(1);

      const cancel = await verified(from, '3');
      expect(cancel.ended).toBe(true);
      expect(cancel.says).toContain('Your deletion request is cancelled. Nothing will be deleted.');
      const [after] = await requestsOf(from);
      expect(after).toMatchObject({ id: req.id, status: 'cancelled', cancelled_at: expect.any(Date), contact_enc: null });
      expect(await deletionQueue.getJob(jobId.deletionRequest(req.id))).toBeUndefined();
    } finally {
      deletions.resume();
    }
    // Even if the job had still run, it finds the request cancelled.
    const [req] = await requestsOf(from);
    expect(await worker.get(DeletionRequestProcessor).process(req.id)).toEqual({ outcome: 'cancelled' });
    expect(await callsOf(from)).toEqual([kept]);
  });

  /** A callback (or follow-up) on `callId`, filed as the gateway files one: the number sealed to a published one-time key. */
  async function fileCallback(callId: string, from: string, kind: 'callback' | 'followup'): Promise<{ id: string; keyId: string }> {
    await worker.get(PrivacyReconciler).publishContactKey();
    const key = parsePublishedContactKey(await redis.lpop(CONTACT_KEYS_REDIS_KEY))!;
    const id = randomUUID();
    const now = new Date();
    await new CallbackBook(db).request(
      {
        id,
        callId,
        kind,
        callerPseudonym: pseudonymOf(from),
        contactKeyId: key.id,
        sealedNumber: sealContact(key.key, from, id),
        preferredOperatorId: null,
        dueAt: now,
        maxAttempts: 3,
        wordingVersion: 'test',
        consentedAt: now,
      },
      now,
    );
    return { id, keyId: key.id };
  }
  const contactKeyExists = async (id: string) => (await keys.query('SELECT 1 FROM contact_keys WHERE id = ?', [id])).length > 0;

  it('cancels callbacks and follow-ups: withdrawal on the privacy line erases the number at once; a deletion by phone destroys them, held calls included', async () => {
    const from = caller();
    const call = await hotlineCall(from, { consent: false });
    const cb = await fileCallback(call, from, 'callback');
    // The worker moves the sealed number under the call's data key and destroys the one-time key.
    await worker.get(PrivacyReconciler).run();
    const [moved] = await db.query('SELECT sealed_number, number_enc FROM callbacks WHERE id = ?', [cb.id]);
    expect(moved.sealed_number).toBeNull();
    expect(moved.number_enc).not.toBeNull();
    expect(await contactKeyExists(cb.keyId)).toBe(false);
    const c = await verified(from, '2');
    expect(c.says).toContain('Any callback or follow-up you asked for is cancelled');
    const [row] = await db.query('SELECT status, sealed_number, number_enc FROM callbacks WHERE id = ?', [cb.id]);
    expect(row).toEqual({ status: 'withdrawn', sealed_number: null, number_enc: null });
    const [consent] = await db.query("SELECT withdrawn_at FROM consents WHERE call_id = ? AND kind = 'callback'", [call]);
    expect(consent.withdrawn_at).toEqual(expect.any(Date));

    const other = caller();
    const held = await hotlineCall(other);
    const free = await hotlineCall(other);
    await f.http().post(`/calls/${held}/legal-hold`).set(bearer(officer)).send({ reason: 'Preservation order' }).expect(201);
    const onHeld = await fileCallback(held, other, 'followup');
    const onFree = await fileCallback(free, other, 'callback');
    const d = await verified(other, '1');
    await d.press('1');
    const [req] = await requestsOf(other);
    await finished(req.id);
    expect(await db.query('SELECT id FROM callbacks WHERE id = ?', [onFree.id])).toEqual([]);
    const [kept] = await db.query('SELECT status, sealed_number, number_enc FROM callbacks WHERE id = ?', [onHeld.id]);
    expect(kept).toEqual({ status: 'withdrawn', sealed_number: null, number_enc: null });
    expect(await contactKeyExists(onHeld.keyId)).toBe(false);
    expect(await contactKeyExists(onFree.keyId)).toBe(false);
  });

  it('withdraws consent: recordings are deleted at Twilio, the consent shows when, and the next call is not recorded', async () => {
    const from = caller();
    const recorded = await hotlineCall(from, { recording: true });
    const [rec] = await db.query('SELECT id, recording_sid FROM recordings WHERE call_id = ?', [recorded]);

    const c = await verified(from, '2');
    expect(c.ended).toBe(true);
    expect(c.says).toContain('Your consent to recording is withdrawn.');
    const [consent] = await db.query("SELECT granted, withdrawn_at FROM consents WHERE call_id = ? AND kind = 'recording'", [recorded]);
    expect(consent).toMatchObject({ granted: 1, withdrawn_at: expect.any(Date) });
    await eventually(async () => peer.deletedRecordings.includes(rec.recording_sid));
    await eventually(async () => (await db.query('SELECT deleted_at FROM recordings WHERE id = ?', [rec.id]))[0].deleted_at);
    // The call itself stays: withdrawing consent to recording is not a request for deletion.
    expect(await callsOf(from)).toEqual([recorded]);

    // The caller rings again and presses 1: connected to an operator without a recording.
    const op = staff(gatewayEnv, 'operator');
    const console_ = await connectConsole(baseUrlOf(gateway), '/operator', op.token);
    consoles.push(console_);
    await console_.next('status');
    await console_.emit('status:set', { status: 'available' });
    const next = await placeCall(hooks, { from, digits: '1' });
    await console_.next('call:offered', (p) => p.callId === next.callId);
    expect(await console_.emit('call:accept', { callId: next.callId })).toEqual({ ok: true });
    // Into the call's conference, not recorded (a conference recording would need record-from-start).
    const dial = peer.callUpdates.find((u) => u.callSid === next.callSid)!.params.Twiml;
    expect(twimlText(dial, 'Conference')).toBe(next.callId);
    expect(twimlAttr(dial, 'Conference', 'record')).toBeNull();
    const opLeg = peer.requests.find((r) => r.path.endsWith(`/Conferences/${next.callId}/Participants.json`))!;
    expect(opLeg.params.To).toMatch(new RegExp(`^client:op-${op.id}\\?`));
    expect(opLeg.params.ConferenceRecord).toBeUndefined();
    await callStatus(hooks, next, 'completed', 5);
  });

  it('deletes each SMS at Twilio once delivered (status callback), and ignores SIDs it did not send', async () => {
    const from = caller();
    const c = new PrivacyCall(hooks, from);
    await c.answer();
    await c.press('3');
    codeSentTo(from);
    const sms = peer.messagesTo(from).at(-1)!;
    const status = (sid: string, s: string) =>
      hooks.post('/twilio/sms/status', {
        AccountSid: ACCOUNT,
        MessageSid: sid,
        MessageStatus: s,
        SmsStatus: s,
        To: from,
        From: TEST_SECRETS.TWILIO_SMS_FROM,
      });
    expect((await status(sms.sid, 'sent')).status).toBe(200);
    expect(sms.deleted).toBe(false);
    expect((await status(sms.sid, 'delivered')).status).toBe(200);
    expect(sms.deleted).toBe(true);
    const [row] = await db.query('SELECT purpose, deleted_at FROM sms_messages WHERE message_sid = ?', [sms.sid]);
    expect(row).toMatchObject({ purpose: 'code', deleted_at: expect.any(Date) });

    const before = peer.requests.filter((r) => r.method === 'DELETE').length;
    expect((await status(randomSid('SM'), 'delivered')).status).toBe(200);
    expect(peer.requests.filter((r) => r.method === 'DELETE').length).toBe(before);
  });

  it('keeps no number or code in clear in either database or in any log line', async () => {
    expect(numbers.length).toBeGreaterThan(5);
    expect(codes.length).toBeGreaterThan(5);
    const text = (await dumpAllText(db)) + '\n' + (await dumpAllText(keys));
    for (const n of numbers) {
      expect(text).not.toContain(n.slice(1));
    }
    const standalone = (code: string) => new RegExp(`(?<![0-9A-Za-z])${code}(?![0-9A-Za-z])`);
    for (const code of codes) expect(text).not.toMatch(standalone(code));
    expect(text).not.toContain('Your code is');

    // Job payloads and call state in Redis: ids and pseudonyms only.
    const inRedis: string[] = [];
    for (const key of await redis.keys('*')) {
      const type = await redis.type(key);
      if (type === 'string') inRedis.push(key, (await redis.get(key)) ?? '');
      else if (type === 'hash') inRedis.push(key, JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') inRedis.push(key, ...(await redis.lrange(key, 0, -1)));
      else if (type === 'set') inRedis.push(key, ...(await redis.smembers(key)));
      else if (type === 'zset') inRedis.push(key, ...(await redis.zrange(key, 0, -1)));
    }
    const redisText = inRedis.join('\n');
    expect(redisText).toContain('hl-bull:sms:delete-sms.SM');
    for (const n of numbers) expect(redisText).not.toContain(n.slice(1));
    for (const code of codes) expect(redisText).not.toMatch(standalone(code));

    const logs = readFileSync(logCaptureFile()).subarray(logStart).toString('utf8');
    // The capture holds these apps' lines (so a clean scan means something)...
    expect(logs).toContain('deletion request carried out');
    expect(logs).toMatch(/"app":"gateway"/);
    // ...and none of them carries a number or a code.
    expect(
      findLeaks(
        logs,
        numbers.map((value) => ({ kind: 'number', value })),
      ),
    ).toEqual([]);
    for (const code of codes) expect(logs).not.toMatch(standalone(code));
    expect(logs).not.toContain('Your code is');
  });
});
