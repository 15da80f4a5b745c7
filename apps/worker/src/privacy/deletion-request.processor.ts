import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '@hotline/audit';
import { CallbackBook, CallerRecords } from '@hotline/calls';
import { Clock, systemClock } from '@hotline/clock';
import { ENV, Env, RetentionConfig, masterKeys } from '@hotline/config';
import { ContactKeys, openContact } from '@hotline/crypto';
import { NotYet, PrivacyJobs } from '@hotline/jobs';
import {
  CLOSING_SMS,
  DeletionRequestBook,
  DeletionRequestRow as RequestRow,
  IN_PROGRESS,
  SMS_STATUS_PATH,
  callSidsOf,
  recordSentSms,
} from '@hotline/privacy';
import { RETENTION_CONFIG, SecureDeleteService } from '@hotline/retention';
import { TwilioService, isTwilioNotYetDeletable } from '@hotline/twilio';

export type DeletionRequestOutcome =
  | { outcome: 'not_found' | 'cancelled' | 'nothing_to_do' }
  | { outcome: 'done' | 'partly_held'; deleted: number; held: number; closingSms: 'sent' | 'none' | 'not_sent' };

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

  constructor(
    @Inject(ENV) env: Env,
    private readonly requests: DeletionRequestBook,
    private readonly contactKeys: ContactKeys,
    private readonly callbacks: CallbackBook,
    private readonly callers: CallerRecords,
    @Inject(RETENTION_CONFIG) private readonly cfg: RetentionConfig,
    private readonly secureDelete: SecureDeleteService,
    private readonly twilio: TwilioService,
    private readonly audit: AuditService,
    private readonly queues: PrivacyJobs,
  ) {
    const keys = masterKeys(env);
    this.masterKeys = [keys.current, ...keys.old];
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
      const { deleted, held } = await this.requests.counts(requestId);
      const closingSms = await this.closingSms(requestId);
      return { outcome: req.status === 'partly_held' ? 'partly_held' : 'done', deleted, held, closingSms };
    }
    return { outcome: 'nothing_to_do' };
  }

  private read(id: string): Promise<RequestRow | null> {
    return this.requests.find(id);
  }

  /** From here on the caller cannot cancel: the row lock orders this against a cancellation. */
  private async claim(id: string, now: Date): Promise<'claimed' | 'cancelled' | 'finished' | 'not_due'> {
    return this.requests.transaction(async (m) => {
      const row = await this.requests.lock(id, m);
      if (row?.status === IN_PROGRESS) return 'claimed';
      if (row?.status !== 'pending') return row?.status === 'cancelled' ? 'cancelled' : 'finished';
      if (row.executeAfter.getTime() > now.getTime() + EARLY_MS) return 'not_due';
      await this.requests.markInProgress(id, m);
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
    const deleted = await this.callers.destroyedForRequest(req.id);
    await this.requests.transaction(async (m) => {
      const row = await this.requests.lock(req.id, m);
      if (row?.status !== IN_PROGRESS) return;
      // The caller's earlier requests (cancelled ones) would still tie the number to the privacy line: they lose it too.
      await this.requests.close(req.id, { status: held ? 'partly_held' : 'done', deleted, held, at: this.clock.now(), pseudonym }, m);
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
    const sms = await this.requests.callerSms(pseudonym);
    for (const s of sms) {
      if (!s.deletedAt) await this.twilio.deleteMessage(s.messageSid);
    }
    return this.requests.removeCallerRows(
      pseudonym,
      sms.map((s) => s.messageSid),
    );
  }

  /**
   * "Your request has been carried out." to the number sealed at the request; then the sealed
   * number is erased and its one-time key destroyed, which makes every other copy of it (binlogs,
   * backups) unreadable. Twilio refusing the number for good (a 4xx) is not retried.
   */
  private async closingSms(id: string): Promise<'sent' | 'none' | 'not_sent'> {
    const row = await this.requests.sealedContact(id);
    if (!row?.contactEnc) {
      // Sent (or given up) by a run that stopped before the key was destroyed.
      if (row?.contactKeyId) await this.destroyContactKey(id, row.contactKeyId);
      return 'none';
    }
    const number = await this.open(row.contactEnc, row.contactKeyId, id);
    if (!number) return this.giveUpClosingSms(id, 'unreadable', row.contactKeyId);
    let sid: string;
    try {
      sid = (await this.twilio.sendSms(number, CLOSING_SMS, this.statusCallback)).sid;
    } catch (e) {
      const status = (e as { status?: number }).status ?? 0;
      if (status >= 400 && status < 500 && status !== 429) return this.giveUpClosingSms(id, `twilio ${status}`, row.contactKeyId);
      throw e;
    }
    await this.requests.transaction(async (m) => {
      await recordSentSms(m, { sid, purpose: 'closing', pseudonym: null, at: this.clock.now() });
      await this.requests.eraseContact(id, m);
      await this.audit.append({ ...AUDIT, action: 'deletion_request.closing_sms_sent', targetId: id, detail: { messageSid: sid } }, m);
    });
    if (row.contactKeyId) await this.destroyContactKey(id, row.contactKeyId);
    await this.queues
      .deleteSms(sid)
      .catch((e) => this.logger.warn({ msg: 'delete-sms job not queued; the reconciler will', messageSid: sid, error: (e as Error).name }));
    return 'sent';
  }

  /** The one-time key goes first, then its id: a run that stops between the two finds the id and destroys again. */
  /** A deletion by phone cancels the caller's pending callbacks and follow-ups (numbers erased, their keys destroyed). */
  private async cancelCallbacks(pseudonym: string, callIds: string[]): Promise<void> {
    await this.callbacks.withdraw(pseudonym, this.clock.now());
    for (const keyId of await this.callbacks.contactKeysOfCalls(callIds)) await this.contactKeys.destroy(keyId);
  }

  private async destroyContactKey(id: string, keyId: string): Promise<void> {
    await this.contactKeys.destroy(keyId);
    await this.requests.forgetContactKey(id, keyId);
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
    await this.requests.transaction(async (m) => {
      await this.requests.eraseContact(id, m);
      await this.audit.append({ ...AUDIT, action: 'deletion_request.closing_sms_failed', targetId: id, detail: { why } }, m);
    });
    if (keyId) await this.destroyContactKey(id, keyId);
    this.logger.warn({ msg: 'closing SMS not sent; the sealed number is erased', requestId: id, why });
    return 'not_sent';
  }
}
