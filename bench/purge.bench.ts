/**
 * Purge of expired calls (10,000 and 100,000 by default; PURGE_BENCH_CALLS=10000,100000 names the
 * sizes) (each with a data key, two encrypted notes, a recording, a consent
 * and an assessment) through the real path: scan, one secure-delete-batch job per scan page on
 * BullMQ, the key destroyed, rows deleted under the hold predicate, a certificate and an audit
 * entry each, the call's Twilio SIDs sealed into the Twilio cleanup queue. Beside it, the floor: a
 * plain batched DELETE of the same rows (and keys) on the same databases in the same run. The
 * target: the secure purge at least half as fast as that floor.
 *
 * Then, a second line: the Twilio cleanup that follows (the recording and the call deleted at a
 * local Twilio peer, three requests a call, the certificates completed, the sealed SIDs and their
 * keys destroyed), timed from the start of the purge to the last cleanup. No target: against real
 * Twilio, its API's rate limits set that pace, not this code.
 */
import { spawn } from 'child_process';
import { randomBytes, randomUUID } from 'crypto';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DataSource } from 'typeorm';
import { associatedData, masterKeyId, seal, wrapDataKey } from '@hotline/crypto';
import { RetentionJobs } from '@hotline/jobs';
import { createWorkerApp } from '../apps/worker/src/bootstrap';
import { openTestDataSources } from '../test/support/db';
import { envFor } from '../test/support/env-for';
import { TEST_SECRETS } from '../test/support/test-config';
import { Bench, BenchRow } from './types';

const SIZES = (process.env.PURGE_BENCH_CALLS ?? '10000,100000')
  .split(',')
  .map((n) => Number(n.trim().replace(/_/g, '')))
  .filter((n) => Number.isInteger(n) && n > 0);
const TARGET_RATIO = 0.5;
const ROOT = join(__dirname, '..');
const CHUNK = 500;

/** Recording SID of each seeded call, to name any call whose recording the peer never saw deleted. */
const recordingOf = new Map<string, string>();

/**
 * Seeds `n` calls. Expired at once, or (`expired` false) a day from their deadline, for `expire` to
 * move their deadlines into the past once every row is in: a scan that runs meanwhile (the
 * worker's start-up scan) must not find a call whose recording, consent and assessment are not
 * written yet.
 */
async function seed(db: DataSource, keys: DataSource, n: number, expired = true): Promise<string[]> {
  const master = Buffer.from(TEST_SECRETS.MASTER_KEY, 'base64');
  const mkId = masterKeyId(master);
  const ids: string[] = [];
  const now = Date.now();
  for (let i = 0; i < n; i += CHUNK) {
    const chunk = Array.from({ length: Math.min(CHUNK, n - i) }, () => randomUUID());
    ids.push(...chunk);
    const started = new Date(now - 3_600_000);
    const deadline = new Date(expired ? now - 60_000 : now + 86_400_000);
    const calls: unknown[] = [];
    const notes: unknown[] = [];
    const recs: unknown[] = [];
    const consents: unknown[] = [];
    const risks: unknown[] = [];
    const dataKeys: unknown[] = [];
    for (const id of chunk) {
      const key = randomBytes(32);
      const op = randomUUID();
      dataKeys.push(id, wrapDataKey(master, key, id), mkId, started);
      calls.push(id, 'CA' + randomBytes(16).toString('hex'), randomBytes(32).toString('hex'), op, started, deadline, started);
      for (let k = 0; k < 2; k++) {
        const noteId = randomUUID();
        notes.push(
          noteId,
          id,
          op,
          seal(key, Buffer.from(`note ${k}: the caller talked about their week, at some length.`), associatedData(id, `note:${noteId}`)),
          started,
        );
      }
      const recordingSid = 'RE' + randomBytes(16).toString('hex');
      recordingOf.set(id, recordingSid);
      recs.push(randomUUID(), id, recordingSid, deadline, started);
      consents.push(randomUUID(), id, started);
      risks.push(randomUUID(), id, op, started);
    }
    const rows = (k: number, tuple: string) => Array.from({ length: chunk.length * k }, () => tuple).join(', ');
    await keys.query(`INSERT INTO data_keys (call_id, wrapped_key, master_key_id, created_at) VALUES ${rows(1, '(?, ?, ?, ?)')}`, dataKeys);
    await db.query(
      `INSERT INTO calls (id, call_sid, caller_pseudonym, operator_id, status, started_at, risk_level, retention_policy, retention_deadline, recording_consent, created_at) VALUES ${rows(1, "(?, ?, ?, ?, 'completed', ?, 'low', 'default', ?, 1, ?)")}`,
      calls,
    );
    await db.query(
      `INSERT INTO notes (id, call_id, author_id, amends_note_id, body_enc, created_at) VALUES ${rows(2, '(?, ?, ?, NULL, ?, ?)')}`,
      notes,
    );
    await db.query(
      `INSERT INTO recordings (id, call_id, recording_sid, status, retention_deadline, created_at) VALUES ${rows(1, "(?, ?, ?, 'completed', ?, ?)")}`,
      recs,
    );
    await db.query(
      `INSERT INTO consents (id, call_id, caller_pseudonym, kind, granted, wording_version, decided_at) VALUES ${rows(1, "(?, ?, NULL, 'recording', 1, 'v1', ?)")}`,
      consents,
    );
    await db.query(
      `INSERT INTO risk_assessments (id, call_id, assessed_by, risk_level, created_at) VALUES ${rows(1, "(?, ?, ?, 'low', ?)")}`,
      risks,
    );
  }
  return ids;
}

