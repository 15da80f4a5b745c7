import type { ResearchCall } from '@hotline/calls';
import { RESEARCH_COLUMNS, anonymise } from './anonymise';

function call(
  startedAt: string,
  waitS: number,
  talkS: number | null,
  riskLevel = 'none',
  wrapupCategory: string | null = null,
): ResearchCall {
  const s = new Date(startedAt);
  const a = talkS === null ? null : new Date(s.getTime() + waitS * 1000);
  return {
    startedAt: s,
    answeredAt: a,
    endedAt: new Date(s.getTime() + (waitS + (talkS ?? 0)) * 1000),
    status: a ? 'completed' : 'abandoned',
    riskLevel,
    wrapupCategory,
    escalations: 0,
  };
}

const groupSizes = (rows: Record<string, string>[]) => {
  const m = new Map<string, number>();
  for (const r of rows) m.set(RESEARCH_COLUMNS.map((c) => r[c]).join('|'), (m.get(RESEARCH_COLUMNS.map((c) => r[c]).join('|')) ?? 0) + 1);
  return [...m.values()];
};

describe('anonymise (research export)', () => {
  it('keeps the finest level when it suppresses little, and suppresses the rare rows', () => {
    const calls = [...Array(10)].map((_, i) => call(`2025-03-0${(i % 5) + 3}T19:0${i}:00Z`, 10, 600));
    calls.push(call('2025-03-09T03:00:00Z', 200, 4000, 'imminent'));
    const { rows, report } = anonymise(calls, 5, '2025-03');
    expect(report).toMatchObject({ level: 0, considered: 11, exported: 10, suppressedRows: 1, suppressedCombinations: 1 });
    expect(Math.min(...groupSizes(rows as any))).toBeGreaterThanOrEqual(5);
  });

  it('coarsens (drops part of day, widens bands) when the finest level would suppress too much', () => {
    // Five calls in each part of the day: with k = 10 none survives at level 0, all at level 1.
    const calls = ['03', '09', '15', '21'].flatMap((h) => [...Array(5)].map((_, i) => call(`2025-03-04T${h}:1${i}:00Z`, 10, 200, 'low')));
    const { rows, report } = anonymise(calls, 10, '2025-03');
    expect(report.levels[0]).toEqual({ level: 0, suppressedRows: 20 });
    expect(report).toMatchObject({ level: 1, exported: 20, suppressedRows: 0 });
    expect(rows.every((r) => r.partOfDay === '*' && r.risk === 'none-low' && r.period === '2025-03')).toBe(true);
  });

  it('never exports a category outside the console list', () => {
    const calls = [...Array(6)].map(() => call('2025-03-04T19:00:00Z', 10, 200, 'none', 'Rang from the bridge'));
    const { rows } = anonymise(calls, 5, '2025-03');
    expect(rows.map((r) => r.category)).toEqual(Array(6).fill('Other'));
  });
});
