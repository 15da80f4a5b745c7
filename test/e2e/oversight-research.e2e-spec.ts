import { randomBytes } from 'crypto';
import { CallOversight } from '@hotline/calls';
import { TestStaff, bearer } from '../support/factories';
import { RecordsTestApp, startRecordsApp, withRecordsApp } from '../support/records-app';
import { setCallFields, withdrawConsentOfCall } from '@hotline/calls/fixtures';

const K = 5;
const COLUMNS = ['period', 'partOfDay', 'weekend', 'outcome', 'wait', 'talk', 'risk', 'category', 'escalated'];
type Row = Record<string, string>;

/** k-anonymity, checked here on its own terms: every row is identical, column for column, to at least k - 1 other rows. */
function kAnonymous(rows: Row[], k: number): { ok: boolean; smallest: number } {
  const counts = new Map<string, number>();
  for (const r of rows) {
    const key = JSON.stringify(COLUMNS.map((c) => r[c]));
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const smallest = Math.min(...counts.values());
  return { ok: rows.length === 0 || smallest >= k, smallest };
}

/** The rows in one export and not the other (as multisets: identical rows are counted). */
function difference(a: Row[], b: Row[]): Row[] {
  const left = new Map<string, number>();
  for (const r of b) left.set(JSON.stringify(COLUMNS.map((c) => r[c])), (left.get(JSON.stringify(COLUMNS.map((c) => r[c]))) ?? 0) + 1);
  const out: Row[] = [];
  for (const r of a) {
    const key = JSON.stringify(COLUMNS.map((c) => r[c]));
    if (left.get(key)) left.set(key, left.get(key)! - 1);
    else out.push(r);
  }
  return out;
}

const symmetricDifference = (a: Row[], b: Row[]) => [...difference(a, b), ...difference(b, a)];

/** Seeds calls of one shape; `research`: the caller's answer (granted, declined, withdrawn later, or never asked). */
function seeder(records: RecordsTestApp, op: () => TestStaff) {
  return async (
    startedAt: string,
    shape: { waitS: number; talkS: number | null; risk?: string; category?: string },
    research: 'granted' | 'declined' | 'withdrawn' | 'none',
  ): Promise<string> => {
    const { f } = records;
    const started = new Date(startedAt);
    const pseudonym = randomBytes(32).toString('hex');
    const callId = await f.call({ operator: shape.talkS === null ? undefined : op(), startedAt: started, callerPseudonym: pseudonym });
    const answered = shape.talkS === null ? null : new Date(started.getTime() + shape.waitS * 1000);
    await setCallFields(f.db, callId, {
      status: shape.talkS === null ? 'abandoned' : 'completed',
      answeredAt: answered,
      endedAt: new Date(started.getTime() + (shape.waitS + (shape.talkS ?? 0)) * 1000),
      riskLevel: shape.risk ?? 'none',
      wrapupCategory: shape.category ?? null,
    });
    if (research !== 'none') {
      await records.app.get(CallOversight).recordConsent({
        callId,
        callerPseudonym: pseudonym,
        kind: 'research',
        granted: research !== 'declined',
        wordingVersion: 'test',
        at: started,
      });
      if (research === 'withdrawn') await withdrawConsentOfCall(f.db, callId, 'research');
    }
    return callId;
  };
}

const day = (month: string, i: number, hour: number, minute: number) =>
  `${month}-${String(3 + (i % 20)).padStart(2, '0')}T${String(hour).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}:00Z`;

describe('anonymised research export', () => {
  const records = withRecordsApp({ RESEARCH_K: String(K) });
  const { f } = records;
  let officer: TestStaff;
  let op: TestStaff;
  const seed = seeder(records, () => op);
  let march = 0;
  let mayCall = '';

  beforeAll(async () => {
    [officer, op] = await Promise.all([f.staff('records_officer'), f.staff('operator')]);
    // January 2025: six consenting calls of one shape.
    for (let i = 0; i < 6; i++)
      await seed(day('2025-01', i, 19, 10 + i), { waitS: 10, talkS: 600, category: 'Emotional support' }, 'granted');
    // February 2025: three consenting calls only (fewer than K).
    for (let i = 0; i < 3; i++)
      await seed(day('2025-02', i, 19, 10 + i), { waitS: 10, talkS: 600, category: 'Emotional support' }, 'granted');
    // March 2025: three common shapes on weekday evenings, and a few rare calls.
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
    march = 23;
    // A call that started in March but ended more than a day after it: never part of March.
    const late = await seed('2025-03-31T23:50:00Z', { waitS: 10, talkS: 600, category: 'Emotional support' }, 'granted');
    await setCallFields(f.db, late, { endedAt: new Date('2025-04-02T01:00:00Z') });
    // April 2025: plenty of calls, none of them consenting to research.
    for (let i = 0; i < 6; i++)
      await seed(`2025-04-0${1 + (i % 3)}T19:${10 + i}:00Z`, { waitS: 10, talkS: 600, category: 'Emotional support' }, 'none');
    for (let i = 0; i < 6; i++)
      await seed(`2025-04-0${1 + (i % 3)}T19:${20 + i}:00Z`, { waitS: 10, talkS: 600, category: 'Emotional support' }, 'declined');
    for (let i = 0; i < 6; i++)
      await seed(`2025-04-0${1 + (i % 3)}T19:${30 + i}:00Z`, { waitS: 10, talkS: 600, category: 'Emotional support' }, 'withdrawn');
    // May 2025: ten consenting calls (for the change after release).
    for (let i = 0; i < 10; i++)
      mayCall = await seed(
        day('2025-05', i, 14, 10 + i),
        { waitS: 10, talkS: 200, risk: 'low', category: 'Information or referral' },
        'granted',
      );
  });

  const exportOf = async (query: Record<string, string>) =>
    (await f.http().get('/research/export').query(query).set(bearer(officer)).expect(200)).body;

  it('exports a whole month: only consenting calls, structured and coarsened, every row k-anonymous, with a report per period', async () => {
    const { rows, report, period, from, to } = await exportOf({ period: '2025-03' });
    expect({ period, from, to }).toEqual({ period: 'month', from: '2025-03', to: '2025-03' });
    expect(kAnonymous(rows, K).ok).toBe(true);
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r: Row) => r.period))).toEqual(new Set(['2025-03']));
    expect(report).toMatchObject({ k: K, considered: march, exported: rows.length });
    expect(report.periods).toEqual([
      expect.objectContaining({
        period: '2025-03',
        status: 'released',
        considered: march,
        exported: rows.length,
        firstReleasedAt: expect.any(String),
      }),
    ]);
    expect(report.exported + report.suppressedRows).toBe(march);
    // The rare night call is suppressed, and the free-text category never leaves.
    expect(report.suppressedRows).toBeGreaterThanOrEqual(1);
    expect(rows.some((r: Row) => r.risk === 'imminent')).toBe(false);
    const text = JSON.stringify(rows);
    expect(JSON.stringify(report)).not.toMatch(/Elm Street|bridge/);
    expect(text).not.toMatch(/Elm Street|bridge/);
    // Structured fields only: no ids, pseudonyms or exact times.
    expect(Object.keys(rows[0]).sort()).toEqual([...COLUMNS].sort());
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-|[0-9a-f]{64}|T\d\d:\d\d/);
  });

  it('withholds a month with fewer than K consenting calls (not even their number), and one with none', async () => {
    const { rows, report } = await exportOf({ from: '2025-02', to: '2025-04' });
    const byPeriod = Object.fromEntries(report.periods.map((p: any) => [p.period, p]));
    expect(byPeriod['2025-02']).toMatchObject({ status: 'withheld', reason: 'fewer_than_k', considered: null, exported: 0 });
    expect(byPeriod['2025-04']).toMatchObject({ status: 'withheld', reason: 'fewer_than_k', considered: null, exported: 0 });
    expect(byPeriod['2025-03']).toMatchObject({ status: 'released', considered: march });
    expect(rows.every((r: Row) => r.period === '2025-03')).toBe(true);
  });

  it('refuses what is not whole, ended months, saying why', async () => {
    const refused = async (query: Record<string, string>, message: RegExp) => {
      const res = await f.http().get('/research/export').query(query).set(bearer(officer)).expect(400);
      expect(res.body.message).toMatch(message);
    };
    await refused({ from: '2025-03-01T00:00:00Z', to: '2025-04-01T00:00:00Z' }, /from must name a whole calendar month as YYYY-MM/);
    await refused({ from: '2025-03', to: '2025-03-15' }, /to must name a whole calendar month/);
    await refused({ period: '2025-W10' }, /RESEARCH_PERIOD=month/);
    const now = new Date();
    await refused({ period: now.toISOString().slice(0, 7) }, /has not ended yet/);
    await refused({ from: '2025-03', to: '2025-01' }, /from must not be after to/);
    await refused({ period: '2025-03', from: '2025-03' }, /either period, or from and to/);
    await refused({ from: '2020-01', to: '2024-01' }, /at most 36/);
    await f.http().get('/research/export/csv').query({ from: '2025-03-01T00:00:00Z' }).set(bearer(officer)).expect(400);
  });

  it('answers any two allowed requests with exports that differ by nothing or by whole months of at least K rows, k-anonymous in themselves', async () => {
    const months = ['2025-01', '2025-02', '2025-03', '2025-04', '2025-05'];
    const answers: { query: string; rows: Row[] }[] = [];
    for (let i = 0; i < months.length; i++)
      for (let j = i; j < months.length; j++) {
        const { rows } = await exportOf({ from: months[i], to: months[j] });
        answers.push({ query: `${months[i]}..${months[j]}`, rows });
      }
    let pairs = 0;
    for (let a = 0; a < answers.length; a++)
      for (let b = a + 1; b < answers.length; b++) {
        const diff = symmetricDifference(answers[a].rows, answers[b].rows);
        pairs++;
        expect({ pair: `${answers[a].query} vs ${answers[b].query}`, small: diff.length > 0 && diff.length < K }).toEqual({
          pair: `${answers[a].query} vs ${answers[b].query}`,
          small: false,
        });
        expect(kAnonymous(diff, K).ok).toBe(true);
      }
    expect(pairs).toBe((15 * 14) / 2);
  });

  it('keeps a month as first released: after a consent is withdrawn the month is withheld, not released one call smaller', async () => {
    const first = await exportOf({ period: '2025-05' });
    expect(first.report.periods[0]).toMatchObject({ status: 'released', considered: 10 });
    expect(first.rows).toHaveLength(10);
    // Exported again unchanged: the same rows (the first release stands).
    expect((await exportOf({ period: '2025-05' })).rows).toEqual(first.rows);
    await withdrawConsentOfCall(f.db, mayCall, 'research');
    const again = await exportOf({ from: '2025-03', to: '2025-05' });
    const may = again.report.periods.find((p: any) => p.period === '2025-05');
    expect(may).toMatchObject({ status: 'withheld', reason: 'changed', considered: null, exported: 0 });
    expect(may.explanation).toMatch(/has changed since it was first released on \d{4}-\d\d-\d\d/);
    expect(again.rows.some((r: Row) => r.period === '2025-05')).toBe(false);
    // Against the first export the difference is the whole first release of May, never the one call.
    expect(
      symmetricDifference(
        first.rows,
        again.rows.filter((r: Row) => r.period === '2025-05'),
      ),
    ).toHaveLength(10);
  });

  it('exports CSV that passes the same check, and audits each export with a fingerprint per period released', async () => {
    const before = await f.count('audit_log', "action = 'research.exported'");
    const res = await f.http().get('/research/export/csv').query({ from: '2025-01', to: '2025-03' }).set(bearer(officer)).expect(200);
    const lines = res.text.split('\r\n').filter((l) => l && !l.startsWith('#'));
    expect(lines[0].split(',')).toEqual(COLUMNS);
    const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [COLUMNS[i], v])));
    expect(kAnonymous(rows, K).ok).toBe(true);
    expect(res.text).toMatch(/# suppressedRows: \d+/);
    expect(res.text).toContain('# period 2025-02: withheld: fewer than 5 consenting calls in 2025-02');
    expect(res.text).toMatch(/# period 2025-03: released, 23 considered/);
    expect(await f.count('audit_log', "action = 'research.exported'")).toBe(before + 1);
    const [entry] = await f.db.query("SELECT actor_id, detail FROM audit_log WHERE action = 'research.exported' ORDER BY seq DESC LIMIT 1");
    expect(entry.actor_id).toBe(officer.id);
    const detail = typeof entry.detail === 'string' ? JSON.parse(entry.detail) : entry.detail;
    expect(detail).toMatchObject({ k: K, period: 'month', from: '2025-01', to: '2025-03', format: 'csv', considered: 6 + march });
    expect(Object.keys(detail.released).sort()).toEqual(['2025-01', '2025-02', '2025-03']);
    expect(Object.values(detail.released).every((fp) => /^[0-9a-f]{64}$/.test(fp as string))).toBe(true);
  });

  it('exports the latest released month when asked for nothing', async () => {
    const { from, to } = await exportOf({});
    const now = new Date(Date.now() - 24 * 3_600_000);
    const latest = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
    expect({ from, to }).toEqual({ from: latest, to: latest });
  });

  it('is for records officers only', async () => {
    for (const role of ['operator', 'supervisor', 'auditor', 'admin'] as const) {
      const s = await f.staff(role);
      await f.http().get('/research/export').query({ period: '2025-03' }).set(bearer(s)).expect(403);
      await f.http().get('/research/export/csv').query({ period: '2025-03' }).set(bearer(s)).expect(403);
    }
  });
});

