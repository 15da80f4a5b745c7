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
  /** Calls deleted at Twilio once it allows it (callbacks' outbound calls, queued by the gateway). */
  TwilioCalls = 'twilio-calls',
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
  /**
   * A call that has just ended (a callback's outbound call: its record at Twilio holds the number
   * dialled) and the legs it opened, deleted at Twilio once Twilio allows it (20009 until then).
   */
  DeleteCall = 'delete-call',
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
  [JobName.DeleteCall]: QueueName.TwilioCalls,
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

/**
 * How many times a job was put back because its work could not be done yet (`NotYet`: Twilio refuses
 * to delete a call that ended moments ago); set by QueueWorker, it spaces the next try.
 */
export interface NotYetCounted {
  notYetRounds?: number;
}

/** The `twilio_cleanup` row to carry out (its SIDs are sealed there, never in Redis). */
export interface TwilioCleanupJobData extends NotYetCounted {
  cleanupId: string;
}

export interface DeletionRequestJobData extends NotYetCounted {
  requestId: string;
}

/** The CallSid only: never the number the call was placed to. */
export interface DeleteCallJobData extends NotYetCounted {
  callSid: string;
}

export interface DeleteRecordingsJobData {
  callIds: string[];
}

export interface DeleteSmsJobData {
  messageSid: string;
}
