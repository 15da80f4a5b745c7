import { Inject, Injectable, Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { RETENTION_CONFIG, RetentionConfig } from '@hotline/config';
import { CallRecordJobs, JobName, jobId } from '@hotline/jobs';
import { counter, withTimeout } from '@hotline/observability';
import { DataSource } from 'typeorm';
import {
  CALL_LEG_KINDS,
  CallEventPayload,
  CallLegKind,
  CallLifecycle,
  CallRowMissing,
  OpenCallPayload,
  SupervisionEventPayload,
} from '@hotline/calls/records';
import { RecordsDb } from '../records-db';
import { GatewayRecords } from './gateway-records';

const DIRECT_WRITE_MS = 1500;
/**
 * A supervision's write must be ready to commit this long before the gateway gives up on it, or it
 * rolls back: what the gateway answers the supervisor (recorded or not) is then what MySQL keeps.
 */
const COMMIT_MARGIN_MS = 300;

const writes = counter(
  'hotline_gateway_record_writes_total',
  'Call record writes from the gateway, by path (direct, queued, lost; a supervision: direct or refused)',
  ['kind', 'path'],
);

/**
 * The gateway's writes to the records database. Each is tried at once; when MySQL does not answer
 * in time it becomes a job on `call-records` (CallRecordJobs), replayed by the CallRecordsWorker
 * inside every gateway with retries and backoff, so the call is on record once MySQL returns. The
 * caller never waits on MySQL longer than DIRECT_WRITE_MS, nor on Redis longer than FAIL_FAST_MS.
 */
@Injectable()
export class CallRecordsService {
  private readonly logger = new Logger(CallRecordsService.name);
  constructor(
    private readonly db: RecordsDb,
    private readonly repos: GatewayRecords,
    private readonly jobs: CallRecordJobs,
    @Inject(RETENTION_CONFIG) readonly retention: RetentionConfig,
  ) {}

  /** Opens the call in MySQL (idempotent on CallSid), or queues the write. */
  async open(p: OpenCallPayload): Promise<'written' | 'queued' | 'lost'> {
    return this.write(
      JobName.OpenCall,
      jobId.openCall(p.callId),
      () => this.jobs.openCall(p),
      (ds) => this.lifecycle(ds).open(p),
    );
  }

  /**
   * Any call event but a supervision (which is `supervision`'s, never queued). A supervision that
   * comes this way all the same is written directly or not at all ('lost'), never kept in a job.
   */
  async event(e: Exclude<CallEventPayload, SupervisionEventPayload>): Promise<'written' | 'queued' | 'lost'> {
    const any = e as CallEventPayload;
    if (any.kind === 'supervision') return (await this.supervision(any)) === 'written' ? 'written' : 'lost';
    return this.write(
      JobName.CallEvent,
      jobId.callEvent(e),
      () => this.jobs.callEvent(e),
      (ds) => this.lifecycle(ds).apply(e),
    );
  }

  /**
   * A supervisor's listen-in, coaching, barge or change of mode, with its stated reason (issue 24):
   * written in MySQL directly, before anything of it happens, or not at all. Never a job: the reason
   * would sit in plain text in Redis, and the leg would be dialled with its audit entry only queued.
   * 'not_written' when MySQL did not take it in DIRECT_WRITE_MS (away, slow, refusing, the call not on
   * record yet): the write then rolls back rather than commit late (COMMIT_MARGIN_MS), and the caller
   * of this must not go on. Logged by ids only (never the reason).
   */
  async supervision(e: SupervisionEventPayload): Promise<'written' | 'not_written'> {
    const notAfter = Date.now() + DIRECT_WRITE_MS - COMMIT_MARGIN_MS;
    try {
      await withTimeout(
        this.repos.conferences().then((c) => c.supervise(e, notAfter)),
        DIRECT_WRITE_MS,
      );
      writes.inc({ kind: 'supervision', path: 'direct' });
      return 'written';
    } catch (err) {
      writes.inc({ kind: 'supervision', path: 'refused' });
      // A code or a kind, never the error's text (a driver may quote what it was given).
      const why = (err as { code?: unknown }).code ?? (/^no answer within/.test((err as Error).message) ? 'timeout' : (err as Error).name);
      this.logger.warn(`supervision ${e.id} of call ${e.callId} not written (${String(why).slice(0, 40)}): not started`);
      return 'not_written';
    }
  }

  /**
   * A Twilio leg of the call that the gateway learnt (the CallSid a REST answer gave, a leg's status
   * callback, a participant joining): kept with the call (libs/calls `call_legs`), so that it is
   * deleted at Twilio with the call: a conference's participants have no parent call there, and
   * nothing else would find them. Never waits the caller: written, or queued, in the background;
   * learnt again later, it is one row. A SID only, never a number.
   */
  leg(callId: string, legSid: string, role: string): void {
    if (!(CALL_LEG_KINDS as readonly string[]).includes(role)) return;
    void this.event({ kind: 'leg', callId, legSid, role: role as CallLegKind, at: new Date().toISOString() }).catch(() => undefined);
  }

  /** libs/calls writes the record, over the data source as RecordsDb has it connected now. */
  private lifecycle(ds: DataSource): CallLifecycle {
    return new CallLifecycle(ds, this.retention);
  }

  private async write(
    name: JobName,
    id: string,
    queue: () => Promise<boolean>,
    direct: (ds: DataSource) => Promise<void>,
  ): Promise<'written' | 'queued' | 'lost'> {
    try {
      await withTimeout(
        this.db.get().then((ds) => direct(ds)),
        DIRECT_WRITE_MS,
      );
      writes.inc({ kind: name, path: 'direct' });
      return 'written';
    } catch (e) {
      if (!(e instanceof CallRowMissing))
        this.logger.warn(`${name} ${id}: records database did not take the write (${(e as Error).message.slice(0, 120)}); queueing it`);
    }
    if (await queue().catch(() => false)) {
      writes.inc({ kind: name, path: 'queued' });
      return 'queued';
    }
    writes.inc({ kind: name, path: 'lost' });
    this.logger.error(`${name} ${id}: neither MySQL nor Redis took the write`);
    return 'lost';
  }

  /** Replays a queued write (CallRecordsWorker); a throw is retried with backoff. */
  async process(job: Job): Promise<void> {
    const ds = await this.db.get();
    if (job.name === JobName.OpenCall) await this.lifecycle(ds).open(job.data as OpenCallPayload);
    else if (job.name === JobName.CallEvent) await this.lifecycle(ds).apply(job.data as CallEventPayload);
    else throw new Error(`unknown job ${job.name}`);
    if (job.attemptsMade > 0) this.logger.log(`job ${job.name} ${job.id} written after ${job.attemptsMade} retries`);
  }
}
