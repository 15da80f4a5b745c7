import { CheckContext, TWILIO_WEBHOOK_PATHS } from './twilio-check-context';
import { hostOf, isPost, maskNumber, originOf, pathOf, shortSid, showUrl, statusOf } from './twilio-check-format';
import { Twilio } from './twilio-client';

/** Step 2 of `twilio:check`: the account's phone numbers, where each sends its calls, and TWILIO_SMS_FROM. */

const NUMBERS_PATH = 'Phone Numbers > Manage > Active numbers';

interface VoiceRoute {
  /** Where Twilio sends the number's calls: its own URLs, a TwiML app's, or a SIP trunk. */
  via: 'number' | 'app' | 'trunk' | 'missing-app';
  appSid?: string;
  trunkSid?: string;
  voiceUrl: string;
  voiceMethod: string;
  statusCallback: string;
  statusCallbackMethod: string;
}

interface NumberRecord {
  phoneNumber: string;
  capabilities: { voice?: boolean; sms?: boolean };
  route: VoiceRoute;
}

// 2. The phone numbers: GET /2010-04-01/Accounts/{AC}/IncomingPhoneNumbers.json (every page)
export async function checkNumbers(ctx: CheckContext, rest: Twilio | null): Promise<void> {
  const configured = hotlineNumbers(ctx);
  const smsFrom = ctx.env.TWILIO_SMS_FROM;
  if (!smsFrom)
    ctx.add(
      'sms-from',
      'warn',
      'TWILIO_SMS_FROM is not set: the privacy line cannot send verification codes, so deletion by phone cannot be confirmed',
    );
  if (!rest) {
    ctx.add('numbers', 'skip', 'phone numbers not read: the account could not be read (see credentials)');
    return;
  }
  let records: NumberRecord[];
  try {
    records = await readNumbers(rest);
  } catch (e) {
    ctx.add('numbers', 'FAIL', `could not list the account's phone numbers: ${ctx.restProblem(e)}`);
    return;
  }
  const byNumber = new Map(records.map((r) => [r.phoneNumber, r]));
  let hotlines = 0;
  for (const { number, source } of configured) {
    const r = byNumber.get(number);
    hotlines++;
    if (!r)
      ctx.add(
        'hotline-number',
        'FAIL',
        `hotline number ${maskNumber(number)} (${source}) is not a number of account ${shortSid(ctx.env.TWILIO_ACCOUNT_SID!)}: callers cannot reach it there and callbacks cannot be placed from it; buy or port it into this account, or correct ${source}`,
      );
    else checkHotline(ctx, r, source);
  }
  const others = checkOtherNumbers(ctx, records, new Set(configured.map((c) => c.number)));
  if (!hotlines && !others.hotlines)
    ctx.add(
      'hotline-number',
      'FAIL',
      `no number of the account sends its calls to ${ctx.shown('incoming')}, and ${ctx.env.ROUTING_CONFIG} names no hotlineNumber: callers cannot reach the hotline (Twilio console: ${NUMBERS_PATH} > a number > Voice configuration)`,
    );
  if (!others.privacyLines)
    ctx.add(
      'privacy-line',
      'ok',
      `no number sends its calls to ${ctx.shown('privacy')} (no separate privacy line; callers reach it with 9 in the hotline's first menu)`,
    );
  if (others.unused)
    ctx.add('other-number', 'ok', `${others.unused} other number(s) of the account have no voice URL (not used by the hotline)`);
  if (smsFrom) checkSmsFrom(ctx, byNumber.get(smsFrom), smsFrom);
}

