import { Body, Controller, Get, Headers, HttpCode, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser, Principal, Roles } from '@hotline/auth';
import { ApiErrors } from '../common/api-errors';
import { CallsService } from './calls.service';
import { AddNoteDto, AssessmentDto, AssessmentResultDto, CallDetailDto, CallPageDto, CreatedDto, GoneDto, ListCallsQuery } from './dto';
import { UuidParam } from './uuid-param';

@ApiTags('calls')
@ApiBearerAuth()
@Controller('calls')
export class CallsController {
  constructor(private readonly calls: CallsService) {}

  @Get()
  @Roles('operator', 'supervisor')
  @ApiOperation({
    summary: 'Calls, newest first, metadata only',
    description:
      'An operator sees the calls they handled and those a transfer gave them read access to; a supervisor sees all. Paged with `limit` (1-100, default 20) and `cursor`.',
  })
  @ApiOkResponse({ type: CallPageDto })
  @ApiErrors([400, 401, 403])
  list(@Query() q: ListCallsQuery, @CurrentUser() user: Principal) {
    return this.calls.list(user, q.limit ?? 20, q.cursor);
  }

  @Get(':callId')
  @Roles('operator', 'supervisor', 'records_officer', 'auditor')
  @ApiOperation({
    summary: 'A call with its content (notes, assessment, escalations)',
    description:
      'The operator who handled it, or one a transfer gave read access to (the colleague brought in, or the operator who handed the call on); a supervisor only with `X-Access-Reason` (break-glass, audited with the reason). Records officers and auditors read no content (403), admins neither. ' +
      'Any other operator gets 404, exactly as for a call that does not exist. A destroyed call answers 410 with its deletion certificate (to supervisors, records officers, auditors, and operators who acted on it). ' +
      'Content that can no longer be decrypted is shown with `text: null, unavailable: true`. Every read is audited.',
  })
  @ApiParam({ name: 'callId', format: 'uuid' })
  @ApiHeader({
    name: 'X-Access-Reason',
    required: false,
    description: 'Supervisors: why you need to read this call (1-500 characters). Audited.',
  })
  @ApiOkResponse({ type: CallDetailDto })
  @ApiResponse({ status: 410, type: GoneDto, description: 'Destroyed: the deletion certificate, never content.' })
  @ApiErrors([400, 401, 403, 404], { 403: 'Your role reads no content, or (supervisor) no X-Access-Reason was given.' })
  read(@UuidParam('callId') callId: string, @Headers('x-access-reason') reason: string | undefined, @CurrentUser() user: Principal) {
    return this.calls.read(user, callId, reason);
  }

  @Post(':callId/notes')
  @Roles('operator')
  @ApiOperation({
    summary: 'Add a note (append-only)',
    description:
      'The operator who handled the call. Encrypted under the call’s key. A correction is a new note with `amendsNoteId`; nothing is edited or deleted. Audited (never the text).',
  })
  @ApiParam({ name: 'callId', format: 'uuid' })
  @ApiCreatedResponse({ type: CreatedDto })
  @ApiResponse({ status: 410, description: 'The call was destroyed or is being destroyed.' })
  @ApiErrors([400, 401, 403, 404, 413])
  addNote(@UuidParam('callId') callId: string, @Body() body: AddNoteDto, @CurrentUser() user: Principal) {
    return this.calls.addNote(user, callId, body);
  }

  @Put(':callId/assessment')
  @Roles('operator')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Assess the risk',
    description:
      'The operator who handled the call. Every assessment is kept. Retention follows the highest level ever assessed and is never shortened. `imminent` alerts supervisors at once.',
  })
  @ApiParam({ name: 'callId', format: 'uuid' })
  @ApiOkResponse({ type: AssessmentResultDto })
  @ApiErrors([400, 401, 403, 404])
  assess(@UuidParam('callId') callId: string, @Body() body: AssessmentDto, @CurrentUser() user: Principal) {
    return this.calls.assess(user, callId, body.riskLevel);
  }
}
