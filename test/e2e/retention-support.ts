import { randomUUID } from 'crypto';
import { createServer, request as httpRequest } from 'http';
import { AddressInfo } from 'net';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DataSource, EntityManager } from 'typeorm';
import { insertCompletedCall, insertLegalHold, liftLegalHolds, setCallbackDue } from '@hotline/calls/fixtures';
import { ContentCipher, KeystoreService, open as openSealed, associatedData, unwrapDataKey } from '@hotline/crypto';
import { BULL_PREFIX, QueueName } from '@hotline/jobs';
import { Queue } from 'bullmq';
import { redisOptionsFromUrl } from '@hotline/observability';
import { envFor } from '../support/env-for';
import { Factory, TestStaff, bearer } from '../support/factories';
import { PeerCall, TwilioPeer, randomSid } from '../support/twilio-peer';
import { TEST_REDIS_URL, TEST_SECRETS } from '../support/test-config';
import { ConsoleClient, TwilioWebhooks, callStatus, connectConsole, consoleDevice, eventually, placeCall } from '../support/webhooks';

/** A retention file with second-long policies, for tests that watch calls expire. */
export function shortRetentionFile(extra: Record<string, string | number> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'hotline-retention-'));
  const file = join(dir, 'retention.yaml');
  const lines = [
    'scanEvery: PT1S',
    'policies:',
    '  default: PT2S',
    '  high: PT1H',
    '  imminent: P1D',
    'recordings: PT1S',
    'deletionGrace: PT1S',
    'batchSize: 50',
    'concurrency: 4',
  ];
  for (const [k, v] of Object.entries(extra)) {
    const i = lines.findIndex((l) => l.startsWith(`${k}:`));
    if (i >= 0) lines[i] = `${k}: ${v}`;
    else lines.push(`${k}: ${v}`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

export interface SeedOptions {
  /** Milliseconds from now to the call's retention deadline (negative: expired). */
  deadlineInMs: number;
  notes?: number;
  recording?: boolean;
  /** The recording's own deadline, ms from now (defaults to the call's). */
  recordingDeadlineInMs?: number;
  hold?: boolean;
  liftedHold?: boolean;
  escalation?: boolean;
  policy?: string;
  /** The caller's CallSid (one the Twilio peer holds, for a test that watches it deleted there); a random one otherwise. */
  callSid?: string;
}

export interface SeededCall {
  callId: string;
  callSid: string;
  recordingSid?: string;
  noteTexts: string[];
  pseudonym: string;
}

/** Builds what the records app would have written for a call: rows, encrypted notes, its data key. */
export class CallFactory {
  readonly keystore: KeystoreService;
  readonly cipher: ContentCipher;

  constructor(
    private readonly db: DataSource,
    private readonly keys: DataSource,
  ) {
    this.keystore = new KeystoreService(keys, envFor());
    this.cipher = new ContentCipher(this.keystore);
  }

  async seed(o: SeedOptions): Promise<SeededCall> {
    const callId = randomUUID();
    const now = Date.now();
    const started = new Date(now - 60_000);
    const deadline = new Date(now + o.deadlineInMs);
    const pseudonym = randomUUID().replace(/-/g, '').padEnd(64, 'a');
    const operator = randomUUID();
    const callSid = o.callSid ?? randomSid('CA');
    const noteTexts: string[] = [];
    let recordingSid: string | undefined;
    // All at once, as records would have them: a scan must never catch the call half-written.
    const notes: { id: string; sealed: Buffer; createdAt: Date }[] = [];
    for (let i = 0; i < (o.notes ?? 0); i++) {
      const id = randomUUID();
      const text = `note ${i} of ${callId}: caller spoke about ${randomUUID()}`;
      noteTexts.push(text);
      notes.push({ id, sealed: await this.cipher.encrypt(callId, `note:${id}`, text), createdAt: new Date(started.getTime() + i) });
    }
    const escalation = o.escalation
      ? { id: randomUUID(), sealed: await this.cipher.encrypt(callId, 'escalation', '{"disclosedTo":"ambulance"}') }
      : undefined;
    if (o.recording) recordingSid = randomSid('RE');
    await this.db.transaction(async (m) => {
      await insertCompletedCall(m, {
        id: callId,
        callSid,
        callerPseudonym: pseudonym,
        operatorId: operator,
        startedAt: started,
        retentionPolicy: o.policy,
        retentionDeadline: deadline,
        notes,
        escalation,
        recording: recordingSid
          ? { id: randomUUID(), sid: recordingSid, retentionDeadline: new Date(now + (o.recordingDeadlineInMs ?? o.deadlineInMs)) }
          : undefined,
      });
      if (o.liftedHold) await this.placeHold(callId, true, m);
      if (o.hold) await this.placeHold(callId, false, m);
    });
    return { callId, callSid, recordingSid, noteTexts, pseudonym };
  }

  async placeHold(callId: string, lifted = false, m: DataSource | EntityManager = this.db): Promise<void> {
    await insertLegalHold(m, callId, { reason: 'litigation', lifted });
  }

  async liftHolds(callId: string): Promise<void> {
    await liftLegalHolds(this.db, callId);
  }
}

/** The tables (of either database) that still hold the id anywhere in a row. */
export async function tablesMentioning(ds: DataSource, id: string): Promise<string[]> {
  const tables: { t: string }[] = await ds.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()');
  const found: string[] = [];
  for (const { t } of tables) {
    const cols: { c: string }[] = await ds.query(
      'SELECT column_name AS c FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?',
      [t],
    );
    const where = cols.map((c) => `CAST(\`${c.c}\` AS CHAR CHARACTER SET utf8mb4) LIKE ?`).join(' OR ');
    const [row] = await ds.query(
      `SELECT COUNT(*) AS n FROM \`${t}\` WHERE ${where}`,
      cols.map(() => `%${id}%`),
    );
    if (Number(row.n) > 0) found.push(t);
  }
  return found.sort();
}

/**
 * Reads a call the way the records read path must (see `CallsService.read`): in one
 * transaction that first locks the call row in share mode. Returns what a reader would be shown.
 */
export async function readCall(
  db: DataSource,
  keys: DataSource,
  callId: string,
): Promise<{ kind: 'whole'; notes: string[] } | { kind: 'gone'; certified: boolean } | { kind: 'half'; why: string }> {
  return db.transaction('REPEATABLE READ', async (m) => {
    const [call] = await m.query('SELECT id FROM calls WHERE id = ? LOCK IN SHARE MODE', [callId]);
    if (!call) {
      const [cert] = await m.query('SELECT id FROM deletion_certificates WHERE call_id = ?', [callId]);
      return cert ? { kind: 'gone', certified: true } : { kind: 'half', why: 'no call row and no certificate' };
    }
    const notes: { id: string; body_enc: Buffer }[] = await m.query(
      'SELECT id, body_enc FROM notes WHERE call_id = ? ORDER BY created_at',
      [callId],
    );
    const [key] = await keys.query('SELECT wrapped_key FROM data_keys WHERE call_id = ?', [callId]);
    if (!key) return notes.length ? { kind: 'gone', certified: false } : { kind: 'whole', notes: [] };
    const dataKey = unwrapDataKey(Buffer.from(TEST_SECRETS.MASTER_KEY, 'base64'), Buffer.from(key.wrapped_key), callId);
    try {
      return {
        kind: 'whole',
        notes: notes.map((n) => openSealed(dataKey, Buffer.from(n.body_enc), associatedData(callId, `note:${n.id}`)).toString('utf8')),
      };
    } catch (e) {
      return {
        kind: 'half',
        why: `note does not decrypt (${(e as Error).message})`,
      };
    }
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false | null>,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Removes the retention queue (jobs and schedulers) from the test Redis db, so no later suite inherits them. */
export async function dropRetentionQueue(): Promise<void> {
  const q = new Queue(QueueName.Retention, {
    connection: redisOptionsFromUrl(TEST_REDIS_URL),
    prefix: BULL_PREFIX,
  });
  await q.obliterate({ force: true });
  await q.close();
}

export async function countRows(db: DataSource, sql: string, params: unknown[] = []): Promise<number> {
  const [r] = await db.query(sql, params);
  return Number(Object.values(r)[0]);
}

/** A pass-through to the Twilio peer that answers each request `delayMs` late (a slow Twilio). */
export async function slowTwilio(target: string, delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () =>
      setTimeout(() => {
        const upstream = httpRequest(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
        upstream.on('error', () => {
          res.statusCode = 502;
          res.end();
        });
        upstream.end(Buffer.concat(chunks));
      }, delayMs),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * A call through everything a call opens at Twilio, in conferences as production bridges it (the
 * tests' default): the caller (recording consented) answered by operator A's browser leg; a
 * supervisor listens and leaves; a warm transfer to operator B (B's leg joins, A's leaves); the
 * caller hangs up (the conference's recording is reported after); B schedules a follow-up, records
 * places it from the hotline number, the caller answers, B's browser is put through (a `<Dial>` leg
 * of the callback's call), and the caller hangs up. Every leg is a Call at the peer; the conference
 * legs have no parent there.
 */
export interface ConferenceCallTrail {
  callId: string;
  /** The caller's own call. */
  callSid: string;
  from: string;
  /** The callback's outbound call, placed to the caller. */
  callbackSid: string;
  /** The moment the callback's call ended at the peer. */
  callbackEndedAt: number;
}

export async function callThroughEverything(p: {
  peer: TwilioPeer;
  hooks: TwilioWebhooks;
  base: string;
  f: Factory;
  db: DataSource;
  clients: ConsoleClient[];
  from?: string;
}): Promise<ConferenceCallTrail> {
  const { peer, hooks, base, f, db, clients } = p;
  const signIn = async (role: 'operator' | 'supervisor'): Promise<{ staff: TestStaff; client: ConsoleClient }> => {
    const staff = await f.staff(role);
    const client = await connectConsole(base, role === 'operator' ? '/operator' : '/supervisor', staff.token);
    clients.push(client);
    // The browser's voice device takes the legs announced to this console.
    client.socket.on('disconnect', consoleDevice(peer, client, staff.id));
    if (role === 'operator') {
      await client.next('status');
      expect(await client.emit('status:set', { status: 'available' })).toEqual({ ok: true, status: 'available' });
    } else await client.next('queue:stats');
    return { staff, client };
  };
  const a = await signIn('operator');
  const sup = await signIn('supervisor');
  const call = await placeCall(hooks, { digits: '1', from: p.from });
  await a.client.next('call:offered', (o) => o.callId === call.callId);
  expect(await a.client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
  await a.client.next('call:connected', (o) => o.callId === call.callId);
  await peer.settled();

  // A supervisor listens (a browser leg of theirs dialled into the conference), then leaves.
  expect(
    await sup.client.emit('call:supervise', { callId: call.callId, mode: 'listen', reason: 'listening in on a new operator' }),
  ).toEqual({
    ok: true,
  });
  await a.client.next('supervision', (o) => o.callId === call.callId);
  expect(await sup.client.emit('call:unsupervise', { callId: call.callId })).toEqual({ ok: true });
  await a.client.next('supervision:ended', (o) => o.callId === call.callId);

  // A warm transfer to B: B's leg joins, A's leaves; the call is B's.
  const b = await signIn('operator');
  expect(await a.client.emit('call:transfer', { callId: call.callId, mode: 'warm', to: { operatorId: b.staff.id } })).toEqual({ ok: true });
  await a.client.next('transfer:status', (o) => o.callId === call.callId && o.state === 'connected');
  await b.client.next('call:connected', (o) => o.callId === call.callId);
  expect(await a.client.emit('transfer:complete', { callId: call.callId })).toEqual({ ok: true });
  await a.client.next('call:ended', (o) => o.callId === call.callId);
  expect(await a.client.emit('wrapup:done', { callId: call.callId })).toEqual({ ok: true });
  // Offered no other call (a test may place more).
  expect(await a.client.emit('status:set', { status: 'away' })).toMatchObject({ ok: true });
  await peer.settled();

  // The caller hangs up: the conference ends, its recording is reported after.
  peer.conferences.hangUp(call.callSid);
  await peer.settled();
  expect((await callStatus(hooks, call, 'completed', 5)).status).toBe(200);
  await b.client.next('call:ended', (o) => o.callId === call.callId);
  expect(await b.client.emit('wrapup:done', { callId: call.callId })).toEqual({ ok: true });
  expect(await b.client.emit('status:set', { status: 'away' })).toMatchObject({ ok: true });
  await eventually(async () => Number((await db.query('SELECT COUNT(*) AS n FROM recordings WHERE call_id = ?', [call.callId]))[0].n) > 0);
  await eventually(
    async () => (await db.query('SELECT operator_id FROM calls WHERE id = ?', [call.callId]))[0]?.operator_id === b.staff.id,
  );

  // B's follow-up, made due now, and dialled: the caller answers, B's browser is put through, the caller hangs up.
  const followup = await f.http().post(`/calls/${call.callId}/followups`).set(bearer(b.staff)).send({ consent: true, inHours: 1 });
  expect(followup.status).toBe(201);
  await setCallbackDue(db, followup.body.id, new Date(Date.now() - 60_000));
  expect((await f.http().post(`/callbacks/${followup.body.id}/dial`).set(bearer(b.staff))).status).toBe(201);
  const placed = peer.placedCalls.at(-1)!;
  expect(placed.to).toBe(call.from);
  const bridged = await eventually(
    async () => peer.legsOf(placed.sid).some((sid) => peer.calls.get(sid)?.status === 'in-progress'),
    10_000,
  ).catch(() => {
    throw new Error(
      `the callback's <Dial> to B's browser never answered: ${JSON.stringify(peer.legsOf(placed.sid).map((s) => peer.calls.get(s)?.status))}`,
    );
  });
  expect(bridged).toBe(true);
  peer.hangUp(placed.sid);
  const callbackEndedAt = Date.now();
  return { callId: call.callId, callSid: call.callSid, from: call.from, callbackSid: placed.sid, callbackEndedAt };
}

/**
 * Every Call of these calls at the peer, and every conference recording: the callers' own calls, every
 * participant of their conferences (REST-added legs name the conference; TwiML-joined ones are in its
 * `joined`), the legs a `<Dial>` of any of them opened, the calls placed back to the caller and theirs.
 */
export function callsAtTwilioOf(
  peer: TwilioPeer,
  trail: { callIds: string[]; callSids: string[]; outboundSids: string[] },
): { calls: PeerCall[]; recordings: string[] } {
  const sids = new Set<string>([...trail.callSids, ...trail.outboundSids]);
  const conferences = [...peer.conferences.all.values()].filter((c) => trail.callIds.includes(c.friendlyName));
  for (const c of conferences) c.joined.forEach((sid) => sids.add(sid));
  for (const c of peer.calls.values()) if (c.conference && trail.callIds.includes(c.conference)) sids.add(c.sid);
  for (const sid of [...sids]) peer.legsOf(sid).forEach((leg) => sids.add(leg));
  return {
    calls: [...sids].map((sid) => peer.calls.get(sid)).filter((c): c is PeerCall => !!c),
    recordings: conferences.flatMap((c) => c.recordingSids),
  };
}

/** What of `calls` Twilio still holds, described (role, status) for a readable failure. */
export function notDeleted(calls: PeerCall[]): string[] {
  return calls
    .filter((c) => !c.deleted)
    .map(
      (c) =>
        `${c.sid} ${c.direction}${c.conference ? ' conference' : ''}${c.parentCallSid ? ' child' : ''} to ${c.to.split('?')[0].slice(0, 12)} ${c.status}`,
    );
}
