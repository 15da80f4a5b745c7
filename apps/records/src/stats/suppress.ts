import { HOUR_MS, HourlyStatRow } from '@hotline/calls';
import {
  CELLS,
  Counts,
  DAY_MS,
  PERIOD_MS,
  Period,
  WEEK_MS,
  addRow,
  cellValues,
  csvMetric,
  emptyCounts,
  periodStart,
  sumCounts,
} from './aggregate';
import { CountTable, Display, Interval, SMALL_COUNT } from './disclosure';

/**
 * The statistics as they may be shown: small counts suppressed and more cells withheld where a
 * suppressed count could otherwise be worked out, the same in JSON, CSV and the console's charts.
 *
 * Every week (Monday 00:00 UTC) is decided on its own, from its own counts only, so that a cell looks
 * the same in every answer that shows it, whatever range or granularity was asked for:
 * 1. the week's row: counts from 1 to 4 suppressed, then complements withheld within the row (a total
 *    equals its parts: offered = answered + abandoned + calls that were neither; the wait bands sum to
 *    the calls answered or abandoned; the talk bands to the calls answered; calls answered within the
 *    service level and calls assessed are parts of answered and offered);
 * 2. its seven days: the same within each day's row, and a day's cells must not let anyone narrow
 *    what the week's answer leaves open (the days of a cell sum to the week's);
 * 3. each day's 24 hours, likewise under their day.
 * A finer period is decided under the coarser one and never changes it, so the week and day views
 * keep as many figures as they can and the hourly view withholds what it must. What a reader knows of
 * a number that is not shown (what the constant parts of these relations are, e.g. the calls neither
 * answered nor abandoned) is assumed known to them, which only ever withholds more.
 *
 * Totals over an answer's periods add up the figures shown, and say where a period's figure was
 * withheld (the sum is then "at least"): an exact total over a range could be differenced with the
 * total over a range one period shorter.
 */

export interface StatsCell {
  value: number | null;
  display: Display;
}

export interface ShownPeriod {
  start: Date;
  cells: StatsCell[];
}

interface Decided {
  cells: StatsCell[];
  known: Interval[];
}

/** One period row in `table`: its cells and the relations inside it. `outer`: decided before, with what a reader knows. */
function addPeriodRow(table: CountTable, counts: Counts, outer?: Interval[]): number[] {
  const values = cellValues(counts);
  const ids = values.map((v, i) => (outer ? table.outer(v, outer[i]) : table.cell(v)));
  const at = (name: string) => ids[CELLS.indexOf(name)];
  const group = (prefix: string) => CELLS.flatMap((n, i) => (n.startsWith(prefix) ? [ids[i]] : []));
  // offered = answered + abandoned + (neither: a known constant).
  table.relate([
    [at('offered'), 1],
    [at('answered'), -1],
    [at('abandoned'), -1],
  ]);
  // The wait bands sum to answered + abandoned, i.e. to offered less a known constant (a tree of relations).
  table.relate([[at('offered'), -1], ...group('wait.').map((c) => [c, 1] as [number, 1])]);
  // The talk bands sum to the calls answered (less those answered without an end).
  table.relate([[at('answered'), -1], ...group('talk.').map((c) => [c, 1] as [number, 1])]);
  // Parts with an unpublished rest: answered within the service level <= answered; calls assessed <= offered.
  const slackSl = counts.answered - counts.answeredInServiceLevel;
  if (slackSl >= 0)
    table.relate([
      [at('answered'), 1],
      [at('answeredInServiceLevel'), -1],
      [table.cell(slackSl, false), -1],
    ]);
  const assessed = Object.values(counts.riskAssessed).reduce((a, b) => a + b, 0);
  if (counts.offered - assessed >= 0)
    table.relate([
      [at('offered'), 1],
      ...group('riskAssessed.').map((c) => [c, -1] as [number, -1]),
      [table.cell(counts.offered - assessed, false), -1],
    ]);
  return ids;
}

/** Decides the rows `parts` (under `parent`, already decided, when given). */
function decide(parts: Counts[], parent?: { counts: Counts; known: Interval[] }): Decided[] {
  const table = new CountTable();
  const parentIds = parent ? addPeriodRow(table, parent.counts, parent.known) : null;
  const rows = parts.map((p) => addPeriodRow(table, p));
  if (parentIds) CELLS.forEach((_, k) => table.relate([[parentIds[k], 1], ...rows.map((ids) => [ids[k], -1] as [number, -1])], true));
  const known = table.protect();
  return rows.map((ids) => ({
    cells: ids.map((id) => {
      const display = table.display(id);
      return { value: display === 'value' ? table.values[id] : null, display };
    }),
    known: ids.map((id) => known[id]),
  }));
}

/** The hourly rows of whole weeks, decided week by week on demand. */
export class StatsTables {
  private readonly hours = new Map<number, Counts>();
  private readonly weeks = new Map<number, Decided>();
  private readonly daysOf = new Map<number, Decided[]>();
  private readonly hoursOf = new Map<number, Decided[]>();

