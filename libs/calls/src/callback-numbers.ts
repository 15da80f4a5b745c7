import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'crypto';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '@hotline/audit';
import type { CallbackCap } from '@hotline/contract';
import { ContactKeys, ContentCipher } from '@hotline/crypto';
import { dialableNumber } from '@hotline/crypto/pseudonym';
import type { CallbackCaps } from './callback-caps';
import { CallbackRefusal, checkCallbackNumber, countryOfNumber } from './callback-policy';
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
  /** The ISO 3166 country of the number (records read it from the number itself); null until records has opened it. */
  country: string | null;
}

/** Not open and due, or being dialled, or closed: nothing done (409). */
export class CallbackNotDue extends Error {}

/**
 * Never to be dialled (409), and closed for good, its number erased: a planted seal (`tampered`), a
 * withheld number, one of no allowed country or of a premium or special range, one that cannot be
 * opened any more (`no-number`), or its attempts spent (`exhausted`). Audited with the reason alone.
 */
export class CallbackRefused extends Error {
  constructor(
    message: string,
    readonly reason: CallbackRefusal | 'tampered' | 'no-number' | 'exhausted',
  ) {
    super(message);
  }
}

/** A cap on callbacks' calls is full (per number per day, or the line's per hour): not now (409); the callback stays due. */
export class CallbackCapped extends Error {
  constructor(
    readonly cap: CallbackCap,
    readonly alert: boolean,
  ) {
    super(
      cap === 'number'
        ? 'this number has been called back as often as a day allows (callbacks.caps.perNumberPerDay): try again later'
        : 'the line has placed as many callbacks as an hour allows (callbacks.caps.perHour): try again later',
    );
  }
}

/** The caps could not be checked (Redis did not answer): no call is placed unchecked (503). */
export class CallbackCapsUnknown extends Error {}

/** What records checks before it places a callback's call: where it may call, how often, and the caps. */
export interface CallbackGuard {
  countries: ReadonlySet<string>;
  /** The routing file's callbacks.maxAttempts: a row's own max_attempts counts only up to it. */
  maxAttempts: number;
  /** The next attempt is due this long after this one starts. */
  retryAfterMs: number;
  caps: CallbackCaps;
  /** The number's keyed pseudonym (the per-number cap's key: from the number records opened, never the row's word). */
  pseudonymOf(number: string): string;
}

/** A sealed number beside (or after) one under the call's key was planted there: what is refused. */
const PLANTED_SEAL = 'sealed_number IS NOT NULL AND (number_enc IS NOT NULL OR number_moved_at IS NOT NULL)';

/**
 * Callbacks with their numbers, for records (which holds the keys): the operator's list (no
 * number), and the claim that opens the number for the one outbound call an attempt places. The
 * number is moved from its one-time seal to the call's own data key the first time it is opened,
 * so from then on it is destroyed with the call (crypto-shredding) like the call's notes.
 */
