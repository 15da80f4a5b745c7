import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { AuditInput, AuditService } from '@hotline/audit';
import { Clock } from '@hotline/clock';
import { ENV, Env, RETENTION_CONFIG, RetentionConfig, durationMs, pseudonymKey } from '@hotline/config';
import { CONTACT_PUBLIC_KEY_REDIS_KEY, sealContact } from '@hotline/crypto/contact-seal';
import { PseudonymService, normaliseE164 } from '@hotline/crypto/pseudonym';
import { REDIS, counter, withTimeout } from '@hotline/observability';
import {
  AuditAppend,
  PrivacyVerification,
  SMS_STATUS_PATH,
  callerSummary,
  cancelPendingDeletion,
  codeSms,
  openDeletionRequest,
  recordSentSms,
  requestDeletion,
  withdrawRecordingConsent,
} from '@hotline/privacy';
import { TwilioService } from '@hotline/twilio';
import { RecordsDb } from '../records-db';
import { PrivacyJobs } from '@hotline/jobs';
import { PrivacyIntent, PrivacySession, PrivacySessions } from './privacy-session';
import { PrivacyTwiml, spokenDuration } from './privacy-twiml';

export type TwilioParams = Record<string, string | string[] | undefined>;

const DB_MS = 5000;
const CALL_SID = /^CA[0-9a-fA-F]{32}$/;
const INTENTS: Record<string, PrivacyIntent> = { '1': 'delete', '2': 'withdraw', '3': 'cancel' };

const steps = counter('hotline_privacy_line_total', 'Privacy line steps', ['step']);

function str(v: string | string[] | undefined): string {
  return typeof v === 'string' ? v : Array.isArray(v) ? (v[0] ?? '') : '';
}

/** Thrown when a step cannot go on (unknown call, number changed, state lost): the caller is told to call again. */
class PrivacyLineStop extends Error {
  constructor(why: string) {
    super(why);
    this.name = 'PrivacyLineStop';
  }
}

/**
 * The privacy line: a caller deletes their records, withdraws consent to recording, or cancels a
 * deletion, from the phone they call from. Nothing takes effect until the caller has entered the
 * code sent by SMS to that number, so nobody can act for someone else's number (a spoofed caller
 * ID does not receive the SMS). The number is used only to send that SMS, and sealed for the
 * closing SMS; everything kept is keyed by the pseudonym. Log lines carry CallSids and ids only.
 */
@Injectable()
export class PrivacyLineService {
  private readonly logger = new Logger(PrivacyLineService.name);
  private readonly graceMs: number;
  private readonly statusCallback: string;

  constructor(
    @Inject(ENV) private readonly env: Env,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly pseudonyms: PseudonymService,
    private readonly records: RecordsDb,
    private readonly twilio: TwilioService,
    private readonly sessions: PrivacySessions,
    private readonly jobs: PrivacyJobs,
    private readonly twiml: PrivacyTwiml,
    @Inject(RETENTION_CONFIG) retention: RetentionConfig,
    private readonly clock: Clock,
  ) {
    this.graceMs = durationMs(retention.deletionGrace);
    this.statusCallback = env.PUBLIC_URL.replace(/\/$/, '') + SMS_STATUS_PATH;
  }

  /** Any step: a failure the caller cannot fix ends the call politely, and changes nothing more. */
  async step(name: string, params: TwilioParams, fn: (callSid: string) => Promise<string>): Promise<string> {
    const callSid = str(params.CallSid);
    try {
      if (!CALL_SID.test(callSid)) throw new PrivacyLineStop('no valid CallSid');
      return await fn(callSid);
    } catch (e) {
      steps.inc({ step: 'unavailable' });
      const err = e as Error;
      this.logger.warn({
        msg: 'privacy line step failed; the caller is asked to call again',
        step: name,
        callSid,
        error: err.name,
        ...(err instanceof PrivacyLineStop ? { why: err.message } : {}),
      });
      return this.twiml.end('unavailable');
    }
  }

  /** The line answers: a withheld number is told how else to ask; anyone else hears the menu. */
  async answer(params: TwilioParams): Promise<string> {
    return this.step('answer', params, async (callSid) => {
      const pseudonym = this.pseudonyms.of(str(params.From));
      if (!pseudonym) {
        steps.inc({ step: 'withheld' });
        await this.auditQuietly({ action: 'privacy.withheld_number', targetType: 'privacy_call', targetId: callSid, detail: {} });
        return this.twiml.end('withheld');
      }
      steps.inc({ step: 'answered' });
      await this.sessions.save(callSid, { pseudonym });
      return this.twiml.menu(0);
    });
  }

