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
import { CallDestructionSteps } from '@hotline/calls';
import {
  FinishedCallSeed,
  certificateSteps,
  countCalls,
  deleteCallRowsPlainly,
  insertFinishedCalls,
  setRetentionDeadline,
} from '@hotline/calls/fixtures';
import { associatedData, masterKeyId, seal, wrapDataKey } from '@hotline/crypto';
import { deleteDataKeysPlainly, insertDataKeys } from '@hotline/crypto/fixtures';
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
    const calls: FinishedCallSeed[] = [];
    const dataKeys: { callId: string; wrappedKey: Buffer; masterKeyId: string; createdAt: Date }[] = [];
    for (const id of chunk) {
      const key = randomBytes(32);
      const op = randomUUID();
      dataKeys.push({ callId: id, wrappedKey: wrapDataKey(master, key, id), masterKeyId: mkId, createdAt: started });
      const notes = [0, 1].map((k) => {
        const noteId = randomUUID();
        const text = `note ${k}: the caller talked about their week, at some length.`;
        return { id: noteId, sealed: seal(key, Buffer.from(text), associatedData(id, `note:${noteId}`)) };
      });
      const recordingSid = 'RE' + randomBytes(16).toString('hex');
      recordingOf.set(id, recordingSid);
      calls.push({
        id,
        callSid: 'CA' + randomBytes(16).toString('hex'),
        callerPseudonym: randomBytes(32).toString('hex'),
        operatorId: op,
        startedAt: started,
        retentionDeadline: deadline,
        notes,
        recording: { id: randomUUID(), sid: recordingSid },
        consentId: randomUUID(),
        riskAssessmentId: randomUUID(),
      });
    }
    await insertDataKeys(keys, dataKeys);
    await insertFinishedCalls(db, calls);
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
    await setRetentionDeadline(db, ids.slice(i, i + 5000), deadline);
  }
}

async function remaining(db: DataSource, ids: string[]): Promise<number> {
  let n = 0;
  for (let i = 0; i < ids.length; i += 5000) n += await countCalls(db, ids.slice(i, i + 5000));
  return n;
}

async function plainDelete(db: DataSource, keys: DataSource, ids: string[]): Promise<void> {
  // Batches of 200, as the secure purge runs here: with much larger IN lists the optimizer may
  // scan a big notes table instead of using its call_id index, and the floor would measure that.
  for (let i = 0; i < ids.length; i += 200) {
    const batch = ids.slice(i, i + 200);
    await deleteDataKeysPlainly(keys, batch);
    await db.transaction((m) => deleteCallRowsPlainly(m, batch));
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
    const before = await countCalls(db);
    const ids = await seed(db, keys, CALLS, false);
    await expire(db, ids);
    await innodbQuiet(db);
    const started = process.hrtime.bigint();
    await worker.get(RetentionJobs).scanNow();
    // Polled with a plain COUNT (cheap), not with the ids: the watching must not load the
    // database it is measuring.
    while ((await countCalls(db)) > before) await new Promise((r) => setTimeout(r, 50));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if ((await remaining(db, ids)) > 0) throw new Error('the purge finished with some of the seeded calls still present');
    secure = CALLS / seconds;
    const destruction = worker.get(CallDestructionSteps, { strict: false });
    while ((await destruction.twilioCleanupBacklog()).batches > 0) await new Promise((r) => setTimeout(r, 100));
    cleanupSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const certified = await certificateSteps(db, ids.slice(0, 1000));
    const n = certified.length;
    if (n !== Math.min(1000, CALLS)) throw new Error(`expected a certificate per destroyed call, found ${n} of 1000`);
    const deleted = new Set(await peer.deletedRecordings());
    const missed = ids.filter((id) => !deleted.has(recordingOf.get(id)!));
    const stepsOf = (steps: unknown) => (typeof steps === 'string' ? steps : JSON.stringify(steps));
    const incomplete = certified.filter((c) => !stepsOf(c.steps).includes('"call_at_twilio"')).length;
    if (incomplete) throw new Error(`${incomplete} of 1000 certificates do not record the call deleted at Twilio`);
    if (missed.length) {
      const certs = await certificateSteps(db, missed.slice(0, 5));
      throw new Error(
        `the Twilio peer never saw ${missed.length} of ${CALLS} recordings deleted; certificates: ${certs.map((c) => `${c.callId} ${stepsOf(c.steps)}`).join('; ')}`,
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
