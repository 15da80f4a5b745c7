import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { AuditInput, AuditService } from '@hotline/audit';
import { Clock } from '@hotline/clock';
import { ENV, Env, RETENTION_CONFIG, RetentionConfig, durationMs, pseudonymKey } from '@hotline/config';
import { CONTACT_KEYS_REDIS_KEY, parsePublishedContactKey, sealContact } from '@hotline/crypto/contact-seal';
import type { SmsCap } from '@hotline/contract';
import { AlertMessage, alertsChannel } from '@hotline/events';
import { PrivacyJobs } from '@hotline/jobs';
import { REDIS, counter, withTimeout } from '@hotline/observability';
import { TwilioService, answerWithin } from '@hotline/twilio';
import {
  AuditAppend,
  CallerSummary,
  DeletionRequestResult,
  callerSummary,
  cancelPendingDeletion,
  openDeletionRequest,
  requestDeletion,
  withdrawRecordingConsent,
} from './privacy-records';
import { SMS_STATUS_PATH, codeSms, recordSentSms } from './sms';
import { SmsCaps, smsCapLimits } from './sms-caps';
import { PrivacyVerification, VerifyResult } from './verification';

/**
 * The records database, as the caller of PrivacyRequests reaches it: the gateway connects lazily
 * (and fails fast when MySQL is away), so it is asked for on each operation, never held.
 */
export type RecordsSource = () => Promise<DataSource>;
export const PRIVACY_RECORDS = Symbol('PRIVACY_RECORDS');

/** What a caller of the privacy line asks for. */
export type PrivacyIntent = 'delete' | 'withdraw' | 'cancel';

/** Who is asking: the call they ask on (the audit trail's target), and the pseudonym of the number they ring from. */
export interface PrivacyCaller {
  callSid: string;
  pseudonym: string;
}

/** `sent`: a code is on its way; `refused`: none may be sent to this number now; `not_sent`: Twilio did not take the SMS. */
export type SendCodeResult = 'sent' | 'refused' | 'not_sent';

/** Steps of the privacy line (the phone menu counts its own steps in the same counter). */
export const privacyLineSteps = counter('hotline_privacy_line_total', 'Privacy line steps', ['step']);
/**
 * How long the privacy line waits for Twilio to take a verification SMS: it is sent while Twilio
 * waits for the answer to the caller's key press (the webhook's budget, WEBHOOK_BUDGET_MS, covers the
 * database work around it too). Past it the caller hears that no code could be sent.
 */
export const SMS_SEND_BUDGET_MS = 2500;

/** Verification SMS refused because a cap was full (per number, per country calling code, in all). */
export const smsRefusedByCap = counter('hotline_privacy_sms_refused_total', 'Privacy line verification SMS refused at a cap', ['cap']);

/**
 * What the privacy line does for a caller, apart from the phone menu: codes sent by SMS and
 * checked, deletion requests opened and cancelled, consent to recording withdrawn, each audited
 * and followed by its jobs. The menu (which key means what, per-call state, what is said) is the
 * gateway's; it decides who the caller is (their pseudonym) and calls these operations.
 *
 * Audit entries name the CallSid or the request id, never a number or a pseudonym; the number is
 * used only to send the SMS and, sealed, for the closing SMS.
 */
@Injectable()
export class PrivacyRequests {
  private readonly logger = new Logger(PrivacyRequests.name);
  /** How long a deletion request waits before the worker carries it out (the retention file's `deletionGrace`). */
  readonly graceMs: number;
  private readonly statusCallback: string;
  private readonly caps: SmsCaps;

  constructor(
    @Inject(ENV) private readonly env: Env,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(PRIVACY_RECORDS) private readonly records: RecordsSource,
    private readonly twilio: TwilioService,
    private readonly jobs: PrivacyJobs,
    @Inject(RETENTION_CONFIG) retention: RetentionConfig,
    private readonly clock: Clock,
  ) {
    this.graceMs = durationMs(retention.deletionGrace);
    this.statusCallback = env.PUBLIC_URL.replace(/\/$/, '') + SMS_STATUS_PATH;
    this.caps = new SmsCaps(redis, smsCapLimits(env), clock);
  }

  /** A withheld number rang: nothing to act on; audited if the records database answers. */
  async withheld(callSid: string): Promise<void> {
    await this.auditQuietly({ action: 'privacy.withheld_number', targetType: 'privacy_call', targetId: callSid, detail: {} });
  }

