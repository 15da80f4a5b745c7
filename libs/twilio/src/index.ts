export {
  createTwilioClient,
  isTwilioCallEnded,
  isTwilioNotFound,
  RebasingRequestClient,
  TWILIO_REST_TIMEOUT_MS,
  TwilioThrottled,
  TwilioTimeout,
} from './twilio-client';
export type { Twilio, TwilioSettings } from './twilio-client';
export * from './twiml';
export * from './twilio.service';
export * from './twilio.module';
export * from './twilio-conferences';
export * from './twilio-account-check';
export * from './outbound-pacer';
export * from './webhook-budget';
