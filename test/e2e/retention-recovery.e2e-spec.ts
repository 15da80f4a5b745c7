import { ChildProcess, spawn } from 'child_process';
import { join } from 'path';
import { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { BULL_PREFIX, QueueName } from '@hotline/jobs';
import { redisOptionsFromUrl } from '@hotline/observability';
import { createWorkerApp } from '../../apps/worker/src/bootstrap';
import { openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { TEST_REDIS_URL, testEnvVars } from '../support/test-config';
import { TwilioPeer } from '../support/twilio-peer';
import {
  CallFactory,
  SeededCall,
  countRows,
  dropRetentionQueue,
  readCall,
  shortRetentionFile,
  slowTwilio,
  waitFor,
} from './retention-support';
import { startTwilioPeer } from '../support/gateway-app';

const ROOT = join(__dirname, '..', '..');

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['-r', './scripts/register.js', 'apps/cli/src/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...testEnvVars(), LOG_LEVEL: 'warn', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((r) => child.on('exit', (code) => r({ code, stdout, stderr })));
}

function startWorkerProcess(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['-r', './scripts/register.js', 'apps/worker/src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...testEnvVars(), WORKER_PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

async function seedMany(calls: CallFactory, n: number, hold = false): Promise<SeededCall[]> {
  const out: SeededCall[] = [];
  for (let i = 0; i < n; i += 20) {
    out.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(20, n - i) }, () => calls.seed({ deadlineInMs: -1000, notes: 2, recording: true, hold })),
      )),
    );
  }
  return out;
}

/** Reads the calls over and over, as the records read path would, and remembers anything not whole and not destroyed. */
function startReader(
  db: DataSource,
  keys: DataSource,
  seeded: SeededCall[],
): { stop(): Promise<{ reads: number; gone: number; bad: string[] }> } {
  let running = true;
  let reads = 0;
  let gone = 0;
  const bad: string[] = [];
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const call = seeded[i % seeded.length];
      const seen = await readCall(db, keys, call.callId);
      reads++;
      if (seen.kind === 'gone') gone++;
      else if (seen.kind === 'half') bad.push(`${call.callId}: ${seen.why}`);
      else if (JSON.stringify(seen.notes) !== JSON.stringify(call.noteTexts))
        bad.push(`${call.callId}: ${seen.notes.length} of ${call.noteTexts.length} notes`);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { reads, gone, bad };
    },
  };
}

