import { Module } from '@nestjs/common';
import { CryptoModule } from '@hotline/crypto';
import { DeletionRequestBookModule } from '@hotline/privacy';
import { DeletionRequestsController } from './deletion-requests.controller';
import { DeletionRequestsService } from './deletion-requests.service';

/** `GET /deletion-requests`, `GET /deletion-requests/:id`; publishes the contact key at start. */
@Module({
  imports: [CryptoModule, DeletionRequestBookModule],
  controllers: [DeletionRequestsController],
  providers: [DeletionRequestsService],
})
export class DeletionRequestsModule {}
