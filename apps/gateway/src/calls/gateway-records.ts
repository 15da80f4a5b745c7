import { Injectable } from '@nestjs/common';
import { AuditService } from '@hotline/audit';
import { CallConferenceRecords, CallbackBook, CallerRecords } from '@hotline/calls/records';
import { RecordsDb } from '../records-db';

/**
 * The record's repositories the gateway uses (libs/calls, libs/audit), each on the records database as
 * RecordsDb has it now (opened lazily, so the gateway starts and takes calls while MySQL is away): the
 * one place they are made, injected wherever they are needed.
 */
@Injectable()
export class GatewayRecords {
  constructor(private readonly db: RecordsDb) {}

  /** Callbacks and their attempts, overflow choices and consents. */
  async callbacks(): Promise<CallbackBook> {
    return new CallbackBook(await this.db.get());
  }

  /** A caller's earlier calls, by pseudonym (the "previous contacts" hint). */
  async callers(): Promise<CallerRecords> {
    return new CallerRecords(await this.db.get());
  }

  /** Supervision of a call in a conference, written before anything of it happens. */
  async conferences(): Promise<CallConferenceRecords> {
    return new CallConferenceRecords(await this.db.get());
  }

  /** The audit trail (hash-chained), for what the gateway does on its own (an SMS deleted at Twilio). */
  async audit(): Promise<AuditService> {
    return new AuditService(await this.db.get());
  }
}