  /** 1 delete, 2 withdraw consent, 3 cancel; no answer repeats the menu once. */
  async choice(query: TwilioParams, params: TwilioParams): Promise<string> {
    return this.step('choice', params, async (callSid) => {
      const session = await this.session(callSid, params);
      const intent = INTENTS[str(params.Digits)];
      if (!intent) return str(query.n) ? this.twiml.end('goodbye') : this.twiml.menu(1);
      session.intent = intent;
      session.verified = false;
      await this.sessions.save(callSid, session);
      return this.sendCode(callSid, session, params);
    });
  }

  /** After an expired code: 1 sends a new one. */
  async resend(params: TwilioParams): Promise<string> {
    return this.step('resend', params, async (callSid) => {
      const session = await this.session(callSid, params);
      if (str(params.Digits) !== '1' || !session.intent) return this.twiml.end('goodbye');
      return this.sendCode(callSid, session, params);
    });
  }

  async code(query: TwilioParams, params: TwilioParams): Promise<string> {
    return this.step('code', params, async (callSid) => {
      const session = await this.session(callSid, params);
      if (!session.intent) throw new PrivacyLineStop('code without a choice');
      const entered = str(params.Digits);
      if (!entered) return str(query.n) ? this.twiml.end('goodbye') : this.twiml.askCode([], 1);
      const ds = await this.db();
      const { result, attemptsLeft } = await this.verification(ds).verify(session.pseudonym, entered);
      steps.inc({ step: `code_${result}` });
      switch (result) {
        case 'ok':
          await this.audit(ds, {
            action: 'privacy.verified',
            targetType: 'privacy_call',
            targetId: callSid,
            detail: { intent: session.intent, by: 'sms_code' },
          });
          session.verified = true;
          await this.sessions.save(callSid, session);
          return this.act(callSid, session, ds);
        case 'wrong':
          await this.audit(ds, { action: 'privacy.code_wrong', targetType: 'privacy_call', targetId: callSid, detail: { attemptsLeft } });
          return this.twiml.askCode(['codeWrong'], 1);
        case 'locked':
          await this.audit(ds, { action: 'privacy.locked', targetType: 'privacy_call', targetId: callSid, detail: { hours: 1 } });
          await this.sessions.end(callSid);
          return this.twiml.end('locked');
        default:
          await this.audit(ds, { action: 'privacy.code_expired', targetType: 'privacy_call', targetId: callSid, detail: { result } });
          return this.twiml.offerNewCode();
      }
    });
  }

  /** 1 confirms the deletion the caller has just heard the counts of. */
  async confirm(params: TwilioParams): Promise<string> {
    return this.step('confirm', params, async (callSid) => {
      const session = await this.session(callSid, params);
      if (!session.verified || session.intent !== 'delete') throw new PrivacyLineStop('confirmation without verification');
      await this.sessions.end(callSid);
      if (str(params.Digits) !== '1') {
        steps.inc({ step: 'not_confirmed' });
        return this.twiml.end('notConfirmed', 'goodbye');
      }
      const ds = await this.db();
      const summary = await callerSummary(ds, session.pseudonym);
      const publicKey = await withTimeout(this.redis.get(CONTACT_PUBLIC_KEY_REDIS_KEY), 2000).catch(() => null);
      const number = normaliseE164(str(params.From));
      const now = this.clock.now();
      const req = await requestDeletion(ds, {
        pseudonym: session.pseudonym,
        executeAfter: new Date(now.getTime() + this.graceMs),
        summary,
        now,
        sealContact: publicKey && number ? (id) => sealContact(publicKey, number, id) : undefined,
        audit: this.appender(ds),
        via: { callSid },
      });
      if (!req.created) {
        steps.inc({ step: 'deletion_repeated' });
        return this.twiml.end('alreadyRequested', 'goodbye');
      }
      steps.inc({ step: 'deletion_requested' });
      if (!publicKey)
        this.logger.warn({ msg: 'no contact key published by the worker: this request gets no closing SMS', requestId: req.id });
      await this.jobs.deletionRequest(req.id, req.executeAfter);
      return this.twiml.end({ key: 'deletionRequested', vars: { grace: spokenDuration(this.graceMs) } }, 'goodbye');
    });
  }

