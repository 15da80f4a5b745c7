import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { Clock, systemClock } from '@hotline/clock';
import { KeystoreService } from '@hotline/crypto';
import { KEYSTORE } from '@hotline/persistence';
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

const STRAY_TABLES = ['notes', 'risk_assessments', 'consents', 'escalations', 'recordings'] as const;

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
    @InjectDataSource() private readonly db: DataSource,
    @InjectDataSource(KEYSTORE) private readonly keys: DataSource,
    private readonly keystore: KeystoreService,
    private readonly twilio: TwilioService,
    private readonly audit: AuditService,
  ) {}

  async run(now = this.clock.now(), pageSize = 500, orphanKeyMinAgeMs = ORPHAN_KEY_MIN_AGE_MS): Promise<ReconcileResult> {
    const orphanKeysDestroyed = await this.orphanKeys(now, pageSize, orphanKeyMinAgeMs);
    const strayRowsDeleted = await this.strayRows(pageSize);
    const heldWithoutKey = await this.heldWithoutKey();
    if (heldWithoutKey) this.logger.warn({ msg: 'held calls have content but no data key: it was destroyed before the hold', calls: heldWithoutKey });
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
      const page: { call_id: string; created_at: Date }[] = await this.keys.query('SELECT call_id, created_at FROM data_keys WHERE call_id > ? ORDER BY call_id LIMIT ?', [after, pageSize]);
      if (!page.length) break;
      after = page[page.length - 1].call_id;
      const ids = page.map((k) => k.call_id);
      const present = new Set((await this.db.query('SELECT id FROM calls WHERE id IN (?)', [ids])).map((r: { id: string }) => r.id));
      const certified = new Set((await this.db.query('SELECT call_id FROM deletion_certificates WHERE call_id IN (?)', [ids])).map((r: { call_id: string }) => r.call_id));
      for (const k of page) {
        if (present.has(k.call_id)) continue;
        if (!certified.has(k.call_id) && new Date(k.created_at) > cutoff) continue;
        // Re-checked under the call's id right before: a row that appeared since the page was read keeps its key.
        const [again] = await this.db.query('SELECT 1 AS present FROM calls WHERE id = ?', [k.call_id]);
        if (again) continue;
        if ((await this.keystore.destroy(k.call_id)) === 'destroyed') {
          destroyed++;
          retentionMetrics.reconciled().inc({ kind: 'orphan_key' });
          await this.audit.append({ actorId: null, actorRole: 'system', action: 'retention.orphan_key_destroyed', targetType: 'call', targetId: k.call_id, detail: { certified: certified.has(k.call_id) } });
        }
      }
      if (page.length < pageSize) break;
    }
    return destroyed;
  }

  /** Rows of a destroyed call (certificate, no call row) that arrived after it went. */
  private async strayRows(pageSize: number): Promise<number> {
    let deleted = 0;
    for (const table of STRAY_TABLES) {
      for (;;) {
        const rows: { call_id: string }[] = await this.db.query(
          `SELECT DISTINCT t.call_id FROM ${table} t JOIN deletion_certificates d ON d.call_id = t.call_id
            WHERE NOT EXISTS (SELECT 1 FROM calls c WHERE c.id = t.call_id) LIMIT ?`,
          [pageSize],
        );
        if (!rows.length) break;
        const before = deleted;
        for (const { call_id: callId } of rows) {
          if (table === 'recordings') {
            const recs: { id: string; recording_sid: string }[] = await this.db.query('SELECT id, recording_sid FROM recordings WHERE call_id = ? AND deleted_at IS NULL', [callId]);
            for (const r of recs) await this.twilio.deleteRecording(r.recording_sid);
          }
          await this.db.transaction(async (m) => {
            const res = await m.query(`DELETE FROM ${table} WHERE call_id = ? AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.id = ?)`, [callId, callId]);
            if (!res.affectedRows) return;
            deleted += res.affectedRows;
            retentionMetrics.reconciled().inc({ kind: 'stray_rows' }, res.affectedRows);
            await this.audit.append({ actorId: null, actorRole: 'system', action: 'retention.stray_rows_deleted', targetType: 'call', targetId: callId, detail: { table, rows: res.affectedRows } }, m);
          });
        }
        if (rows.length < pageSize || deleted === before) break;
      }
    }
    return deleted;
  }

  private async heldWithoutKey(): Promise<number> {
    const held: { call_id: string }[] = await this.db.query(
      `SELECT DISTINCT h.call_id FROM legal_holds h
        WHERE h.lifted_at IS NULL AND (EXISTS (SELECT 1 FROM notes n WHERE n.call_id = h.call_id) OR EXISTS (SELECT 1 FROM escalations e WHERE e.call_id = h.call_id))`,
    );
    let n = 0;
    for (const { call_id } of held) if (!(await this.keystore.exists(call_id))) n++;
    return n;
  }
}
