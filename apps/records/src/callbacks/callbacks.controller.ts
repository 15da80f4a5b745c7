import { Body, Controller, Get, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentUser, Principal, Roles } from '@hotline/auth';
import { ApiErrors } from '../common/api-errors';
import { UuidParam } from '../calls/uuid-param';
import { CallbacksService } from './callbacks.service';
import { CallbackListDto, CallbackSummaryDto, DialResultDto, FollowupDto, ScheduledDto } from './dto';

@ApiTags('callbacks and follow-ups')
@ApiBearerAuth()
@Controller()
export class CallbacksController {
  constructor(private readonly callbacks: CallbacksService) {}

  @Get('callbacks')
  @Roles('operator')
  @ApiOperation({
    summary: 'Callbacks due now (the operator’s list)',
    description:
      'Callbacks callers asked for in the overflow menu, and follow-ups whose time has come; the ones you took the first call of come first. ' +
      'No number: it is opened only to place the call. Each names the country being called (`country`, `countryName`).',
  })
  @ApiOkResponse({ type: CallbackListDto })
  @ApiErrors([401, 403])
  list(@CurrentUser() user: Principal) {
    return this.callbacks.list(user);
  }

  @Get('callbacks/summary')
  @Roles('supervisor')
  @ApiOperation({
    summary: 'The wallboard’s callback counts (due, overdue, scheduled), today’s overflow choices, and the last hour’s refusals at a cap',
  })
  @ApiOkResponse({ type: CallbackSummaryDto })
  @ApiErrors([401, 403])
  summary() {
    return this.callbacks.summary();
  }

  @Post('callbacks/:id/dial')
  @Roles('operator')
  @ApiOperation({
    summary: 'Call the caller back (one attempt)',
    description:
      'Places the call through Twilio from the hotline number; when answered it rings your browser. How it ends is the attempt’s outcome ' +
      '(Twilio’s status callback); after callbacks.maxAttempts attempts not reached the callback closes and its number is erased. The next ' +
      'attempt is due callbacks.retryAfter after this one starts. Audited (ids and the country only). Never dialled, and closed with its number ' +
      'erased: a number of a country not in CALLBACK_COUNTRIES, of a premium-rate or special range, withheld, or sealed after it was moved ' +
      'under the call’s key (a planted seal, audited callback.seal_refused).',
  })
  @ApiParam({ name: 'id', format: 'uuid', description: 'The callback' })
  @ApiCreatedResponse({ type: DialResultDto })
  @ApiErrors([400, 401, 403, 404, 409, 502, 503], {
    409:
      'Not due, being dialled, or closed; callers wait live and callbacks.priority is after_live; the number may not be called (country, ' +
      'premium or special range, withheld, tampered: then closed for good); or a cap on callbacks’ calls is full (callbacks.caps: ' +
      'the number’s per day or the line’s per hour; the callback stays due, the wallboard is alerted).',
    502: 'Twilio refused the call (counted as a failed attempt).',
    503: 'The caps on callbacks cannot be checked (Redis): nothing was dialled.',
  })
  dial(@UuidParam('id') id: string, @CurrentUser() user: Principal) {
    return this.callbacks.dial(user, id);
  }

  @Post('calls/:callId/followups')
  @Roles('operator')
  @ApiOperation({
    summary: 'Schedule a follow-up call the caller agreed to (wrap-up)',
    description:
      'The operator who took the call, with the caller’s consent (kind `followup`, stored with the wording version). The number is read from ' +
      'Twilio’s record of the call and kept encrypted under the call’s data key; it becomes a callback at its time, preferring you. ' +
      'Follow-ups are filed by records alone (the gateway’s database account cannot).',
  })
  @ApiParam({ name: 'callId', format: 'uuid' })
  @ApiCreatedResponse({ type: ScheduledDto })
  @ApiErrors([400, 401, 403, 404, 409], {
    409: 'Withheld number, one of a country not in CALLBACK_COUNTRIES or of a premium-rate or special range, or one already scheduled.',
  })
  followup(@UuidParam('callId') callId: string, @Body() body: FollowupDto, @CurrentUser() user: Principal) {
    return this.callbacks.followup(user, callId, body.inHours);
  }
}