  /** What a verified caller asked for: deletion is confirmed first; the others take effect now. */
  private async act(callSid: string, session: PrivacySession, ds: DataSource): Promise<string> {
    const via = { callSid };
    switch (session.intent) {
      case 'delete': {
        if (await openDeletionRequest(ds, session.pseudonym)) {
          await this.sessions.end(callSid);
          await this.audit(ds, { action: 'deletion_request.repeated', targetType: 'privacy_call', targetId: callSid, detail: {} });
          steps.inc({ step: 'deletion_repeated' });
          return this.twiml.end('alreadyRequested', 'goodbye');
        }
        const s = await callerSummary(ds, session.pseudonym);
        return this.twiml.askConfirm([{ key: 'summary', vars: { deleted: s.total - s.held, held: s.held } }]);
      }
      case 'withdraw': {
        await this.sessions.end(callSid);
        const r = await withdrawRecordingConsent(ds, session.pseudonym, this.clock.now(), this.appender(ds), via);
        await this.jobs.deleteRecordings(r.callsWithRecordings);
        steps.inc({ step: 'consent_withdrawn' });
        return this.twiml.end('consentWithdrawn', 'goodbye');
      }
      case 'cancel': {
        await this.sessions.end(callSid);
        const id = await cancelPendingDeletion(ds, session.pseudonym, this.clock.now(), this.appender(ds), via);
        if (!id) return this.twiml.end('nothingToCancel', 'goodbye');
        await this.jobs.cancelDeletionRequest(id);
        steps.inc({ step: 'deletion_cancelled' });
        return this.twiml.end('cancelled', 'goodbye');
      }
      default:
        throw new PrivacyLineStop('no intent');
    }
  }

  /** A fresh code by SMS to the number the caller rings from; the SMS says that and nothing else. */
  private async sendCode(callSid: string, session: PrivacySession, params: TwilioParams): Promise<string> {
    const ds = await this.db();
    const issued = await this.verification(ds).issue(session.pseudonym);
    if (!issued.ok) {
      steps.inc({ step: 'code_refused' });
      await this.audit(ds, {
        action: 'privacy.code_refused',
        targetType: 'privacy_call',
        targetId: callSid,
        detail: { blockedUntil: issued.blockedUntil.toISOString() },
      });
      await this.sessions.end(callSid);
      return this.twiml.end('blocked');
    }
    const to = normaliseE164(str(params.From));
    if (!to) throw new PrivacyLineStop('number withheld after the menu');
    let sid: string;
    try {
      sid = (await this.twilio.sendSms(to, codeSms(issued.code), this.statusCallback)).sid;
    } catch (e) {
      steps.inc({ step: 'code_not_sent' });
      this.logger.warn({ msg: 'verification SMS not sent', callSid, error: (e as Error).name, status: (e as { status?: number }).status });
      await this.audit(ds, {
        action: 'privacy.code_not_sent',
        targetType: 'privacy_call',
        targetId: callSid,
        detail: { intent: session.intent },
      });
      return this.twiml.end('smsFailed');
    }
    await recordSentSms(ds, { sid, purpose: 'code', pseudonym: session.pseudonym, at: this.clock.now() });
    await this.jobs.deleteSms(sid);
    steps.inc({ step: 'code_sent' });
    await this.audit(ds, {
      action: 'privacy.code_sent',
      targetType: 'privacy_call',
      targetId: callSid,
      detail: { intent: session.intent, messageSid: sid },
    });
    return this.twiml.askCode([]);
  }

  /** The call's state, which must belong to the number calling now. */
  private async session(callSid: string, params: TwilioParams): Promise<PrivacySession> {
    const session = await this.sessions.get(callSid);
    if (!session) throw new PrivacyLineStop('no state for this call (expired or never answered)');
    if (this.pseudonyms.of(str(params.From)) !== session.pseudonym) throw new PrivacyLineStop('the calling number changed');
    return session;
  }

  private verification(ds: DataSource): PrivacyVerification {
    return new PrivacyVerification(ds, pseudonymKey(this.env), this.clock);
  }

  private db(): Promise<DataSource> {
    return withTimeout(this.records.get(), DB_MS);
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
