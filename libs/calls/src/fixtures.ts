/**
 * Fixtures of the call tables for the tests and the benchmarks (`@hotline/calls/fixtures`): rows
 * written and counted in bulk, where going through the call lifecycle one call at a time would be
 * the thing measured instead, or where a test needs a state the lifecycle would take minutes to
 * reach. Production code never imports this file. Only libs/calls names its tables in SQL
 * (scripts/table-owners.js): whoever needs these rows otherwise comes here.
 */
import { randomUUID } from 'crypto';
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

/** The call's columns a test may set directly (the state a call reaches through the lifecycle, reached at once). */
const CALL_COLUMNS = {
  status: 'status',
  operatorId: 'operator_id',
  answeredAt: 'answered_at',
  endedAt: 'ended_at',
  riskLevel: 'risk_level',
  wrapupCategory: 'wrapup_category',
  retentionDeadline: 'retention_deadline',
} as const;

export type CallFields = Partial<{
  status: string;
  operatorId: string | null;
  answeredAt: Date | null;
  endedAt: Date | null;
  riskLevel: string;
  wrapupCategory: string | null;
  retentionDeadline: Date;
}>;

/** Sets these columns of the call (only those given; `undefined` leaves a column as it is). */
export async function setCallFields(db: Queries, callId: string, fields: CallFields): Promise<void> {
  const set = (Object.keys(CALL_COLUMNS) as (keyof CallFields)[]).filter((k) => fields[k] !== undefined);
  if (!set.length) return;
  await db.query(`UPDATE calls SET ${set.map((k) => `${CALL_COLUMNS[k]} = ?`).join(', ')} WHERE id = ?`, [
    ...set.map((k) => fields[k]),
    callId,
  ]);
}

/** The caller's consent of this kind on the call withdrawn now (as the privacy line or the research opt-out would). */
export async function withdrawConsentOfCall(db: Queries, callId: string, kind: string): Promise<void> {
  await db.query('UPDATE consents SET withdrawn_at = NOW(3) WHERE call_id = ? AND kind = ?', [callId, kind]);
}

/** A callback or follow-up row as it stands at some point of its life (no number: the tests that need one seal it). */
export async function insertCallback(
  db: Queries,
  c: {
    id: string;
    callId: string;
    kind: 'callback' | 'followup';
    status: string;
    dueAt: Date;
    createdAt?: Date;
    preferredOperatorId?: string | null;
    claimedBy?: string | null;
    attempts?: number;
    maxAttempts?: number;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO callbacks (id, call_id, kind, status, preferred_operator_id, claimed_by, due_at, attempts, max_attempts, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      c.id,
      c.callId,
      c.kind,
      c.status,
      c.preferredOperatorId ?? null,
      c.claimedBy ?? null,
      c.dueAt,
      c.attempts ?? 0,
      c.maxAttempts ?? 3,
      c.createdAt ?? new Date(),
    ],
  );
}

/** The hourly statistics from `from` on cleared (a test that shows a window of them alone). */
export async function clearHourlyStatsFrom(db: Queries, from: Date): Promise<void> {
  await db.query('DELETE FROM stats_hourly WHERE hour >= ?', [from]);
}

/** One completed call as records would have written it, with what a test asks for beside it. */
export interface CompletedCallSeed {
  id: string;
  callSid: string;
  callerPseudonym: string;
  operatorId: string;
  startedAt: Date;
  retentionPolicy?: string;
  retentionDeadline: Date;
  /** Sealed notes (ContentCipher's format) by the operator, in this order. */
  notes?: { id: string; sealed: Buffer; createdAt: Date }[];
  /** A sealed imminent-risk escalation. */
  escalation?: { id: string; sealed: Buffer };
  recording?: { id: string; sid: string; retentionDeadline: Date };
}

/**
 * The rows of one completed call (low risk, recording consented by the caller, one risk
 * assessment), with its notes, escalation and recording when given, in `m` (a transaction: a scan
 * must never catch the call half-written).
 */
