import { MigrationInterface, QueryRunner } from 'typeorm';

/** The system of record. Portable to MySQL 8 and MariaDB 10.11 (InnoDB, utf8mb4, no vendor-only types). */
export class CreateRecords1764000000000 implements MigrationInterface {
  name = 'CreateRecords1764000000000';

  async up(q: QueryRunner): Promise<void> {
    const opts = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
    await q.query(`CREATE TABLE staff (
      id CHAR(36) NOT NULL PRIMARY KEY,
      username VARCHAR(64) NOT NULL,
      display_name VARCHAR(128) NOT NULL,
      password_hash VARCHAR(255) NOT NULL,
      role VARCHAR(32) NOT NULL,
      active TINYINT(1) NOT NULL DEFAULT 1,
      failed_logins INT NOT NULL DEFAULT 0,
      locked_until DATETIME(3) NULL,
      created_at DATETIME(3) NOT NULL,
      UNIQUE KEY uq_staff_username (username)
    ) ${opts}`);
    await q.query(`CREATE TABLE calls (
      id CHAR(36) NOT NULL PRIMARY KEY,
      call_sid VARCHAR(64) NULL,
      caller_pseudonym CHAR(64) NULL,
      operator_id CHAR(36) NULL,
      status VARCHAR(16) NOT NULL,
      started_at DATETIME(3) NOT NULL,
      answered_at DATETIME(3) NULL,
      ended_at DATETIME(3) NULL,
      risk_level VARCHAR(16) NOT NULL DEFAULT 'none',
      retention_policy VARCHAR(16) NOT NULL DEFAULT 'default',
      retention_deadline DATETIME(3) NOT NULL,
      recording_consent TINYINT(1) NOT NULL DEFAULT 0,
      wrapup_category VARCHAR(64) NULL,
      last_sequence INT NOT NULL DEFAULT -1,
      created_at DATETIME(3) NOT NULL,
      UNIQUE KEY uq_calls_call_sid (call_sid),
      KEY ix_calls_operator_started (operator_id, started_at),
      KEY ix_calls_started (started_at),
      KEY ix_calls_pseudonym (caller_pseudonym),
      KEY ix_calls_deadline (retention_deadline)
    ) ${opts}`);
    await q.query(`CREATE TABLE notes (
      id CHAR(36) NOT NULL PRIMARY KEY,
      call_id CHAR(36) NOT NULL,
      author_id CHAR(36) NOT NULL,
      amends_note_id CHAR(36) NULL,
      body_enc BLOB NOT NULL,
      created_at DATETIME(3) NOT NULL,
      KEY ix_notes_call (call_id, created_at)
    ) ${opts}`);
    await q.query(`CREATE TABLE risk_assessments (
      id CHAR(36) NOT NULL PRIMARY KEY,
      call_id CHAR(36) NOT NULL,
      assessed_by CHAR(36) NOT NULL,
      risk_level VARCHAR(16) NOT NULL,
      created_at DATETIME(3) NOT NULL,
      KEY ix_risk_call (call_id, created_at)
    ) ${opts}`);
    await q.query(`CREATE TABLE consents (
      id CHAR(36) NOT NULL PRIMARY KEY,
      call_id CHAR(36) NOT NULL,
      caller_pseudonym CHAR(64) NULL,
      kind VARCHAR(16) NOT NULL,
      granted TINYINT(1) NOT NULL,
      wording_version VARCHAR(32) NOT NULL,
      decided_at DATETIME(3) NOT NULL,
      withdrawn_at DATETIME(3) NULL,
      KEY ix_consents_call (call_id),
      KEY ix_consents_pseudonym (caller_pseudonym)
    ) ${opts}`);
    await q.query(`CREATE TABLE recordings (
      id CHAR(36) NOT NULL PRIMARY KEY,
      call_id CHAR(36) NOT NULL,
      recording_sid VARCHAR(64) NOT NULL,
      status VARCHAR(16) NOT NULL,
      retention_deadline DATETIME(3) NOT NULL,
      created_at DATETIME(3) NOT NULL,
      deleted_at DATETIME(3) NULL,
      UNIQUE KEY uq_recordings_sid (recording_sid),
      KEY ix_recordings_call (call_id),
      KEY ix_recordings_deadline (retention_deadline)
    ) ${opts}`);
    await q.query(`CREATE TABLE legal_holds (
      id CHAR(36) NOT NULL PRIMARY KEY,
      call_id CHAR(36) NOT NULL,
      reason VARCHAR(500) NOT NULL,
      placed_by CHAR(36) NOT NULL,
      placed_at DATETIME(3) NOT NULL,
      lifted_by CHAR(36) NULL,
      lifted_at DATETIME(3) NULL,
      KEY ix_holds_call (call_id, lifted_at)
    ) ${opts}`);
    await q.query(`CREATE TABLE escalations (
      id CHAR(36) NOT NULL PRIMARY KEY,
      call_id CHAR(36) NOT NULL,
      operator_id CHAR(36) NOT NULL,
      risk_level VARCHAR(16) NOT NULL,
      details_enc BLOB NOT NULL,
      created_at DATETIME(3) NOT NULL,
      cosigned_by CHAR(36) NULL,
      cosigned_at DATETIME(3) NULL,
      KEY ix_escalations_call (call_id)
    ) ${opts}`);
    await q.query(`CREATE TABLE deletion_certificates (
      id CHAR(36) NOT NULL PRIMARY KEY,
      call_id CHAR(36) NOT NULL,
      reason VARCHAR(32) NOT NULL,
      retention_policy VARCHAR(16) NOT NULL,
      retention_deadline DATETIME(3) NOT NULL,
      deletion_request_id CHAR(36) NULL,
      steps JSON NOT NULL,
      destroyed_at DATETIME(3) NOT NULL,
      UNIQUE KEY uq_certificates_call (call_id),
      KEY ix_certificates_destroyed (destroyed_at)
    ) ${opts}`);
    await q.query(`CREATE TABLE deletion_requests (
      id CHAR(36) NOT NULL PRIMARY KEY,
      caller_pseudonym CHAR(64) NOT NULL,
      requested_at DATETIME(3) NOT NULL,
      verified_by VARCHAR(32) NOT NULL,
      status VARCHAR(16) NOT NULL,
      execute_after DATETIME(3) NOT NULL,
      calls_total INT NOT NULL DEFAULT 0,
      calls_held INT NOT NULL DEFAULT 0,
      calls_deleted INT NOT NULL DEFAULT 0,
      completed_at DATETIME(3) NULL,
      cancelled_at DATETIME(3) NULL,
      KEY ix_deletion_requests_pseudonym (caller_pseudonym, status)
    ) ${opts}`);
    await q.query(`CREATE TABLE audit_log (
      seq BIGINT NOT NULL PRIMARY KEY,
      at DATETIME(3) NOT NULL,
      actor_id VARCHAR(64) NULL,
      actor_role VARCHAR(32) NULL,
      action VARCHAR(64) NOT NULL,
      target_type VARCHAR(32) NULL,
      target_id VARCHAR(64) NULL,
      pseudonym CHAR(64) NULL,
      detail JSON NULL,
      prev_hash CHAR(64) NOT NULL,
      hash CHAR(64) NOT NULL,
      KEY ix_audit_target (target_type, target_id),
      KEY ix_audit_action_at (action, at)
    ) ${opts}`);
    // One row: the head of the chain. Appenders lock it (SELECT ... FOR UPDATE), so concurrent
    // writers queue up instead of forking the chain.
    await q.query(`CREATE TABLE audit_head (
      id TINYINT NOT NULL PRIMARY KEY,
      seq BIGINT NOT NULL,
      hash CHAR(64) NOT NULL
    ) ${opts}`);
    await q.query(`INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '${'0'.repeat(64)}')`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'audit_head',
      'audit_log',
      'deletion_requests',
      'deletion_certificates',
      'escalations',
      'legal_holds',
      'recordings',
      'consents',
      'risk_assessments',
      'notes',
      'calls',
      'staff',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
