import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '@hotline/audit';
import { CallDestructionSteps, LegalHolds, STRAY_ROW_TABLES } from '@hotline/calls';
import { Clock, systemClock } from '@hotline/clock';
import { DataKeyStore } from '@hotline/crypto';
import { TwilioService } from '@hotline/twilio';
import { retentionMetrics } from './metrics';

export interface ReconcileResult {
  /** Keys whose call is gone (destroyed, or never opened): destroyed. */
  orphanKeysDestroyed: number;
  /** Rows written for a call after its destruction (e.g. a late recording callback): deleted. */
  strayRowsDeleted: number;
  /** Calls under legal hold that have content but no key: unreadable already, reported for a human. */
  heldWithoutKey: number;
}

/** A data key younger than this may belong to a call whose row is still on its way (the gateway replays openings). */
export const ORPHAN_KEY_MIN_AGE_MS = 60 * 60 * 1000;

/**
 * Finds and finishes anything left half-way between the two databases and Twilio. The other
 * half-way state, a call row whose key is already gone (a destruction interrupted between key
 * and rows), needs nothing here: the call is still expired and unheld, so the next scan queues
 * it again and its secure-delete skips the key step as already done.
 */
@Injectable()
export class ReconcileService {
  private readonly logger = new Logger(ReconcileService.name);
  /** Property-injected (the system clock unless the app was given one), so tests move time instead of sleeping. */
  @Inject(Clock) private readonly clock: Clock = systemClock;

  constructor(
    private readonly calls: CallDestructionSteps,
    private readonly holds: LegalHolds,
    private readonly keys: DataKeyStore,
    private readonly twilio: TwilioService,
    private readonly audit: AuditService,
  ) {}

  async run(now = this.clock.now(), pageSize = 500, orphanKeyMinAgeMs = ORPHAN_KEY_MIN_AGE_MS): Promise<ReconcileResult> {
    const orphanKeysDestroyed = await this.orphanKeys(now, pageSize, orphanKeyMinAgeMs);
    const strayRowsDeleted = await this.strayRows(pageSize);
    const heldWithoutKey = await this.heldWithoutKey();
    if (heldWithoutKey)
      this.logger.warn({ msg: 'held calls have content but no data key: it was destroyed before the hold', calls: heldWithoutKey });
    return { orphanKeysDestroyed, strayRowsDeleted, heldWithoutKey };
  }

  /**
   * A key without a call row: destroyed if the call has a certificate (it was destroyed and the
   * key outlived it), or if it is older than `minAgeMs` (records creates keys lazily on the first
   * note, which needs the call row; only a row still being replayed could be late, never by an hour).
   */
  private async orphanKeys(now: Date, pageSize: number, minAgeMs: number): Promise<number> {
    const cutoff = new Date(now.getTime() - minAgeMs);
    let after = '';
    let destroyed = 0;
    for (;;) {
      const page = await this.keys.list(after, pageSize);
      if (!page.length) break;
      after = page[page.length - 1].callId;
      const ids = page.map((k) => k.callId);
      const present = await this.calls.present(ids);
      const certified = await this.calls.certificateIds(ids);
      for (const k of page) {
        if (present.has(k.callId)) continue;
        if (!certified.has(k.callId) && k.createdAt > cutoff) continue;
        // Re-checked under the call's id right before: a row that appeared since the page was read keeps its key.
        if (await this.calls.isPresent(k.callId)) continue;
        if ((await this.keys.destroy(k.callId)) === 'destroyed') {
          destroyed++;
          retentionMetrics.reconciled().inc({ kind: 'orphan_key' });
          await this.audit.append({
            actorId: null,
            actorRole: 'system',
            action: 'retention.orphan_key_destroyed',
            targetType: 'call',
            targetId: k.callId,
            detail: { certified: certified.has(k.callId) },
          });
        }
      }
      if (page.length < pageSize) break;
    }
    return destroyed;
  }

  /** Rows of a destroyed call (certificate, no call row) that arrived after it went. */
  private async strayRows(pageSize: number): Promise<number> {
    let deleted = 0;
    for (const table of STRAY_ROW_TABLES) {
      for (;;) {
        const callIds = await this.calls.strayCallIds(table, pageSize);
        if (!callIds.length) break;
        const before = deleted;
        for (const callId of callIds) {
          if (table === 'recordings') {
            for (const sid of await this.calls.recordingSidsAtTwilio(callId)) await this.twilio.deleteRecording(sid);
          }
          await this.calls.transaction(async (m) => {
            const rows = await this.calls.deleteStrayRows(table, callId, m);
            if (!rows) return;
            deleted += rows;
            retentionMetrics.reconciled().inc({ kind: 'stray_rows' }, rows);
            await this.audit.append(
              {
                actorId: null,
                actorRole: 'system',
                action: 'retention.stray_rows_deleted',
                targetType: 'call',
                targetId: callId,
                detail: { table, rows },
              },
              m,
            );
          });
        }
        if (callIds.length < pageSize || deleted === before) break;
      }
    }
    return deleted;
  }

  private async heldWithoutKey(): Promise<number> {
    let n = 0;
    for (const callId of await this.holds.heldCallsWithContent()) if (!(await this.keys.exists(callId))) n++;
    return n;
  }
}
