import { Module } from '@nestjs/common';
import { RetentionModule } from '@hotline/retention';
import { TwilioModule } from '@hotline/twilio';
import { DeleteRecordingsProcessor } from './delete-recordings.processor';
import { DeleteSmsProcessor } from './delete-sms.processor';
import { DeletionRequestProcessor } from './deletion-request.processor';
import { PrivacyReconciler } from './privacy-reconciler';
import { PrivacyQueues } from './privacy.queues';
import { PrivacyWorker } from './privacy.worker';

/** Deletion requests made by phone, recordings after withdrawn consent, SMS deletion at Twilio. */
@Module({
  imports: [RetentionModule, TwilioModule],
  providers: [PrivacyQueues, DeletionRequestProcessor, DeleteRecordingsProcessor, DeleteSmsProcessor, PrivacyReconciler, PrivacyWorker],
})
export class PrivacyWorkerModule {}
