import { Wording } from '@hotline/config';
import { VoiceResponse } from '@hotline/twilio';
import { VoiceLeg, clientNoun } from './voice-legs';

export const HOTLINE_QUEUE = 'hotline';
export const CONSENT_PATH = '/twilio/voice/consent';
export const WAIT_PATH = '/twilio/voice/wait';
/**
 * The consent questions asked after the recording menu, in this order, each when the wording file
 * has its text; and where each answer goes.
 */
export type ConsentQuestion = 'research' | 'follow_up';
export const CONSENT_QUESTIONS: readonly ConsentQuestion[] = ['research', 'follow_up'];
export const QUESTION_PATH: Record<ConsentQuestion, string> = { research: '/twilio/voice/research', follow_up: '/twilio/voice/follow-up' };
export const PRIVACY_PATH = '/twilio/voice/privacy';
export const RECORDING_STATUS_PATH = '/twilio/recording/status';
export const DIALLED_PATH = '/twilio/voice/dialled';
/** `<Enqueue action>`: Twilio asks it when the caller leaves the queue (`<Leave/>` after an overflow choice). */
export const QUEUE_LEFT_PATH = '/twilio/voice/overflow/left';
/** The operator's leg was answered (Client statusCallback, event `answered`). */
export const ANSWERED_PATH = '/twilio/voice/answered';

/**
 * The caller's TwiML. URLs are absolute (PUBLIC_URL + path) because that is what Twilio signs; the
 * call's own id and times travel in the query, so the flow needs neither Redis nor MySQL to go on.
 */
export class CallTwiml {
  private readonly base: string;
  /** The first menu, built once, in pieces around the call's own query: filled per call. */
  private readonly menuParts: string[];
  private static readonly MARK = 'c=CALLQUERY';

  constructor(
    publicUrl: string,
    private readonly w: Wording,
  ) {
    this.base = publicUrl.replace(/\/$/, '');
    this.menuParts = this.buildMenu(CallTwiml.MARK, true).split(CallTwiml.MARK);
  }

  /** The version of the words the caller hears (stored with their consent). */
  get wordingVersion(): string {
    return this.w.version;
  }

