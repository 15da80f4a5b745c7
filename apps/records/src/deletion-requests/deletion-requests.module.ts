import { Module } from '@nestjs/common';
import { DeletionRequestsController } from './deletion-requests.controller';
import { DeletionRequestsService } from './deletion-requests.service';

/** `GET /deletion-requests`, `GET /deletion-requests/:id`; publishes the contact key at start. */
@Module({ controllers: [DeletionRequestsController], providers: [DeletionRequestsService] })
export class DeletionRequestsModule {}
