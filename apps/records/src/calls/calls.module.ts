import { Module } from '@nestjs/common';
import { CallsModule } from '@hotline/calls';
import { AlertsPublisher } from './alerts.publisher';
import { CallsController } from './calls.controller';
import { CallsService } from './calls.service';
import { EscalationsController } from './escalations.controller';
import { LegalHoldController } from './legal-hold.controller';

/** Calls over HTTP: need-to-know reads, append-only writes, holds, duty to warn. */
@Module({
  imports: [CallsModule],
  controllers: [CallsController, EscalationsController, LegalHoldController],
  providers: [CallsService, AlertsPublisher],
})
export class RecordsCallsModule {}