  /**
   * A fresh code by SMS to `number` (E.164, the number the caller rings from); the SMS says that
   * and nothing else. Refused while the number is locked out (wrong entries), and when a cap on
   * verification SMS is full (per number, per country calling code, in all: `SmsCaps`); a cap
   * reached is counted and, once per cap (and number or country) per window, raised to the supervisors.
   */
  async sendCode(caller: PrivacyCaller, number: string, intent: PrivacyIntent): Promise<SendCodeResult> {
    const { callSid, pseudonym } = caller;
    const ds = await this.db();
    const verification = this.verification(ds);
    const blockedUntil = await verification.blockedUntil(pseudonym);
    if (blockedUntil) return this.refused(ds, callSid, { blockedUntil: blockedUntil.toISOString() });
    const cap = await this.caps.take(pseudonym, number);
    if (!cap.ok) {
      smsRefusedByCap.inc({ cap: cap.cap });
      if (cap.alert) await this.capReached(callSid, cap.cap);
      return this.refused(ds, callSid, { cap: cap.cap });
    }
    const issued = await verification.issue(pseudonym);
    if (!issued.ok) return this.refused(ds, callSid, { blockedUntil: issued.blockedUntil.toISOString() });
    const sending: Promise<{ sid: string } | { error: unknown }> = this.twilio
      .sendSms(number, codeSms(issued.code), this.statusCallback)
      .then(
        (m) => ({ sid: m.sid }),
        (error: unknown) => ({ error }),
      );
    const sent = await answerWithin<{ sid: string } | { error: unknown } | { late: true }>(sending, SMS_SEND_BUDGET_MS, () => ({
      late: true,
    }));
    if (!('sid' in sent)) {
      const late = 'late' in sent;
      // Past the budget Twilio may still take the SMS: if its SID comes, it is kept like any other
      // (so the message is deleted at Twilio), though the caller has been told no code was sent.
      if (late) void sending.then((r) => ('sid' in r ? this.keepLateSms(ds, r.sid, pseudonym, callSid) : undefined));
      const e = 'error' in sent ? (sent.error as { name?: string; status?: number }) : undefined;
      privacyLineSteps.inc({ step: 'code_not_sent' });
      this.logger.warn({
        msg: 'verification SMS not sent',
        callSid,
        ...(late ? { overBudgetMs: SMS_SEND_BUDGET_MS } : { error: e?.name, status: e?.status }),
      });
      await this.audit(ds, {
        action: 'privacy.code_not_sent',
        targetType: 'privacy_call',
        targetId: callSid,
        detail: late ? { intent, timedOut: true } : { intent },
      });
      return 'not_sent';
    }
    const sid = sent.sid;
    await recordSentSms(ds, { sid, purpose: 'code', pseudonym, at: this.clock.now() });
    await this.jobs.deleteSms(sid);
    privacyLineSteps.inc({ step: 'code_sent' });
    await this.audit(ds, {
      action: 'privacy.code_sent',
      targetType: 'privacy_call',
      targetId: callSid,
      detail: { intent, messageSid: sid },
    });
    return 'sent';
  }

  /** Checks the code the caller entered against the last one sent to their number; audited whatever the result. */
  async verifyCode(caller: PrivacyCaller, entered: string, intent: PrivacyIntent): Promise<VerifyResult> {
    const { callSid, pseudonym } = caller;
    const ds = await this.db();
    const { result, attemptsLeft } = await this.verification(ds).verify(pseudonym, entered);
    privacyLineSteps.inc({ step: `code_${result}` });
    switch (result) {
      case 'ok':
        await this.audit(ds, {
          action: 'privacy.verified',
          targetType: 'privacy_call',
          targetId: callSid,
          detail: { intent, by: 'sms_code' },
        });
        break;
      case 'wrong':
        await this.audit(ds, { action: 'privacy.code_wrong', targetType: 'privacy_call', targetId: callSid, detail: { attemptsLeft } });
        break;
      case 'locked':
        await this.audit(ds, { action: 'privacy.locked', targetType: 'privacy_call', targetId: callSid, detail: { hours: 1 } });
        break;
      default:
        await this.audit(ds, { action: 'privacy.code_expired', targetType: 'privacy_call', targetId: callSid, detail: { result } });
    }
    return result;
  }

  /** True (and audited as a repeat) when the caller already has a deletion request waiting or running. */
  async deletionAlreadyRequested(caller: PrivacyCaller): Promise<boolean> {
    const ds = await this.db();
    if (!(await openDeletionRequest(ds, caller.pseudonym))) return false;
    await this.audit(ds, { action: 'deletion_request.repeated', targetType: 'privacy_call', targetId: caller.callSid, detail: {} });
    privacyLineSteps.inc({ step: 'deletion_repeated' });
    return true;
  }

  /** How many calls a deletion would take, and how many stay under legal hold: counts only. */
  async summary(pseudonym: string): Promise<CallerSummary> {
    return callerSummary(await this.db(), pseudonym);
  }

