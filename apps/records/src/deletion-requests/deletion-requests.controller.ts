import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentUser, Principal, Roles } from '@hotline/auth';
import { ApiErrors } from '../common/api-errors';
import { UuidParam } from '../calls/uuid-param';
import { DeletionRequestDto, DeletionRequestPageDto, ListDeletionRequestsQuery } from './dto';
import { DeletionRequestsService } from './deletion-requests.service';

@ApiTags('deletion requests')
@ApiBearerAuth()
@Controller('deletion-requests')
export class DeletionRequestsController {
  constructor(private readonly requests: DeletionRequestsService) {}

  @Get()
  @Roles('records_officer')
  @ApiOperation({
    summary: 'Deletion requests made by phone, newest first (records officer)',
    description:
      'Each request verified by an SMS code on the privacy line, with its status and counts. Never the number, never the full pseudonym. Paged with `limit` (1-100, default 20) and `cursor`. Audited.',
  })
  @ApiOkResponse({ type: DeletionRequestPageDto })
  @ApiErrors([400, 401, 403])
  list(@Query() q: ListDeletionRequestsQuery, @CurrentUser() user: Principal) {
    return this.requests.list(user, q.limit ?? 20, q.cursor);
  }

  @Get(':id')
  @Roles('records_officer')
  @ApiOperation({ summary: 'One deletion request and its outcome (records officer)', description: 'Audited.' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: DeletionRequestDto })
  @ApiErrors([400, 401, 403, 404], { 404: 'No such deletion request.' })
  get(@UuidParam('id') id: string, @CurrentUser() user: Principal) {
    return this.requests.get(user, id);
  }
}