export async function insertCompletedCall(m: Queries, c: CompletedCallSeed): Promise<void> {
  await m.query(
    `INSERT INTO calls (id, call_sid, caller_pseudonym, operator_id, status, started_at, risk_level, retention_policy, retention_deadline, recording_consent, created_at)
     VALUES (?, ?, ?, ?, 'completed', ?, 'low', ?, ?, 1, ?)`,
    [c.id, c.callSid, c.callerPseudonym, c.operatorId, c.startedAt, c.retentionPolicy ?? 'default', c.retentionDeadline, c.startedAt],
  );
  await m.query(
    `INSERT INTO consents (id, call_id, caller_pseudonym, kind, granted, wording_version, decided_at) VALUES (?, ?, ?, 'recording', 1, 'v1', ?)`,
    [randomUUID(), c.id, c.callerPseudonym, c.startedAt],
  );
  await m.query(`INSERT INTO risk_assessments (id, call_id, assessed_by, risk_level, created_at) VALUES (?, ?, ?, 'low', ?)`, [
    randomUUID(),
    c.id,
    c.operatorId,
    c.startedAt,
  ]);
  for (const n of c.notes ?? [])
    await m.query('INSERT INTO notes (id, call_id, author_id, amends_note_id, body_enc, created_at) VALUES (?, ?, ?, NULL, ?, ?)', [
      n.id,
      c.id,
      c.operatorId,
      n.sealed,
      n.createdAt,
    ]);
  if (c.escalation)
    await m.query(
      `INSERT INTO escalations (id, call_id, operator_id, risk_level, details_enc, created_at) VALUES (?, ?, ?, 'imminent', ?, ?)`,
      [c.escalation.id, c.id, c.operatorId, c.escalation.sealed, c.startedAt],
    );
  if (c.recording)
    await m.query(
      `INSERT INTO recordings (id, call_id, recording_sid, status, retention_deadline, created_at) VALUES (?, ?, ?, 'completed', ?, ?)`,
      [c.recording.id, c.id, c.recording.sid, c.recording.retentionDeadline, c.startedAt],
    );
}

/** A legal hold on the call, placed (and lifted, when `lifted`) now: the rows a records officer's hold would leave. */
export async function insertLegalHold(m: Queries, callId: string, opts: { reason?: string; lifted?: boolean } = {}): Promise<void> {
  const at = new Date();
  await m.query('INSERT INTO legal_holds (id, call_id, reason, placed_by, placed_at, lifted_by, lifted_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
    randomUUID(),
    callId,
    opts.reason ?? 'litigation',
    randomUUID(),
    at,
    opts.lifted ? randomUUID() : null,
    opts.lifted ? at : null,
  ]);
}

/** Every hold in force on the call lifted now (by someone). */
export async function liftLegalHolds(m: Queries, callId: string): Promise<void> {
  await m.query('UPDATE legal_holds SET lifted_at = ?, lifted_by = ? WHERE call_id = ? AND lifted_at IS NULL', [
    new Date(),
    randomUUID(),
    callId,
  ]);
}

/** Moves a callback's due time (e.g. into the past, to dial it now). */
export async function setCallbackDue(db: Queries, callbackId: string, dueAt: Date): Promise<void> {
  await db.query('UPDATE callbacks SET due_at = ? WHERE id = ?', [dueAt, callbackId]);
}

/**
 * What secure deletion leaves of a call, reached at once: its rows gone (plainly: no key, no
 * audit; the caller destroys the key when the test needs that too) and its deletion certificate.
 */
export async function leaveOnlyCertificate(
  db: Queries,
  callId: string,
  c: { reason?: string; steps?: { step: string; outcome: string; at: string }[] } = {},
): Promise<void> {
  await deleteCallRowsPlainly(db, [callId]);
  await db.query(
    `INSERT INTO deletion_certificates (id, call_id, reason, retention_policy, retention_deadline, deletion_request_id, steps, destroyed_at)
     VALUES (?, ?, ?, 'default', NOW(3), NULL, ?, NOW(3))`,
    [randomUUID(), callId, c.reason ?? 'retention', JSON.stringify(c.steps ?? [])],
  );
}

/** An attempt at a callback, ended with `outcome`, whose outbound call at Twilio is `twilioCallSid`. */
export async function insertCallbackAttempt(
  db: Queries,
  a: { id: string; callbackId: string; callId: string; operatorId: string; twilioCallSid: string; outcome: string; startedAt: Date },
): Promise<void> {
  await db.query(
    'INSERT INTO callback_attempts (id, callback_id, call_id, operator_id, twilio_call_sid, outcome, started_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    [a.id, a.callbackId, a.callId, a.operatorId, a.twilioCallSid, a.outcome, a.startedAt],
  );
}

/** A completed recording of the call (as Twilio's recording callback records it). */
export async function insertRecording(
  db: Queries,
  r: { id: string; callId: string; sid: string; retentionDeadline: Date; createdAt?: Date },
): Promise<void> {
  await db.query(
    "INSERT INTO recordings (id, call_id, recording_sid, status, retention_deadline, created_at) VALUES (?, ?, ?, 'completed', ?, ?)",
    [r.id, r.callId, r.sid, r.retentionDeadline, r.createdAt ?? new Date()],
  );
}
