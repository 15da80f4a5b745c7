import { randomUUID } from 'crypto';
import { DataSource, EntityManager } from 'typeorm';
import type { OverflowChoice, OverflowReason } from '@hotline/config';

/** A callback asked for in the call flow (overflow), or a follow-up consented to at wrap-up. */
export type CallbackKind = 'callback' | 'followup';
/**
 * `open`: due (or scheduled, `dueAt` ahead) and not being dialled; `dialling`: an attempt is under way;
 * `done`: the caller was reached; `closed`: every attempt failed; `withdrawn`: the caller withdrew it
 * (privacy line) or asked for deletion. Once not open or dialling, the number is erased.
 */
export type CallbackStatus = 'open' | 'dialling' | 'done' | 'closed' | 'withdrawn';
/**
 * How an outbound attempt ended. `machine`: an answering machine (or fax) answered, as Twilio's answering
 * machine detection said: not reached, so the callback is due again (or closed after `maxAttempts`).
 */
export type AttemptOutcome = 'reached' | 'machine' | 'no-answer' | 'busy' | 'failed' | 'canceled';

export interface NewCallback {
  /** Chosen by the caller of `request`: the number is sealed in its context before the row exists. */
  id: string;
  callId: string;
  /**
   * `callback` (what the gateway files). Any other kind, or a preferred operator, is written only
   * by an account that may (records, or a test's migrator): the gateway's INSERT right names neither
   * column, so MySQL refuses it a follow-up (issue 24).
   */
  kind: CallbackKind;
  callerPseudonym: string | null;
  /** The one-time contact key the number is sealed to, and the sealed number (see contact-seal.ts). */
  contactKeyId: string;
  sealedNumber: Buffer;
  preferredOperatorId: string | null;
  dueAt: Date;
  maxAttempts: number;
  /** The consent: the words the caller heard (their version), and when they agreed. */
  wordingVersion: string;
  consentedAt: Date;
}

export interface CallbackStats {
  open: number;
  due: number;
  overdue: number;
  scheduled: number;
  dialling: number;
  overflowToday: Record<OverflowChoice | 'offered', number>;
}

/** The context a callback's number is sealed in (its one-time key) and encrypted under (the call's data key). */
export const callbackNumberField = (callbackId: string) => `callback:${callbackId}:number`;

/** MySQL's refusal of a statement that names a column (or table) the account has no right on. */
const SEAL_RIGHT_REFUSED = new Set(['ER_COLUMNACCESS_DENIED_ERROR', 'ER_TABLEACCESS_DENIED_ERROR']);

/** The statuses in which a callback still holds a number. */
export const LIVE_CALLBACK = "status IN ('open', 'dialling')";

/**
 * Callbacks and overflow choices without their numbers: what the gateway writes and reads (it
 * holds no key; the number it hands in is already sealed to a public key). Records opens the
 * number to place the call (CallbackNumbers); the worker destroys the spent one-time keys.
 */
export class CallbackBook {
  constructor(private readonly db: DataSource | EntityManager) {}

  /** The caller was offered other ways than waiting; once per reason per call (the wait loop asks again and again). */
  async offered(callId: string, reason: OverflowReason, configVersion: string, at: Date): Promise<boolean> {
    const r = await this.db.query(
      `INSERT INTO call_overflow (id, call_id, reason, choice, config_version, offered_at, chosen_at)
       SELECT ?, ?, ?, NULL, ?, ?, NULL FROM DUAL
        WHERE NOT EXISTS (SELECT 1 FROM call_overflow WHERE call_id = ? AND reason = ?)`,
      [randomUUID(), callId, reason, configVersion, at, callId, reason],
    );
    return Number(r.affectedRows ?? 0) > 0;
  }

  /** What the caller chose when offered (on the newest offer not yet answered). */
  async chose(callId: string, choice: OverflowChoice, at: Date): Promise<void> {
    const r = await this.db.query(
      'UPDATE call_overflow SET choice = ?, chosen_at = ? WHERE call_id = ? AND choice IS NULL ORDER BY offered_at DESC LIMIT 1',
      [choice, at, callId],
    );
    if (!Number(r.affectedRows ?? 0))
      await this.db.query(
        `INSERT INTO call_overflow (id, call_id, reason, choice, config_version, offered_at, chosen_at) VALUES (?, ?, 'unknown', ?, '', ?, ?)`,
        [randomUUID(), callId, choice, at, at],
      );
  }

  /** The overflow rows of a call, oldest first (reason, choice). */
  async overflowOf(callId: string): Promise<{ reason: string; choice: string | null; offeredAt: Date; chosenAt: Date | null }[]> {
    const rows: any[] = await this.db.query(
      'SELECT reason, choice, offered_at, chosen_at FROM call_overflow WHERE call_id = ? ORDER BY offered_at, id',
      [callId],
    );
    return rows.map((r) => ({ reason: r.reason, choice: r.choice, offeredAt: r.offered_at, chosenAt: r.chosen_at }));
  }

