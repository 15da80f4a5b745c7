import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { TEST_SECRETS } from './test-config';
import { randomSid } from './twilio-peer';
import { TwilioWebhooks, twimlAttr } from './webhooks';

/** Every `<Say>` of a TwiML reply, in order. */
export function said(twiml: string): string {
  return [...twiml.matchAll(/<Say\b[^>]*>([^<]*)<\/Say>/g)]
    .map((m) =>
      m[1]
        .replace(/&apos;/g, "'")
        .replace(/&quot;/g, '"')
        .replace(/&amp;/g, '&'),
    )
    .join(' ');
}

/** One call to the privacy line, played as Twilio would: the same CallSid and From on every step. */
export class PrivacyCall {
  readonly callSid = randomSid('CA');
  twiml = '';

  constructor(
    protected readonly hooks: TwilioWebhooks,
    readonly from: string,
  ) {}

  private params(extra: Record<string, string> = {}): Record<string, string> {
    return {
      AccountSid: TEST_SECRETS.TWILIO_ACCOUNT_SID,
      CallSid: this.callSid,
      From: this.from,
      To: '+15550002222',
      CallStatus: 'in-progress',
      Direction: 'inbound',
      ...extra,
    };
  }

  async answer(path = '/twilio/voice/privacy'): Promise<string> {
    const res = await this.hooks.post(path, this.params());
    expect(res.status).toBe(200);
    return (this.twiml = res.text);
  }

  /** Keys pressed at the current `<Gather>` ('' is no input: Twilio posts the action with empty Digits). */
  async press(digits: string): Promise<string> {
    const action = twimlAttr(this.twiml, 'Gather', 'action');
    if (!action) throw new Error(`no Gather to answer in ${this.twiml}`);
    const res = await this.hooks.post(action, this.params({ Digits: digits }));
    expect(res.status).toBe(200);
    return (this.twiml = res.text);
  }

  get says(): string {
    return said(this.twiml);
  }

  get ended(): boolean {
    return this.twiml.includes('<Hangup/>') && !this.twiml.includes('<Gather');
  }
}

/** A retention file with long policies (nothing expires by itself) and a one-second grace before a deletion is carried out. */
export function shortGraceRetentionFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'hotline-privacy-')), 'retention.yaml');
  writeFileSync(
    file,
    [
      'scanEvery: PT1H',
      'policies:',
      '  default: P90D',
      '  high: P1Y',
      '  imminent: P7Y',
      'recordings: P30D',
      'deletionGrace: PT1S',
      '',
    ].join('\n'),
  );
  return file;
}