@Injectable()
export class CallbackNumbers {
  // Its own, not the app's: apps that use CallsModule without AuditModule (the encryption benchmark) still start.
  private readonly audit: AuditService;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly contactKeys: ContactKeys,
    private readonly cipher: ContentCipher,
  ) {
    this.audit = new AuditService(db);
  }

  /** Callbacks due now (and follow-ups whose time has come), the viewer's preferred ones first; no number. */
  async due(viewerId: string, now: Date, overdueAfterMs: number, limit = 100): Promise<CallbackTask[]> {
    const rows: any[] = await this.db.query(
      `SELECT id, call_id, kind, status, due_at, attempts, max_attempts, last_outcome, preferred_operator_id, country
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
      country: r.country ?? null,
    }));
  }

  /**
   * `operatorId` takes a due callback for one attempt: the attempt is on record (counted now, the next
   * due `retryAfterMs` after this one's start) and the number is returned, to be handed to Twilio and
   * forgotten. Throws CallbackNotDue when it is not open and due. Throws CallbackRefused, and closes the
   * callback for good with its number erased (audited, the reason alone), when its attempts are spent,
   * its seal was planted beside or after the number records moved under the call's key, it holds no
   * number that may be dialled, or the number is of no allowed country or of a premium or special
   * range (`guard.countries`, callback-policy). Throws CallbackCapped when a cap on callbacks' calls is
   * full (the callback stays due), CallbackCapsUnknown when the caps cannot be checked.
   */
  async claim(
    callbackId: string,
    operatorId: string,
    now: Date,
    guard: CallbackGuard,
  ): Promise<{ attemptId: string; callId: string; number: string; country: string }> {
    const claimed = await this.db.transaction(async (m) => {
      const [cb]: any[] = await m.query(
        `SELECT id, call_id, status, due_at, attempts, max_attempts, contact_key_id, sealed_number, number_enc, number_moved_at
           FROM callbacks WHERE id = ? FOR UPDATE`,
        [callbackId],
      );
      if (!cb || cb.status !== 'open' || new Date(cb.due_at).getTime() > now.getTime()) return { notDue: 'this callback is not due' };
      const refuse = async (reason: CallbackRefused['reason'], message: string, outcome: string = reason) => {
        await m.query(
          `UPDATE callbacks SET status = 'closed', closed_at = ?, last_outcome = ?, sealed_number = NULL, number_enc = NULL, claimed_by = NULL
            WHERE id = ?`,
          [now, outcome, callbackId],
        );
        await this.audit.append(
          {
            actorId: operatorId,
            actorRole: 'operator',
            action: reason === 'tampered' ? 'callback.seal_refused' : 'callback.refused',
            targetType: 'call',
            targetId: cb.call_id,
            detail: { callbackId, reason },
          },
          m,
        );
        return { refused: new CallbackRefused(message, reason) };
      };
      // A row's max_attempts counts up to the routing file's (the gateway's INSERT wrote the row's).
      if (Number(cb.attempts) >= Math.min(Number(cb.max_attempts), guard.maxAttempts))
        return refuse('exhausted', 'this callback has had all its attempts', 'exhausted');
      if (cb.sealed_number && (cb.number_enc || cb.number_moved_at))
        return refuse('tampered', 'this callback’s number was tampered with (a seal added after it was moved): it is never dialled');
      const opened = await this.openNumber(m, cb, now);
      // Twilio's stand-in for a withheld or unavailable caller ID (sealed before it was refused) is no number to dial.
      if (!opened) return refuse('no-number', 'this callback has no number any more', 'failed');
      const check = checkCallbackNumber(opened, guard.countries);
      if (!check.ok) {
        if (check.refusal === 'withheld') return refuse('withheld', 'this callback’s number is withheld: it cannot be dialled');
        return refuse(
          check.refusal,
          check.refusal === 'country'
            ? 'this callback’s number is of a country callbacks may not call (CALLBACK_COUNTRIES): it is never dialled'
            : 'this callback’s number is of a premium-rate or special range: it is never dialled',
          'refused',
        );
      }
      const attemptId = randomUUID();
      let cap;
      try {
        cap = await guard.caps.take('dialling', guard.pseudonymOf(check.number), callbackId, attemptId);
      } catch {
        return { unknown: true as const };
      }
      if (!cap.ok) return { capped: new CallbackCapped(cap.cap, cap.alert) };
      await m.query(
        `INSERT INTO callback_attempts (id, callback_id, call_id, operator_id, twilio_call_sid, outcome, started_at, ended_at)
         VALUES (?, ?, ?, ?, NULL, NULL, ?, NULL)`,
        [attemptId, callbackId, cb.call_id, operatorId, now],
      );
      await m.query(
        `UPDATE callbacks SET status = 'dialling', claimed_by = ?, attempts = attempts + 1, due_at = ?, country = ? WHERE id = ?`,
        [operatorId, new Date(now.getTime() + guard.retryAfterMs), check.country, callbackId],
      );
      return { attemptId, callId: cb.call_id as string, number: check.number, country: check.country };
    });
    // Refused after the transaction commits: a callback closed for want of a number stays closed.
    if ('notDue' in claimed) throw new CallbackNotDue(claimed.notDue);
    if ('refused' in claimed) throw claimed.refused;
    if ('capped' in claimed) throw claimed.capped;
    if ('unknown' in claimed) throw new CallbackCapsUnknown('the caps on callbacks cannot be checked now (Redis): nothing was dialled');
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
    const country = countryOfNumber(f.number);
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
        `INSERT INTO callbacks (id, call_id, kind, status, caller_pseudonym, contact_key_id, sealed_number, number_enc, number_moved_at,
                                country, preferred_operator_id, claimed_by, due_at, attempts, max_attempts, last_outcome, created_at, closed_at)
         VALUES (?, ?, 'followup', 'open', ?, NULL, NULL, ?, ?, ?, ?, NULL, ?, 0, ?, NULL, ?, NULL)`,
        [id, f.callId, call?.caller_pseudonym ?? null, enc, now, country, f.operatorId, f.dueAt, f.maxAttempts, now],
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
  async notPlaced(attemptId: string, now: Date) {
    return new CallbackBook(this.db).attemptEnded(attemptId, 'failed', now);
  }

  /**
   * Moves every number still under its one-time seal to its call's data key (bounded), noting its
   * country; how many it looked at. A seal beside (or after) a number already moved was planted: the
   * callback is closed, both erased, and `callback.seal_refused` audited (ids only). The seal of a
   * callback no longer live (withdrawn on the privacy line by the gateway, which may not erase a
   * seal) is erased, so the worker destroys its one-time key.
   */
  async moveSealed(limit = 50, now = new Date()): Promise<number> {
    const n = Math.trunc(limit);
    const ids: { id: string }[] = await this.db.query(
      `SELECT id FROM callbacks WHERE sealed_number IS NOT NULL AND ${LIVE_CALLBACK} LIMIT ${n}`,
    );
    for (const { id } of ids)
      await this.db.transaction(async (m) => {
        const [cb]: any[] = await m.query(
          `SELECT id, call_id, status, contact_key_id, sealed_number, number_enc, number_moved_at FROM callbacks WHERE id = ? FOR UPDATE`,
          [id],
        );
        if (!cb?.sealed_number) return;
        if (cb.number_enc || cb.number_moved_at) return this.refusePlantedSeal(m, cb, now);
        await this.openNumber(m, cb, now);
      });
    await this.db.query(
      `UPDATE callbacks SET sealed_number = NULL WHERE sealed_number IS NOT NULL AND status NOT IN ('open', 'dialling') LIMIT ${n}`,
    );
    return ids.length;
  }

  /** A seal planted on a callback whose number was moved: never opened, the callback closed, both erased, audited. */
  private async refusePlantedSeal(m: EntityManager, cb: { id: string; call_id: string }, now: Date): Promise<void> {
    await m.query(
      `UPDATE callbacks SET status = 'closed', closed_at = ?, last_outcome = 'tampered', sealed_number = NULL, number_enc = NULL,
              claimed_by = NULL WHERE id = ? AND ${PLANTED_SEAL}`,
      [now, cb.id],
    );
    await this.audit.append(
      {
        actorRole: 'system',
        action: 'callback.seal_refused',
        targetType: 'call',
        targetId: cb.call_id,
        detail: { callbackId: cb.id, reason: 'tampered' },
      },
      m,
    );
  }

  /**
   * The number of a callback row (locked in `m`), moving it under the call's data key on the way
   * (noting when, and its country). The caller has refused a seal planted beside a moved number.
   */
  private async openNumber(m: EntityManager, cb: any, now: Date): Promise<string | null> {
    const field = callbackNumberField(cb.id);
    if (cb.number_enc) {
      try {
        return await this.cipher.decrypt(cb.call_id, field, Buffer.from(cb.number_enc));
      } catch {
        return null;
      }
    }
    if (cb.number_moved_at || !cb.sealed_number || !cb.contact_key_id) return null;
    const number = await this.contactKeys.open(cb.contact_key_id, Buffer.from(cb.sealed_number), cb.id);
    if (!number) return null;
    const enc = await this.cipher.encrypt(cb.call_id, field, number);
    // The one-time key is destroyed by the worker (records destroys nothing): it sees sealed_number gone.
    await m.query('UPDATE callbacks SET number_enc = ?, sealed_number = NULL, number_moved_at = ?, country = ? WHERE id = ?', [
      enc,
      now,
      countryOfNumber(dialableNumber(number) ?? ''),
      cb.id,
    ]);
    return number;
  }
}
