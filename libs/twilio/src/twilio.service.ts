import { Inject, Injectable, Optional } from '@nestjs/common';
import { ENV, Env } from '@hotline/config';
import { OutboundPacer, OutboundPriority } from './outbound-pacer';
import { Twilio, lazyRestClient, isTwilioNotFound, twilioLibrary } from './twilio-client';

export { isTwilioNotYetDeletable } from './twilio-client';

/** Raised when a Twilio setting this operation needs is missing (the message names it). */
export class TwilioNotConfiguredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TwilioNotConfiguredError';
  }
}

/**
 * The Twilio port: the only code that talks to Twilio. It checks webhook signatures, issues voice
 * tokens, and makes the few REST calls Hotline uses. Tests and the demo change the address
 * (TWILIO_API_URL), never the class.
 */
@Injectable()
export class TwilioService {
  constructor(
    @Inject(ENV) private readonly env: Env,
    @Optional() pacer?: OutboundPacer,
  ) {
    this.rest = lazyRestClient(env);
    this.pacer = pacer ?? new OutboundPacer(env);
  }

  private readonly rest: () => Twilio;
  /** New outbound calls wait their turn at the account's calls per second (TWILIO_CPS), live calls first. */
  private readonly pacer: OutboundPacer;

  /**
   * True when `signature` (the X-Twilio-Signature header) is Twilio's for this URL and these POST
   * parameters, made with TWILIO_AUTH_TOKEN or, during a rotation, TWILIO_AUTH_TOKEN_SECONDARY
   * (docs/configuration.md, its row: the steps of a rotation). Without TWILIO_AUTH_TOKEN nothing is valid.
   */
  validateRequest(signature: string | undefined, url: string, params: Record<string, unknown>): boolean {
    const { TWILIO_AUTH_TOKEN: token, TWILIO_AUTH_TOKEN_SECONDARY: secondary } = this.env;
    if (!token || !signature) return false;
    return [token, secondary].some((t) => !!t && twilioLibrary.validateRequest(t, signature, url, params));
  }

  /**
   * A Twilio Voice access token for a browser leg (`<Client>identity</Client>`), valid `ttlSeconds`.
   * Throws TwilioNotConfiguredError when the API key or the TwiML app is not configured.
   */
  voiceToken(identity: string, ttlSeconds: number): string {
    const {
      TWILIO_ACCOUNT_SID: account,
      TWILIO_API_KEY_SID: keySid,
      TWILIO_API_KEY_SECRET: keySecret,
      TWILIO_TWIML_APP_SID: appSid,
    } = this.env;
    if (!account || !keySid || !keySecret || !appSid) {
      throw new TwilioNotConfiguredError(
        'browser calling is not configured: set TWILIO_API_KEY_SID, TWILIO_API_KEY_SECRET and TWILIO_TWIML_APP_SID',
      );
    }
    const token = new twilioLibrary.jwt.AccessToken(account, keySid, keySecret, { identity, ttl: ttlSeconds });
    token.addGrant(new twilioLibrary.jwt.AccessToken.VoiceGrant({ outgoingApplicationSid: appSid, incomingAllow: true }));
    return token.toJwt();
  }

  /** Deletes a recording at Twilio; an already-deleted one counts as done. */
  async deleteRecording(recordingSid: string): Promise<'deleted' | 'already_gone'> {
    try {
      await this.rest().recordings(recordingSid).remove();
      return 'deleted';
    } catch (e) {
      if (isTwilioNotFound(e)) return 'already_gone';
      throw e;
    }
  }

  /** Deletes a message (its body and the numbers) at Twilio; an already-deleted one counts as done. */
  async deleteMessage(messageSid: string): Promise<'deleted' | 'already_gone'> {
    try {
      await this.rest().messages(messageSid).remove();
      return 'deleted';
    } catch (e) {
      if (isTwilioNotFound(e)) return 'already_gone';
      throw e;
    }
  }