  /** A consent of this kind, on the call's record, with the wording's version. */
  async consent(
    callId: string,
    pseudonym: string | null,
    kind: 'callback' | 'followup' | 'voicemail',
    granted: boolean,
    wordingVersion: string,
    at: Date,
  ): Promise<void> {
    await this.db.query(
      'INSERT INTO consents (id, call_id, caller_pseudonym, kind, granted, wording_version, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [randomUUID(), callId, pseudonym, kind, granted ? 1 : 0, wordingVersion, at],
    );
  }

  /** Files a callback (and its consent) with the number sealed; the callback's id. One open callback per call and kind. */
  async request(c: NewCallback, now: Date): Promise<{ id: string; created: boolean }> {
    const run = async (m: EntityManager) => {
      const existing: { id: string }[] = await m.query(
        `SELECT id FROM callbacks WHERE call_id = ? AND kind = ? AND ${LIVE_CALLBACK} LIMIT 1 FOR UPDATE`,
        [c.callId, c.kind],
      );
      if (existing.length) return { id: existing[0].id, created: false };
      const id = c.id;
      // Only the columns a new request sets (the gateway's INSERT right): kind (`callback`), status
      // (`open`), attempts (0) and everything records writes later take their defaults.
      const extra: [string, unknown][] = [];
      if (c.kind !== 'callback') extra.push(['kind', c.kind]);
      if (c.preferredOperatorId) extra.push(['preferred_operator_id', c.preferredOperatorId]);
      await m.query(
        `INSERT INTO callbacks (id, call_id, caller_pseudonym, contact_key_id, sealed_number, due_at, max_attempts, created_at${extra
          .map(([col]) => `, ${col}`)
          .join('')})
         VALUES (?, ?, ?, ?, ?, ?, ?, ?${', ?'.repeat(extra.length)})`,
        [id, c.callId, c.callerPseudonym, c.contactKeyId, c.sealedNumber, c.dueAt, c.maxAttempts, now, ...extra.map(([, v]) => v)],
      );
      await new CallbackBook(m).consent(c.callId, c.callerPseudonym, c.kind, true, c.wordingVersion, c.consentedAt);
      return { id, created: true };
    };
    return this.db instanceof DataSource ? this.db.transaction(run) : run(this.db);
  }

  /**
   * How an outbound attempt ended (Twilio's status callback, or its answered URL when a machine
   * answered). Reached: done. Not reached (a machine answering is not reached): open again, due when
   * records said as it placed the call (`due_at`: the attempt's start plus `retryAfter`), or closed
   * once `max_attempts` have been made (records counted this one as it placed it). Either end erases
   * the number under the call's key. Idempotent: an attempt already ended is left as it is.
   *
   * What the gateway writes here is exactly its UPDATE right (issue 24): the attempt's outcome and
   * end; the callback's status, last outcome and close, and the erasure of `number_enc` (a ciphertext
   * only records can make, so the right cannot plant a number). Never `due_at`, `attempts`, the seal,
   * the preferred operator: records alone sets those.
   */
  async attemptEnded(
    attemptId: string,
    outcome: AttemptOutcome,
    at: Date,
  ): Promise<{ callbackId: string; status: CallbackStatus; attempts: number } | null> {
    const run = async (m: EntityManager) => {
      const [a]: { callback_id: string; outcome: string | null }[] = await m.query(
        'SELECT callback_id, outcome FROM callback_attempts WHERE id = ? FOR UPDATE',
        [attemptId],
      );
      if (!a || a.outcome) return null;
      const [cb]: { attempts: number; max_attempts: number; status: string }[] = await m.query(
        'SELECT attempts, max_attempts, status FROM callbacks WHERE id = ? FOR UPDATE',
        [a.callback_id],
      );
      await m.query('UPDATE callback_attempts SET outcome = ?, ended_at = ? WHERE id = ?', [outcome, at, attemptId]);
      if (!cb) return null;
      const attempts = Number(cb.attempts);
      let status: CallbackStatus = outcome === 'reached' ? 'done' : attempts >= cb.max_attempts ? 'closed' : 'open';
      if (cb.status !== 'open' && cb.status !== 'dialling') status = cb.status as CallbackStatus;
      if (status === 'open') {
        await m.query(`UPDATE callbacks SET status = 'open', last_outcome = ? WHERE id = ?`, [outcome, a.callback_id]);
      } else {
        // The seal went when records opened the number to place the call; the key's copy goes now.
        await m.query(
          `UPDATE callbacks SET status = ?, last_outcome = ?, closed_at = COALESCE(closed_at, ?), number_enc = NULL WHERE id = ?`,
          [status, outcome, at, a.callback_id],
        );
      }
      return { callbackId: a.callback_id, status, attempts };
    };
    return this.db instanceof DataSource ? this.db.transaction(run) : run(this.db);
  }

