import { Inject, Injectable } from '@nestjs/common';
import { AuditSearch } from '@hotline/audit';
import { CallDestructionSteps, CallRecordings, CallRetention, LegalHolds } from '@hotline/calls';
import { Clock, systemClock } from '@hotline/clock';
import { POLICY_NAMES, RetentionConfig, durationMs } from '@hotline/config';
import { RETENTION_CONFIG } from './retention.config';

export interface PolicyReport {
  policy: string;
  /** The policy's duration as configured (ISO 8601); null for a policy no longer in the file. */
  duration: string | null;
  calls: number;
  held: number;
  /** The oldest call not under legal hold, against its policy. */
  oldestUnheld: null | {
    startedAt: string;
    ageSeconds: number;
    policySeconds: number | null;
    deadline: string;
    /** Its deadline has not passed, or passed less than one scan interval ago. */
    withinPolicy: boolean;
  };
}

export interface RetentionReport {
  generatedAt: string;
  scanEvery: string;
  policies: PolicyReport[];
  /** Expired, unheld calls still present a full scan interval after their deadline. Should be 0. */
  overdue: number;
  /** Expired, unheld calls whose deadline passed within the last scan interval: queued, not late. */
  awaitingDeletion: number;
  /** Recordings past their own deadline by more than a scan interval, not deleted at Twilio. Should be 0. */
  overdueRecordings: number;
  holdsInForce: { holds: number; calls: number };
  deletions: { lastDay: number; lastWeek: number; byReasonLastWeek: Record<string, number> };
  /**
   * What destroyed calls left at Twilio (their call and recording resources), waiting sealed for
   * deletion there. `overdue`: some has waited longer than a scan interval (Twilio unreachable or refusing).
   */
  twilioCleanup: { calls: number; oldestQueuedAt: string | null; overdue: boolean };
  /** Secure deletions (or their Twilio cleanups) that failed their last attempt (the next scan or reconciliation retries them). */
  failures: { lastDay: number; lastWeek: number };
  /** True when nothing older than policy remains: no overdue call or recording. */
  ok: boolean;
}

const DAY_MS = 24 * 3600 * 1000;

/** The self-test of retention: proves that nothing older than its policy remains. */
@Injectable()
export class RetentionReportService {
  /** Property-injected (the system clock unless the app was given one), so tests move time instead of sleeping. */
  @Inject(Clock) private readonly clock: Clock = systemClock;

  constructor(
    private readonly calls: CallRetention,
    private readonly audit: AuditSearch,
    private readonly recordings: CallRecordings,
    private readonly holds: LegalHolds,
    private readonly destruction: CallDestructionSteps,
    @Inject(RETENTION_CONFIG) private readonly cfg: RetentionConfig,
  ) {}

  async report(now = this.clock.now()): Promise<RetentionReport> {
    const scanMs = durationMs(this.cfg.scanEvery);
    const lateBefore = new Date(now.getTime() - scanMs);
    const groups = await this.calls.countByPolicy();
    const names = [...new Set([...POLICY_NAMES, ...groups.map((g) => g.policy)])];
    const policies: PolicyReport[] = [];
    for (const policy of names) {
      const g = groups.find((x) => x.policy === policy);
      const duration = (this.cfg.policies as Record<string, { source: string } | undefined>)[policy];
      const oldest = await this.calls.oldestUnheld(policy);
      policies.push({
        policy,
        duration: duration?.source ?? null,
        calls: Number(g?.calls ?? 0),
        held: Number(g?.held ?? 0),
        oldestUnheld: oldest
          ? {
              startedAt: oldest.startedAt.toISOString(),
              ageSeconds: Math.floor((now.getTime() - oldest.startedAt.getTime()) / 1000),
              policySeconds: duration ? Math.floor(durationMs(duration as any) / 1000) : null,
              deadline: oldest.retentionDeadline.toISOString(),
              withinPolicy: oldest.retentionDeadline > lateBefore,
            }
          : null,
      });
    }
    const overdue = await this.calls.countExpired(lateBefore);
    const awaitingDeletion = (await this.calls.countExpired(now)) - overdue;
    const overdueRecordings = await this.recordings.countExpired(lateBefore);
    const holdsInForce = await this.holds.countInForce();
    const dayAgo = new Date(now.getTime() - DAY_MS);
    const weekAgo = new Date(now.getTime() - 7 * DAY_MS);
    const byReason = await this.calls.certificatesByReasonSince({ day: dayAgo, week: weekAgo });
    const failures = await this.audit.countSince(['call.destroy_failed', 'twilio_cleanup.failed'], { day: dayAgo, week: weekAgo });
    const cleanup = await this.destruction.twilioCleanupBacklog();
    const cleanupOverdue = !!cleanup.oldest && cleanup.oldest < lateBefore;
    return {
      generatedAt: now.toISOString(),
      scanEvery: this.cfg.scanEvery.source,
      policies,
      overdue,
      awaitingDeletion,
      overdueRecordings,
      holdsInForce,
      deletions: {
        lastDay: byReason.reduce((n, r) => n + Number(r.day), 0),
        lastWeek: byReason.reduce((n, r) => n + Number(r.week), 0),
        byReasonLastWeek: Object.fromEntries(byReason.map((r) => [r.reason, Number(r.week)])),
      },
      twilioCleanup: { calls: cleanup.calls, oldestQueuedAt: cleanup.oldest?.toISOString() ?? null, overdue: cleanupOverdue },
      failures: { lastDay: Number(failures.day), lastWeek: Number(failures.week) },
      ok: overdue === 0 && overdueRecordings === 0 && !cleanupOverdue,
    };
  }
}
