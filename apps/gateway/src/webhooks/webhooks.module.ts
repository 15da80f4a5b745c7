import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { TwilioModule } from '@hotline/twilio';
import { TwilioSignatureMiddleware } from './twilio-signature.middleware';

/**
 * The Twilio webhook layer, under every other call-handling module: no `/twilio/*` request reaches a
 * handler without Twilio's signature (TwilioSignatureMiddleware); twilio-params.ts is how its fields are read.
 */
@Module({
  imports: [TwilioModule],
  providers: [TwilioSignatureMiddleware],
})
export class WebhooksModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(TwilioSignatureMiddleware).forRoutes({ path: 'twilio/*path', method: RequestMethod.ALL });
  }
}