  /**
   * Opens the verified caller's deletion request (a repeat joins the open one) and queues it for
   * after the grace period. The privacy-line call that asks is kept on the request (its CallSid),
   * to be deleted at Twilio once the request is carried out. `number` (E.164), when given, is
   * sealed for the closing SMS to a one-time contact key of this request's own, taken from the
   * pool the worker publishes (the worker destroys that key once the SMS is sent); with no key
   * published the request stands, with no closing SMS.
   */
  async requestDeletion(caller: PrivacyCaller, number: string | null): Promise<DeletionRequestResult> {
    const ds = await this.db();
    const summary = await callerSummary(ds, caller.pseudonym);
    const contactKey = number
      ? parsePublishedContactKey(await withTimeout(this.redis.lpop(CONTACT_KEYS_REDIS_KEY), 2000).catch(() => null))
      : null;
    const now = this.clock.now();
    let req: DeletionRequestResult;
    try {
      req = await requestDeletion(ds, {
        pseudonym: caller.pseudonym,
        executeAfter: new Date(now.getTime() + this.graceMs),
        summary,
        now,
        contactKeyId: contactKey?.id ?? null,
        sealContact: contactKey && number ? (id) => sealContact(contactKey.key, number, id) : undefined,
        callSid: caller.callSid,
        audit: this.appender(ds),
        via: { callSid: caller.callSid },
      });
    } catch (e) {
      await this.giveBack(contactKey);
      throw e;
    }
    if (!req.created) {
      await this.giveBack(contactKey);
      privacyLineSteps.inc({ step: 'deletion_repeated' });
      return req;
    }
    privacyLineSteps.inc({ step: 'deletion_requested' });
    if (number && !contactKey)
      this.logger.warn({ msg: 'no contact key published by the worker: this request gets no closing SMS', requestId: req.id });
    await this.jobs.deletionRequest(req.id, req.executeAfter);
    return req;
  }

  /** A verification SMS Twilio took after the caller was told it was not sent: kept, so that it is deleted at Twilio. */
  private async keepLateSms(ds: DataSource, sid: string, pseudonym: string, callSid: string): Promise<void> {
    try {
      await recordSentSms(ds, { sid, purpose: 'code', pseudonym, at: this.clock.now() });
      await this.jobs.deleteSms(sid);
    } catch (e) {
      this.logger.warn({ msg: 'late verification SMS not kept for deletion', callSid, messageSid: sid, error: (e as Error).name });
    }
  }

  /** A one-time contact key taken but not used goes back to the pool (best effort: an unused key seals nothing). */
  private async giveBack(key: { id: string; key: string } | null): Promise<void> {
    if (key) await withTimeout(this.redis.lpush(CONTACT_KEYS_REDIS_KEY, JSON.stringify(key)), 2000).catch(() => undefined);
  }

  /** Withdraws the verified caller's consent to recording now; their recordings are deleted at Twilio by jobs. */
  async withdrawConsent(caller: PrivacyCaller): Promise<void> {
    const ds = await this.db();
    const r = await withdrawRecordingConsent(ds, caller.pseudonym, this.clock.now(), this.appender(ds), { callSid: caller.callSid });
    await this.jobs.deleteRecordings(r.callsWithRecordings);
    privacyLineSteps.inc({ step: 'consent_withdrawn' });
  }

  /** Cancels the verified caller's pending deletion request; false when there is none (or the worker has started it). */
  async cancel(caller: PrivacyCaller): Promise<boolean> {
    const ds = await this.db();
    const id = await cancelPendingDeletion(ds, caller.pseudonym, this.clock.now(), this.appender(ds), { callSid: caller.callSid });
    if (!id) return false;
    await this.jobs.cancelDeletionRequest(id);
    privacyLineSteps.inc({ step: 'deletion_cancelled' });
    return true;
  }

  /** No code for this call: audited under the CallSid, with why (the lock's end, or the cap that is full). */
  private async refused(ds: DataSource, callSid: string, detail: { blockedUntil: string } | { cap: SmsCap }): Promise<SendCodeResult> {
    privacyLineSteps.inc({ step: 'code_refused' });
    await this.audit(ds, { action: 'privacy.code_refused', targetType: 'privacy_call', targetId: callSid, detail });
    return 'refused';
  }

  /** Tells the supervisors (through every gateway) that a cap was reached: which cap, never which number. Best effort. */
  private async capReached(callSid: string, cap: SmsCap): Promise<void> {
    this.logger.warn({ msg: 'privacy line SMS cap reached: verification codes refused until the window moves on', cap, callSid });
    const message: AlertMessage = { type: 'sms_cap', alert: { cap, at: this.clock.now().toISOString() } };
    try {
      await withTimeout(this.redis.publish(alertsChannel(this.redis.options.db), JSON.stringify(message)), 2000);
    } catch (e) {
      this.logger.warn({ msg: 'SMS cap alert not published', cap, error: (e as Error).name });
    }
  }

  private verification(ds: DataSource): PrivacyVerification {
    return new PrivacyVerification(ds, pseudonymKey(this.env), this.clock);
  }

  private db(): Promise<DataSource> {
    return this.records();
  }

  private appender(ds: DataSource): AuditAppend {
    const audit = new AuditService(ds);
    return (input, m) => audit.append(input, m);
  }

  private audit(ds: DataSource, input: AuditInput): Promise<number> {
    return new AuditService(ds).append({ actorRole: 'caller', ...input });
  }

  private async auditQuietly(input: AuditInput): Promise<void> {
    try {
      await this.audit(await this.db(), input);
    } catch (e) {
      this.logger.warn({ msg: 'privacy line step not audited', action: input.action, error: (e as Error).name });
    }
  }
}
