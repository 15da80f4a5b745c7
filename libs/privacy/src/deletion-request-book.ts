import { Injectable, Module } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { IN_PROGRESS } from './privacy-records';

/** A deletion request as the worker carries it out (the columns as stored). */
export interface DeletionRequestRow {
  id: string;
  /** NULL once the request is done: nothing then links it to the number. */
  caller_pseudonym: string | null;
  status: string;
  execute_after: Date;
  contact_enc: Buffer | null;
  contact_key_id: string | null;
  call_sids: string | null;
  calls_held: number;
}

/** A deletion request as records officers see it: never the sealed number, and the pseudonym only while it is kept. */
export interface DeletionRequestView {
  id: string;
  caller_pseudonym: string | null;
  requested_at: Date;
  verified_by: string;
  status: string;
  execute_after: Date;
  calls_total: number;
  calls_held: number;
  calls_deleted: number;
  completed_at: Date | null;
  cancelled_at: Date | null;
  closing_sms_pending: number | string;
}

/** Never contact_enc, never the full pseudonym outside libs/privacy's callers. */
const VIEW_COLUMNS =
  'id, caller_pseudonym, requested_at, verified_by, status, execute_after, calls_total, calls_held, calls_deleted, completed_at, cancelled_at, contact_enc IS NOT NULL AS closing_sms_pending';

/** Tables of the caller's own, keyed by pseudonym, that go with a deletion (SMS records go after Twilio's copies). */
const CALLER_TABLES = ['privacy_codes', 'privacy_blocks', 'caller_preferences'] as const;

/**
 * The deletion requests made by phone and the caller's other privacy-line rows, for records (the
 * officers' list) and the worker (carrying a request out, and the reconciler). The privacy line's
 * own steps (request, cancel, withdraw) are the functions of privacy-records.ts.
 */
@Injectable()
export class DeletionRequestBook {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Runs `work` in one transaction of the records database. */
  transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  /** Up to `limit` requests newest first, after the cursor `after` when given. */
  async page(limit: number, after?: { at: Date; id: string } | null): Promise<DeletionRequestView[]> {
    return this.db.query(
      `SELECT ${VIEW_COLUMNS} FROM deletion_requests
        ${after ? 'WHERE (requested_at < ? OR (requested_at = ? AND id < ?))' : ''}
        ORDER BY requested_at DESC, id DESC LIMIT ?`,
      after ? [after.at, after.at, after.id, limit] : [limit],
    );
  }

  async view(id: string): Promise<DeletionRequestView | null> {
    const [row] = await this.db.query(`SELECT ${VIEW_COLUMNS} FROM deletion_requests WHERE id = ?`, [id]);
    return row ?? null;
  }

  /** The request as the worker carries it out, or null. */
  async find(id: string): Promise<DeletionRequestRow | null> {
    const rows: DeletionRequestRow[] = await this.db.query(
      'SELECT id, caller_pseudonym, status, execute_after, contact_enc, contact_key_id, call_sids, calls_held FROM deletion_requests WHERE id = ?',
      [id],
    );
    return rows[0] ?? null;
  }

  /** What a carried-out request counted. */
  async counts(id: string): Promise<{ deleted: number; held: number }> {
    const [row] = await this.db.query('SELECT calls_deleted, calls_held FROM deletion_requests WHERE id = ?', [id]);
    return { deleted: Number(row.calls_deleted), held: Number(row.calls_held) };
  }

  /** The request's status and due time, its row locked in `m` (the lock orders a claim against a cancellation). */
  async lock(id: string, m: EntityManager): Promise<{ status: string; executeAfter: Date } | null> {
    const [row] = await m.query('SELECT status, execute_after FROM deletion_requests WHERE id = ? FOR UPDATE', [id]);
    return row ? { status: row.status, executeAfter: new Date(row.execute_after) } : null;
  }

  /** Claimed by the worker, in `m`: from here on the caller cannot cancel. */
  async markInProgress(id: string, m: EntityManager): Promise<void> {
    await m.query('UPDATE deletion_requests SET status = ? WHERE id = ?', [IN_PROGRESS, id]);
  }

  /**
   * Closes a request with its counts and without the caller's pseudonym, in `m`; the caller's
   * earlier requests (cancelled ones) lose it too, when `pseudonym` is given: they would still
   * tie the number to the privacy line.
   */
  async close(
    id: string,
    c: { status: 'done' | 'partly_held'; deleted: number; held: number; at: Date; pseudonym: string | null },
    m: EntityManager,
  ): Promise<void> {
    await m.query(
      'UPDATE deletion_requests SET status = ?, calls_total = ?, calls_deleted = ?, calls_held = ?, completed_at = ?, caller_pseudonym = NULL WHERE id = ?',
      [c.status, c.deleted + c.held, c.deleted, c.held, c.at, id],
    );
    if (c.pseudonym)
      await m.query("UPDATE deletion_requests SET caller_pseudonym = NULL WHERE caller_pseudonym = ? AND status NOT IN ('pending', ?)", [
        c.pseudonym,
        IN_PROGRESS,
      ]);
  }

