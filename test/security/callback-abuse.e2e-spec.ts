import { randomBytes, randomUUID } from 'crypto';
import { writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { Connection, createConnection } from 'mysql2/promise';
import { CONTACT_KEYS_REDIS_KEY, parsePublishedContactKey, sealContact } from '@hotline/crypto/contact-seal';
import { envFor } from '../support/env-for';
import { FakeClock } from '../support/fake-clock';
import { TestStaff, bearer } from '../support/factories';
import { clearRouting, startGatewayApp, startTwilioPeer } from '../support/gateway-app';
import { RecordsTestApp, startRecordsApp } from '../support/records-app';
import { TEST_DATABASE_URL, testDatabaseUrls } from '../support/test-config';
import { TwilioPeer } from '../support/twilio-peer';
import { ConsoleClient, SimulatedCall, TwilioWebhooks, callStatus, connectConsole, placeCall, twimlAttr } from '../support/webhooks';
import { attack } from './support/attack-ledger';

/**
 * Issue 24, item 5: callbacks cannot be used to run up call charges, nor redirected. Tried from
 * outside the apps under attack: as a caller with a spoofed caller ID (the signed webhooks Twilio
 * would send, against the local Twilio peer), as the gateway's own MySQL account (hotline_gateway
 * and its password: what an attacker who took the gateway holds), and with the migrator's
 * credentials (a seal planted past every grant). Every attempt is refused: nothing booked, nothing
 * dialled, the wallboard alerted at a cap; what is refused is audited and logged without the number.
 */
const PUBLIC_URL = 'https://hotline.example.test';
/** Ofcom's drama range (London): a GB number that rings nobody. */
const HOTLINE = '+442079460000';
/** A night the line is closed (it is closed every day here), far from the other suites' clocks: the caps' windows are this run's own. */
const AT = new Date('2027-02-10T03:00:00Z');
const PER_NUMBER_PER_DAY = 2;
const PER_HOUR = 5;
const REFUSED_WORDS = 'we cannot call you back on the number you are calling from';
const BOOKED_WORDS = 'We will call you back';

/** GB numbers of Ofcom's drama range (fictional: of GB, ringing nobody), one per caller. */
let next = 100;
const gbNumber = () => `+447700900${String(next++).padStart(3, '0')}`;

function routingFile(): string {
  const path = join(tmpdir(), `hotline-routing-callback-abuse-${process.pid}.yaml`);
  writeFileSync(
    path,
    [
      'version: "abuse-1"',
      'timeZone: UTC',
      'openingHours: {}',
      'maxWait: PT10M',
      'overflow: [callback, voicemail]',
      `hotlineNumber: "${HOTLINE}"`,
      `callbacks: { maxAttempts: 3, retryAfter: PT10M, priority: before_live, caps: { perNumberPerDay: ${PER_NUMBER_PER_DAY}, perHour: ${PER_HOUR} } }`,
    ].join('\n'),
  );
  return path;
}

describe('callbacks cannot be abused: premium and foreign numbers, caps, a redirected number', () => {
  const CALLER = 'a caller with a spoofed caller ID (Twilio’s signed webhooks)';
  const GATEWAY_DB = 'the gateway’s MySQL account (hotline_gateway, its own password)';
  const MIGRATOR = 'whoever writes MySQL past every grant (the migrator’s credentials)';
  let peer: TwilioPeer;
  let gateway: INestApplication;
  let base: string;
  let hooks: TwilioWebhooks;
  let records: RecordsTestApp;
  let redis: Redis;
  let gatewayDb: Connection;
  let migrator: Connection;
  let operator: TestStaff;
  let supervisor: TestStaff;
  let wallboard: ConsoleClient;
  const clock = new FakeClock(AT);
  const calls: SimulatedCall[] = [];
  /** The callbacks booked through the webhooks within the caps, oldest first. */
  let booked: { id: string }[] = [];

  beforeAll(async () => {
    peer = await startTwilioPeer();
    const vars = { TWILIO_API_URL: peer.url, PUBLIC_URL, ROUTING_CONFIG: routingFile(), CALLBACK_COUNTRIES: 'GB' };
    const env = envFor(vars);
    redis = new Redis(env.REDIS_URL);
    await clearRouting(redis);
    records = await startRecordsApp(vars, { clock });
    ({ app: gateway, base, hooks } = await startGatewayApp(env, { clock }));
    gatewayDb = await createConnection({ uri: testDatabaseUrls('gateway').DATABASE_URL });
    migrator = await createConnection({ uri: TEST_DATABASE_URL });
    operator = await records.f.staff('operator');
    supervisor = await records.f.staff('supervisor');
    wallboard = await connectConsole(base, '/supervisor', supervisor.token);
    await wallboard.next('queue:stats');
  });

  afterAll(async () => {
    wallboard?.close();
    for (const [i, c] of calls.entries()) await callStatus(hooks, c, 'completed', 10 + i).catch(() => undefined);
    hooks?.close();
    await gateway?.close();
    await records?.close();
    await peer?.stop();
    await gatewayDb?.end();
    await migrator?.end();
    await redis?.quit();
  });

  const callbacksOf = async (callId: string): Promise<any[]> =>
    ((await migrator.query('SELECT * FROM callbacks WHERE call_id = ?', [callId])) as any)[0];
  const callbackRow = async (id: string): Promise<any> =>
    ((await migrator.query('SELECT * FROM callbacks WHERE id = ?', [id])) as any)[0][0];
  const keysLeft = () => redis.llen(CONTACT_KEYS_REDIS_KEY);
  const capAlerts = (stage: string, cap: string) => wallboard.of('alert:callback_cap').filter((a) => a.stage === stage && a.cap === cap);

  /**
   * A caller rings the closed line from `from` and tries to book a callback: if offered (key 1), agrees
   * (1); if not, asks at the consent question directly all the same. What they heard, and the rows kept.
   */
  async function tryToBook(from: string): Promise<{ call: SimulatedCall; offered: boolean; said: string; left: boolean; rows: any[] }> {
    const call = await placeCall(hooks, { digits: '2', from });
    calls.push(call);
    const post = (url: string, digits: string) =>
      hooks.post(url, { CallSid: call.callSid, From: from, CallStatus: 'in-progress', Digits: digits });
    const offer = await hooks.post(call.waitUrl, { CallSid: call.callSid, From: from, CallStatus: 'in-progress' });
    const offered = offer.text.includes('To ask us to call you back, press 1.');
    let said: string;
    if (offered) {
      const consent = await post(twimlAttr(offer.text, 'Gather', 'action')!, '1');
      said = (await post(twimlAttr(consent.text, 'Gather', 'action')!, '1')).text;
    } else said = (await post(`${PUBLIC_URL}/twilio/voice/overflow/callback-consent?c=${call.callId}`, '1')).text;
    const left = said.includes('<Leave/>');
    if (left)
      said += (
        await hooks.post(twimlAttr(call.enqueueTwiml, 'Enqueue', 'action')!, { CallSid: call.callSid, From: from, QueueResult: 'leave' })
      ).text;
    return { call, offered, said, left, rows: await callbacksOf(call.callId) };
  }

  /** A refused booking: told so (still in the queue), no callback kept, no one-time key spent. */
  async function refusedBooking(from: string): Promise<boolean> {
    const before = await keysLeft();
    const r = await tryToBook(from);
    return !r.left && r.said.includes(REFUSED_WORDS) && r.rows.length === 0 && (await keysLeft()) >= before;
  }

  /** A callback filed straight into MySQL with the gateway's own INSERT right: `number` sealed to a key from the pool. */
  async function fileAsGateway(number: string): Promise<string> {
    const key = parsePublishedContactKey(await redis.lpop(CONTACT_KEYS_REDIS_KEY))!;
    expect(key).not.toBeNull();
    const id = randomUUID();
    await gatewayDb.query(
      `INSERT INTO callbacks (id, call_id, caller_pseudonym, contact_key_id, sealed_number, due_at, max_attempts, created_at)
       VALUES (?, ?, NULL, ?, ?, ?, 3, ?)`,
      [id, randomUUID(), key.id, sealContact(key.key, number, id), new Date(clock.nowMs() - 60_000), clock.now()],
    );
    return id;
  }

  const dial = (id: string) => records.f.http().post(`/callbacks/${id}/dial`).set(bearer(operator));
  const list = () => records.f.http().get('/callbacks').set(bearer(operator)).expect(200);

  it('a premium-rate or special number is never offered a callback, nor booked one, however often it asks', async () => {
    for (const from of ['+449012345678', '+448712345678', '+447012345678', '+19005551234', '+881612345678', '+979123456789'])
      for (let i = 0; i < 2; i++)
        expect(
          await attack(CALLER, `book a callback from a premium or special number (${from.slice(0, 5)}…), again and again`, async () => {
            const offered = (await tryToBook(from)).offered;
            return !offered && (await refusedBooking(from));
          }),
        ).toBe(true);
    expect(wallboard.of('alert:callback_cap')).toEqual([]);
  });

  it('a number of a country callbacks may not call (CALLBACK_COUNTRIES=GB) is never offered one, nor booked one', async () => {
    for (const from of ['+33123456789', '+12125550123', '+18762345678', '+15555550111'])
      expect(
        await attack(CALLER, `book a callback from a number abroad (+${from.slice(1, 3)}…)`, async () => {
          const offered = (await tryToBook(from)).offered;
          return !offered && (await refusedBooking(from));
        }),
      ).toBe(true);
  });

  it('above the per-number cap a booking is refused, nothing kept; the wallboard is alerted once', async () => {
    const a = gbNumber();
    for (let i = 0; i < PER_NUMBER_PER_DAY; i++) {
      const ok = await tryToBook(a);
      expect(ok).toMatchObject({ offered: true, left: true });
      expect(ok.said).toContain(BOOKED_WORDS);
      expect(ok.rows).toHaveLength(1);
    }
    for (let i = 0; i < 3; i++)
      expect(await attack(CALLER, 'book callbacks from one number past its daily cap', () => refusedBooking(a))).toBe(true);
    await wallboard.next('alert:callback_cap', (p) => p.stage === 'booking' && p.cap === 'number');
    expect(capAlerts('booking', 'number')).toHaveLength(1);
    expect(JSON.stringify(wallboard.of('alert:callback_cap'))).not.toContain(a.slice(3));
  });

  it('above the line’s hourly cap a booking is refused whoever asks; the wallboard is alerted once', async () => {
    // PER_NUMBER_PER_DAY booked above; the line takes PER_HOUR in an hour.
    for (let i = PER_NUMBER_PER_DAY; i < PER_HOUR; i++) expect((await tryToBook(gbNumber())).left).toBe(true);
    for (let i = 0; i < 3; i++)
      expect(await attack(CALLER, 'book callbacks from many numbers past the line’s hourly cap', () => refusedBooking(gbNumber()))).toBe(
        true,
      );
    await wallboard.next('alert:callback_cap', (p) => p.stage === 'booking' && p.cap === 'line');
    expect(capAlerts('booking', 'line')).toHaveLength(1);
    // The wallboard's callback board counts the refusals of the last hour (counts only).
    const summary = await records.f.http().get('/callbacks/summary').set(bearer(supervisor)).expect(200);
    expect(summary.body.capRefusalsLastHour).toEqual(
      expect.arrayContaining([
        { stage: 'booking', cap: 'number', count: 3 },
        { stage: 'booking', cap: 'line', count: 3 },
      ]),
    );
  });

  it('the gateway’s own account filing callbacks past its caps, or to premium and foreign numbers: records dials none of them', async () => {
    booked = ((await migrator.query('SELECT id, call_id FROM callbacks WHERE created_at >= ? ORDER BY created_at', [AT])) as any)[0];
    expect(booked.length).toBe(PER_HOUR);
    await list();
    // The first number's two callbacks are dialled (its daily cap: two callbacks); the caller is busy.
    const first = (await list()).body.items.filter((i: any) => booked.slice(0, PER_NUMBER_PER_DAY).some((b: any) => b.id === i.id));
    expect(first).toHaveLength(PER_NUMBER_PER_DAY);
    expect(first.every((i: any) => i.country === 'GB' && i.countryName === 'United Kingdom')).toBe(true);
    const firstNumber = peer.placedCalls.length;
    for (const i of first) {
      const placed = await dial(i.id);
      expect(placed.status).toBe(201);
      peer.hangUp(peer.placedCalls.at(-1)!.sid);
    }
    expect(peer.placedCalls.length).toBe(firstNumber + PER_NUMBER_PER_DAY);
    const number = peer.placedCalls.at(-1)!.to;

    // A third callback of that number, filed by the gateway's account as the gateway files one: the dial is refused at its cap.
    expect(
      await attack(GATEWAY_DB, 'file a callback past the booking caps, to be called back beyond the number’s daily cap', async () => {
        const id = await fileAsGateway(number);
        await list();
        const before = peer.placedCalls.length;
        const r = await dial(id);
        await wallboard.next('alert:callback_cap', (p) => p.stage === 'dialling' && p.cap === 'number');
        return r.status === 409 && /as often as a day allows/.test(r.body.message) && peer.placedCalls.length === before;
      }),
    ).toBe(true);

    for (const [tried, to, reason] of [
      ['file a callback to a premium-rate number', '+449012345678', 'refused'],
      ['file a callback to a satellite number', '+881612345678', 'refused'],
      ['file a callback to a number abroad', '+33123456789', 'refused'],
    ] as const)
      expect(
        await attack(GATEWAY_DB, tried, async () => {
          const id = await fileAsGateway(to);
          const before = peer.placedCalls.length;
          const r = await dial(id);
          const row = await callbackRow(id);
          return (
            r.status === 409 &&
            peer.placedCalls.length === before &&
            row.status === 'closed' &&
            row.last_outcome === reason &&
            row.number_enc === null &&
            row.sealed_number === null
          );
        }),
      ).toBe(true);
    const audits = (
      (await migrator.query("SELECT detail FROM audit_log WHERE action IN ('callback.refused', 'callback.cap_refused')")) as any
    )[0];
    expect(audits.length).toBeGreaterThanOrEqual(4);
    for (const n of ['449012345678', '881612345678', '33123456789', number.slice(1)]) expect(JSON.stringify(audits)).not.toContain(n);
  });

  it('past the line’s hourly cap on calls placed, records places no more; the wallboard is alerted', async () => {
    // The other numbers' callbacks booked above (one each).
    const others = booked.slice(PER_NUMBER_PER_DAY).map((b) => b.id);
    const items = (await list()).body.items.filter((i: any) => others.includes(i.id));
    expect(items).toHaveLength(PER_HOUR - PER_NUMBER_PER_DAY);
    const placedBefore = peer.placedCalls.length;
    // PER_NUMBER_PER_DAY calls placed above; the line places PER_HOUR in an hour.
    for (const i of items) {
      expect((await dial(i.id)).status).toBe(201);
      peer.hangUp(peer.placedCalls.at(-1)!.sid);
    }
    expect(
      await attack(GATEWAY_DB, 'file callbacks to have more calls placed in an hour than the line allows', async () => {
        const id = await fileAsGateway(gbNumber());
        await list();
        const before = peer.placedCalls.length;
        const r = await dial(id);
        await wallboard.next('alert:callback_cap', (p) => p.stage === 'dialling' && p.cap === 'line');
        return r.status === 409 && /as an hour allows/.test(r.body.message) && peer.placedCalls.length === before;
      }),
    ).toBe(true);
    expect(peer.placedCalls.length).toBe(placedBefore + PER_HOUR - PER_NUMBER_PER_DAY);
  });

  it('a seal planted on a callback already moved under its call’s key is refused by records: never dialled, closed, audited', async () => {
    // An hour on: the line's windows are empty again.
    clock.advance(61 * 60_000);
    const attacker = gbNumber();
    for (const [tried, plant] of [
      ['plant its own number’s seal beside the number records moved (then Call back)', 'beside'],
      ['plant its own number’s seal after erasing the moved number (then Call back)', 'instead'],
      ['plant its own number’s seal after the move (then wait for the list to move it)', 'list'],
    ] as const)
      expect(
        await attack(MIGRATOR, tried, async () => {
          const booked = await tryToBook(gbNumber());
          const id = booked.rows[0].id;
          await list(); // records moves the number under the call's key
          expect(await callbackRow(id)).toMatchObject({ sealed_number: null, number_moved_at: expect.any(Date) });
          const key = parsePublishedContactKey(await redis.lpop(CONTACT_KEYS_REDIS_KEY))!;
          await migrator.query(
            `UPDATE callbacks SET contact_key_id = ?, sealed_number = ?${plant === 'beside' ? '' : ', number_enc = NULL'} WHERE id = ?`,
            [key.id, sealContact(key.key, attacker, id), id],
          );
          const before = peer.placedCalls.length;
          let refusedAt: number | null = null;
          if (plant === 'list') await list();
          else refusedAt = (await dial(id)).status;
          const row = await callbackRow(id);
          const [[audit]] = (await migrator.query(
            "SELECT detail FROM audit_log WHERE action = 'callback.seal_refused' AND JSON_EXTRACT(detail, '$.callbackId') = ?",
            [id],
          )) as any;
          return (
            (refusedAt === null || refusedAt === 409) &&
            peer.placedCalls.length === before &&
            !peer.placedCalls.some((p) => p.to === attacker) &&
            row.status === 'closed' &&
            row.last_outcome === 'tampered' &&
            row.sealed_number === null &&
            row.number_enc === null &&
            !!audit &&
            !JSON.stringify(audit).includes(attacker.slice(3))
          );
        }),
      ).toBe(true);
  });

  it('the gateway’s account may erase the number under the call’s key, never make one: a forged ciphertext is never dialled', async () => {
    expect(
      await attack(GATEWAY_DB, 'write a number ciphertext of its own making into a callback', async () => {
        const booked = await tryToBook(gbNumber());
        const id = booked.rows[0].id;
        await list();
        await gatewayDb.query('UPDATE callbacks SET number_enc = ? WHERE id = ?', [randomBytes(80), id]);
        const before = peer.placedCalls.length;
        const r = await dial(id);
        const row = await callbackRow(id);
        return r.status === 409 && peer.placedCalls.length === before && row.status === 'closed' && row.number_enc === null;
      }),
    ).toBe(true);
  });
});
