/**
 * Encrypted note write+read through the path the API uses (CallRepository: lock the call, seal
 * in the mapper, insert; read back and open in the mapper) against the same SQL with the note in
 * clear, in a plain table of the same shape, on the same database in the same run. The ratio
 * encrypted/plaintext says what encryption at rest costs (target >= 0.7).
 */
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import { randomBytes, randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { HotlineConfigModule, loadEnv, loadRetentionConfig } from '@hotline/config';
import { CallRepository, CallsModule, openCall } from '@hotline/calls';
import { assignCall, readCallShared } from '@hotline/calls/fixtures';
import { PersistenceModule } from '@hotline/persistence';
import { Bench, BenchRow } from './types';

const CALLS = 20;
const CONCURRENCY = 8;
const ROUND_MS = 1500;
const ROUNDS = 4;
const WARMUP_MS = 1000;

export default (async (): Promise<BenchRow[]> => {
  const env = loadEnv(['MASTER_KEY', 'PSEUDONYM_KEY']);
  @Module({ imports: [HotlineConfigModule.forRoot(env), PersistenceModule.forRoot(), CallsModule] })
  class EncryptionBenchModule {}
  const ctx = await NestFactory.createApplicationContext(EncryptionBenchModule, { logger: false });
  const ds = ctx.get<DataSource>(getDataSourceToken());
  const repo = ctx.get(CallRepository, { strict: false });
  try {
    await ds.query(`CREATE TABLE IF NOT EXISTS bench_plain_notes (
      id CHAR(36) NOT NULL PRIMARY KEY, call_id CHAR(36) NOT NULL, author_id CHAR(36) NOT NULL, amends_note_id CHAR(36) NULL,
      body BLOB NOT NULL, created_at DATETIME(3) NOT NULL, KEY ix_bench_plain_call (call_id, created_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    const retention = loadRetentionConfig(env.RETENTION_CONFIG);
    const author = randomUUID();
    const callIds: string[] = [];
    for (let i = 0; i < CALLS; i++) {
      const callId = randomUUID();
      await openCall(ds, retention, {
        callId,
        callSid: 'CA' + randomBytes(16).toString('hex'),
        callerPseudonym: null,
        recordingConsent: false,
        wordingVersion: 'bench',
        startedAt: new Date(),
      });
      await assignCall(ds, callId, { operatorId: author });
      await repo.ensureContentKey(callId);
      callIds.push(callId);
    }

    const encrypted = (text: string) => async (i: number) => {
      const callId = callIds[i % CALLS];
      const { id } = await repo.transaction(async (tx) => {
        await repo.lockShared(callId, tx);
        return repo.addNote({ callId, authorId: author, text, amendsNoteId: null }, tx);
      });
      const note = await repo.note(id);
      if (note?.text !== text) throw new Error('encrypted round trip failed');
    };
    const plaintext = (text: string) => async (i: number) => {
      const callId = callIds[i % CALLS];
      const id = randomUUID();
      await ds.transaction(async (tx) => {
        await readCallShared(tx, callId);
        await tx.query(
          'INSERT INTO bench_plain_notes (id, call_id, author_id, amends_note_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          [id, callId, author, null, Buffer.from(text, 'utf8'), new Date()],
        );
      });
      const [row] = await ds.query('SELECT id, call_id, author_id, amends_note_id, body, created_at FROM bench_plain_notes WHERE id = ?', [
        id,
      ]);
      if (Buffer.from(row.body).toString('utf8') !== text) throw new Error('plaintext round trip failed');
    };

    const rows: BenchRow[] = [];
    for (const [label, bytes] of [
      ['1 KB', 1024],
      ['16 KB', 16 * 1024],
    ] as const) {
      const text = 'n'.repeat(bytes);
      await measure(encrypted(text), WARMUP_MS);
      await measure(plaintext(text), WARMUP_MS);
      let enc = { ops: 0, ms: 0 };
      let plain = { ops: 0, ms: 0 };
      // Alternating rounds, so that drift (buffer pool, other load) falls on both sides alike.
      for (let r = 0; r < ROUNDS; r++) {
        enc = add(enc, await measure(encrypted(text), ROUND_MS));
        plain = add(plain, await measure(plaintext(text), ROUND_MS));
      }
      const encRate = (enc.ops / enc.ms) * 1000;
      const plainRate = (plain.ops / plain.ms) * 1000;
      const ratio = encRate / plainRate;
      rows.push({
        name: `note write+read ${label}, encrypted (${CONCURRENCY} concurrent)`,
        value: encRate,
        unit: 'ops/s',
        floor: { name: 'plaintext', value: plainRate, unit: 'ops/s' },
        ratio,
        target: '>= 0.7',
        pass: ratio >= 0.7,
        goal: { on: 'ratio', atLeast: 0.7 },
      });
    }
    return rows;
  } finally {
    await ds.query('DROP TABLE IF EXISTS bench_plain_notes').catch(() => undefined);
    await ctx.close();
  }
}) satisfies Bench;

/** Runs `op` from CONCURRENCY workers for about `ms`; returns the ops done and the time taken. */
async function measure(op: (i: number) => Promise<void>, ms: number): Promise<{ ops: number; ms: number }> {
  let next = 0;
  const started = performance.now();
  const until = started + ms;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) await op(next++);
    }),
  );
  return { ops: next, ms: performance.now() - started };
}

function add(a: { ops: number; ms: number }, b: { ops: number; ms: number }) {
  return { ops: a.ops + b.ops, ms: a.ms + b.ms };
}
