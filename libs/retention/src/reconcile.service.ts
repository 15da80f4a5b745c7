import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '@hotline/audit';
import { RETENTION_CONFIG, RetentionConfig, durationMs } from '@hotline/config';
import { CallDestructionSteps, LegalHolds, STRAY_ROW_TABLES } from '@hotline/calls';
import { Clock, systemClock } from '@hotline/clock';
import { DataKeyEntry, DataKeyStore } from '@hotline/crypto';
import { TwilioService, isTwilioNotYetDeletable } from '@hotline/twilio';
import { retentionMetrics } from './metrics';

export interface ReconcileResult {
  /** Keys whose call is gone (destroyed, or never opened past its quarantine): destroyed. */
  orphanKeysDestroyed: number;
  /** Keys whose call row is missing, now in quarantine (not destroyed before `orphanKeyQuarantine`). */
  orphanKeysQuarantined: number;
  /** Keys taken out of quarantine because their call row is back. */
  orphanKeysReleased: number;
  /** Set when the reconciler refused to destroy any key (and said so loudly): why. */
  refused?: 'keystore_paired_elsewhere' | 'too_many_orphans' | 'records_database_unknown';
  /** Rows written for a call after its destruction (e.g. a late recording callback): deleted. */
  strayRowsDeleted: number;
  /** Calls under legal hold that have content but no key: unreadable already, reported for a human. */
  heldWithoutKey: number;
}

/** Up to this many orphan keys never trigger the share rule (a young deployment has few keys; one orphan is not a wrong database). */
export const ORPHAN_REFUSAL_FLOOR = 10;

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
    @Inject(RETENTION_CONFIG) private readonly cfg: RetentionConfig,
  ) {}

  async run(now = this.clock.now(), pageSize = 500, orphanKeyMinAgeMs = ORPHAN_KEY_MIN_AGE_MS): Promise<ReconcileResult> {
    const keys = await this.orphanKeys(now, pageSize, orphanKeyMinAgeMs);
    const strayRowsDeleted = await this.strayRows(pageSize);
    const heldWithoutKey = await this.heldWithoutKey();
    if (heldWithoutKey)
      this.logger.warn({ msg: 'held calls have content but no data key: it was destroyed before the hold', calls: heldWithoutKey });
    return { ...keys, strayRowsDeleted, heldWithoutKey };
  }

  /**
   * Keys without a call row. Three guards stand between a wrong database and shredded live calls:
   *  - the keystore is paired with one records database (records_identity); against any other
   *    (empty, restored elsewhere, mistyped URL) nothing is destroyed;
   *  - when more than `maxOrphanKeyShare` of all keys (and more than ORPHAN_REFUSAL_FLOOR) would be
   *    orphans (a restore under way, a half-empty database), nothing is destroyed;
   *  - a key whose call has no certificate is quarantined first and destroyed only after
   *    `orphanKeyQuarantine`, if its row has not come back by then (it is released if it has).
   * A key whose call has a certificate (its destruction was interrupted) is destroyed at once.
   * Every refusal is audited, logged as an error and counted (`hotline_reconcile_refused_total`).
   */
  private async orphanKeys(
    now: Date,
    pageSize: number,
    minAgeMs: number,
  ): Promise<Pick<ReconcileResult, 'orphanKeysDestroyed' | 'orphanKeysQuarantined' | 'orphanKeysReleased' | 'refused'>> {
    const none = { orphanKeysDestroyed: 0, orphanKeysQuarantined: 0, orphanKeysReleased: 0 };
    const recordsId = await this.calls.recordsDatabaseId();
    if (!recordsId) return this.refuse(none, 'records_database_unknown', {});
    const paired = await this.keys.pairedWith();
    if (paired && paired !== recordsId) return this.refuse(none, 'keystore_paired_elsewhere', {});

    // One pass over the keys: which have no row, and of those which are certified.
    const cutoff = new Date(now.getTime() - minAgeMs);
    const orphans: (DataKeyEntry & { certified: boolean })[] = [];
    const back: string[] = [];
    let total = 0;
    let after = '';
    for (;;) {
      const page = await this.keys.list(after, pageSize);
      if (!page.length) break;
      total += page.length;
      after = page[page.length - 1].callId;
      const ids = page.map((k) => k.callId);
      const present = await this.calls.present(ids);
      const certified = await this.calls.certificateIds(ids);
      for (const k of page) {
        if (present.has(k.callId)) {
          if (k.quarantinedAt) back.push(k.callId);
          continue;
        }
        if (!certified.has(k.callId) && k.createdAt > cutoff) continue;
        orphans.push({ ...k, certified: certified.has(k.callId) });
      }
      if (page.length < pageSize) break;
    }
    await this.keys.release(back);
    const uncertified = orphans.filter((k) => !k.certified);
    if (uncertified.length > ORPHAN_REFUSAL_FLOOR && uncertified.length / total > this.cfg.maxOrphanKeyShare) {
      return this.refuse({ ...none, orphanKeysReleased: back.length }, 'too_many_orphans', {
        orphans: uncertified.length,
        keys: total,
        maxShare: this.cfg.maxOrphanKeyShare,
      });
    }
    if (!paired) await this.keys.pair(recordsId);

    const quarantineMs = durationMs(this.cfg.orphanKeyQuarantine);
    const fresh = uncertified.filter((k) => !k.quarantinedAt).map((k) => k.callId);
    await this.keys.quarantine(fresh, now);
    const due = orphans.filter((k) => k.certified || (k.quarantinedAt && k.quarantinedAt.getTime() + quarantineMs <= now.getTime()));
    let destroyed = 0;
    for (const k of due) {
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
          detail: { certified: k.certified, ...(k.quarantinedAt ? { quarantinedAt: k.quarantinedAt.toISOString() } : {}) },
        });
      }
    }
    return { orphanKeysDestroyed: destroyed, orphanKeysQuarantined: fresh.length, orphanKeysReleased: back.length };
  }

  private async refuse<T extends object>(
    result: T,
    why: NonNullable<ReconcileResult['refused']>,
    detail: Record<string, unknown>,
  ): Promise<T & { refused: typeof why }> {
    this.logger.error({ msg: 'reconciliation refused to destroy any data key', reason: why, ...detail });
    retentionMetrics.reconcileRefused().inc({ reason: why });
    await this.audit.append({
      actorId: null,
      actorRole: 'system',
      action: 'retention.reconcile_refused',
      detail: { reason: why, ...detail },
    });
    return { ...result, refused: why };
  }

  /**
   * Rows of a destroyed call (certificate, no call row) that arrived after it went. What they name at
   * Twilio goes first: a late recording, a leg learnt late (a call Twilio will not delete yet, 20009,
   * keeps its row for the next run).
   */
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
          if (table === 'call_legs' && !(await this.deleteLegsAtTwilio(callId))) continue;
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

  /** A destroyed call's stray legs, deleted at Twilio; false when Twilio will not delete one yet (the row waits). */
  private async deleteLegsAtTwilio(callId: string): Promise<boolean> {
    let all = true;
    for (const sid of await this.calls.legSidsAtTwilio(callId)) {
      try {
        await this.twilio.deleteCall(sid);
      } catch (e) {
        if (!isTwilioNotYetDeletable(e)) throw e;
        all = false;
      }
    }
    return all;
  }

  private async heldWithoutKey(): Promise<number> {
    let n = 0;
    for (const callId of await this.holds.heldCallsWithContent()) if (!(await this.keys.exists(callId))) n++;
    return n;
  }
}
