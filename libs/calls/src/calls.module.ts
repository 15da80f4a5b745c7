import { Module } from '@nestjs/common';
import { RETENTION_CONFIG } from '@hotline/config';
import { CryptoModule } from '@hotline/crypto';
import { CallMapper } from './call.mapper';
import { CallbackNumbers } from './callback-numbers';
import { RescueRequests } from './rescue-requests';
import { CallRecordsModule } from './call-records.module';
import { CallRepository } from './call.repository';
import { CALLS_RETENTION, TypeOrmCallRepository } from './typeorm-call.repository';

/** Calls and their content for apps that hold MASTER_KEY (records, the benchmarks). */
@Module({
  imports: [CryptoModule, CallRecordsModule],
  providers: [
    CallMapper,
    { provide: CALLS_RETENTION, useExisting: RETENTION_CONFIG },
    { provide: CallRepository, useClass: TypeOrmCallRepository },
    CallbackNumbers,
    RescueRequests,
  ],
  exports: [CallRepository, CALLS_RETENTION, CallRecordsModule, CallbackNumbers, RescueRequests],
})
export class CallsModule {}
