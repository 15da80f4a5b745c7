import { HOUR_MS, HourlyStatRow, StatMetric, TALK_BUCKETS, WAIT_BUCKETS } from '@hotline/calls';

export const PERIODS = ['hour', 'day', 'week'] as const;
export type Period = (typeof PERIODS)[number];

/** Counts suppressed in exports: fewer than this (and more than none) are shown as "<5". */
export const SMALL_COUNT = 5;

export interface StatsPeriod {
  start: Date;
  offered: number;
  answered: number;
  abandoned: number;
  answeredInServiceLevel: number;
  wait: Record<string, number>;
  talk: Record<string, number>;
  riskAssessed: Record<string, number>;
  escalations: number;
  callbacks: number;
  transfers: number;
  complaintsReceived: number;
  complaintsResolved: number;
}

const DAY_MS = 24 * HOUR_MS;

/** The start (UTC) of the period holding `at`: the hour, the day, or the week from Monday. */
export function periodStart(at: Date, by: Period): Date {
  const t = at.getTime();
  if (by === 'hour') return new Date(Math.floor(t / HOUR_MS) * HOUR_MS);
  const day = Math.floor(t / DAY_MS) * DAY_MS;
  if (by === 'day') return new Date(day);
  const weekday = (new Date(day).getUTCDay() + 6) % 7; // Monday 0
  return new Date(day - weekday * DAY_MS);
}

const SCALARS: Partial<Record<StatMetric, keyof StatsPeriod>> = {
  offered: 'offered',
  answered: 'answered',
  abandoned: 'abandoned',
  answered_in_service_level: 'answeredInServiceLevel',
  escalations: 'escalations',
  callbacks: 'callbacks',
  transfers: 'transfers',
  complaints_received: 'complaintsReceived',
  complaints_resolved: 'complaintsResolved',
};

function empty(start: Date): StatsPeriod {
  return {
    start,
    offered: 0,
    answered: 0,
    abandoned: 0,
    answeredInServiceLevel: 0,
    wait: Object.fromEntries(WAIT_BUCKETS.map((b) => [b.name, 0])),
    talk: Object.fromEntries(TALK_BUCKETS.map((b) => [b.name, 0])),
    riskAssessed: {},
    escalations: 0,
    callbacks: 0,
    transfers: 0,
    complaintsReceived: 0,
    complaintsResolved: 0,
  };
}

/** Sums hourly rows into periods (every period of the range present, empty ones as zeros), oldest first. */
export function aggregate(rows: HourlyStatRow[], by: Period, from: Date, to: Date): StatsPeriod[] {
  const periods = new Map<number, StatsPeriod>();
  for (let t = periodStart(from, by); t < to;) {
    periods.set(t.getTime(), empty(t));
    t =
      by === 'hour' ? new Date(t.getTime() + HOUR_MS) : by === 'day' ? new Date(t.getTime() + DAY_MS) : new Date(t.getTime() + 7 * DAY_MS);
  }
  for (const r of rows) {
    const start = periodStart(r.hour, by);
    const p = periods.get(start.getTime()) ?? empty(start);
    periods.set(start.getTime(), p);
    const scalar = SCALARS[r.metric];
    if (scalar) (p[scalar] as number) += r.n;
    else if (r.metric === 'wait') p.wait[r.bucket] = (p.wait[r.bucket] ?? 0) + r.n;
    else if (r.metric === 'talk') p.talk[r.bucket] = (p.talk[r.bucket] ?? 0) + r.n;
    else if (r.metric === 'risk_assessed') p.riskAssessed[r.bucket] = (p.riskAssessed[r.bucket] ?? 0) + r.n;
  }
  return [...periods.values()].sort((a, b) => a.start.getTime() - b.start.getTime());
}

/** A count as an export shows it: fewer than five (but some) as "<5". */
export const suppressed = (n: number): string => (n > 0 && n < SMALL_COUNT ? `<${SMALL_COUNT}` : String(n));

/** One CSV line per period, metric and bucket: period, metric, bucket, count (small counts suppressed). */
export function statsCsvRows(periods: StatsPeriod[]): unknown[][] {
  const out: unknown[][] = [];
  for (const p of periods) {
    for (const [metric, key] of Object.entries(SCALARS)) out.push([p.start, metric, '', suppressed(p[key!] as number)]);
    for (const [b, n] of Object.entries(p.wait)) out.push([p.start, 'wait', b, suppressed(n)]);
    for (const [b, n] of Object.entries(p.talk)) out.push([p.start, 'talk', b, suppressed(n)]);
    for (const [b, n] of Object.entries(p.riskAssessed)) out.push([p.start, 'risk_assessed', b, suppressed(n)]);
  }
  return out;
}
