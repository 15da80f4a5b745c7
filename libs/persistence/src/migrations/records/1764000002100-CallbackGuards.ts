import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Callbacks the gateway cannot redirect, nor use to run up charges (issue 24). The gateway's MySQL
 * account now writes only the columns a new request sets (scripts/db-accounts.sql); what it may not
 * write takes its default or is set by records:
 *  - `callbacks.kind` defaults to `callback`, `status` to `open`: the gateway's INSERT names neither,
 *    so it can only file callbacks, open ones; follow-ups (`kind = 'followup'`) are filed by records
 *    alone (the gateway has no INSERT right on `kind`). A CHECK keeps `kind` to the two kinds.
 *  - `callbacks.number_moved_at`: when the number went under the call's data key (records moved it
 *    from its one-time seal, or filed a follow-up so). A sealed number on a row that has one, or that
 *    has `number_enc`, was planted after the move: records refuses it (closes the callback, erases
 *    both, audits `callback.seal_refused`), never dials it.
 *  - `callbacks.country`: the ISO 3166 country of the number, set by records when it opens the
 *    number (never the gateway's word): the operators' list shows it, never the number.
 *  - `attempts` now counts the attempt under way (records adds it when it places the call, and sets
 *    when the next may be made, `due_at`); a callback being dialled at this migration is counted so.
 * Numbers already under their call's key are marked moved.
 */
export class CallbackGuards1764000002100 implements MigrationInterface {
  name = 'CallbackGuards1764000002100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE callbacks
         MODIFY kind VARCHAR(16) NOT NULL DEFAULT 'callback',
         MODIFY status VARCHAR(16) NOT NULL DEFAULT 'open',
         ADD COLUMN number_moved_at DATETIME(3) NULL,
         ADD COLUMN country CHAR(2) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL`,
    );
    await q.query("ALTER TABLE callbacks ADD CONSTRAINT ck_callbacks_kind CHECK (kind IN ('callback', 'followup'))");
    await q.query('UPDATE callbacks SET number_moved_at = created_at WHERE number_enc IS NOT NULL AND number_moved_at IS NULL');
    await q.query("UPDATE callbacks SET attempts = attempts + 1 WHERE status = 'dialling'");
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query("UPDATE callbacks SET attempts = GREATEST(attempts - 1, 0) WHERE status = 'dialling'");
    await q.query('ALTER TABLE callbacks DROP CONSTRAINT ck_callbacks_kind');
    await q.query(
      `ALTER TABLE callbacks DROP COLUMN country, DROP COLUMN number_moved_at,
         MODIFY kind VARCHAR(16) NOT NULL, MODIFY status VARCHAR(16) NOT NULL`,
    );
  }
}
