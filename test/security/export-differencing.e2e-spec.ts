import { randomBytes } from 'crypto';
import { CallOversight, HourlyStats } from '@hotline/calls';
import { TestStaff, bearer } from '../support/factories';
import { startRecordsApp, withRecordsApp } from '../support/records-app';
import { attack } from './support/attack-ledger';
import { setCallFields, withdrawConsentOfCall } from '@hotline/calls/fixtures';

/**
 * Issue 24, item 3: exports that cannot be subtracted. As a records officer, two research exports are
 * differenced to isolate one caller's row (windows a minute apart, overlapping ranges of whole
 * months, a month with fewer than K callers, a month exported before and after a caller withdrew,
 * the weeks inside a month released before); as a supervisor, the statistics' small counts are
 * sought in JSON against CSV, and every suppressed cell is attacked by a solver of its own over the
 * week, day and hour views together (totals less parts, sub-periods less the rest, the "<5" bounds,
 * to a fixed point), and by differencing the totals of ranges a period apart. Each attack goes in the
 * ledger (attacks-last reports them).
 */
const K = 5;
const COLUMNS = ['period', 'partOfDay', 'weekend', 'outcome', 'wait', 'talk', 'risk', 'category', 'escalated'];
type Row = Record<string, string>;
const OFFICER = 'a records officer’s token';
const SUPERVISOR = 'a supervisor’s token';
const H = 3_600_000;
const D = 24 * H;

const key = (r: Row) => JSON.stringify(COLUMNS.map((c) => r[c]));

/** The rows of `a` not in `b`, and of `b` not in `a` (multisets). */
function symmetricDifference(a: Row[], b: Row[]): Row[] {
  const count = (rows: Row[]) => rows.reduce((m, r) => m.set(key(r), (m.get(key(r)) ?? 0) + 1), new Map<string, number>());
  const [ca, cb] = [count(a), count(b)];
  const out: Row[] = [];
  for (const k of new Set([...ca.keys(), ...cb.keys()]))
    for (let i = 0; i < Math.abs((ca.get(k) ?? 0) - (cb.get(k) ?? 0)); i++)
      out.push(JSON.parse(k).reduce((r: Row, v: string, j: number) => ({ ...r, [COLUMNS[j]]: v }), {}));
  return out;
}

/** Every row identical to at least k - 1 others. */
const kAnonymous = (rows: Row[]) =>
  [...rows.reduce((m, r) => m.set(key(r), (m.get(key(r)) ?? 0) + 1), new Map<string, number>()).values()].every((n) => n >= K);

