/** ISO 8601 durations (`P90D`, `P1Y`, `PT5S`, `P1DT12H`), as the retention file writes them. */
export interface IsoDuration {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
  source: string;
}

const PATTERN = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

export function parseDuration(text: string): IsoDuration {
  const m = PATTERN.exec(String(text).trim());
  if (!m || text === 'P' || /T$/.test(text)) throw new Error(`"${text}" is not an ISO 8601 duration (e.g. P90D, P1Y, PT5S)`);
  const [years, months, weeks, days, hours, minutes] = m.slice(1, 7).map((v) => (v ? Number(v) : 0));
  const seconds = m[7] ? Number(m[7]) : 0;
  return { years, months, weeks, days, hours, minutes, seconds, source: text };
}

/** Adds a duration on the calendar (a year is a calendar year, not 365 days), in UTC. */
export function addDuration(from: Date, d: IsoDuration): Date {
  const t = new Date(from.getTime());
  if (d.years || d.months) t.setUTCMonth(t.getUTCMonth() + d.years * 12 + d.months);
  const ms = ((((d.weeks * 7 + d.days) * 24 + d.hours) * 60 + d.minutes) * 60 + d.seconds) * 1000;
  return new Date(t.getTime() + ms);
}

/** Approximate length in milliseconds, for schedules (a month is 30 days, a year 365). */
export function durationMs(d: IsoDuration): number {
  return ((((d.years * 365 + d.months * 30 + d.weeks * 7 + d.days) * 24 + d.hours) * 60 + d.minutes) * 60 + d.seconds) * 1000;
}
