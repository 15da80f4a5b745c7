import { Env, RoutingConfig } from '@hotline/config';
import { TwilioService } from './twilio.service';
import { networkProblem, showUrl } from './twilio-check-format';

export type TwilioCheckLevel = 'ok' | 'warn' | 'FAIL' | 'skip';

export interface TwilioCheckLine {
  /** What was checked: public-url, credentials, hotline-number, privacy-line, sms-from, other-number, twiml-app, api-key, voice-token, signature, ... */
  check: string;
  level: TwilioCheckLevel;
  message: string;
}

export interface TwilioCheckReport {
  /** False when any line is FAIL. */
  ok: boolean;
  counts: Record<TwilioCheckLevel, number>;
  checks: TwilioCheckLine[];
}

/** The gateway's paths Twilio is configured with (docs/operating.md "Running for real with Twilio", step 3). */
export const TWILIO_WEBHOOK_PATHS = {
  incoming: '/twilio/voice/incoming',
  privacy: '/twilio/voice/privacy',
  status: '/twilio/voice/status',
} as const;

/** What every step of the check reads and writes: the settings, the lines so far, the gateway's URLs. */
export class CheckContext {
  readonly lines: TwilioCheckLine[] = [];
  readonly base: string;

  constructor(
    readonly env: Env,
    readonly routing: RoutingConfig,
    readonly twilio: TwilioService,
  ) {
    this.base = env.PUBLIC_URL.replace(/\/$/, '');
  }

  add(check: string, level: TwilioCheckLevel, message: string): void {
    this.lines.push({ check, level, message });
  }

  get usesTwilioItself(): boolean {
    return !this.env.TWILIO_API_URL;
  }

  url(path: keyof typeof TWILIO_WEBHOOK_PATHS): string {
    return this.base + TWILIO_WEBHOOK_PATHS[path];
  }

  /** The URL Twilio must be given for `path`, as printed. */
  shown(path: keyof typeof TWILIO_WEBHOOK_PATHS): string {
    return showUrl(this.url(path));
  }

  restProblem(e: unknown): string {
    const err = e as { status?: number; code?: number | string; message?: string };
    if (typeof err?.status === 'number')
      return `Twilio answered ${err.status}${typeof err.code === 'number' ? ` (error ${err.code})` : ''}`;
    const where = this.env.TWILIO_API_URL ? `TWILIO_API_URL ${showUrl(this.env.TWILIO_API_URL)}` : "Twilio's REST API";
    return `${where} did not answer: ${networkProblem(e)}`;
  }
}
