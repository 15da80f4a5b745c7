import { isIP } from 'net';
import { Inject, Injectable } from '@nestjs/common';
import { ENV, Env, ROUTING_CONFIG, RoutingConfig } from '@hotline/config';
import { TwilioService } from './twilio.service';
import { checkApiKey, checkCredentials, checkTwimlApp, checkVoiceToken } from './twilio-check-access';
import { CheckContext, TwilioCheckLevel, TwilioCheckReport } from './twilio-check-context';
import { isLocalAddress, showUrl } from './twilio-check-format';
import { checkNumbers } from './twilio-check-numbers';
import { checkSecondaryToken, checkSignatures } from './twilio-check-signatures';

/**
 * `npm run cli -- twilio:check`: whether a real Twilio account is set up for this gateway, without
 * placing a call. It reads, at Twilio, the account, its phone numbers, the TwiML app and the API key;
 * makes a Voice access token and looks at it; and sends the gateway, at PUBLIC_URL, one status
 * callback signed as Twilio signs it (for a made-up call, which changes nothing) and the same with a
 * wrong signature. Every line names what it read and, when it fails, what to change.
 *
 * Nothing it prints carries a phone number (numbers show as `+…123`), a secret or a token; SIDs are
 * shortened (`AC…cdef`), and URLs read from Twilio lose their credentials and query.
 */

export type { TwilioCheckLevel, TwilioCheckLine, TwilioCheckReport } from './twilio-check-context';
export { TWILIO_WEBHOOK_PATHS } from './twilio-check-context';
export { accessTokenProblems, maskNumber } from './twilio-check-format';

@Injectable()
export class TwilioAccountCheck {
  constructor(
    @Inject(ENV) private readonly env: Env,
    @Inject(ROUTING_CONFIG) private readonly routing: RoutingConfig,
    private readonly twilio: TwilioService,
  ) {}

  /** Every step in order; each adds its lines (a step whose input is missing says so and is skipped). */
  async run(): Promise<TwilioCheckReport> {
    const ctx = new CheckContext(this.env, this.routing, this.twilio);
    checkPublicUrl(ctx);
    const rest = await checkCredentials(ctx);
    await checkNumbers(ctx, rest);
    const appUsable = await checkTwimlApp(ctx, rest);
    const keyUsable = await checkApiKey(ctx, rest);
    checkVoiceToken(ctx, appUsable && keyUsable);
    await checkSignatures(ctx);
    await checkSecondaryToken(ctx);
    const counts: Record<TwilioCheckLevel, number> = { ok: 0, warn: 0, FAIL: 0, skip: 0 };
    for (const l of ctx.lines) counts[l.level]++;
    return { ok: counts.FAIL === 0, counts, checks: [...ctx.lines] };
  }
}

// 0. PUBLIC_URL: an address Twilio can reach.
function checkPublicUrl(ctx: CheckContext): void {
  const u = new URL(ctx.base);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!ctx.usesTwilioItself) {
    ctx.add(
      'public-url',
      'ok',
      `PUBLIC_URL ${showUrl(ctx.base)} (TWILIO_API_URL points at ${new URL(ctx.env.TWILIO_API_URL!).host}, not Twilio itself: a local address is accepted)`,
    );
    return;
  }
  const local = host === 'localhost' || host.endsWith('.localhost') || (isIP(host) > 0 && isLocalAddress(host));
  if (local)
    ctx.add(
      'public-url',
      'FAIL',
      `PUBLIC_URL ${showUrl(ctx.base)} is a loopback or private address, which Twilio cannot reach: set it to the gateway's public HTTPS address`,
    );
  else if (u.protocol !== 'https:')
    ctx.add(
      'public-url',
      'warn',
      `PUBLIC_URL ${showUrl(ctx.base)} is plain http: Twilio's requests (with callers' numbers) would cross the internet unencrypted; use https`,
    );
  else ctx.add('public-url', 'ok', `PUBLIC_URL ${showUrl(ctx.base)}`);
}