describe('research exports cannot be differenced into a few calls', () => {
  const records = withRecordsApp({ RESEARCH_K: String(K) });
  const { f } = records;
  let officer: TestStaff;
  let op: TestStaff;
  let juneCall = '';

  async function seed(startedAt: string, shape: { talkS: number | null; risk?: string; category?: string }): Promise<string> {
    const started = new Date(startedAt);
    const pseudonym = randomBytes(32).toString('hex');
    const id = await f.call({ operator: shape.talkS === null ? undefined : op, startedAt: started, callerPseudonym: pseudonym });
    await setCallFields(f.db, id, {
      status: shape.talkS === null ? 'abandoned' : 'completed',
      answeredAt: shape.talkS === null ? null : new Date(started.getTime() + 10_000),
      endedAt: new Date(started.getTime() + 10_000 + (shape.talkS ?? 0) * 1000),
      riskLevel: shape.risk ?? 'none',
      wrapupCategory: shape.category ?? null,
    });
    await records.app
      .get(CallOversight)
      .recordConsent({ callId: id, callerPseudonym: pseudonym, kind: 'research', granted: true, wordingVersion: 'test', at: started });
    return id;
  }

  const weekday = (month: string, i: number) =>
    `${month}-${String(4 + (i % 3)).padStart(2, '0')}T19:${String(10 + i).padStart(2, '0')}:00Z`;

  beforeAll(async () => {
    [officer, op] = await Promise.all([f.staff('records_officer'), f.staff('operator')]);
    const common = { talkS: 600, category: 'Emotional support' };
    // 2024: January 12 calls of two shapes; February 4 (fewer than K); March exactly K of one shape and one
    // rare call; April 10; May none; June 7 (one caller will withdraw).
    for (let i = 0; i < 6; i++) await seed(weekday('2024-01', i), common);
    for (let i = 0; i < 6; i++) await seed(weekday('2024-01', i + 20), { talkS: null });
    for (let i = 0; i < 4; i++) await seed(weekday('2024-02', i), common);
    for (let i = 0; i < K; i++) await seed(weekday('2024-03', i), common);
    await seed('2024-03-10T03:12:00Z', { talkS: 4000, risk: 'imminent', category: 'Suicidal thoughts' });
    for (let i = 0; i < 10; i++)
      await seed(weekday('2024-04', i), i % 2 ? common : { talkS: 200, risk: 'low', category: 'Relationships or family' });
    for (let i = 0; i < 7; i++) juneCall = await seed(weekday('2024-06', i), common);
  });

  const get = (query: Record<string, string>, path = '/research/export') => f.http().get(path).query(query).set(bearer(officer));
  const exported = async () => f.count('audit_log', "action = 'research.exported'");

  it('refuses two exports whose windows differ by a minute: neither is whole months', async () => {
    const refused = await attack(
      OFFICER,
      'two research exports whose windows differ by a minute (March 2024 with and without its last minute)',
      async () => {
        const before = await exported();
        const a = await get({ from: '2024-03-01T00:00:00Z', to: '2024-04-01T00:00:00Z' });
        const b = await get({ from: '2024-03-01T00:00:00Z', to: '2024-03-31T23:59:00Z' });
        const csv = await get({ from: '2024-03-01T00:00:00Z', to: '2024-03-31T23:59:00Z' }, '/research/export/csv');
        return (
          [a.status, b.status, csv.status].every((s) => s === 400) &&
          /whole calendar month/.test(a.body.message) &&
          !a.body.rows &&
          !b.body.rows &&
          (await exported()) === before
        );
      },
    );
    expect(refused).toBe(true);
    const windows: Record<string, string>[] = [
      { period: '2024-03-31' },
      { from: '2024-03', to: '2024-03-31' },
      { period: new Date().toISOString().slice(0, 7) },
    ];
    for (const query of windows)
      expect(
        await attack(
          OFFICER,
          `a research window that is not a whole, ended month (${Object.keys(query).join(', ')})`,
          async () => (await get(query)).status === 400,
        ),
      ).toBe(true);
  });

  it('answers overlapping ranges of whole months with exports that differ by nothing or by whole months of at least K rows', async () => {
    const months = ['2024-01', '2024-02', '2024-03', '2024-04', '2024-05', '2024-06'];
    const answers: { range: string; rows: Row[] }[] = [];
    for (let i = 0; i < months.length; i++)
      for (let j = i; j < months.length; j++)
        answers.push({ range: `${months[i]}..${months[j]}`, rows: (await get({ from: months[i], to: months[j] }).expect(200)).body.rows });
    const refused = await attack(
      OFFICER,
      `difference every pair of ${answers.length} allowed exports of overlapping ranges of whole months`,
      async () => {
        const small: string[] = [];
        for (let a = 0; a < answers.length; a++)
          for (let b = a + 1; b < answers.length; b++) {
            const diff = symmetricDifference(answers[a].rows, answers[b].rows);
            if ((diff.length > 0 && diff.length < K) || !kAnonymous(diff))
              small.push(`${answers[a].range} vs ${answers[b].range}: ${diff.length}`);
          }
        return small.length === 0;
      },
    );
    expect(refused).toBe(true);
  });

  it('exports nothing of a month with fewer than K consenting calls, not even their number, alone or beside others', async () => {
    const refused = await attack(
      OFFICER,
      'isolate the four callers of a month with fewer than K (alone, and January-February less January)',
      async () => {
        const alone = (await get({ period: '2024-02' }).expect(200)).body;
        const both = (await get({ from: '2024-01', to: '2024-02' }).expect(200)).body;
        const january = (await get({ period: '2024-01' }).expect(200)).body;
        const february = alone.report.periods[0];
        return (
          alone.rows.length === 0 &&
          february.reason === 'fewer_than_k' &&
          february.considered === null &&
          !JSON.stringify(alone.report).includes('"considered":4') &&
          symmetricDifference(both.rows, january.rows).length === 0 &&
          both.report.considered === january.report.considered
        );
      },
    );
    expect(refused).toBe(true);
  });

  it('does not release a month again one caller smaller after a consent is withdrawn', async () => {
    const first = (await get({ period: '2024-06' }).expect(200)).body;
    expect(first.rows).toHaveLength(7);
    await withdrawConsentOfCall(f.db, juneCall, 'research');
    const refused = await attack(OFFICER, 'difference a month exported before and after one caller withdrew consent', async () => {
      const after = (await get({ from: '2024-04', to: '2024-06' }).expect(200)).body;
      const june = after.report.periods.find((p: any) => p.period === '2024-06');
      const juneRows = after.rows.filter((r: Row) => r.period === '2024-06');
      const diff = symmetricDifference(first.rows, juneRows);
      return june.status === 'withheld' && june.reason === 'changed' && june.considered === null && (diff.length === 0 || diff.length >= K);
    });
    expect(refused).toBe(true);
  });

  it('withholds the weeks inside a month released before when RESEARCH_PERIOD becomes week', async () => {
    const byWeek = await startRecordsApp({ RESEARCH_K: String(K), RESEARCH_PERIOD: 'week' });
    try {
      const refused = await attack(
        OFFICER,
        'difference March 2024 with the ISO weeks inside it (RESEARCH_PERIOD switched to week)',
        async () => {
          const weeks = (
            await byWeek.f.http().get('/research/export').query({ from: '2024-W10', to: '2024-W13' }).set(bearer(officer)).expect(200)
          ).body;
          return weeks.rows.length === 0 && weeks.report.periods.every((p: any) => p.status === 'withheld' && p.reason === 'overlaps');
        },
      );
      expect(refused).toBe(true);
    } finally {
      await byWeek.close();
    }
  });
});

