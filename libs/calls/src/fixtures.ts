/**
 * Fixtures of the call tables for the tests and the benchmarks (`@hotline/calls/fixtures`): rows
 * written and counted in bulk, where going through the call lifecycle one call at a time would be
 * the thing measured instead, or where a test needs a state the lifecycle would take minutes to
 * reach. Production code never imports this file. Only libs/calls names its tables in SQL
 * (scripts/table-owners.js): whoever needs these rows otherwise comes here.
 */
import { DataSource, EntityManager } from 'typeorm';

/** A DataSource, an EntityManager, a QueryRunner or a mysql2 connection: anything that runs SQL. */
export interface Queries {
  query(sql: string, params?: unknown[]): Promise<any>;
}

/** A finished call with its content, as `insertFinishedCalls` writes it. */
export interface FinishedCallSeed {
  id: string;
  callSid: string;
  callerPseudonym: string | null;
  operatorId: string;
  startedAt: Date;
  retentionDeadline: Date;
  /** Sealed notes (ContentCipher's format), by the operator. */
  notes: { id: string; sealed: Buffer }[];
  recording: { id: string; sid: string };
  consentId: string;
  riskAssessmentId: string;
}

const tuples = (n: number, tuple: string) => Array.from({ length: n }, () => tuple).join(', ');

/**
 * Completed calls (low risk, default policy, recording consented) with their notes, one recording,
 * one recording consent and one risk assessment each: five multi-row INSERTs for the lot.
 */
export async function insertFinishedCalls(db: Queries, seeds: FinishedCallSeed[]): Promise<void> {
  if (!seeds.length) return;
  const notes = seeds.flatMap((s) => s.notes.map((n) => [n.id, s.id, s.operatorId, n.sealed, s.startedAt]));
  await db.query(
    `INSERT INTO calls (id, call_sid, caller_pseudonym, operator_id, status, started_at, risk_level, retention_policy, retention_deadline, recording_consent, created_at) VALUES ${tuples(seeds.length, "(?, ?, ?, ?, 'completed', ?, 'low', 'default', ?, 1, ?)")}`,
    seeds.flatMap((s) => [s.id, s.callSid, s.callerPseudonym, s.operatorId, s.startedAt, s.retentionDeadline, s.startedAt]),
  );
  if (notes.length)
    await db.query(
      `INSERT INTO notes (id, call_id, author_id, amends_note_id, body_enc, created_at) VALUES ${tuples(notes.length, '(?, ?, ?, NULL, ?, ?)')}`,
      notes.flat(),
    );
  await db.query(
    `INSERT INTO recordings (id, call_id, recording_sid, status, retention_deadline, created_at) VALUES ${tuples(seeds.length, "(?, ?, ?, 'completed', ?, ?)")}`,
    seeds.flatMap((s) => [s.recording.id, s.id, s.recording.sid, s.retentionDeadline, s.startedAt]),
  );
  await db.query(
    `INSERT INTO consents (id, call_id, caller_pseudonym, kind, granted, wording_version, decided_at) VALUES ${tuples(seeds.length, "(?, ?, NULL, 'recording', 1, 'v1', ?)")}`,
    seeds.flatMap((s) => [s.consentId, s.id, s.startedAt]),
  );
  await db.query(
    `INSERT INTO risk_assessments (id, call_id, assessed_by, risk_level, created_at) VALUES ${tuples(seeds.length, "(?, ?, ?, 'low', ?)")}`,
    seeds.flatMap((s) => [s.riskAssessmentId, s.id, s.operatorId, s.startedAt]),
  );
}

/** Moves the retention deadline of these calls and their recordings (e.g. into the past, to expire them). */
export async function setRetentionDeadline(db: Queries, callIds: string[], deadline: Date): Promise<void> {
  if (!callIds.length) return;
  await db.query('UPDATE calls SET retention_deadline = ? WHERE id IN (?)', [deadline, callIds]);
  await db.query('UPDATE recordings SET retention_deadline = ? WHERE call_id IN (?)', [deadline, callIds]);
}

