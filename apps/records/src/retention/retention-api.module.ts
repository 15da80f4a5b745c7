import { Module } from '@nestjs/common';
import { RetentionReportModule } from '@hotline/retention';
import { RetentionController } from './retention.controller';

/** `GET /retention/report`: the retention self-test, computed by libs/retention. */
@Module({ imports: [RetentionReportModule], controllers: [RetentionController] })
export class RetentionApiModule {}
