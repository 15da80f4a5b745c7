import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'crypto';
import { DataSource, EntityManager } from 'typeorm';
import { ENV, Env } from '@hotline/config';
import { ContactKeys, ContentCipher } from '@hotline/crypto';
import { dialableNumber } from '@hotline/crypto/pseudonym';
import { KEYSTORE } from '@hotline/persistence';
import { CallbackBook, CallbackKind, CallbackStatus, LIVE_CALLBACK, callbackNumberField } from './callbacks';

export interface CallbackTask {
  id: string;
  callId: string;
  kind: CallbackKind;
  status: CallbackStatus;
  dueAt: Date;
  overdue: boolean;
  attempts: number;
  maxAttempts: number;
  lastOutcome: string | null;
  /** The operator who took the first call is preferred for a follow-up. */
  preferred: boolean;
}

export class CallbackNotDue extends Error {}

/**
 * Callbacks with their numbers, for records (which holds the keys): the operator's list (no
 * number), and the claim that opens the number for the one outbound call an attempt places. The
 * number is moved from its one-time seal to the call's own data key the first time it is opened,
 * so from then on it is destroyed with the call (crypto-shredding) like the call's notes.
 */
@Injectable()
export class CallbackNumbers {
  private readonly contactKeys: ContactKeys;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectDataSource(KEYSTORE) keystore: DataSource,
    @Inject(ENV) env: Env,
    private readonly cipher: ContentCipher,
  ) {
    this.contactKeys = new ContactKeys(keystore, env);
  }

  /** Callbacks due now (and follow-ups whose time has come), the viewer's preferred ones first; no number. */
  async due(viewerId: string, now: Date, overdueAfterMs: number, limit = 100): Promise<CallbackTask[]> {
    const rows: any[] = await this.db.query(
      `SELECT id, call_id, kind, status, due_at, attempts, max_attempts, last_outcome, preferred_operator_id
         FROM callbacks WHERE (status = 'open' AND due_at <= ?) OR (status = 'dialling' AND claimed_by = ?)
        ORDER BY (preferred_operator_id = ?) DESC, due_at LIMIT ${Math.trunc(limit)}`,
      [now, viewerId, viewerId],
    );
    return rows.map((r) => ({
      id: r.id,
      callId: r.call_id,
      kind: r.kind,
      status: r.status,
      dueAt: r.due_at,
      overdue: r.status === 'open' && new Date(r.due_at).getTime() <= now.getTime() - overdueAfterMs,
      attempts: Number(r.attempts),
      maxAttempts: Number(r.max_attempts),
      lastOutcome: r.last_outcome,
      preferred: r.preferred_operator_id === viewerId,
    }));
  }

  /**
   * `operatorId` takes a due callback for one attempt: the attempt is on record and the number is
   * returned, to be handed to Twilio and forgotten. Throws CallbackNotDue when it is not open and due,
   * or when it holds no number that may be dialled (then it is closed, its number erased, for good).
   */
  async claim(callbackId: string, operatorId: string, now: Date): Promise<{ attemptId: string; callId: string; number: string }> {
    const claimed = await this.db.transaction(async (m) => {
      const [cb]: any[] = await m.query(
        `SELECT id, call_id, status, due_at, contact_key_id, sealed_number, number_enc FROM callbacks WHERE id = ? FOR UPDATE`,
        [callbackId],
      );
      if (!cb || cb.status !== 'open' || new Date(cb.due_at).getTime() > now.getTime()) return { refused: 'this callback is not due' };
      const opened = await this.openNumber(m, cb);
      // Twilio's stand-in for a withheld or unavailable caller ID (sealed before it was refused) is no number to dial.
      const number = dialableNumber(opened);
      if (!number) {
        // The seal cannot be opened (its key or the call's key is gone), or it holds no number: nothing to call, ever.
        await m.query(
          `UPDATE callbacks SET status = 'closed', closed_at = ?, last_outcome = ?, sealed_number = NULL, number_enc = NULL, claimed_by = NULL
            WHERE id = ?`,
          [now, opened ? 'withheld' : 'failed', callbackId],
        );
        return { refused: opened ? 'this callback’s number is withheld: it cannot be dialled' : 'this callback has no number any more' };
      }
      const attemptId = randomUUID();
      await m.query(
        `INSERT INTO callback_attempts (id, callback_id, call_id, operator_id, twilio_call_sid, outcome, started_at, ended_at)
         VALUES (?, ?, ?, ?, NULL, NULL, ?, NULL)`,
        [attemptId, callbackId, cb.call_id, operatorId, now],
      );
      await m.query(`UPDATE callbacks SET status = 'dialling', claimed_by = ? WHERE id = ?`, [operatorId, callbackId]);
      return { attemptId, callId: cb.call_id as string, number };
    });
    // Refused after the transaction commits: a callback closed for want of a number stays closed.
    if ('refused' in claimed) throw new CallbackNotDue(claimed.refused);
    return claimed;
  }

  /**
   * A follow-up the caller agreed to (consent `followup`, with the wording's version): the number,
   * read from Twilio by the caller of this, goes straight under the call's data key. Due at `dueAt`;
   * the operator who took the call is preferred. One live follow-up per call.
   */
  async scheduleFollowup(
    f: { callId: string; operatorId: string; number: string; dueAt: Date; maxAttempts: number; wordingVersion: string },
    now: Date,
  ): Promise<{ id: string; created: boolean }> {
    return this.db.transaction(async (m) => {
      const [call]: { caller_pseudonym: string | null }[] = await m.query('SELECT caller_pseudonym FROM calls WHERE id = ? FOR UPDATE', [
        f.callId,
      ]);
      const existing: { id: string }[] = await m.query(
        `SELECT id FROM callbacks WHERE call_id = ? AND kind = 'followup' AND ${LIVE_CALLBACK} LIMIT 1`,
        [f.callId],
      );
      if (existing.length) return { id: existing[0].id, created: false };
      const id = randomUUID();
      const enc = await this.cipher.encrypt(f.callId, callbackNumberField(id), f.number);
      await m.query(
        `INSERT INTO callbacks (id, call_id, kind, status, caller_pseudonym, contact_key_id, sealed_number, number_enc, preferred_operator_id,
                                claimed_by, due_at, attempts, max_attempts, last_outcome, created_at, closed_at)
         VALUES (?, ?, 'followup', 'open', ?, NULL, NULL, ?, ?, NULL, ?, 0, ?, NULL, ?, NULL)`,
        [id, f.callId, call?.caller_pseudonym ?? null, enc, f.operatorId, f.dueAt, f.maxAttempts, now],
      );
      await new CallbackBook(m).consent(f.callId, call?.caller_pseudonym ?? null, 'followup', true, f.wordingVersion, now);
      return { id, created: true };
    });
  }

  /** The Twilio CallSid of a call (Twilio's record of it holds the caller's number); null when unknown. */
  async callSidOf(callId: string): Promise<string | null> {
    const [r]: { call_sid: string | null }[] = await this.db.query('SELECT call_sid FROM calls WHERE id = ?', [callId]);
    return r?.call_sid ?? null;
  }

  /** The call a callback belongs to; null when there is no such callback. */
  async callOf(callbackId: string): Promise<string | null> {
    const [r]: { call_id: string }[] = await this.db.query('SELECT call_id FROM callbacks WHERE id = ?', [callbackId]);
    return r?.call_id ?? null;
  }

  /** The outbound call Twilio placed for an attempt. */
  async placed(attemptId: string, twilioCallSid: string): Promise<void> {
    await this.db.query('UPDATE callback_attempts SET twilio_call_sid = ? WHERE id = ?', [twilioCallSid, attemptId]);
  }

  /** Twilio refused the call: the attempt failed (counted like any failed attempt). */
  async notPlaced(attemptId: string, now: Date, retryAfterMs: number) {
    return new CallbackBook(this.db).attemptEnded(attemptId, 'failed', now, retryAfterMs);
  }

  /** Moves every number still under its one-time seal to its call's data key (bounded); how many. */
  async moveSealed(limit = 50): Promise<number> {
    const ids: { id: string }[] = await this.db.query(
      `SELECT id FROM callbacks WHERE sealed_number IS NOT NULL AND ${LIVE_CALLBACK} LIMIT ${Math.trunc(limit)}`,
    );
    for (const { id } of ids)
      await this.db.transaction(async (m) => {
        const [cb]: any[] = await m.query(
          'SELECT id, call_id, contact_key_id, sealed_number, number_enc FROM callbacks WHERE id = ? FOR UPDATE',
          [id],
        );
        if (cb?.sealed_number) await this.openNumber(m, cb);
      });
    return ids.length;
  }

  /** The number of a callback row (locked in `m`), moving it under the call's data key on the way. */
  private async openNumber(m: EntityManager, cb: any): Promise<string | null> {
    const field = callbackNumberField(cb.id);
    if (cb.number_enc) {
      try {
        return await this.cipher.decrypt(cb.call_id, field, Buffer.from(cb.number_enc));
      } catch {
        return null;
      }
    }
    if (!cb.sealed_number || !cb.contact_key_id) return null;
    const number = await this.contactKeys.open(cb.contact_key_id, Buffer.from(cb.sealed_number), cb.id);
    if (!number) return null;
    const enc = await this.cipher.encrypt(cb.call_id, field, number);
    // The one-time key is destroyed by the worker (records destroys nothing): it sees sealed_number gone.
    await m.query('UPDATE callbacks SET number_enc = ?, sealed_number = NULL WHERE id = ?', [enc, cb.id]);
    return number;
  }
}
