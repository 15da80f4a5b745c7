import { Inject, Injectable } from '@nestjs/common';
import { ENV, Env } from '@hotline/config';
import { Twilio, createTwilioClient, isTwilioNotFound } from './twilio-client';

/**
 * The Twilio port: the few REST operations Hotline uses, behind one class. Tests and the demo
 * change the address (TWILIO_API_URL), never the class.
 */
@Injectable()
export class TwilioService {
  private client?: Twilio;

  constructor(@Inject(ENV) private readonly env: Env) {}

  get rest(): Twilio {
    if (!this.client) {
      if (!this.env.TWILIO_ACCOUNT_SID || !this.env.TWILIO_AUTH_TOKEN) throw new Error('TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required for Twilio REST calls');
      this.client = createTwilioClient({ accountSid: this.env.TWILIO_ACCOUNT_SID, authToken: this.env.TWILIO_AUTH_TOKEN, apiUrl: this.env.TWILIO_API_URL });
    }
    return this.client;
  }

  /** Deletes a recording at Twilio; an already-deleted one counts as done. */
  async deleteRecording(recordingSid: string): Promise<'deleted' | 'already_gone'> {
    try {
      await this.rest.recordings(recordingSid).remove();
      return 'deleted';
    } catch (e) {
      if (isTwilioNotFound(e)) return 'already_gone';
      throw e;
    }
  }

  /** Deletes a message (its body and the numbers) at Twilio; an already-deleted one counts as done. */
  async deleteMessage(messageSid: string): Promise<'deleted' | 'already_gone'> {
    try {
      await this.rest.messages(messageSid).remove();
      return 'deleted';
    } catch (e) {
      if (isTwilioNotFound(e)) return 'already_gone';
      throw e;
    }
  }

  async sendSms(to: string, body: string, statusCallback?: string): Promise<{ sid: string; status: string }> {
    if (!this.env.TWILIO_SMS_FROM) throw new Error('TWILIO_SMS_FROM is required to send SMS');
    const m = await this.rest.messages.create({ to, from: this.env.TWILIO_SMS_FROM, body, ...(statusCallback ? { statusCallback } : {}) });
    return { sid: m.sid, status: m.status };
  }

  /** Tells Twilio what a live call should do next (e.g. `<Dial><Client>` to connect an operator). */
  async updateCall(callSid: string, twiml: string): Promise<void> {
    await this.rest.calls(callSid).update({ twiml });
  }
}
