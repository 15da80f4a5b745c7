import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { ENV } from '@hotline/config';
import { retriedTransaction } from './lock-retry';

/**
 * Content-free statistics kept per hour, written before the calls they count are destroyed (they
 * outlive them). One row per hour (UTC, of the call's start), metric and bucket; counts only, no
 * id, no pseudonym. A call is counted once: `calls.stats_counted_at` is set in the transaction that
 * adds its counts, and the row lock taken by the counting SELECT keeps two counters from both
 * counting it.
 */
export const STAT_METRICS = [
  'offered',
  'answered',
  'abandoned',
  'answered_in_service_level',
  'wait',
  'talk',
  'risk_assessed',
  'escalations',
  'callbacks',
  'transfers',
  'complaints_received',
  'complaints_resolved',
] as const;
export type StatMetric = (typeof STAT_METRICS)[number];

/** Wait-time bands (seconds from the start of the call to its answer or abandonment): upper bounds. */
export const WAIT_BUCKETS = [
  { name: '0-10s', upTo: 10 },
  { name: '10-30s', upTo: 30 },
  { name: '30-60s', upTo: 60 },
  { name: '1-2m', upTo: 120 },
  { name: '2-5m', upTo: 300 },
  { name: '5m+', upTo: Infinity },
] as const;
/** Talk-time bands (seconds from answer to end). */
export const TALK_BUCKETS = [
  { name: '0-1m', upTo: 60 },
  { name: '1-5m', upTo: 300 },
  { name: '5-15m', upTo: 900 },
  { name: '15-30m', upTo: 1800 },
  { name: '30-60m', upTo: 3600 },
  { name: '60m+', upTo: Infinity },
] as const;

export const HOUR_MS = 3_600_000;
export const hourOf = (at: Date): Date => new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);

function band(buckets: readonly { name: string; upTo: number }[], seconds: number): string {
  return buckets.find((b) => seconds < b.upTo)!.name;
}

export interface HourlyStatRow {
  hour: Date;
  metric: StatMetric;
  bucket: string;
  n: number;
}

/** A call as `COUNTED_COLUMNS` reads it. */
export interface CountedCall {
  id: string;
  stats_counted_at: Date | null;
  status: string;
  started_at: Date;
  answered_at: Date | null;
  ended_at: Date | null;
  risk_level: string;
  assessments: string | number;
  escalations: string | number;
}

/** Adds `n` to (hour, metric, bucket) for each increment, in `db`'s transaction when it is one. */
export async function addToHourlyStats(db: DataSource | EntityManager, increments: HourlyStatRow[]): Promise<void> {
  // In key order: two writers adding to the same rows lock them in the same order (no deadlock).
  const rows = increments
    .filter((r) => r.n > 0)
    .sort((a, b) => a.hour.getTime() - b.hour.getTime() || a.metric.localeCompare(b.metric) || a.bucket.localeCompare(b.bucket));
  if (!rows.length) return;
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    await db.query(
      `INSERT INTO stats_hourly (hour, metric, bucket, n) VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')}
       ON DUPLICATE KEY UPDATE n = n + VALUES(n)`,
      chunk.flatMap((r) => [r.hour, r.metric, r.bucket, r.n]),
    );
  }
}

/**
 * Counts the calls not yet counted among `callIds` (or, with `endedBefore`, up to `limit` ended
 * calls not yet counted) into the hourly statistics, in `tx`, and marks them counted. Returns how
 * many calls it counted. Idempotent: a counted call is never counted again.
 */
export async function countCallsInto(
  tx: EntityManager,
  sel: { callIds: string[] } | { endedBefore: Date; limit: number },
  serviceLevelSeconds = 30,
): Promise<number> {
  const { callIds, increments } = await tallyCalls(tx, sel, serviceLevelSeconds);
  if (!callIds.length) return 0;
  await addToHourlyStats(tx, increments);
  await tx.query('UPDATE calls SET stats_counted_at = ? WHERE id IN (?)', [new Date(), callIds]);
  return callIds.length;
}

/**
 * The columns a call is counted from (`c` is the calls table), for a SELECT that locks the calls
 * (`FOR UPDATE`: no one else counts them meanwhile). Secure deletion reads them with its own lock of
 * the calls and adds the counts last in its transaction (`statisticsOf`, `addToHourlyStats`).
 */
export const COUNTED_COLUMNS = `c.status, c.started_at, c.answered_at, c.ended_at, c.risk_level, c.stats_counted_at,
            (SELECT COUNT(*) FROM risk_assessments r WHERE r.call_id = c.id) AS assessments,
            (SELECT COUNT(*) FROM escalations e WHERE e.call_id = c.id) AS escalations`;

