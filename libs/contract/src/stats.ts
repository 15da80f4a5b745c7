/**
 * Records' content-free statistics (`GET /stats/hourly`) as the supervisor's console reads them.
 * Instants are ISO 8601 strings (JSON).
 */

/** What the statistics are summed by (UTC; weeks from Monday). */
export const STATS_PERIODS = ['hour', 'day', 'week'] as const;
export type StatsPeriod = (typeof STATS_PERIODS)[number];

/** Why a cell is not shown: a count from 1 to smallCount - 1, or withheld so that one cannot be worked out. */
export type StatsSuppression = 'small' | 'withheld';

/** A count as records shows it: `null` when it is not shown (see `suppressed`). */
export type StatsCount = number | null;

/** One period's counts. */
export interface StatsPeriodCounts {
  start: string;
  offered: StatsCount;
  answered: StatsCount;
  abandoned: StatsCount;
  answeredInServiceLevel: StatsCount;
  wait: Record<string, StatsCount>;
  talk: Record<string, StatsCount>;
  riskAssessed: Record<string, StatsCount>;
  escalations: StatsCount;
  callbacks: StatsCount;
  transfers: StatsCount;
  complaintsReceived: StatsCount;
  complaintsResolved: StatsCount;
  /** The cells not shown, by name (`abandoned`, `wait.5m+`). */
  suppressed: Record<string, StatsSuppression>;
}

/** Sums of the figures shown; `incomplete` names the cells where some period was not shown (the sum is then "at least"). */
export interface StatsTotals {
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
  incomplete: string[];
}

export interface StatsReport {
  from: string;
  to: string;
  by: StatsPeriod;
  serviceLevelSeconds: number;
  smallCount: number;
  periods: StatsPeriodCounts[];
  totals: StatsTotals;
}
