/**
 * The research export's release periods: calendar months (`2025-03`) or ISO 8601 weeks (`2025-W10`,
 * Monday to Monday), both in UTC. UTC and not TIME_ZONE: a period's bounds must never move (a month
 * read in another zone would differ from the one released before by the calls of a few hours, which
 * is just the difference the release rules exist to prevent), and UTC has no daylight-saving hours.
 */
export type PeriodKind = 'month' | 'week';

export interface ReleasePeriod {
  kind: PeriodKind;
  /** `2025-03` or `2025-W10`. */
  id: string;
  start: Date;
  end: Date;
}

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

/**
 * How long after its end a period is first released: every call that started in it has ended and
 * been wrapped up. Calls that end later than this are never part of it (its content does not grow).
 */
export const SETTLE_MS = DAY_MS;

export const PERIOD_FORMAT: Record<PeriodKind, string> = { month: 'YYYY-MM', week: 'YYYY-Www' };
const PATTERN: Record<PeriodKind, RegExp> = { month: /^(\d{4})-(0[1-9]|1[0-2])$/, week: /^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$/ };

/** Monday 00:00 UTC of ISO week 1 of `year` (the week that holds 4 January). */
function isoWeekOne(year: number): number {
  const jan4 = Date.UTC(year, 0, 4);
  return jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY_MS;
}

function month(year: number, m: number): ReleasePeriod {
  const start = new Date(Date.UTC(year, m - 1, 1));
  return { kind: 'month', id: start.toISOString().slice(0, 7), start, end: new Date(Date.UTC(year, m, 1)) };
}

function week(year: number, w: number): ReleasePeriod {
  const start = new Date(isoWeekOne(year) + (w - 1) * WEEK_MS);
  return { kind: 'week', id: `${year}-W${String(w).padStart(2, '0')}`, start, end: new Date(start.getTime() + WEEK_MS) };
}

/** The period `id` names, or null when it is not one (wrong form, or a week 53 the year does not have). */
export function parsePeriod(kind: PeriodKind, id: string): ReleasePeriod | null {
  const m = PATTERN[kind].exec(id);
  if (!m) return null;
  const year = Number(m[1]);
  if (year < 1970) return null;
  if (kind === 'month') return month(year, Number(m[2]));
  const p = week(year, Number(m[2]));
  return p.start.getTime() < isoWeekOne(year + 1) ? p : null;
}

/** The period holding instant `at`. */
export function periodOf(kind: PeriodKind, at: Date): ReleasePeriod {
  if (kind === 'month') return month(at.getUTCFullYear(), at.getUTCMonth() + 1);
  // The ISO week-year is the year of the week's Thursday.
  const day = Math.floor(at.getTime() / DAY_MS) * DAY_MS;
  const monday = day - ((new Date(day).getUTCDay() + 6) % 7) * DAY_MS;
  const year = new Date(monday + 3 * DAY_MS).getUTCFullYear();
  return week(year, Math.round((monday - isoWeekOne(year)) / WEEK_MS) + 1);
}

export const nextPeriod = (p: ReleasePeriod): ReleasePeriod => periodOf(p.kind, p.end);
export const previousPeriod = (p: ReleasePeriod): ReleasePeriod => periodOf(p.kind, new Date(p.start.getTime() - 1));

/** Whether `p` may be released at `now`: it ended, and its calls have settled. */
export const released = (p: ReleasePeriod, now: Date): boolean => now.getTime() >= p.end.getTime() + SETTLE_MS;

/** The latest period that may be released at `now`. */
export const latestReleased = (kind: PeriodKind, now: Date): ReleasePeriod =>
  previousPeriod(periodOf(kind, new Date(now.getTime() - SETTLE_MS)));

/** The periods from `from` to `to`, both included. */
export function periodsBetween(from: ReleasePeriod, to: ReleasePeriod): ReleasePeriod[] {
  const out: ReleasePeriod[] = [];
  for (let p = from; p.start <= to.start; p = nextPeriod(p)) out.push(p);
  return out;
}

/** The kind of a period id as released before (either form). */
export const kindOfId = (id: string): PeriodKind | null => (PATTERN.month.test(id) ? 'month' : PATTERN.week.test(id) ? 'week' : null);

export const overlaps = (a: { start: Date; end: Date }, b: { start: Date; end: Date }): boolean => a.start < b.end && b.start < a.end;
