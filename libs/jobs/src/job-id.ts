/**
 * The call event a `call-event` job carries, as far as its job id needs it (the payload itself
 * is the gateway's `CallEventPayload`).
 */
export interface CallEventRef {
  kind: string;
  callId?: string | null;
  callSid?: string;
  operatorId?: string;
  recordingSid?: string;
  /** A transfer's or a supervision's own id (a call may have several), and a transfer's outcome. */
  id?: string;
  outcome?: string;
  consentKind?: string;
  /** A leg of the call at Twilio (kind `leg`): its CallSid. */
  legSid?: string;
}

/** BullMQ refuses a custom id with one ':' ("Custom Id cannot contain :"); every id goes through this. */
const bullSafe = (id: string): string => id.replace(/:/g, '.');

/**
 * Every deterministic job id, in one place. Adding the same work twice is then a no-op: BullMQ's
 * `add` (and `addBulk`) returns the existing job for a known id, so a call, a request or a
 * message is never queued twice while its job is waiting, delayed or running. These are the ids
 * already in Redis and relied on by deduplication: change one and a job queued before the change
 * is queued a second time.
 */
export const jobId = {
  secureDelete: (callId: string) => bullSafe(`secure-delete.${callId}`),
  /** A scan page is named by its first and last call and its size: the next scan finding the same page adds nothing. */
  secureDeleteBatch: (callIds: string[]) => bullSafe(`secure-delete-batch.${callIds[0]}.${callIds[callIds.length - 1]}.${callIds.length}`),
  twilioCleanup: (cleanupId: string) => bullSafe(`twilio-cleanup.${cleanupId}`),
  deletionRequest: (requestId: string) => bullSafe(`deletion-request.${requestId}`),
  deleteRecordings: (callId: string) => bullSafe(`delete-recordings.${callId}`),
  deleteSms: (messageSid: string) => bullSafe(`delete-sms.${messageSid}`),
  deleteCall: (callSid: string) => bullSafe(`delete-call.${callSid}`),
  openCall: (callId: string) => bullSafe(`open-call-${callId}`),
  /** One per call and kind of event (and operator, or recording, where a call has several). */
  callEvent: (e: CallEventRef) =>
    bullSafe(
      [
        `call-event-${e.kind}`,
        e.callId || e.callSid,
        e.kind === 'connected'
          ? e.operatorId
          : e.kind === 'recording'
            ? e.recordingSid
            : e.kind === 'consent'
              ? e.consentKind
              : e.kind === 'leg'
                ? e.legSid
                : e.id
                  ? `${e.id}${e.outcome ? '-' + e.outcome : ''}`
                  : '',
      ]
        .filter(Boolean)
        .join('_'),
    ),
};

/** Fixed ids: every worker upserts the same schedulers, so restarts and extra nodes never multiply them. */
export const schedulerId = {
  retentionScan: 'retention-scan',
  retentionReconcile: 'retention-reconcile',
} as const;