describe('anonymised research export by week (RESEARCH_PERIOD=week)', () => {
  const records = withRecordsApp({ RESEARCH_K: String(K), RESEARCH_PERIOD: 'week' });
  const { f } = records;
  let officer: TestStaff;
  let op: TestStaff;
  const seed = seeder(records, () => op);

  beforeAll(async () => {
    [officer, op] = await Promise.all([f.staff('records_officer'), f.staff('operator')]);
    // ISO week 2025-W27 (30 June to 6 July) and 2025-W28, six consenting calls each.
    for (let i = 0; i < 6; i++) await seed(`2025-07-0${1 + (i % 3)}T10:1${i}:00Z`, { waitS: 10, talkS: 600 }, 'granted');
    for (let i = 0; i < 6; i++) await seed(`2025-07-0${7 + (i % 3)}T10:1${i}:00Z`, { waitS: 10, talkS: 600 }, 'granted');
  });

  it('releases ISO weeks; a month that overlaps a week released before is withheld', async () => {
    const res = await f.http().get('/research/export').query({ from: '2025-W27', to: '2025-W28' }).set(bearer(officer)).expect(200);
    expect(res.body.period).toBe('week');
    expect(res.body.report.periods.map((p: any) => [p.period, p.status])).toEqual([
      ['2025-W27', 'released'],
      ['2025-W28', 'released'],
    ]);
    expect(new Set(res.body.rows.map((r: Row) => r.period))).toEqual(new Set(['2025-W27', '2025-W28']));
    const refused = await f.http().get('/research/export').query({ period: '2025-07' }).set(bearer(officer)).expect(400);
    expect(refused.body.message).toMatch(/whole ISO week as YYYY-Www/);
    // RESEARCH_PERIOD changed back to month: July 2025 minus weeks 27 and 28 would be a few days' calls.
    const byMonth = await startRecordsApp({ RESEARCH_K: String(K), RESEARCH_PERIOD: 'month' });
    try {
      const july = await byMonth.f.http().get('/research/export').query({ period: '2025-07' }).set(bearer(officer)).expect(200);
      expect(july.body.report.periods[0]).toMatchObject({ status: 'withheld', reason: 'overlaps', exported: 0 });
      expect(july.body.report.periods[0].explanation).toMatch(/2025-07 overlaps 2025-W2[78], released before by week/);
      expect(july.body.rows).toEqual([]);
    } finally {
      await byMonth.close();
    }
  });
});
