import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 24: records' sessions in its own database, not only in Redis (which the gateway's host could
 * write to), so that deleting or rewriting a Redis key can neither revive a session that ended nor
 * unlock a locked one:
 *  - `staff_sessions`: one row per session begun by signing in (or ended or locked without one):
 *    when it began and from where (for its member's list), when it last made a request (the idle
 *    limit), when it last proved password and factor (step-up), whether it is locked (the console's
 *    idle lock) and when and why it ended;
 *  - `staff.sessions_ended_before`: every session of the member issued up to this time (ms) has ended
 *    (deactivation, a new role, a new password, a factor reset).
 * Redis keeps the gateway's fast copy (docs/records.md, "Tokens and sessions"). The gateway has no grant on
 * either: its grant on `staff` names columns (id, display_name).
 */
export class StaffSessions1764000002400 implements MigrationInterface {
  name = 'StaffSessions1764000002400';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE staff ADD COLUMN sessions_ended_before BIGINT NULL');
    await q.query(`CREATE TABLE staff_sessions (
      sid VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL PRIMARY KEY,
      staff_id CHAR(36) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
      issued_at_ms BIGINT NOT NULL,
      started_at DATETIME(3) NOT NULL,
      expires_at DATETIME(3) NOT NULL,
      address VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
      user_agent VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
      signed_in TINYINT(1) NOT NULL DEFAULT 0,
      last_seen_at DATETIME(3) NULL,
      stepped_up_at DATETIME(3) NULL,
      locked_at DATETIME(3) NULL,
      ended_at DATETIME(3) NULL,
      ended_reason VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
      KEY staff_sessions_staff (staff_id, ended_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE staff_sessions');
    await q.query('ALTER TABLE staff DROP COLUMN sessions_ended_before');
  }
}
