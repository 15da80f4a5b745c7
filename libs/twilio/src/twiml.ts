import { twilioLibrary } from './twilio-client';

/**
 * TwiML builders (the XML answered to Twilio's webhooks). Building TwiML talks to nobody; it is
 * re-exported here so that `twilio` is imported by this library alone.
 */
export const VoiceResponse = twilioLibrary.twiml.VoiceResponse;
export type VoiceResponse = InstanceType<typeof VoiceResponse>;
export const MessagingResponse = twilioLibrary.twiml.MessagingResponse;
export type MessagingResponse = InstanceType<typeof MessagingResponse>;
