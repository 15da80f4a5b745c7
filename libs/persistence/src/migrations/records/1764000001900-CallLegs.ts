import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every Twilio leg of a call, deleted at Twilio with it (issue 23).
 *
 * A call that lives in a conference has legs Twilio keeps as Calls of their own: the operator's
 * browser leg, a warm transfer's target, a directory entry dialled in, a supervisor. They are
 * REST-added participants, with no parent call at Twilio, so a `ParentCallSid` search (how the legs
 * a `<Dial>` opened are found) never finds them, and each holds times and durations of the call.
 *  - `call_legs`: the SIDs of those legs (and of the legs a callback's outbound call opened), kept
 *    with the call as its caller's CallSid is (`calls.call_sid`): read under the call's lock by secure
 *    deletion, sealed into `twilio_cleanup` with the rest, and deleted with the call's rows. A SID is
 *    not a number. `deleted_at`: already deleted at Twilio (a callback's legs, by its own job).
 *  - `callback_attempts.call_deleted_at`: the callback's outbound call (its record at Twilio holds
 *    the number dialled) and its legs are deleted at Twilio by a job once Twilio allows it (it
 *    refuses, 20009, for a while after the call ends); set when done, so the worker's reconciler
 *    queues again, from MySQL, whatever is still owed (attempts ended before this migration included:
 *    their deletion in the status webhook was refused by Twilio, or not).
 */
export class CallLegs1764000001900 implements MigrationInterface {
  name = 'CallLegs1764000001900';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE call_legs (
      call_id CHAR(36) NOT NULL,
      call_sid VARCHAR(64) NOT NULL,
      kind VARCHAR(16) NOT NULL,
      created_at DATETIME(3) NOT NULL,
      deleted_at DATETIME(3) NULL,
      PRIMARY KEY (call_id, call_sid),
      KEY ix_call_legs_sid (call_sid)
    ) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await q.query(
      'ALTER TABLE callback_attempts ADD COLUMN call_deleted_at DATETIME(3) NULL, ADD KEY ix_attempts_call_deleted (call_deleted_at, ended_at)',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE callback_attempts DROP KEY ix_attempts_call_deleted, DROP COLUMN call_deleted_at');
    await q.query('DROP TABLE call_legs');
  }
}
