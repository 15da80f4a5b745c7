import { Injectable } from '@nestjs/common';
import { SecureDeleteJobData } from '@hotline/jobs';
import { SecureDeleteOutcome } from '@hotline/retention';
import { SecureDeleteBatcher } from './secure-delete.batcher';

/** One call: a failure throws, so BullMQ retries it with backoff. A held call is skipped, not failed. */
@Injectable()
export class SecureDeleteProcessor {
  constructor(private readonly batcher: SecureDeleteBatcher) {}

  async process(data: SecureDeleteJobData): Promise<Exclude<SecureDeleteOutcome, { outcome: 'failed' }>> {
    const outcome = await this.batcher.submit({
      callId: data.callId,
      reason: data.reason,
      deletionRequestId: data.deletionRequestId ?? null,
    });
    if (outcome.outcome === 'failed') throw outcome.error;
    return outcome;
  }
}
