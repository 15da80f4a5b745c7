import { CheckContext, TwilioCheckLine } from './twilio-check-context';
import { HTTP_TIMEOUT_MS, networkProblem, showUrl, statusOf } from './twilio-check-format';
import { createTwilioClient, twilioLibrary } from './twilio-client';

/** Step 5 of `twilio:check`: PUBLIC_URL reaches this gateway and it checks Twilio's signatures, with the auth token and the secondary one. */

/** Made up: no call has this SID, so the gateway only notes a non-final status and changes nothing. */
const PROBE_CALL_SID = 'CA' + '0'.repeat(32);

// 5. The signature round trip: PUBLIC_URL reaches this gateway, and it holds this auth token.
export async function checkSignatures(ctx: CheckContext): Promise<void> {
  const token = ctx.env.TWILIO_AUTH_TOKEN;
  if (!token) {
    ctx.add('signature', 'skip', 'no signed request sent to PUBLIC_URL: TWILIO_AUTH_TOKEN is not set');
    return;
  }
  const first = await signedPost(ctx, token);
  if (first.kind === 'error') {
    ctx.add('signature', 'FAIL', first.message);
    return;
  }
  if (first.status !== 200) {
    ctx.add('signature', 'FAIL', refusal(ctx, first, 'TWILIO_AUTH_TOKEN'));
    return;
  }
  const forged = await signedPost(ctx, token, true);
  if (forged.kind === 'error') ctx.add('signature', 'FAIL', forged.message);
  else if (forged.status !== 403)
    ctx.add(
      'signature',
      'FAIL',
      `${ctx.shown('status')} accepted a request with a wrong signature (${forged.status}): whatever answers at PUBLIC_URL does not check Twilio's signatures, so it is not this gateway`,
    );
  else
    ctx.add(
      'signature',
      'ok',
      `PUBLIC_URL reaches the gateway and it checks Twilio's signatures with TWILIO_AUTH_TOKEN: a status callback for a made-up call signed as Twilio signs it got 200, the same with a wrong signature 403`,
    );
}

/**
 * During an auth token rotation (TWILIO_AUTH_TOKEN_SECONDARY, docs/configuration.md): the gateway must accept
 * signatures made with it. Twilio accepts it for REST while it is the account's secondary token;
 * after the promotion it is the old token, kept in the gateway for a few minutes, which Twilio
 * no longer accepts: a warning, not a failure.
 */
export async function checkSecondaryToken(ctx: CheckContext): Promise<void> {
  const secondary = ctx.env.TWILIO_AUTH_TOKEN_SECONDARY;
  const sid = ctx.env.TWILIO_ACCOUNT_SID;
  if (!secondary) return;
  let atTwilio: TwilioCheckLine | null = null;
  if (sid)
    try {
      await createTwilioClient({ accountSid: sid, authToken: secondary, apiUrl: ctx.env.TWILIO_API_URL }).api.v2010.accounts(sid).fetch();
    } catch (e) {
      atTwilio =
        statusOf(e) === 401
          ? {
              check: 'secondary-token',
              level: 'warn',
              message:
                'TWILIO_AUTH_TOKEN_SECONDARY is not accepted by Twilio (401): right for the few minutes after a promotion, when it holds the old token; otherwise it is no token of this account: clear it and restart the gateway',
            }
          : {
              check: 'secondary-token',
              level: 'FAIL',
              message: `could not try TWILIO_AUTH_TOKEN_SECONDARY at Twilio: ${ctx.restProblem(e)}`,
            };
    }
  const r = await signedPost(ctx, secondary);
  if (r.kind === 'error') ctx.add('secondary-token', 'FAIL', r.message);
  else if (r.status !== 200) ctx.add('secondary-token', 'FAIL', refusal(ctx, r, 'TWILIO_AUTH_TOKEN_SECONDARY'));
  else if (!atTwilio)
    ctx.add(
      'secondary-token',
      'ok',
      sid
        ? 'TWILIO_AUTH_TOKEN_SECONDARY is accepted by Twilio, and the gateway accepts signatures made with it (200)'
        : 'the gateway accepts signatures made with TWILIO_AUTH_TOKEN_SECONDARY (200); not tried at Twilio: TWILIO_ACCOUNT_SID is not set',
    );
  if (atTwilio) ctx.lines.push(atTwilio);
}

function refusal(ctx: CheckContext, r: { status: number; location?: string }, variable: string): string {
  const url = ctx.shown('status');
  if (r.status === 403)
    return `the gateway at PUBLIC_URL refused a request signed with ${variable} (403): the gateway holds ${variable === 'TWILIO_AUTH_TOKEN' ? 'another TWILIO_AUTH_TOKEN' : 'no such token (restart it with this environment)'}, or its PUBLIC_URL is not ${showUrl(ctx.base)} (signatures are computed over it)`;
  if (r.status >= 300 && r.status < 400)
    return `${url} answered ${r.status}, a redirect${r.location ? ` to ${showUrl(r.location)}` : ''}: Twilio signs the address it was given, so set PUBLIC_URL (and the numbers' URLs) to the final address`;
  if (r.status === 404)
    return `${url} answered 404: what answers at PUBLIC_URL is not the gateway, or a proxy in front of it does not pass /twilio/`;
  return `${url} answered ${r.status} to a request signed with ${variable} (expected 200): see the gateway's log`;
}

/** One status callback for PROBE_CALL_SID, signed with `token` (or wrongly), POSTed to PUBLIC_URL. */
async function signedPost(
  ctx: CheckContext,
  token: string,
  forge = false,
): Promise<{ kind: 'answer'; status: number; location?: string } | { kind: 'error'; message: string }> {
  const url = ctx.url('status');
  const params: Record<string, string> = {
    AccountSid: ctx.env.TWILIO_ACCOUNT_SID ?? '',
    ApiVersion: '2010-04-01',
    CallSid: PROBE_CALL_SID,
    CallStatus: 'ringing',
    Direction: 'inbound',
  };
  const good = twilioLibrary.getExpectedTwilioSignature(token, url, params);
  // A wrong signature of the right shape: the good one with its first character changed.
  const signature = forge ? (good[0] === 'A' ? 'B' : 'A') + good.slice(1) : good;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Twilio-Signature': signature,
        'User-Agent': 'hotline-twilio-check',
      },
      body: new URLSearchParams(params).toString(),
      redirect: 'manual',
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    await res.arrayBuffer().catch(() => undefined);
    return { kind: 'answer', status: res.status, location: res.headers.get('location') ?? undefined };
  } catch (e) {
    return { kind: 'error', message: `PUBLIC_URL ${showUrl(ctx.base)} did not answer: ${networkProblem(e)}` };
  }
}