  /** `rows`: every hourly row of the weeks that will be asked for. */
  constructor(rows: HourlyStatRow[]) {
    for (const r of rows) {
      const t = Math.floor(r.hour.getTime() / HOUR_MS) * HOUR_MS;
      const c = this.hours.get(t) ?? emptyCounts();
      addRow(c, r);
      this.hours.set(t, c);
    }
  }

  private hourCounts(t: number): Counts {
    return this.hours.get(t) ?? emptyCounts();
  }

  private dayCounts(t: number): Counts {
    return sumCounts([...Array(24)].map((_, h) => this.hourCounts(t + h * HOUR_MS)));
  }

  private weekCounts(t: number): Counts {
    return sumCounts([...Array(7)].map((_, d) => this.dayCounts(t + d * DAY_MS)));
  }

  private week(t: number): Decided {
    let w = this.weeks.get(t);
    if (!w) this.weeks.set(t, (w = decide([this.weekCounts(t)])[0]));
    return w;
  }

  private days(week: number): Decided[] {
    let d = this.daysOf.get(week);
    if (!d) {
      const parts = [...Array(7)].map((_, i) => this.dayCounts(week + i * DAY_MS));
      this.daysOf.set(week, (d = decide(parts, { counts: this.weekCounts(week), known: this.week(week).known })));
    }
    return d;
  }

  private hoursOfDay(day: number): Decided[] {
    let h = this.hoursOf.get(day);
    if (!h) {
      const week = periodStart(new Date(day), 'week').getTime();
      const dayDecided = this.days(week)[(day - week) / DAY_MS];
      const parts = [...Array(24)].map((_, i) => this.hourCounts(day + i * HOUR_MS));
      this.hoursOf.set(day, (h = decide(parts, { counts: this.dayCounts(day), known: dayDecided.known })));
    }
    return h;
  }

  /** The period starting at `start`, as it may be shown. */
  period(start: Date, by: Period): ShownPeriod {
    const t = start.getTime();
    if (by === 'week') return { start, cells: this.week(t).cells };
    const week = periodStart(start, 'week').getTime();
    if (by === 'day') return { start, cells: this.days(week)[(t - week) / DAY_MS].cells };
    const day = periodStart(start, 'day').getTime();
    return { start, cells: this.hoursOfDay(day)[(t - day) / HOUR_MS].cells };
  }

  /** Every period of [from, to) (both on period boundaries), oldest first. */
  periods(from: Date, to: Date, by: Period): ShownPeriod[] {
    const out: ShownPeriod[] = [];
    for (let t = from.getTime(); t < to.getTime(); t += PERIOD_MS[by]) out.push(this.period(new Date(t), by));
    return out;
  }
}

/** The weeks (as [start, end)) that hold [from, to). */
export function weeksOf(from: Date, to: Date): { from: Date; to: Date } {
  const start = periodStart(from, 'week');
  const lastWeek = periodStart(new Date(to.getTime() - 1), 'week');
  return { from: start, to: new Date(lastWeek.getTime() + WEEK_MS) };
}

/** A cell as the CSV and the console's table show it: its figure, "<5", or "x". */
export function shownText(c: StatsCell): string {
  return c.display === 'value' ? String(c.value) : c.display === 'small' ? `<${SMALL_COUNT}` : 'x';
}

/** A period as JSON: the counts with `null` where not shown, and `suppressed` naming those cells and why. */
export function periodJson(p: ShownPeriod): Record<string, unknown> {
  const out: Record<string, any> = { start: p.start, wait: {}, talk: {}, riskAssessed: {} };
  const suppressed: Record<string, 'small' | 'withheld'> = {};
  CELLS.forEach((name, i) => {
    const [group, bucket] = name.split(/\.(.*)/s);
    if (bucket === undefined) out[group] = p.cells[i].value;
    else out[group][bucket] = p.cells[i].value;
    if (p.cells[i].display !== 'value') suppressed[name] = p.cells[i].display as 'small' | 'withheld';
  });
  out.suppressed = suppressed;
  return out;
}

/** The sums of the figures shown over `periods`, and the cells where some period's figure was not shown. */
export function totalsJson(periods: ShownPeriod[]): Record<string, unknown> {
  const sums = CELLS.map((_, i) => periods.reduce((s, p) => s + (p.cells[i].value ?? 0), 0));
  const incomplete = CELLS.filter((_, i) => periods.some((p) => p.cells[i].display !== 'value'));
  const {
    start: _start,
    suppressed: _s,
    ...counts
  } = periodJson({
    start: new Date(0),
    cells: sums.map((value) => ({ value, display: 'value' })),
  });
  return { ...counts, incomplete };
}

/** One CSV line per period and cell: period, metric, bucket, count (a number, "<5" or "x"). */
export function statsCsvRows(periods: ShownPeriod[]): unknown[][] {
  return periods.flatMap((p) => CELLS.map((name, i) => [p.start, ...csvMetric(name), shownText(p.cells[i])]));
}
