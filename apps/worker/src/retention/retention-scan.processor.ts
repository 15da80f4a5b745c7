import { Inject, Injectable, Logger } from '@nestjs/common';
import { CallRetention, ExpiredCursor, HourlyStats } from '@hotline/calls';
import { Clock, systemClock } from '@hotline/clock';
import { RetentionConfig, durationMs } from '@hotline/config';
import { RetentionJobs } from '@hotline/jobs';
import { RETENTION_CONFIG, RecordingRetentionService, retentionMetrics } from '@hotline/retention';

export interface ScanResult {
  queued: number;
  recordingsDeleted: number;
  recordingsFailed: number;
  /** Calls counted into the hourly statistics by this scan. */
  statsCounted: number;
}

/**
 * How long after its end a call is counted into the hourly statistics by the scan (wrap-up,
 * assessment and escalations are done by then). A call destroyed sooner is counted as it is
 * destroyed (CallDestructionSteps.deleteRows), so no call is ever missed.
 */
export const STATS_SETTLE_MS = 3_600_000;

/**
 * Pages through expired, unheld calls in MySQL (the source of truth: if Redis lost every job,
 * this finds the same work again) and queues one secure-delete per call; then deletes the
 * recordings whose own deadline passed on calls that are still kept.
 */
@Injectable()
export class RetentionScanProcessor {
  private readonly logger = new Logger(RetentionScanProcessor.name);
  /** Property-injected (the system clock unless the app was given one), so tests move time instead of sleeping. */
  @Inject(Clock) private readonly clock: Clock = systemClock;

  constructor(
    private readonly calls: CallRetention,
    @Inject(RETENTION_CONFIG) private readonly cfg: RetentionConfig,
    private readonly queue: RetentionJobs,
    private readonly recordings: RecordingRetentionService,
    private readonly stats: HourlyStats,
  ) {}

  async process(now = this.clock.now()): Promise<ScanResult> {
    const stop = retentionMetrics.scanDuration().startTimer();
    try {
      const statsCounted = await this.stats.countSettled(new Date(now.getTime() - STATS_SETTLE_MS), this.cfg.batchSize);
      let queued = 0;
      let cursor: ExpiredCursor | undefined;
      do {
        const page = await this.calls.expiredPage(now, this.cfg.batchSize, cursor);
        await this.queue.addSecureDeleteBatch(page.ids);
        queued += page.ids.length;
        cursor = page.next;
      } while (cursor);

      let recordingsDeleted = 0;
      let recordingsFailed = 0;
      for (;;) {
        const r = await this.recordings.deleteExpired(now, this.cfg.batchSize);
        recordingsDeleted += r.deleted;
        recordingsFailed += r.failed;
        if (r.failed || r.deleted < this.cfg.batchSize) break;
      }

      const overdue = await this.calls.countExpired(new Date(now.getTime() - durationMs(this.cfg.scanEvery)));
      retentionMetrics.overdue().set(overdue);
      retentionMetrics.expired().set(await this.calls.countExpired(now));
      if (overdue) this.logger.warn({ msg: 'expired calls still present a scan interval after their deadline', calls: overdue });
      return { queued, recordingsDeleted, recordingsFailed, statsCounted };
    } finally {
      stop();
    }
  }
}
