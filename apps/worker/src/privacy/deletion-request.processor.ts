import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { CallbackBook, CallerRecords } from '@hotline/calls';
import { Clock, systemClock } from '@hotline/clock';
import { ENV, Env, RetentionConfig, masterKeys } from '@hotline/config';
import { ContactKeys, openContact } from '@hotline/crypto';
import { NotYet, PrivacyJobs } from '@hotline/jobs';
import { KEYSTORE } from '@hotline/persistence';
import { CLOSING_SMS, IN_PROGRESS, SMS_STATUS_PATH, callSidsOf, recordSentSms } from '@hotline/privacy';
import { RETENTION_CONFIG, SecureDeleteService } from '@hotline/retention';
import { TwilioService, isTwilioNotYetDeletable } from '@hotline/twilio';

export type DeletionRequestOutcome =
  | { outcome: 'not_found' | 'cancelled' | 'nothing_to_do' }
  | { outcome: 'done' | 'partly_held'; deleted: number; held: number; closingSms: 'sent' | 'none' | 'not_sent' };

interface RequestRow {
  id: string;
  /** NULL once the request is done: nothing then links it to the number. */
  caller_pseudonym: string | null;
  status: string;
  execute_after: Date;
  contact_enc: Buffer | null;
  contact_key_id: string | null;
  call_sids: string | null;
  calls_held: number;
}

/** Tables of the caller's own, keyed by pseudonym, that go with a deletion (SMS records go after Twilio's copies). */
const CALLER_TABLES = ['privacy_codes', 'privacy_blocks', 'caller_preferences'] as const;

/** A delayed job may fire a moment early when the gateway's clock and the worker's differ. */
const EARLY_MS = 1000;

const AUDIT = { actorId: null, actorRole: 'system', targetType: 'deletion_request' } as const;

/**
 * Carries out a deletion request made by phone, once its grace period is over. Every step is safe
 * to run twice: the request is claimed (`in_progress`, no longer cancellable), every unheld call of
 * the caller is destroyed by SecureDeleteService (held calls are counted and kept), then the
 * caller's other pseudonym-linked data goes, the privacy-line calls that asked are deleted at Twilio,
 * the request is closed with its counts and without the caller's pseudonym, and the closing SMS is
 * sent to the sealed number, whose one-time key is then destroyed (every copy of the sealed number,
 * binlogs and backups included, is unreadable from then on). A retry picks up wherever a run stopped.
 */
@Injectable()
export class DeletionRequestProcessor {
  private readonly logger = new Logger(DeletionRequestProcessor.name);
  /** Property-injected (the system clock unless the app was given one), so tests move time instead of sleeping. */
  @Inject(Clock) private readonly clock: Clock = systemClock;
  private readonly masterKeys: Buffer[];
  private readonly statusCallback: string;
  private readonly contactKeys: ContactKeys;

  constructor(
    @Inject(ENV) env: Env,
    @InjectDataSource() private readonly db: DataSource,
    @InjectDataSource(KEYSTORE) keystore: DataSource,
    private readonly callers: CallerRecords,
    @Inject(RETENTION_CONFIG) private readonly cfg: RetentionConfig,
    private readonly secureDelete: SecureDeleteService,
    private readonly twilio: TwilioService,
    private readonly audit: AuditService,
    private readonly queues: PrivacyJobs,
  ) {
    const keys = masterKeys(env);
    this.masterKeys = [keys.current, ...keys.old];
    this.contactKeys = new ContactKeys(keystore, env);
    this.statusCallback = env.PUBLIC_URL.replace(/\/$/, '') + SMS_STATUS_PATH;
  }

  async process(requestId: string, now = this.clock.now()): Promise<DeletionRequestOutcome> {
    const req = await this.read(requestId);
    if (!req) return { outcome: 'not_found' };
    if (req.status === 'pending' || req.status === IN_PROGRESS) {
      const claimed = await this.claim(requestId, now);
      if (claimed === 'cancelled') return { outcome: 'cancelled' };
      if (claimed === 'finished') return { outcome: 'nothing_to_do' };
      // Run early (clocks apart): fail this attempt, and BullMQ's backoff brings it back when due.
      if (claimed === 'not_due') throw new Error('deletion request is not due yet');
      const counts = await this.carryOut(req);
      const closingSms = await this.closingSms(requestId);
      return { outcome: counts.held ? 'partly_held' : 'done', ...counts, closingSms };
    }
    // A one-time contact key whose number is erased already (a run that stopped in between; a cancellation).
    if (!req.contact_enc && req.contact_key_id) await this.destroyContactKey(requestId, req.contact_key_id);
    if (req.status === 'cancelled') return { outcome: 'cancelled' };
    // Done already: only the closing SMS may be left (a run that stopped after closing the request).
    if (req.contact_enc) {
      const [row] = await this.db.query('SELECT calls_deleted, calls_held FROM deletion_requests WHERE id = ?', [requestId]);
      const closingSms = await this.closingSms(requestId);
      return {
        outcome: req.status === 'partly_held' ? 'partly_held' : 'done',
        deleted: Number(row.calls_deleted),
        held: Number(row.calls_held),
        closingSms,
      };
    }
    return { outcome: 'nothing_to_do' };
  }

