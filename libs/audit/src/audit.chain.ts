import { createHash } from 'crypto';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditRecord {
  seq: number;
  at: Date;
  actorId: string | null;
  actorRole: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  pseudonym: string | null;
  detail: Record<string, unknown> | null;
}

/** JSON with keys sorted at every level, so MySQL 8's JSON normalisation cannot change a hash. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (typeof value === 'object') {
    const keys = Object.keys(value as object)
      .filter((k) => (value as any)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as any)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function entryHash(prevHash: string, r: AuditRecord): string {
  const body = canonicalJson({
    seq: Number(r.seq),
    at: new Date(r.at).toISOString(),
    actorId: r.actorId,
    actorRole: r.actorRole,
    action: r.action,
    targetType: r.targetType,
    targetId: r.targetId,
    pseudonym: r.pseudonym,
    detail: r.detail,
  });
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}
