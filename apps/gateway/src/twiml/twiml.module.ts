import { Module } from '@nestjs/common';
import { ENV, Env, WORDING, Wording } from '@hotline/config';
import { CallTwiml } from './twiml';

/** The caller's TwiML (CallTwiml) and the browser legs' addresses (voice-legs.ts): what every call-handling module answers Twilio with. */
@Module({
  providers: [
    { provide: CallTwiml, inject: [ENV, WORDING], useFactory: (env: Env, wording: Wording) => new CallTwiml(env.PUBLIC_URL, wording) },
  ],
  exports: [CallTwiml],
})
export class TwimlModule {}
