-- Least privilege per app: the grants of each app's MySQL account, and nothing else. Applied by
-- scripts/db-accounts.ts as the migrator after every migration (npm run migrate, npm start, the demo,
-- compose's migrate service, the tests' globalSetup), with {{records}} and {{keystore}} replaced by
-- the two databases' names. Before these grants are given, every privilege the three accounts held
-- on these two databases is revoked, so this file is the whole truth about them.
--
-- The migrator (DATABASE_URL of `npm run migrate`) alone changes the schema. No app account may
-- UPDATE or DELETE audit_log: the chain is appended to (INSERT) and its single head row moved on
-- (audit_head: UPDATE). A new table has no grant until it is named here.

-- gateway: internet-facing. Call metadata (libs/calls/records), the privacy line (libs/privacy),
-- operators' display names, audit appends. No content column (notes, escalations), no password
-- hash, no sealed contact number, and nothing at all on the keystore. UPDATE names the columns it
-- changes (issue 24), never a whole table: a call's retention, risk level, caller and SID, a
-- consent's kind and grant are written once, at INSERT. An upsert (INSERT ... ON DUPLICATE KEY UPDATE)
-- needs UPDATE on every column it inserts (MariaDB and MySQL check so): a recording's UPDATE names
-- its upsert's columns, which leaves out `deleted_at` (only the worker says a recording is gone at
-- Twilio); privacy_blocks, caller_preferences and sms_messages are upserted whole, so table-level.
GRANT SELECT, INSERT, UPDATE (operator_id, status, answered_at, ended_at, last_sequence, wrapup_category, bridge, conference_sid) ON `{{records}}`.`calls` TO 'hotline_gateway'@'%';
GRANT SELECT, INSERT, UPDATE (withdrawn_at) ON `{{records}}`.`consents` TO 'hotline_gateway'@'%';
GRANT SELECT, INSERT, UPDATE (id, call_id, recording_sid, status, retention_deadline, created_at) ON `{{records}}`.`recordings` TO 'hotline_gateway'@'%';
GRANT SELECT ON `{{records}}`.`legal_holds` TO 'hotline_gateway'@'%';
GRANT SELECT ON `{{records}}`.`deletion_certificates` TO 'hotline_gateway'@'%';
-- A deletion request is cancelled (its sealed contact erased) and the CallSids of the calls made to ask
-- for it added: never its caller, its grace period or its counts once filed.
GRANT SELECT (id, caller_pseudonym, requested_at, verified_by, status, execute_after, calls_total, calls_held, calls_deleted, completed_at, cancelled_at, contact_key_id, call_sids), INSERT, UPDATE (status, cancelled_at, contact_enc, call_sids) ON `{{records}}`.`deletion_requests` TO 'hotline_gateway'@'%';
GRANT SELECT, INSERT, UPDATE (used_at, attempts) ON `{{records}}`.`privacy_codes` TO 'hotline_gateway'@'%';
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`privacy_blocks` TO 'hotline_gateway'@'%';
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`caller_preferences` TO 'hotline_gateway'@'%';
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`sms_messages` TO 'hotline_gateway'@'%';
GRANT SELECT (id, display_name) ON `{{records}}`.`staff` TO 'hotline_gateway'@'%';
GRANT INSERT ON `{{records}}`.`audit_log` TO 'hotline_gateway'@'%';
GRANT SELECT, UPDATE (seq, hash) ON `{{records}}`.`audit_head` TO 'hotline_gateway'@'%';
-- Overflow and callbacks (issue 15): the gateway writes the caller's choice and the callback with its
-- sealed number (sealed to a one-time public key: it cannot read it back, nor the data-key copy).
-- Issue 24: a callback it cannot redirect. INSERT names only what a new request sets (no `kind`: it
-- defaults to `callback`, so follow-ups are records' alone; no status, preferred operator, attempts or
-- number under the call's key). UPDATE only what an attempt's end or a withdrawal changes: status,
-- last outcome, close, and the erasure of `number_enc` (a ciphertext under the call's data key, which it
-- cannot make). Never the seal, the one-time key, `due_at`, `attempts` or the preferred operator: it can
-- neither seal its own number to a callback nor make one due. No INSERT of attempts (records places them).
GRANT SELECT, INSERT, UPDATE (choice, chosen_at) ON `{{records}}`.`call_overflow` TO 'hotline_gateway'@'%';
GRANT SELECT (id, call_id, kind, status, caller_pseudonym, contact_key_id, preferred_operator_id, claimed_by, due_at, attempts, max_attempts, last_outcome, created_at, closed_at), INSERT (id, call_id, caller_pseudonym, contact_key_id, sealed_number, due_at, max_attempts, created_at), UPDATE (status, last_outcome, closed_at, number_enc) ON `{{records}}`.`callbacks` TO 'hotline_gateway'@'%';
GRANT SELECT, UPDATE (outcome, ended_at) ON `{{records}}`.`callback_attempts` TO 'hotline_gateway'@'%';
-- Calls as conferences (issue 14): transfers (no note column: the handover note is sealed by
-- records), need-to-know grants made by a transfer, supervisions; which escalations a call has
-- (ids only), to link a transfer to emergency services to its escalation record.
GRANT SELECT (id, call_id, mode, from_staff_id, to_staff_id, directory_id, directory_kind, escalation_id, outcome, started_at, ended_at), INSERT, UPDATE (outcome, ended_at) ON `{{records}}`.`call_transfers` TO 'hotline_gateway'@'%';
-- A grant is revoked (issue 24: a warm transfer that failed after the colleague joined), or given again
-- after a revocation: UPDATE of these columns only, never DELETE (the row goes with its call).
GRANT SELECT, INSERT, UPDATE (via, transfer_id, granted_at, revoked_at) ON `{{records}}`.`call_access` TO 'hotline_gateway'@'%';
GRANT SELECT, INSERT, UPDATE (ended_at) ON `{{records}}`.`call_supervisions` TO 'hotline_gateway'@'%';
GRANT SELECT (id, call_id, created_at) ON `{{records}}`.`escalations` TO 'hotline_gateway'@'%';
-- Every Twilio leg of a call (issue 23): the gateway keeps the SIDs of the legs it learns (conference
-- participants: operators, transfer targets, supervisors, directory entries), for their deletion at
-- Twilio with the call. SIDs only; it deletes nothing.
GRANT SELECT, INSERT ON `{{records}}`.`call_legs` TO 'hotline_gateway'@'%';

-- records: the system of record. Staff and sign-in, calls and their content under need to know,
-- legal holds, deletion requests (read), the audit log (read, append). It destroys nothing.
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`staff` TO 'hotline_records'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON `{{records}}`.`staff_recovery_codes` TO 'hotline_records'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON `{{records}}`.`staff_passkeys` TO 'hotline_records'@'%';
-- Sessions (issue 24): records' own record of them (ended, locked, step-up, idle), which Redis only copies.
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`staff_sessions` TO 'hotline_records'@'%';
GRANT SELECT, INSERT ON `{{records}}`.`agreement_acceptances` TO 'hotline_records'@'%';
GRANT SELECT, INSERT ON `{{records}}`.`handovers` TO 'hotline_records'@'%';
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`calls` TO 'hotline_records'@'%';
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`notes` TO 'hotline_records'@'%';
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`risk_assessments` TO 'hotline_records'@'%';
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`escalations` TO 'hotline_records'@'%';
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`consents` TO 'hotline_records'@'%';
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`recordings` TO 'hotline_records'@'%';
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`legal_holds` TO 'hotline_records'@'%';
GRANT SELECT ON `{{records}}`.`deletion_certificates` TO 'hotline_records'@'%';
-- The retention report counts what waits for deletion at Twilio (never opens it).
GRANT SELECT ON `{{records}}`.`twilio_cleanup` TO 'hotline_records'@'%';
GRANT SELECT, UPDATE ON `{{records}}`.`deletion_requests` TO 'hotline_records'@'%';
GRANT SELECT ON `{{records}}`.`records_identity` TO 'hotline_records'@'%';
GRANT SELECT, UPDATE ON `{{records}}`.`call_transfers` TO 'hotline_records'@'%';
GRANT SELECT ON `{{records}}`.`call_access` TO 'hotline_records'@'%';
GRANT SELECT ON `{{records}}`.`call_supervisions` TO 'hotline_records'@'%';
GRANT SELECT, INSERT ON `{{records}}`.`audit_log` TO 'hotline_records'@'%';
GRANT SELECT, UPDATE ON `{{records}}`.`audit_head` TO 'hotline_records'@'%';
GRANT SELECT, INSERT ON `{{keystore}}`.`data_keys` TO 'hotline_records'@'%';
GRANT SELECT ON `{{keystore}}`.`keystore_identity` TO 'hotline_records'@'%';
-- The one-time keys the closing SMS's number is sealed to: records tops the pool up at start.
GRANT SELECT, INSERT ON `{{keystore}}`.`contact_keys` TO 'hotline_records'@'%';
-- Callbacks (opens the sealed number to place the call) and active rescue (issue 15).
GRANT SELECT ON `{{records}}`.`call_overflow` TO 'hotline_records'@'%';
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`callbacks` TO 'hotline_records'@'%';
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`callback_attempts` TO 'hotline_records'@'%';
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`rescue_requests` TO 'hotline_records'@'%';
-- Oversight (issue 17): hourly statistics (read; complaints counted into them), complaints (their
-- text sealed under a data key of their own, which records makes like a call's).
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`stats_hourly` TO 'hotline_records'@'%';
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`complaints` TO 'hotline_records'@'%';

-- worker: destroys calls past retention and carries out deletion requests (content rows, keys,
-- SMS records, the caller's privacy-line rows), writes deletion certificates, reconciles the
-- keystore with the records database, signs audit checkpoints (reads the chain).
GRANT SELECT, UPDATE, DELETE ON `{{records}}`.`calls` TO 'hotline_worker'@'%';
GRANT SELECT, DELETE ON `{{records}}`.`notes` TO 'hotline_worker'@'%';
GRANT SELECT, DELETE ON `{{records}}`.`risk_assessments` TO 'hotline_worker'@'%';
GRANT SELECT, DELETE ON `{{records}}`.`escalations` TO 'hotline_worker'@'%';
GRANT SELECT, DELETE ON `{{records}}`.`call_transfers` TO 'hotline_worker'@'%';
GRANT SELECT, DELETE ON `{{records}}`.`call_access` TO 'hotline_worker'@'%';
GRANT SELECT, DELETE ON `{{records}}`.`call_supervisions` TO 'hotline_worker'@'%';
GRANT SELECT, UPDATE, DELETE ON `{{records}}`.`consents` TO 'hotline_worker'@'%';
GRANT SELECT, UPDATE, DELETE ON `{{records}}`.`recordings` TO 'hotline_worker'@'%';
GRANT SELECT, UPDATE, DELETE ON `{{records}}`.`legal_holds` TO 'hotline_worker'@'%';
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`deletion_certificates` TO 'hotline_worker'@'%';
-- What secure deletion leaves for Twilio (sealed SIDs), until Twilio has deleted it.
GRANT SELECT, INSERT, UPDATE, DELETE ON `{{records}}`.`twilio_cleanup` TO 'hotline_worker'@'%';
GRANT SELECT, UPDATE ON `{{records}}`.`deletion_requests` TO 'hotline_worker'@'%';
GRANT SELECT, DELETE ON `{{records}}`.`privacy_codes` TO 'hotline_worker'@'%';
GRANT SELECT, DELETE ON `{{records}}`.`privacy_blocks` TO 'hotline_worker'@'%';
GRANT SELECT, DELETE ON `{{records}}`.`caller_preferences` TO 'hotline_worker'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON `{{records}}`.`sms_messages` TO 'hotline_worker'@'%';
GRANT SELECT ON `{{records}}`.`records_identity` TO 'hotline_worker'@'%';
GRANT SELECT, INSERT ON `{{records}}`.`audit_log` TO 'hotline_worker'@'%';
GRANT SELECT, UPDATE ON `{{records}}`.`audit_head` TO 'hotline_worker'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON `{{keystore}}`.`data_keys` TO 'hotline_worker'@'%';
GRANT SELECT, UPDATE ON `{{keystore}}`.`keystore_identity` TO 'hotline_worker'@'%';
-- The worker makes, opens and destroys the closing SMS's one-time keys.
GRANT SELECT, INSERT, DELETE ON `{{keystore}}`.`contact_keys` TO 'hotline_worker'@'%';
-- Rows of a call destroyed with it; the callbacks' one-time keys destroyed once spent (issue 15).
GRANT SELECT, UPDATE, DELETE ON `{{records}}`.`call_overflow` TO 'hotline_worker'@'%';
GRANT SELECT, UPDATE, DELETE ON `{{records}}`.`callbacks` TO 'hotline_worker'@'%';
GRANT SELECT, UPDATE, DELETE ON `{{records}}`.`callback_attempts` TO 'hotline_worker'@'%';
GRANT SELECT, UPDATE, DELETE ON `{{records}}`.`rescue_requests` TO 'hotline_worker'@'%';
-- A call's legs at Twilio: read and deleted with the call; a callback's legs found at Twilio are kept
-- (INSERT) and marked deleted there (UPDATE), as is the callback's call (callback_attempts, above).
GRANT SELECT, INSERT, UPDATE, DELETE ON `{{records}}`.`call_legs` TO 'hotline_worker'@'%';
-- The worker counts calls into the hourly statistics before it destroys them, and the reconciler
-- keeps a complaint's data key (complaints are read only to know their ids).
GRANT SELECT, INSERT, UPDATE ON `{{records}}`.`stats_hourly` TO 'hotline_worker'@'%';
GRANT SELECT (id) ON `{{records}}`.`complaints` TO 'hotline_worker'@'%';
