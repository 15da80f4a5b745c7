import { Module } from '@nestjs/common';
import { CallsModule } from '@hotline/calls';
import { CryptoModule } from '@hotline/crypto';
import { PrivacyJobs } from '@hotline/jobs';
import { DeletionRequestBookModule } from '@hotline/privacy';
import { RetentionModule } from '@hotline/retention';
import { TwilioModule } from '@hotline/twilio';
import { DeleteCallProcessor } from './delete-call.processor';
import { DeleteRecordingsProcessor } from './delete-recordings.processor';
import { DeleteSmsProcessor } from './delete-sms.processor';
import { DeletionRequestProcessor } from './deletion-request.processor';
import { PrivacyReconciler } from './privacy-reconciler';
import { PrivacyWorker } from './privacy.worker';

/** Deletion requests made by phone, recordings after withdrawn consent, SMS and just-ended calls (callbacks) deleted at Twilio. */
@Module({
  // CallsModule: callbacks' sealed numbers are moved under their call's data key here too (CallbackNumbers).
  imports: [RetentionModule, TwilioModule, CallsModule, CryptoModule, DeletionRequestBookModule],
  providers: [
    PrivacyJobs,
    DeletionRequestProcessor,
    DeleteRecordingsProcessor,
    DeleteSmsProcessor,
    DeleteCallProcessor,
    PrivacyReconciler,
    PrivacyWorker,
  ],
})
export class PrivacyWorkerModule {}
