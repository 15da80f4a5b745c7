import { Module } from '@nestjs/common';
import { CallsModule } from '@hotline/calls';
import { TwilioModule } from '@hotline/twilio';
import { CallbacksController } from './callbacks.controller';
import { CallbacksService } from './callbacks.service';
import { RescueController } from './rescue.controller';
import { RescueService } from './rescue.service';

/** Issue 15 in records: callbacks and follow-ups for operators, the wallboard's counts, active rescue. */
@Module({
  imports: [CallsModule, TwilioModule],
  controllers: [CallbacksController, RescueController],
  providers: [CallbacksService, RescueService],
})
export class RecordsCallbacksModule {}
