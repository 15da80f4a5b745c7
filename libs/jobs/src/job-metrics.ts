import { counter, histogram } from '@hotline/observability';

/** Every job of every queue, by queue and job name (labels are names, never ids). */
export const jobMetrics = {
  completed: () => counter('hotline_jobs_completed_total', 'Jobs that ran to the end, by queue and job name', ['queue', 'job']),
  failed: () =>
    counter('hotline_jobs_failed_total', 'Failed job attempts, by queue and job name; last="true" when no retry is left', [
      'queue',
      'job',
      'last',
    ]),
  notYet: () =>
    counter(
      'hotline_jobs_not_yet_total',
      'Jobs put back because their work could not be done yet (Twilio refusing, 20009, to delete a call just ended), by queue and job name',
      ['queue', 'job'],
    ),
  duration: () =>
    histogram(
      'hotline_job_duration_seconds',
      'How long a job attempt ran, by queue, job name and outcome',
      ['queue', 'job', 'outcome'],
      [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    ),
};
