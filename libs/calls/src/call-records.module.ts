import { Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CallLegs } from './call-legs';
import { CallbackBook } from './callbacks';
import { CallRecordings } from './call-recordings';
import { CallRetention } from './call-retention';
import { CallerRecords } from './caller-records';
import { CallDestructionSteps } from './destruction-steps';
import { CallHandover } from './handover';
import { LegalHolds } from './legal-holds';
import { HourlyStats } from './hourly-stats';
import { CallOversight } from './oversight';
import { ComplaintBook } from './complaints';

const RECORD_STORES = [
  LegalHolds,
  CallerRecords,
  CallRecordings,
  CallRetention,
  CallDestructionSteps,
  HourlyStats,
  CallOversight,
  CallHandover,
  ComplaintBook,
];

/**
 * The call record without its content (no key, no cipher): holds, callers, recordings, retention
 * paging and the row steps of destruction, over the app's records data source (TypeORM default).
 * For the worker and the retention report; the gateway, whose data source connects lazily,
 * builds these classes (and CallLifecycle) over it itself.
 */
@Module({
  providers: [
    ...RECORD_STORES,
    // Built over a data source or a transaction's manager (the libs make them per transaction); over the app's data source here.
    { provide: CallbackBook, inject: [getDataSourceToken()], useFactory: (db: DataSource) => new CallbackBook(db) },
    { provide: CallLegs, inject: [getDataSourceToken()], useFactory: (db: DataSource) => new CallLegs(db) },
  ],
  exports: [...RECORD_STORES, CallbackBook, CallLegs],
})
export class CallRecordsModule {}
