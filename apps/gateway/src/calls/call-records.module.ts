import { Module } from '@nestjs/common';
import { CallRecordJobs } from '@hotline/jobs';
import { CallRecordsService } from './call-records.service';
import { CallRecordsWorker } from './call-records.worker';
import { GatewayRecords } from './gateway-records';

/** What the gateway tells records about a call (CallRecordsService): written at once when MySQL answers in time, else queued. */
@Module({
  providers: [CallRecordJobs, CallRecordsService, CallRecordsWorker, GatewayRecords],
  exports: [CallRecordsService, GatewayRecords],
})
export class CallRecordsModule {}