/** How many call rows there are (of `callIds` when given). A plain COUNT: cheap enough to poll. */
export async function countCalls(db: Queries, callIds?: string[]): Promise<number> {
  if (callIds && !callIds.length) return 0;
  const [{ n }] = callIds
    ? await db.query('SELECT COUNT(*) AS n FROM calls WHERE id IN (?)', [callIds])
    : await db.query('SELECT COUNT(*) AS n FROM calls');
  return Number(n);
}

/**
 * The rows of these calls deleted as plainly as can be, in `m` (no key, no hold check, no
 * certificate, no audit): the floor the benchmark measures secure deletion against.
 */
export async function deleteCallRowsPlainly(m: EntityManager | Queries, callIds: string[]): Promise<void> {
  for (const t of ['notes', 'risk_assessments', 'consents', 'recordings', 'escalations', 'legal_holds'])
    await m.query(`DELETE FROM ${t} WHERE call_id IN (?)`, [callIds]);
  await m.query('DELETE FROM calls WHERE id IN (?)', [callIds]);
}

/** The steps recorded on the deletion certificates of these calls (as stored: JSON text or parsed). */
export async function certificateSteps(db: Queries, callIds: string[]): Promise<{ callId: string; steps: unknown }[]> {
  if (!callIds.length) return [];
  const rows: { call_id: string; steps: unknown }[] = await db.query(
    'SELECT call_id, steps FROM deletion_certificates WHERE call_id IN (?)',
    [callIds],
  );
  return rows.map((r) => ({ callId: r.call_id, steps: r.steps }));
}

/**
 * A call queued with its recording consent, written as plainly as can be (two INSERTs, no
 * lifecycle, no audit): the floor the consent benchmark measures the gateway's intake against.
 */
export async function insertQueuedCallPlainly(
  db: Queries,
  c: { callId: string; callSid: string; callerPseudonym: string | null; consentId: string },
): Promise<void> {
  await db.query(
    `INSERT INTO calls (id, call_sid, caller_pseudonym, status, started_at, risk_level, retention_policy, retention_deadline, recording_consent, created_at)
     VALUES (?, ?, ?, 'queued', NOW(3), 'low', 'default', NOW(3) + INTERVAL 90 DAY, 1, NOW(3))`,
    [c.callId, c.callSid, c.callerPseudonym],
  );
  await db.query(
    "INSERT INTO consents (id, call_id, caller_pseudonym, kind, granted, wording_version, decided_at) VALUES (?, ?, NULL, 'recording', 1, 'v1', NOW(3))",
    [c.consentId, c.callId],
  );
}

/** Gives the call to an operator, as the gateway's accept does (`status` connected unless given; `answeredAt` when given). */
export async function assignCall(
  db: Queries,
  callId: string,
  to: { operatorId: string; status?: string; answeredAt?: Date },
): Promise<void> {
  if (to.answeredAt)
    await db.query('UPDATE calls SET operator_id = ?, status = ?, answered_at = ? WHERE id = ?', [
      to.operatorId,
      to.status ?? 'connected',
      to.answeredAt,
      callId,
    ]);
  else await db.query('UPDATE calls SET operator_id = ?, status = ? WHERE id = ?', [to.operatorId, to.status ?? 'connected', callId]);
}

/** Sets the call's status only. */
export async function setCallStatus(db: Queries, callId: string, status: string): Promise<void> {
  await db.query('UPDATE calls SET status = ? WHERE id = ?', [status, callId]);
}

/** The call row read in share mode, in `tx`, as CallRepository.lockShared reads it (the encryption benchmark's plaintext floor). */
export async function readCallShared(tx: EntityManager | DataSource | Queries, callId: string): Promise<unknown> {
  const [row] = await tx.query(
    'SELECT id, status, started_at, answered_at, ended_at, risk_level, operator_id, retention_policy, retention_deadline, recording_consent, wrapup_category FROM calls WHERE id = ? LOCK IN SHARE MODE',
    [callId],
  );
  return row;
}