  private async read(id: string): Promise<RequestRow | null> {
    const rows: RequestRow[] = await this.db.query(
      'SELECT id, caller_pseudonym, status, execute_after, contact_enc, contact_key_id, call_sids, calls_held FROM deletion_requests WHERE id = ?',
      [id],
    );
    return rows[0] ?? null;
  }

  /** From here on the caller cannot cancel: the row lock orders this against a cancellation. */
  private async claim(id: string, now: Date): Promise<'claimed' | 'cancelled' | 'finished' | 'not_due'> {
    return this.db.transaction(async (m) => {
      const [row] = await m.query('SELECT status, execute_after FROM deletion_requests WHERE id = ? FOR UPDATE', [id]);
      if (row?.status === IN_PROGRESS) return 'claimed';
      if (row?.status !== 'pending') return row?.status === 'cancelled' ? 'cancelled' : 'finished';
      if (new Date(row.execute_after).getTime() > now.getTime() + EARLY_MS) return 'not_due';
      await m.query('UPDATE deletion_requests SET status = ? WHERE id = ?', [IN_PROGRESS, id]);
      await this.audit.append({ ...AUDIT, action: 'deletion_request.started', targetId: id, detail: {} }, m);
      return 'claimed';
    });
  }

  private async carryOut(req: RequestRow): Promise<{ deleted: number; held: number }> {
    // A run that closed the request before (its pseudonym is gone with it) has no calls left to find.
    const pseudonym = req.caller_pseudonym;
    const callIds = pseudonym ? await this.callers.callIds(pseudonym) : [];
    // Callbacks and follow-ups go first, on held calls too: their numbers are erased, their one-time keys destroyed.
    if (pseudonym) await this.cancelCallbacks(pseudonym, callIds);
    let held = pseudonym ? 0 : Number(req.calls_held);
    const failures: Error[] = [];
    for (let i = 0; i < callIds.length; i += this.cfg.batchSize) {
      const chunk = callIds.slice(i, i + this.cfg.batchSize);
      const outcomes = await this.secureDelete.destroyMany(
        chunk.map((callId) => ({ callId, reason: 'caller_request' as const, deletionRequestId: req.id })),
      );
      for (const o of outcomes) {
        if (o.outcome === 'held') held++;
        else if (o.outcome === 'failed') failures.push(o.error);
      }
    }
    // The calls that failed stay for the retry; the others are gone whatever happens next.
    if (failures.length) throw failures[0];

    const removed = pseudonym ? await this.removeCallerData(pseudonym) : {};
    await this.deletePrivacyCalls(req);
    const [{ n }] = await this.db.query('SELECT COUNT(*) AS n FROM deletion_certificates WHERE deletion_request_id = ?', [req.id]);
    const deleted = Number(n);
    await this.db.transaction(async (m) => {
      const [row] = await m.query('SELECT status FROM deletion_requests WHERE id = ? FOR UPDATE', [req.id]);
      if (row?.status !== IN_PROGRESS) return;
      await m.query(
        'UPDATE deletion_requests SET status = ?, calls_total = ?, calls_deleted = ?, calls_held = ?, completed_at = ?, caller_pseudonym = NULL WHERE id = ?',
        [held ? 'partly_held' : 'done', deleted + held, deleted, held, this.clock.now(), req.id],
      );
      // The caller's earlier requests (cancelled ones) would still tie the number to the privacy line.
      if (pseudonym)
        await m.query("UPDATE deletion_requests SET caller_pseudonym = NULL WHERE caller_pseudonym = ? AND status NOT IN ('pending', ?)", [
          pseudonym,
          IN_PROGRESS,
        ]);
      await this.audit.append(
        {
          ...AUDIT,
          action: 'deletion_request.completed',
          targetId: req.id,
          detail: { callsDeleted: deleted, callsHeld: held, rowsRemoved: removed },
        },
        m,
      );
    });
    this.logger.log({ msg: 'deletion request carried out', requestId: req.id, callsDeleted: deleted, callsHeld: held });
    return { deleted, held };
  }

  /**
   * The privacy-line calls that asked for this request, deleted at Twilio (their record there holds
   * the caller's number). They have ended by now (the grace period); one Twilio will not delete yet
   * (409, 20009: still in progress, or ended moments ago) makes the job wait and come back
   * (NotYet, `TWILIO_DELETE_RETRY_MS` doubling: not a failure), after the others are deleted; every
   * step before this one is safe to run again. The SIDs stay on the request: once deleted at Twilio
   * they name nothing. (The calls the request destroyed, their legs and recordings, are deleted at
   * Twilio by secure deletion's cleanup.)
   */
  private async deletePrivacyCalls(req: RequestRow): Promise<void> {
    let refused: unknown;
    for (const sid of callSidsOf(req.call_sids)) {
      try {
        await this.twilio.deleteCall(sid);
      } catch (e) {
        if (!isTwilioNotYetDeletable(e)) throw e;
        refused ??= e;
      }
    }
    if (refused) throw new NotYet('Twilio will not delete a privacy-line call of the request yet (20009)', { cause: refused });
  }

