/**
 * Which lib owns which table: the one place that knows it (docs/tables.md lists it for readers).
 * Every table the migrations (libs/persistence/src/migrations) create is owned by exactly one lib;
 * only the owner (and the migrations) names it in SQL. Everyone else calls a named method of the
 * owner. scripts/check-rules.js enforces it (`npm run deps`); a new table must be added here.
 */
const TABLE_OWNERS = {
  // Staff accounts, their sign-in factors, sessions and the agreements they accepted.
  'libs/auth': ['staff', 'staff_passkeys', 'staff_recovery_codes', 'staff_sessions', 'agreement_acceptances'],

  // The hash-chained audit trail and its head.
  'libs/audit': ['audit_log', 'audit_head'],

  // The call record: calls and their content, legs, access, holds, callbacks, rescue, destruction
  // (certificates, what is left for Twilio), handovers of calls between operators, complaints
  // and the hourly statistics counted before calls are destroyed.
  'libs/calls': [
    'calls',
    'notes',
    'risk_assessments',
    'consents',
    'recordings',
    'legal_holds',
    'escalations',
    'call_access',
    'call_legs',
    'call_supervisions',
    'call_transfers',
    'call_overflow',
    'callbacks',
    'callback_attempts',
    'rescue_requests',
    'deletion_certificates',
    'twilio_cleanup',
    'handovers',
    'complaints',
    'stats_hourly',
  ],

  // The keystore's data keys and the sealed contact keys (the keystore database).
  'libs/crypto': ['data_keys', 'contact_keys'],

  // The privacy line: callers' deletion requests, their verification codes and blocks, their
  // preferences and the text messages sent to them.
  'libs/privacy': ['deletion_requests', 'privacy_codes', 'privacy_blocks', 'caller_preferences', 'sms_messages'],

  // Which database is which: the records database's id and the keystore's pairing with it.
  'libs/persistence': ['records_identity', 'keystore_identity'],
};

/** table name -> owning lib folder (e.g. 'staff' -> 'libs/auth'). */
const OWNER_OF_TABLE = new Map(Object.entries(TABLE_OWNERS).flatMap(([lib, tables]) => tables.map((t) => [t, lib])));

module.exports = { TABLE_OWNERS, OWNER_OF_TABLE };
