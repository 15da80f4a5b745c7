import type { ResearchCall } from '@hotline/calls';
import { WRAP_UP_CATEGORIES } from '@hotline/contract';

/**
 * Anonymisation of one release period's research data: quasi-identifiers coarsened step by step (a
 * ladder of generalisation levels), then rows whose combination of fields is shared by fewer than k
 * rows suppressed, so that every exported row is identical to at least k - 1 others (k-anonymity over
 * every exported column: the row carries nothing else). The first level that suppresses no more than
 * `maxSuppressedShare` of the rows is used; failing that, the coarsest. Each period is anonymised on
 * its own calls alone, and every row carries its period: what one period releases never depends on
 * another (see research.controller.ts for why that matters).
 */
export interface ResearchRow {
  period: string;
  partOfDay: string;
  weekend: string;
  outcome: string;
  wait: string;
  talk: string;
  risk: string;
  category: string;
  escalated: string;
}

export const RESEARCH_COLUMNS: (keyof ResearchRow)[] = [
  'period',
  'partOfDay',
  'weekend',
  'outcome',
  'wait',
  'talk',
  'risk',
  'category',
  'escalated',
];

export interface SuppressionReport {
  k: number;
  level: number;
  generalisation: string;
  considered: number;
  exported: number;
  suppressedRows: number;
  suppressedCombinations: number;
  /** What each level would have suppressed (rows), to show why this level was chosen. */
  levels: { level: number; suppressedRows: number }[];
}

const ALL = '*';

/**
 * The wrap-up categories the console offers (WRAP_UP_CATEGORIES, libs/contract). The socket accepts
 * up to 64 characters of anything, so a category outside this list (free text, which could say
 * anything) is exported as `other`.
 */
export const RESEARCH_CATEGORIES: readonly string[] = WRAP_UP_CATEGORIES;
const category = (c: ResearchCall) =>
  c.wrapupCategory === null ? 'none' : RESEARCH_CATEGORIES.includes(c.wrapupCategory) ? c.wrapupCategory : 'Other';

const LEVELS: { describe: string; row(c: ResearchCall, period: string): ResearchRow }[] = [
  {
    describe: 'part of day; weekday or weekend; wait and talk in bands; risk level; category',
    row: (c, period) => ({
      period,
      partOfDay: partOfDay(c.startedAt),
      weekend: weekend(c.startedAt),
      outcome: outcome(c),
      wait: waitBand(c, [30, 60, 120, 300]),
      talk: talkBand(c, [300, 900, 1800, 3600]),
      risk: c.riskLevel,
      category: category(c),
      escalated: c.escalations > 0 ? 'yes' : 'no',
    }),
  },
  {
    describe: 'wait under or over 2 minutes; talk in three bands; risk in three groups; category',
    row: (c, period) => ({
      period,
      partOfDay: ALL,
      weekend: ALL,
      outcome: outcome(c),
      wait: waitBand(c, [120]),
      talk: talkBand(c, [300, 1800]),
      risk: riskGroup(c.riskLevel),
      category: category(c),
      escalated: c.escalations > 0 ? 'yes' : 'no',
    }),
  },
  {
    describe: 'talk under or over 15 minutes; risk in three groups; no wait, no category',
    row: (c, period) => ({
      period,
      partOfDay: ALL,
      weekend: ALL,
      outcome: outcome(c),
      wait: ALL,
      talk: talkBand(c, [900]),
      risk: riskGroup(c.riskLevel),
      category: ALL,
      escalated: c.escalations > 0 ? 'yes' : 'no',
    }),
  },
];

/** The calls of one release period (`period`: its id, the rows' first column), anonymised. */
export function anonymise(
  calls: ResearchCall[],
  k: number,
  period: string,
  maxSuppressedShare = 0.1,
): { rows: ResearchRow[]; report: SuppressionReport } {
  const tried: { level: number; kept: ResearchRow[]; suppressedRows: number; suppressedCombinations: number }[] = [];
  for (let level = 0; level < LEVELS.length; level++) {
    const groups = new Map<string, ResearchRow[]>();
    for (const c of calls) {
      const row = LEVELS[level].row(c, period);
      const key = RESEARCH_COLUMNS.map((col) => row[col]).join('\u0000');
      groups.set(key, [...(groups.get(key) ?? []), row]);
    }
    const kept: ResearchRow[] = [];
    let suppressedRows = 0;
    let suppressedCombinations = 0;
    // Sorted by the values themselves: the order of rows says nothing about the order of calls.
    for (const key of [...groups.keys()].sort()) {
      const g = groups.get(key)!;
      if (g.length >= k) kept.push(...g);
      else {
        suppressedRows += g.length;
        suppressedCombinations++;
      }
    }
    tried.push({ level, kept, suppressedRows, suppressedCombinations });
    if (suppressedRows <= maxSuppressedShare * calls.length) break;
  }
  const chosen = tried[tried.length - 1];
  return {
    rows: chosen.kept,
    report: {
      k,
      level: chosen.level,
      generalisation: LEVELS[chosen.level].describe,
      considered: calls.length,
      exported: chosen.kept.length,
      suppressedRows: chosen.suppressedRows,
      suppressedCombinations: chosen.suppressedCombinations,
      levels: tried.map((t) => ({ level: t.level, suppressedRows: t.suppressedRows })),
    },
  };
}

const partOfDay = (d: Date) => ['night', 'morning', 'afternoon', 'evening'][Math.floor(d.getUTCHours() / 6)];
const weekend = (d: Date) => ([0, 6].includes(d.getUTCDay()) ? 'weekend' : 'weekday');
const outcome = (c: ResearchCall) => (c.answeredAt ? 'answered' : 'abandoned');

function riskGroup(level: string): string {
  if (level === 'none' || level === 'low') return 'none-low';
  if (level === 'moderate' || level === 'high') return 'moderate-high';
  return level;
}

function band(seconds: number, bounds: number[]): string {
  const fmt = (s: number) => (s < 60 ? `${s}s` : `${s / 60}m`);
  for (let i = 0; i < bounds.length; i++)
    if (seconds < bounds[i]) return i === 0 ? `<${fmt(bounds[0])}` : `${fmt(bounds[i - 1])}-${fmt(bounds[i])}`;
  return `${fmt(bounds[bounds.length - 1])}+`;
}

function waitBand(c: ResearchCall, bounds: number[]): string {
  const end = c.answeredAt ?? c.endedAt;
  return end ? band((end.getTime() - c.startedAt.getTime()) / 1000, bounds) : 'unknown';
}

function talkBand(c: ResearchCall, bounds: number[]): string {
  if (!c.answeredAt || !c.endedAt) return 'none';
  return band((c.endedAt.getTime() - c.answeredAt.getTime()) / 1000, bounds);
}