/** Cells of the statistics as a reader of the JSON holds them. */
interface Known {
  lo: number;
  hi: number;
}

/**
 * The attacker's own solver: every cell of every view as an interval (a figure shown; "<5": 1 to 4;
 * withheld: 0 or more), every relation that holds between them, narrowed relation by relation until
 * nothing moves. Returns the cells it pinned to one value that the answers did not show.
 */
function solve(cells: Map<string, Known>, relations: { terms: [string, 1 | -1][]; constant: number }[]): string[] {
  for (let round = 0; round < 10_000; round++) {
    let moved = false;
    for (const r of relations)
      for (const [name, coef] of r.terms) {
        let min = 0;
        let max = 0;
        for (const [other, k] of r.terms) {
          if (other === name) continue;
          const c = cells.get(other)!;
          min += k > 0 ? k * c.lo : k * c.hi;
          max += k > 0 ? k * c.hi : k * c.lo;
        }
        // coef * x = constant - others
        const [lo, hi] = coef > 0 ? [r.constant - max, r.constant - min] : [min - r.constant, max - r.constant];
        const c = cells.get(name)!;
        const next = { lo: Math.max(c.lo, lo), hi: Math.min(c.hi, hi) };
        if (next.lo > c.lo || next.hi < c.hi) {
          cells.set(name, next);
          moved = true;
        }
      }
    if (!moved) break;
  }
  return [...cells.entries()].filter(([, c]) => c.lo === c.hi).map(([name]) => name);
}

