import { Module } from '@nestjs/common';
import { CallRecordings } from './call-recordings';
import { CallRetention } from './call-retention';
import { CallerRecords } from './caller-records';
import { CallDestructionSteps } from './destruction-steps';
import { CallHandover } from './handover';
import { LegalHolds } from './legal-holds';
import { HourlyStats } from './hourly-stats';
import { CallOversight } from './oversight';

const RECORD_STORES = [
  LegalHolds,
  CallerRecords,
  CallRecordings,
  CallRetention,
  CallDestructionSteps,
  HourlyStats,
  CallOversight,
  CallHandover,
];

/**
 * The call record without its content (no key, no cipher): holds, callers, recordings, retention
 * paging and the row steps of destruction, over the app's records data source (TypeORM default).
 * For the worker and the retention report; the gateway, whose data source connects lazily,
 * builds these classes (and CallLifecycle) over it itself.
 */
@Module({ providers: RECORD_STORES, exports: RECORD_STORES })
export class CallRecordsModule {}
