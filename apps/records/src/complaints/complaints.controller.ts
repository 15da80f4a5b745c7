import { Body, Controller, Get, Module, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, IsUUID, Length, Matches } from 'class-validator';
import { CurrentUser, Principal, Roles, StaffModule } from '@hotline/auth';
import { CallRecordsModule } from '@hotline/calls';
import { CryptoModule } from '@hotline/crypto';
import { ApiErrors } from '../common/api-errors';
import { UuidParam } from '../calls/uuid-param';
import {
  COMPLAINT_CATEGORIES,
  COMPLAINT_CHANNELS,
  COMPLAINT_STATUSES,
  ComplaintMeta,
  ComplaintStatus,
  ComplaintsService,
} from './complaints.service';

const MAX_COMPLAINT_CHARS = 8000;

class NewComplaintDto {
  @ApiProperty({ enum: COMPLAINT_CHANNELS, description: 'How the complaint was received' })
  @IsIn(COMPLAINT_CHANNELS, { message: `receivedVia must be one of ${COMPLAINT_CHANNELS.join(', ')}` })
  receivedVia: string;

  @ApiPropertyOptional({ description: 'When it was received (ISO 8601; default now). Due dates run from here.' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'receivedAt must be an ISO 8601 date-time' })
  receivedAt?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'The call it is about, if any' })
  @IsOptional()
  @IsUUID('all', { message: 'callId must be a UUID' })
  callId?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'The member of staff it is about, if any (they will not see it)' })
  @IsOptional()
  @IsUUID('all', { message: 'staffId must be a UUID' })
  staffId?: string;

  @ApiProperty({ enum: COMPLAINT_CATEGORIES })
  @IsIn(COMPLAINT_CATEGORIES, { message: `category must be one of ${COMPLAINT_CATEGORIES.join(', ')}` })
  category: string;

  @ApiProperty({
    description: `What the complaint says (1 to ${MAX_COMPLAINT_CHARS} characters). Stored encrypted.`,
    maxLength: MAX_COMPLAINT_CHARS,
  })
  @IsString()
  @Length(1, MAX_COMPLAINT_CHARS, { message: `text must be 1 to ${MAX_COMPLAINT_CHARS} characters` })
  @Matches(/\S/, { message: 'text must not be empty' })
  text: string;
}

class MoveComplaintDto {
  @ApiProperty({ enum: ['investigating', 'resolved'], description: 'The next status: received -> investigating -> resolved' })
  @IsIn(['investigating', 'resolved'], { message: 'status must be investigating or resolved' })
  status: ComplaintStatus;
}

class ComplaintListQuery {
  @ApiPropertyOptional({ enum: COMPLAINT_STATUSES })
  @IsOptional()
  @IsIn(COMPLAINT_STATUSES, { message: `status must be one of ${COMPLAINT_STATUSES.join(', ')}` })
  status?: ComplaintStatus;
}

class ComplaintDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() receivedAt: Date;
  @ApiProperty({ enum: COMPLAINT_CHANNELS }) receivedVia: string;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' }) callId: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' }) staffId: string | null;
  @ApiProperty({ enum: COMPLAINT_CATEGORIES }) category: string;
  @ApiProperty({ enum: COMPLAINT_STATUSES }) status: string;
  @ApiProperty({ description: 'Acknowledge by (received), resolve by (investigating)' }) dueAt: Date;
  @ApiProperty() overdue: boolean;
  @ApiProperty({ format: 'uuid' }) recordedBy: string;
  @ApiProperty() updatedAt: Date;
  @ApiProperty({ type: Date, nullable: true }) resolvedAt: Date | null;
}

class ComplaintWithTextDto extends ComplaintDto {
  @ApiProperty() text: string;
}

class ComplaintListDto {
  @ApiProperty({ type: [ComplaintDto], description: 'Open ones first, soonest due first; no text' }) complaints: ComplaintDto[];
}

@ApiTags('complaints')
@ApiBearerAuth()
@Controller('complaints')
export class ComplaintsController {
  constructor(private readonly complaints: ComplaintsService) {}

  @Post()
  @Roles('supervisor', 'records_officer')
  @ApiOperation({
    summary: 'Record a complaint (supervisor, records officer)',
    description:
      'Its text is encrypted under a data key of its own; due to be acknowledged within COMPLAINT_ACK_DAYS. Audited (ids only) and counted in the statistics.',
  })
  @ApiCreatedResponse({ type: ComplaintDto })
  @ApiErrors([400, 401, 403])
  record(@CurrentUser() user: Principal, @Body() body: NewComplaintDto): Promise<ComplaintMeta> {
    return this.complaints.record(user, body);
  }

  @Get()
  @Roles('supervisor', 'records_officer')
  @ApiOperation({
    summary: 'List complaints (supervisor, records officer)',
    description: 'Without their text; never those about the caller of this route.',
  })
  @ApiOkResponse({ type: ComplaintListDto })
  @ApiErrors([400, 401, 403])
  async list(@CurrentUser() user: Principal, @Query() q: ComplaintListQuery): Promise<ComplaintListDto> {
    return { complaints: await this.complaints.list(user, q.status) };
  }

  @Get(':id')
  @Roles('supervisor', 'records_officer')
  @ApiOperation({
    summary: 'Read a complaint with its text (supervisor, records officer)',
    description: 'The read is audited. 404 for the member of staff it is about.',
  })
  @ApiOkResponse({ type: ComplaintWithTextDto })
  @ApiErrors([400, 401, 403, 404], { 404: 'No such complaint (or it is about you).' })
  read(@CurrentUser() user: Principal, @UuidParam('id') id: string) {
    return this.complaints.read(user, id);
  }

  @Patch(':id')
  @Roles('supervisor', 'records_officer')
  @ApiOperation({
    summary: 'Move a complaint on (supervisor, records officer)',
    description:
      'received -> investigating (due to be resolved within COMPLAINT_RESOLVE_DAYS of receipt) -> resolved. Audited; resolutions are counted in the statistics.',
  })
  @ApiOkResponse({ type: ComplaintDto })
  @ApiErrors([400, 401, 403, 404, 409], { 404: 'No such complaint (or it is about you).', 409: 'Not the next step of the workflow.' })
  move(@CurrentUser() user: Principal, @UuidParam('id') id: string, @Body() body: MoveComplaintDto): Promise<ComplaintMeta> {
    return this.complaints.move(user, id, body.status);
  }
}

@Module({ imports: [CallRecordsModule, CryptoModule, StaffModule], controllers: [ComplaintsController], providers: [ComplaintsService] })
export class ComplaintsModule {}
