import { randomUUID } from 'crypto';
import { DataSource, EntityManager } from 'typeorm';
import { RetentionConfig, retentionDeadline } from '@hotline/config';

export interface OpenCallInput {
  /** Chosen by the gateway at intake, so routing can use it before MySQL has answered. */
  callId: string;
  callSid: string;
  /** Keyed pseudonym of the caller's number; null when withheld. Never a number. */
  callerPseudonym: string | null;
  recordingConsent: boolean;
  wordingVersion: string;
  startedAt: Date;
}

export interface OpenCallResult {
  callId: string;
  created: boolean;
}

type OpenAuditEntry = { action: string; targetType: string; targetId: string; detail: Record<string, unknown> };

/**
 * Opens a call in the records database: the call row (metadata only, with its retention deadline
 * under the default policy), its recording-consent decision with the wording's version, and an
 * audit entry. Idempotent on CallSid, so the gateway may replay it after an outage.
 */
export async function openCall(
  ds: DataSource,
  retention: RetentionConfig,
  input: OpenCallInput,
  audit?: (m: EntityManager, entry: OpenAuditEntry) => Promise<unknown>,
): Promise<OpenCallResult> {
  const [result] = await openCalls(ds, retention, [input], audit && ((m, entries) => audit(m, entries[0])));
  return result;
}

/**
 * Opens several calls in one transaction (a group commit: one lock of the audit chain's head and
 * one commit for all of them), with the same guarantees as `openCall` for each: idempotent on
 * CallSid and on the call id, never re-opening a destroyed call, the audit entries committed with
 * the rows or neither. One result per input, in order. A CallSid twice in the batch opens one call.
 */
export async function openCalls(
  ds: DataSource,
  retention: RetentionConfig,
  inputs: OpenCallInput[],
  audit?: (m: EntityManager, entries: OpenAuditEntry[]) => Promise<unknown>,
): Promise<OpenCallResult[]> {
  if (!inputs.length) return [];
  return ds.transaction(async (m) => {
    const existing: { id: string; call_sid: string | null }[] = await m.query(
      'SELECT id, call_sid FROM calls WHERE call_sid IN (?) OR id IN (?)',
      [inputs.map((i) => i.callSid), inputs.map((i) => i.callId)],
    );
    const bySid = new Map(existing.filter((r) => r.call_sid).map((r) => [r.call_sid!, r.id]));
    const byId = new Set(existing.map((r) => r.id));
    // A call destroyed already (e.g. replay after deletion) must not come back.
    const destroyed = new Set(
      (
        (await m.query('SELECT call_id FROM deletion_certificates WHERE call_id IN (?)', [inputs.map((i) => i.callId)])) as {
          call_id: string;
        }[]
      ).map((r) => r.call_id),
    );
    const results: OpenCallResult[] = [];
    const created: OpenCallInput[] = [];
    for (const input of inputs) {
      const known = bySid.get(input.callSid) ?? (byId.has(input.callId) ? input.callId : undefined);
      if (known) results.push({ callId: known, created: false });
      else if (destroyed.has(input.callId)) results.push({ callId: input.callId, created: false });
      else {
        results.push({ callId: input.callId, created: true });
        created.push(input);
        bySid.set(input.callSid, input.callId);
        byId.add(input.callId);
      }
    }
    if (!created.length) return results;
    const now = new Date();
    await m.query(
      `INSERT INTO calls (id, call_sid, caller_pseudonym, operator_id, status, started_at, risk_level, retention_policy, retention_deadline, recording_consent, created_at)
       VALUES ${created.map(() => "(?, ?, ?, NULL, 'queued', ?, 'none', 'default', ?, ?, ?)").join(', ')}`,
      created.flatMap((input) => [
        input.callId,
        input.callSid,
        input.callerPseudonym,
        input.startedAt,
        retentionDeadline(retention, 'default', input.startedAt),
        input.recordingConsent ? 1 : 0,
        now,
      ]),
    );
    await m.query(
      `INSERT INTO consents (id, call_id, caller_pseudonym, kind, granted, wording_version, decided_at) VALUES ${created.map(() => "(?, ?, ?, 'recording', ?, ?, ?)").join(', ')}`,
      created.flatMap((input) => [
        randomUUID(),
        input.callId,
        input.callerPseudonym,
        input.recordingConsent ? 1 : 0,
        input.wordingVersion,
        input.startedAt,
      ]),
    );
    if (audit)
      await audit(
        m,
        created.map((input) => ({
          action: 'call.opened',
          targetType: 'call',
          targetId: input.callId,
          // Never the caller's pseudonym: the trail outlives the call, and it would tie the number to
          // this call after its destruction. The link lives in the call's rows, which deletion removes.
          detail: { recordingConsent: input.recordingConsent, wordingVersion: input.wordingVersion },
        })),
      );
    return results;
  });
}

/**
 * Group commit of call openings on one data source: an opening that arrives while another
 * transaction of openings is running waits for it and then goes with every other that waited, in
 * one transaction (`openCalls`). Nothing waits when nothing is running, so a quiet line pays no
 * delay; a busy one pays one lock of the audit chain's head and one commit per group instead of
 * one per call. If a group's transaction fails, each of its calls is tried alone, so that one bad
 * opening fails only itself.
 */
export class OpenCallGroup {
  private pending: { input: OpenCallInput; resolve: (r: OpenCallResult) => void; reject: (e: unknown) => void }[] = [];
  private running = false;

  constructor(
    private readonly ds: DataSource,
    private readonly retention: RetentionConfig,
    private readonly audit: (m: EntityManager, entries: OpenAuditEntry[]) => Promise<unknown>,
    private readonly maxGroup = 64,
  ) {}

  open(input: OpenCallInput): Promise<OpenCallResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (!this.running) void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.length) {
        const group = this.pending.splice(0, this.maxGroup);
        try {
          const results = await openCalls(
            this.ds,
            this.retention,
            group.map((g) => g.input),
            this.audit,
          );
          group.forEach((g, i) => g.resolve(results[i]));
        } catch (e) {
          if (group.length === 1) group[0].reject(e);
          else
            for (const g of group)
              await openCalls(this.ds, this.retention, [g.input], this.audit).then(
                ([r]) => g.resolve(r),
                (err) => g.reject(err),
              );
        }
      }
    } finally {
      this.running = false;
    }
  }
}