describe('statistics: no suppressed count can be read or worked out', () => {
  const records = withRecordsApp();
  const { f } = records;
  let sup: TestStaff;
  // A quiet week long ago (Monday 4 March 2024), about a dozen calls a day.
  const MONDAY = new Date('2024-03-04T00:00:00Z').getTime();

  beforeAll(async () => {
    sup = await f.staff('supervisor');
    const op = await f.staff('operator');
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const ids: string[] = [];
    for (let day = 0; day < 7; day++)
      for (let i = 0; i < 8 + Math.floor(random() * 10); i++) {
        const startedAt = new Date(MONDAY + day * D + Math.floor(random() * D));
        const abandoned = random() < 0.2;
        const id = await f.call({ operator: abandoned ? undefined : op, startedAt, status: abandoned ? 'abandoned' : 'completed' });
        const wait = Math.floor(random() * 240) * 1000;
        await setCallFields(f.db, id, {
          answeredAt: abandoned ? null : new Date(startedAt.getTime() + wait),
          endedAt: new Date(startedAt.getTime() + wait + (abandoned ? 0 : Math.floor(random() * 2400) * 1000)),
          riskLevel: ['none', 'low', 'moderate', 'high'][Math.floor(random() * 4)],
        });
        ids.push(id);
      }
    expect(await records.app.get(HourlyStats).countCalls(ids)).toBe(ids.length);
  });

  const stats = async (by: string, from: number, to: number) =>
    (
      await f
        .http()
        .get('/stats/hourly')
        .query({ by, from: new Date(from).toISOString(), to: new Date(to).toISOString() })
        .set(bearer(sup))
        .expect(200)
    ).body;

  const CELLS = (p: any): [string, number | null][] =>
    Object.entries(p)
      .filter(([k]) => k !== 'start' && k !== 'suppressed')
      .flatMap(([k, v]) =>
        v !== null && typeof v === 'object'
          ? Object.entries(v).map(([b, n]): [string, number | null] => [`${k}.${b}`, n as number | null])
          : [[k, v as number | null] as [string, number | null]],
      );

  it('shows no small count in JSON that CSV hides, nor the other way round', async () => {
    const refused = await attack(
      SUPERVISOR,
      'read the statistics’ small counts in JSON where CSV shows <5 (week, day and hour views)',
      async () => {
        const problems: string[] = [];
        for (const by of ['week', 'day', 'hour']) {
          const json = await stats(by, MONDAY, MONDAY + 7 * D);
          const csv = (
            await f
              .http()
              .get('/stats/hourly/csv')
              .query({ by, from: new Date(MONDAY).toISOString(), to: new Date(MONDAY + 7 * D).toISOString() })
              .set(bearer(sup))
              .expect(200)
          ).text;
          const lines = new Map(
            csv
              .trim()
              .split('\r\n')
              .slice(1)
              .map((l) => [l.split(',').slice(0, 3).join(','), l.split(',')[3]]),
          );
          const names: Record<string, string> = {
            answeredInServiceLevel: 'answered_in_service_level',
            riskAssessed: 'risk_assessed',
            complaintsReceived: 'complaints_received',
            complaintsResolved: 'complaints_resolved',
          };
          for (const p of json.periods)
            for (const [cell, n] of CELLS(p)) {
              const [group, bucket = ''] = cell.split(/\.(.*)/s);
              const inCsv = lines.get(`${p.start},${names[group] ?? group},${bucket}`);
              if (n !== null && n > 0 && n < 5) problems.push(`JSON ${by} ${p.start} ${cell} = ${n}`);
              if (inCsv && /^[1-4]$/.test(inCsv)) problems.push(`CSV ${by} ${p.start} ${cell} = ${inCsv}`);
              if (inCsv !== (n === null ? (p.suppressed[cell] === 'small' ? '<5' : 'x') : String(n)))
                problems.push(`${by} ${p.start} ${cell}: JSON ${n}, CSV ${inCsv}`);
            }
        }
        return problems.length === 0;
      },
    );
    expect(refused).toBe(true);
  });

  it('leaves no suppressed cell that can be worked out from the others, across the week, day and hour views', async () => {
    // The true counts, to give the attacker every constant of the relations (calls neither answered nor
    // abandoned, answered without an end): the strongest reader there can be.
    const rows = await records.app.get(HourlyStats).read(new Date(MONDAY), new Date(MONDAY + 7 * D));
    let worked: string[] = [];
    const views = {
      week: await stats('week', MONDAY, MONDAY + 7 * D),
      day: await stats('day', MONDAY, MONDAY + 7 * D),
      hour: await stats('hour', MONDAY, MONDAY + 7 * D),
    };
    const refused = await attack(
      SUPERVISOR,
      'work out a suppressed statistics cell from the others (totals less parts, a week less its days, a day less its hours, the <5 bounds)',
      async () => {
        const cells = new Map<string, Known>();
        const name = (by: string, start: string, cell: string) => `${by}|${start}|${cell}`;
        const suppressed = new Set<string>();
        for (const [by, v] of Object.entries(views))
          for (const p of v.periods)
            for (const [cell, n] of CELLS(p)) {
              const id = name(by, p.start, cell);
              if (n !== null) cells.set(id, { lo: n, hi: n });
              else {
                suppressed.add(id);
                cells.set(id, p.suppressed[cell] === 'small' ? { lo: 1, hi: 4 } : { lo: 0, hi: Infinity });
              }
            }
        // The true value of a sum over one period (from the table), for the constants.
        const sum = (from: number, to: number, metric: string) =>
          rows.filter((r) => r.hour.getTime() >= from && r.hour.getTime() < to && r.metric === metric).reduce((s, r) => s + r.n, 0);
        const relations: { terms: [string, 1 | -1][]; constant: number }[] = [];
        const cellNames = CELLS(views.week.periods[0]).map(([c]) => c);
        const group = (prefix: string) => cellNames.filter((c) => c.startsWith(prefix));
        const length = { week: 7 * D, day: D, hour: H };
        for (const [by, v] of Object.entries(views))
          for (const p of v.periods) {
            const t = new Date(p.start).getTime();
            const at = (c: string) => name(by, p.start, c);
            const [offered, answered, abandoned] = ['offered', 'answered', 'abandoned'].map((m) => sum(t, t + length[by as 'week'], m));
            const waits = sum(t, t + length[by as 'week'], 'wait');
            const talks = sum(t, t + length[by as 'week'], 'talk');
            relations.push({
              terms: [
                [at('offered'), 1],
                [at('answered'), -1],
                [at('abandoned'), -1],
              ],
              constant: offered - answered - abandoned,
            });
            relations.push({
              terms: [[at('offered'), -1], ...group('wait.').map((c) => [at(c), 1] as [string, 1])],
              constant: waits - offered,
            });
            relations.push({
              terms: [[at('answered'), -1], ...group('talk.').map((c) => [at(c), 1] as [string, 1])],
              constant: talks - answered,
            });
            // Parts with a rest never shown (its own unknown, 0 or more).
            cells.set(at('slack.sl'), { lo: 0, hi: Infinity });
            cells.set(at('slack.risk'), { lo: 0, hi: Infinity });
            relations.push({
              terms: [
                [at('answered'), 1],
                [at('answeredInServiceLevel'), -1],
                [at('slack.sl'), -1],
              ],
              constant: 0,
            });
            relations.push({
              terms: [[at('offered'), 1], ...group('riskAssessed.').map((c) => [at(c), -1] as [string, -1]), [at('slack.risk'), -1]],
              constant: 0,
            });
          }
        for (const c of cellNames) {
          relations.push({
            terms: [
              [name('week', views.week.periods[0].start, c), 1],
              ...views.day.periods.map((d: any) => [name('day', d.start, c), -1] as [string, -1]),
            ],
            constant: 0,
          });
          for (const d of views.day.periods)
            relations.push({
              terms: [
                [name('day', d.start, c), 1],
                ...views.hour.periods
                  .filter((h: any) => h.start >= d.start && new Date(h.start).getTime() < new Date(d.start).getTime() + D)
                  .map((h: any) => [name('hour', h.start, c), -1] as [string, -1]),
              ],
              constant: 0,
            });
        }
        const pinned = solve(cells, relations).filter((c) => suppressed.has(c));
        worked = pinned;
        return suppressed.size > 0 && pinned.length === 0;
      },
    );
    expect({ refused, worked: worked.slice(0, 10) }).toEqual({ refused: true, worked: [] });
  });

  it('gives nothing away by the difference of the totals of two ranges a period apart, nor by a window a minute shorter', async () => {
    const refused = await attack(
      SUPERVISOR,
      'difference the totals of day ranges one day apart, and of windows a minute apart',
      async () => {
        const whole = await stats('day', MONDAY, MONDAY + 7 * D);
        const problems: string[] = [];
        for (let d = 1; d < 7; d++) {
          const shorter = await stats('day', MONDAY + d * D, MONDAY + 7 * D);
          // The difference is the figures shown for the days left out, and nothing more.
          const shown = whole.periods.slice(0, d).reduce((s: number, p: any) => s + (p.abandoned ?? 0), 0);
          if (whole.totals.abandoned - shorter.totals.abandoned !== shown) problems.push(`abandoned, from day ${d}`);
        }
        const minuteShort = await stats('day', MONDAY, MONDAY + 7 * D - 60_000);
        if (JSON.stringify(minuteShort.periods) !== JSON.stringify(whole.periods))
          problems.push('a window a minute shorter answered other figures');
        return problems.length === 0;
      },
    );
    expect(refused).toBe(true);
  });
});
