import { readFileSync } from 'fs';
import { parse } from 'yaml';
import { IsoDuration, durationMs, parseDuration } from './duration';

/** What a caller can be offered when nobody can answer, in the order the file lists them. */
export const OVERFLOW_CHOICES = ['keep_waiting', 'callback', 'voicemail', 'backup_line'] as const;
export type OverflowChoice = (typeof OVERFLOW_CHOICES)[number];

/** Why the choices were offered. */
export type OverflowReason = 'closed' | 'nobody_available' | 'max_wait';

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** An opening range in minutes from midnight, [from, to). */
export interface OpeningRange {
  from: number;
  to: number;
}

export interface RoutingConfig {
  version: string;
  timeZone: string;
  openingHours: Record<Weekday, OpeningRange[]>;
  holidays: string[];
  maxWait: IsoDuration;
  nobodyAvailableAfter: IsoDuration;
  overflow: OverflowChoice[];
  backupLine: string | null;
  hotlineNumber: string | null;
  callbacks: {
    maxAttempts: number;
    dueWithin: IsoDuration;
    retryAfter: IsoDuration;
    priority: 'after_live' | 'before_live';
    /**
     * When Twilio's answering machine detection says a machine answered a callback: `hangup` (the
     * default) leaves nothing; `message` waits for the greeting's end and says the wording's
     * `overflow.callbackMachine`, then hangs up. Either way the attempt is `machine`, not reached.
     */
    onMachine: 'hangup' | 'message';
    /**
     * Issue 24: caps against callbacks that run up call charges. `perNumberPerDay`: callbacks one
     * number may book (gateway), and be called back for (records), in a sliding 24 hours;
     * `perHour`: callbacks booked, and outbound callback calls placed, across the line in a sliding
     * hour. A cap reached refuses (the caller is told; the operator gets 409) and alerts the wallboard.
     */
    caps: { perNumberPerDay: number; perHour: number };
  };
  followups: { defaultDelay: IsoDuration };
}

/** The parsed routing file (`ROUTING_CONFIG`), injectable as `@Inject(ROUTING_CONFIG)`. */
export const ROUTING_CONFIG = Symbol('ROUTING_CONFIG');

const E164 = /^\+[1-9]\d{6,14}$/;
const RANGE = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/;
const TOP = [
  'version',
  'timeZone',
  'openingHours',
  'holidays',
  'maxWait',
  'nobodyAvailableAfter',
  'overflow',
  'backupLine',
  'hotlineNumber',
  'callbacks',
  'followups',
];

/** `openingHours`: each day (mon..sun) a list of HH:MM-HH:MM ranges, in minutes of the day. */
function parseOpeningHours(hours: any, problems: string[]): Record<Weekday, OpeningRange[]> {
  const openingHours = {} as Record<Weekday, OpeningRange[]>;
  if (typeof hours !== 'object' || Array.isArray(hours)) problems.push('openingHours: must map days (mon..sun) to ranges');
  for (const k of Object.keys(hours ?? {})) if (!WEEKDAYS.includes(k as Weekday)) problems.push(`openingHours.${k}: unknown day`);
  for (const day of WEEKDAYS) {
    const list = hours?.[day] ?? [];
    openingHours[day] = [];
    if (!Array.isArray(list)) {
      problems.push(`openingHours.${day}: must be a list of HH:MM-HH:MM`);
      continue;
    }
    for (const r of list) {
      const m = RANGE.exec(String(r));
      const from = m ? Number(m[1]) * 60 + Number(m[2]) : 0;
      const to = m ? Number(m[3]) * 60 + Number(m[4]) : 0;
      if (!m || to <= from || to > 24 * 60) problems.push(`openingHours.${day}: "${r}" is not a range HH:MM-HH:MM`);
      else openingHours[day].push({ from, to });
    }
  }
  return openingHours;
}

/** `callbacks`: attempts, when they are due and retried, their place beside live calls, what a machine hears, the caps. */
function parseCallbacks(
  cb: any,
  problems: string[],
  dur: (path: string, v: unknown, dflt: string) => IsoDuration,
): RoutingConfig['callbacks'] {
  const maxAttempts = cb.maxAttempts === undefined ? 3 : Number(cb.maxAttempts);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 10)
    problems.push('callbacks.maxAttempts: must be an integer from 1 to 10');
  const priority = cb.priority ?? 'after_live';
  if (priority !== 'after_live' && priority !== 'before_live') problems.push('callbacks.priority: must be after_live or before_live');
  const onMachine = cb.onMachine ?? 'hangup';
  if (onMachine !== 'hangup' && onMachine !== 'message') problems.push('callbacks.onMachine: must be hangup or message');
  for (const k of Object.keys(cb))
    if (!['maxAttempts', 'dueWithin', 'retryAfter', 'priority', 'onMachine', 'caps'].includes(k))
      problems.push(`callbacks.${k}: unknown key`);
  const capsDoc = cb.caps ?? {};
  if (typeof capsDoc !== 'object' || Array.isArray(capsDoc)) problems.push('callbacks.caps: must be a mapping (perNumberPerDay, perHour)');
  for (const k of Object.keys(capsDoc ?? {}))
    if (!['perNumberPerDay', 'perHour'].includes(k)) problems.push(`callbacks.caps.${k}: unknown key`);
  const cap = (k: 'perNumberPerDay' | 'perHour', dflt: number, max: number): number => {
    const v = capsDoc?.[k] === undefined ? dflt : Number(capsDoc[k]);
    if (!Number.isInteger(v) || v < 1 || v > max) problems.push(`callbacks.caps.${k}: must be an integer from 1 to ${max}`);
    return v;
  };
  const caps = { perNumberPerDay: cap('perNumberPerDay', 3, 100), perHour: cap('perHour', 60, 100_000) };
  return {
    maxAttempts,
    dueWithin: dur('callbacks.dueWithin', cb.dueWithin, 'PT2H'),
    retryAfter: dur('callbacks.retryAfter', cb.retryAfter, 'PT15M'),
    priority,
    onMachine,
    caps,
  };
}

