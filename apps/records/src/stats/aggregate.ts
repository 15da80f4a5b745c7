import { RISK_LEVELS, STATS_PERIODS, StatsPeriod, StatsTotals } from '@hotline/contract';
import { HOUR_MS, HourlyStatRow, StatMetric, TALK_BUCKETS, WAIT_BUCKETS } from '@hotline/calls';

/** What the statistics are summed by: written once, in libs/contract (the console offers the same). */
export const PERIODS = STATS_PERIODS;
export type Period = StatsPeriod;

export const DAY_MS = 24 * HOUR_MS;
export const WEEK_MS = 7 * DAY_MS;

/** One period's counts, as the hourly rows sum them (every count there, none suppressed yet): the contract's totals, whole. */
export type Counts = Omit<StatsTotals, 'incomplete'>;

/**
 * Every cell of a period, by name (`wait.1-2m`, `riskAssessed.high`), in one fixed order: the same
 * cells whatever the counts (a risk level nobody was assessed at is there, as 0).
 */
export const CELLS: string[] = [
  'offered',
  'answered',
  'abandoned',
  'answeredInServiceLevel',
  ...WAIT_BUCKETS.map((b) => `wait.${b.name}`),
  ...TALK_BUCKETS.map((b) => `talk.${b.name}`),
  ...RISK_LEVELS.map((r) => `riskAssessed.${r}`),
  'escalations',
  'callbacks',
  'transfers',
  'complaintsReceived',
  'complaintsResolved',
];

/** The CSV's metric and bucket of a cell (the table's own metric names). */
export function csvMetric(cell: string): [metric: string, bucket: string] {
  const [group, bucket = ''] = cell.split(/\.(.*)/s);
  const metric: Record<string, string> = {
    answeredInServiceLevel: 'answered_in_service_level',
    riskAssessed: 'risk_assessed',
    complaintsReceived: 'complaints_received',
    complaintsResolved: 'complaints_resolved',
  };
  return [metric[group] ?? group, bucket];
}

const SCALARS: Partial<Record<StatMetric, keyof Counts>> = {
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

export function emptyCounts(): Counts {
  return {
    offered: 0,
    answered: 0,
    abandoned: 0,
    answeredInServiceLevel: 0,
    wait: Object.fromEntries(WAIT_BUCKETS.map((b) => [b.name, 0])),
    talk: Object.fromEntries(TALK_BUCKETS.map((b) => [b.name, 0])),
    riskAssessed: Object.fromEntries(RISK_LEVELS.map((r) => [r, 0])),
    escalations: 0,
    callbacks: 0,
    transfers: 0,
    complaintsReceived: 0,
    complaintsResolved: 0,
  };
}

/** A period's counts as a list in `CELLS` order. */
export function cellValues(c: Counts): number[] {
  return CELLS.map((name) => {
    const [group, bucket] = name.split(/\.(.*)/s);
    const v = (c as unknown as Record<string, number | Record<string, number>>)[group];
    return typeof v === 'number' ? v : (v[bucket] ?? 0);
  });
}

/** Adds one hourly row to `c`. A risk level outside the contract's list (none is accepted) is left out. */
export function addRow(c: Counts, r: HourlyStatRow): void {
  const scalar = SCALARS[r.metric];
  if (scalar) (c[scalar] as number) += r.n;
  else if (r.metric === 'wait' && r.bucket in c.wait) c.wait[r.bucket] += r.n;
  else if (r.metric === 'talk' && r.bucket in c.talk) c.talk[r.bucket] += r.n;
  else if (r.metric === 'risk_assessed' && r.bucket in c.riskAssessed) c.riskAssessed[r.bucket] += r.n;
}

export function sumCounts(parts: Counts[]): Counts {
  const out = emptyCounts();
  for (const p of parts) {
    for (const k of Object.keys(SCALARS).map((m) => SCALARS[m as StatMetric]!)) (out[k] as number) += p[k] as number;
    for (const g of ['wait', 'talk', 'riskAssessed'] as const) for (const b of Object.keys(out[g])) out[g][b] += p[g][b] ?? 0;
  }
  return out;
}

/** The start (UTC) of the period holding `at`: the hour, the day, or the week from Monday. */
export function periodStart(at: Date, by: Period): Date {
  const t = at.getTime();
  if (by === 'hour') return new Date(Math.floor(t / HOUR_MS) * HOUR_MS);
  const day = Math.floor(t / DAY_MS) * DAY_MS;
  if (by === 'day') return new Date(day);
  const weekday = (new Date(day).getUTCDay() + 6) % 7; // Monday 0
  return new Date(day - weekday * DAY_MS);
}

export const PERIOD_MS: Record<Period, number> = { hour: HOUR_MS, day: DAY_MS, week: WEEK_MS };

/** The end of the period holding the instant just before `at`: `at` itself when it starts a period. */
export function periodEnd(at: Date, by: Period): Date {
  const start = periodStart(new Date(at.getTime() - 1), by);
  return new Date(start.getTime() + PERIOD_MS[by]);
}
