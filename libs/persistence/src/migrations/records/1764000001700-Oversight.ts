import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Oversight (issue 17): the audit trail searchable by actor and time, content-free hourly
 * statistics that outlive the calls they count (and the mark that says a call is counted),
 * complaints (their free text encrypted under a data key of their own).
 */
export class Oversight1764000001700 implements MigrationInterface {
  name = 'Oversight1764000001700';

  async up(q: QueryRunner): Promise<void> {
    const opts = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
    await q.query('ALTER TABLE audit_log ADD KEY ix_audit_actor_at (actor_id, at), ADD KEY ix_audit_at (at)');
    await q.query('ALTER TABLE calls ADD COLUMN stats_counted_at DATETIME(3) NULL, ADD KEY ix_calls_stats (stats_counted_at, ended_at)');
    // One row per hour, metric and bucket (a wait-time band, a risk level; '' when none): counts only.
    await q.query(`CREATE TABLE stats_hourly (
      hour DATETIME NOT NULL,
      metric VARCHAR(48) NOT NULL,
      bucket VARCHAR(32) NOT NULL DEFAULT '',
      n INT NOT NULL DEFAULT 0,
      PRIMARY KEY (hour, metric, bucket)
    ) ${opts}`);
    await q.query(`CREATE TABLE complaints (
      id CHAR(36) NOT NULL PRIMARY KEY,
      received_at DATETIME(3) NOT NULL,
      received_via VARCHAR(16) NOT NULL,
      call_id CHAR(36) NULL,
      staff_id CHAR(36) NULL,
      category VARCHAR(32) NOT NULL,
      body_enc BLOB NOT NULL,
      status VARCHAR(16) NOT NULL,
      due_at DATETIME(3) NOT NULL,
      recorded_by CHAR(36) NOT NULL,
      recorded_role VARCHAR(32) NOT NULL,
      updated_at DATETIME(3) NOT NULL,
      resolved_at DATETIME(3) NULL,
      KEY ix_complaints_status (status, due_at),
      KEY ix_complaints_call (call_id),
      KEY ix_complaints_staff (staff_id)
    ) ${opts}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE complaints');
    await q.query('DROP TABLE stats_hourly');
    await q.query('ALTER TABLE calls DROP KEY ix_calls_stats, DROP COLUMN stats_counted_at');
    await q.query('ALTER TABLE audit_log DROP KEY ix_audit_at, DROP KEY ix_audit_actor_at');
  }
}