  /** The caller's codes, lockout, preferences, and the SMS sent to them (deleted at Twilio first). */
  private async removeCallerData(pseudonym: string): Promise<Record<string, number>> {
    const removed: Record<string, number> = {};
    const sms: { message_sid: string; deleted_at: Date | null }[] = await this.db.query(
      'SELECT message_sid, deleted_at FROM sms_messages WHERE caller_pseudonym = ?',
      [pseudonym],
    );
    for (const s of sms) {
      if (!s.deleted_at) await this.twilio.deleteMessage(s.message_sid);
    }
    removed.sms_messages = sms.length
      ? (
          await this.db.query('DELETE FROM sms_messages WHERE caller_pseudonym = ? AND message_sid IN (?)', [
            pseudonym,
            sms.map((s) => s.message_sid),
          ])
        ).affectedRows
      : 0;
    for (const t of CALLER_TABLES)
      removed[t] = (await this.db.query(`DELETE FROM ${t} WHERE caller_pseudonym = ?`, [pseudonym])).affectedRows;
    return removed;
  }

  /**
   * "Your request has been carried out." to the number sealed at the request; then the sealed
   * number is erased and its one-time key destroyed, which makes every other copy of it (binlogs,
   * backups) unreadable. Twilio refusing the number for good (a 4xx) is not retried.
   */
  private async closingSms(id: string): Promise<'sent' | 'none' | 'not_sent'> {
    const [row] = await this.db.query('SELECT contact_enc, contact_key_id FROM deletion_requests WHERE id = ?', [id]);
    if (!row?.contact_enc) {
      // Sent (or given up) by a run that stopped before the key was destroyed.
      if (row?.contact_key_id) await this.destroyContactKey(id, row.contact_key_id);
      return 'none';
    }
    const number = await this.open(row.contact_enc, row.contact_key_id, id);
    if (!number) return this.giveUpClosingSms(id, 'unreadable', row.contact_key_id);
    let sid: string;
    try {
      sid = (await this.twilio.sendSms(number, CLOSING_SMS, this.statusCallback)).sid;
    } catch (e) {
      const status = (e as { status?: number }).status ?? 0;
      if (status >= 400 && status < 500 && status !== 429) return this.giveUpClosingSms(id, `twilio ${status}`, row.contact_key_id);
      throw e;
    }
    await this.db.transaction(async (m) => {
      await recordSentSms(m, { sid, purpose: 'closing', pseudonym: null, at: this.clock.now() });
      await m.query('UPDATE deletion_requests SET contact_enc = NULL WHERE id = ?', [id]);
      await this.audit.append({ ...AUDIT, action: 'deletion_request.closing_sms_sent', targetId: id, detail: { messageSid: sid } }, m);
    });
    if (row.contact_key_id) await this.destroyContactKey(id, row.contact_key_id);
    await this.queues
      .deleteSms(sid)
      .catch((e) => this.logger.warn({ msg: 'delete-sms job not queued; the reconciler will', messageSid: sid, error: (e as Error).name }));
    return 'sent';
  }

  /** The one-time key goes first, then its id: a run that stops between the two finds the id and destroys again. */
  /** A deletion by phone cancels the caller's pending callbacks and follow-ups (numbers erased, their keys destroyed). */
  private async cancelCallbacks(pseudonym: string, callIds: string[]): Promise<void> {
    const book = new CallbackBook(this.db);
    await book.withdraw(pseudonym, this.clock.now());
    for (const keyId of await book.contactKeysOfCalls(callIds)) await this.contactKeys.destroy(keyId);
  }

  private async destroyContactKey(id: string, keyId: string): Promise<void> {
    await this.contactKeys.destroy(keyId);
    await this.db.query('UPDATE deletion_requests SET contact_key_id = NULL WHERE id = ? AND contact_key_id = ?', [id, keyId]);
  }

  private async open(sealed: Buffer, keyId: string | null, id: string): Promise<string | null> {
    if (keyId) return this.contactKeys.open(keyId, sealed, id);
    // Sealed before one-time keys: to the key derived from the master key.
    for (const key of this.masterKeys) {
      try {
        return openContact(key, sealed, id);
      } catch {
        // sealed to another key, or not for this request
      }
    }
    return null;
  }

  private async giveUpClosingSms(id: string, why: string, keyId: string | null): Promise<'not_sent'> {
    await this.db.transaction(async (m) => {
      await m.query('UPDATE deletion_requests SET contact_enc = NULL WHERE id = ?', [id]);
      await this.audit.append({ ...AUDIT, action: 'deletion_request.closing_sms_failed', targetId: id, detail: { why } }, m);
    });
    if (keyId) await this.destroyContactKey(id, keyId);
    this.logger.warn({ msg: 'closing SMS not sent; the sealed number is erased', requestId: id, why });
    return 'not_sent';
  }
}
