import { Body, Controller, Get, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentUser, Principal, Roles } from '@hotline/auth';
import { DISCLOSABLE_FIELDS } from '@hotline/contract';
import { ApiErrors } from '../common/api-errors';
import { CallsService } from './calls.service';
import { CosignResultDto, CreatedDto, EscalationDto, EscalationMetaDto } from './dto';
import { UuidParam } from './uuid-param';

@ApiTags('escalations (duty to warn)')
@ApiBearerAuth()
@Controller('calls/:callId/escalations')
export class EscalationsController {
  constructor(private readonly calls: CallsService) {}

  @Post()
  @Roles('operator')
  @ApiOperation({
    summary: 'Record a duty-to-warn escalation',
    description:
      `The operator who handled the call records what was disclosed (only: ${DISCLOSABLE_FIELDS.join(', ')}), to whom, on what legal basis, and when emergency services confirmed contact. ` +
      'Stored encrypted; the call becomes imminent risk (retention policy `imminent`); supervisors are alerted at once. The audit entry is content-free (escalation id and the number of fields).',
  })
  @ApiParam({ name: 'callId', format: 'uuid' })
  @ApiCreatedResponse({ type: CreatedDto })
  @ApiErrors([400, 401, 403, 404, 410])
  create(@UuidParam('callId') callId: string, @Body() body: EscalationDto, @CurrentUser() user: Principal) {
    return this.calls.escalate(user, callId, body);
  }

  @Get()
  @Roles('supervisor')
  @ApiOperation({
    summary: 'A call’s escalations: ids, times, co-signatures (no content)',
    description: 'What a supervisor needs to co-sign, without break-glass.',
  })
  @ApiParam({ name: 'callId', format: 'uuid' })
  @ApiOkResponse({ type: [EscalationMetaDto] })
  @ApiErrors([400, 401, 403, 404, 410])
  list(@UuidParam('callId') callId: string, @CurrentUser() user: Principal) {
    return this.calls.escalations(user, callId);
  }

  @Post(':id/cosign')
  @Roles('supervisor')
  @ApiOperation({ summary: 'Co-sign an escalation (supervisor)', description: 'Once per escalation; audited.' })
  @ApiParam({ name: 'callId', format: 'uuid' })
  @ApiParam({ name: 'id', format: 'uuid', description: 'The escalation' })
  @ApiCreatedResponse({ type: CosignResultDto })
  @ApiErrors([400, 401, 403, 404, 409, 410], { 409: 'Co-signed already.' })
  cosign(@UuidParam('callId') callId: string, @UuidParam('id') id: string, @CurrentUser() user: Principal) {
    return this.calls.cosign(user, callId, id);
  }
}
