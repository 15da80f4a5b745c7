import { CountedCall, HourlyStatRow, statisticsOf } from '@hotline/calls';
import { CELLS } from './aggregate';
import { ShownPeriod, StatsTables, periodJson, statsCsvRows, totalsJson } from './suppress';

const H = 3_600_000;
const D = 24 * H;
const MONDAY = new Date('2026-11-02T00:00:00Z').getTime();

function rng(seed: number): () => number {
  return () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
}

/** `perDay` calls a day for `days` days from Monday 2 November 2026, counted as the worker counts them. */
function calls(perDay: number, days: number, seed = 3): HourlyStatRow[] {
  const random = rng(seed);
  const out: CountedCall[] = [];
  for (let d = 0; d < days; d++)
    for (let i = 0; i < perDay; i++) {
      const start = MONDAY + d * D + Math.floor(random() * D);
      const answered = random() < 0.85;
      const wait = Math.floor(random() * 200) * 1000;
      out.push({
        id: `${d}-${i}`,
        stats_counted_at: null,
        status: answered ? 'completed' : 'abandoned',
        started_at: new Date(start),
        answered_at: answered ? new Date(start + wait) : null,
        ended_at: new Date(start + wait + (answered ? Math.floor(random() * 3000) * 1000 : 0)),
        risk_level: ['none', 'low', 'moderate', 'high', 'imminent'][Math.floor(random() * random() * 5)],
        assessments: random() < 0.7 ? 1 : 0,
        escalations: random() < 0.03 ? 1 : 0,
      });
    }
  return statisticsOf(out);
}

const at = (p: ShownPeriod, cell: string) => p.cells[CELLS.indexOf(cell)];

/**
 * The sums a reader knows hold (with the calls that were neither answered nor abandoned, and those
 * without an end, taken as known to them: 0 here), each as [total, parts].
 */
function relations(): [string, string[]][] {
  const group = (prefix: string) => CELLS.filter((c) => c.startsWith(prefix));
  return [
    ['offered', ['answered', 'abandoned']],
    ['offered', group('wait.')],
    ['answered', group('talk.')],
  ].map(([t, parts]) => [t as string, parts as string[]]) as [string, string[]][];
}

describe('statistics as shown (suppression)', () => {
  it('never shows a count from 1 to 4, and shows the same cells in JSON and CSV', () => {
    const tables = new StatsTables(calls(14, 7));
    for (const by of ['week', 'day', 'hour'] as const) {
      const periods = tables.periods(new Date(MONDAY), new Date(MONDAY + 7 * D), by);
      const csv = statsCsvRows(periods);
      expect(csv).toHaveLength(periods.length * CELLS.length);
      periods.forEach((p, i) => {
        const json = periodJson(p) as any;
        CELLS.forEach((cell, k) => {
          const c = p.cells[k];
          if (c.value !== null) expect(c.value === 0 || c.value >= 5).toBe(true);
          const [group, bucket] = cell.split(/\.(.*)/s);
          const inJson = bucket === undefined ? json[group] : json[group][bucket];
          const inCsv = csv[i * CELLS.length + k][3];
          expect(inJson).toBe(c.value);
          expect(inCsv).toBe(c.value === null ? (c.display === 'small' ? '<5' : 'x') : String(c.value));
          expect(json.suppressed[cell]).toBe(c.value === null ? c.display : undefined);
        });
      });
    }
  });

  it('withholds a complement where abandoned would be offered less answered, and a band where the bands would give one away', () => {
    // 20 calls on one day, 2 abandoned; every answered call waited under 10 s but one (2 in all, in 10-30 s).
    const rows: HourlyStatRow[] = [
      { hour: new Date(MONDAY + 9 * H), metric: 'offered', bucket: '', n: 20 },
      { hour: new Date(MONDAY + 9 * H), metric: 'answered', bucket: '', n: 18 },
      { hour: new Date(MONDAY + 9 * H), metric: 'abandoned', bucket: '', n: 2 },
      { hour: new Date(MONDAY + 9 * H), metric: 'wait', bucket: '0-10s', n: 18 },
      { hour: new Date(MONDAY + 9 * H), metric: 'wait', bucket: '10-30s', n: 2 },
      { hour: new Date(MONDAY + 9 * H), metric: 'talk', bucket: '5-15m', n: 18 },
    ];
    const tables = new StatsTables(rows);
    for (const by of ['week', 'day'] as const) {
      const [p] = tables.periods(new Date(MONDAY), new Date(MONDAY + 1), by);
      expect(at(p, 'abandoned').display).toBe('small');
      expect(at(p, 'wait.10-30s').display).toBe('small');
      for (const [total, parts] of relations()) {
        const hidden = [total, ...parts].filter((c) => at(p, c).value === null);
        expect(hidden.length === 0 || hidden.length >= 2).toBe(true);
      }
      // Offered less answered is no longer there to be read.
      expect(at(p, 'offered').value === null || at(p, 'answered').value === null).toBe(true);
    }
  });

  it('never leaves exactly one cell of a sum hidden, within a period or between a period and its sub-periods', () => {
    for (const perDay of [3, 14, 60]) {
      const tables = new StatsTables(calls(perDay, 14, perDay));
      const weeks = tables.periods(new Date(MONDAY), new Date(MONDAY + 14 * D), 'week');
      const days = tables.periods(new Date(MONDAY), new Date(MONDAY + 14 * D), 'day');
      const hours = tables.periods(new Date(MONDAY), new Date(MONDAY + 14 * D), 'hour');
      for (const p of [...weeks, ...days, ...hours])
        for (const [total, parts] of relations()) {
          const hidden = [total, ...parts].filter((c) => at(p, c).value === null);
          expect(hidden).not.toHaveLength(1);
        }
      const within = (parent: ShownPeriod, subs: ShownPeriod[]) => {
        for (const cell of CELLS) {
          const hidden = [parent, ...subs].filter((p) => at(p, cell).value === null);
          expect(hidden).not.toHaveLength(1);
          // All shown: the sub-periods add up to the period.
          if (!hidden.length) expect(subs.reduce((s, p) => s + at(p, cell).value!, 0)).toBe(at(parent, cell).value);
        }
      };
      weeks.forEach((w, i) => within(w, days.slice(i * 7, i * 7 + 7)));
      days.forEach((d, i) => within(d, hours.slice(i * 24, i * 24 + 24)));
    }
  });

  it('shows a cell the same whatever range or granularity is asked for (each week decided on its own counts)', () => {
    const rows = calls(14, 21);
    const a = new StatsTables(rows).periods(new Date(MONDAY + 3 * D), new Date(MONDAY + 10 * D), 'day');
    // Another answer: the rows of the second week alone, a range that starts on its Monday.
    const second = rows.filter((r) => r.hour.getTime() >= MONDAY + 7 * D && r.hour.getTime() < MONDAY + 14 * D);
    const b = new StatsTables(second).periods(new Date(MONDAY + 7 * D), new Date(MONDAY + 14 * D), 'day');
    expect(a.slice(4)).toEqual(b.slice(0, 3));
  });

  it('totals the figures shown only, naming the cells where some period was withheld', () => {
    const tables = new StatsTables(calls(14, 7));
    const days = tables.periods(new Date(MONDAY), new Date(MONDAY + 7 * D), 'day');
    const totals = totalsJson(days) as any;
    expect(totals.offered).toBe(days.reduce((s, p) => s + (at(p, 'offered').value ?? 0), 0));
    expect(totals.incomplete).toEqual(CELLS.filter((c) => days.some((p) => at(p, c).value === null)));
  });
});
