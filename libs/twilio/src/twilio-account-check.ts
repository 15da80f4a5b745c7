import { createHmac } from 'crypto';
import { isIP } from 'net';
import { Inject, Injectable } from '@nestjs/common';
import { DEFAULT_INTERNAL_NETWORKS, ENV, Env, ROUTING_CONFIG, RoutingConfig, networkList } from '@hotline/config';
import { RebasingRequestClient, Twilio, createTwilioClient, twilioLibrary } from './twilio-client';
import { TwilioService } from './twilio.service';

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

/** How long the gateway at PUBLIC_URL has to answer each request. */
const HTTP_TIMEOUT_MS = 10_000;
/** Made up: no call has this SID, so the gateway only notes a non-final status and changes nothing. */
const PROBE_CALL_SID = 'CA' + '0'.repeat(32);

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

@Injectable()
export class TwilioAccountCheck {
  private readonly lines: TwilioCheckLine[] = [];
  private readonly base: string;

  constructor(
    @Inject(ENV) private readonly env: Env,
    @Inject(ROUTING_CONFIG) private readonly routing: RoutingConfig,
    private readonly twilio: TwilioService,
  ) {
    this.base = env.PUBLIC_URL.replace(/\/$/, '');
  }

  async run(): Promise<TwilioCheckReport> {
    this.lines.length = 0;
    this.publicUrl();
    const rest = await this.credentials();
    await this.numbers(rest);
    const appUsable = await this.twimlApp(rest);
    const keyUsable = await this.apiKey(rest);
    this.voiceToken(appUsable && keyUsable);
    await this.signatures();
    await this.secondaryToken();
    const counts: Record<TwilioCheckLevel, number> = { ok: 0, warn: 0, FAIL: 0, skip: 0 };
    for (const l of this.lines) counts[l.level]++;
    return { ok: counts.FAIL === 0, counts, checks: [...this.lines] };
  }

  private add(check: string, level: TwilioCheckLevel, message: string): void {
    this.lines.push({ check, level, message });
  }

  private get usesTwilioItself(): boolean {
    return !this.env.TWILIO_API_URL;
  }

  private url(path: keyof typeof TWILIO_WEBHOOK_PATHS): string {
    return this.base + TWILIO_WEBHOOK_PATHS[path];
  }

  /** The URL Twilio must be given for `path`, as printed. */
  private shown(path: keyof typeof TWILIO_WEBHOOK_PATHS): string {
    return showUrl(this.url(path));
  }

  // 0. PUBLIC_URL: an address Twilio can reach.
  private publicUrl(): void {
    const u = new URL(this.base);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (!this.usesTwilioItself) {
      this.add(
        'public-url',
        'ok',
        `PUBLIC_URL ${showUrl(this.base)} (TWILIO_API_URL points at ${new URL(this.env.TWILIO_API_URL!).host}, not Twilio itself: a local address is accepted)`,
      );
      return;
    }
    const local = host === 'localhost' || host.endsWith('.localhost') || (isIP(host) > 0 && isLocalAddress(host));
    if (local)
      this.add(
        'public-url',
        'FAIL',
        `PUBLIC_URL ${showUrl(this.base)} is a loopback or private address, which Twilio cannot reach: set it to the gateway's public HTTPS address`,
      );
    else if (u.protocol !== 'https:')
      this.add(
        'public-url',
        'warn',
        `PUBLIC_URL ${showUrl(this.base)} is plain http: Twilio's requests (with callers' numbers) would cross the internet unencrypted; use https`,
      );
    else this.add('public-url', 'ok', `PUBLIC_URL ${showUrl(this.base)}`);
  }

