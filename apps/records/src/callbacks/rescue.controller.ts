import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentUser, Principal, Roles } from '@hotline/auth';
import { ApiErrors } from '../common/api-errors';
import { UuidParam } from '../calls/uuid-param';
import { CreatedIdDto, ReasonDto, RescueDisclosureDto, RescueStatusDto } from './dto';
import { RescueService } from './rescue.service';

@ApiTags('active rescue')
@ApiBearerAuth()
@Controller('calls/:callId/rescue-requests')
export class RescueController {
  constructor(private readonly rescue: RescueService) {}

  @Post()
  @Roles('operator')
  @ApiOperation({
    summary: 'Ask for the caller’s number and location (imminent risk)',
    description:
      'The operator who handles the live call, once it is assessed imminent risk. Supervisors are alerted at once (`alert:rescue`). ' +
      'Nothing is disclosed until a supervisor approves. The reason is encrypted; the audit entry names ids only.',
  })
  @ApiParam({ name: 'callId', format: 'uuid' })
  @ApiCreatedResponse({ type: CreatedIdDto })
  @ApiErrors([400, 401, 403, 404, 409], { 409: 'The call is not live, or not assessed imminent risk.' })
  request(@UuidParam('callId') callId: string, @Body() body: ReasonDto, @CurrentUser() user: Principal) {
    return this.rescue.request(user, callId, body.reason);
  }

  @Post(':id/approve')
  @Roles('supervisor')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Approve a rescue request (supervisor, with a reason): the number and location',
    description:
      'Reads the number from Twilio’s Call resource for the live call and the caller-ID location from its routing state; shows them to ' +
      'you (and, on request, to the operator who handles the call now: the one who asked, unless they handed it on since, and who is ' +
      'told `rescue:approved`); never stores them. Neither the operator who asked nor the one who handles the call now may approve ' +
      '(403). The escalation it records says which fields were disclosed and to whom, not their values. Both people are in the audit trail.',
  })
  @ApiParam({ name: 'callId', format: 'uuid' })
  @ApiParam({ name: 'id', format: 'uuid', description: 'The rescue request' })
  @ApiOkResponse({ type: RescueDisclosureDto })
  @ApiErrors([400, 401, 403, 404, 409], { 409: 'Approved already, or the call is no longer live.' })
  approve(@UuidParam('callId') callId: string, @UuidParam('id') id: string, @Body() body: ReasonDto, @CurrentUser() user: Principal) {
    return this.rescue.approve(user, callId, id, body.reason);
  }

  @Get(':id')
  @Roles('operator', 'supervisor')
  @ApiOperation({
    summary: 'A rescue request: its status, and once approved the number and location (to the two people only)',
    description:
      'Only the operator who handles the live call now (`calls.operator_id`: the one who asked until they hand the call on by a ' +
      'transfer, then whoever has it; nobody while a cold-transferred caller waits in the queue) and the supervisor who approved ' +
      '(any supervisor while it waits); 404 for anyone else, the operator who asked and handed the call on included. Read live from ' +
      'Twilio each time (audited, by whoever reads); 409 once the call has ended.',
  })
  @ApiParam({ name: 'callId', format: 'uuid' })
  @ApiParam({ name: 'id', format: 'uuid', description: 'The rescue request' })
  @ApiOkResponse({ type: RescueStatusDto })
  @ApiErrors([400, 401, 403, 404, 409])
  read(@UuidParam('callId') callId: string, @UuidParam('id') id: string, @CurrentUser() user: Principal) {
    return this.rescue.read(user, callId, id);
  }
}
