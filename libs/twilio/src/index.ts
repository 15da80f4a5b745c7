export * from './twilio-client';
export * from './twilio.service';
export * from './twilio.module';
