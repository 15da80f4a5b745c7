import { OverflowChoice, OverflowReason, RoutingConfig, Wording } from '@hotline/config';
import { VoiceResponse } from '@hotline/twilio';
import { RECORDING_STATUS_PATH } from '../twiml/twiml';
import { clientNoun } from '../twiml/voice-legs';
import type { VoiceLeg } from '../twiml/voice-legs';
export { QUEUE_LEFT_PATH } from '../twiml/twiml';

export const OVERFLOW_CHOICE_PATH = '/twilio/voice/overflow/choice';
export const CALLBACK_CONSENT_PATH = '/twilio/voice/overflow/callback-consent';
export const VOICEMAIL_CONSENT_PATH = '/twilio/voice/overflow/voicemail-consent';
export const VOICEMAIL_DONE_PATH = '/twilio/voice/overflow/voicemail-done';
/** An outbound callback was answered: the TwiML that puts the operator's browser on it. */
export const CALLBACK_ANSWERED_PATH = '/twilio/voice/callback/answered';
/** An outbound callback ended: how (no-answer, busy, completed...). */
export const CALLBACK_STATUS_PATH = '/twilio/voice/callback/status';
/** The backup line's `<Dial action>`: how the dial ended (DialCallStatus). */
export const BACKUP_DIALLED_PATH = '/twilio/voice/overflow/backup-dialled';

/** What an answering machine left a callback hears (`callbacks.onMachine: message`): its wording entry. */
const MACHINE_WORDING = 'callbackMachine';

/** What a caller who may not be called back on their number hears (issue 24): its wording entry, optional. */
const REFUSED_WORDING = 'callbackRefused';

/** One letter per choice, so the offered order travels in the Gather's URL (no Redis needed to read a key press). */
export const CHOICE_CODES: Record<OverflowChoice, string> = { keep_waiting: 'k', callback: 'c', voicemail: 'v', backup_line: 'b' };
export const CODE_CHOICES: Record<string, OverflowChoice> = Object.fromEntries(
  Object.entries(CHOICE_CODES).map(([c, k]) => [k, c as OverflowChoice]),
);

const REASON_WORDS: Record<OverflowReason, 'closed' | 'nobodyAvailable' | 'maxWait'> = {
  closed: 'closed',
  nobody_available: 'nobodyAvailable',
  max_wait: 'maxWait',
};

/** The caller's TwiML for overflow: the choices, the consents, voicemail, the backup line, and callbacks' legs. */
export class OverflowTwiml {
  private readonly base: string;

  constructor(
    publicUrl: string,
    private readonly w: Wording,
    private readonly cfg: RoutingConfig,
  ) {
    this.base = publicUrl.replace(/\/$/, '');
    if (cfg.callbacks.onMachine === 'message' && !this.machineWords())
      throw new Error(`callbacks.onMachine is message (routing file), but the wording file has no overflow.${MACHINE_WORDING} to say`);
  }

  private machineWords(): string | undefined {
    const text = (this.w.overflow as Record<string, string | undefined>)[MACHINE_WORDING];
    return typeof text === 'string' && text.trim() ? text : undefined;
  }