  /**
   * Deletes a call's record at Twilio (its numbers, times and duration); an already-deleted one
   * counts as done. Twilio refuses (409, code 20009: `isTwilioNotYetDeletable`) to delete a call
   * that is still in progress or ended only moments ago: the refusal is thrown, for the caller to
   * retry later with backoff (a job, not a webhook).
   */
  async deleteCall(callSid: string): Promise<'deleted' | 'already_gone'> {
    try {
      await this.rest().calls(callSid).remove();
      return 'deleted';
    } catch (e) {
      if (isTwilioNotFound(e)) return 'already_gone';
      throw e;
    }
  }

  /**
   * The SIDs of the calls Twilio placed for this one (the legs a `<Dial>` opened: the operator's
   * browser, answered or not), which carry the caller's number as their caller ID. Empty when the
   * parent call is unknown (already deleted).
   */
  async childCallSids(parentCallSid: string): Promise<string[]> {
    try {
      const legs = await this.rest().calls.list({ parentCallSid, limit: 100 });
      return legs.map((c) => c.sid);
    } catch (e) {
      if (isTwilioNotFound(e)) return [];
      throw e;
    }
  }

  async sendSms(to: string, body: string, statusCallback?: string): Promise<{ sid: string; status: string }> {
    if (!this.env.TWILIO_SMS_FROM) throw new Error('TWILIO_SMS_FROM is required to send SMS');
    const m = await this.rest().messages.create({
      to,
      from: this.env.TWILIO_SMS_FROM,
      body,
      ...(statusCallback ? { statusCallback } : {}),
    });
    return { sid: m.sid, status: m.status };
  }

  /**
   * Places an outbound call (a callback) from `from` to `to`; Twilio asks `url` for its TwiML when
   * it is answered and posts its end to `statusCallback`. The number goes to Twilio and nowhere else.
   * The call waits its turn at TWILIO_CPS behind every live leg waiting (`priority`, default
   * `callback`: up to 15 s, then OutboundSlotUnavailable is thrown); a 429 is waited out and tried once more.
   */
  async placeCall(p: {
    to: string;
    from: string;
    url: string;
    statusCallback: string;
    priority?: OutboundPriority;
    /**
     * Answering-machine detection: Twilio asks `url` once it knows who answered, with `AnsweredBy`
     * (`Enable`: as soon as it knows; `DetectMessageEnd`: after a machine's greeting, to leave words).
     */
    machineDetection?: 'Enable' | 'DetectMessageEnd';
  }): Promise<{ sid: string }> {
    const calls = this.rest().calls; // made before the turn comes, so that the request goes at once
    const c = await this.pacer.create(p.priority ?? 'callback', () =>
      calls.create({
        to: p.to,
        from: p.from,
        url: p.url,
        method: 'POST',
        statusCallback: p.statusCallback,
        statusCallbackMethod: 'POST',
        statusCallbackEvent: ['completed'],
        timeout: 30,
        ...(p.machineDetection ? { machineDetection: p.machineDetection } : {}),
      }),
    );
    return { sid: c.sid };
  }

  /**
   * The caller ID of a live call, read from Twilio's Call resource (active rescue): null when the
   * call is over (or gone at Twilio), so a number is only ever read for a call in progress.
   */
  async liveCaller(callSid: string): Promise<{ from: string; status: string } | null> {
    const c = await this.caller(callSid);
    return c && ['queued', 'ringing', 'in-progress'].includes(c.status) ? c : null;
  }

  /** The caller ID and status of a call Twilio still holds (live or ended); null when it is gone. */
  async caller(callSid: string): Promise<{ from: string; status: string } | null> {
    try {
      const c = await this.rest().calls(callSid).fetch();
      return { from: c.from, status: c.status };
    } catch (e) {
      if (isTwilioNotFound(e)) return null;
      throw e;
    }
  }

  /** Tells Twilio what a live call should do next (e.g. `<Dial><Client>` to connect an operator). */
  async updateCall(callSid: string, twiml: string): Promise<void> {
    await this.rest().calls(callSid).update({ twiml });
  }
}
