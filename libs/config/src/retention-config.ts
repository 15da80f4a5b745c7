import { readFileSync } from 'fs';
import { parse } from 'yaml';
import { IsoDuration, addDuration, parseDuration, durationMs } from './duration';

export { IsoDuration, addDuration, parseDuration, durationMs } from './duration';

/** Retention policies are named by the highest risk a call reached. */
export const POLICY_NAMES = ['default', 'high', 'imminent'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export interface RetentionConfig {
  scanEvery: IsoDuration;
  policies: Record<PolicyName, IsoDuration>;
  recordings: IsoDuration;
  deletionGrace: IsoDuration;
  /** Optional tuning, not in the contract's example file. */
  batchSize: number;
  concurrency: number;
  /** How long a key whose call row is missing stays in quarantine before the reconciler may destroy it. */
  orphanKeyQuarantine: IsoDuration;
  /** The reconciler refuses (and alerts) when more than this share of all keys would be orphans. */
  maxOrphanKeyShare: number;
}

export function parseRetentionConfig(text: string, origin = 'retention config'): RetentionConfig {
  let doc: any;
  try {
    doc = parse(text);
  } catch (e) {
    throw new Error(`${origin}: not valid YAML (${(e as Error).message})`, { cause: e });
  }
  const problems: string[] = [];
  const dur = (path: string, v: unknown): IsoDuration => {
    try {
      if (typeof v !== 'string') throw new Error(`missing`);
      return parseDuration(v);
    } catch (e) {
      problems.push(
        `${path}: ${(e as Error).message === 'missing' ? 'is required (an ISO 8601 duration such as P90D)' : (e as Error).message}`,
      );
      return parseDuration('PT0S');
    }
  };
  if (!doc || typeof doc !== 'object') throw new Error(`${origin}: expected a mapping with scanEvery, policies, recordings, deletionGrace`);
  const known = new Set([
    'scanEvery',
    'policies',
    'recordings',
    'deletionGrace',
    'batchSize',
    'concurrency',
    'orphanKeyQuarantine',
    'maxOrphanKeyShare',
  ]);
  for (const k of Object.keys(doc)) if (!known.has(k)) problems.push(`${k}: unknown key`);
  const scanEvery = dur('scanEvery', doc.scanEvery);
  const policies = {} as Record<PolicyName, IsoDuration>;
  for (const p of POLICY_NAMES) policies[p] = dur(`policies.${p}`, doc.policies?.[p]);
  for (const k of Object.keys(doc.policies ?? {}))
    if (!POLICY_NAMES.includes(k as PolicyName)) problems.push(`policies.${k}: unknown policy (use ${POLICY_NAMES.join(', ')})`);
  const recordings = dur('recordings', doc.recordings);
  const deletionGrace = dur('deletionGrace', doc.deletionGrace);
  const batchSize = doc.batchSize === undefined ? 200 : Number(doc.batchSize);
  const concurrency = doc.concurrency === undefined ? 400 : Number(doc.concurrency);
  if (!Number.isInteger(batchSize) || batchSize < 1) problems.push('batchSize: must be a positive integer');
  if (!Number.isInteger(concurrency) || concurrency < 1) problems.push('concurrency: must be a positive integer');
  const orphanKeyQuarantine =
    doc.orphanKeyQuarantine === undefined ? parseDuration('P7D') : dur('orphanKeyQuarantine', doc.orphanKeyQuarantine);
  const maxOrphanKeyShare = doc.maxOrphanKeyShare === undefined ? 0.05 : Number(doc.maxOrphanKeyShare);
  if (!(maxOrphanKeyShare >= 0 && maxOrphanKeyShare <= 1)) problems.push('maxOrphanKeyShare: must be a number from 0 to 1');
  if (problems.length === 0 && durationMs(scanEvery) < 1000) problems.push('scanEvery: must be at least PT1S');
  if (problems.length) throw new Error(`${origin} is invalid:\n  - ${problems.join('\n  - ')}`);
  return { scanEvery, policies, recordings, deletionGrace, batchSize, concurrency, orphanKeyQuarantine, maxOrphanKeyShare };
}

/** The parsed retention file (`RETENTION_CONFIG`), injectable as `@Inject(RETENTION_CONFIG)`. */
export const RETENTION_CONFIG = Symbol('RETENTION_CONFIG');

const loaded = new WeakMap<object, RetentionConfig>();

/** The environment's retention file, read and checked once per environment (the provider and the worker's start share it). */
export function retentionConfig(env: { RETENTION_CONFIG: string }): RetentionConfig {
  let cfg = loaded.get(env);
  if (!cfg) loaded.set(env, (cfg = loadRetentionConfig(env.RETENTION_CONFIG)));
  return cfg;
}

export function loadRetentionConfig(path: string): RetentionConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`RETENTION_CONFIG: cannot read ${path} (${(e as NodeJS.ErrnoException).code})`, { cause: e });
  }
  return parseRetentionConfig(text, `RETENTION_CONFIG (${path})`);
}

/** The deadline of a call under a policy; a recording's never outlives its call's. */
export function retentionDeadline(cfg: RetentionConfig, policy: PolicyName, startedAt: Date): Date {
  return addDuration(startedAt, cfg.policies[policy]);
}

export function recordingDeadline(cfg: RetentionConfig, callDeadline: Date, createdAt: Date): Date {
  const own = addDuration(createdAt, cfg.recordings);
  return own < callDeadline ? own : callDeadline;
}
