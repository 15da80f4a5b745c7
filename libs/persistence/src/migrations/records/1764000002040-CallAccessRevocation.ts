import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Need-to-know grants that end (issue 24): a warm transfer gives the colleague read access to the
 * call's record when they join (`call_access`); if the transfer then fails (the colleague left before
 * the handover), that grant is revoked.
 *  - `call_access.transfer_id`: the transfer that made the grant (NULL for grants made before this
 *    migration), so that a failed transfer revokes its own grant only, never an earlier one the
 *    colleague held already;
 *  - `call_access.revoked_at`: set when the grant is revoked (audited `call.access_revoked`); records'
 *    need-to-know checks read only grants with none. A row, not a DELETE: the gateway, which writes
 *    transfers, has no DELETE on the table, and the row stays until its call is destroyed.
 */
export class CallAccessRevocation1764000002040 implements MigrationInterface {
  name = 'CallAccessRevocation1764000002040';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'ALTER TABLE call_access ADD COLUMN transfer_id CHAR(36) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL, ADD COLUMN revoked_at DATETIME(3) NULL',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE call_access DROP COLUMN revoked_at, DROP COLUMN transfer_id');
  }
}
