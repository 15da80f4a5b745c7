import type { JobsOptions } from 'bullmq';
import type { Env } from '@hotline/config';
import { jobId } from '@hotline/jobs';

/**
 * The privacy line's jobs. Payloads are ids only: never a number, a code or a pseudonym (they
 * sit in Redis). Ids are deterministic, so adding the same work twice is a no-op; BullMQ refuses
 * a custom id with one ':', hence '.'.
 */
export interface DeletionRequestJobData {
  requestId: string;
}

export interface DeleteRecordingsJobData {
  callIds: string[];
}

export interface DeleteSmsJobData {
  messageSid: string;
}

const bullSafe = (id: string) => id.replace(/:/g, '.');

export const privacyJobId = {
  deletionRequest: (requestId: string) => bullSafe(jobId.deletionRequest(requestId)),
  deleteRecordings: (callId: string) => `delete-recordings.${callId}`,
  deleteSms: (messageSid: string) => `delete-sms.${messageSid}`,
};

const retried = (attempts: number, delayMs: number): JobsOptions => ({ attempts, backoff: { type: 'exponential', delay: delayMs }, removeOnComplete: true, removeOnFail: true });

/** Carried out after the grace period; cancellable until it starts. */
export function deletionRequestJobOptions(requestId: string, executeAfter: Date, now = Date.now()): JobsOptions {
  return { ...retried(5, 2000), jobId: privacyJobId.deletionRequest(requestId), delay: Math.max(0, executeAfter.getTime() - now) };
}

export function deleteRecordingsJobOptions(callId: string): JobsOptions {
  return { ...retried(6, 2000), jobId: privacyJobId.deleteRecordings(callId) };
}

/** The fallback for a message whose final status callback never came (or whose deletion then failed). */
export function deleteSmsJobOptions(messageSid: string, delayMs: number): JobsOptions {
  return { ...retried(6, 30_000), jobId: privacyJobId.deleteSms(messageSid), delay: delayMs };
}

/** How long after sending the fallback deletion of an SMS at Twilio runs (env `SMS_DELETE_AFTER_SECONDS`, validated by Env). */
export function smsDeleteDelayMs(env: Pick<Env, 'SMS_DELETE_AFTER_SECONDS'>): number {
  return env.SMS_DELETE_AFTER_SECONDS * 1000;
}
