import { Injectable, Logger } from '@nestjs/common';
import { normaliseE164, PseudonymService } from '@hotline/crypto/pseudonym';
import { PrivacyCaller, PrivacyIntent, PrivacyRequests, privacyLineSteps as steps } from '@hotline/privacy';
import { WEBHOOK_BUDGET_MS, answerWithin } from '@hotline/twilio';
import { PrivacySession, PrivacySessions } from './privacy-session';
import { PrivacyTwiml, spokenDuration } from './privacy-twiml';
import { TwilioParams, isCallSid, str } from '../webhooks/twilio-params';
import {
  VoicePrivacyChoiceFields,
  VoicePrivacyCodeFields,
  VoicePrivacyConfirmFields,
  VoicePrivacyFields,
  VoicePrivacyResendFields,
} from '../webhooks/twilio-fields';

/** What Twilio posts to any step of the privacy line. */
type PrivacyLineFields =
  VoicePrivacyFields | VoicePrivacyChoiceFields | VoicePrivacyCodeFields | VoicePrivacyResendFields | VoicePrivacyConfirmFields;

const INTENTS: Record<string, PrivacyIntent> = { '1': 'delete', '2': 'withdraw', '3': 'cancel' };

/** Thrown when a step cannot go on (unknown call, number changed, state lost): the caller is told to call again. */
class PrivacyLineStop extends Error {
  constructor(why: string) {
    super(why);
    this.name = 'PrivacyLineStop';
  }
}

/**
 * The privacy line's phone menu: a caller deletes their records, withdraws consent to recording,
 * or cancels a deletion, from the phone they call from. Nothing takes effect until the caller has
 * entered the code sent by SMS to that number, so nobody can act for someone else's number (a
 * spoofed caller ID does not receive the SMS). This class maps keys pressed and per-call state
 * (by CallSid) to the operations of `PrivacyRequests` (libs/privacy), which do the work, and their
 * outcomes to TwiML. Log lines carry CallSids and ids only.
 */
@Injectable()
export class PrivacyLineService {
  private readonly logger = new Logger(PrivacyLineService.name);

  constructor(
    private readonly pseudonyms: PseudonymService,
    private readonly requests: PrivacyRequests,
    private readonly sessions: PrivacySessions,
    private readonly twiml: PrivacyTwiml,
  ) {}

  /**
   * Any step: a failure the caller cannot fix ends the call politely, and changes nothing more. A
   * step answers within its time budget (WEBHOOK_BUDGET_MS): past it, whatever held it up (the
   * database, Twilio), the caller is asked to call again rather than left to Twilio's application
   * error; the code's SMS has a budget of its own within it (SMS_SEND_BUDGET_MS, then "we could not send").
   */
  async step(name: string, params: PrivacyLineFields, fn: (callSid: string) => Promise<string>): Promise<string> {
    const callSid = str(params.CallSid);
    return answerWithin(this.run(name, callSid, fn), WEBHOOK_BUDGET_MS, () => {
      steps.inc({ step: 'over_budget' });
      this.logger.warn({ msg: 'privacy line step over its time budget; the caller is asked to call again', step: name, callSid });
      return this.twiml.end('unavailable');
    });
  }