async function tallyCalls(
  tx: EntityManager,
  sel: { callIds: string[] } | { endedBefore: Date; limit: number },
  serviceLevelSeconds: number,
): Promise<{ callIds: string[]; increments: HourlyStatRow[] }> {
  if ('callIds' in sel && !sel.callIds.length) return { callIds: [], increments: [] };
  const where =
    'callIds' in sel
      ? 'c.id IN (?) AND c.stats_counted_at IS NULL'
      : 'c.stats_counted_at IS NULL AND c.ended_at IS NOT NULL AND c.ended_at < ?';
  const params = 'callIds' in sel ? [sel.callIds] : [sel.endedBefore, sel.limit];
  const calls: CountedCall[] = await tx.query(
    `SELECT c.id, ${COUNTED_COLUMNS}
       FROM calls c WHERE ${where}${'callIds' in sel ? '' : ' ORDER BY c.ended_at LIMIT ?'} FOR UPDATE`,
    params,
  );
  return { callIds: calls.map((c) => c.id), increments: statisticsOf(calls, serviceLevelSeconds) };
}

/** What these calls add to the hourly statistics (those counted already add nothing). */
export function statisticsOf(calls: CountedCall[], serviceLevelSeconds = 30): HourlyStatRow[] {
  const sums = new Map<string, HourlyStatRow>();
  const add = (hour: Date, metric: StatMetric, bucket = '', n = 1) => {
    const key = `${hour.getTime()}|${metric}|${bucket}`;
    const row = sums.get(key) ?? { hour, metric, bucket, n: 0 };
    row.n += n;
    sums.set(key, row);
  };
  for (const c of calls) {
    if (c.stats_counted_at) continue;
    const started = new Date(c.started_at);
    const hour = hourOf(started);
    add(hour, 'offered');
    if (c.answered_at) {
      const waited = (new Date(c.answered_at).getTime() - started.getTime()) / 1000;
      add(hour, 'answered');
      add(hour, 'wait', band(WAIT_BUCKETS, waited));
      if (waited <= serviceLevelSeconds) add(hour, 'answered_in_service_level');
      if (c.ended_at) add(hour, 'talk', band(TALK_BUCKETS, (new Date(c.ended_at).getTime() - new Date(c.answered_at).getTime()) / 1000));
    } else if (c.status === 'abandoned') {
      add(hour, 'abandoned');
      if (c.ended_at) add(hour, 'wait', band(WAIT_BUCKETS, (new Date(c.ended_at).getTime() - started.getTime()) / 1000));
    }
    if (Number(c.assessments) > 0) add(hour, 'risk_assessed', c.risk_level);
    if (Number(c.escalations) > 0) add(hour, 'escalations', '', Number(c.escalations));
  }
  return [...sums.values()];
}

/** The hourly statistics: counting settled calls (the worker), reading them (records). */
@Injectable()
export class HourlyStats {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Optional() @Inject(ENV) private readonly env?: { SERVICE_LEVEL_SECONDS?: number },
  ) {}

  get serviceLevelSeconds(): number {
    return Number(this.env?.SERVICE_LEVEL_SECONDS ?? 30);
  }

  /**
   * Counts calls that ended before `endedBefore` (settled: wrap-up, assessments and escalations
   * done) and are not counted yet, `batch` at a time. Returns how many it counted.
   */
  async countSettled(endedBefore: Date, batch = 500): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await retriedTransaction(this.db, (tx) => countCallsInto(tx, { endedBefore, limit: batch }, this.serviceLevelSeconds));
      total += n;
      if (n < batch) return total;
    }
  }

  /** Counts these calls now, if they are not counted yet. */
  countCalls(callIds: string[], tx?: EntityManager): Promise<number> {
    if (tx) return countCallsInto(tx, { callIds }, this.serviceLevelSeconds);
    return retriedTransaction(this.db, (m) => countCallsInto(m, { callIds }, this.serviceLevelSeconds));
  }

  /** Adds one to a metric in the hour of `at` (complaints), in `tx` when given. */
  bump(metric: StatMetric, at: Date, tx?: EntityManager): Promise<void> {
    return addToHourlyStats(tx ?? this.db, [{ hour: hourOf(at), metric, bucket: '', n: 1 }]);
  }

  /** Every row with `from <= hour < to`, oldest first. */
  async read(from: Date, to: Date): Promise<HourlyStatRow[]> {
    const rows: { hour: Date; metric: StatMetric; bucket: string; n: number }[] = await this.db.query(
      'SELECT hour, metric, bucket, n FROM stats_hourly WHERE hour >= ? AND hour < ? ORDER BY hour, metric, bucket',
      [from, to],
    );
    return rows.map((r) => ({ hour: new Date(r.hour), metric: r.metric, bucket: r.bucket, n: Number(r.n) }));
  }
}
