import { writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { CallbackNumbers } from '@hotline/calls';
import { Env } from '@hotline/config';
import { CONTACT_KEYS_REDIS_KEY } from '@hotline/crypto';
import { dumpAllText, openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { FakeClock } from '../support/fake-clock';
import { TestStaff, bearer } from '../support/factories';
import { clearRouting, startGatewayApp, startTwilioPeer } from '../support/gateway-app';
import { RecordsTestApp, startRecordsApp } from '../support/records-app';
import { PeerCall, TwilioPeer } from '../support/twilio-peer';
import { CallerSimulator } from '../support/caller-simulator';
import { TEST_SECRETS } from '../support/test-config';
import { parseXml } from '../support/twiml-xml';
import {
  ConsoleClient,
  SimulatedCall,
  TwilioWebhooks,
  callStatus,
  connectConsole,
  consoleDevice,
  eventually,
  placeCall,
  testNumber,
  twimlAttr,
  twimlText,
} from '../support/webhooks';

const PUBLIC_URL = 'https://hotline.example.test';
const HOTLINE = '+15550000000';
const BACKUP = '+15550009999';
/** A Wednesday, 10:00 in the line's zone (open), and a Sunday 03:00 (closed). */
const OPEN_AT = new Date('2026-11-25T10:00:00Z');
const CLOSED_AT = new Date('2026-11-29T03:00:00Z');
/** What Twilio sends as `From` for a withheld or unavailable caller ID: none of them is a number to call or show. */
const WITHHELD = [
  '+266696687',
  '+7378742833',
  '+2562533',
  '+86282452253',
  '+8656696',
  'anonymous',
  'restricted',
  'unknown',
  'private',
  'unavailable',
];
const UNAVAILABLE_WORDS = 'we cannot take your call right now';
/**
 * Where callbacks may call, stated rather than left to the default (the hotline number's country, US).
 * The callers here are NANP 555 numbers (testNumber) and Ofcom drama numbers: ranges set aside for
 * fiction, which ring nobody, count as numbers of their main country (libs/calls callback-policy), so
 * they are dialable in tests and the demo as they would be nowhere else.
 */
const CALLBACK_COUNTRIES = 'GB,US';

/** The routing file under test: weekdays 08:00-20:00 UTC, a 5-minute maximum wait, every choice offered. */
function routingFile(): string {
  const path = join(tmpdir(), `hotline-routing-${process.pid}.yaml`);
  writeFileSync(
    path,
    [
      'version: "test-1"',
      'timeZone: UTC',
      'openingHours:',
      ...['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => `  ${d}: ["08:00-20:00"]`),
      'holidays: ["2026-12-25"]',
      'maxWait: PT5M',
      'nobodyAvailableAfter: PT1M',
      'overflow: [keep_waiting, callback, voicemail, backup_line]',
      `backupLine: "${BACKUP}"`,
      `hotlineNumber: "${HOTLINE}"`,
      'callbacks: { maxAttempts: 3, dueWithin: PT1H, retryAfter: PT10M, priority: after_live }',
      'followups: { defaultDelay: PT24H }',
    ].join('\n'),
  );
  return path;
}

/** The words a call heard after its first `<Dial>` (the rest of that document, and every document after it). */
function saidAfterDial(call: PeerCall): string[] {
  const said: string[] = [];
  let dialled = false;
  for (const d of call.documents) {
    for (const verb of parseXml(d.twiml).children) {
      if (verb.name === 'Dial') dialled = true;
      else if (dialled && verb.name === 'Say') said.push(verb.text.trim());
    }
  }
  return said;
}

describe('overflow, callbacks and follow-ups', () => {
  let peer: TwilioPeer;
  let env: Env;
  let gateway: INestApplication;
  let base: string;
  let hooks: TwilioWebhooks;
  let records: RecordsTestApp;
  let db: DataSource;
  let closeDb: () => Promise<void>;
  let redis: Redis;
  let operator: TestStaff;
  let supervisor: TestStaff;
  const clock = new FakeClock(OPEN_AT);
  const consoles: ConsoleClient[] = [];

  beforeAll(async () => {
    peer = await startTwilioPeer();
    const vars = { TWILIO_API_URL: peer.url, PUBLIC_URL, ROUTING_CONFIG: routingFile(), CALLBACK_COUNTRIES };
    env = envFor(vars);
    redis = new Redis(env.REDIS_URL);
    await clearRouting(redis);
    records = await startRecordsApp(vars, { clock });
    ({ app: gateway, base, hooks } = await startGatewayApp(env, { clock }));
    ({ db, close: closeDb } = await openTestDataSources());
    operator = await records.f.staff('operator');
    supervisor = await records.f.staff('supervisor');
  });

  afterEach(() => {
    while (consoles.length) consoles.pop()!.close();
  });

  afterAll(async () => {
    hooks?.close();
    await gateway?.close();
    await records?.close();
    await peer?.stop();
    await closeDb?.();
    await redis?.quit();
  });

  /** Twilio's wait-URL poll for a caller in the queue. */
  const poll = (call: SimulatedCall) => hooks.post(call.waitUrl, { CallSid: call.callSid, From: call.from, CallStatus: 'in-progress' });
  const press = (url: string, call: SimulatedCall, digits: string) =>
    hooks.post(url, { CallSid: call.callSid, From: call.from, CallStatus: 'in-progress', Digits: digits });
  /** The `<Enqueue action>` Twilio asks when the caller has left the queue. */
  const leftQueue = (call: SimulatedCall) =>
    hooks.post(twimlAttr(call.enqueueTwiml, 'Enqueue', 'action')!, { CallSid: call.callSid, From: call.from, QueueResult: 'leave' });
  const overflowOf = (callId: string): Promise<{ reason: string; choice: string | null }[]> =>
    db.query('SELECT reason, choice FROM call_overflow WHERE call_id = ? ORDER BY offered_at', [callId]);
  const callbackOf = (callId: string): Promise<any> =>
    db.query('SELECT * FROM callbacks WHERE call_id = ?', [callId]).then((r: any[]) => r[0]);
  /** The callback of a call once its attempt `attempt` has ended (Twilio's callbacks come on their own time). */
  const afterAttempt = (callId: string, attempt: number): Promise<any> =>
    eventually(async () => {
      const row = await callbackOf(callId);
      return row && row.attempts === attempt && row.status !== 'dialling' ? row : null;
    }, 15_000);
  const http = () => records.f.http();

  async function newCaller(from?: string): Promise<SimulatedCall> {
    const call = await placeCall(hooks, { digits: '2', from });
    peer.registerCall(call.callSid, call.from, HOTLINE);
    return call;
  }

  /** A console of `who`, with its browser's voice device, which takes the legs announced to it (as the console page does). */
  async function operatorConsole(who: TestStaff): Promise<ConsoleClient> {
    const client = await connectConsole(base, '/operator', who.token);
    consoles.push(client);
    const unregister = consoleDevice(peer, client, who.id);
    client.socket.on('disconnect', unregister);
    await client.next('status');
    return client;
  }

  /** A caller past the maximum wait books a callback (1 callback, 1 agree), by the webhooks Twilio would send, and hangs up. */
  async function bookCallback(): Promise<{ call: SimulatedCall; item: any }> {
    clock.set(OPEN_AT);
    const call = await newCaller();
    clock.advance(6 * 60_000);
    const offer = await poll(call);
    const consent = await press(twimlAttr(offer.text, 'Gather', 'action')!, call, '2');
    const booked = await press(twimlAttr(consent.text, 'Gather', 'action')!, call, '1');
    expect(booked.text).toContain('<Leave/>');
    expect((await leftQueue(call)).text).toContain('We will call you back');
    await callStatus(hooks, call, 'completed', 1);
    const list = await http().get('/callbacks').set(bearer(operator)).expect(200);
    return { call, item: list.body.items.find((i: any) => i.callId === call.callId) };
  }

  it('outside opening hours offers the configured choices (not "keep waiting"), records the offer and the choice, and puts the caller through to the backup line', async () => {
    clock.set(CLOSED_AT);
    const call = await newCaller();
    const offer = await poll(call);
    expect(offer.status).toBe(200);
    expect(offer.text).toContain('The line is closed at the moment.');
    expect(offer.text).toContain('To ask us to call you back, press 1.');
    expect(offer.text).toContain('To leave a voice message, press 2.');
    expect(offer.text).toContain('To be put through to our partner line, press 3.');
    expect(offer.text).not.toContain('To keep waiting');
    expect(offer.text).not.toContain('<Pause');
    expect(await overflowOf(call.callId)).toEqual([{ reason: 'closed', choice: null }]);

    const chosen = await press(twimlAttr(offer.text, 'Gather', 'action')!, call, '3');
    expect(chosen.text).toContain('<Leave/>');
    expect(await redis.zscore('hl:{rt}:live', call.callId)).not.toBeNull();
    const next = await leftQueue(call);
    expect(twimlText(next.text, 'Dial')).toBe(BACKUP);
    // How the dial ends decides what follows (its action): nothing is said after the <Dial> itself.
    expect(twimlAttr(next.text, 'Dial', 'action')).toBe(`${PUBLIC_URL}/twilio/voice/overflow/backup-dialled`);
    expect(next.text).toMatch(/<\/Dial><\/Response>$/);
    // Out of the queue for good: routing no longer holds the call (no operator is offered it).
    expect(await redis.zscore('hl:{rt}:live', call.callId)).toBeNull();
    expect(await overflowOf(call.callId)).toEqual([{ reason: 'closed', choice: 'backup_line' }]);

    // On a holiday the line is closed too, whatever the hour.
    clock.set(new Date('2026-12-25T11:00:00Z'));
    const holiday = await newCaller();
    expect((await poll(holiday)).text).toContain('The line is closed at the moment.');

    // The wallboard's count of today's choices.
    clock.set(CLOSED_AT);
    const summary = await http().get('/callbacks/summary').set(bearer(supervisor)).expect(200);
    expect(summary.body.overflowToday.backup_line).toBeGreaterThanOrEqual(1);
    expect(summary.body.overflowToday.offered).toBeGreaterThanOrEqual(1);
    await http().get('/callbacks/summary').set(bearer(operator)).expect(403);
    await callStatus(hooks, call, 'completed', 2);
    await callStatus(hooks, holiday, 'completed', 2);
  });

  it('the backup line, as Twilio runs it: answered there, the caller hears nothing more once that conversation ends; not answered, they hear that we cannot take the call', async () => {
    clock.set(CLOSED_AT);
    const sim = new CallerSimulator({
      gatewayUrl: hooks.baseUrl,
      publicUrl: PUBLIC_URL,
      accountSid: TEST_SECRETS.TWILIO_ACCOUNT_SID,
      authToken: TEST_SECRETS.TWILIO_AUTH_TOKEN,
      peer,
      hangUpProbability: 0,
      waitPollSeconds: 1,
    });
    /** A caller who takes the backup line (closed: 1 callback, 2 voice message, 3 backup line) and stays until the call ends. */
    const throughBackupLine = async () => {
      const c = await sim.placeCall({ from: testNumber(), digits: ['2'], overflowDigits: ['3'], talkSeconds: Infinity });
      await sim.waitFor(c.sid, 'completed', 15_000);
      await peer.settled();
      const call = peer.calls.get(c.sid)!;
      const leg = peer.legsOf(c.sid).map((sid) => peer.calls.get(sid)!);
      return { call, leg };
    };
    try {
      // The backup centre answers, talks, and hangs up.
      peer.callees.set(BACKUP, { answer: 'human', afterMs: 200, talkMs: 2_000 });
      const answered = await throughBackupLine();
      expect(answered.leg).toEqual([expect.objectContaining({ to: BACKUP, status: 'completed' })]);
      expect(answered.leg[0].answeredAt).not.toBeNull();
      expect(answered.call.status).toBe('completed');
      expect(saidAfterDial(answered.call)).toEqual([]);
      expect(answered.call.documents.at(-1)!.twiml).toContain('<Hangup/>');

      // Nobody answers there (or it is busy): the caller is told, then the call ends.
      for (const answer of ['no-answer', 'busy'] as const) {
        peer.callees.set(BACKUP, { answer, afterMs: 200 });
        const unanswered = await throughBackupLine();
        expect(unanswered.leg).toEqual([expect.objectContaining({ to: BACKUP, status: answer })]);
        expect(saidAfterDial(unanswered.call).join(' ')).toContain(UNAVAILABLE_WORDS);
        expect(unanswered.call.status).toBe('completed');
      }
    } finally {
      peer.callees.delete(BACKUP);
      await sim.stop();
    }
  });

  it('while open and within the maximum wait, the caller hears the wait music; past it, the choices with "keep waiting" first', async () => {
    clock.set(OPEN_AT);
    const call = await newCaller();
    const early = await poll(call);
    expect(early.text).toContain('<Pause');
    expect(early.text).not.toContain('<Gather');

    clock.advance(6 * 60_000);
    const late = await poll(call);
    expect(late.text).toContain('We are sorry you have been waiting so long.');
    expect(late.text).toContain('To keep waiting, press 1.');
    expect(late.text).toContain('To ask us to call you back, press 2.');
    const kept = await press(twimlAttr(late.text, 'Gather', 'action')!, call, '1');
    expect(kept.text).toContain('Please stay on the line');
    // Keeping on waiting: music again until another full maximum wait has passed.
    clock.advance(60_000);
    expect((await poll(call)).text).toContain('<Pause');
    clock.advance(5 * 60_000);
    expect((await poll(call)).text).toContain('To keep waiting, press 1.');
    expect(await overflowOf(call.callId)).toEqual([{ reason: 'max_wait', choice: 'keep_waiting' }]);
    await callStatus(hooks, call, 'completed', 1);
  });

  it('a withheld or unavailable caller ID (each of Twilio’s stand-ins) is never offered a callback, nor booked one: the caller is told a callback needs their number', async () => {
    clock.set(CLOSED_AT);
    const keysBefore = await redis.llen(CONTACT_KEYS_REDIS_KEY);
    for (const from of WITHHELD) {
      const call = await newCaller(from);
      const offer = await poll(call);
      expect({ from, offered: offer.text.includes('call you back') }).toEqual({ from, offered: false });
      expect(offer.text).toContain('To leave a voice message, press 1.');
      // Even asked directly (the consent question's answer), nothing is booked: the caller hears why.
      const consent = await press(`${PUBLIC_URL}/twilio/voice/overflow/callback-consent?c=${call.callId}`, call, '1');
      expect({ from, said: consent.text }).toEqual({
        from,
        said: expect.stringContaining('Your number is withheld, so we cannot call you back'),
      });
      expect(consent.text).not.toContain('<Leave');
      expect(await callbackOf(call.callId)).toBeUndefined();
      await callStatus(hooks, call, 'completed', 1);
    }
    expect(await redis.llen(CONTACT_KEYS_REDIS_KEY)).toBe(keysBefore);
  });

  it('a caller past the maximum wait asks for a callback: the number is sealed; an operator calls back through Twilio, which rings them and, once they answer, the operator’s browser; then the number is gone', async () => {
    clock.set(OPEN_AT);
    expect(await redis.llen(CONTACT_KEYS_REDIS_KEY)).toBeGreaterThan(0);
    const call = await newCaller();
    clock.advance(6 * 60_000);
    const offer = await poll(call);
    const consent = await press(twimlAttr(offer.text, 'Gather', 'action')!, call, '2');
    expect(consent.text).toContain('To call you back we must keep the number you are calling from.');
    const booked = await press(twimlAttr(consent.text, 'Gather', 'action')!, call, '1');
    expect(booked.text).toContain('<Leave/>');
    const bye = await leftQueue(call);
    expect(bye.text).toContain('We will call you back');
    expect(bye.text).toContain('<Hangup/>');
    await callStatus(hooks, call, 'completed', 1);

    const cb = await callbackOf(call.callId);
    expect(cb).toMatchObject({ kind: 'callback', status: 'open', attempts: 0, max_attempts: 3 });
    expect(cb.sealed_number).not.toBeNull();
    const [consentRow] = await db.query("SELECT granted, wording_version FROM consents WHERE call_id = ? AND kind = 'callback'", [
      call.callId,
    ]);
    expect(consentRow).toEqual({ granted: 1, wording_version: expect.any(String) });
    expect(await overflowOf(call.callId)).toEqual([{ reason: 'max_wait', choice: 'callback' }]);
    // Sealed: the number is in no table in clear, and not in Redis.
    expect(await dumpAllText(db)).not.toContain(call.from.slice(1));
    for (const key of await redis.keys('*'))
      if ((await redis.type(key)) === 'string') expect(await redis.get(key)).not.toContain(call.from.slice(1));

    // The operator's list: due now, no number; the country being called (records read it from the number).
    const list = await http().get('/callbacks').set(bearer(operator)).expect(200);
    const item = list.body.items.find((i: any) => i.callId === call.callId);
    expect(item).toMatchObject({
      kind: 'callback',
      status: 'open',
      attempts: 0,
      maxAttempts: 3,
      overdue: false,
      country: 'US',
      countryName: 'United States',
    });
    expect(JSON.stringify(list.body)).not.toContain(call.from.slice(1));
    await http().get('/callbacks').set(bearer(supervisor)).expect(403);

    // callbacks.priority after_live: while a caller waits live, nobody is called back.
    const waiting = await newCaller();
    expect((await http().get('/callbacks').set(bearer(operator)).expect(200)).body).toMatchObject({
      priority: 'after_live',
      liveWaiting: 1,
    });
    const held = await http().post(`/callbacks/${item.id}/dial`).set(bearer(operator)).expect(409);
    expect(held.body.message).toContain('callers are waiting live');
    await callStatus(hooks, waiting, 'completed', 1);

    // The operator's console is open (its browser's voice device takes the legs announced to it).
    const console = await operatorConsole(operator);
    // The caller picks up after a short ring, and talks until they hang up.
    peer.callees.set(call.from, { answer: 'human', afterMs: 400, talkMs: 20_000 });
    const dial = await http().post(`/callbacks/${item.id}/dial`).set(bearer(operator)).expect(201);
    expect(dial.body).toMatchObject({ status: 'dialling', country: 'US', countryName: 'United States' });
    const placed = peer.placedCalls.at(-1)!;
    // Placed with answering-machine detection: a person answering is told apart from a voicemail.
    expect(placed).toMatchObject({ to: call.from, from: HOTLINE, machineDetection: 'Enable' });
    expect(JSON.stringify(dial.body)).not.toContain(call.from.slice(1));
    // Once opened, the number lives under the call's data key, not its one-time seal (marked moved: a seal
    // added later is refused); the attempt is counted as it is placed.
    const moved = await callbackOf(call.callId);
    expect(moved).toMatchObject({ status: 'dialling', sealed_number: null, attempts: 1, country: 'US' });
    expect(moved.number_moved_at).toEqual(expect.any(Date));
    expect(moved.number_enc).not.toBeNull();
    // A second operator cannot take the same callback while it is being dialled.
    const other = await records.f.staff('operator');
    await http().post(`/callbacks/${item.id}/dial`).set(bearer(other)).expect(409);

    // Twilio rings the caller; they answer (a person); Twilio asks the call's Url, whose TwiML rings the
    // operator's browser, announced to their console first (purpose callback), and the console takes it.
    const announced = await console.next('voice:leg', (a) => a.callId === call.callId, { timeoutMs: 15_000 });
    expect(announced).toMatchObject({ purpose: 'callback' });
    const leg = await eventually(async () =>
      peer.devices.history.find((h) => h.customParameters.callId === call.callId && h.customParameters.purpose === 'callback'),
    );
    expect(leg).toMatchObject({ identity: `op-${operator.id}`, customParameters: { staffId: operator.id, leg: announced.leg } });
    await eventually(async () => leg.outcome === 'answered');
    const callee = peer.calls.get(placed.sid)!;
    expect(callee.status).toBe('in-progress');
    expect(callee.documents.map((d) => d.twiml).join('')).toContain(`op-${operator.id}`);

    // The caller hangs up: the attempt reached them, the callback is done and its number erased.
    const done = await afterAttempt(call.callId, 1);
    expect(done).toMatchObject({ status: 'done', attempts: 1, last_outcome: 'reached', number_enc: null, sealed_number: null });
    expect(peer.calls.get(placed.sid)!.status).toBe('completed');
    const [attempt] = await db.query('SELECT operator_id, outcome, twilio_call_sid FROM callback_attempts WHERE callback_id = ?', [
      item.id,
    ]);
    expect(attempt).toEqual({ operator_id: operator.id, outcome: 'reached', twilio_call_sid: placed.sid });
    const [audit] = await db.query("SELECT detail FROM audit_log WHERE action = 'callback.dialled' AND target_id = ?", [call.callId]);
    expect(JSON.stringify(audit.detail)).not.toContain(call.from.slice(1));
    peer.callees.delete(call.from);
  });

  it('a callback an answering machine takes is not "reached": nobody’s browser rings, nothing is left on it, the attempt is `machine` and the callback due again (operators see why), closed after its attempts', async () => {
    const { call, item } = await bookCallback();
    expect(item).toMatchObject({ attempts: 0, lastOutcome: null });
    await operatorConsole(operator);
    peer.callees.set(call.from, { answer: 'machine', afterMs: 400 });
    const rangBefore = peer.devices.history.length;
    for (let attempt = 1; attempt <= 3; attempt++) {
      await http().post(`/callbacks/${item.id}/dial`).set(bearer(operator)).expect(201);
      const placed = peer.placedCalls.at(-1)!;
      expect(placed).toMatchObject({ to: call.from, from: HOTLINE, machineDetection: 'Enable' });
      const row = await afterAttempt(call.callId, attempt);
      await eventually(async () => peer.calls.get(placed.sid)?.status === 'completed');
      const machine = peer.calls.get(placed.sid)!;
      expect(machine.answeredBy).toBe('machine_start');
      // callbacks.onMachine: hangup (the default): the machine records nothing, no operator is rung.
      expect(machine.documents).toHaveLength(1);
      expect(machine.documents[0].twiml).toContain('<Hangup/>');
      expect(machine.documents[0].twiml).not.toMatch(/<Say|<Dial|<Play/);
      if (attempt < 3) {
        expect(row).toMatchObject({ status: 'open', last_outcome: 'machine' });
        expect(row.number_enc).not.toBeNull();
        // Due again after retryAfter, like an attempt nobody answered; the list says what happened.
        await http().post(`/callbacks/${item.id}/dial`).set(bearer(operator)).expect(409);
        clock.advance(11 * 60_000);
        const listed = (await http().get('/callbacks').set(bearer(operator)).expect(200)).body.items.find((i: any) => i.id === item.id);
        expect(listed).toMatchObject({ status: 'open', attempts: attempt, lastOutcome: 'machine' });
      } else {
        expect(row).toMatchObject({ status: 'closed', last_outcome: 'machine', number_enc: null, sealed_number: null });
      }
    }
    expect(peer.devices.history.slice(rangBefore).filter((h) => h.customParameters.callId === call.callId)).toEqual([]);
    const attempts = await db.query('SELECT outcome FROM callback_attempts WHERE callback_id = ? ORDER BY started_at', [item.id]);
    expect(attempts.map((a: { outcome: string }) => a.outcome)).toEqual(['machine', 'machine', 'machine']);
    await http().post(`/callbacks/${item.id}/dial`).set(bearer(operator)).expect(409);
    peer.callees.delete(call.from);
  });

  it('records a voice message only after explicit consent: refused, nothing is recorded; agreed, the caller is recorded and the recording is the call’s', async () => {
    clock.set(CLOSED_AT);
    const call = await newCaller();
    const offer = await poll(call);
    const ask = await press(twimlAttr(offer.text, 'Gather', 'action')!, call, '2');
    expect(ask.text).toContain('A voice message is recorded');
    const refused = await press(twimlAttr(ask.text, 'Gather', 'action')!, call, '2');
    expect(refused.text).toContain('Nothing has been kept.');
    expect(refused.text).not.toContain('<Record');
    expect(refused.text).not.toContain('<Leave');

    const again = await press(twimlAttr(offer.text, 'Gather', 'action')!, call, '2');
    const agreed = await press(twimlAttr(again.text, 'Gather', 'action')!, call, '1');
    expect(agreed.text).toContain('<Leave/>');
    const record = await leftQueue(call);
    expect(record.text).toContain('<Record');
    expect(twimlAttr(record.text, 'Record', 'recordingStatusCallback')).toBe(`${PUBLIC_URL}/twilio/recording/status`);
    const consents = await db.query("SELECT granted FROM consents WHERE call_id = ? AND kind = 'voicemail' ORDER BY decided_at", [
      call.callId,
    ]);
    expect(consents.map((c: any) => c.granted)).toEqual([0, 1]);

    const recordingSid = 'RE' + 'a'.repeat(32);
    await hooks.post('/twilio/recording/status', { CallSid: call.callSid, RecordingSid: recordingSid, RecordingStatus: 'completed' });
    const [rec] = await db.query('SELECT call_id, retention_deadline FROM recordings WHERE recording_sid = ?', [recordingSid]);
    expect(rec.call_id).toBe(call.callId);
    expect(rec.retention_deadline).toBeTruthy();
    expect(await overflowOf(call.callId)).toEqual([{ reason: 'closed', choice: 'voicemail' }]);
    await callStatus(hooks, call, 'completed', 3);
  });

  it('the demo’s simulated caller answers the choices: leaves a voice message, recorded as the call’s', async () => {
    clock.set(CLOSED_AT);
    const sim = new CallerSimulator({
      gatewayUrl: hooks.baseUrl,
      publicUrl: PUBLIC_URL,
      accountSid: TEST_SECRETS.TWILIO_ACCOUNT_SID,
      authToken: TEST_SECRETS.TWILIO_AUTH_TOKEN,
      peer,
      hangUpProbability: 0,
      waitPollSeconds: 1,
    });
    try {
      // Closed: 1 callback, 2 voice message; then 1 agrees.
      const c = await sim.placeCall({ from: '+15555550178', digits: ['2'], overflowDigits: ['2', '1'] });
      await sim.waitFor(c.sid, 'completed', 15_000).catch(() => undefined);
      expect(c.state).toBe('completed');
      const [call] = await db.query('SELECT id FROM calls WHERE call_sid = ?', [c.sid]);
      expect(await overflowOf(call.id)).toEqual([{ reason: 'closed', choice: 'voicemail' }]);
      // Twilio reports the recording once processed, after the call's end.
      await peer.settled();
      await eventually(async () => (await db.query('SELECT 1 FROM recordings WHERE call_id = ?', [call.id])).length === 1);
    } finally {
      await sim.stop();
    }
  });

  it('a follow-up scheduled at wrap-up becomes a callback task at its time (clock moved), prefers the first operator, and closes after its attempts with the number erased', async () => {
    clock.set(OPEN_AT);
    const callId = await records.f.call({ operator });
    const [{ call_sid: callSid }] = await db.query('SELECT call_sid FROM calls WHERE id = ?', [callId]);
    const number = '+15557654321';
    peer.registerCall(callSid, number, HOTLINE);
    peer.endQuietly(callSid);

    await http().post(`/calls/${callId}/followups`).set(bearer(operator)).send({ consent: false }).expect(400);
    const other = await records.f.staff('operator');
    await http().post(`/calls/${callId}/followups`).set(bearer(other)).send({ consent: true }).expect(404);
    const scheduled = await http().post(`/calls/${callId}/followups`).set(bearer(operator)).send({ consent: true }).expect(201);
    // 24 hours from now (the fake clock runs on from OPEN_AT while the test does).
    expect(Date.parse(scheduled.body.dueAt) - (OPEN_AT.getTime() + 24 * 3600_000)).toBeGreaterThanOrEqual(0);
    expect(Date.parse(scheduled.body.dueAt) - (OPEN_AT.getTime() + 24 * 3600_000)).toBeLessThan(10_000);
    await http().post(`/calls/${callId}/followups`).set(bearer(operator)).send({ consent: true }).expect(409);
    const [consent] = await db.query("SELECT granted FROM consents WHERE call_id = ? AND kind = 'followup'", [callId]);
    expect(consent.granted).toBe(1);
    expect(await dumpAllText(db)).not.toContain(number.slice(1));

    const listed = async (who: TestStaff) =>
      (await http().get('/callbacks').set(bearer(who)).expect(200)).body.items.find((i: any) => i.callId === callId);
    expect(await listed(operator)).toBeUndefined();
    clock.advance(24 * 3600_000 + 60_000);
    expect(await listed(operator)).toMatchObject({ kind: 'followup', preferred: true, attempts: 0, country: 'US' });
    expect(await listed(other)).toMatchObject({ kind: 'followup', preferred: false });

    // Nobody answers that number: Twilio rings it out (the call's timeout) and says so.
    peer.callees.set(number, { answer: 'no-answer' });
    const id = scheduled.body.id;
    for (let attempt = 1; attempt <= 3; attempt++) {
      await http().post(`/callbacks/${id}/dial`).set(bearer(operator)).expect(201);
      const placed = peer.placedCalls.at(-1)!;
      expect(placed.to).toBe(number);
      const row = await afterAttempt(callId, attempt);
      expect(peer.calls.get(placed.sid)!.status).toBe('no-answer');
      if (attempt < 3) {
        expect(row).toMatchObject({ status: 'open', last_outcome: 'no-answer' });
        // Not due again until retryAfter has passed.
        await http().post(`/callbacks/${id}/dial`).set(bearer(operator)).expect(409);
        clock.advance(11 * 60_000);
      } else {
        expect(row).toMatchObject({ status: 'closed', number_enc: null, sealed_number: null });
      }
    }
    expect(await listed(operator)).toBeUndefined();
    await http().post(`/callbacks/${id}/dial`).set(bearer(operator)).expect(409);
    peer.callees.delete(number);
  });

  it('no follow-up is scheduled for a withheld or unavailable caller ID (each of Twilio’s stand-ins): Twilio’s record of the call holds no number', async () => {
    clock.set(OPEN_AT);
    for (const from of WITHHELD) {
      const callId = await records.f.call({ operator });
      const [{ call_sid: callSid }] = await db.query('SELECT call_sid FROM calls WHERE id = ?', [callId]);
      peer.registerCall(callSid, from, HOTLINE);
      peer.endQuietly(callSid);
      const refused = await http().post(`/calls/${callId}/followups`).set(bearer(operator)).send({ consent: true });
      expect({ from, status: refused.status }).toEqual({ from, status: 409 });
      expect(refused.body.message).toContain('withheld');
      expect(await callbackOf(callId)).toBeUndefined();
    }
  });

  it('a callback that holds a withheld or unavailable caller ID (filed before they were refused) is never dialled: closed, its number erased', async () => {
    clock.set(OPEN_AT);
    const numbers = records.app.get(CallbackNumbers);
    const placedBefore = peer.placedCalls.length;
    for (const from of WITHHELD) {
      const callId = await records.f.call({ operator });
      const now = clock.now();
      const { id } = await numbers.scheduleFollowup(
        { callId, operatorId: operator.id, number: from, dueAt: new Date(now.getTime() - 1000), maxAttempts: 3, wordingVersion: 'test' },
        now,
      );
      const dial = await http().post(`/callbacks/${id}/dial`).set(bearer(operator));
      expect({ from, status: dial.status }).toEqual({ from, status: 409 });
      expect(dial.body.message).toContain('withheld');
      expect(await callbackOf(callId)).toMatchObject({ status: 'closed', last_outcome: 'withheld', number_enc: null, sealed_number: null });
    }
    expect(peer.placedCalls.length).toBe(placedBefore);
  });
});