  // 1. The credentials: GET /2010-04-01/Accounts/{AC}.json
  private async credentials(): Promise<Twilio | null> {
    const { TWILIO_ACCOUNT_SID: sid, TWILIO_AUTH_TOKEN: token } = this.env;
    const missing = [!sid && 'TWILIO_ACCOUNT_SID', !token && 'TWILIO_AUTH_TOKEN'].filter(Boolean);
    if (missing.length) {
      this.add(
        'credentials',
        'FAIL',
        `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set: nothing at Twilio can be read`,
      );
      return null;
    }
    const rest = createTwilioClient({ accountSid: sid!, authToken: token!, apiUrl: this.env.TWILIO_API_URL });
    try {
      const account = await rest.api.v2010.accounts(sid!).fetch();
      const kind = `${account.type ?? 'unknown type'}${account.ownerAccountSid && account.ownerAccountSid !== account.sid ? ', a subaccount' : ''}`;
      if (account.status !== 'active')
        this.add(
          'credentials',
          'FAIL',
          `account ${shortSid(sid!)} is ${account.status}: Twilio takes no calls for it (see the Twilio console: Account > General settings, and billing)`,
        );
      else if (account.type === 'Trial')
        this.add(
          'credentials',
          'warn',
          `TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN accepted: account ${shortSid(sid!)} is a trial account: callers first hear Twilio's trial notice, and callbacks and SMS reach verified numbers only; upgrade it before going live`,
        );
      else
        this.add(
          'credentials',
          'ok',
          `TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN accepted by Twilio: account ${shortSid(sid!)}, active (${kind})`,
        );
      return rest;
    } catch (e) {
      if (statusOf(e) === 401)
        this.add(
          'credentials',
          'FAIL',
          'TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN are not accepted by Twilio (401): copy both again from the Twilio console (Account info; the auth token may have been rotated)',
        );
      else this.add('credentials', 'FAIL', `could not read account ${shortSid(sid!)} at Twilio: ${this.restProblem(e)}`);
      return null;
    }
  }

  // 2. The phone numbers: GET /2010-04-01/Accounts/{AC}/IncomingPhoneNumbers.json (every page)
  private async numbers(rest: Twilio | null): Promise<void> {
    const configured = this.hotlineNumbers();
    const smsFrom = this.env.TWILIO_SMS_FROM;
    if (!smsFrom)
      this.add(
        'sms-from',
        'warn',
        'TWILIO_SMS_FROM is not set: the privacy line cannot send verification codes, so deletion by phone cannot be confirmed',
      );
    if (!rest) {
      this.add('numbers', 'skip', 'phone numbers not read: the account could not be read (see credentials)');
      return;
    }
    let records: NumberRecord[];
    try {
      records = await this.readNumbers(rest);
    } catch (e) {
      this.add('numbers', 'FAIL', `could not list the account's phone numbers: ${this.restProblem(e)}`);
      return;
    }
    const byNumber = new Map(records.map((r) => [r.phoneNumber, r]));
    const origin = new URL(this.base).origin;
    let hotlines = 0;
    let privacyLines = 0;
    let unused = 0;

    for (const { number, source } of configured) {
      const r = byNumber.get(number);
      hotlines++;
      if (!r)
        this.add(
          'hotline-number',
          'FAIL',
          `hotline number ${maskNumber(number)} (${source}) is not a number of account ${shortSid(this.env.TWILIO_ACCOUNT_SID!)}: callers cannot reach it there and callbacks cannot be placed from it; buy or port it into this account, or correct ${source}`,
        );
      else this.hotline(r, source);
    }
    const configuredSet = new Set(configured.map((c) => c.number));
    for (const r of records) {
      if (configuredSet.has(r.phoneNumber)) continue;
      const url = r.route.voiceUrl;
      if (r.route.via === 'missing-app')
        this.add(
          'other-number',
          'warn',
          `number ${maskNumber(r.phoneNumber)} sends its calls to TwiML app ${shortSid(r.route.appSid!)}, which does not exist`,
        );
      else if (r.route.via === 'trunk')
        this.add(
          'other-number',
          'warn',
          `number ${maskNumber(r.phoneNumber)} sends its calls to SIP trunk ${shortSid(r.route.trunkSid!)}: not this gateway`,
        );
      else if (!url) unused++;
      if (r.route.via === 'trunk' || r.route.via === 'missing-app' || !url) continue;
      if (url === this.url('incoming')) {
        hotlines++;
        this.hotline(r, 'by its voice URL');
      } else if (url === this.url('privacy')) {
        privacyLines++;
        this.privacyLine(r);
      } else if (originOf(url) === origin)
        this.add(
          'other-number',
          'warn',
          `number ${maskNumber(r.phoneNumber)} sends its calls to this gateway at ${pathOf(url)}, which is neither ${TWILIO_WEBHOOK_PATHS.incoming} nor ${TWILIO_WEBHOOK_PATHS.privacy}${via(r.route)}`,
        );
      else
        this.add(
          'other-number',
          'warn',
          `number ${maskNumber(r.phoneNumber)} sends its calls to another host (${hostOf(url)}${pathOf(url)})${via(r.route)}: not this gateway (PUBLIC_URL ${showUrl(this.base)})`,
        );
    }
    if (!hotlines)
      this.add(
        'hotline-number',
        'FAIL',
        `no number of the account sends its calls to ${this.shown('incoming')}, and ${this.env.ROUTING_CONFIG} names no hotlineNumber: callers cannot reach the hotline (Twilio console: ${NUMBERS_PATH} > a number > Voice configuration)`,
      );
    if (!privacyLines)
      this.add(
        'privacy-line',
        'ok',
        `no number sends its calls to ${this.shown('privacy')} (no separate privacy line; callers reach it with 9 in the hotline's first menu)`,
      );
    if (unused) this.add('other-number', 'ok', `${unused} other number(s) of the account have no voice URL (not used by the hotline)`);

    if (smsFrom) {
      const r = byNumber.get(smsFrom);
      if (!r)
        this.add(
          'sms-from',
          'FAIL',
          `TWILIO_SMS_FROM ${maskNumber(smsFrom)} is not a number of this account: Twilio refuses to send from it, so verification codes cannot be sent`,
        );
      else if (r.capabilities.sms === false)
        this.add(
          'sms-from',
          'FAIL',
          `TWILIO_SMS_FROM ${maskNumber(smsFrom)} cannot send SMS (Twilio: capabilities.sms is false): choose an SMS-capable number`,
        );
      else this.add('sms-from', 'ok', `TWILIO_SMS_FROM ${maskNumber(smsFrom)} is a number of this account and can send SMS`);
    }
  }

