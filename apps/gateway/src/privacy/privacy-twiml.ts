import { Wording } from '@hotline/config';
import { VoiceResponse } from '@hotline/twilio';

export const PRIVACY_CHOICE_PATH = '/twilio/voice/privacy/choice';
export const PRIVACY_CODE_PATH = '/twilio/voice/privacy/code';
export const PRIVACY_CONFIRM_PATH = '/twilio/voice/privacy/confirm';
export const PRIVACY_RESEND_PATH = '/twilio/voice/privacy/resend';

type Say = { key: string; vars?: Record<string, string | number> } | string;

/** How a duration is said to a caller: "1 day", "2 hours", "30 seconds". */
export function spokenDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  for (const [size, name] of units) {
    if (ms >= size) {
      const n = Math.round(ms / size);
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return 'a moment';
}

/**
 * The privacy line's TwiML, in the words of `config/wording.yaml` (`privacy:`). URLs are absolute
 * (PUBLIC_URL + path), as Twilio signs them.
 */
export class PrivacyTwiml {
  private readonly base: string;

  constructor(
    publicUrl: string,
    private readonly w: Wording,
  ) {
    this.base = publicUrl.replace(/\/$/, '');
  }

  url(path: string, query: Record<string, string | number> = {}): string {
    const q = new URLSearchParams(Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)]))).toString();
    return this.base + path + (q ? `?${q}` : '');
  }

  /** A wording entry with `{name}` placeholders filled in. */
  text(key: string, vars: Record<string, string | number> = {}): string {
    const t = this.w.privacy[key];
    if (!t) throw new Error(`wording file: privacy.${key} is missing`);
    return t.replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? ''));
  }

  private say(r: { say: VoiceResponse['say'] }, s: Say): void {
    r.say(
      { voice: this.w.voice as any, language: this.w.language as any },
      typeof s === 'string' ? this.text(s) : this.text(s.key, s.vars),
    );
  }

  /** Says each thing, then asks for `numDigits` keys; no input also goes to `action` (with empty Digits). */
  gather(before: Say[], prompt: Say[], action: string, numDigits: number, timeout: number): string {
    const r = new VoiceResponse();
    for (const s of before) this.say(r, s);
    const g = r.gather({ input: ['dtmf'], numDigits, timeout, action, method: 'POST', actionOnEmptyResult: true });
    for (const s of prompt) this.say(g, s);
    return r.toString();
  }

  menu(attempt: number): string {
    return this.gather([], ['menu'], this.url(PRIVACY_CHOICE_PATH, attempt ? { n: attempt } : {}), 1, 6);
  }

  askCode(before: Say[], attempt = 0): string {
    return this.gather(before, [attempt ? 'codeAgain' : 'codeSent'], this.url(PRIVACY_CODE_PATH, attempt ? { n: attempt } : {}), 6, 15);
  }

  askConfirm(before: Say[]): string {
    return this.gather(before, ['confirm'], this.url(PRIVACY_CONFIRM_PATH), 1, 8);
  }

  offerNewCode(): string {
    return this.gather([], ['codeExpired'], this.url(PRIVACY_RESEND_PATH), 1, 8);
  }

  /** Says each thing, then hangs up. */
  end(...says: Say[]): string {
    const r = new VoiceResponse();
    for (const s of says) this.say(r, s);
    r.hangup();
    return r.toString();
  }
}
