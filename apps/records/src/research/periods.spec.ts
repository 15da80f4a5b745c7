import { latestReleased, nextPeriod, parsePeriod, periodOf, periodsBetween, previousPeriod, released } from './periods';

describe('research release periods', () => {
  it('reads calendar months and ISO weeks, in UTC, and nothing else', () => {
    expect(parsePeriod('month', '2025-03')).toMatchObject({
      id: '2025-03',
      start: new Date('2025-03-01T00:00:00Z'),
      end: new Date('2025-04-01T00:00:00Z'),
    });
    // ISO week 1 of 2025 starts on Monday 30 December 2024; 2026 has 53 weeks, 2025 has 52.
    expect(parsePeriod('week', '2025-W01')).toMatchObject({
      start: new Date('2024-12-30T00:00:00Z'),
      end: new Date('2025-01-06T00:00:00Z'),
    });
    expect(parsePeriod('week', '2026-W53')).toMatchObject({ start: new Date('2026-12-28T00:00:00Z') });
    expect(parsePeriod('week', '2025-W53')).toBeNull();
    for (const bad of ['2025-03-01', '2025-03-01T00:00:00Z', '2025-13', '2025-3', '2025-W10', ' 2025-03', '2025-03\n'])
      expect(parsePeriod('month', bad)).toBeNull();
    for (const bad of ['2025-03', '2025-W00', '2025-W54', '2025W10', '2025-w10']) expect(parsePeriod('week', bad)).toBeNull();
  });

  it('finds the period of an instant, and steps between periods', () => {
    expect(periodOf('week', new Date('2025-01-01T12:00:00Z')).id).toBe('2025-W01');
    expect(periodOf('week', new Date('2024-12-29T23:59:59Z')).id).toBe('2024-W52');
    expect(periodOf('week', new Date('2027-01-03T10:00:00Z')).id).toBe('2026-W53');
    expect(nextPeriod(parsePeriod('week', '2026-W53')!).id).toBe('2027-W01');
    expect(previousPeriod(parsePeriod('month', '2025-01')!).id).toBe('2024-12');
    expect(periodsBetween(parsePeriod('month', '2024-11')!, parsePeriod('month', '2025-02')!).map((p) => p.id)).toEqual([
      '2024-11',
      '2024-12',
      '2025-01',
      '2025-02',
    ]);
    // Weeks tile time with no gap and no overlap.
    let p = parsePeriod('week', '2024-W50')!;
    for (let i = 0; i < 60; i++) {
      const n = nextPeriod(p);
      expect(n.start).toEqual(p.end);
      p = n;
    }
  });

  it('releases a period from a day after its end', () => {
    const march = parsePeriod('month', '2025-03')!;
    expect(released(march, new Date('2025-04-01T23:59:59Z'))).toBe(false);
    expect(released(march, new Date('2025-04-02T00:00:00Z'))).toBe(true);
    expect(latestReleased('month', new Date('2025-04-01T23:59:59Z')).id).toBe('2025-02');
    expect(latestReleased('month', new Date('2025-04-02T00:00:00Z')).id).toBe('2025-03');
    expect(latestReleased('week', new Date('2025-03-11T00:00:00Z')).id).toBe('2025-W10');
    expect(latestReleased('week', new Date('2025-03-10T23:00:00Z')).id).toBe('2025-W09');
  });
});