  /** The numbers the routing file says callers ring (and callbacks are placed from). */
  private hotlineNumbers(): { number: string; source: string }[] {
    const out = new Map<string, string>();
    const file = this.env.ROUTING_CONFIG;
    if (this.routing.hotlineNumber) out.set(this.routing.hotlineNumber, `${file} hotlineNumber`);
    // Where the routing file names centres (issue 20), each centre's numbers are hotline numbers too.
    const centers = (this.routing as { centers?: { id?: string; numbers?: string[] }[] }).centers ?? [];
    for (const c of centers) for (const n of c.numbers ?? []) if (!out.has(n)) out.set(n, `${file} centre ${c.id ?? '?'}`);
    return [...out].map(([number, source]) => ({ number, source }));
  }

  private async readNumbers(rest: Twilio): Promise<NumberRecord[]> {
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

  private hotline(r: NumberRecord, source: string): void {
    const where = `hotline number ${maskNumber(r.phoneNumber)} (${source})`;
    const problems: string[] = [];
    const { route } = r;
    if (route.via === 'trunk')
      problems.push(`its calls go to SIP trunk ${shortSid(route.trunkSid!)}, not to a voice URL; remove it from the trunk`);
    else if (route.via === 'missing-app') problems.push(`its calls go to TwiML app ${shortSid(route.appSid!)}, which does not exist`);
    else {
      const inApp = route.via === 'app' ? ` (set in TwiML app ${shortSid(route.appSid!)}, which the number uses)` : '';
      if (route.voiceUrl !== this.url('incoming'))
        problems.push(
          `"A call comes in" is ${route.voiceUrl ? showUrl(route.voiceUrl) : 'empty'}${inApp}, expected ${this.shown('incoming')}`,
        );
      if (!isPost(route.voiceMethod)) problems.push(`"A call comes in" uses HTTP ${route.voiceMethod}${inApp}, expected HTTP POST`);
      if (route.statusCallback !== this.url('status'))
        problems.push(
          `"Call status changes" is ${route.statusCallback ? showUrl(route.statusCallback) : 'empty'}${inApp}, expected ${this.shown('status')} (without it a caller who hangs up stays in the queue)`,
        );
      else if (!isPost(route.statusCallbackMethod))
        problems.push(`"Call status changes" uses HTTP ${route.statusCallbackMethod}${inApp}, expected HTTP POST`);
    }
    if (r.capabilities.voice === false) problems.push('it cannot take voice calls (capabilities.voice is false)');
    if (problems.length)
      this.add(
        'hotline-number',
        'FAIL',
        `${where}: ${problems.join('; ')} (Twilio console: ${NUMBERS_PATH} > the number > Voice configuration)`,
      );
    else
      this.add(
        'hotline-number',
        'ok',
        `${where}: calls come to ${this.shown('incoming')} (POST), status changes to ${this.shown('status')}${via(route)}`,
      );
  }

  private privacyLine(r: NumberRecord): void {
    const where = `privacy line ${maskNumber(r.phoneNumber)}`;
    if (!isPost(r.route.voiceMethod))
      this.add(
        'privacy-line',
        'FAIL',
        `${where}: "A call comes in" uses HTTP ${r.route.voiceMethod}, expected HTTP POST (Twilio console: ${NUMBERS_PATH} > the number > Voice configuration)`,
      );
    else this.add('privacy-line', 'ok', `${where}: calls come to ${this.shown('privacy')} (POST)${via(r.route)}`);
  }

  // 3. The TwiML app: GET /2010-04-01/Accounts/{AC}/Applications/{AP}.json
  private async twimlApp(rest: Twilio | null): Promise<boolean> {
    const sid = this.env.TWILIO_TWIML_APP_SID;
    if (!sid) {
      this.add(
        'twiml-app',
        'FAIL',
        "TWILIO_TWIML_APP_SID is not set: browser audio cannot work (the console's Voice access token names a TwiML app)",
      );
      return false;
    }
    if (!/^AP[0-9a-f]{32}$/i.test(sid)) {
      this.add('twiml-app', 'FAIL', `TWILIO_TWIML_APP_SID must be a TwiML app SID (AP and 32 hex digits); it is ${describeSid(sid)}`);
      return false;
    }
    if (!rest) {
      this.add('twiml-app', 'skip', `TwiML app ${shortSid(sid)} not read: the account could not be read (see credentials)`);
      return true;
    }
    try {
      const app = await rest.applications(sid).fetch();
      const url = app.voiceUrl ?? '';
      const origin = new URL(this.base).origin;
      if (!url)
        this.add(
          'twiml-app',
          'ok',
          `TwiML app ${shortSid(sid)} exists; its voice URL is empty, which is fine: the console only receives calls, it never places one`,
        );
      else if (originOf(url) === origin)
        this.add(
          'twiml-app',
          'ok',
          `TwiML app ${shortSid(sid)} exists; its voice URL is this gateway's ${pathOf(url)} (unused: the console places no calls)`,
        );
      else
        this.add(
          'twiml-app',
          'warn',
          `TwiML app ${shortSid(sid)} exists, but its voice URL points at another host (${hostOf(url)}): unused, since the console places no calls, but not this gateway; clear it or set it to ${showUrl(this.base)}`,
        );
      return true;
    } catch (e) {
      if (statusOf(e) === 404)
        this.add(
          'twiml-app',
          'FAIL',
          `TwiML app ${shortSid(sid)} (TWILIO_TWIML_APP_SID) does not exist in account ${shortSid(this.env.TWILIO_ACCOUNT_SID!)}: browser audio cannot work; create one (Twilio console: Phone Numbers > Manage > TwiML apps) and set its SID`,
        );
      else this.add('twiml-app', 'FAIL', `could not read TwiML app ${shortSid(sid)}: ${this.restProblem(e)}`);
      return false;
    }
  }

  // 4. The API key: GET /2010-04-01/Accounts/{AC}/Keys/{SK}.json, and its secret used once to read.
  private async apiKey(rest: Twilio | null): Promise<boolean> {
    const { TWILIO_API_KEY_SID: sid, TWILIO_API_KEY_SECRET: secret } = this.env;
    const missing = [!sid && 'TWILIO_API_KEY_SID', !secret && 'TWILIO_API_KEY_SECRET'].filter(Boolean);
    if (missing.length) {
      this.add(
        'api-key',
        'FAIL',
        `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set: browser audio cannot work (no Voice access token can be made)`,
      );
      return false;
    }
    if (!/^SK[0-9a-f]{32}$/i.test(sid!)) {
      this.add('api-key', 'FAIL', `TWILIO_API_KEY_SID must be an API key SID (SK and 32 hex digits); it is ${describeSid(sid!)}`);
      return false;
    }
    if (!rest) {
      this.add('api-key', 'skip', `API key ${shortSid(sid!)} not read: the account could not be read (see credentials)`);
      return true;
    }
    try {
      await rest.keys(sid!).fetch();
    } catch (e) {
      if (statusOf(e) === 404)
        this.add(
          'api-key',
          'FAIL',
          `API key ${shortSid(sid!)} (TWILIO_API_KEY_SID) does not exist in account ${shortSid(this.env.TWILIO_ACCOUNT_SID!)} (deleted, or made in another account): browser audio cannot work; create a Standard key (Twilio console: Account > API keys & tokens) and set TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET`,
        );
      else this.add('api-key', 'FAIL', `could not read API key ${shortSid(sid!)}: ${this.restProblem(e)}`);
      return false;
    }
    // The secret is what signs the access token: Twilio is asked to accept it once, for a harmless read.
    const asKey = twilioLibrary(sid!, secret!, {
      accountSid: this.env.TWILIO_ACCOUNT_SID,
      ...(this.env.TWILIO_API_URL ? { httpClient: new RebasingRequestClient(this.env.TWILIO_API_URL) as any, autoRetry: false } : {}),
    });
    try {
      await asKey.incomingPhoneNumbers.page({ pageSize: 1 });
      this.add('api-key', 'ok', `API key ${shortSid(sid!)} exists and Twilio accepts TWILIO_API_KEY_SECRET for it`);
    } catch (e) {
      const status = statusOf(e);
      if (status === 401) {
        this.add(
          'api-key',
          'FAIL',
          `API key ${shortSid(sid!)} exists, but Twilio does not accept TWILIO_API_KEY_SECRET for it (401): browsers would be refused their tokens (AccessTokenInvalid); the secret is shown once, when the key is made: make a new key`,
        );
        return false;
      }
      if (status === 403)
        this.add(
          'api-key',
          'ok',
          `API key ${shortSid(sid!)} exists and Twilio accepts TWILIO_API_KEY_SECRET for it (a restricted key: 403 on a number list)`,
        );
      else this.add('api-key', 'warn', `API key ${shortSid(sid!)} exists; its secret could not be tried: ${this.restProblem(e)}`);
    }
    return true;
  }

  /** 4b. A Voice access token made as the console gets one (TwilioService.voiceToken), looked at here. */
  private voiceToken(usable: boolean): void {
    if (!usable || !this.env.TWILIO_ACCOUNT_SID) {
      this.add('voice-token', 'skip', 'no Voice access token made: it needs the account, the API key and the TwiML app above');
      return;
    }
    let jwt: string;
    try {
      jwt = this.twilio.voiceToken('twilio-check', 60);
    } catch (e) {
      this.add('voice-token', 'FAIL', `no Voice access token could be made: ${(e as Error).message}`);
      return;
    }
    const problems = accessTokenProblems(jwt, {
      keySid: this.env.TWILIO_API_KEY_SID!,
      keySecret: this.env.TWILIO_API_KEY_SECRET!,
      accountSid: this.env.TWILIO_ACCOUNT_SID,
      appSid: this.env.TWILIO_TWIML_APP_SID!,
    });
    if (problems.length) this.add('voice-token', 'FAIL', `the Voice access token is not what Twilio expects: ${problems.join('; ')}`);
    else
      this.add(
        'voice-token',
        'ok',
        `a Voice access token made with API key ${shortSid(this.env.TWILIO_API_KEY_SID!)} is a well-formed JWT for it (HS256, account ${shortSid(this.env.TWILIO_ACCOUNT_SID)}, voice grant for TwiML app ${shortSid(this.env.TWILIO_TWIML_APP_SID!)}, incoming allowed); Twilio itself checks a token only when a browser registers with it: sign in to the console as an operator and look for "Audio: connected"`,
      );
  }

  // 5. The signature round trip: PUBLIC_URL reaches this gateway, and it holds this auth token.
  private async signatures(): Promise<void> {
    const token = this.env.TWILIO_AUTH_TOKEN;
    if (!token) {
      this.add('signature', 'skip', 'no signed request sent to PUBLIC_URL: TWILIO_AUTH_TOKEN is not set');
      return;
    }
    const first = await this.signedPost(token);
    if (first.kind === 'error') {
      this.add('signature', 'FAIL', first.message);
      return;
    }
    if (first.status !== 200) {
      this.add('signature', 'FAIL', this.refusal(first, 'TWILIO_AUTH_TOKEN'));
      return;
    }
    const forged = await this.signedPost(token, true);
    if (forged.kind === 'error') this.add('signature', 'FAIL', forged.message);
    else if (forged.status !== 403)
      this.add(
        'signature',
        'FAIL',
        `${this.shown('status')} accepted a request with a wrong signature (${forged.status}): whatever answers at PUBLIC_URL does not check Twilio's signatures, so it is not this gateway`,
      );
    else
      this.add(
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
  private async secondaryToken(): Promise<void> {
    const secondary = this.env.TWILIO_AUTH_TOKEN_SECONDARY;
    const sid = this.env.TWILIO_ACCOUNT_SID;
    if (!secondary) return;
    let atTwilio: TwilioCheckLine | null = null;
    if (sid)
      try {
        await createTwilioClient({ accountSid: sid, authToken: secondary, apiUrl: this.env.TWILIO_API_URL })
          .api.v2010.accounts(sid)
          .fetch();
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
                message: `could not try TWILIO_AUTH_TOKEN_SECONDARY at Twilio: ${this.restProblem(e)}`,
              };
      }
    const r = await this.signedPost(secondary);
    if (r.kind === 'error') this.add('secondary-token', 'FAIL', r.message);
    else if (r.status !== 200) this.add('secondary-token', 'FAIL', this.refusal(r, 'TWILIO_AUTH_TOKEN_SECONDARY'));
    else if (!atTwilio)
      this.add(
        'secondary-token',
        'ok',
        sid
          ? 'TWILIO_AUTH_TOKEN_SECONDARY is accepted by Twilio, and the gateway accepts signatures made with it (200)'
          : 'the gateway accepts signatures made with TWILIO_AUTH_TOKEN_SECONDARY (200); not tried at Twilio: TWILIO_ACCOUNT_SID is not set',
      );
    if (atTwilio) this.lines.push(atTwilio);
  }

  private refusal(r: { status: number; location?: string }, variable: string): string {
    const url = this.shown('status');
    if (r.status === 403)
      return `the gateway at PUBLIC_URL refused a request signed with ${variable} (403): the gateway holds ${variable === 'TWILIO_AUTH_TOKEN' ? 'another TWILIO_AUTH_TOKEN' : 'no such token (restart it with this environment)'}, or its PUBLIC_URL is not ${showUrl(this.base)} (signatures are computed over it)`;
    if (r.status >= 300 && r.status < 400)
      return `${url} answered ${r.status}, a redirect${r.location ? ` to ${showUrl(r.location)}` : ''}: Twilio signs the address it was given, so set PUBLIC_URL (and the numbers' URLs) to the final address`;
    if (r.status === 404)
      return `${url} answered 404: what answers at PUBLIC_URL is not the gateway, or a proxy in front of it does not pass /twilio/`;
    return `${url} answered ${r.status} to a request signed with ${variable} (expected 200): see the gateway's log`;
  }

  /** One status callback for PROBE_CALL_SID, signed with `token` (or wrongly), POSTed to PUBLIC_URL. */
  private async signedPost(
    token: string,
    forge = false,
  ): Promise<{ kind: 'answer'; status: number; location?: string } | { kind: 'error'; message: string }> {
    const url = this.url('status');
    const params: Record<string, string> = {
      AccountSid: this.env.TWILIO_ACCOUNT_SID ?? '',
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
      return { kind: 'error', message: `PUBLIC_URL ${showUrl(this.base)} did not answer: ${networkProblem(e)}` };
    }
  }

  private restProblem(e: unknown): string {
    const err = e as { status?: number; code?: number | string; message?: string };
    if (typeof err?.status === 'number')
      return `Twilio answered ${err.status}${typeof err.code === 'number' ? ` (error ${err.code})` : ''}`;
    const where = this.env.TWILIO_API_URL ? `TWILIO_API_URL ${showUrl(this.env.TWILIO_API_URL)}` : "Twilio's REST API";
    return `${where} did not answer: ${networkProblem(e)}`;
  }
}

/** Problems with a Twilio access token for these settings (none: it is what Twilio expects of a Voice token). */
export function accessTokenProblems(jwt: string, s: { keySid: string; keySecret: string; accountSid: string; appSid: string }): string[] {
  const parts = jwt.split('.');
  if (parts.length !== 3) return ['it is not a JWT (three dot-separated parts)'];
  let header: Record<string, any>;
  let payload: Record<string, any>;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return ['its header or payload is not base64url JSON'];
  }
  const problems: string[] = [];
  if (header.alg !== 'HS256') problems.push(`alg is ${header.alg}, expected HS256`);
  if (header.typ !== 'JWT') problems.push(`typ is ${header.typ}, expected JWT`);
  if (header.cty !== 'twilio-fpa;v=1') problems.push(`cty is ${header.cty}, expected twilio-fpa;v=1`);
  if (payload.iss !== s.keySid) problems.push('iss is not TWILIO_API_KEY_SID');
  if (payload.sub !== s.accountSid) problems.push('sub is not TWILIO_ACCOUNT_SID');
  if (typeof payload.jti !== 'string' || !payload.jti.startsWith(`${s.keySid}-`)) problems.push('jti does not start with the key SID');
  const now = Math.floor(Date.now() / 1000);
  if (!(typeof payload.exp === 'number' && payload.exp > now)) problems.push('it has expired or has no exp');
  const voice = payload.grants?.voice;
  if (!voice) problems.push('it has no voice grant');
  else {
    if (voice.outgoing?.application_sid !== s.appSid) problems.push('its voice grant does not name TWILIO_TWIML_APP_SID');
    if (voice.incoming?.allow !== true) problems.push('its voice grant does not allow incoming calls');
  }
  if (!payload.grants?.identity) problems.push('it has no identity');
  const expected = createHmac('sha256', s.keySecret).update(`${parts[0]}.${parts[1]}`).digest('base64url');
  if (expected !== parts[2]) problems.push('its signature is not made with TWILIO_API_KEY_SECRET');
  return problems;
}

/** `+…123`: a phone number is never printed whole. */
export function maskNumber(n: string): string {
  const digits = n.replace(/\D/g, '');
  return `+…${digits.slice(-3)}`;
}

/** `AC…cdef`: enough to tell SIDs apart in the Twilio console. */
function shortSid(sid: string): string {
  return sid.length > 8 ? `${sid.slice(0, 2)}…${sid.slice(-4)}` : sid;
}

/** What a value that is not the expected kind of SID looks like (never the value itself). */
function describeSid(v: string): string {
  const kinds: Record<string, string> = { AC: 'an account SID', SK: 'an API key SID', AP: 'a TwiML app SID', PN: 'a phone number SID' };
  const kind = /^[A-Z]{2}[0-9a-f]{32}$/i.test(v) ? kinds[v.slice(0, 2).toUpperCase()] : undefined;
  return kind ?? `${v.length} characters that are no Twilio SID`;
}

/** A URL as it may be printed: no credentials, no query (either may carry secrets), digits of a number masked. */
function showUrl(u: string): string {
  try {
    const url = new URL(u);
    return `${url.protocol}//${url.host}${maskDigits(url.pathname === '/' && !u.endsWith('/') ? '' : url.pathname)}${url.search ? '?…' : ''}`;
  } catch {
    return '(not a URL)';
  }
}

function originOf(u: string): string | null {
  try {
    return new URL(u).origin;
  } catch {
    return null;
  }
}

function hostOf(u: string): string {
  try {
    return new URL(u).host;
  } catch {
    return '(not a URL)';
  }
}

function pathOf(u: string): string {
  try {
    return maskDigits(new URL(u).pathname);
  } catch {
    return '';
  }
}

/** Runs of six or more digits (a phone number in a path, say) never printed. */
function maskDigits(s: string): string {
  return s.replace(/\d{6,}/g, (d) => `…${d.slice(-3)}`);
}

function via(route: VoiceRoute): string {
  return route.via === 'app' ? ` (through TwiML app ${shortSid(route.appSid!)})` : '';
}

function isPost(method: string): boolean {
  return !method || method.toUpperCase() === 'POST';
}

function statusOf(e: unknown): number | undefined {
  const s = (e as { status?: unknown })?.status;
  return typeof s === 'number' ? s : undefined;
}

/** ECONNREFUSED, ENOTFOUND, a timeout, or a certificate problem, from fetch's or axios's error. */
function networkProblem(e: unknown): string {
  const err = e as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError' || err?.code === 'ECONNABORTED')
    return `no answer within ${HTTP_TIMEOUT_MS / 1000} s`;
  const code = err?.cause?.code ?? err?.code;
  if (typeof code === 'string' && code) return code;
  return maskDigits(String(err?.cause?.message ?? err?.message ?? e)).slice(0, 200);
}

function isLocalAddress(ip: string): boolean {
  return networkList(`${DEFAULT_INTERNAL_NETWORKS},169.254.0.0/16,fe80::/10,0.0.0.0/8`).includes(ip);
}
