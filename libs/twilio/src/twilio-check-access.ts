import { CheckContext } from './twilio-check-context';
import { accessTokenProblems, describeSid, hostOf, originOf, pathOf, shortSid, showUrl, statusOf } from './twilio-check-format';
import { RebasingRequestClient, Twilio, createTwilioClient, twilioLibrary } from './twilio-client';

/** Steps 1, 3 and 4 of `twilio:check`: the account's credentials, the TwiML app, the API key and a Voice access token. */

// 1. The credentials: GET /2010-04-01/Accounts/{AC}.json
export async function checkCredentials(ctx: CheckContext): Promise<Twilio | null> {
  const { TWILIO_ACCOUNT_SID: sid, TWILIO_AUTH_TOKEN: token } = ctx.env;
  const missing = [!sid && 'TWILIO_ACCOUNT_SID', !token && 'TWILIO_AUTH_TOKEN'].filter(Boolean);
  if (missing.length) {
    ctx.add('credentials', 'FAIL', `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set: nothing at Twilio can be read`);
    return null;
  }
  const rest = createTwilioClient({ accountSid: sid!, authToken: token!, apiUrl: ctx.env.TWILIO_API_URL });
  try {
    const account = await rest.api.v2010.accounts(sid!).fetch();
    const kind = `${account.type ?? 'unknown type'}${account.ownerAccountSid && account.ownerAccountSid !== account.sid ? ', a subaccount' : ''}`;
    if (account.status !== 'active')
      ctx.add(
        'credentials',
        'FAIL',
        `account ${shortSid(sid!)} is ${account.status}: Twilio takes no calls for it (see the Twilio console: Account > General settings, and billing)`,
      );
    else if (account.type === 'Trial')
      ctx.add(
        'credentials',
        'warn',
        `TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN accepted: account ${shortSid(sid!)} is a trial account: callers first hear Twilio's trial notice, and callbacks and SMS reach verified numbers only; upgrade it before going live`,
      );
    else
      ctx.add('credentials', 'ok', `TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN accepted by Twilio: account ${shortSid(sid!)}, active (${kind})`);
    return rest;
  } catch (e) {
    if (statusOf(e) === 401)
      ctx.add(
        'credentials',
        'FAIL',
        'TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN are not accepted by Twilio (401): copy both again from the Twilio console (Account info; the auth token may have been rotated)',
      );
    else ctx.add('credentials', 'FAIL', `could not read account ${shortSid(sid!)} at Twilio: ${ctx.restProblem(e)}`);
    return null;
  }
}

// 3. The TwiML app: GET /2010-04-01/Accounts/{AC}/Applications/{AP}.json
export async function checkTwimlApp(ctx: CheckContext, rest: Twilio | null): Promise<boolean> {
  const sid = ctx.env.TWILIO_TWIML_APP_SID;
  if (!sid) {
    ctx.add(
      'twiml-app',
      'FAIL',
      "TWILIO_TWIML_APP_SID is not set: browser audio cannot work (the console's Voice access token names a TwiML app)",
    );
    return false;
  }
  if (!/^AP[0-9a-f]{32}$/i.test(sid)) {
    ctx.add('twiml-app', 'FAIL', `TWILIO_TWIML_APP_SID must be a TwiML app SID (AP and 32 hex digits); it is ${describeSid(sid)}`);
    return false;
  }
  if (!rest) {
    ctx.add('twiml-app', 'skip', `TwiML app ${shortSid(sid)} not read: the account could not be read (see credentials)`);
    return true;
  }
  try {
    const app = await rest.applications(sid).fetch();
    const url = app.voiceUrl ?? '';
    const origin = new URL(ctx.base).origin;
    if (!url)
      ctx.add(
        'twiml-app',
        'ok',
        `TwiML app ${shortSid(sid)} exists; its voice URL is empty, which is fine: the console only receives calls, it never places one`,
      );
    else if (originOf(url) === origin)
      ctx.add(
        'twiml-app',
        'ok',
        `TwiML app ${shortSid(sid)} exists; its voice URL is this gateway's ${pathOf(url)} (unused: the console places no calls)`,
      );
    else
      ctx.add(
        'twiml-app',
        'warn',
        `TwiML app ${shortSid(sid)} exists, but its voice URL points at another host (${hostOf(url)}): unused, since the console places no calls, but not this gateway; clear it or set it to ${showUrl(ctx.base)}`,
      );
    return true;
  } catch (e) {
    if (statusOf(e) === 404)
      ctx.add(
        'twiml-app',
        'FAIL',
        `TwiML app ${shortSid(sid)} (TWILIO_TWIML_APP_SID) does not exist in account ${shortSid(ctx.env.TWILIO_ACCOUNT_SID!)}: browser audio cannot work; create one (Twilio console: Phone Numbers > Manage > TwiML apps) and set its SID`,
      );
    else ctx.add('twiml-app', 'FAIL', `could not read TwiML app ${shortSid(sid)}: ${ctx.restProblem(e)}`);
    return false;
  }
}