  url(path: string, query: Record<string, string | number> = {}): string {
    const q = new URLSearchParams(Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)]))).toString();
    return this.base + path + (q ? `?${q}` : '');
  }

  private say(r: { say: VoiceResponse['say'] }, text: string): void {
    r.say({ voice: this.w.voice as any, language: this.w.language as any }, text);
  }

  /** The choices, in the configured order, keys 1, 2, 3... (played inside the queue's wait music). */
  offer(reason: OverflowReason, choices: OverflowChoice[], query: Record<string, string | number>): string {
    const r = new VoiceResponse();
    this.say(r, this.w.overflow[REASON_WORDS[reason]]);
    const g = r.gather({
      input: ['dtmf'],
      numDigits: 1,
      timeout: 8,
      method: 'POST',
      action: this.url(OVERFLOW_CHOICE_PATH, { ...query, o: choices.map((c) => CHOICE_CODES[c]).join('') }),
    });
    choices.forEach((c, i) => this.say(g, this.w.overflow[c].replace('{key}', String(i + 1))));
    return r.toString();
  }

  /** A consent question (callback or voicemail): 1 agrees, anything else goes back to waiting. */
  consent(kind: 'callback' | 'voicemail', query: Record<string, string | number>): string {
    const r = new VoiceResponse();
    const g = r.gather({
      input: ['dtmf'],
      numDigits: 1,
      timeout: 8,
      method: 'POST',
      action: this.url(kind === 'callback' ? CALLBACK_CONSENT_PATH : VOICEMAIL_CONSENT_PATH, query),
    });
    this.say(g, kind === 'callback' ? this.w.overflow.callbackConsent : this.w.overflow.voicemailConsent);
    return r.toString();
  }

  /**
   * Words, then back to the wait music (still in the queue). `callbackRefused` (issue 24: a number we
   * cannot call back, or a cap reached) is the wording's `overflow.callbackRefused`; a wording file
   * without it says `notConsented` (nothing has been kept), which is as true.
   */
  words(key: 'keepWaiting' | 'notConsented' | 'callbackWithheld' | 'callbackRefused'): string {
    const r = new VoiceResponse();
    const refused = (this.w.overflow as Record<string, string | undefined>)[REFUSED_WORDING];
    this.say(r, key === 'callbackRefused' ? (refused?.trim() ? refused : this.w.overflow.notConsented) : this.w.overflow[key]);
    return r.toString();
  }

  /** Out of the queue: Twilio then asks the `<Enqueue action>` (QUEUE_LEFT_PATH). */
  static leave(): string {
    const r = new VoiceResponse();
    r.leave();
    return r.toString();
  }

  callbackBooked(): string {
    const r = new VoiceResponse();
    this.say(r, this.w.overflow.callbackBooked);
    r.hangup();
    return r.toString();
  }

  /** The voice message, recorded only after the caller agreed; it is a recording of the call like any other. */
  voicemail(callId: string): string {
    const r = new VoiceResponse();
    this.say(r, this.w.overflow.voicemailRecord);
    r.record({
      maxLength: 180,
      playBeep: true,
      finishOnKey: '#',
      action: this.url(VOICEMAIL_DONE_PATH, { c: callId }),
      method: 'POST',
      recordingStatusCallback: this.url(RECORDING_STATUS_PATH),
      recordingStatusCallbackMethod: 'POST',
    });
    return r.toString();
  }

  voicemailThanks(): string {
    const r = new VoiceResponse();
    this.say(r, this.w.overflow.voicemailThanks);
    r.hangup();
    return r.toString();
  }

  /**
   * The backup line. Twilio goes on to the verb after a `<Dial>` however the dial ended, so nothing
   * follows it here: its action (BACKUP_DIALLED_PATH) says what comes next, by how it ended.
   */
  backupLine(): string {
    const r = new VoiceResponse();
    this.say(r, this.w.overflow.transferring);
    r.dial({ timeout: 30, action: this.url(BACKUP_DIALLED_PATH), method: 'POST' }, this.cfg.backupLine!);
    return r.toString();
  }

  /** The backup line's dial ended: answered (and over), the call ends without another word; otherwise the caller is told. */
  backupLineEnded(answered: boolean): string {
    if (!answered) return this.unavailable();
    const r = new VoiceResponse();
    r.hangup();
    return r.toString();
  }

  unavailable(): string {
    const r = new VoiceResponse();
    this.say(r, this.w.unavailable);
    r.hangup();
    return r.toString();
  }

  /**
   * An answering machine (or fax) took our callback: nothing is left on it, unless the routing file
   * says `callbacks.onMachine: message` (then the wording's neutral words, after its greeting).
   */
  callbackOnMachine(): string {
    const r = new VoiceResponse();
    const words = this.cfg.callbacks.onMachine === 'message' ? this.machineWords() : undefined;
    if (words) this.say(r, words);
    r.hangup();
    return r.toString();
  }

  /** The callee answered our callback: their leg is put through to the operator's browser (direct dial). */
  callbackToOperator(leg: VoiceLeg): string {
    const r = new VoiceResponse();
    clientNoun(r.dial({ timeout: 20 }), leg);
    return r.toString();
  }
}