  private async run(name: string, callSid: string, fn: (callSid: string) => Promise<string>): Promise<string> {
    try {
      if (!isCallSid(callSid)) throw new PrivacyLineStop('no valid CallSid');
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
  async answer(params: VoicePrivacyFields): Promise<string> {
    return this.step('answer', params, async (callSid) => {
      const pseudonym = this.pseudonyms.of(str(params.From));
      if (!pseudonym) {
        steps.inc({ step: 'withheld' });
        await this.requests.withheld(callSid);
        return this.twiml.end('withheld');
      }
      steps.inc({ step: 'answered' });
      await this.sessions.save(callSid, { pseudonym });
      return this.twiml.menu(0);
    });
  }

  /** 1 delete, 2 withdraw consent, 3 cancel; no answer repeats the menu once. */
  async choice(query: TwilioParams, params: VoicePrivacyChoiceFields): Promise<string> {
    return this.step('choice', params, async (callSid) => {
      const session = await this.session(callSid, params);
      const intent = INTENTS[str(params.Digits)];
      if (!intent) return str(query.n) ? this.twiml.end('goodbye') : this.twiml.menu(1);
      session.intent = intent;
      session.verified = false;
      await this.sessions.save(callSid, session);
      return this.sendCode(callSid, session, intent, params);
    });
  }

  /** After an expired code: 1 sends a new one. */
  async resend(params: VoicePrivacyResendFields): Promise<string> {
    return this.step('resend', params, async (callSid) => {
      const session = await this.session(callSid, params);
      if (str(params.Digits) !== '1' || !session.intent) return this.twiml.end('goodbye');
      return this.sendCode(callSid, session, session.intent, params);
    });
  }

  async code(query: TwilioParams, params: VoicePrivacyCodeFields): Promise<string> {
    return this.step('code', params, async (callSid) => {
      const session = await this.session(callSid, params);
      const intent = session.intent;
      if (!intent) throw new PrivacyLineStop('code without a choice');
      const entered = str(params.Digits);
      if (!entered) return str(query.n) ? this.twiml.end('goodbye') : this.twiml.askCode([], 1);
      switch (await this.requests.verifyCode(this.caller(callSid, session), entered, intent)) {
        case 'ok':
          session.verified = true;
          await this.sessions.save(callSid, session);
          return this.act(callSid, session, intent);
        case 'wrong':
          return this.twiml.askCode(['codeWrong'], 1);
        case 'locked':
          await this.sessions.end(callSid);
          return this.twiml.end('locked');
        default:
          return this.twiml.offerNewCode();
      }
    });
  }

  /** 1 confirms the deletion the caller has just heard the counts of. */
  async confirm(params: VoicePrivacyConfirmFields): Promise<string> {
    return this.step('confirm', params, async (callSid) => {
      const session = await this.session(callSid, params);
      if (!session.verified || session.intent !== 'delete') throw new PrivacyLineStop('confirmation without verification');
      await this.sessions.end(callSid);
      if (str(params.Digits) !== '1') {
        steps.inc({ step: 'not_confirmed' });
        return this.twiml.end('notConfirmed', 'goodbye');
      }
      const req = await this.requests.requestDeletion(this.caller(callSid, session), normaliseE164(str(params.From)));
      if (!req.created) return this.twiml.end('alreadyRequested', 'goodbye');
      return this.twiml.end({ key: 'deletionRequested', vars: { grace: spokenDuration(this.requests.graceMs) } }, 'goodbye');
    });
  }

  /** What a verified caller asked for: deletion is confirmed first; the others take effect now. */
  private async act(callSid: string, session: PrivacySession, intent: PrivacyIntent): Promise<string> {
    const caller = this.caller(callSid, session);
    switch (intent) {
      case 'delete': {
        if (await this.requests.deletionAlreadyRequested(caller)) {
          await this.sessions.end(callSid);
          return this.twiml.end('alreadyRequested', 'goodbye');
        }
        const s = await this.requests.summary(session.pseudonym);
        return this.twiml.askConfirm([{ key: 'summary', vars: { deleted: s.total - s.held, held: s.held } }]);
      }
      case 'withdraw':
        await this.sessions.end(callSid);
        await this.requests.withdrawConsent(caller);
        return this.twiml.end('consentWithdrawn', 'goodbye');
      case 'cancel':
        await this.sessions.end(callSid);
        return this.twiml.end((await this.requests.cancel(caller)) ? 'cancelled' : 'nothingToCancel', 'goodbye');
      default:
        throw new PrivacyLineStop('no intent');
    }
  }

  /** A fresh code by SMS to the number the caller rings from, then the prompt for it. */
  private async sendCode(callSid: string, session: PrivacySession, intent: PrivacyIntent, params: TwilioParams): Promise<string> {
    const to = normaliseE164(str(params.From));
    if (!to) throw new PrivacyLineStop('number withheld after the menu');
    switch (await this.requests.sendCode(this.caller(callSid, session), to, intent)) {
      case 'sent':
        return this.twiml.askCode([]);
      case 'refused':
        await this.sessions.end(callSid);
        return this.twiml.end('blocked');
      default:
        return this.twiml.end('smsFailed');
    }
  }

  private caller(callSid: string, session: PrivacySession): PrivacyCaller {
    return { callSid, pseudonym: session.pseudonym };
  }

  /** The call's state, which must belong to the number calling now. */
  private async session(callSid: string, params: TwilioParams): Promise<PrivacySession> {
    const session = await this.sessions.get(callSid);
    if (!session) throw new PrivacyLineStop('no state for this call (expired or never answered)');
    if (this.pseudonyms.of(str(params.From)) !== session.pseudonym) throw new PrivacyLineStop('the calling number changed');
    return session;
  }
}
