import { aggregate, periodStart, statsCsvRows, suppressed } from './aggregate';

const H = 3_600_000;

describe('statistics periods', () => {
  it('starts days at midnight UTC and weeks on Monday', () => {
    const sunday = new Date('2026-11-29T23:30:00Z');
    expect(periodStart(sunday, 'hour').toISOString()).toBe('2026-11-29T23:00:00.000Z');
    expect(periodStart(sunday, 'day').toISOString()).toBe('2026-11-29T00:00:00.000Z');
    expect(periodStart(sunday, 'week').toISOString()).toBe('2026-11-23T00:00:00.000Z');
    expect(periodStart(new Date('2026-11-30T00:00:00Z'), 'week').toISOString()).toBe('2026-11-30T00:00:00.000Z');
  });

  it('sums hours into days, listing empty periods as zeros', () => {
    const from = new Date('2026-11-01T00:00:00Z');
    const rows = [
      { hour: new Date(from.getTime() + 2 * H), metric: 'offered' as const, bucket: '', n: 3 },
      { hour: new Date(from.getTime() + 5 * H), metric: 'offered' as const, bucket: '', n: 4 },
      { hour: new Date(from.getTime() + 5 * H), metric: 'wait' as const, bucket: '10-30s', n: 2 },
      { hour: new Date(from.getTime() + 50 * H), metric: 'risk_assessed' as const, bucket: 'high', n: 1 },
    ];
    const days = aggregate(rows, 'day', from, new Date(from.getTime() + 72 * H));
    expect(days.map((d) => d.offered)).toEqual([7, 0, 0]);
    expect(days[0].wait['10-30s']).toBe(2);
    expect(days[2].riskAssessed).toEqual({ high: 1 });
  });

  it('shows counts from 1 to 4 as <5 in exports, and 0 and 5 as they are', () => {
    expect([0, 1, 4, 5, 12].map(suppressed)).toEqual(['0', '<5', '<5', '5', '12']);
    const [p] = aggregate(
      [{ hour: new Date('2026-11-01T00:00:00Z'), metric: 'offered', bucket: '', n: 2 }],
      'hour',
      new Date('2026-11-01T00:00:00Z'),
      new Date('2026-11-01T01:00:00Z'),
    );
    expect(statsCsvRows([p]).find((r) => r[1] === 'offered')?.[3]).toBe('<5');
  });
});
