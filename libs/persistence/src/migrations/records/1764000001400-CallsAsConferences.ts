import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Calls as conferences (issue 14):
 *  - `calls.bridge`: how the caller was connected (`conference`, or `direct` when the conference could
 *    not be created), `calls.conference_sid`: Twilio's conference (named after the call id);
 *  - `call_transfers`: warm, cold and external transfers: who, to whom (staff id or directory entry
 *    id and kind, never a number), when, how it ended, and for an `emergency` entry the escalation
 *    it belongs to (a cold transfer's handover note is a note on the call, sealed like any note);
 *  - `call_access`: need-to-know access to a call's record beyond `calls.operator_id` (the operator
 *    a call was warm-transferred to; the operator who cold-transferred it, whose operator_id the
 *    next operator takes), each grant audited;
 *  - `call_supervisions`: a supervisor listened, coached or joined (the stated reason is in the audit).
 * All three are deleted with their call.
 */
export class CallsAsConferences1764000001400 implements MigrationInterface {
  name = 'CallsAsConferences1764000001400';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE calls ADD COLUMN bridge VARCHAR(12) NULL, ADD COLUMN conference_sid VARCHAR(34) NULL');
    await q.query(`CREATE TABLE call_transfers (
      id CHAR(36) NOT NULL PRIMARY KEY,
      call_id CHAR(36) NOT NULL,
      mode VARCHAR(8) NOT NULL,
      from_staff_id CHAR(36) NOT NULL,
      to_staff_id CHAR(36) NULL,
      directory_id VARCHAR(64) NULL,
      directory_kind VARCHAR(16) NULL,
      escalation_id CHAR(36) NULL,
      outcome VARCHAR(16) NOT NULL,
      started_at DATETIME(3) NOT NULL,
      ended_at DATETIME(3) NULL,
      KEY idx_call_transfers_call (call_id, started_at)
    ) ENGINE=InnoDB`);
    await q.query(`CREATE TABLE call_access (
      call_id CHAR(36) NOT NULL,
      staff_id CHAR(36) NOT NULL,
      via VARCHAR(16) NOT NULL,
      granted_at DATETIME(3) NOT NULL,
      PRIMARY KEY (call_id, staff_id),
      KEY idx_call_access_staff (staff_id)
    ) ENGINE=InnoDB`);
    await q.query(`CREATE TABLE call_supervisions (
      id CHAR(36) NOT NULL PRIMARY KEY,
      call_id CHAR(36) NOT NULL,
      supervisor_id CHAR(36) NOT NULL,
      mode VARCHAR(8) NOT NULL,
      started_at DATETIME(3) NOT NULL,
      ended_at DATETIME(3) NULL,
      KEY idx_call_supervisions_call (call_id, started_at)
    ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE call_supervisions');
    await q.query('DROP TABLE call_access');
    await q.query('DROP TABLE call_transfers');
    await q.query('ALTER TABLE calls DROP COLUMN conference_sid, DROP COLUMN bridge');
  }
}
