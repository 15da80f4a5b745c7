import { DataSource } from 'typeorm';
import { openTestDataSources } from '../support/db';
import { TestStaff, bearer } from '../support/factories';
import { withRecordsApp } from '../support/records-app';
import { CallFactory } from './retention-support';

/**
 * Reads of calls being destroyed, many at once. A secure deletion holds the calls' rows locked while
 * it destroys their keys; here a worker dies at that point (the rows stay, the keys are gone).
 * Forty reads wait behind those locks together, more than the pool's twenty connections: every read
 * must be answered (410: destroyed) and the service must go on signing staff in. Before, each read
 * waited inside its transaction for a 21st connection and the service never answered again.
 * And a request that finds no free connection in time is answered 503, not left hanging.
 */
const READS = 40;

async function waitingOnCallLocks(db: DataSource, callIds: string[]): Promise<number> {
  const threads: { Info: string | null }[] = await db.query('SHOW FULL PROCESSLIST');
  return threads.filter(
    (t) => t.Info?.includes('FROM calls') && t.Info.includes('LOCK IN SHARE MODE') && callIds.some((id) => t.Info!.includes(id)),
  ).length;
}

async function until(what: string, probe: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each([
  ['the default acquire timeout', '5000'],
  ['a short acquire timeout', '1000'],
])('records under concurrent reads of calls being destroyed (%s)', (_label, acquireTimeoutMs) => {
  const { f } = withRecordsApp({ DB_POOL_ACQUIRE_TIMEOUT_MS: acquireTimeoutMs });
  let db: DataSource;
  let keys: DataSource;
  let close: () => Promise<void>;
  let calls: CallFactory;
  let supervisor: TestStaff;

  beforeAll(async () => {
    ({ db, keys, close } = await openTestDataSources());
    calls = new CallFactory(db, keys);
    supervisor = await f.staff('supervisor');
  });
  afterAll(() => close());

  it('answers every read (410) once the keys are found gone, never wedges, and still signs staff in', async () => {
    const seeded = await Promise.all(Array.from({ length: READS }, () => calls.seed({ deadlineInMs: 3_600_000, notes: 1 })));
    const ids = seeded.map((c) => c.callId);
    const locker = db.createQueryRunner();
    await locker.connect();
    const answers: Promise<{ status: number; body: any }>[] = [];
    let signInWhileLocked: { status: number; headers: Record<string, string> } | undefined;
    try {
      // As a secure deletion holds them: the rows locked, the keys destroyed.
      await locker.startTransaction();
      await locker.query('SELECT id FROM calls WHERE id IN (?) ORDER BY id FOR UPDATE', [ids]);
      await calls.keystore.destroyMany(ids);
      for (const id of ids)
        answers.push(
          f
            .http()
            .get(`/calls/${id}`)
            .set(bearer(supervisor))
            .set('X-Access-Reason', 'Shift lead review of a call in progress')
            .then((r) => ({ status: r.status, body: r.body })),
        );
      await until('twenty reads to wait on the row locks', async () => (await waitingOnCallLocks(db, ids)) >= 20);
      if (acquireTimeoutMs === '1000') {
        // Every connection is held by a waiting read: a sign-in is told to come back, it does not hang.
        const started = Date.now();
        const r = await f
          .http()
          .post('/auth/login')
          .set('X-Forwarded-For', '198.51.100.240')
          .send({ username: supervisor.username, password: supervisor.password });
        signInWhileLocked = { status: r.status, headers: r.headers as Record<string, string> };
        expect(Date.now() - started).toBeLessThan(10_000);
      }
      // The worker dies here: its transaction rolls back, the rows stay, the keys are gone.
      await locker.rollbackTransaction();
    } finally {
      if (locker.isTransactionActive) await locker.rollbackTransaction();
      await locker.release();
    }
    const results = await Promise.all(answers);
    if (acquireTimeoutMs === '5000') {
      // Every read answered as destroyed: a call whose key is gone is never shown in part.
      expect(results.map((r) => r.status)).toEqual(Array(READS).fill(410));
      expect(results.every((r) => r.body.certificate === null)).toBe(true);
    } else {
      expect(signInWhileLocked).toMatchObject({ status: 503, headers: { 'retry-after': '2' } });
      // Those that had a connection: 410; those still queued for one when it ran out: 503, never a hang.
      expect(results.every((r) => r.status === 410 || r.status === 503)).toBe(true);
      expect(results.filter((r) => r.status === 410).length).toBeGreaterThanOrEqual(20);
    }
    // The service is whole again: staff sign in, and every read of these calls still says 410.
    await f
      .http()
      .post('/auth/login')
      .set('X-Forwarded-For', '198.51.100.241')
      .send({ username: supervisor.username, password: supervisor.password })
      .expect(200);
    const again = await f.http().get(`/calls/${ids[0]}`).set(bearer(supervisor)).set('X-Access-Reason', 'Shift lead review, again');
    expect(again.status).toBe(410);
  }, 60_000);
});