/** The account's numbers the routing file does not name: where each sends its calls (a hotline or privacy line by its URL, or something else). */
function checkOtherNumbers(
  ctx: CheckContext,
  records: NumberRecord[],
  configuredSet: Set<string>,
): { hotlines: number; privacyLines: number; unused: number } {
  const origin = new URL(ctx.base).origin;
  let hotlines = 0;
  let privacyLines = 0;
  let unused = 0;
  for (const r of records) {
    if (configuredSet.has(r.phoneNumber)) continue;
    const url = r.route.voiceUrl;
    if (r.route.via === 'missing-app')
      ctx.add(
        'other-number',
        'warn',
        `number ${maskNumber(r.phoneNumber)} sends its calls to TwiML app ${shortSid(r.route.appSid!)}, which does not exist`,
      );
    else if (r.route.via === 'trunk')
      ctx.add(
        'other-number',
        'warn',
        `number ${maskNumber(r.phoneNumber)} sends its calls to SIP trunk ${shortSid(r.route.trunkSid!)}: not this gateway`,
      );
    else if (!url) unused++;
    if (r.route.via === 'trunk' || r.route.via === 'missing-app' || !url) continue;
    if (url === ctx.url('incoming')) {
      hotlines++;
      checkHotline(ctx, r, 'by its voice URL');
    } else if (url === ctx.url('privacy')) {
      privacyLines++;
      checkPrivacyLine(ctx, r);
    } else if (originOf(url) === origin)
      ctx.add(
        'other-number',
        'warn',
        `number ${maskNumber(r.phoneNumber)} sends its calls to this gateway at ${pathOf(url)}, which is neither ${TWILIO_WEBHOOK_PATHS.incoming} nor ${TWILIO_WEBHOOK_PATHS.privacy}${via(r.route)}`,
      );
    else
      ctx.add(
        'other-number',
        'warn',
        `number ${maskNumber(r.phoneNumber)} sends its calls to another host (${hostOf(url)}${pathOf(url)})${via(r.route)}: not this gateway (PUBLIC_URL ${showUrl(ctx.base)})`,
      );
  }
  return { hotlines, privacyLines, unused };
}

/** TWILIO_SMS_FROM: a number of the account that can send SMS. */
function checkSmsFrom(ctx: CheckContext, r: NumberRecord | undefined, smsFrom: string): void {
  if (!r)
    ctx.add(
      'sms-from',
      'FAIL',
      `TWILIO_SMS_FROM ${maskNumber(smsFrom)} is not a number of this account: Twilio refuses to send from it, so verification codes cannot be sent`,
    );
  else if (r.capabilities.sms === false)
    ctx.add(
      'sms-from',
      'FAIL',
      `TWILIO_SMS_FROM ${maskNumber(smsFrom)} cannot send SMS (Twilio: capabilities.sms is false): choose an SMS-capable number`,
    );
  else ctx.add('sms-from', 'ok', `TWILIO_SMS_FROM ${maskNumber(smsFrom)} is a number of this account and can send SMS`);
}

/** The numbers the routing file says callers ring (and callbacks are placed from). */
function hotlineNumbers(ctx: CheckContext): { number: string; source: string }[] {
  const out = new Map<string, string>();
  const file = ctx.env.ROUTING_CONFIG;
  if (ctx.routing.hotlineNumber) out.set(ctx.routing.hotlineNumber, `${file} hotlineNumber`);
  // Where the routing file names centres (issue 20), each centre's numbers are hotline numbers too.
  const centers = (ctx.routing as { centers?: { id?: string; numbers?: string[] }[] }).centers ?? [];
  for (const c of centers) for (const n of c.numbers ?? []) if (!out.has(n)) out.set(n, `${file} centre ${c.id ?? '?'}`);
  return [...out].map(([number, source]) => ({ number, source }));
}

