import { counter, gauge, histogram } from '@hotline/observability';

export const retentionMetrics = {
  deletions: () => counter('hotline_secure_deletions_total', 'Calls destroyed (key, rows, certificate), by reason', ['reason']),
  failures: () => counter('hotline_secure_delete_failures_total', 'Secure-delete jobs that failed their last attempt'),
  jobFailures: () =>
    counter('hotline_retention_job_failures_total', 'Retention jobs (scan, reconcile) that failed their last attempt', ['job']),
  skippedHeld: () => counter('hotline_secure_delete_held_total', 'Secure deletions skipped because a legal hold stands'),
  recordingsDeleted: () =>
    counter('hotline_retention_recordings_deleted_total', 'Recordings deleted at Twilio because their own deadline passed'),
  scanDuration: () =>
    histogram('hotline_retention_scan_duration_seconds', 'Duration of a retention scan', [], [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300]),
  overdue: () =>
    gauge('hotline_retention_overdue_calls', 'Expired, unheld calls still present a full scan interval after their deadline (should be 0)'),
  expired: () => gauge('hotline_retention_expired_calls', 'Expired, unheld calls still present (queued for destruction)'),
  reconciled: () => counter('hotline_retention_reconciled_total', 'Half-way states finished by reconciliation', ['kind']),
  reconcileRefused: () =>
    counter(
      'hotline_reconcile_refused_total',
      'Reconciliations that refused to destroy any data key (wrong records database, too many orphans)',
      ['reason'],
    ),
};
