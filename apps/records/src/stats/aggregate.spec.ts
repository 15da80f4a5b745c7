import { addRow, cellValues, CELLS, emptyCounts, periodEnd, periodStart, sumCounts } from './aggregate';

describe('statistics periods', () => {
  it('starts days at midnight UTC and weeks on Monday', () => {
    const sunday = new Date('2026-11-29T23:30:00Z');
    expect(periodStart(sunday, 'hour').toISOString()).toBe('2026-11-29T23:00:00.000Z');
    expect(periodStart(sunday, 'day').toISOString()).toBe('2026-11-29T00:00:00.000Z');
    expect(periodStart(sunday, 'week').toISOString()).toBe('2026-11-23T00:00:00.000Z');
    expect(periodStart(new Date('2026-11-30T00:00:00Z'), 'week').toISOString()).toBe('2026-11-30T00:00:00.000Z');
  });

  it('ends a range at the end of its last period (only whole periods), and leaves a period boundary as it is', () => {
    expect(periodEnd(new Date('2026-11-29T23:30:00Z'), 'day').toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(periodEnd(new Date('2026-11-30T00:00:00Z'), 'day').toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(periodEnd(new Date('2026-11-25T10:00:00Z'), 'week').toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(periodEnd(new Date('2026-11-25T10:00:01Z'), 'hour').toISOString()).toBe('2026-11-25T11:00:00.000Z');
  });

  it('sums hourly rows into counts with every cell present (every risk level, every band)', () => {
    const hour = new Date('2026-11-01T02:00:00Z');
    const a = emptyCounts();
    addRow(a, { hour, metric: 'offered', bucket: '', n: 3 });
    addRow(a, { hour, metric: 'wait', bucket: '10-30s', n: 2 });
    addRow(a, { hour, metric: 'risk_assessed', bucket: 'high', n: 1 });
    const b = emptyCounts();
    addRow(b, { hour, metric: 'offered', bucket: '', n: 4 });
    const sum = sumCounts([a, b]);
    expect(sum.offered).toBe(7);
    expect(sum.wait['10-30s']).toBe(2);
    expect(sum.riskAssessed).toEqual({ none: 0, low: 0, moderate: 0, high: 1, imminent: 0 });
    expect(cellValues(sum)).toHaveLength(CELLS.length);
    expect(cellValues(sum)[CELLS.indexOf('riskAssessed.high')]).toBe(1);
  });
});