  /**
   * The caller withdrew their callbacks and follow-ups (privacy line): each is withdrawn, and its
   * number under the call's key erased at once; how many. A number still under its one-time seal
   * (booked moments ago) cannot be opened by anyone but records and the worker, and is erased with
   * its key by the worker's reconciler (CallbackNumbers.moveSealed, destroySpentCallbackKeys): the
   * gateway, which runs this on the privacy line, has no right to write a seal, not even to erase one.
   * The worker (a deletion by phone) has: it erases the seals here too.
   */
  async withdraw(pseudonym: string, at: Date): Promise<number> {
    const r = await this.db.query(
      `UPDATE callbacks SET status = 'withdrawn', closed_at = ?, number_enc = NULL WHERE caller_pseudonym = ? AND ${LIVE_CALLBACK}`,
      [at, pseudonym],
    );
    await this.db
      .query(
        `UPDATE callbacks SET sealed_number = NULL WHERE caller_pseudonym = ? AND status = 'withdrawn' AND sealed_number IS NOT NULL`,
        [pseudonym],
      )
      .catch((e: { code?: string }) => {
        // The gateway's account may not touch a seal (MySQL refuses the statement, nothing else): the reconciler erases it.
        if (!SEAL_RIGHT_REFUSED.has(e.code ?? '')) throw e;
      });
    await this.db.query(
      `UPDATE consents SET withdrawn_at = ? WHERE caller_pseudonym = ? AND kind IN ('callback', 'followup') AND withdrawn_at IS NULL`,
      [at, pseudonym],
    );
    return Number(r.affectedRows ?? 0);
  }

  /** For the wallboard: callbacks open, due, overdue (past `overdueAfterMs` since due), scheduled; today's overflow choices. */
  async stats(now: Date, overdueAfterMs: number, dayStart: Date): Promise<CallbackStats> {
    const [c]: any[] = await this.db.query(
      `SELECT SUM(status = 'open' AND due_at <= ?) AS due, SUM(status = 'open' AND due_at <= ?) AS overdue,
              SUM(status = 'open' AND due_at > ?) AS scheduled, SUM(status = 'dialling') AS dialling, SUM(status IN ('open', 'dialling')) AS open
         FROM callbacks WHERE status IN ('open', 'dialling')`,
      [now, new Date(now.getTime() - overdueAfterMs), now],
    );
    const rows: { choice: string | null; n: number }[] = await this.db.query(
      'SELECT choice, COUNT(*) AS n FROM call_overflow WHERE offered_at >= ? GROUP BY choice',
      [dayStart],
    );
    const overflowToday = { offered: 0, keep_waiting: 0, callback: 0, voicemail: 0, backup_line: 0 } as CallbackStats['overflowToday'];
    for (const r of rows) {
      overflowToday.offered += Number(r.n);
      if (r.choice && r.choice in overflowToday) overflowToday[r.choice as OverflowChoice] += Number(r.n);
    }
    return {
      open: Number(c?.open ?? 0),
      due: Number(c?.due ?? 0),
      overdue: Number(c?.overdue ?? 0),
      scheduled: Number(c?.scheduled ?? 0),
      dialling: Number(c?.dialling ?? 0),
      overflowToday,
    };
  }

  /** One-time contact keys of callbacks whose sealed copy is gone (moved under the data key, or erased): to destroy. */
  async spentContactKeys(limit: number): Promise<{ id: string; contactKeyId: string }[]> {
    const rows: { id: string; contact_key_id: string }[] = await this.db.query(
      `SELECT id, contact_key_id FROM callbacks WHERE contact_key_id IS NOT NULL AND sealed_number IS NULL LIMIT ${Math.trunc(limit)}`,
    );
    return rows.map((r) => ({ id: r.id, contactKeyId: r.contact_key_id }));
  }

  async forgetContactKey(callbackId: string, contactKeyId: string): Promise<void> {
    await this.db.query('UPDATE callbacks SET contact_key_id = NULL WHERE id = ? AND contact_key_id = ?', [callbackId, contactKeyId]);
  }

  /** The one-time contact keys still sealing numbers of these calls (destroyed with them). */
  async contactKeysOfCalls(callIds: string[]): Promise<string[]> {
    if (!callIds.length) return [];
    const rows: { contact_key_id: string }[] = await this.db.query(
      'SELECT contact_key_id FROM callbacks WHERE call_id IN (?) AND contact_key_id IS NOT NULL',
      [callIds],
    );
    return rows.map((r) => r.contact_key_id);
  }
}

/**
 * A handover (issue 16) moves the leaving operator's pending callbacks and follow-ups of the calls
 * handed over: the new operator becomes the preferred one, and a callback the leaving operator had
 * claimed but not dialled is released to them. Ids only; in the handover's transaction.
 */
export class CallbackHandoverTasks {
  readonly kind = 'callbacks';

  async move(fromOperatorId: string, toOperatorId: string, callIds: string[], m: EntityManager): Promise<number> {
    if (!callIds.length) return 0;
    const r = await m.query(
      `UPDATE callbacks SET preferred_operator_id = ?, claimed_by = IF(claimed_by = ? AND status = 'open', NULL, claimed_by)
        WHERE call_id IN (?) AND status IN ('open', 'dialling') AND (preferred_operator_id = ? OR preferred_operator_id IS NULL OR claimed_by = ?)`,
      [toOperatorId, fromOperatorId, callIds, fromOperatorId, fromOperatorId],
    );
    return Number(r.affectedRows ?? 0);
  }
}