/**
 * Waits (up to a minute) until InnoDB has caught up with earlier work: its purge of old row
 * versions and its flushing of dirty pages. Both measurements start from the same quiet state;
 * otherwise whichever runs first after another benchmark pays for that one's writes.
 */
async function innodbQuiet(db: DataSource): Promise<void> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    // Needs the PROCESS privilege; without it, only the dirty pages are waited for.
    const status: string = await db.query('SHOW ENGINE INNODB STATUS').then(
      (r: { Status: string }[]) => r[0].Status,
      () => '',
    );
    const history = Number(/History list length (\d+)/.exec(status)?.[1] ?? 0);
    const pages: { Variable_name: string; Value: string }[] = await db.query("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_%'");
    const get = (name: string) => Number(pages.find((r) => r.Variable_name === `Innodb_buffer_pool_pages_${name}`)?.Value ?? 0);
    if (history < 100 && get('dirty') <= get('total') * 0.02) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function expire(db: DataSource, ids: string[]): Promise<void> {
  const deadline = new Date(Date.now() - 60_000);
  for (let i = 0; i < ids.length; i += 5000) {
    const chunk = ids.slice(i, i + 5000);
    await db.query('UPDATE calls SET retention_deadline = ? WHERE id IN (?)', [deadline, chunk]);
    await db.query('UPDATE recordings SET retention_deadline = ? WHERE call_id IN (?)', [deadline, chunk]);
  }
}

async function remaining(db: DataSource, ids: string[]): Promise<number> {
  let n = 0;
  for (let i = 0; i < ids.length; i += 5000)
    n += Number((await db.query('SELECT COUNT(*) AS n FROM calls WHERE id IN (?)', [ids.slice(i, i + 5000)]))[0].n);
  return n;
}

async function plainDelete(db: DataSource, keys: DataSource, ids: string[]): Promise<void> {
  // Batches of 200, as the secure purge runs here: with much larger IN lists the optimizer may
  // scan a big notes table instead of using its call_id index, and the floor would measure that.
  for (let i = 0; i < ids.length; i += 200) {
    const batch = ids.slice(i, i + 200);
    await keys.query('DELETE FROM data_keys WHERE call_id IN (?)', [batch]);
    await db.transaction(async (m) => {
      for (const t of ['notes', 'risk_assessments', 'consents', 'recordings', 'escalations', 'legal_holds'])
        await m.query(`DELETE FROM ${t} WHERE call_id IN (?)`, [batch]);
      await m.query('DELETE FROM calls WHERE id IN (?)', [batch]);
    });
  }
}

/**
 * The local Twilio peer, in a process of its own: Twilio is another machine, and its work should
 * not be counted against the worker's. Answers a line on stdin with the SIDs of the recordings it
 * deleted (a JSON array).
 */
async function startTwilioPeer(): Promise<{ url: string; deletedRecordings(): Promise<string[]>; stop(): void }> {
  const code = `const { TwilioPeer } = require('./test/support/twilio-peer');
    const peer = new TwilioPeer(process.env.TWILIO_ACCOUNT_SID, process.env.TWILIO_AUTH_TOKEN);
    peer.start().then(() => process.stdout.write(peer.url + '\\n'));
    process.stdin.on('data', () => process.stdout.write(JSON.stringify(peer.deletedRecordings) + '\\n'));`;
  const child = spawn(process.execPath, ['-r', './scripts/register.js', '-e', code], {
    cwd: ROOT,
    env: { ...process.env, ...TEST_SECRETS },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let waiting: ((line: string) => void) | undefined;
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w(line);
      } else lines.push(line);
    }
  });
  const nextLine = () => (lines.length ? Promise.resolve(lines.shift()!) : new Promise<string>((r) => (waiting = r)));
  const url = await nextLine();
  return {
    url,
    deletedRecordings: async () => {
      child.stdin!.write('count\n');
      return JSON.parse(await nextLine()) as string[];
    },
    stop: () => void child.kill(),
  };
}