export function parseRoutingConfig(text: string, origin = 'routing config'): RoutingConfig {
  let doc: any;
  try {
    doc = parse(text);
  } catch (e) {
    throw new Error(`${origin}: not valid YAML (${(e as Error).message})`, { cause: e });
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${origin}: expected a mapping with ${TOP.join(', ')}`);
  const problems: string[] = [];
  for (const k of Object.keys(doc)) if (!TOP.includes(k)) problems.push(`${k}: unknown key`);
  const dur = (path: string, v: unknown, dflt: string): IsoDuration => {
    try {
      return parseDuration(v === undefined ? dflt : String(v));
    } catch (e) {
      problems.push(`${path}: ${(e as Error).message}`);
      return parseDuration('PT0S');
    }
  };
  const version = doc.version === undefined ? '' : String(doc.version);
  if (!version.trim()) problems.push('version: is required (change it when what callers hear changes)');
  const timeZone = String(doc.timeZone ?? 'UTC');
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone }).format(0);
  } catch {
    problems.push(`timeZone: "${timeZone}" is not an IANA time zone`);
  }
  const openingHours = parseOpeningHours(doc.openingHours ?? {}, problems);
  const holidays: string[] = Array.isArray(doc.holidays) ? doc.holidays.map(String) : [];
  if (doc.holidays !== undefined && doc.holidays !== null && !Array.isArray(doc.holidays))
    problems.push('holidays: must be a list of dates');
  for (const h of holidays) if (!/^\d{4}-\d{2}-\d{2}$/.test(h)) problems.push(`holidays: "${h}" is not a date YYYY-MM-DD`);
  const maxWait = dur('maxWait', doc.maxWait, 'PT10M');
  const nobodyAvailableAfter = dur('nobodyAvailableAfter', doc.nobodyAvailableAfter, 'PT1M');
  const overflow: OverflowChoice[] = Array.isArray(doc.overflow) ? doc.overflow.map(String) : [];
  if (!Array.isArray(doc.overflow)) problems.push(`overflow: must list the choices in order (${OVERFLOW_CHOICES.join(', ')})`);
  for (const c of overflow) if (!OVERFLOW_CHOICES.includes(c)) problems.push(`overflow: unknown choice "${c}"`);
  if (new Set(overflow).size !== overflow.length) problems.push('overflow: a choice is listed twice');
  if (overflow.length > 9) problems.push('overflow: at most 9 choices (one key each)');
  const backupLine = doc.backupLine == null ? null : String(doc.backupLine);
  if (backupLine !== null && !E164.test(backupLine)) problems.push('backupLine: must be an E.164 number');
  if (overflow.includes('backup_line') && !backupLine) problems.push('backupLine: is required when overflow offers backup_line');
  const hotlineNumber = doc.hotlineNumber == null ? null : String(doc.hotlineNumber);
  if (hotlineNumber !== null && !E164.test(hotlineNumber)) problems.push('hotlineNumber: must be an E.164 number');
  const callbacks = parseCallbacks(doc.callbacks ?? {}, problems, dur);
  const fu = doc.followups ?? {};
  const followups = { defaultDelay: dur('followups.defaultDelay', fu.defaultDelay, 'PT24H') };
  if ((overflow.includes('callback') || overflow.length) && problems.length === 0 && durationMs(maxWait) < 1000)
    problems.push('maxWait: must be at least PT1S');
  if (problems.length) throw new Error(`${origin} is invalid:\n  - ${problems.join('\n  - ')}`);
  return {
    version,
    timeZone,
    openingHours,
    holidays,
    maxWait,
    nobodyAvailableAfter,
    overflow,
    backupLine,
    hotlineNumber,
    callbacks,
    followups,
  };
}

const loaded = new Map<string, RoutingConfig>();

/** Reads and checks the routing file once per path. */
export function loadRoutingConfig(path: string): RoutingConfig {
  const hit = loaded.get(path);
  if (hit) return hit;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`ROUTING_CONFIG: cannot read ${path} (${(e as NodeJS.ErrnoException).code})`, { cause: e });
  }
  const cfg = parseRoutingConfig(text, `ROUTING_CONFIG (${path})`);
  loaded.set(path, cfg);
  return cfg;
}

/** The local day, weekday and minute of `at` in the line's time zone. */
function localParts(cfg: RoutingConfig, at: Date): { date: string; day: Weekday; minute: number } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: cfg.timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const day = String(parts.weekday).toLowerCase().slice(0, 3) as Weekday;
  return { date: `${parts.year}-${parts.month}-${parts.day}`, day, minute: Number(parts.hour) * 60 + Number(parts.minute) };
}

/** Whether the line is open at `at`: inside a range of that local weekday, and not a holiday. */
export function isOpen(cfg: RoutingConfig, at: Date): boolean {
  const { date, day, minute } = localParts(cfg, at);
  if (cfg.holidays.includes(date)) return false;
  return cfg.openingHours[day].some((r) => minute >= r.from && minute < r.to);
}