// 4. The API key: GET /2010-04-01/Accounts/{AC}/Keys/{SK}.json, and its secret used once to read.
export async function checkApiKey(ctx: CheckContext, rest: Twilio | null): Promise<boolean> {
  const { TWILIO_API_KEY_SID: sid, TWILIO_API_KEY_SECRET: secret } = ctx.env;
  const missing = [!sid && 'TWILIO_API_KEY_SID', !secret && 'TWILIO_API_KEY_SECRET'].filter(Boolean);
  if (missing.length) {
    ctx.add(
      'api-key',
      'FAIL',
      `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set: browser audio cannot work (no Voice access token can be made)`,
    );
    return false;
  }
  if (!/^SK[0-9a-f]{32}$/i.test(sid!)) {
    ctx.add('api-key', 'FAIL', `TWILIO_API_KEY_SID must be an API key SID (SK and 32 hex digits); it is ${describeSid(sid!)}`);
    return false;
  }
  if (!rest) {
    ctx.add('api-key', 'skip', `API key ${shortSid(sid!)} not read: the account could not be read (see credentials)`);
    return true;
  }
  try {
    await rest.keys(sid!).fetch();
  } catch (e) {
    if (statusOf(e) === 404)
      ctx.add(
        'api-key',
        'FAIL',
        `API key ${shortSid(sid!)} (TWILIO_API_KEY_SID) does not exist in account ${shortSid(ctx.env.TWILIO_ACCOUNT_SID!)} (deleted, or made in another account): browser audio cannot work; create a Standard key (Twilio console: Account > API keys & tokens) and set TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET`,
      );
    else ctx.add('api-key', 'FAIL', `could not read API key ${shortSid(sid!)}: ${ctx.restProblem(e)}`);
    return false;
  }
  // The secret is what signs the access token: Twilio is asked to accept it once, for a harmless read.
  const asKey = twilioLibrary(sid!, secret!, {
    accountSid: ctx.env.TWILIO_ACCOUNT_SID,
    ...(ctx.env.TWILIO_API_URL ? { httpClient: new RebasingRequestClient(ctx.env.TWILIO_API_URL) as any, autoRetry: false } : {}),
  });
  try {
    await asKey.incomingPhoneNumbers.page({ pageSize: 1 });
    ctx.add('api-key', 'ok', `API key ${shortSid(sid!)} exists and Twilio accepts TWILIO_API_KEY_SECRET for it`);
  } catch (e) {
    const status = statusOf(e);
    if (status === 401) {
      ctx.add(
        'api-key',
        'FAIL',
        `API key ${shortSid(sid!)} exists, but Twilio does not accept TWILIO_API_KEY_SECRET for it (401): browsers would be refused their tokens (AccessTokenInvalid); the secret is shown once, when the key is made: make a new key`,
      );
      return false;
    }
    if (status === 403)
      ctx.add(
        'api-key',
        'ok',
        `API key ${shortSid(sid!)} exists and Twilio accepts TWILIO_API_KEY_SECRET for it (a restricted key: 403 on a number list)`,
      );
    else ctx.add('api-key', 'warn', `API key ${shortSid(sid!)} exists; its secret could not be tried: ${ctx.restProblem(e)}`);
  }
  return true;
}

/** 4b. A Voice access token made as the console gets one (TwilioService.voiceToken), looked at here. */
export function checkVoiceToken(ctx: CheckContext, usable: boolean): void {
  if (!usable || !ctx.env.TWILIO_ACCOUNT_SID) {
    ctx.add('voice-token', 'skip', 'no Voice access token made: it needs the account, the API key and the TwiML app above');
    return;
  }
  let jwt: string;
  try {
    jwt = ctx.twilio.voiceToken('twilio-check', 60);
  } catch (e) {
    ctx.add('voice-token', 'FAIL', `no Voice access token could be made: ${(e as Error).message}`);
    return;
  }
  const problems = accessTokenProblems(jwt, {
    keySid: ctx.env.TWILIO_API_KEY_SID!,
    keySecret: ctx.env.TWILIO_API_KEY_SECRET!,
    accountSid: ctx.env.TWILIO_ACCOUNT_SID,
    appSid: ctx.env.TWILIO_TWIML_APP_SID!,
  });
  if (problems.length) ctx.add('voice-token', 'FAIL', `the Voice access token is not what Twilio expects: ${problems.join('; ')}`);
  else
    ctx.add(
      'voice-token',
      'ok',
      `a Voice access token made with API key ${shortSid(ctx.env.TWILIO_API_KEY_SID!)} is a well-formed JWT for it (HS256, account ${shortSid(ctx.env.TWILIO_ACCOUNT_SID)}, voice grant for TwiML app ${shortSid(ctx.env.TWILIO_TWIML_APP_SID!)}, incoming allowed); Twilio itself checks a token only when a browser registers with it: sign in to the console as an operator and look for "Audio: connected"`,
    );
}
