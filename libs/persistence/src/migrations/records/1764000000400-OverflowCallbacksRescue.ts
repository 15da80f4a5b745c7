import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 15: overflow choices, callbacks and follow-ups, active rescue. Every table here belongs to a
 * call (`call_id`) and is deleted with it (libs/calls CALL_CHILD_TABLES).
 *  - `call_overflow`: each time a caller was offered other ways than waiting (why), and what they chose.
 *  - `callbacks`: a callback or follow-up the caller consented to. The number is never in clear: the
 *    gateway seals it to a one-time contact key (`sealed_number`, `contact_key_id`); records moves it
 *    under the call's own data key (`number_enc`) and the worker destroys the one-time key. Closing the
 *    callback erases `number_enc`; destroying the call destroys its data key, and so every copy.
 *  - `callback_attempts`: each outbound call placed for a callback, and how it ended.
 *  - `rescue_requests`: an operator's request for the caller's number and location on an
 *    imminent-risk call, and a supervisor's approval; reasons encrypted under the call's data key.
 *    What was disclosed is never stored, only which fields and to whom (on the escalation it makes).
 */
export class OverflowCallbacksRescue1764000000400 implements MigrationInterface {
  name = 'OverflowCallbacksRescue1764000000400';

  async up(q: QueryRunner): Promise<void> {
    const opts = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
    await q.query(`CREATE TABLE call_overflow (
      id CHAR(36) NOT NULL PRIMARY KEY,
      call_id CHAR(36) NOT NULL,
      reason VARCHAR(24) NOT NULL,
      choice VARCHAR(16) NULL,
      config_version VARCHAR(32) NOT NULL,
      offered_at DATETIME(3) NOT NULL,
      chosen_at DATETIME(3) NULL,
      KEY ix_overflow_call (call_id),
      KEY ix_overflow_offered (offered_at)
    ) ${opts}`);
    await q.query(`CREATE TABLE callbacks (
      id CHAR(36) NOT NULL PRIMARY KEY,
      call_id CHAR(36) NOT NULL,
      kind VARCHAR(16) NOT NULL,
      status VARCHAR(16) NOT NULL,
      caller_pseudonym CHAR(64) NULL,
      contact_key_id CHAR(36) NULL,
      sealed_number VARBINARY(512) NULL,
      number_enc VARBINARY(512) NULL,
      preferred_operator_id CHAR(36) NULL,
      claimed_by CHAR(36) NULL,
      due_at DATETIME(3) NOT NULL,
      attempts INT NOT NULL DEFAULT 0,
      max_attempts INT NOT NULL,
      last_outcome VARCHAR(16) NULL,
      created_at DATETIME(3) NOT NULL,
      closed_at DATETIME(3) NULL,
      KEY ix_callbacks_call (call_id),
      KEY ix_callbacks_due (status, due_at),
      KEY ix_callbacks_pseudonym (caller_pseudonym),
      KEY ix_callbacks_key (contact_key_id)
    ) ${opts}`);
    await q.query(`CREATE TABLE callback_attempts (
      id CHAR(36) NOT NULL PRIMARY KEY,
      callback_id CHAR(36) NOT NULL,
      call_id CHAR(36) NOT NULL,
      operator_id CHAR(36) NOT NULL,
      twilio_call_sid VARCHAR(64) NULL,
      outcome VARCHAR(16) NULL,
      started_at DATETIME(3) NOT NULL,
      ended_at DATETIME(3) NULL,
      KEY ix_attempts_callback (callback_id),
      KEY ix_attempts_call (call_id),
      KEY ix_attempts_sid (twilio_call_sid)
    ) ${opts}`);
    await q.query(`CREATE TABLE rescue_requests (
      id CHAR(36) NOT NULL PRIMARY KEY,
      call_id CHAR(36) NOT NULL,
      requested_by CHAR(36) NOT NULL,
      request_reason_enc BLOB NOT NULL,
      status VARCHAR(16) NOT NULL,
      approved_by CHAR(36) NULL,
      approval_reason_enc BLOB NULL,
      escalation_id CHAR(36) NULL,
      created_at DATETIME(3) NOT NULL,
      approved_at DATETIME(3) NULL,
      KEY ix_rescue_call (call_id)
    ) ${opts}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE rescue_requests');
    await q.query('DROP TABLE callback_attempts');
    await q.query('DROP TABLE callbacks');
    await q.query('DROP TABLE call_overflow');
  }
}
