import { Body, Controller, Delete, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentUser, Principal, Roles } from '@hotline/auth';
import { ApiErrors } from '../common/api-errors';
import { CallsService } from './calls.service';
import { LegalHoldDto, LegalHoldResultDto } from './dto';
import { UuidParam } from './uuid-param';

@ApiTags('legal holds')
@ApiBearerAuth()
@Controller('calls/:callId/legal-hold')
export class LegalHoldController {
  constructor(private readonly calls: CallsService) {}

  @Post()
  @Roles('records_officer')
  @ApiOperation({
    summary: 'Place a legal hold (records officer)',
    description:
      'A held call is not destroyed when its retention deadline passes, until the hold is lifted. One hold at a time. Audited (the reason stays in the hold record).',
  })
  @ApiParam({ name: 'callId', format: 'uuid' })
  @ApiCreatedResponse({ type: LegalHoldResultDto })
  @ApiErrors([400, 401, 403, 404, 409, 410], { 409: 'A hold is in force already.' })
  place(@UuidParam('callId') callId: string, @Body() body: LegalHoldDto, @CurrentUser() user: Principal) {
    return this.calls.placeHold(user, callId, body.reason);
  }

  @Delete()
  @Roles('records_officer')
  @HttpCode(204)
  @ApiOperation({ summary: 'Lift the legal hold (records officer)' })
  @ApiParam({ name: 'callId', format: 'uuid' })
  @ApiNoContentResponse({ description: 'Lifted.' })
  @ApiErrors([400, 401, 403, 404, 410], { 404: 'No such call, or no hold in force.' })
  async lift(@UuidParam('callId') callId: string, @CurrentUser() user: Principal): Promise<void> {
    await this.calls.liftHold(user, callId);
  }
}