describe('retention recovers from crashes and from a lost Redis', () => {
  let peer: TwilioPeer;
  let slow: { url: string; close(): Promise<void> };
  let db: DataSource;
  let keys: DataSource;
  let closeDb: () => Promise<void>;
  let calls: CallFactory;
  const retentionFile = shortRetentionFile({ concurrency: 4, batchSize: 20 });

  beforeAll(async () => {
    await dropRetentionQueue();
    peer = await startTwilioPeer();
    slow = await slowTwilio(peer.url, 15);
    ({ db, keys, close: closeDb } = await openTestDataSources());
    calls = new CallFactory(db, keys);
  });

  afterAll(async () => {
    await dropRetentionQueue();
    await slow?.close();
    await peer?.stop();
    await closeDb?.();
  });

  async function expectAllDestroyed(expired: SeededCall[], held: SeededCall[]): Promise<void> {
    const gone = expired.map((c) => c.callId);
    expect(await countRows(db, 'SELECT COUNT(*) FROM deletion_certificates WHERE call_id IN (?)', [gone])).toBe(gone.length);
    for (const t of ['calls', 'notes', 'recordings', 'consents', 'risk_assessments', 'legal_holds']) {
      expect([t, await countRows(db, `SELECT COUNT(*) FROM ${t} WHERE ${t === 'calls' ? 'id' : 'call_id'} IN (?)`, [gone])]).toEqual([
        t,
        0,
      ]);
    }
    expect(await countRows(keys, 'SELECT COUNT(*) FROM data_keys WHERE call_id IN (?)', [gone])).toBe(0);
    for (const c of expired) expect(peer.deletedRecordings).toContain(c.recordingSid);
    for (const c of held) {
      expect(await readCall(db, keys, c.callId)).toEqual({ kind: 'whole', notes: c.noteTexts });
      expect(peer.deletedRecordings).not.toContain(c.recordingSid);
    }
  }

  it('refuses to start on a bad retention file, saying what is wrong', async () => {
    const bad = shortRetentionFile({ scanEvery: 'every hour' });
    const w = startWorkerProcess({ RETENTION_CONFIG: bad, TWILIO_API_URL: peer.url });
    expect(await w.exited).toBe(1);
    expect(w.output()).toContain('RETENTION_CONFIG');
    expect(w.output()).toMatch(/scanEvery: "every hour" is not an ISO 8601 duration/);
  });

  it('npm run cli -- retention:report says so, and exits 1, while an expired call outlives its deadline by a scan interval', async () => {
    const late = await calls.seed({ deadlineInMs: -10_000, notes: 1 });
    const res = await runCli(['retention:report', '--json'], { RETENTION_CONFIG: retentionFile });
    expect(res.code).toBe(1);
    const report = JSON.parse(res.stdout);
    expect(report).toMatchObject({ scanEvery: 'PT1S', ok: false });
    expect(report.overdue).toBeGreaterThanOrEqual(1);
    expect(res.stdout).not.toContain(late.callId);
  });

  it('destroys every expired call after the worker is killed mid-batch and restarted; readers only ever see whole or destroyed calls; holds untouched', async () => {
    const held = await seedMany(calls, 5, true);
    const expired = await seedMany(calls, 160);
    const reader = startReader(db, keys, [...expired, ...held]);
    const env = { RETENTION_CONFIG: retentionFile, TWILIO_API_URL: slow.url };

    const first = startWorkerProcess(env);
    try {
      await waitFor(
        'the first deletions',
        async () =>
          (await countRows(db, 'SELECT COUNT(*) FROM deletion_certificates WHERE call_id IN (?)', [expired.map((c) => c.callId)])) >= 20,
        20_000,
        20,
      );
    } finally {
      first.child.kill('SIGKILL');
    }
    await first.exited;
    const left = await countRows(db, 'SELECT COUNT(*) FROM calls WHERE id IN (?)', [expired.map((c) => c.callId)]);
    expect(left).toBeGreaterThan(0); // it really died mid-run

    const second = startWorkerProcess(env);
    try {
      await waitFor(
        'every expired call destroyed, and its Twilio cleanup done',
        async () =>
          (await countRows(db, 'SELECT COUNT(*) FROM calls WHERE id IN (?)', [expired.map((c) => c.callId)])) === 0 &&
          expired.every((c) => peer.deletedRecordings.includes(c.recordingSid!)),
        25_000,
        200,
      );
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
    const seen = await reader.stop();
    expect(seen.bad).toEqual([]);
    expect(seen.gone).toBeGreaterThan(0);

    await expectAllDestroyed(expired, held);
    const audit = new AuditService(db);
    expect((await audit.verify()).ok).toBe(true);
    expect(
      await countRows(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'call.destroyed' AND target_id IN (?)", [
        expired.map((c) => c.callId),
      ]),
    ).toBe(expired.length);

    // Two starts, still one scheduler of each kind.
    const q = new Queue(QueueName.Retention, { connection: redisOptionsFromUrl(TEST_REDIS_URL), prefix: BULL_PREFIX });
    expect((await q.getJobSchedulers()).map((s) => s.key).sort()).toEqual(['retention-reconcile', 'retention-scan']);
    await q.close();
  }, 60_000);

  it('recovers the work when Redis is flushed mid-run: the next scan finds it in MySQL', async () => {
    const held = await seedMany(calls, 3, true);
    const expired = await seedMany(calls, 150);
    let worker: INestApplication | undefined;
    const redis = new Redis(TEST_REDIS_URL);
    try {
      worker = await createWorkerApp(envFor({ RETENTION_CONFIG: retentionFile, TWILIO_API_URL: slow.url }, 'worker'));
      await worker.init();
      await waitFor(
        'the first deletions',
        async () =>
          (await countRows(db, 'SELECT COUNT(*) FROM deletion_certificates WHERE call_id IN (?)', [expired.map((c) => c.callId)])) >= 10,
        20_000,
        20,
      );
      await redis.flushdb(); // this run's own Redis database only
      expect(await countRows(db, 'SELECT COUNT(*) FROM calls WHERE id IN (?)', [expired.map((c) => c.callId)])).toBeGreaterThan(0);
      await waitFor(
        'every expired call destroyed, and its Twilio cleanup done',
        async () =>
          (await countRows(db, 'SELECT COUNT(*) FROM calls WHERE id IN (?)', [expired.map((c) => c.callId)])) === 0 &&
          expired.every((c) => peer.deletedRecordings.includes(c.recordingSid!)),
        25_000,
        200,
      );
    } finally {
      await worker?.close();
      redis.disconnect();
    }
    await expectAllDestroyed(expired, held);
  }, 60_000);
});