const bench: Bench = async () => {
  const { db, keys, close } = await openTestDataSources();
  const peer = await startTwilioPeer();
  const dir = mkdtempSync(join(tmpdir(), 'hotline-purge-'));
  const file = join(dir, 'retention.yaml');
  writeFileSync(
    file,
    'scanEvery: PT1H\npolicies:\n  default: PT1S\n  high: PT1S\n  imminent: PT1S\nrecordings: PT1S\ndeletionGrace: PT1S\nbatchSize: 200\nconcurrency: 400\n',
  );
  const rows: BenchRow[] = [];
  try {
    for (const calls of SIZES) rows.push(...(await purge(db, keys, peer, file, calls)));
  } finally {
    peer.stop();
    await close();
  }
  return rows;
};

async function purge(
  db: DataSource,
  keys: DataSource,
  peer: { url: string; deletedRecordings(): Promise<string[]> },
  file: string,
  CALLS: number,
): Promise<BenchRow[]> {
  // The floor first, on a quiet database: measured after the secure purge it would pay for InnoDB's
  // purge of the history that the secure purge left behind.
  const again = await seed(db, keys, CALLS);
  await innodbQuiet(db);
  const t0 = process.hrtime.bigint();
  await plainDelete(db, keys, again);
  const floor = CALLS / (Number(process.hrtime.bigint() - t0) / 1e9);
  // The worker starts (and runs its start-up scan) before the calls exist; they expire once all their rows are in.
  const worker = await createWorkerApp(envFor({ RETENTION_CONFIG: file, TWILIO_API_URL: peer.url }));
  await worker.init();
  let secure: number;
  let cleanupSeconds: number;
  try {
    const [{ n: before }] = await db.query('SELECT COUNT(*) AS n FROM calls');
    const ids = await seed(db, keys, CALLS, false);
    await expire(db, ids);
    await innodbQuiet(db);
    const started = process.hrtime.bigint();
    await worker.get(RetentionJobs).scanNow();
    // Polled with a plain COUNT (cheap), not with the ids: the watching must not load the
    // database it is measuring.
    while (Number((await db.query('SELECT COUNT(*) AS n FROM calls'))[0].n) > Number(before)) await new Promise((r) => setTimeout(r, 50));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if ((await remaining(db, ids)) > 0) throw new Error('the purge finished with some of the seeded calls still present');
    secure = CALLS / seconds;
    while (Number((await db.query('SELECT COUNT(*) AS n FROM twilio_cleanup'))[0].n) > 0) await new Promise((r) => setTimeout(r, 100));
    cleanupSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const [{ n }] = await db.query('SELECT COUNT(*) AS n FROM deletion_certificates WHERE call_id IN (?)', [ids.slice(0, 1000)]);
    if (Number(n) !== Math.min(1000, CALLS)) throw new Error(`expected a certificate per destroyed call, found ${n} of 1000`);
    const deleted = new Set(await peer.deletedRecordings());
    const missed = ids.filter((id) => !deleted.has(recordingOf.get(id)!));
    const [{ n: incomplete }] = await db.query(
      "SELECT COUNT(*) AS n FROM deletion_certificates WHERE call_id IN (?) AND JSON_SEARCH(steps, 'one', 'call_at_twilio') IS NULL",
      [ids.slice(0, 1000)],
    );
    if (Number(incomplete)) throw new Error(`${incomplete} of 1000 certificates do not record the call deleted at Twilio`);
    if (missed.length) {
      const certs: { call_id: string; steps: string }[] = await db.query(
        'SELECT call_id, steps FROM deletion_certificates WHERE call_id IN (?)',
        [missed.slice(0, 5)],
      );
      throw new Error(
        `the Twilio peer never saw ${missed.length} of ${CALLS} recordings deleted; certificates: ${certs.map((c) => `${c.call_id} ${typeof c.steps === 'string' ? c.steps : JSON.stringify(c.steps)}`).join('; ')}`,
      );
    }
  } finally {
    await worker.close();
  }
  const ratio = secure / floor;
  return [
    {
      name: `secure purge of ${CALLS.toLocaleString('en')} expired calls (key, rows, certificate, audit; Twilio SIDs sealed for cleanup)`,
      value: secure,
      unit: 'calls/s',
      floor: { name: 'plain batched DELETE', value: floor, unit: 'calls/s' },
      ratio,
      target: `>= ${TARGET_RATIO} (half the plain DELETE)`,
      pass: ratio >= TARGET_RATIO,
      goal: { on: 'ratio', atLeast: TARGET_RATIO },
      notes:
        'scan + one BullMQ job per scan page of 200 (destroyed together in one transaction each, two at once, as config/retention.yaml ships); the records are gone at this rate',
    },
    {
      name: `  then their Twilio cleanup (${CALLS.toLocaleString('en')} calls: recording, call; certificates completed, sealed SIDs and keys destroyed)`,
      value: CALLS / cleanupSeconds,
      unit: 'calls/s',
      notes:
        'from the start of the purge to the last cleanup; three requests a call to a Twilio peer in its own process; real Twilio rate limits set this pace',
    },
  ];
}

export default bench;
