import { randomBytes } from 'crypto';
import { CallOversight } from '@hotline/calls';
import { TestStaff, bearer } from '../support/factories';
import { withRecordsApp } from '../support/records-app';

const K = 5;
const COLUMNS = ['period', 'partOfDay', 'weekend', 'outcome', 'wait', 'talk', 'risk', 'category', 'escalated'];

/** k-anonymity, checked here on its own terms: every row is identical, column for column, to at least k - 1 other rows. */
function kAnonymous(rows: Record<string, string>[], k: number): { ok: boolean; smallest: number } {
  const counts = new Map<string, number>();
  for (const r of rows) {
    const key = JSON.stringify(COLUMNS.map((c) => r[c]));
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const smallest = Math.min(...counts.values());
  return { ok: rows.length === 0 || smallest >= k, smallest };
}

describe('anonymised research export', () => {
  const records = withRecordsApp({ RESEARCH_K: String(K) });
  const { f } = records;
  let officer: TestStaff;
  let op: TestStaff;
  let consenting = 0;

  /** A call with the given shape; `research`: the caller's answer (granted, declined, withdrawn later, or never asked). */
  async function seed(
    startedAt: string,
    shape: { waitS: number; talkS: number | null; risk?: string; category?: string },
    research: 'granted' | 'declined' | 'withdrawn' | 'none',
  ): Promise<string> {
    const started = new Date(startedAt);
    const pseudonym = randomBytes(32).toString('hex');
    const callId = await f.call({ operator: shape.talkS === null ? undefined : op, startedAt: started, callerPseudonym: pseudonym });
    const answered = shape.talkS === null ? null : new Date(started.getTime() + shape.waitS * 1000);
    await f.db.query('UPDATE calls SET status = ?, answered_at = ?, ended_at = ?, risk_level = ?, wrapup_category = ? WHERE id = ?', [
      shape.talkS === null ? 'abandoned' : 'completed',
      answered,
      new Date(started.getTime() + (shape.waitS + (shape.talkS ?? 0)) * 1000),
      shape.risk ?? 'none',
      shape.category ?? null,
      callId,
    ]);
    if (research !== 'none') {
      await records.app.get(CallOversight).recordConsent({
        callId,
        callerPseudonym: pseudonym,
        kind: 'research',
        granted: research !== 'declined',
        wordingVersion: 'test',
        at: started,
      });
      if (research === 'withdrawn')
        await f.db.query("UPDATE consents SET withdrawn_at = NOW(3) WHERE call_id = ? AND kind = 'research'", [callId]);
    }
    if (research === 'granted') consenting++;
    return callId;
  }

  beforeAll(async () => {
    [officer, op] = await Promise.all([f.staff('records_officer'), f.staff('operator')]);
    // March 2025: consenting callers, three common shapes on weekday evenings, and a few rare calls.
    for (let i = 0; i < 8; i++)
      await seed(
        `2025-03-${String(3 + (i % 5)).padStart(2, '0')}T19:${10 + i}:00Z`,
        { waitS: 10, talkS: 600, category: 'Emotional support' },
        'granted',
      );
    for (let i = 0; i < 7; i++)
      await seed(
        `2025-03-${String(10 + (i % 5)).padStart(2, '0')}T20:${10 + i}:00Z`,
        { waitS: 20, talkS: 200, risk: 'low', category: 'Relationships or family' },
        'granted',
      );
    for (let i = 0; i < 6; i++)
      await seed(`2025-03-${String(17 + (i % 5)).padStart(2, '0')}T21:${10 + i}:00Z`, { waitS: 15, talkS: null }, 'granted');
    // Rare: one imminent-risk night call on a Sunday, one with a free-text category.
    await seed('2025-03-09T03:12:00Z', { waitS: 200, talkS: 4000, risk: 'imminent', category: 'Suicidal thoughts' }, 'granted');
    await seed('2025-03-11T19:40:00Z', { waitS: 10, talkS: 600, category: 'Rang from the bridge on Elm Street' }, 'granted');
    // April 2025: plenty of calls, none of them consenting to research.
    for (let i = 0; i < 6; i++)
      await seed(`2025-04-0${1 + (i % 3)}T19:${10 + i}:00Z`, { waitS: 10, talkS: 600, category: 'Emotional support' }, 'none');
    for (let i = 0; i < 6; i++)
      await seed(`2025-04-0${1 + (i % 3)}T19:${20 + i}:00Z`, { waitS: 10, talkS: 600, category: 'Emotional support' }, 'declined');
    for (let i = 0; i < 6; i++)
      await seed(`2025-04-0${1 + (i % 3)}T19:${30 + i}:00Z`, { waitS: 10, talkS: 600, category: 'Emotional support' }, 'withdrawn');
  });

  const range = { from: '2025-01-01T00:00:00Z', to: '2025-06-01T00:00:00Z' };

  it('exports only consenting calls, structured and coarsened, every row k-anonymous, with a suppression report', async () => {
    const res = await f.http().get('/research/export').query(range).set(bearer(officer)).expect(200);
    const { rows, report } = res.body;
    expect(kAnonymous(rows, K)).toEqual({ ok: true, smallest: expect.any(Number) });
    expect(kAnonymous(rows, K).smallest).toBeGreaterThanOrEqual(K);
    // Only March (the consenting month): no April row, however many April calls there were.
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r: any) => r.period))).toEqual(new Set(['2025-03']));
    expect(report).toMatchObject({ k: K, considered: consenting });
    expect(report.exported + report.suppressedRows).toBe(consenting);
    expect(report.exported).toBe(rows.length);
    // The rare night call is suppressed, and the free-text category never leaves.
    expect(report.suppressedRows).toBeGreaterThanOrEqual(1);
    expect(rows.some((r: any) => r.risk === 'imminent')).toBe(false);
    const text = JSON.stringify(res.body);
    expect(text).not.toMatch(/Elm Street|bridge/);
    // Structured fields only: no ids, pseudonyms or exact times.
    expect(Object.keys(rows[0]).sort()).toEqual([...COLUMNS].sort());
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-|[0-9a-f]{64}|T\d\d:\d\d/);
  });

  it('exports CSV that passes the same check, and audits each export', async () => {
    const before = await f.count('audit_log', "action = 'research.exported'");
    const res = await f.http().get('/research/export/csv').query(range).set(bearer(officer)).expect(200);
    const lines = res.text.split('\r\n').filter((l) => l && !l.startsWith('#'));
    expect(lines[0].split(',')).toEqual(COLUMNS);
    const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [COLUMNS[i], v])));
    expect(kAnonymous(rows, K).ok).toBe(true);
    expect(res.text).toMatch(/# suppressedRows: \d+/);
    expect(await f.count('audit_log', "action = 'research.exported'")).toBe(before + 1);
    const [entry] = await f.db.query("SELECT actor_id, detail FROM audit_log WHERE action = 'research.exported' ORDER BY seq DESC LIMIT 1");
    expect(entry.actor_id).toBe(officer.id);
    const detail = typeof entry.detail === 'string' ? JSON.parse(entry.detail) : entry.detail;
    expect(detail).toMatchObject({ k: K, considered: consenting, format: 'csv' });
  });

  it('is for records officers only', async () => {
    for (const role of ['operator', 'supervisor', 'auditor', 'admin'] as const) {
      const s = await f.staff(role);
      await f.http().get('/research/export').query(range).set(bearer(s)).expect(403);
      await f.http().get('/research/export/csv').query(range).set(bearer(s)).expect(403);
    }
  });
});