  url(path: string, query: Record<string, string | number> = {}): string {
    const q = new URLSearchParams(Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)]))).toString();
    return this.base + path + (q ? `?${q}` : '');
  }

  private say(r: { say: VoiceResponse['say'] }, text: string): void {
    r.say({ voice: this.w.voice as any, language: this.w.language as any }, text);
  }

  /** Notice, then the menu: 1 consents to recording, 2 or silence declines, 9 the privacy line. */
  menu(callId: string, startedAt: number, withNotice = true, attempt = 0): string {
    // The intake path is the hottest webhook: a uuid and digits need no escaping but the XML '&amp;'.
    if (withNotice && !attempt && /^[0-9a-f-]{36}$/.test(callId)) return this.menuParts.join(`c=${callId}&amp;t=${Math.trunc(startedAt)}`);
    const query = new URLSearchParams({ c: callId, t: String(startedAt), ...(attempt ? { n: String(attempt) } : {}) }).toString();
    return this.buildMenu(query, withNotice);
  }

  private buildMenu(query: string, withNotice: boolean): string {
    const r = new VoiceResponse();
    if (withNotice) this.say(r, this.w.notice);
    const action = `${this.base}${CONSENT_PATH}?${query}`;
    const g = r.gather({ input: ['dtmf'], numDigits: 1, timeout: 6, action, method: 'POST', actionOnEmptyResult: true });
    this.say(g, this.w.menu);
    r.redirect({ method: 'POST' }, action);
    return r.toString();
  }

  /** The consent question asked after `after` (after the recording menu: null), if the wording file has one. */
  nextQuestion(after: ConsentQuestion | null): ConsentQuestion | null {
    const text = { research: this.w.researchQuestion, follow_up: this.w.followUpQuestion };
    return CONSENT_QUESTIONS.slice(after ? CONSENT_QUESTIONS.indexOf(after) + 1 : 0).find((k) => !!text[k]) ?? null;
  }

  /**
   * A consent question (1 yes; anything else or silence no), after the recording answer is
   * acknowledged (`acknowledge`: the first question). Its answer goes to QUESTION_PATH[kind].
   */
  question(kind: ConsentQuestion, callId: string, consent: boolean, enqueuedAt: number, acknowledge: boolean): string {
    const r = new VoiceResponse();
    if (acknowledge) this.say(r, consent ? this.w.consentRecorded : this.w.consentDeclined);
    const action = this.url(QUESTION_PATH[kind], { c: callId, r: consent ? 1 : 0, q: enqueuedAt });
    const g = r.gather({ input: ['dtmf'], numDigits: 1, timeout: 5, action, method: 'POST', actionOnEmptyResult: true });
    this.say(g, (kind === 'research' ? this.w.researchQuestion : this.w.followUpQuestion) ?? '');
    r.redirect({ method: 'POST' }, action);
    return r.toString();
  }

  /** Into the queue; the wait URL carries what is needed to re-register the call in Redis. */
  enqueue(callId: string, consent: boolean, enqueuedAt: number, acknowledge = true): string {
    const r = new VoiceResponse();
    if (acknowledge) this.say(r, consent ? this.w.consentRecorded : this.w.consentDeclined);
    r.enqueue(
      {
        waitUrl: this.url(WAIT_PATH, { c: callId, r: consent ? 1 : 0, q: enqueuedAt }),
        waitUrlMethod: 'POST',
        action: this.url(QUEUE_LEFT_PATH, { c: callId }),
        method: 'POST',
      },
      HOTLINE_QUEUE,
    );
    // Reached only if Twilio's queue itself fails.
    this.say(r, this.w.unavailable);
    return r.toString();
  }

  /** Played while waiting; when it ends Twilio asks the wait URL again. */
  wait(pauseSeconds: number): string {
    const r = new VoiceResponse();
    this.say(r, this.w.wait);
    r.pause({ length: pauseSeconds });
    return r.toString();
  }

  toPrivacyLine(): string {
    const r = new VoiceResponse();
    r.redirect({ method: 'POST' }, this.url(PRIVACY_PATH));
    return r.toString();
  }

  /**
   * The caller to the operator's browser; recorded from answer only when the caller consented.
   * The action URL learns how the dial ended, so a browser that never picks up does not drop the caller.
   */
  connect(callId: string, operatorId: string, record: boolean, leg: VoiceLeg): string {
    const r = new VoiceResponse();
    const dial = r.dial({
      action: this.url(DIALLED_PATH, { c: callId, o: operatorId }),
      method: 'POST',
      timeout: 20,
      ...(record
        ? {
            record: 'record-from-answer-dual' as const,
            recordingStatusCallback: this.url(RECORDING_STATUS_PATH),
            recordingStatusCallbackMethod: 'POST' as const,
          }
        : {}),
    });
    // The record says the operator answered when their leg does, not when Twilio took the update.
    clientNoun(dial, leg, {
      statusCallbackEvent: ['answered'],
      statusCallback: this.url(ANSWERED_PATH, { c: callId, o: operatorId }),
      statusCallbackMethod: 'POST',
    });
    return r.toString();
  }

  /** Back into the queue after a dial nobody answered, keeping the caller's place. */
  requeue(callId: string, consent: boolean, enqueuedAt: number): string {
    const r = new VoiceResponse();
    this.say(r, this.w.wait);
    r.enqueue(
      {
        waitUrl: this.url(WAIT_PATH, { c: callId, r: consent ? 1 : 0, q: enqueuedAt }),
        waitUrlMethod: 'POST',
        action: this.url(QUEUE_LEFT_PATH, { c: callId }),
        method: 'POST',
      },
      HOTLINE_QUEUE,
    );
    this.say(r, this.w.unavailable);
    return r.toString();
  }

  static hangup(): string {
    const r = new VoiceResponse();
    r.hangup();
    return r.toString();
  }

  static empty(): string {
    return new VoiceResponse().toString();
  }
}
