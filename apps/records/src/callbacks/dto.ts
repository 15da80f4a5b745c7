import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Equals, IsBoolean, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

const NOT_BLANK = /\S/;

export class FollowupDto {
  @ApiProperty({
    description: 'The caller agreed to be called back (asked by the operator, wording `overflow.followupConsent`).',
    example: true,
  })
  @IsBoolean()
  @Equals(true, { message: 'consent must be true: a follow-up is scheduled only with the caller’s agreement' })
  consent: boolean;

  @ApiPropertyOptional({
    description: 'Hours from now (default: followups.defaultDelay in config/routing.yaml, 24 h).',
    minimum: 1,
    maximum: 168,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(168)
  inHours?: number;
}

export class ReasonDto {
  @ApiProperty({
    description: 'Why (stored encrypted under the call’s data key; the audit trail keeps ids only).',
    minLength: 3,
    maxLength: 500,
  })
  @IsString()
  @Length(3, 500)
  @Matches(NOT_BLANK, { message: 'reason must not be blank' })
  reason: string;
}

export class CallbackTaskDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) callId: string;
  @ApiProperty({ enum: ['callback', 'followup'] }) kind: string;
  @ApiProperty({ enum: ['open', 'dialling'] }) status: string;
  @ApiProperty({ type: String, format: 'date-time' }) dueAt: Date;
  @ApiProperty({ description: 'Due for longer than callbacks.dueWithin.' }) overdue: boolean;
  @ApiProperty() attempts: number;
  @ApiProperty() maxAttempts: number;
  @ApiProperty({
    nullable: true,
    enum: ['machine', 'no-answer', 'busy', 'failed', 'canceled'],
    description: 'How the last attempt ended; `machine`: an answering machine (or fax) answered (Twilio’s detection), not the caller.',
  })
  lastOutcome: string | null;
  @ApiProperty({ description: 'You took the first call (follow-ups prefer that operator).' }) preferred: boolean;
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'GB',
    description:
      'The ISO 3166 country of the number being called, read by records from the number itself (never the number). Null until records ' +
      'has opened the number (it does when it lists or dials).',
  })
  country: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'United Kingdom', description: 'The country’s name in English.' })
  countryName: string | null;
}

export class CallbackListDto {
  @ApiProperty({ type: [CallbackTaskDto] }) items: CallbackTaskDto[];
  @ApiProperty({ enum: ['after_live', 'before_live'], description: 'callbacks.priority in config/routing.yaml.' }) priority: string;
  @ApiProperty({ description: 'Callers waiting live now: with after_live, nobody is called back while any wait.' }) liveWaiting: number;
}

export class CallbackCapRefusalsDto {
  @ApiProperty({
    enum: ['booking', 'dialling'],
    description: 'Where the cap refused: the gateway booking a callback, or records placing its call.',
  })
  stage: string;
  @ApiProperty({ enum: ['number', 'line'], description: '`number`: callbacks.caps.perNumberPerDay; `line`: callbacks.caps.perHour.' })
  cap: string;
  @ApiProperty() count: number;
}

export class CallbackSummaryDto {
  @ApiProperty() open: number;
  @ApiProperty() due: number;
  @ApiProperty() overdue: number;
  @ApiProperty({ description: 'Follow-ups whose time has not come.' }) scheduled: number;
  @ApiProperty() dialling: number;
  @ApiProperty({ description: 'Overflow offers today and the choices made (keep_waiting, callback, voicemail, backup_line).' })
  overflowToday: Record<string, number>;
  @ApiProperty({
    type: [CallbackCapRefusalsDto],
    nullable: true,
    description:
      'Callbacks refused at a cap (config/routing.yaml callbacks.caps) in the last hour, by where and which cap; counts only, never ' +
      'whose. Null when Redis cannot say. The wallboard is also told at once (`alert:callback_cap`).',
  })
  capRefusalsLastHour: CallbackCapRefusalsDto[] | null;
}

export class DialResultDto {
  @ApiProperty({ format: 'uuid' }) attemptId: string;
  @ApiProperty({ enum: ['dialling'] }) status: string;
  @ApiProperty({ example: 'GB', description: 'The ISO 3166 country being called (never the number).' }) country: string;
  @ApiProperty({ type: String, nullable: true, example: 'United Kingdom' }) countryName: string | null;
}

export class ScheduledDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ type: String, format: 'date-time' }) dueAt: Date;
}

export class CreatedIdDto {
  @ApiProperty({ format: 'uuid' }) id: string;
}

export class CallerLocationDto {
  @ApiProperty({ nullable: true }) city: string | null;
  @ApiProperty({ nullable: true }) state: string | null;
  @ApiProperty({ nullable: true }) zip: string | null;
  @ApiProperty({ nullable: true }) country: string | null;
}

export class RescueDisclosureDto {
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'The caller’s number, read now from Twilio’s Call resource for the live call. Never stored. Null when the caller ID is withheld ' +
      'or unavailable (Twilio’s stand-ins such as `anonymous` or +266696687 are never shown as a number).',
    example: '+15551234567',
  })
  number: string | null;
  @ApiProperty({ description: 'The caller withheld their number (or their network did not give it): `number` is null.' })
  withheld: boolean;
  @ApiProperty({
    type: CallerLocationDto,
    nullable: true,
    description: 'Caller-ID location Twilio sent with the call (FromCity...), from the live call’s routing state.',
  })
  location: CallerLocationDto | null;
}

export class RescueStatusDto {
  @ApiProperty({ enum: ['requested', 'approved'] }) status: string;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'Once approved; null when withheld.' }) number?: string | null;
  @ApiPropertyOptional({ description: 'Once approved: the number is withheld.' }) withheld?: boolean;
  @ApiPropertyOptional({ type: CallerLocationDto, nullable: true }) location?: CallerLocationDto | null;
}