async function readNumbers(rest: Twilio): Promise<NumberRecord[]> {
  const list = await rest.incomingPhoneNumbers.list();
  const apps = new Map<string, Promise<VoiceRoute | null>>();
  const appRoute = (sid: string) => {
    if (!apps.has(sid))
      apps.set(
        sid,
        rest
          .applications(sid)
          .fetch()
          .then((a): VoiceRoute => ({
            via: 'app',
            appSid: sid,
            voiceUrl: a.voiceUrl ?? '',
            voiceMethod: a.voiceMethod ?? '',
            statusCallback: a.statusCallback ?? '',
            statusCallbackMethod: a.statusCallbackMethod ?? '',
          }))
          .catch((e) => {
            if (statusOf(e) === 404) return null;
            throw e;
          }),
      );
    return apps.get(sid)!;
  };
  const out: NumberRecord[] = [];
  for (const n of list) {
    let route: VoiceRoute = {
      via: 'number',
      voiceUrl: n.voiceUrl ?? '',
      voiceMethod: n.voiceMethod ?? '',
      statusCallback: n.statusCallback ?? '',
      statusCallbackMethod: n.statusCallbackMethod ?? '',
    };
    // Twilio sends a number's calls to its SIP trunk, else to its TwiML app's URLs, else to its own.
    if (n.trunkSid) route = { ...route, via: 'trunk', trunkSid: n.trunkSid };
    else if (n.voiceApplicationSid)
      route = (await appRoute(n.voiceApplicationSid)) ?? { ...route, via: 'missing-app', appSid: n.voiceApplicationSid };
    out.push({ phoneNumber: n.phoneNumber, capabilities: (n.capabilities ?? {}) as NumberRecord['capabilities'], route });
  }
  return out;
}

function checkHotline(ctx: CheckContext, r: NumberRecord, source: string): void {
  const where = `hotline number ${maskNumber(r.phoneNumber)} (${source})`;
  const problems: string[] = [];
  const { route } = r;
  if (route.via === 'trunk')
    problems.push(`its calls go to SIP trunk ${shortSid(route.trunkSid!)}, not to a voice URL; remove it from the trunk`);
  else if (route.via === 'missing-app') problems.push(`its calls go to TwiML app ${shortSid(route.appSid!)}, which does not exist`);
  else {
    const inApp = route.via === 'app' ? ` (set in TwiML app ${shortSid(route.appSid!)}, which the number uses)` : '';
    if (route.voiceUrl !== ctx.url('incoming'))
      problems.push(
        `"A call comes in" is ${route.voiceUrl ? showUrl(route.voiceUrl) : 'empty'}${inApp}, expected ${ctx.shown('incoming')}`,
      );
    if (!isPost(route.voiceMethod)) problems.push(`"A call comes in" uses HTTP ${route.voiceMethod}${inApp}, expected HTTP POST`);
    if (route.statusCallback !== ctx.url('status'))
      problems.push(
        `"Call status changes" is ${route.statusCallback ? showUrl(route.statusCallback) : 'empty'}${inApp}, expected ${ctx.shown('status')} (without it a caller who hangs up stays in the queue)`,
      );
    else if (!isPost(route.statusCallbackMethod))
      problems.push(`"Call status changes" uses HTTP ${route.statusCallbackMethod}${inApp}, expected HTTP POST`);
  }
  if (r.capabilities.voice === false) problems.push('it cannot take voice calls (capabilities.voice is false)');
  if (problems.length)
    ctx.add(
      'hotline-number',
      'FAIL',
      `${where}: ${problems.join('; ')} (Twilio console: ${NUMBERS_PATH} > the number > Voice configuration)`,
    );
  else
    ctx.add(
      'hotline-number',
      'ok',
      `${where}: calls come to ${ctx.shown('incoming')} (POST), status changes to ${ctx.shown('status')}${via(route)}`,
    );
}

function checkPrivacyLine(ctx: CheckContext, r: NumberRecord): void {
  const where = `privacy line ${maskNumber(r.phoneNumber)}`;
  if (!isPost(r.route.voiceMethod))
    ctx.add(
      'privacy-line',
      'FAIL',
      `${where}: "A call comes in" uses HTTP ${r.route.voiceMethod}, expected HTTP POST (Twilio console: ${NUMBERS_PATH} > the number > Voice configuration)`,
    );
  else ctx.add('privacy-line', 'ok', `${where}: calls come to ${ctx.shown('privacy')} (POST)${via(r.route)}`);
}

function via(route: VoiceRoute): string {
  return route.via === 'app' ? ` (through TwiML app ${shortSid(route.appSid!)})` : '';
}