  /** The number sealed for the closing SMS, and the one-time key it is sealed to. */
  async sealedContact(id: string): Promise<{ contactEnc: Buffer | null; contactKeyId: string | null } | null> {
    const [row] = await this.db.query('SELECT contact_enc, contact_key_id FROM deletion_requests WHERE id = ?', [id]);
    return row ? { contactEnc: row.contact_enc ?? null, contactKeyId: row.contact_key_id ?? null } : null;
  }

  /** The sealed number erased (sent, or given up), in `m`. */
  async eraseContact(id: string, m: EntityManager): Promise<void> {
    await m.query('UPDATE deletion_requests SET contact_enc = NULL WHERE id = ?', [id]);
  }

  /** The one-time key's id forgotten once the key is destroyed. */
  async forgetContactKey(id: string, keyId: string): Promise<void> {
    await this.db.query('UPDATE deletion_requests SET contact_key_id = NULL WHERE id = ? AND contact_key_id = ?', [id, keyId]);
  }

  /** Up to `limit` requests whose sealed number is erased (sent, given up, cancelled) and whose one-time key is still there. */
  async spentContactKeys(limit: number): Promise<{ id: string; contactKeyId: string }[]> {
    const rows: { id: string; contact_key_id: string }[] = await this.db.query(
      `SELECT id, contact_key_id FROM deletion_requests
        WHERE contact_key_id IS NOT NULL AND contact_enc IS NULL AND status NOT IN ('pending', ?) LIMIT ${Number(limit)}`,
      [IN_PROGRESS],
    );
    return rows.map((r) => ({ id: r.id, contactKeyId: r.contact_key_id }));
  }

  /** Up to `limit` requests still owed: not carried out, or carried out with the closing SMS not sent. */
  async owed(limit: number): Promise<{ id: string; executeAfter: Date }[]> {
    const rows: { id: string; execute_after: Date }[] = await this.db.query(
      `SELECT id, execute_after FROM deletion_requests
        WHERE status IN ('pending', ?) OR (status IN ('done', 'partly_held') AND contact_enc IS NOT NULL)
        ORDER BY execute_after LIMIT ${Number(limit)}`,
      [IN_PROGRESS],
    );
    return rows.map((r) => ({ id: r.id, executeAfter: new Date(r.execute_after) }));
  }

  /** The SMS sent to the caller (their SIDs, and whether each is deleted at Twilio already). */
  async callerSms(pseudonym: string): Promise<{ messageSid: string; deletedAt: Date | null }[]> {
    const rows: { message_sid: string; deleted_at: Date | null }[] = await this.db.query(
      'SELECT message_sid, deleted_at FROM sms_messages WHERE caller_pseudonym = ?',
      [pseudonym],
    );
    return rows.map((r) => ({ messageSid: r.message_sid, deletedAt: r.deleted_at }));
  }

  /** Up to `limit` SMS sent before `before` and not yet deleted at Twilio. */
  async smsNotDeleted(before: Date, limit: number): Promise<string[]> {
    const rows: { message_sid: string }[] = await this.db.query(
      `SELECT message_sid FROM sms_messages WHERE deleted_at IS NULL AND sent_at < ? LIMIT ${Number(limit)}`,
      [before],
    );
    return rows.map((r) => r.message_sid);
  }

  /**
   * The caller's privacy-line rows deleted: the SMS records of `smsSids` (once deleted at Twilio),
   * their codes, lockout and preferences. Returns the rows removed per table.
   */
  async removeCallerRows(pseudonym: string, smsSids: string[]): Promise<Record<string, number>> {
    const removed: Record<string, number> = {};
    removed.sms_messages = smsSids.length
      ? (await this.db.query('DELETE FROM sms_messages WHERE caller_pseudonym = ? AND message_sid IN (?)', [pseudonym, smsSids]))
          .affectedRows
      : 0;
    for (const t of CALLER_TABLES)
      removed[t] = (await this.db.query(`DELETE FROM ${t} WHERE caller_pseudonym = ?`, [pseudonym])).affectedRows;
    return removed;
  }
}

/** DeletionRequestBook for the apps that handle deletion requests (records, the worker). Needs PersistenceModule. */
@Module({ providers: [DeletionRequestBook], exports: [DeletionRequestBook] })
export class DeletionRequestBookModule {}
