/**
 * Every BullMQ job by name, the queue it runs on, and its payload. Payloads carry ids and
 * pseudonyms only: never a phone number, a name, a code or note text (they sit in Redis).
 */
export enum QueueName {
  Retention = 'retention',
  DeletionRequests = 'deletion-requests',
  Sms = 'sms',
  CallRecords = 'call-records',
  Twilio = 'twilio',
}

export enum JobName {
  RetentionScan = 'retention-scan',
  SecureDelete = 'secure-delete',
  /** A scan's page of expired calls, destroyed together (a call that fails gets a `secure-delete` job of its own). */
  SecureDeleteBatch = 'secure-delete-batch',
  /** What a destroyed batch left at Twilio (calls, legs, recordings; SIDs sealed in MySQL), deleted there. */
  TwilioCleanup = 'twilio-cleanup',
  Reconcile = 'reconcile',
  DeletionRequest = 'deletion-request',
  SendSms = 'send-sms',
  DeleteSms = 'delete-sms',
  /** The gateway's call-opening write, kept durably while MySQL is away and replayed after. */
  OpenCall = 'open-call',
  /** A call status change (answered, ended) to write to records, replayed the same way. */
  CallEvent = 'call-event',
  DeleteRecordings = 'delete-recordings',
}

export const JOBS_TO_QUEUE: Record<JobName, QueueName> = {
  [JobName.RetentionScan]: QueueName.Retention,
  [JobName.SecureDelete]: QueueName.Retention,
  [JobName.SecureDeleteBatch]: QueueName.Retention,
  [JobName.TwilioCleanup]: QueueName.Retention,
  [JobName.Reconcile]: QueueName.Retention,
  [JobName.DeletionRequest]: QueueName.DeletionRequests,
  [JobName.SendSms]: QueueName.Sms,
  [JobName.DeleteSms]: QueueName.Sms,
  [JobName.OpenCall]: QueueName.CallRecords,
  [JobName.CallEvent]: QueueName.CallRecords,
  [JobName.DeleteRecordings]: QueueName.Twilio,
};

/** BullMQ key prefix, so a shared Redis can host other things too. */
export const BULL_PREFIX = 'hl-bull';

/**
 * Why a call is destroyed: the reasons `SecureDeleteService` (@hotline/retention) knows. Spelled
 * here because the payload is defined here; the processor's type check keeps the two in step.
 */
export type SecureDeleteReason = 'retention' | 'caller_request';

export interface SecureDeleteJobData {
  callId: string;
  reason: SecureDeleteReason;
  deletionRequestId?: string | null;
}

/** Ids only: the page of expired calls a scan found. */
export interface SecureDeleteBatchJobData {
  callIds: string[];
}

/** The `twilio_cleanup` row to carry out (its SIDs are sealed there, never in Redis). */
export interface TwilioCleanupJobData {
  cleanupId: string;
}

export interface DeletionRequestJobData {
  requestId: string;
}

export interface DeleteRecordingsJobData {
  callIds: string[];
}

export interface DeleteSmsJobData {
  messageSid: string;
}
