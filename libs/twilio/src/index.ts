export { createTwilioClient, isTwilioCallEnded, isTwilioNotFound, RebasingRequestClient } from './twilio-client';
export type { Twilio, TwilioSettings } from './twilio-client';
export * from './twiml';
export * from './twilio.service';
export * from './twilio.module';
export * from './twilio-conferences';
export * from './twilio-account-check';
