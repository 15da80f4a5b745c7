import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { SecureDeleteService } from '@hotline/retention';
import { createWorkerApp } from '../../apps/worker/src/bootstrap';
import { openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { TestStaff, bearer } from '../support/factories';
import { FakeClock } from '../support/fake-clock';
import { startTwilioPeer } from '../support/gateway-app';
import { withRecordsApp } from '../support/records-app';
import { TEST_DATABASE_URL, TEST_KEYSTORE_URL } from '../support/test-config';
import { TwilioPeer } from '../support/twilio-peer';
import { CallFactory, countRows, dropRetentionQueue } from './retention-support';

const SCHEMA = 'utf8mb4_unicode_ci';
const RECORDS_DB = new URL(TEST_DATABASE_URL).pathname.slice(1);
const KEYSTORE_DB = new URL(TEST_KEYSTORE_URL).pathname.slice(1);

/**
 * Issue 23: the schema does not depend on how its database was created. The test databases are
 * made with the server's defaults (test/support/global-setup.ts), as an operator's own CREATE
 * DATABASE or a managed database would be; every table states utf8mb4_unicode_ci, or is converted
 * to it by the repair migrations (records/1764000001800, keystore/1764000001801). Before them, the
 * tables of calls-as-conferences took the database's default, and what compares their ids with the
 * calls' failed ("Illegal mix of collations"): an operator's `GET /calls`, and every secure deletion.
 */
describe('a database created with the server defaults', () => {
  const { f } = withRecordsApp();
  let db: DataSource;
  let keys: DataSource;
  let closeDb: () => Promise<void>;

  beforeAll(async () => {
    ({ db, keys, close: closeDb } = await openTestDataSources());
  });
  afterAll(async () => {
    await closeDb?.();
  });

  it("is what the suite runs on: the test databases' default is not the schema's collation", async () => {
    const schemas: { name: string; charset: string; collation: string }[] = await db.query(
      `SELECT SCHEMA_NAME AS name, DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS collation
         FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?, ?) ORDER BY SCHEMA_NAME`,
      [RECORDS_DB, KEYSTORE_DB],
    );
    expect(schemas.map((s) => s.name).sort()).toEqual([RECORDS_DB, KEYSTORE_DB].sort());
    for (const s of schemas) expect(s.collation).not.toBe(SCHEMA);
  });

  it.each([
    ['records', () => db],
    ['keystore', () => keys],
  ])('has every table and every text column of the %s database in utf8mb4 / utf8mb4_unicode_ci', async (_, ds) => {
    const tables: { name: string; collation: string }[] = await ds().query(
      `SELECT TABLE_NAME AS name, TABLE_COLLATION AS collation FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`,
    );
    expect(tables.map((t) => t.name)).toContain('migrations');
    expect(tables.filter((t) => t.collation !== SCHEMA)).toEqual([]);

    const columns: { tbl: string; col: string; charset: string; collation: string }[] = await ds().query(
      `SELECT TABLE_NAME AS tbl, COLUMN_NAME AS col, CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND COLLATION_NAME IS NOT NULL`,
    );
    expect(columns.length).toBeGreaterThan(tables.length);
    // MariaDB's JSON is LONGTEXT with a json_valid check, collated utf8mb4_bin by the type itself
    // (a binary collation compares with any other of its character set); MySQL 8's has none.
    const checks: { tbl: string; clause: string }[] = await ds().query(
      `SELECT TABLE_NAME AS tbl, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()`,
    );
    const isJson = (c: { tbl: string; col: string }) =>
      checks.some((k) => k.tbl === c.tbl && k.clause.replace(/\s/g, '') === `json_valid(\`${c.col}\`)`);
    const wrong = columns.filter(
      (c) => c.charset !== 'utf8mb4' || (c.collation !== SCHEMA && !(c.collation === 'utf8mb4_bin' && isJson(c))),
    );
    expect(wrong).toEqual([]);
  });

  describe('GET /calls', () => {
    let opA: TestStaff, opB: TestStaff;
    beforeAll(async () => {
      [opA, opB] = await Promise.all([f.staff('operator'), f.staff('operator')]);
    });

    it('answers an operator with their calls and those a transfer gave them (call_access compared with calls)', async () => {
      const own = await f.call({ operator: opB, startedAt: new Date(Date.now() - 120_000) });
      const transferred = await f.call({ operator: opA, startedAt: new Date(Date.now() - 60_000) });
      await f.call({ operator: opA, startedAt: new Date(Date.now() - 30_000) });
      await db.query("INSERT INTO call_access (call_id, staff_id, via, granted_at) VALUES (?, ?, 'transfer', ?)", [
        transferred,
        opB.id,
        new Date(),
      ]);
      const res = await f.http().get('/calls').set(bearer(opB));
      expect(res.status).toBe(200);
      expect(res.body.items.map((c: { callId: string }) => c.callId)).toEqual([transferred, own]);
    });
  });

  describe('secure deletion', () => {
    let peer: TwilioPeer;
    let worker: INestApplication;
    // An hour behind: the worker's own scan does not find these calls expired, so the batch below is
    // the one that destroys them.
    const clock = new FakeClock(new Date(Date.now() - 3_600_000));

    beforeAll(async () => {
      await dropRetentionQueue();
      peer = await startTwilioPeer();
      // As the worker's own MySQL account, as shipped.
      worker = await createWorkerApp(envFor({ TWILIO_API_URL: peer.url }, 'worker'), { clock });
      await worker.init();
    });
    afterAll(async () => {
      await worker?.close();
      await dropRetentionQueue();
      await peer?.stop();
    });

    it('destroys expired calls in one batch, their transfers, access grants and supervisions with them', async () => {
      const calls = new CallFactory(db, keys);
      const [a, b] = [await calls.seed({ deadlineInMs: -1000, notes: 1 }), await calls.seed({ deadlineInMs: -1000, notes: 1 })];
      const staff = randomUUID();
      await db.query(
        "INSERT INTO call_transfers (id, call_id, mode, from_staff_id, to_staff_id, outcome, started_at) VALUES (?, ?, 'warm', ?, ?, 'completed', ?)",
        [randomUUID(), a.callId, randomUUID(), staff, new Date()],
      );
      await db.query("INSERT INTO call_access (call_id, staff_id, via, granted_at) VALUES (?, ?, 'transfer', ?)", [
        a.callId,
        staff,
        new Date(),
      ]);
      await db.query("INSERT INTO call_supervisions (id, call_id, supervisor_id, mode, started_at) VALUES (?, ?, ?, 'listen', ?)", [
        randomUUID(),
        a.callId,
        randomUUID(),
        new Date(),
      ]);

      const ids = [a.callId, b.callId];
      const outcomes = await worker.get(SecureDeleteService).destroyMany(
        ids.map((callId) => ({ callId, reason: 'retention' as const })),
        new Date(),
      );
      expect(outcomes.map((o) => o.outcome)).toEqual(['destroyed', 'destroyed']);
      expect(await countRows(db, 'SELECT COUNT(*) FROM calls WHERE id IN (?)', [ids])).toBe(0);
      for (const t of ['call_transfers', 'call_access', 'call_supervisions', 'notes'])
        expect(await countRows(db, `SELECT COUNT(*) FROM ${t} WHERE call_id IN (?)`, [ids])).toBe(0);
      expect(await countRows(db, 'SELECT COUNT(*) FROM deletion_certificates WHERE call_id IN (?)', [ids])).toBe(2);
      expect(await countRows(keys, 'SELECT COUNT(*) FROM data_keys WHERE call_id IN (?)', [ids])).toBe(0);
    });
  });
});
